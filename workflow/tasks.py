"""Celery tasks of the workflow: run due jobs (woken after a commit that made a job due, and
swept periodically by beat so that nothing waits for ever when a wake-up was lost)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def run_jobs(limit: int = 200) -> int:
    from workflow.services import jobs_run_due

    return jobs_run_due(limit)


@shared_task(ignore_result=True)
def cleanup_history() -> int:
    from workflow.services import history_cleanup

    return history_cleanup()


@shared_task(ignore_result=True)
def announce_tasks(pairs: list[list[int]]) -> int:
    """Notify the handlers of the tasks just created at these (instance, token) pairs."""
    from workflow.approvals import notify_new_tasks

    return notify_new_tasks([(int(a), int(b)) for a, b in pairs])
