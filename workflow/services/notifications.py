"""Who is told what: the handlers of new tasks, the person a task was handed to, the
initiator when the request ends or is returned, the people copied (抄送) — in each person's
own language, once per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

from portal.models import User
from portal.services import notification_send
from workflow import participants
from workflow.engine.runtime import (
    Run,
)
from workflow.links import instance_url, task_url
from workflow.models import (
    CarbonCopy,
    InstanceState,
    ProcessSettings,
    Task,
    TaskCandidate,
    TaskState,
)

# --- notifications ------------------------------------------------------------------------


def _notify(names: Iterable[str], event: str, title: str, url: str, body: str = "") -> None:
    """In-app now (in the action's transaction), e-mail/SMS after commit; ``event`` names
    the event so that nobody is notified twice of it. ``title`` is a format string with
    ``%(…)s`` placeholders already filled in the recipient's language by the caller."""
    for user in User.objects.filter(username__in=set(n for n in names if n), is_active=True):
        notification_send(
            recipient=user,
            kind="workflow",
            title=title,
            body=body,
            url=url,
            dedup_key=f"{event}:{user.username}"[:200],
        )


def _in_language(user_names: Iterable[str]) -> dict[str, list[str]]:
    by_language: dict[str, list[str]] = {}
    for name, language in User.objects.filter(username__in=set(user_names)).values_list(
        "username", "preferred_language"
    ):
        by_language.setdefault(language or "zh-hans", []).append(name)
    return by_language


def notify(names: Iterable[str], event: str, url: str, message: Any, **values: Any) -> None:
    """Notify people, each in their language: ``message`` is an untranslated (lazy) text."""
    for language, group in _in_language(names).items():
        with translation.override(language):
            _notify(group, event, str(message) % values, url)


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


def tell_handlers(task: Task, event: str, message: Any) -> None:
    """Notify the people who should act on ``task`` of ``event`` (``message`` takes
    ``%(step)s`` and ``%(title)s``). Being given a task is news to each new assignee."""
    if event == "assigned":
        event = f"assigned:{task.assignee}"
    notify(
        handlers_of(task),
        f"task:{task.pk}:{event}",
        task_url(task.pk),
        message,
        step=task.name or task.element_id,
        title=task.instance.title,
    )


def tell_handlers_of(task_id: int, event: str, message: Any) -> None:
    tell_handlers(Task.objects.select_related("instance").get(pk=task_id), event, message)


NEW_TASK = gettext_lazy("New task: %(step)s — %(title)s")


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


def copy_people(
    run: Run,
    names: Iterable[str],
    *,
    sent_by: str,
    element_id: str = "",
    comment: str = "",
) -> list[str]:
    """抄送: give these people read access and tell them, once per person and instance."""
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
        title=run.instance.title,
    )
    return new


def _end_copies(run: Run, settings: ProcessSettings) -> None:
    if run.instance.state == InstanceState.COMPLETED and settings.cc_at_end:
        copy_people(run, participants.resolve_people(run, None, settings.cc_at_end, ""), sent_by="")


def _notify_initiator_of_end(run: Run) -> None:
    state = run.instance.state
    messages = {
        InstanceState.COMPLETED: gettext_lazy("Approved: %(title)s"),
        InstanceState.REJECTED: gettext_lazy("Rejected: %(title)s"),
        InstanceState.TERMINATED: gettext_lazy("Stopped by an administrator: %(title)s"),
    }
    message = messages.get(state)  # type: ignore[call-overload]
    if message is not None and run.instance.initiator:
        notify(
            [run.instance.initiator],
            f"instance:{run.instance.id}:{state}",
            instance_url(run.instance.id),
            message,
            title=run.instance.title,
        )


def end_notices(run: Run) -> None:
    """An action ended the instance: the copies of the end, the initiator told."""
    if run.instance.state not in (InstanceState.ACTIVE, InstanceState.SUSPENDED):
        _end_copies(run, participants.settings_for(run.instance.key))
        _notify_initiator_of_end(run)
