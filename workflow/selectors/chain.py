"""The approval chain in people (审批流程预览): who will handle a request, step by step,
worked out from the process graph, the data entered so far and the participant rules,
without starting anything and without writing a row.

The start form shows it as the person fills it in (:func:`chain_preview`); the instance and
task pages show the steps still ahead of a running request greyed (:func:`chain_ahead`).

The walk follows the graph from the start event (or from where a running request waits) as
the engine would if every step were approved: exclusive and inclusive gateways evaluate
their conditions on the data entered (the engine's expressions, without functions, as
``Run.choose`` does), parallel branches are all followed. Each user task's people are
resolved as the engine resolves them (``workflow.participants``): a named assignee,
``${manager(initiator)}`` and the other participant functions, candidate roles and
departments, the collection of a countersign. The rules applied when a task is created are
applied too: the initiator does not act on an approval step of their own request
(:func:`participants.initiator_may_act`), the same approver twice in a row passes, a step
nobody can take follows the process's ``empty_assignee`` policy, an absent person's proxy
takes their step. CC steps (a step's ``cc`` property, the process's ``cc_at_end``) are listed
where they happen.

Where a condition or a participant rule needs a field that is not filled in yet, the preview
says the step depends on it rather than guessing; where it needs what a later step decides
(``approved_amount``), it says so and stops.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import DelegationRule, Department, User
from portal.selectors import delegate_for
from workflow import participants, translation
from workflow.bpmn.expressions import ExpressionError
from workflow.bpmn.model import Element, ElementKind, EventTrigger
from workflow.bpmn.validate import split_participants
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Flow, Graph
from workflow.forms import form_for, has_step_form, json_value
from workflow.models import EmptyAssigneePolicy, ProcessSettings
from workflow.selectors import people_reads

__all__ = [
    "ChainPreview",
    "ChainStep",
    "Entered",
    "Person",
    "avatar_text",
    "candidate_people",
    "chain_ahead",
    "chain_preview",
    "countersign_label",
    "entered_data",
    "people_of",
]

StepKind = Literal["task", "countersign", "cc", "process"]
# one: a named person; anyone: any one of several people (a role, a department);
# all / any / sequence / ratio: the countersign modes (会签, 或签, 依次, 按比例)
Mode = Literal["one", "anyone", "all", "any", "sequence", "ratio"]

MAX_NODES = 200  # elements one walk visits at most (a guard against a malformed graph)
MAX_PEOPLE = 50  # people one step lists at most


# --- people ----------------------------------------------------------------------------------

_HAN = re.compile(r"[\u4e00-\u9fff]")


def avatar_text(name: str) -> str:
    """What the round avatar of a person without a photo shows: the last two characters of
    a Chinese name (张伟 -> 张伟, 欧阳娜娜 -> 娜娜, as Chinese office software does), else the
    initials of the first two words (Wei Zhang -> WZ), else the first two letters."""
    name = name.strip()
    if not name:
        return "?"
    if _HAN.search(name):
        return name.replace(" ", "")[-2:]
    words = name.split()
    if len(words) > 1:
        return (words[0][0] + words[-1][0]).upper()
    return name[:2].upper()


@dataclass(frozen=True)
class Person:
    """A person as the pages show them: user name, display name, avatar text."""

    username: str
    name: str
    initials: str
    active: bool = True


def people_of(usernames: Iterable[str]) -> dict[str, Person]:
    """Each user name as a :class:`Person`, in one query; an unknown name stays as written
    (inactive)."""
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    found = {
        user.username: Person(
            user.username, user.display_name, avatar_text(user.display_name), user.is_active
        )
        for user in people_reads.users_named(wanted).values()
    }
    for name in wanted - set(found):
        found[name] = Person(name, name, avatar_text(name), active=False)
    return found


def candidate_people(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The active people each task candidate (``user`` / ``group`` = role code / ``dept`` =
    department code, its sub-departments included) stands for, by user name, in at most three
    queries for any number of candidates."""
    wanted = set(pairs)
    result: dict[tuple[str, str], list[str]] = {pair: [] for pair in wanted}
    users = {v for k, v in wanted if k == "user"}
    roles = {v for k, v in wanted if k == "group"}
    codes = {v for k, v in wanted if k == "dept"}
    paths: dict[str, str] = {}
    if codes:
        paths = dict(Department.objects.filter(code__in=codes).values_list("code", "path"))
    query = Q(username__in=users) | Q(groups__role__code__in=roles)
    for path in paths.values():
        query |= Q(department__path__startswith=path)
    if not (users or roles or paths):
        return result
    rows = (
        User.objects.filter(query, is_active=True)
        .values_list("username", "groups__role__code", "department__path")
        .order_by("username")
    )
    for username, role_code, department_path in rows:
        if username in users:
            _add(result[("user", username)], username)
        if role_code in roles:
            _add(result[("group", role_code)], username)
        for code, path in paths.items():
            if department_path and department_path.startswith(path):
                _add(result[("dept", code)], username)
    return result


