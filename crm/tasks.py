"""Celery entry points of the CRM: thin wrappers over its services, given ids only."""

from __future__ import annotations
