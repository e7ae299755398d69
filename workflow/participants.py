"""Who acts at a user task (docs/approvals.md, "Participants").

The expression functions a process names its people with (``${manager(initiator)}``,
``${deptHead(initiator, 2)}``, ``${roleMembers("finance_reviewer")}``), and the rules applied
when the engine creates a task: candidate prefixes (``role:``, ``dept:``), the initiator or
the previous approver as approver, nobody to take the step, out-of-office proxies, due
dates with their reminder and time-out jobs. The engine calls :func:`assign_task` for every
task it creates, inside the action's transaction.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from portal.models import Department, Role, User
from portal.selectors import delegate_for, department_head, user_manager
from workflow.bpmn.model import ElementKind
from workflow.bpmn.timers import TimerError, parse_duration
from workflow.bpmn.validate import split_participants
from workflow.engine import graph as graph_module
from workflow.engine import store
from workflow.models import (
    EmptyAssigneePolicy,
    Incident,
    InitiatorApproverPolicy,
    ProcessSettings,
    Task,
    TaskCandidate,
)

if TYPE_CHECKING:
    from workflow.bpmn.model import Element
    from workflow.engine.runtime import Run, Token

# --- expression functions ------------------------------------------------------------------


def _active_user(name: Any) -> User | None:
    if not name:
        return None
    return User.objects.filter(username=str(name), is_active=True).first()


def manager(user: Any) -> str:
    """The user name of ``user``'s manager ("" when there is none)."""
    person = _active_user(user)
    found = user_manager(person) if person is not None else None
    return found.username if found is not None else ""


def dept_head(user: Any, levels: Any = 1) -> str:
    """The user name of the department head ``levels`` above ``user`` ("" when none)."""
    person = _active_user(user)
    try:
        count = max(int(levels), 1)
    except (TypeError, ValueError):
        count = 1
    found = department_head(person, count) if person is not None else None
    return found.username if found is not None else ""


def role_members(code: Any) -> list[str]:
    """The user names of the active holders of a role."""
    return list(
        User.objects.filter(is_active=True, groups__role__code=str(code))
        .order_by("username")
        .values_list("username", flat=True)
        .distinct()
    )


def dept_members(code: Any) -> list[str]:
    """The user names of the active members of a department and its sub-departments."""
    department = Department.objects.filter(code=str(code)).first()
    if department is None:
        return []
    return list(
        User.objects.filter(is_active=True, department__path__startswith=department.path)
        .order_by("username")
        .values_list("username", flat=True)
    )


def register_functions() -> None:
    graph_module.FUNCTIONS.update(
        {
            "manager": manager,
            "deptHead": dept_head,
            "roleMembers": role_members,
            "deptMembers": dept_members,
        }
    )


# --- process settings ----------------------------------------------------------------------

_SETTINGS_TTL = 5.0  # seconds an admin's change may take to reach a running web process
_settings_cache: dict[str, tuple[float, ProcessSettings]] = {}


def settings_for(key: str) -> ProcessSettings:
    """The settings of process ``key`` (an unsaved row with the defaults when it has none)."""
    now = time.monotonic()
    cached = _settings_cache.get(key)
    if cached is not None and now - cached[0] < _SETTINGS_TTL:
        return cached[1]
    found = ProcessSettings.objects.select_related("escalation_role").filter(key=key).first()
    settings = found or ProcessSettings(key=key)
    _settings_cache[key] = (now, settings)
    return settings


def forget_settings() -> None:
    _settings_cache.clear()


# --- candidates -----------------------------------------------------------------------------


def candidate(kind: str, value: str) -> tuple[str, str]:
    """A candidate as stored: ``role:x`` and a plain group are role codes, ``dept:X`` a
    department code."""
    if kind == "group":
        if value.startswith("role:"):
            return "group", value[5:].strip()
        if value.startswith("dept:"):
            return "dept", value[5:].strip()
    return kind, value


def _candidacy_sql() -> dict[str, str]:
    tables = {
        "candidate": TaskCandidate._meta.db_table,
        "role": Role._meta.db_table,
        "memberships": User.groups.through._meta.db_table,
        "department": Department._meta.db_table,
    }
    rows = "SELECT c.task_id FROM {candidate} c WHERE {{where}}c.kind = "
    kinds = {
        "user": "'user' AND c.value = %s",
        "group": "'group' AND c.value IN (SELECT r.code FROM {role} r "
        "JOIN {memberships} m ON m.group_id = r.group_ptr_id WHERE m.user_id = %s)",
        # a materialized path: the department and those above it are the paths it starts with
        "dept": "'dept' AND c.value IN (SELECT d.code FROM {department} d, {department} own "
        "WHERE own.id = %s AND SUBSTR(own.path, 1, LENGTH(d.path)) = d.path)",
    }
    return {kind: (rows + text).format(**tables) for kind, text in kinds.items()}