def _add(found: list[str], name: str) -> None:
    if name not in found:
        found.append(name)


# --- what the walk finds ---------------------------------------------------------------------


@dataclass
class ChainStep:
    """One step of the chain: its name, what kind of step, who acts (or is copied) and how
    they decide, and a note for what people should know (passes automatically, depends on a
    field, someone else acts on behalf of an absent person). ``passes``: the step passes
    without anyone acting. ``branch``: steps with the same non-zero number run side by
    side."""

    element_id: str
    name: str
    kind: StepKind
    mode: Mode = "one"
    people: list[Person] = field(default_factory=list)
    note: str = ""
    passes: bool = False
    ratio: str = ""  # the share a ratio countersign needs, as people read it (60%)
    branch: int = 0
    usernames: list[str] = field(default_factory=list)  # resolved into people at the end

    @property
    def mode_label(self) -> str:
        labels = {
            "anyone": _("any one of them"),
            "all": _("all must approve"),
            "any": _("the first to decide"),
            "sequence": _("one after another"),
            "ratio": _("%(share)s must approve") % {"share": self.ratio},
        }
        return labels.get(self.mode, "")


@dataclass
class ChainPreview:
    """The steps found, in order; ``waiting_for``: why the walk stopped before the end (the
    fields it needs, what a later step decides, a route that cannot be worked out), "" when
    it did not stop early."""

    steps: list[ChainStep] = field(default_factory=list)
    waiting_for: str = ""
    reached_end: bool = False


class _Stop(Exception):
    """The walk cannot go on: the preview says why."""


@dataclass
class _Context:
    graph: Graph
    settings: ProcessSettings
    initiator: str
    scope: dict[str, Any]
    start_fields: dict[str, str]  # start form field id -> label
    task_fields: dict[str, str]  # a step's form field id -> the step's name
    invalid: frozenset[str] = frozenset()  # start form fields filled in but not valid


