"""Celery entry points of the knowledge base: thin wrappers over its services, given ids only."""

from __future__ import annotations

from celery import shared_task

from knowledge.services import articles_purge


@shared_task(ignore_result=True)
def purge_recycle_bin() -> int:
    """Daily: articles in the recycle bin for more than 30 days are deleted for good."""
    return articles_purge()
