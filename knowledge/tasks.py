"""Celery entry points of the knowledge base: thin wrappers over its services, given ids only."""

from __future__ import annotations