class _Walk:
    """One walk of a graph; see the module docstring."""

    def __init__(self, context: _Context, *, previous_approver: str = "") -> None:
        self.context = context
        self.graph = context.graph
        self.scope = context.scope
        self.preview = ChainPreview()
        self.visited: set[str] = set()
        self.branch = 0
        self.branches = 0
        self.previous = previous_approver  # who approved the step before (auto-pass rule)

    # the graph

    def walk(self, node_id: str | None, *, in_branch: bool = False) -> str | None:
        """Follow the graph from ``node_id``; a branch stops at the join it reaches and
        returns it."""
        passing_join = ""
        while node_id is not None:
            element = self.graph.elements.get(node_id)
            if element is None:
                return None
            if in_branch and _is_join(element) and node_id != passing_join:
                return node_id
            if node_id in self.visited or len(self.visited) >= MAX_NODES:
                return None  # a loop back (a resubmission) or a second branch at a merge
            self.visited.add(node_id)
            targets = self.visit(element)
            if len(targets) <= 1:
                node_id = targets[0] if targets else None
                continue
            outer = self.branch
            joins = []
            for target in targets:
                self.branches += 1
                self.branch = self.branches
                self.previous = ""  # several steps decide at once: nobody is "the one before"
                joins.append(self.walk(target, in_branch=True))
            self.branch = outer
            join = next((j for j in joins if j is not None), None)
            if join is None:
                return None
            node_id = passing_join = join
        return None

    def visit(self, element: Element) -> list[str]:
        """Record what ``element`` adds to the chain; the elements a token goes to next."""
        kind = element.kind
        if kind is ElementKind.END_EVENT:
            if element.parent_id is not None:  # the end of an embedded sub-process
                parent = self.graph.elements[element.parent_id]
                return self.leave(parent)
            if element.trigger in (EventTrigger.NONE, EventTrigger.TERMINATE):
                self.preview.reached_end = True
            return []
        if kind is ElementKind.USER_TASK:
            self.user_task(element)
            self.scope["approved"] = True  # the chain of a request that is approved
            self.copies(element)
            return self.leave(element)
        if kind is ElementKind.SUB_PROCESS:
            if element.triggered_by_event:
                return []
            return [self.graph.start_event(element.id).id]
        if kind is ElementKind.CALL_ACTIVITY:
            self.add(ChainStep(element.id, _step_name(self.graph, element), "process"))
            return self.leave(element)
        if kind is ElementKind.EXCLUSIVE_GATEWAY:
            return self.choose(element, first_only=True)
        if kind is ElementKind.INCLUSIVE_GATEWAY:
            return self.choose(element, first_only=False)
        if kind is ElementKind.PARALLEL_GATEWAY:
            return [flow.target for flow in self.graph.outgoing[element.id]]
        if kind is ElementKind.EVENT_BASED_GATEWAY:
            raise _Stop(_("What happens next depends on an event the request waits for."))
        return self.leave(element)

    def leave(self, element: Element) -> list[str]:
        """Where a token goes from an activity or event: its conditional flows are chosen
        as the engine chooses them (``Run.leave``)."""
        outgoing = self.graph.outgoing[element.id]
        if (len(outgoing) > 1 and element.kind.is_activity) or (
            len(outgoing) == 1 and outgoing[0].condition is not None
        ):
            return self.choose(element, first_only=False)
        return [flow.target for flow in outgoing]

    def choose(self, element: Element, *, first_only: bool) -> list[str]:
        """The flows a gateway takes with the data known (``Run.choose``), or a stop that
        names what the condition needs."""
        flows = self.graph.outgoing[element.id]
        if not flows or (len(flows) == 1 and flows[0].condition is None):
            return [flow.target for flow in flows]
        chosen: list[Flow] = []
        default = None
        for flow in flows:
            if flow.id == element.default_flow:
                default = flow
                continue
            if flow.condition is None:
                chosen.append(flow)
            else:
                try:
                    taken = flow.condition.evaluate(self.scope)
                except ExpressionError:
                    raise _Stop(self.needs(flow.condition.names)) from None
                if taken:
                    chosen.append(flow)
            if first_only and chosen:
                break
        if not chosen and default is not None:
            chosen.append(default)
        if not chosen:
            raise _Stop(_("The route cannot be worked out from the data entered."))
        return [flow.target for flow in chosen]

    def needs(self, names: Iterable[str]) -> str:
        """Why an expression cannot be evaluated yet, as people read it."""
        missing = sorted(set(names) - set(self.scope))
        start = self.context.start_fields
        wrong = [start[name] for name in missing if name in self.context.invalid]
        if wrong:
            return _("Depends on %(fields)s: correct it to see the next steps.") % {
                "fields": "、".join(wrong)
            }
        labels = [start[name] for name in missing if name in start]
        if labels:
            return _("Depends on %(fields)s: fill it in to see the next steps.") % {
                "fields": "、".join(labels)
            }
        steps = list(
            dict.fromkeys(
                self.context.task_fields[n] for n in missing if n in self.context.task_fields
            )
        )
        if steps:
            return _("The next steps depend on what %(steps)s decides.") % {
                "steps": "、".join(steps)
            }
        return _("The next steps depend on data the request does not have yet.")

    # the steps

    def add(self, step: ChainStep) -> None:
        step.branch = self.branch
        self.preview.steps.append(step)

    def value(self, text: str | None, scope: Mapping[str, Any]) -> Any:
        return self.graph.value(text, scope)

    def user_task(self, element: Element) -> None:
        settings = self.context.settings
        allowed = participants.initiator_may_act(settings, element)
        step = ChainStep(element.id, _step_name(self.graph, element), "task")
        try:
            if element.multi_instance is not None:
                self.countersign(element, step, allowed)
            else:
                self.single(element, step, allowed, self.scope)
        except ExpressionError as error:
            step.note = self.participant_problem(element, error)
            self.previous = ""
        self.add(step)

    def participant_problem(self, element: Element, error: ExpressionError) -> str:
        """Why the step's people cannot be named yet: the fields its participant rules read
        that are not filled in, else a plain "cannot be worked out"."""
        mi = element.multi_instance
        texts = [element.assignee, element.candidate_users, element.candidate_groups]
        if mi is not None and mi.collection:
            collection = mi.collection
            texts.append(
                collection if collection.startswith(("${", "#{")) else f"${{{collection}}}"
            )
        names: set[str] = set()
        for text in texts:
            if text and ("${" in text or "#{" in text):
                try:
                    names |= self.graph.expression(text).names
                except ExpressionError:
                    continue
        names -= {"loopCounter", (mi.element_variable if mi is not None else "") or ""}
        if names - set(self.scope):
            return self.needs(names)
        return _("Who handles this step cannot be worked out yet.")

    def people_at(
        self, element: Element, scope: Mapping[str, Any]
    ) -> tuple[str, list[tuple[str, str]]]:
        """The step's assignee and candidates (``Run.task_fields``)."""
        assignee = str(self.value(element.assignee, scope) or "")
        candidates: list[tuple[str, str]] = []
        for kind, text in (("user", element.candidate_users), ("group", element.candidate_groups)):
            value = self.value(text, scope)
            for item in value if isinstance(value, list | tuple) else str(value or "").split(","):
                item = str(item).strip()
                if item:
                    candidates.append(participants.candidate(kind, item))
        return assignee, list(dict.fromkeys(candidates))

    def single(
        self, element: Element, step: ChainStep, allowed: bool, scope: Mapping[str, Any]
    ) -> None:
        initiator = self.context.initiator
        assignee, candidates = self.people_at(element, scope)
        if assignee:
            step.usernames = [assignee]
            if not _literal_initiator(element):
                if assignee == initiator and not allowed:
                    step.passes = True
                    step.note = _("Passes automatically: nobody approves their own request.")
                    return
                if self.context.settings.auto_pass_repeated and assignee == self.previous:
                    step.passes = True
                    step.note = _("Passes automatically: the same person approved the step before.")
                    return
            self.previous = assignee
            return
        found = candidate_people(candidates)
        names: list[str] = []
        for pair in candidates:
            for name in found[pair]:
                if name not in names and (allowed or name != initiator):
                    names.append(name)
        self.previous = ""
        if names:
            step.usernames = names[:MAX_PEOPLE]
            step.mode = "anyone" if len(names) > 1 else "one"
            return
        self.nobody(step)

    def nobody(self, step: ChainStep) -> None:
        """A step nobody can take: the process's ``empty_assignee`` policy."""
        settings = self.context.settings
        policy = settings.empty_assignee
        role = settings.escalation_role if policy == EmptyAssigneePolicy.ESCALATE else None
        if policy == EmptyAssigneePolicy.SKIP:
            step.passes = True
            step.note = _("Passes automatically: nobody can handle this step.")
        elif role is not None:
            names = candidate_people([("group", role.code)])[("group", role.code)]
            step.usernames = [n for n in names if n != self.context.initiator][:MAX_PEOPLE]
            step.mode = "anyone" if len(step.usernames) > 1 else "one"
            step.note = _("Nobody is set for this step: it goes to %(role)s.") % {
                "role": role.display_name
            }
        else:
            step.note = _("Nobody can handle this step yet: an administrator will choose someone.")

    def countersign(self, element: Element, step: ChainStep, allowed: bool) -> None:
        """会签 and its kin: one task per item of the collection (or ``cardinality`` times),
        decided as the ``countersign`` property says."""
        mi = element.multi_instance
        assert mi is not None  # noqa: S101 - the caller checked
        step.kind = "countersign"
        step.mode, step.ratio = _countersign_mode(element)
        items = self.items(element)
        if items is None:
            step.note = _("Who handles this step cannot be worked out yet.")
            self.previous = ""
            return
        names: list[str] = []
        skipped_own = False
        for index, item in enumerate(items[:MAX_PEOPLE]):
            local = dict(self.scope, loopCounter=index)
            if mi.element_variable:
                local[mi.element_variable] = item
            assignee, candidates = self.people_at(element, local)
            found = [assignee] if assignee else []
            if not assignee:
                people = candidate_people(candidates)
                found = [n for pair in candidates for n in people[pair]]
            for name in found:
                if name == self.context.initiator and not allowed:
                    skipped_own = True
                elif name not in names:
                    names.append(name)
        step.usernames = names
        if skipped_own:
            step.note = _("The initiator is left out: nobody approves their own request.")
        if not names:
            step.passes = True
            step.note = (
                _("Passes automatically: nobody approves their own request.")
                if skipped_own
                else _("Passes automatically: nobody is asked to approve.")
            )
        self.previous = names[-1] if step.mode == "sequence" and names else ""

    def items(self, element: Element) -> list[Any] | None:
        """One item per task of a multi-instance step; None when they cannot be known."""
        mi = element.multi_instance
        assert mi is not None  # noqa: S101 - the caller checked
        if mi.collection:
            found = self.value(_collection_text(mi.collection), self.scope)
            return list(found) if isinstance(found, list | tuple) else None
        try:
            return [None] * int(self.value(mi.cardinality, self.scope))
        except (TypeError, ValueError):
            return None

    def copies(self, element: Element) -> None:
        """A step's ``cc`` property: who is copied once it is done."""
        text = element.properties.get("cc")
        if text:
            self.add(self.copy_step(element.id, text))

    def copy_step(self, element_id: str, text: str) -> ChainStep:
        step = ChainStep(element_id, _("CC"), "cc", mode="anyone")
        names: list[str] = []
        pairs: list[tuple[str, str]] = []
        for item in split_participants(text):
            if item.startswith("role:"):
                pairs.append(("group", item[5:].strip()))
            elif item.startswith("dept:"):
                pairs.append(("dept", item[5:].strip()))
            else:
                try:
                    value = self.value(item, self.scope)
                except ExpressionError:
                    continue
                for name in value if isinstance(value, list | tuple) else [value]:
                    if name:
                        names.append(str(name))
        found = candidate_people(pairs)
        for pair in pairs:
            names += found[pair]
        step.usernames = list(dict.fromkeys(names))[:MAX_PEOPLE]
        return step

    # the end

    def finish(self, stopped: str = "") -> ChainPreview:
        preview = self.preview
        preview.waiting_for = stopped
        settings = self.context.settings
        if preview.reached_end and not stopped and settings.cc_at_end:
            step = self.copy_step("", settings.cc_at_end)
            step.name = _("CC when approved")
            self.branch = 0
            self.add(step)
        self.proxies()
        everyone = people_of(n for s in preview.steps for n in s.usernames)
        for step in preview.steps:
            step.people = [everyone[n] for n in step.usernames if n in everyone]
            if step.kind != "cc" and not step.passes:
                gone = [p for p in step.people if not p.active]
                if gone and not step.note:
                    step.note = _("%(names)s cannot act: no active account.") % {
                        "names": "、".join(p.name for p in gone)
                    }
        return preview

    def proxies(self) -> None:
        """Out-of-office rules in force now: an absent person's step goes to their proxy
        (``participants.assign_task``); one query when nobody is away."""
        named = {
            s.usernames[0]
            for s in self.preview.steps
            if s.kind == "task" and s.mode == "one" and len(s.usernames) == 1 and not s.passes
        }
        if not named:
            return
        now = timezone.now()
        away = set(
            DelegationRule.objects.filter(
                delegator__username__in=named, is_active=True, starts_at__lte=now, ends_at__gt=now
            ).values_list("delegator__username", flat=True)
        )
        key = self.graph.key
        for step in self.preview.steps:
            if step.kind != "task" or step.mode != "one" or step.passes or not step.usernames:
                continue
            absent = step.usernames[0]
            if absent not in away:
                continue
            person = User.objects.filter(username=absent, is_active=True).first()
            proxy = delegate_for(person, process_key=key, at=now) if person is not None else None
            if proxy is None or proxy.username == self.context.initiator:
                continue
            step.usernames = [proxy.username]
            step.note = _("%(absent)s is away: %(proxy)s handles it on their behalf.") % {
                "absent": person.display_name if person is not None else absent,
                "proxy": proxy.display_name,
            }


