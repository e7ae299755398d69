"""Celery tasks of the workflow, thin wrappers over its services: run due jobs (woken after a
commit that made a job due, and swept periodically by beat so that nothing waits for ever
when a wake-up was lost), clean up history and expired held uploads, tell the handlers of
new tasks."""

from __future__ import annotations

from celery import shared_task

from workflow.services.history import history_cleanup
from workflow.services.jobs import jobs_run_due
from workflow.services.notifications import notify_new_tasks
from workflow.services.pending_uploads import pending_uploads_cleanup


@shared_task(ignore_result=True)
def run_jobs(limit: int = 200) -> int:
    return jobs_run_due(limit)


@shared_task(ignore_result=True)
def cleanup_history() -> int:
    """Hourly: ended instances past their history time-to-live, and the files held for a
    form that failed validation whose token has expired (a day)."""
    return history_cleanup() + pending_uploads_cleanup()


@shared_task(ignore_result=True)
def announce_tasks(pairs: list[list[int]]) -> int:
    """Notify the handlers of the tasks just created at these (instance, token) pairs."""
    return notify_new_tasks([(int(a), int(b)) for a, b in pairs])
