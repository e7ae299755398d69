"""Celery entry points of the ERP bridge: thin wrappers over its services, given ids only."""

from __future__ import annotations