def _is_join(element: Element) -> bool:
    return (
        element.kind in (ElementKind.PARALLEL_GATEWAY, ElementKind.INCLUSIVE_GATEWAY)
        and len(element.incoming) > 1
    )


def _literal_initiator(element: Element) -> bool:
    return (element.assignee or "").replace(" ", "") in ("${initiator}", "#{initiator}")


def _step_name(graph: Graph, element: Element) -> str:
    """The step's name in the reader's language (the process's translation table)."""
    if not element.name:
        return _("A step")
    return translation.step_name(graph.key, element.id, element.name)


def _collection_text(collection: str) -> str:
    """A multi-instance collection as an expression (a bare variable name is one)."""
    return collection if collection.startswith(("${", "#{")) else f"${{{collection}}}"


def _countersign_mode(element: Element) -> tuple[Mode, str]:
    """The decision mode of a multi-instance step (``countersign`` property; a sequential
    loop without one is 依次, a parallel one 会签) and a ratio's share as people read it."""
    mi = element.multi_instance
    mode = str(element.properties.get("countersign", "")).strip()
    if (mi is not None and mi.sequential) or mode == "sequence":
        return "sequence", ""
    if mode == "any":
        return "any", ""
    if mode.startswith("ratio:"):
        return "ratio", _share(mode[6:])
    return "all", ""


