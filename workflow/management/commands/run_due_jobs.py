"""``manage.py run_due_jobs``: run the workflow's due jobs once and exit — for deployments
without a Celery worker and beat (cron instead): timers, reminders, time-outs, asynchronous
steps and service calls whose time has come.

It runs the same function as the Celery beat task (``workflow.services.jobs.jobs_run_due``),
so a job is claimed with a lease and never runs twice, even beside a worker or a second
cron run. Prints one summary line; a job that failed for good (a new incident) is named on
stderr. A cron line, every minute::

    * * * * * cd /srv/portal && .venv/bin/python manage.py run_due_jobs --quiet
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from workflow.models import Incident, Job
from workflow.services.jobs import jobs_run_due

DEFAULT_LIMIT = 500


class Command(BaseCommand):
    help = (
        "Run the workflow jobs that are due (timers, reminders, time-outs, asynchronous "
        "steps) once and exit; for cron where no Celery worker runs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help=f"run at most this many jobs (default {DEFAULT_LIMIT}); the rest wait for "
            "the next run",
        )
        parser.add_argument(
            "--quiet",
            action="store_true",
            help="print nothing when no job was due and none failed (for cron's mail)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        limit: int = options["limit"]
        if limit < 1:
            raise CommandError("--limit must be 1 or more.")
        started = timezone.now()
        ran = jobs_run_due(limit)
        failed = list(Incident.objects.filter(created_at__gte=started).order_by("pk")[:20])
        still_due = (
            Job.objects.filter(due_at__lte=timezone.now(), retries__gt=0).count()
            if ran >= limit
            else 0
        )
        for incident in failed:
            first_line = (incident.message.strip().splitlines() or [""])[0][:200]
            where = f"instance {incident.instance_id}, " if incident.instance_id else ""
            self.stderr.write(
                f"incident {incident.pk} ({where}step {incident.element_id}): {first_line}"
            )
        if options["quiet"] and not ran and not failed:
            return
        summary = f"Ran {ran} due job{'s' if ran != 1 else ''}"
        summary += f"; {len(failed)} failed for good (incidents)" if failed else ""
        if still_due:
            summary += f"; the limit was reached and {still_due} more are due"
        self.stdout.write(summary + ".")