_CANDIDACY_SQL = _candidacy_sql()


def candidate_task_ids(
    user: User, *, on_offer: bool = False, named_only: bool = False, task_id: int | None = None
) -> RawSQL:
    """The ids of the tasks whose ``TaskCandidate`` rows let ``user`` take them: a row naming
    them, one of their roles, their department or a department above it (``named_only``:
    a row naming them only). ``on_offer``: only rows of tasks on offer (open and held by
    nobody), a few of the hundreds of thousands kept after their tasks ended, read by the
    ``candidate_on_offer`` index; ``task_id``: the rows of that task only. A task may be
    named more than once (for ``pk__in``).

    Written as SQL of a fixed text: the inbox, its counts, the badge and the task page ask
    on every request, and building the same three subqueries with the ORM cost 3 ms of
    Python and compiling them 3 ms more, a quarter of a page (issue 16)."""
    where = ("c.offered AND " if on_offer else "") + (
        "c.task_id = %s AND " if task_id is not None else ""
    )
    first = [task_id] if task_id is not None else []
    parts = [(_CANDIDACY_SQL["user"], [*first, user.username])]
    if not named_only:
        parts.append((_CANDIDACY_SQL["group"], [*first, user.pk]))
        if user.department_id is not None:
            parts.append((_CANDIDACY_SQL["dept"], [*first, user.department_id]))
    sql = " UNION ALL ".join(text.format(where=where) for text, _params in parts)
    params = [value for _text, values in parts for value in values]
    return RawSQL(sql, params)  # noqa: S611  # fixed text: table names, the values as parameters


def resolve_people(run: Run, token: Token | None, text: str, element_id: str) -> list[str]:
    """User names from a participant list (``a, role:b, dept:C, ${manager(initiator)}``)."""
    names: list[str] = []
    for item in split_participants(text):
        if item.startswith("role:"):
            names += role_members(item[5:].strip())
        elif item.startswith("dept:"):
            names += dept_members(item[5:].strip())
        else:
            value = run.evaluate(element_id, item, token)
            for name in value if isinstance(value, list | tuple) else [value]:
                if name:
                    names.append(str(name))
    return list(dict.fromkeys(names))


# --- the rules applied when a task is created ---------------------------------------------


def _candidates_q(candidates: list[tuple[str, str]]) -> Q:
    """The users the candidate rows (user, role, department subtree) stand for."""
    users = [v for k, v in candidates if k == "user"]
    roles = [v for k, v in candidates if k == "group"]
    found = Q(username__in=users) | Q(groups__role__code__in=roles)
    for code in (v for k, v in candidates if k == "dept"):
        department = Department.objects.filter(code=code).first()
        if department is not None:
            found |= Q(department__path__startswith=department.path)
    return found


def _anyone(candidates: list[tuple[str, str]], *, besides: str = "") -> bool:
    """Whether an active user other than ``besides`` is among the candidates: a role nobody
    holds, a department without members, an unknown user name are nobody (the task would
    reach no inbox). The users :func:`_candidates_q` stands for, asked in one statement of
    the engine's own (this runs for every task the engine creates)."""
    return store.any_active_user(
        users=[v for k, v in candidates if k == "user"],
        roles=[v for k, v in candidates if k == "group"],
        departments=[v for k, v in candidates if k == "dept"],
        besides=besides,
    )


def _initiator_candidacy(
    candidates: list[tuple[str, str]], initiator: str, *, allowed: bool
) -> list[tuple[str, str]]:
    """The candidate rows with the initiator's place made explicit: taken out where the
    step does not let them act, written as a row of their own where it does and a role or
    department of theirs is offered the task (:func:`is_candidate` reads only that row
    on their own request)."""
    mine = ("user", initiator)
    if not allowed:
        return [c for c in candidates if c != mine]
    shared = mine not in candidates and any(k != "user" for k, _v in candidates)
    if shared and User.objects.filter(_candidates_q(candidates), username=initiator).exists():
        return [*candidates, mine]
    return candidates


def _literal_initiator(element: Element) -> bool:
    return (element.assignee or "").replace(" ", "") in ("${initiator}", "#{initiator}")


INITIATOR_MAY_APPROVE = "initiatorMayApprove"  # a step's camunda:property allowing it


def initiator_may_act(settings: ProcessSettings, element: Element) -> bool:
    """Separation of duties: whether the initiator may act on this step of their own request.

    Never on an approval step, unless the process explicitly allows it — for every step
    (its settings keep the step when the initiator is the approver) or for this step (the
    ``initiatorMayApprove`` property). Steps that are the initiator's own work are theirs:
    the start event they resubmit at and a step assigned literally to ``${initiator}``."""
    if element.kind is ElementKind.START_EVENT or _literal_initiator(element):
        return True
    if settings.initiator_approver == InitiatorApproverPolicy.KEEP:
        return True
    flag = str(element.properties.get(INITIATOR_MAY_APPROVE, "")).strip().lower()
    return flag in ("true", "1", "yes")