def countersign_label(element: Element) -> str:
    """How a multi-instance step decides, as people read it (会签：需全部同意 ...); "" for
    any other step."""
    if element.multi_instance is None:
        return ""
    mode, ratio = _countersign_mode(element)
    return ChainStep(element.id, "", "countersign", mode=mode, ratio=ratio).mode_label


def _share(text: str) -> str:
    """``0.6`` -> 60%, ``2/3`` -> 2/3 (as written)."""
    text = text.strip()
    if "/" in text:
        return text
    try:
        return f"{float(text) * 100:g}%"
    except ValueError:
        return text


def _field_labels(graph: Graph) -> tuple[dict[str, str], dict[str, str]]:
    """The start form's field labels by id; the name of the step that fills each other
    field."""
    start: dict[str, str] = {}
    tasks: dict[str, str] = {}
    for element in graph.elements.values():
        for form_field in element.form_fields:
            if element.kind is ElementKind.START_EVENT and element.parent_id is None:
                start.setdefault(
                    form_field.id,
                    translation.field_label(graph.key, form_field.id, form_field.label),
                )
            elif element.kind is ElementKind.USER_TASK:
                tasks.setdefault(form_field.id, _step_name(graph, element))
    return start, tasks


def _context(
    graph: Graph,
    initiator: str,
    variables: Mapping[str, Any],
    invalid: Iterable[str] = (),
) -> _Context:
    start, tasks = _field_labels(graph)
    scope = dict(variables)
    if initiator:
        scope["initiator"] = initiator
    return _Context(
        graph=graph,
        settings=participants.settings_for(graph.key),
        initiator=initiator,
        scope=scope,
        start_fields=start,
        task_fields=tasks,
        invalid=frozenset(invalid),
    )


