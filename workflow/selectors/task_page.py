"""The task page's first read (issue 16): the task, if the person may see it, and with it in
the same query what the page would otherwise ask apart, each a small question of one row:

- ``unread_notices``: the bell's count of the person's unread notices (the page's bell);
- ``unread_here``: whether one of them is about this task (the page marks those read: when
  there is none, nothing to write);
- ``has_phrases``: whether the person has saved phrases of their own (else the defaults,
  without reading them);
- ``no_guides_from``: the guide sources that have nothing for this step (not asked then:
  most steps have no guide);
- ``waiting_at`` and ``has_incidents``: where the instance's tokens are and whether it has an
  open incident (``workflow.selectors.instance_reads.read_with``).

All of it as the database holds it now, read per request: nothing is kept for the next one.
"""

from __future__ import annotations

from django.db.models import Count, Exists, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from portal.models import User
from portal.selectors import unread_notifications
from workflow import guides
from workflow.models import Phrase, Task
from workflow.selectors.instance_reads import read_with
from workflow.selectors.visibility import tasks_for

__all__ = ["task_for_page"]


def task_for_page(user: User, task_id: int, *, notice_subject: str) -> Task | None:
    """:func:`workflow.selectors.visibility.task_for` with the annotations above;
    ``notice_subject``: what a notice about this task is about (``Notification.subject``)."""
    unread = unread_notifications(user)
    count = unread.order_by().values("recipient").annotate(n=Count("pk")).values("n")
    checks = guides.guide_checks(OuterRef("definition_key"), OuterRef("element_id"))
    aliases = {key: f"guides_{index}" for index, key in enumerate(checks)}
    task = (
        tasks_for(user, task_id)
        .annotate(
            unread_notices=Coalesce(Subquery(count, output_field=IntegerField()), Value(0)),
            unread_here=Exists(unread.filter(subject=notice_subject)),
            has_phrases=Exists(Phrase.objects.filter(owner=user)),
            **{aliases[key]: check for key, check in checks.items()},
            **read_with(OuterRef("instance_id")),
        )
        .first()
    )
    if task is not None:
        task.no_guides_from = frozenset(  # type: ignore[attr-defined]
            key for key, alias in aliases.items() if not getattr(task, alias)
        )
    return task
