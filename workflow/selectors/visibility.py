"""What a person may see of the workflow (docs/approvals.md), and names for display.

Every view and API endpoint starts from these querysets, so an instance or task a person
may not see is simply not found (404), never a 403 that tells it exists.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Length, Substr

from portal.models import Department, Role, User, localized_name, person_name
from workflow import participants, translation
from workflow.models import (
    CarbonCopy,
    ProcessDefinition,
    ProcessInstance,
    Task,
    TaskCandidate,
)
from workflow.selectors import people_reads


def is_process_admin(user: User) -> bool:
    return user.is_active and user.has_perm("workflow.manage_processes")


def may_deploy(user: User) -> bool:
    """Who may design and deploy processes: holders of ``workflow.add_processdefinition``
    (process designers) and process administrators, who own a process's settings and so
    may also deploy its next version (the designer, its API, Django admin's upload)."""
    return user.is_active and (
        user.has_perm("workflow.add_processdefinition") or is_process_admin(user)
    )


def instances_for(user: User) -> QuerySet[ProcessInstance]:
    """The instances ``user`` may see: those they started, handle or handled (or were
    asked to, as a candidate or the absent person), were copied on; a department head
    also those started in the departments they head; a process administrator all."""
    if not user.is_active:
        return ProcessInstance.objects.none()
    if is_process_admin(user):
        return ProcessInstance.objects.all()
    name = user.username
    involved = Task.objects.filter(
        Q(assignee=name) | Q(completed_by=name) | Q(on_behalf_of=name) | Q(owner=name)
    ).values("instance_id")
    candidate = Task.objects.filter(pk__in=participants.candidate_task_ids(user)).values(
        "instance_id"
    )
    visible = (
        Q(initiator=name)
        | Q(pk__in=involved)
        | Q(pk__in=candidate)
        | Q(pk__in=CarbonCopy.objects.filter(user=user).values("instance_id"))
    )
    # the people of the departments ``user`` heads (and those below them: a materialized
    # path starts with its parent's), as a subquery: a head is rarely one, and a list read
    # first cost every page a query
    above = Substr(OuterRef("department__path"), 1, Length("path"))
    heads = Department.objects.filter(head=user, path=above)
    in_scope = User.objects.filter(Exists(heads))
    visible |= Q(initiator__in=in_scope.values("username"))
    return ProcessInstance.objects.filter(visible)


def instance_for(user: User, instance_id: int) -> ProcessInstance | None:
    """The instance ``instance_id`` (with its definition) if ``user`` may see it
    (:func:`instances_for`), else None. Their own request, the page opened most, is known by
    its initiator: the rules of who else may see it are tested only for someone else's."""
    if not user.is_active:
        return None
    instance = ProcessInstance.objects.select_related("definition").filter(pk=instance_id).first()
    if instance is None or instance.initiator == user.username:
        return instance
    if instances_for(user).filter(pk=instance_id).exists():
        return instance
    return None


def instances_started(user: User) -> QuerySet[ProcessInstance]:
    """我发起的."""
    return ProcessInstance.objects.filter(initiator=user.username)


def copies_for(user: User) -> QuerySet[CarbonCopy]:
    """抄送我的 (unread first is the caller's ordering to choose)."""
    return CarbonCopy.objects.filter(user=user).select_related("instance")


def copies_of(instance: ProcessInstance) -> QuerySet[CarbonCopy]:
    """The people copied on ``instance`` (抄送) with their read receipts (``read_at``), in
    the order they were copied; for whoever may see the instance."""
    return (
        CarbonCopy.objects.filter(instance=instance)
        .select_related("user")
        .order_by("created_at", "pk")
    )


def task_for(user: User, task_id: int) -> Task | None:
    """A task of an instance ``user`` may see; None otherwise (a 404). With
    ``definition_name``, the BPMN name of its instance's definition (the task page shows
    it: its XML is not read for that) and ``has_candidates`` (whether it was offered to
    candidates: who took it may hand it back, 退回认领)."""
    return tasks_for(user, task_id).first()


def tasks_for(user: User, task_id: int) -> QuerySet[Task]:
    """:func:`task_for` as a query, for a page that reads more with it."""
    return (
        Task.objects.filter(pk=task_id, instance__in=instances_for(user))
        .select_related("instance")
        .annotate(
            definition_name=F("instance__definition__name"),
            has_candidates=Exists(TaskCandidate.objects.filter(task=OuterRef("pk"))),
        )
    )


def process_names(keys: Iterable[str]) -> dict[str, str]:
    """The name of each process key's latest version, in the reader's language
    (``workflow.translation``)."""
    names: dict[str, str] = {}
    rows = (
        ProcessDefinition.objects.filter(key__in=set(keys))
        .order_by("key", "-version")
        .values_list("key", "name")
    )
    for key, name in rows:
        names.setdefault(key, name or key)
    return translation.process_names(names)


def definition_names(
    keys: Iterable[str], ids: Iterable[int]
) -> tuple[dict[str, str], dict[int, str]]:
    """:func:`process_names` of ``keys``, and the BPMN name of each definition of ``ids``
    (its own version's, untranslated: ``translation.request_titles`` wants these), read in
    one query for a page that shows both."""
    keys, ids = set(keys), set(ids)
    latest: dict[str, str] = {}
    by_id: dict[int, str] = {}
    if keys or ids:
        rows = (
            ProcessDefinition.objects.filter(Q(key__in=keys) | Q(pk__in=ids))
            .order_by("key", "-version")
            .values_list("pk", "key", "name")
        )
        for pk, key, name in rows:
            if key in keys:
                latest.setdefault(key, name or key)
            if pk in ids:
                by_id[pk] = name
    return translation.process_names(latest), by_id


def display_names(usernames: Iterable[str]) -> dict[str, str]:
    """Each user name's display name (the user name itself for an unknown account)."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    if people_reads.current() is None:  # no page's book to share: the names' columns only
        rows = User.objects.filter(username__in=wanted).values_list(
            "username", "first_name", "last_name"
        )
        found = {username: person_name(first, last) for username, first, last in rows}
        return {name: found.get(name) or name for name in wanted}
    users = people_reads.users_named(wanted)
    return {name: users[name].display_name if name in users else name for name in wanted}


def candidate_labels(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(kind, value) of task candidates -> what a person reads: 张伟 for a user, the role's
    name (财务审核员) for a group, the department's name for ``dept``; unknown ones as
    written."""
    wanted = set(pairs)
    users = display_names(v for k, v in wanted if k == "user")
    groups = {v for k, v in wanted if k == "group"}
    roles: dict[str, str] = {}
    found = Role.objects.filter(Q(code__in=groups) | Q(name__in=groups))
    # django-stubs resolves values_list() on Role against Group's fields, not Role's own
    columns = found.values_list("code", "name", "name_en")  # type: ignore[misc]
    for code, name, name_en in columns:
        roles[code] = roles[name] = localized_name(name, name_en)
    departments = {
        d.code: d.display_name
        for d in Department.objects.filter(code__in={v for k, v in wanted if k == "dept"})
    }
    known = {"user": users, "group": roles, "dept": departments}
    return {(k, v): known.get(k, {}).get(v, v) for k, v in wanted}
