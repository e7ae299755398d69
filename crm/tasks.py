"""Celery entry points of the CRM: thin wrappers over its services, given ids only."""

from __future__ import annotations

from celery import shared_task

from crm.services.sales import followups_remind


@shared_task(ignore_result=True)
def remind_followups() -> int:
    """Every few minutes: notify the owners of follow-ups whose reminder time has passed."""
    return followups_remind()
