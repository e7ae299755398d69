"""统一待办 (the unified to-do list): approval tasks of other systems (ERP, HR ...) shown in
our inbox beside the workflow's own, with a link back to where they are handled.

The source system pushes each change of a task; we keep one row per (``source``,
``external_id``). Pushes may arrive late, twice or out of order, so every change carries the
time it happened in the source (``source_updated_at``): a change that is not newer than
what we hold is *stale* and changes nothing. Two pushes of one task at the same moment are
serialized by a row lock (``select_for_update``), and the unique constraint on (source,
external_id) settles two first pushes that race to create it.

Other systems also report on our requests: :func:`instance_system_event` records what an
outside system did for a request (the ERP posted the expense claim, the HR system created the
employee, or refused) in the request's history, where its timeline shows it.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal.backends import find_account
from portal.models import User
from portal.services import notification_send
from workflow.engine import store
from workflow.engine.runtime import Effects, load_run
from workflow.models import (
    ExternalTask,
    ExternalTaskState,
    HistoryEvent,
    InstanceState,
    ProcessInstance,
)
from workflow.services.engine import current_time, run_kwargs

ExternalTaskStatus = Literal["created", "updated", "closed", "stale"]

_UPDATABLE = ("title", "url", "summary", "category", "due_at")


def _assignee(assignee: str) -> User:
    """The active account a source names by user name or employee number."""
    user = find_account(assignee) if assignee.strip() else None
    if user is None or not user.is_active:
        raise ValidationError(
            {
                "assignee": _("No active user has the user name or employee number %(name)s.")
                % {"name": assignee}
            }
        )
    return user


def _locked(source: str, external_id: str) -> ExternalTask | None:
    return (
        ExternalTask.objects.select_for_update()
        .filter(source=source, external_id=external_id)
        .first()
    )


def _notify(task: ExternalTask) -> None:
    """Tell the assignee a task has arrived, in their language; once per task and person."""
    recipient = task.assignee
    with translation.override(recipient.preferred_language or None):
        title = _("New to-do from %(source)s: %(title)s") % {
            "source": task.source,
            "title": task.title,
        }
    notification_send(
        recipient=recipient,
        kind="workflow",
        title=title,
        body=task.summary,
        url=task.url,
        dedup_key=f"external:{task.source}:{task.external_id}",
    )


def _save(task: ExternalTask) -> None:
    # The model's own validation (URL, lengths) turns bad values into field errors.
    task.full_clean(validate_unique=False, validate_constraints=False)
    task.save()


def _upsert(
    *,
    source: str,
    external_id: str,
    assignee: str,
    title: str,
    url: str,
    source_updated_at: datetime.datetime,
    summary: str = "",
    category: str = "",
    due_at: datetime.datetime | None = None,
) -> tuple[ExternalTask, ExternalTaskStatus]:
    user = _assignee(assignee)
    values: dict[str, Any] = {
        "title": title,
        "url": url,
        "summary": summary,
        "category": category,
        "due_at": due_at,
    }
    task = _locked(source, external_id)
    if task is None:
        task = ExternalTask(
            source=source,
            external_id=external_id,
            assignee=user,
            source_updated_at=source_updated_at,
            **values,
        )
        task.full_clean(validate_unique=False, validate_constraints=False)
        try:
            with transaction.atomic():  # a savepoint: losing the race must not end ours
                task.save()
        except IntegrityError:
            # Another push created it between our read and our insert; it is an update now.
            task = _locked(source, external_id)
            if task is None:
                raise
        else:
            _notify(task)
            return task, "created"
    if task.source_updated_at >= source_updated_at:
        return task, "stale"
    reassigned = task.assignee_id != user.pk
    for name in _UPDATABLE:
        setattr(task, name, values[name])
    task.assignee = user
    task.source_updated_at = source_updated_at
    # A newer push of a closed task means the source opened it again (e.g. sent it back).
    task.state = ExternalTaskState.OPEN
    task.closed_at = None
    task.replaced_by = ""
    _save(task)
    if reassigned:
        _notify(task)
    return task, "updated"


@transaction.atomic(durable=True)
def external_task_upsert(
    *,
    source: str,
    external_id: str,
    assignee: str,
    title: str,
    url: str,
    source_updated_at: datetime.datetime,
    summary: str = "",
    category: str = "",
    due_at: datetime.datetime | None = None,
) -> tuple[ExternalTask, str]:
    """Create or replace an open task of ``source`` (an HTTP ``PUT``: every field is set,
    an optional one left out is emptied); ``(task, status)`` with status ``created``,
    ``updated`` or ``stale`` (not newer than the stored change: nothing changed).

    ``assignee`` is a user name or an employee number; an unknown one raises a
    ``ValidationError`` on ``assignee``. The assignee is notified in-app when the task
    arrives or is given to them.
    """
    return _upsert(
        source=source,
        external_id=external_id,
        assignee=assignee,
        title=title,
        url=url,
        source_updated_at=source_updated_at,
        summary=summary,
        category=category,
        due_at=due_at,
    )


@transaction.atomic(durable=True)
def external_task_update(
    *,
    source: str,
    external_id: str,
    source_updated_at: datetime.datetime,
    **changes: Any,
) -> tuple[ExternalTask, str]:
    """Change some fields of a task we hold (an HTTP ``PATCH``): only the names given in
    ``changes`` (``assignee``, ``title``, ``url``, ``summary``, ``category``, ``due_at``)
    change, the others and the task's state stay as they are; ``(task, "updated" |
    "stale")``, stale as for :func:`external_task_upsert`. An unknown task raises
    ``ExternalTask.DoesNotExist`` (a partial change cannot create one: use the full
    upsert); an unknown assignee a ``ValidationError``. A new assignee is notified."""
    unknown = set(changes) - {"assignee", *_UPDATABLE}
    if unknown:
        raise ValueError(f"not a field of an external task: {sorted(unknown)}")
    task = _locked(source, external_id)
    if task is None:
        raise ExternalTask.DoesNotExist(f"{source}:{external_id}")
    user = _assignee(changes["assignee"]) if "assignee" in changes else task.assignee
    if task.source_updated_at >= source_updated_at:
        return task, "stale"
    reassigned = task.assignee_id != user.pk
    for name in _UPDATABLE:
        if name in changes:
            setattr(task, name, changes[name])
    task.assignee = user
    task.source_updated_at = source_updated_at
    _save(task)
    if reassigned:
        _notify(task)
    return task, "updated"


def _close(task: ExternalTask, source_updated_at: datetime.datetime) -> ExternalTaskStatus:
    if task.source_updated_at >= source_updated_at:
        return "stale"
    task.source_updated_at = source_updated_at
    if task.state != ExternalTaskState.CLOSED:
        task.state = ExternalTaskState.CLOSED
        task.closed_at = timezone.now()
    _save(task)
    return "closed"


@transaction.atomic(durable=True)
def external_task_close(
    *, source: str, external_id: str, source_updated_at: datetime.datetime
) -> tuple[ExternalTask, str]:
    """Close a task (handled in the source, or withdrawn there); ``(task, "closed" |
    "stale")``. An unknown task raises ``ExternalTask.DoesNotExist``."""
    task = _locked(source, external_id)
    if task is None:
        raise ExternalTask.DoesNotExist(f"{source}:{external_id}")
    return task, _close(task, source_updated_at)


@transaction.atomic(durable=True)
def external_task_replace(
    *,
    source: str,
    external_id: str,
    new_external_id: str,
    source_updated_at: datetime.datetime,
    **fields: Any,
) -> tuple[ExternalTask, str]:
    """The source turned one task into another (e.g. the next step of its approval): close
    ``external_id``, create or update ``new_external_id`` with ``fields`` (those of
    :func:`external_task_upsert`) and record ``old.replaced_by``, all at once.

    ``(new task, status)``: the new task's status, or ``stale`` when the old task already
    holds a change at least as new (then nothing changes, and the task returned is the new
    one if it exists, else the old one). An old task we never received is
    no obstacle: the new one is created all the same.
    """
    if new_external_id == external_id:
        raise ValidationError(
            {"new_external_id": _("The new task needs an id other than the old one's.")}
        )
    old = _locked(source, external_id)
    if old is not None and old.source_updated_at >= source_updated_at:
        new = ExternalTask.objects.filter(source=source, external_id=new_external_id).first()
        return (new or old), "stale"
    new, status = _upsert(
        source=source,
        external_id=new_external_id,
        source_updated_at=source_updated_at,
        **fields,
    )
    if old is not None:
        _close(old, source_updated_at)
        old.replaced_by = new_external_id
        old.save(update_fields=["replaced_by", "updated_at"])
    return new, status


# --- what other systems report on a request ------------------------------------------------

SYSTEM_EVENT_KIND = "system-event"


@transaction.atomic
def instance_system_event(
    instance_id: int,
    *,
    system: str,
    event: str,
    text: str,
    data: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> None:
    """Record that the outside ``system`` (``ERP``, ``HR``) did ``event`` for a request (a
    short name: ``posted``, ``created``, ``refused``; ``refused`` and ``failed`` read as
    failures) and, while the request still runs (active or suspended), set ``variables`` on
    it (``erp_posting`` with the ERP's number). An ended request keeps its variables: its
    record is final, and the history row carries the news.

    ``text`` is what the history shows, in English as a message of the portal's catalogue,
    translated when it is read into the reader's language; its ``%(name)s`` placeholders are
    filled from ``data`` (mark it with ``gettext_noop`` where it is written). A text the
    catalogue does not hold (the ERP's own message) shows as it is. ``data`` is kept on the
    history row too.

    It joins the caller's transaction (the outbox settles a delivery and records it in one)
    and takes the request's lock first, like every engine action. A request that no longer
    exists (its history was cleaned up) is left alone."""
    if not system.strip() or not event.strip() or not text.strip():
        raise ValueError("a system event needs a system, an event and a text")
    if store.lock_root_of_instance(instance_id) is None:
        return
    found = ProcessInstance.objects.filter(pk=instance_id).values("state", "definition_key").first()
    if found is None:
        return
    details = {**dict(data or {}), "system": system.strip(), "event": event, "text": text}
    if variables and found["state"] in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        # the engine's own write of the instance row (its variables, a new revision)
        run = load_run(instance_id, current_time(), **run_kwargs(Effects(), ""))
        run.set_variables(variables)
        run.record(SYSTEM_EVENT_KIND, None, outcome=event[:32], data=details)
        run.flush()
        return
    HistoryEvent.objects.create(
        instance_id=instance_id,
        definition_key=found["definition_key"],
        kind=SYSTEM_EVENT_KIND,
        outcome=event[:32],
        at=current_time(),
        data=details,
    )
