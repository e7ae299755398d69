"""Who is told what: the handlers of new tasks, the person a task was handed to, the
initiator when the request ends or is returned, the people copied (抄送) — in each person's
own language, once per event — and which notices are settled when their task leaves a
person's hands.

Every notice about a to-do carries its task as its subject (:func:`task_subject`). Whatever
an action did to the tasks of an instance (completed, cancelled, withdrawn, returned,
transferred, delegated, taken by another candidate, a signer removed, the instance ended),
:func:`settle_task_notices` runs at the end of that action's transaction
(``workflow.services.engine.after_commit``, which every engine and approval action calls)
and marks done the unread notices of people who no longer hold the task.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy

from portal.models import Notification, User
from portal.services import notification_send, notifications_read_about
from workflow import participants
from workflow import translation as translation_of
from workflow.engine import store
from workflow.engine.cache import definition_name
from workflow.engine.runtime import (
    Run,
)
from workflow.links import instance_url, task_url
from workflow.models import (
    CarbonCopy,
    InstanceState,
    ProcessInstance,
    ProcessSettings,
    Task,
    TaskCandidate,
    TaskState,
)

# --- notifications ------------------------------------------------------------------------


TASK_SUBJECT = "workflow.task:"


def task_subject(task_id: int) -> str:
    """What a notice about a to-do is about (``portal.Notification.subject``)."""
    return f"{TASK_SUBJECT}{task_id}"


# What a notice needs of its recipient (``notification_send``: the channels they chose).
_RECIPIENT_FIELDS = (
    "username",
    "preferred_language",
    "is_active",
    "email",
    "phone",
    "notify_by_email",
    "notify_by_sms",
)


def _recipients(names: Iterable[str]) -> dict[str, list[User]]:
    """The active people among ``names``, by their language: one read, of the columns a
    notice needs."""
    by_language: dict[str, list[User]] = {}
    for user in User.objects.filter(username__in=set(n for n in names if n), is_active=True).only(
        *_RECIPIENT_FIELDS
    ):
        by_language.setdefault(user.preferred_language or "zh-hans", []).append(user)
    return by_language


def notify(
    names: Iterable[str],
    event: str,
    url: str,
    message: Any,
    *,
    body: str = "",
    subject: str = "",
    **values: Any,
) -> None:
    """Notify people, each in their language: ``message`` is an untranslated (lazy) text;
    ``body`` a person's own words (a reason, a comment), shown as they wrote them. In-app
    now (in the action's transaction), e-mail/SMS after commit; ``event`` names the event
    so that nobody is notified twice of it."""
    _send(_recipients(names), event, url, message, body=body, subject=subject, **values)


def _send(
    by_language: Mapping[str, Sequence[User]],
    event: str,
    url: str,
    message: Any,
    *,
    body: str = "",
    subject: str = "",
    **values: Any,
) -> None:
    """:func:`notify` the people already read (active ones, by language)."""
    for language, users in by_language.items():
        with translation.override(language):
            title = str(message) % values
        for user in users:
            notification_send(
                recipient=user,
                kind="workflow",
                title=title,
                body=body,
                url=url,
                dedup_key=f"{event}:{user.username}"[:200],
                subject=subject,
            )


def _title_of(instance: ProcessInstance) -> Any:
    """The request's title as each recipient reads it (a default title in their language)."""
    return translation_of.title_text(
        title=instance.title,
        key=instance.definition_key,
        definition_id=instance.definition_id,
        initiator=instance.initiator,
    )


def run_title(run: Run) -> Any:
    """:func:`_title_of` for the instance of an engine run."""
    instance = run.instance
    return translation_of.title_text(
        title=instance.title,
        key=instance.key,
        definition_id=instance.definition_id,
        initiator=instance.initiator,
    )


def handlers_of(task: Task) -> list[str]:
    """Who should hear about an open task: its assignee, else its candidate users and the
    members of its candidate roles (at most 50)."""
    if task.assignee:
        return [task.assignee]
    names: list[str] = []
    for kind, value in TaskCandidate.objects.filter(task=task).values_list("kind", "value"):
        if kind == "user":
            names.append(value)
        elif kind == "group":
            names += participants.role_members(value)
        elif kind == "dept":
            names += participants.dept_members(value)
    return list(dict.fromkeys(names))[:50]


def tell_handlers(task: Task, event: str, message: Any, *, body: str = "") -> list[str]:
    """Notify the people who should act on ``task`` of ``event`` (``message`` takes
    ``%(step)s`` and ``%(title)s``), about the task (its subject). Being given a task is
    news to each new assignee. Who was told."""
    if event == "assigned":
        event = f"assigned:{task.assignee}"
    names = handlers_of(task)
    notify(
        names,
        f"task:{task.pk}:{event}",
        task_url(task.pk),
        message,
        body=body,
        subject=task_subject(task.pk),
        step=translation_of.step_text(task.definition_key, task.element_id, task.name),
        title=_title_of(task.instance),
    )
    return names


def tell_handlers_of(task_id: int, event: str, message: Any) -> None:
    tell_handlers(Task.objects.select_related("instance").get(pk=task_id), event, message)


NEW_TASK = gettext_lazy("New task: %(step)s — %(title)s")
RETURNED = gettext_lazy("Returned to you: %(title)s")
URGED = gettext_lazy("Please handle: %(title)s (urged by the initiator)")


def notify_new_tasks(pairs: Sequence[tuple[int, int]]) -> int:
    """Tell the handlers of the tasks just created at these tokens (instance, token)."""
    sent = 0
    for instance_id, number in pairs:
        for task in Task.objects.filter(
            instance_id=instance_id, execution=number, state=TaskState.OPEN
        ).select_related("instance"):
            tell_handlers(task, "assigned", NEW_TASK)
            sent += 1
    return sent


def tell_returned(instance_id: int, number: int, reason: str) -> None:
    """退回: the person the request went back to (the tasks now open at token ``number``) is
    told once, with the reason — instead of a "new task" notice of the same task."""
    for task in Task.objects.filter(
        instance_id=instance_id, execution=number, state=TaskState.OPEN
    ).select_related("instance"):
        tell_handlers(task, "returned", RETURNED, body=reason)


def urge_handlers(tasks: Sequence[Task], *, urged_by: str, comment: str, at: str) -> list[str]:
    """催办: the handlers of these open tasks are told, about their task, with the comment
    of whoever urged them (never themselves); who was told."""
    told: list[str] = []
    for task in tasks:
        names = [name for name in handlers_of(task) if name != urged_by]
        notify(
            names,
            f"urge:{task.pk}:{at}",
            task_url(task.pk),
            URGED,
            body=comment,
            subject=task_subject(task.pk),
            title=_title_of(task.instance),
        )
        told += names
    return list(dict.fromkeys(told))


def copy_people(
    run: Run,
    names: Iterable[str],
    *,
    sent_by: str,
    element_id: str = "",
    comment: str = "",
) -> list[str]:
    """抄送: give these people read access and tell them, once per person and instance;
    who was newly copied (nobody already copied is told again)."""
    new: list[str] = []
    for user in User.objects.filter(username__in=set(names), is_active=True):
        _copy_row, created = CarbonCopy.objects.get_or_create(
            instance_id=run.instance.id,
            user=user,
            defaults={
                "sent_by": sent_by,
                "element_id": element_id,
                "comment": comment,
                "created_at": run.now,
            },
        )
        if created:
            new.append(user.username)
    notify(
        new,
        f"copy:{run.instance.id}",
        instance_url(run.instance.id),
        gettext_lazy("Copied to you: %(title)s"),
        body=comment,
        title=run_title(run),
    )
    return new


def _end_copies(run: Run, settings: ProcessSettings) -> None:
    """The process's copies at the end (``cc_at_end``), with their history line (only for
    people not copied before)."""
    if run.instance.state == InstanceState.COMPLETED and settings.cc_at_end:
        new = copy_people(
            run, participants.resolve_people(run, None, settings.cc_at_end, ""), sent_by=""
        )
        if new:
            run.record("copied", None, data={"to": new, "at_end": True})


def end_notices(run: Run) -> None:
    """An action ended the instance: the copies of the end (call before the run is
    written: they leave a history line)."""
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        _end_copies(run, participants.settings_for(run.instance.key))


END_MESSAGES: dict[str, Any] = {
    InstanceState.COMPLETED: gettext_lazy("Approved: %(title)s"),
    InstanceState.REJECTED: gettext_lazy("Rejected: %(title)s"),
    InstanceState.TERMINATED: gettext_lazy("Stopped by an administrator: %(title)s"),
}
TIMED_OUT_APPROVED = gettext_lazy("Approved automatically on time-out: %(title)s")


def tell_initiator(instance_id: int, initiator: str, title: Any, state: str, message: Any) -> None:
    """Tell the initiator how their request ended (once per end)."""
    if initiator:
        notify(
            [initiator],
            f"instance:{instance_id}:{state}",
            instance_url(instance_id),
            message,
            title=title,
        )


def tell_initiators(
    ended: Sequence[tuple[int, str]], requests: Sequence[store.EndedRequest]
) -> None:
    """The requests (not called instances) that ended in this action: their initiators are
    told — approved, rejected, stopped; a cancel was their own doing. ``requests``: the
    ended requests as ``store.ended_requests`` read them, with their initiators (as
    :func:`tell_initiator` tells them, without reading each initiator again)."""
    states = {pk: state for pk, state in ended if state in END_MESSAGES}
    for request in requests:
        state = states.get(request.id)
        initiator = _initiator(request)
        if state is None or initiator is None or not initiator.is_active:
            continue
        _send(
            {initiator.preferred_language or "zh-hans": [initiator]},
            f"instance:{request.id}:{state}",
            instance_url(request.id),
            END_MESSAGES[state],
            title=_ended_title(request, initiator),
        )


# ``store.INITIATOR_COLUMNS`` in the model's field order (``Model.from_db`` takes them so)
_INITIATOR_FIELDS = [
    f.attname for f in User._meta.concrete_fields if f.attname in store.INITIATOR_COLUMNS
]
_BOOLEAN_FIELDS = {"is_active", "notify_by_email", "notify_by_sms"}


def _initiator(request: store.EndedRequest) -> User | None:
    """The initiator of an ended request as a ``User`` of the columns read with it (the
    others deferred: read if ever asked for), or None when the initiator is no user."""
    if request.person is None:
        return None
    read = dict(zip(store.INITIATOR_COLUMNS, request.person, strict=True))
    for name in _BOOLEAN_FIELDS:  # SQLite gives 0 and 1 to a cursor of our own
        read[name] = bool(read[name])
    return User.from_db(connection.alias, _INITIATOR_FIELDS, [read[f] for f in _INITIATOR_FIELDS])


def _ended_title(request: store.EndedRequest, initiator: User | None) -> Any:
    """``translation.title_text`` of an ended request, with the initiator's display name
    from the columns read with the request (not a ``User`` loaded for it)."""
    if not request.title:
        return request.title
    person = initiator.display_name if initiator is not None else request.initiator
    process = definition_name(request.definition_id) or request.key
    return lazy(translation_of.request_title, str)(
        request.title, key=request.key, process=process, person=person
    )


# --- settling the notices of tasks that left a person's hands ----------------------------


def task_notices_read(task_id: int, *, user: User) -> int:
    """The person opened the task: their unread notices about it are read now."""
    return notifications_read_about(user=user, subject=task_subject(task_id))


def settle_task_notices(instance_ids: Iterable[int], batch: store.Batch | None = None) -> None:
    """Mark done (and read) the unread to-do notices of these instances' tasks that are no
    longer the recipient's: a task completed, cancelled or waiting for added signers is
    nobody's; an open task assigned to someone is theirs (and the absent person's it is held
    for); an open task still offered to its candidates keeps its notices. How many were
    settled.

    One statement, run by every action at its end: the tasks' holders are read by the
    UPDATE itself rather than read first and sent back (one round trip, not two, and no
    Python between). Its ``NOT (subject = '')`` is the condition of the partial index
    ``notification_open_subject``, written out so that SQLite uses that index too."""
    ids = sorted(set(instance_ids))
    if not ids:
        return
    marks = ", ".join(["%s"] * len(ids))
    subject = f"'{TASK_SUBJECT}' || CAST(t.id AS TEXT)"
    notices = Notification._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"UPDATE {notices} SET done_at = %s, read_at = %s "  # noqa: S608 - placeholders and table names only
        f"WHERE read_at IS NULL AND NOT (subject = '') AND subject IN (SELECT {subject} "
        f"FROM {store.T} t WHERE t.instance_id IN ({marks}) "
        f"AND (t.state <> %s OR t.assignee <> '')) "
        f"AND NOT EXISTS (SELECT 1 FROM {store.T} t JOIN {User._meta.db_table} u "
        f"ON u.username IN (t.assignee, t.on_behalf_of) WHERE t.instance_id IN ({marks}) "
        f"AND t.state = %s AND u.id = {notices}.recipient_id AND {subject} = {notices}.subject)"
    )
    open_ = TaskState.OPEN.value
    params = (now, now, *ids, open_, *ids, open_)
    if batch is None:
        store.run(sql, params)
    else:
        batch.add(sql, params)