# --- the two uses ----------------------------------------------------------------------------


@dataclass
class Entered:
    """What the start form holds so far: ``values`` as the variables a start would set
    (each field filled in and valid), ``invalid`` the fields filled in but not valid."""

    values: dict[str, Any]
    invalid: list[str] = field(default_factory=list)


def entered_data(element: Element, posted: Mapping[str, Any], *, user: User) -> Entered:
    """The start form's values so far (a bound form, validated; nothing saved): each field
    filled in and valid as a process variable; a field left empty or not valid is left out,
    and the preview then says which steps depend on it."""
    if not has_step_form(element):
        return Entered({})
    form = form_for(element, variables={}, data=posted, user=user)
    form.is_valid()
    entered = Entered({})
    for name, form_field in form.fields.items():
        if form_field.disabled or isinstance(form_field, forms.FileField):
            continue
        if name in form.errors:
            raw = posted.get(name) if hasattr(posted, "get") else None
            if raw not in (None, "", []):
                entered.invalid.append(name)
            continue
        value = form.cleaned_data.get(name)
        if value is None or value == "" or value == []:
            continue
        try:
            entered.values[name] = json_value(value)
        except TypeError:
            continue
    return entered


def chain_preview(
    definition_id: int,
    *,
    initiator: User,
    data: Mapping[str, Any],
    invalid: Iterable[str] = (),
) -> ChainPreview:
    """Who will handle a request of this process version that ``initiator`` starts with
    ``data`` (the start form's values so far, as :func:`entered_data` gives them; ``invalid``:
    the fields filled in but not valid), step by step, if every step approves. Reads only."""
    graph = graph_for_definition(definition_id)
    variables = dict(data)
    start = graph.start_event(None)
    if start.initiator:
        variables[start.initiator] = initiator.username
    walk = _Walk(_context(graph, initiator.username, variables, invalid))
    try:
        walk.walk(start.id)
    except _Stop as stop:
        return walk.finish(str(stop))
    return walk.finish()


def chain_ahead(
    definition_id: int,
    *,
    initiator: str,
    variables: Mapping[str, Any],
    waiting_at: Iterable[str],
    approver: str = "",
) -> ChainPreview:
    """The steps still ahead of a running request that waits at ``waiting_at`` (element
    ids), if the steps it waits at and every later one approve; ``approver``: the one person
    deciding the step it waits at (the same-approver rule). Reads only."""
    graph = graph_for_definition(definition_id)
    walk = _Walk(_context(graph, initiator, variables), previous_approver=approver)
    here = [e for e in dict.fromkeys(waiting_at) if e in graph.elements]
    walk.visited.update(here)
    try:
        for element_id in here:
            element = graph.elements[element_id]
            if element.kind is ElementKind.EVENT_BASED_GATEWAY:
                raise _Stop(_("What happens next depends on an event the request waits for."))
            if element.kind is not ElementKind.START_EVENT:
                walk.scope["approved"] = True
            for target in walk.leave(element):
                walk.walk(target)
    except _Stop as stop:
        return walk.finish(str(stop))
    return walk.finish()