def own_request(person: str, initiator: str, settings: ProcessSettings, element: Element) -> bool:
    """Whether ``person`` acting on this step would approve a request they started, which
    separation of duties forbids (:func:`initiator_may_act`): the one test behind every
    refusal (taking, deciding, being handed the task) and every action not offered."""
    return bool(initiator) and person == initiator and not initiator_may_act(settings, element)


def is_candidate(user: User, task: Task) -> bool:
    """Whether ``user`` may take the unassigned ``task``: a candidate row of the task lets them
    (:func:`candidate_task_ids`). On their own request only a row naming them counts: the
    engine writes one only where the step allows the initiator to act (:func:`assign_task`),
    so a role or a department never makes someone the approver of their own request."""
    rows = candidate_task_ids(
        user, named_only=user.username == task.instance.initiator, task_id=task.pk
    )
    return Task.objects.filter(pk__in=rows).exists()


def refuse_initiator(
    settings: ProcessSettings, element: Element, initiator: str, to: User, *, field_name: str
) -> None:
    """A task handed to ``to`` (transfer, delegate, add a signer, reassign): refused with a
    field error when ``to`` started the request and the step does not let the initiator act."""
    if own_request(to.username, initiator, settings, element):
        raise ValidationError(
            {field_name: [_("%(name)s started this request and cannot approve it.") % {"name": to}]}
        )


def _proxy(assignee: str, key: str, run: Run) -> str:
    if not store.has_delegation(assignee, run.db_now):  # most people are in the office
        return ""
    person = _active_user(assignee)
    found = delegate_for(person, process_key=key, at=run.now) if person is not None else None
    return found.username if found is not None else ""


def assign_task(run: Run, token: Token, element: Element, fields: dict[str, Any]) -> str | None:
    """Apply the participant policies to a task about to be created. Returns the outcome of
    an automatic pass (``"skipped"``, ``"auto-approved"``) when no task is to be created, else
    None, having completed ``fields`` (candidates, proxy, due date, reminder jobs)."""
    settings = settings_for(run.instance.key)
    initiator = run.instance.initiator
    allowed = initiator_may_act(settings, element)
    fields["candidates"] = list(dict.fromkeys(candidate(k, v) for k, v in fields["candidates"]))
    if initiator and fields["candidates"]:
        fields["candidates"] = _initiator_candidacy(
            fields["candidates"], initiator, allowed=allowed
        )
    fields.setdefault("on_behalf_of", "")
    assignee = fields["assignee"]
    if assignee and not _literal_initiator(element):
        if assignee == initiator and not allowed:
            return "skipped"
        if settings.auto_pass_repeated and run.approver and assignee == run.approver:
            return "auto-approved"
    besides = "" if allowed else initiator
    if not assignee and not _anyone(fields["candidates"], besides=besides):
        policy = settings.empty_assignee
        if policy == EmptyAssigneePolicy.SKIP:
            return "skipped"
        role = settings.escalation_role if policy == EmptyAssigneePolicy.ESCALATE else None
        if role is not None:
            fields["candidates"] = [("group", role.code)]
        else:
            Incident.objects.create(
                instance_id=run.instance.id,
                element_id=element.id,
                message=_("Nobody can handle the step %(step)s: choose a handler.")
                % {"step": element.name or element.id},
                created_at=run.now,
            )
    if assignee:
        proxy = _proxy(assignee, run.instance.key, run)
        if proxy == initiator and not allowed:
            proxy = ""  # the absent approver's proxy started the request: it waits for them
        if proxy:
            fields["on_behalf_of"] = assignee
            fields["assignee"] = proxy
    arm_due_jobs(run, token, element, fields, settings)
    return None


def arm_due_jobs(
    run: Run, token: Token, element: Element, fields: dict[str, Any], settings: ProcessSettings
) -> None:
    """A default due date from the settings, and the reminder and time-out jobs of a due
    date (the step's ``remindBefore`` / ``timeout`` properties override the settings)."""
    props = element.properties
    try:
        if fields["due_at"] is None and settings.default_due:
            fields["due_at"] = parse_duration(settings.default_due).add_to(run.now)
        due = fields["due_at"]
        if due is None:
            return
        remind = props.get("remindBefore", settings.remind_before)
        timeout = props.get("timeout", settings.timeout)
        if remind:
            at = due - (parse_duration(remind).add_to(due) - due)
            run.add_job(token, "reminder", element.id, max(at, run.now), {})
        if timeout:
            run.add_job(token, "timeout", element.id, due, {"policy": timeout})
        if remind or timeout:
            token.variables["_jobs"] = True
    except TimerError:
        return  # a bad duration in the settings: no reminder rather than a broken step
