"""The task page and the instance page: form, business data, diagram, history, attachments,
actions.

Reads start from the user-scoped selectors (``task_for``, ``instances_for``), so a task or
instance a person may not see answers 404. Every action is a POST to
``/workflow/tasks/<id>/<action>/`` or ``/workflow/instances/<id>/<action>/`` that calls one
function of ``workflow.approvals`` (which checks again who may do it now): a refusal shows its
message and changes nothing; bad input re-renders the page with the errors in the action's
dialog (status 400). The dialogs are reachable without JavaScript (``?action=<name>`` opens
one server-side); ``static/workflow/task.js`` opens them in place.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from portal.http import signed_in, wants_partial
from portal.models import User
from portal.selectors import people_matching, person_find
from workflow import participants
from workflow.bpmn.model import Element, ElementKind, FormField
from workflow.bpmn.render import RenderError, render_svg
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.engine.runtime import AlreadyHandled, EngineError
from workflow.forms import AttachmentForm, CommentForm, form_for, has_step_form, step_fields
from workflow.models import (
    LIVE_TASK_STATES,
    Attachment,
    Comment,
    Delegation,
    HistoryEvent,
    Incident,
    InstanceState,
    ProcessInstance,
    Signer,
    Task,
    TaskState,
)
from workflow.previews import PreviewError, is_inline, preview, preview_kind
from workflow.selectors import actions as offered
from workflow.selectors import timeline as timelines
from workflow.selectors import visibility
from workflow.selectors.visibility import display_names
from workflow.services import administration, approvals

PEOPLE_LIMIT = 20
RUNNING_STATES = (InstanceState.ACTIVE, InstanceState.SUSPENDED)


# --- people ------------------------------------------------------------------------------------


_SEPARATORS = re.compile(r"[\s,;，、；]+")


class PersonField(forms.CharField):
    """One person, typed as a user name or employee number (the picker fills it in); cleaned
    to the user name."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        super().__init__(**kwargs)
        self.widget.attrs.update({"data-picker": "one", "autocomplete": "off"})

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        if not text:
            return ""
        person = person_find(text)
        if person is None:
            raise ValidationError(_("Nobody active is called %(name)s.") % {"name": text})
        return person.username


class PeopleField(forms.CharField):
    """Several people, separated by commas or spaces; with ``groups`` also ``role:code`` and
    ``dept:code``. Cleaned to a list of user names (and the group items as given)."""

    def __init__(self, *, groups: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 2000)
        super().__init__(**kwargs)
        self.groups = groups
        self.widget.attrs.update({"data-picker": "many", "autocomplete": "off"})

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        names: list[str] = []
        unknown: list[str] = []
        for item in _SEPARATORS.split(text or ""):
            if not item:
                continue
            if self.groups and item.startswith(("role:", "dept:")):
                names.append(item)
                continue
            person = person_find(item)
            if person is None:
                unknown.append(item)
            else:
                names.append(person.username)
        if unknown:
            raise ValidationError(
                _("Nobody active is called %(name)s.") % {"name": ", ".join(unknown)}
            )
        if not names and self.required:
            raise ValidationError(_("Choose at least one person."))
        return list(dict.fromkeys(names))


def _comment_field(*, required: bool = False, label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or gettext_lazy("Comment"),
        required=required,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


# --- the actions' forms --------------------------------------------------------------------------


class StepCommentForm(forms.Form):
    """Approve / hand back: an optional comment, sent with the step form (``stepform``)."""

    comment = _comment_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for bound in self.fields.values():
            bound.widget.attrs["form"] = "stepform"


class RejectForm(StepCommentForm):
    comment = _comment_field(required=True, label=gettext_lazy("Reason"))


class ReturnForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Return to"))
    comment = _comment_field(required=True, label=gettext_lazy("Reason"))

    def __init__(self, *args: Any, targets: Iterable[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = list(targets)  # type: ignore[attr-defined]


class HandOverForm(forms.Form):
    to = PersonField(label=gettext_lazy("To"))
    comment = _comment_field()


class AddSignersForm(forms.Form):
    signers = PeopleField(label=gettext_lazy("Signers"))
    position = forms.ChoiceField(
        label=gettext_lazy("Where"), choices=Signer.choices, widget=forms.RadioSelect
    )
    comment = _comment_field()


class RemoveSignerForm(forms.Form):
    signer = forms.TypedChoiceField(label=gettext_lazy("Signer"), coerce=int)

    def __init__(self, *args: Any, signers: Iterable[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["signer"].choices = list(signers)  # type: ignore[attr-defined]


class CopyForm(forms.Form):
    recipients = PeopleField(
        label=gettext_lazy("Copy to"),
        groups=True,
        help_text=gettext_lazy(
            "User names or employee numbers; role:code or dept:code for a whole role or department."
        ),
    )
    comment = _comment_field()


class UrgeForm(forms.Form):
    comment = _comment_field()


class RequiredReasonForm(forms.Form):
    reason = _comment_field(required=True, label=gettext_lazy("Reason"))


class OptionalReasonForm(forms.Form):
    reason = _comment_field(label=gettext_lazy("Reason"))


class MoveForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Move to"))
    reason = _comment_field(required=True, label=gettext_lazy("Reason"))

    def __init__(self, *args: Any, targets: Iterable[tuple[str, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = list(targets)  # type: ignore[attr-defined]


class ReassignForm(forms.Form):
    task = forms.TypedChoiceField(label=gettext_lazy("Task"), coerce=int)
    to = PersonField(label=gettext_lazy("To"))
    reason = _comment_field(label=gettext_lazy("Reason"))

    def __init__(self, *args: Any, tasks: Iterable[tuple[int, str]] = (), **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["task"].choices = list(tasks)  # type: ignore[attr-defined]


class EmptyForm(forms.Form):
    """An action that needs no input (claim, withdraw): only its confirmation."""


# --- the actions -------------------------------------------------------------------------------


@dataclass
class Target:
    """What an action acts on: the instance, and the task when taken on the task page."""

    user: User
    instance: ProcessInstance
    task: Task | None
    graph: Graph
    step_data: QueryDict | None = None


@dataclass(frozen=True)
class Action:
    """One action of the pages: its label, its form, the approvals call (returning the
    success message), whether it asks for confirmation in a dialog, whether it uses the
    step form, and whether the task is no longer the user's afterwards."""

    name: str
    label: Any
    form: Callable[..., forms.Form]
    run: Callable[[Target, dict[str, Any]], str]
    confirm: Any = ""
    danger: bool = False
    step: bool = False
    leaves: bool = False


def _task(target: Target) -> Task:
    if target.task is None:
        raise Http404
    return target.task


def _return_targets(target: Target) -> list[tuple[str, str]]:
    return offered.return_targets(target.task) if target.task is not None else []


def _signer_choices(target: Target) -> list[tuple[int, str]]:
    if target.task is None:
        return []
    signers = Task.objects.filter(added_by=target.task, state__in=LIVE_TASK_STATES).order_by("pk")
    names = display_names(s.assignee for s in signers)
    return [(s.pk, names.get(s.assignee, s.assignee)) for s in signers]


def _move_targets(target: Target) -> list[tuple[str, str]]:
    return [
        (e.id, e.name or e.id)
        for e in target.graph.elements.values()
        if e.parent_id is None and (e.kind.is_activity or e.kind is ElementKind.START_EVENT)
    ]


def _open_task_choices(target: Target) -> list[tuple[int, str]]:
    tasks = Task.objects.filter(instance=target.instance, state=TaskState.OPEN).order_by("pk")
    names = display_names(t.assignee for t in tasks)
    return [
        (t.pk, f"{t.name or t.element_id} — {names.get(t.assignee, t.assignee) or _('unassigned')}")
        for t in tasks
    ]


def _step_values(target: Target) -> dict[str, Any] | None:
    """The step form's fields of what was posted (nothing else may become a variable)."""
    task = _task(target)
    element = target.graph.elements.get(task.element_id)
    if element is None or target.step_data is None or not has_step_form(element):
        return None
    return step_fields(element, target.step_data)


def _approve(t: Target, d: dict[str, Any]) -> str:
    approvals.task_approve(_task(t).pk, user=t.user, data=_step_values(t), comment=d["comment"])
    return _("Approved.")


def _reject(t: Target, d: dict[str, Any]) -> str:
    approvals.task_reject(_task(t).pk, user=t.user, comment=d["comment"], data=_step_values(t))
    return _("Rejected.")


def _return(t: Target, d: dict[str, Any]) -> str:
    approvals.task_return(_task(t).pk, user=t.user, target=d["target"], comment=d["comment"])
    return _("Returned.")


def _transfer(t: Target, d: dict[str, Any]) -> str:
    approvals.task_transfer(_task(t).pk, user=t.user, to=d["to"], comment=d["comment"])
    return _("Transferred to %(name)s.") % {"name": display_name(d["to"])}


def _delegate(t: Target, d: dict[str, Any]) -> str:
    approvals.task_delegate(_task(t).pk, user=t.user, to=d["to"], comment=d["comment"])
    return _("Delegated to %(name)s.") % {"name": display_name(d["to"])}


def _resolve(t: Target, d: dict[str, Any]) -> str:
    approvals.task_resolve(_task(t).pk, user=t.user, data=_step_values(t), comment=d["comment"])
    return _("Handed back.")


def _add_signers(t: Target, d: dict[str, Any]) -> str:
    approvals.task_add_signers(
        _task(t).pk, user=t.user, signers=d["signers"], position=d["position"], comment=d["comment"]
    )
    return _("Signers added.")


def _remove_signer(t: Target, d: dict[str, Any]) -> str:
    approvals.task_remove_signer(d["signer"], user=t.user)
    return _("Signer removed.")


def _claim(t: Target, d: dict[str, Any]) -> str:
    approvals.task_claim(_task(t).pk, user=t.user)
    return _("The task is yours now.")


def _unclaim(t: Target, d: dict[str, Any]) -> str:
    approvals.task_unclaim(_task(t).pk, user=t.user)
    return _("The task is back with its candidates.")


def _copy(t: Target, d: dict[str, Any]) -> str:
    new = approvals.instance_copy(
        t.instance.pk, user=t.user, recipients=d["recipients"], comment=d["comment"]
    )
    if not new:
        return _("Everyone chosen had already been copied.")
    return _("Copied to %(names)s.") % {"names": "、".join(display_names(new).values())}


def _urge(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_urge(t.instance.pk, user=t.user, comment=d["comment"])
    return _("The handlers have been reminded.")


def _withdraw(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_withdraw(t.instance.pk, user=t.user)
    return _("Withdrawn: the step is back with you.")


def _cancel(t: Target, d: dict[str, Any]) -> str:
    approvals.instance_cancel(t.instance.pk, user=t.user, reason=d["reason"])
    return _("The request has been cancelled.")


def _suspend(t: Target, d: dict[str, Any]) -> str:
    administration.instance_suspend(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process is suspended.")


def _resume(t: Target, d: dict[str, Any]) -> str:
    administration.instance_resume(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process is running again.")


def _terminate(t: Target, d: dict[str, Any]) -> str:
    administration.instance_terminate(t.instance.pk, by=t.user, reason=d["reason"])
    return _("The process has been terminated.")


def _move(t: Target, d: dict[str, Any]) -> str:
    administration.instance_move(t.instance.pk, by=t.user, target=d["target"], reason=d["reason"])
    return _("The process has been moved.")


def _reassign(t: Target, d: dict[str, Any]) -> str:
    administration.task_reassign(d["task"], by=t.user, to=d["to"], reason=d["reason"])
    return _("Reassigned to %(name)s.") % {"name": display_name(d["to"])}


def _reassign_here(t: Target, d: dict[str, Any]) -> str:
    return _reassign(t, {**d, "task": _task(t).pk})


class ReassignTaskForm(forms.Form):
    to = PersonField(label=gettext_lazy("To"))
    reason = _comment_field(label=gettext_lazy("Reason"))


def _form(cls: type[forms.Form]) -> Callable[..., forms.Form]:
    return lambda target, data=None, prefix=None: cls(data, prefix=prefix)


def _form_with(
    cls: Callable[..., forms.Form], keyword: str, choices: Callable[[Target], Iterable[Any]]
) -> Callable[..., forms.Form]:
    return lambda target, data=None, prefix=None: cls(
        data, prefix=prefix, **{keyword: choices(target)}
    )


_ACTIONS = [
    Action(
        "approve",
        gettext_lazy("Approve"),
        _form(StepCommentForm),
        _approve,
        gettext_lazy("Approve this step?"),
        step=True,
        leaves=True,
    ),
    Action(
        "reject",
        gettext_lazy("Reject"),
        _form(RejectForm),
        _reject,
        gettext_lazy("Reject this request? Please give a reason."),
        danger=True,
        step=True,
        leaves=True,
    ),
    Action(
        "return",
        gettext_lazy("Return"),
        _form_with(ReturnForm, "targets", _return_targets),
        _return,
        gettext_lazy(
            "Return it to an earlier step (退回)? The person who handled it gets it again."
        ),
        danger=True,
        leaves=True,
    ),
    Action(
        "transfer",
        gettext_lazy("Transfer"),
        _form(HandOverForm),
        _transfer,
        gettext_lazy("Transfer (转办): the person you choose decides instead of you."),
        leaves=True,
    ),
    Action(
        "delegate",
        gettext_lazy("Delegate"),
        _form(HandOverForm),
        _delegate,
        gettext_lazy(
            "Delegate (委派): the person you choose works on it, then it comes back to you."
        ),
        leaves=True,
    ),
    Action(
        "resolve",
        gettext_lazy("Hand back"),
        _form(StepCommentForm),
        _resolve,
        gettext_lazy("Hand the task back to its owner with what you filled in?"),
        step=True,
        leaves=True,
    ),
    Action(
        "add_signers",
        gettext_lazy("Add signers"),
        _form(AddSignersForm),
        _add_signers,
        gettext_lazy("Add signers (加签) before you, after you, or alongside you."),
    ),
    Action(
        "remove_signer",
        gettext_lazy("Remove signer"),
        _form_with(RemoveSignerForm, "signers", _signer_choices),
        _remove_signer,
        gettext_lazy("Remove a signer you added (减签) who has not acted yet?"),
        danger=True,
    ),
    Action("claim", gettext_lazy("Claim"), _form(EmptyForm), _claim),
    Action("unclaim", gettext_lazy("Give back"), _form(EmptyForm), _unclaim),
    Action(
        "copy",
        gettext_lazy("CC"),
        _form(CopyForm),
        _copy,
        gettext_lazy("Copy people in (抄送): they may read this request."),
    ),
    Action(
        "urge",
        gettext_lazy("Urge"),
        _form(UrgeForm),
        _urge,
        gettext_lazy("Remind the current handlers (催办)?"),
    ),
    Action(
        "withdraw",
        gettext_lazy("Withdraw"),
        _form(EmptyForm),
        _withdraw,
        gettext_lazy(
            "Withdraw (撤回): take your last step back while the next handler has not acted?"
        ),
        danger=True,
    ),
    Action(
        "cancel",
        gettext_lazy("Cancel request"),
        _form(RequiredReasonForm),
        _cancel,
        gettext_lazy("Cancel (撤销) the whole request? This cannot be undone."),
        danger=True,
        leaves=True,
    ),
    Action(
        "suspend",
        gettext_lazy("Suspend"),
        _form(OptionalReasonForm),
        _suspend,
        gettext_lazy("Suspend the process? Nobody can act on it until it is resumed."),
        danger=True,
    ),
    Action(
        "resume",
        gettext_lazy("Resume"),
        _form(OptionalReasonForm),
        _resume,
        gettext_lazy("Resume the process?"),
    ),
    Action(
        "terminate",
        gettext_lazy("Terminate"),
        _form(RequiredReasonForm),
        _terminate,
        gettext_lazy("Terminate the process for good? This cannot be undone."),
        danger=True,
        leaves=True,
    ),
    Action(
        "move",
        gettext_lazy("Move"),
        _form_with(MoveForm, "targets", _move_targets),
        _move,
        gettext_lazy("Replace the active steps by the step you choose?"),
        danger=True,
        leaves=True,
    ),
]
TASK_ACTIONS: dict[str, Action] = {a.name: a for a in _ACTIONS}
TASK_ACTIONS["reassign"] = Action(
    "reassign",
    gettext_lazy("Reassign"),
    _form(ReassignTaskForm),
    _reassign_here,
    gettext_lazy("Give this task to someone else (administrators)."),
    leaves=True,
)
INSTANCE_ACTIONS: dict[str, Action] = {
    a.name: a
    for a in _ACTIONS
    if a.name in {"copy", "urge", "withdraw", "cancel", "suspend", "resume", "terminate", "move"}
}
INSTANCE_ACTIONS["reassign"] = Action(
    "reassign",
    gettext_lazy("Reassign"),
    _form_with(ReassignForm, "tasks", _open_task_choices),
    _reassign,
    gettext_lazy("Give an open task to someone else (administrators)."),
)
RESUBMIT = replace(
    TASK_ACTIONS["approve"],
    label=gettext_lazy("Resubmit"),
    confirm=gettext_lazy("Submit this request again?"),
)
# the actions shown as buttons in the sticky bar on a phone; the others under "More"
PRIMARY = ("approve", "reject", "resolve", "claim")
ORDER = list(TASK_ACTIONS)


# --- reads for the pages ---------------------------------------------------------------------


def display_name(username: str) -> str:
    return display_names([username]).get(username, username)


OUTCOMES: dict[str, Any] = {
    "approved": gettext_lazy("approved"),
    "submitted": gettext_lazy("submitted"),
    "completed": gettext_lazy("completed"),
    "rejected": gettext_lazy("rejected"),
    "returned": gettext_lazy("returned"),
    "auto-approved": gettext_lazy("approved automatically"),
    "auto-rejected": gettext_lazy("rejected automatically"),
    "skipped": gettext_lazy("skipped automatically"),
}
KINDS: dict[str, Any] = {
    "instance-start": gettext_lazy("started the request"),
    "task-claimed": gettext_lazy("took the task"),
    "task-unclaimed": gettext_lazy("gave the task back to its candidates"),
    "task-transferred": gettext_lazy("transferred the task"),
    "task-delegated": gettext_lazy("delegated the task"),
    "task-resolved": gettext_lazy("handed the task back"),
    "task-reassigned": gettext_lazy("reassigned the task"),
    "task-escalated": gettext_lazy("the task was escalated"),
    "signer-added": gettext_lazy("added signers"),
    "signer-removed": gettext_lazy("removed a signer"),
    "copied": gettext_lazy("copied people in"),
    "urged": gettext_lazy("urged the handlers"),
    "withdrawn": gettext_lazy("withdrew the step"),
    "instance-cancelled": gettext_lazy("cancelled the request"),
    "instance-suspended": gettext_lazy("suspended the process"),
    "instance-resumed": gettext_lazy("resumed the process"),
    "instance-terminated": gettext_lazy("terminated the process"),
    "instance-moved": gettext_lazy("moved the process to this step"),
    "instance-migrated": gettext_lazy("moved the process to another version"),
    "incident": gettext_lazy("an error stopped this step"),
    "incident-retried": gettext_lazy("retried the failed step"),
    "instance-end": gettext_lazy("the process ended"),
}
TONES = {
    "approved": "ok",
    "submitted": "ok",
    "completed": "ok",
    "auto-approved": "ok",
    "skipped": "ok",
    "rejected": "bad",
    "auto-rejected": "bad",
    "returned": "warn",
    "incident": "bad",
    "instance-cancelled": "warn",
    "instance-terminated": "bad",
    "withdrawn": "warn",
}


@dataclass
class Entry:
    """One line of the history timeline."""

    at: datetime.datetime
    who: str
    label: str
    step: str = ""
    behalf: str = ""
    text: str = ""
    people: list[str] = field(default_factory=list)
    tone: str = ""
    is_comment: bool = False


def step_name(graph: Graph, element_id: str) -> str:
    element = graph.elements.get(element_id)
    return (element.name or element_id) if element is not None else element_id


def _targets_of(row: HistoryEvent) -> list[str]:
    data = row.data or {}
    found: list[str] = []
    for key in ("to", "signers", "signer"):
        value = data.get(key)
        if isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, str)]
    return found


def timeline(instance: ProcessInstance, graph: Graph) -> list[Entry]:
    """The instance's history as people read it (who, when, step, outcome, comment, on
    behalf of whom), with the comments written on it, oldest first. Engine bookkeeping
    (activity ends, task creation) is left out."""
    rows = list(
        HistoryEvent.objects.filter(instance_id=instance.pk)
        .exclude(kind__in=("activity", "task-created"))
        .order_by("at", "id")
    )
    comments = list(
        Comment.objects.filter(instance=instance).select_related("author", "task").order_by("pk")
    )
    people: list[str] = []
    for row in rows:
        people += [row.actor, row.on_behalf_of]
        if row.kind != "task-completed":
            people += _targets_of(row)
    names = display_names(people)
    entries: list[Entry] = []
    for row in rows:
        data = row.data or {}
        if row.kind == "task-completed":
            label = OUTCOMES.get(row.outcome, row.outcome)
            tone = TONES.get(row.outcome, "")
            targets: list[str] = []
            if row.outcome == "returned" and data.get("to"):
                to = data["to"]
                targets = [
                    str(gettext_lazy("the initiator"))
                    if to == "initiator"
                    else step_name(graph, to)
                ]
        elif row.kind == "instance-end":
            label = KINDS["instance-end"]
            if row.outcome in InstanceState.values:
                label = f"{label}: {InstanceState(row.outcome).label}"
            tone = "ok" if row.outcome == InstanceState.COMPLETED else ""
            targets = []
        else:
            label = KINDS.get(row.kind, row.kind)
            tone = TONES.get(row.kind, "")
            targets = [names.get(n, n) for n in _targets_of(row)]
        text = str(data.get("comment") or data.get("reason") or data.get("message") or "")
        who = names.get(row.actor, row.actor) if row.actor else ""
        if not who and row.kind in ("task-completed", "task-escalated"):
            who = str(gettext_lazy("System"))
        entries.append(
            Entry(
                at=row.at,
                who=who,
                label=str(label),
                step=step_name(graph, row.element_id) if row.element_id else "",
                behalf=names.get(row.on_behalf_of, "") if row.on_behalf_of else "",
                text=text,
                people=targets,
                tone=tone,
            )
        )
    for comment in comments:
        entries.append(
            Entry(
                at=comment.created_at,
                who=comment.author.display_name,
                label=str(gettext_lazy("commented")),
                step=(comment.task.name or comment.task.element_id) if comment.task else "",
                text=comment.text,
                is_comment=True,
            )
        )
    entries.sort(key=lambda e: e.at)
    return entries


def _declared_fields(graph: Graph) -> dict[str, tuple[str, FormField]]:
    """Each form field the process declares -> (its label, the field). A label that two
    fields share (审批意见 on every approval step) is prefixed with its step's name."""
    declared: dict[str, tuple[Element, FormField]] = {}
    for element in graph.elements.values():
        for form_field in element.form_fields:
            declared.setdefault(form_field.id, (element, form_field))
    count = Counter(f.label or name for name, (_e, f) in declared.items())
    labelled: dict[str, tuple[str, FormField]] = {}
    for name, (element, form_field) in declared.items():
        label = form_field.label or name
        if count[label] > 1 and element.kind is not ElementKind.START_EVENT:
            label = f"{element.name or element.id} · {label}"
        labelled[name] = (label, form_field)
    return labelled


def _format(value: Any, form_field: FormField | None) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(gettext_lazy("Yes") if value else gettext_lazy("No"))
    if form_field is not None and form_field.enum_values:
        names = dict(form_field.enum_values)
        if isinstance(value, str) and value in names:
            return names[value]
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list):
        return "、".join(_format(v, None) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_format(v, None)}" for k, v in value.items())
    return str(value)


def business_data(instance: ProcessInstance, graph: Graph, user: User) -> list[tuple[str, str]]:
    """The instance's variables a person may see, as (label, formatted value): those the
    process's forms declare, with their labels; a process administrator also the others.
    The private ``_``-prefixed markers of the engine are never shown."""
    declared = _declared_fields(graph)
    admin = visibility.is_process_admin(user)
    shown: list[tuple[str, str]] = []
    variables = instance.variables or {}
    for name, (label, form_field) in declared.items():
        if name in variables and not name.startswith("_"):
            shown.append((label, _format(variables[name], form_field)))
    if admin:
        for name, value in sorted(variables.items()):
            if name not in declared and not name.startswith("_"):
                shown.append((name, _format(value, None)))
    return shown


def diagram_svg(instance: ProcessInstance, graph: Graph) -> str | None:
    """The instance's diagram with its state painted on it; None when the file has none."""
    try:
        return render_svg(
            graph.definitions,
            highlight=timelines.instance_highlight(instance),
            title=instance.title or None,
        )
    except RenderError:
        return None


def incidents(instance: ProcessInstance, graph: Graph) -> list[tuple[str, str]]:
    """Open incidents as (step name, message): the step people know, not the element id."""
    return [
        (step_name(graph, i.element_id) if i.element_id else _("The process"), i.message)
        for i in Incident.objects.filter(instance=instance, resolved_at__isnull=True).order_by(
            "created_at"
        )
    ]


def attachments_of(instance: ProcessInstance) -> list[Attachment]:
    found = list(
        Attachment.objects.filter(instance=instance)
        .select_related("uploaded_by", "task")
        .order_by("created_at", "pk")
    )
    for attachment in found:
        attachment.preview_kind = preview_kind(attachment)  # type: ignore[attr-defined]
    return found


# --- page context ------------------------------------------------------------------------------


@dataclass
class Dialog:
    action: Action
    form: forms.Form
    url: str
    open: bool = False


def _dialogs(
    target: Target,
    names: Iterable[str],
    table: Mapping[str, Action],
    url: Callable[[str], str],
    *,
    opened: str | None,
    bound: forms.Form | None,
) -> list[Dialog]:
    dialogs = []
    for name in sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else 99):
        action = table.get(name)
        if action is None:
            continue
        if bound is not None and name == opened:
            form = bound
        else:
            form = action.form(target, None, prefix=name)
        dialogs.append(Dialog(action, form, url(name), open=name == opened))
    return dialogs


def _inbox_url() -> str:
    try:
        return reverse("workflow:inbox")
    except NoReverseMatch:  # the inbox is another area's page
        return "/"


def _preview_of(request: HttpRequest, instance: ProcessInstance) -> dict[str, Any] | None:
    """``?preview=<attachment id>``: the preview shown in the page (without JavaScript)."""
    wanted = request.GET.get("preview", "")
    if not wanted.isdigit():
        return None
    attachment = Attachment.objects.filter(pk=int(wanted), instance=instance).first()
    return _preview_context(attachment) if attachment is not None else None


def _preview_context(attachment: Attachment) -> dict[str, Any]:
    try:
        return {"attachment": attachment, "preview": preview(attachment), "error": ""}
    except PreviewError as error:
        return {"attachment": attachment, "preview": None, "error": str(error)}


def _common(
    request: HttpRequest, instance: ProcessInstance, graph: Graph, user: User
) -> dict[str, Any]:
    return {
        "instance": instance,
        "graph": graph,
        "diagram": diagram_svg(instance, graph),
        "history": timeline(instance, graph),
        "business_data": business_data(instance, graph, user),
        "attachments": attachments_of(instance),
        "incidents": incidents(instance, graph),
        "initiator_name": display_name(instance.initiator) if instance.initiator else "",
        "comment_form": CommentForm(),
        "attachment_form": AttachmentForm(),
        "preview_shown": _preview_of(request, instance),
        "is_admin": visibility.is_process_admin(user),
        "running": instance.state == InstanceState.ACTIVE,
    }


def _task_context(
    request: HttpRequest,
    task: Task,
    *,
    opened: str | None = None,
    bound: forms.Form | None = None,
    step_form: forms.Form | None = None,
) -> dict[str, Any]:
    user = signed_in(request)
    instance = task.instance
    graph = graph_for_definition(instance.definition_id)
    element: Element | None = graph.elements.get(task.element_id)
    actions = offered.task_actions(user, task)
    if (
        task.state == TaskState.COMPLETED
        and task.completed_by == user.username
        and offered.may_withdraw(user, instance)
    ):
        actions.add("withdraw")
    may_submit = bool(actions & {"approve", "reject", "resolve"})
    form = step_form
    if form is None and element is not None and has_step_form(element):
        variables = dict(instance.variables or {})
        if task.state == TaskState.COMPLETED:
            variables.update(task.data or {})
        form = form_for(element, variables=variables)
    if form is not None and not may_submit:
        for bound_field in form.fields.values():
            bound_field.disabled = True
    target = Target(user, instance, task, graph)
    table = TASK_ACTIONS
    if element is not None and element.kind is ElementKind.START_EVENT:
        # returned to the initiator: approving this step is submitting the request again
        table = {**TASK_ACTIONS, "approve": RESUBMIT}
    dialogs = _dialogs(
        target,
        actions,
        table,
        lambda name: reverse("workflow:task_action", args=[task.pk, name]),
        opened=opened,
        bound=bound,
    )
    names = display_names([task.assignee, task.on_behalf_of, task.owner])
    now = timezone.now()
    added_by = task.added_by if task.added_by_id else None
    return {
        **_common(request, instance, graph, user),
        "task": task,
        "element": element,
        "step_form": form,
        "may_submit": may_submit,
        "dialogs": dialogs,
        "primary": [d for d in dialogs if d.action.name in PRIMARY],
        "secondary": [d for d in dialogs if d.action.name not in PRIMARY],
        "assignee_name": names.get(task.assignee, ""),
        "on_behalf_name": names.get(task.on_behalf_of, ""),
        "owner_name": names.get(task.owner, ""),
        "delegated": task.delegation == Delegation.PENDING,
        "added_by_name": display_name(added_by.assignee) if added_by is not None else "",
        "overdue": bool(task.due_at and task.due_at < now and task.state == TaskState.OPEN),
        "urgent": task.priority > 50,
        "is_open": task.state == TaskState.OPEN,
        "form_url": reverse("workflow:task_action", args=[task.pk, "approve"]),
        "comment_url": reverse("workflow:task_action", args=[task.pk, "comment"]),
        "attach_url": reverse("workflow:task_action", args=[task.pk, "attach"]),
        "page_url": reverse("workflow:task", args=[task.pk]),
    }


def _instance_context(
    request: HttpRequest,
    instance: ProcessInstance,
    *,
    opened: str | None = None,
    bound: forms.Form | None = None,
) -> dict[str, Any]:
    user = signed_in(request)
    graph = graph_for_definition(instance.definition_id)
    target = Target(user, instance, None, graph)
    dialogs = _dialogs(
        target,
        offered.instance_actions(user, instance),
        INSTANCE_ACTIONS,
        lambda name: reverse("workflow:instance_action", args=[instance.pk, name]),
        opened=opened,
        bound=bound,
    )
    holders = timelines.current_steps([instance])[instance.pk]
    my_tasks = [
        h.task
        for h in holders
        if h.task is not None
        and h.task.state == TaskState.OPEN
        and (
            h.task.assignee == user.username
            or (not h.task.assignee and participants.is_candidate(user, h.task))
        )
    ]
    return {
        **_common(request, instance, graph, user),
        "holders": holders,
        "dialogs": dialogs,
        "primary": [],
        "secondary": dialogs,
        "my_tasks": my_tasks,
        "comment_url": reverse("workflow:instance_action", args=[instance.pk, "comment"]),
        "attach_url": reverse("workflow:instance_action", args=[instance.pk, "attach"]),
        "page_url": reverse("workflow:instance", args=[instance.pk]),
    }


# --- views -------------------------------------------------------------------------------------


def _visible_task(user: User, task_id: int) -> Task:
    task = visibility.task_for(user, task_id)
    if task is None:
        raise Http404
    return task


def _visible_instance(user: User, instance_id: int) -> ProcessInstance:
    return get_object_or_404(
        visibility.instances_for(user).select_related("definition"), pk=instance_id
    )


@login_required
@require_GET
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """A task of an instance the user may see (404 otherwise); ``?action=<name>`` opens that
    action's dialog (how the page works without JavaScript)."""
    task = _visible_task(signed_in(request), task_id)
    opened = request.GET.get("action") or None
    return render(request, "workflow/task.html", _task_context(request, task, opened=opened))


@login_required
@require_GET
def instance_page(request: HttpRequest, instance_id: int) -> HttpResponse:
    """An instance the user may see (404 otherwise). A person copied on it has read it now."""
    user = signed_in(request)
    instance = _visible_instance(user, instance_id)
    approvals.copy_mark_read(instance.pk, user=user)
    opened = request.GET.get("action") or None
    return render(
        request, "workflow/instance.html", _instance_context(request, instance, opened=opened)
    )


@login_required
@require_GET
def instance_diagram(request: HttpRequest, instance_id: int) -> HttpResponse:
    """The diagram partial, for the instance page's periodic refresh."""
    instance = _visible_instance(signed_in(request), instance_id)
    graph = graph_for_definition(instance.definition_id)
    return render(
        request,
        "workflow/partials/_diagram.html",
        {
            "instance": instance,
            "diagram": diagram_svg(instance, graph),
            "running": instance.state == InstanceState.ACTIVE,
        },
    )


def _errors_into(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _comment_or_attach(
    request: HttpRequest, instance: ProcessInstance, task: Task | None, action: str, back: str
) -> HttpResponse | tuple[str, forms.Form]:
    """Write a comment or attach a file; on bad input the (action, bound form) to show."""
    user = signed_in(request)
    task_id = task.pk if task is not None else None
    if action == "comment":
        form: forms.Form = CommentForm(request.POST)
        if form.is_valid():
            try:
                approvals.comment_add(
                    instance.pk, user=user, text=form.cleaned_data["text"], task_id=task_id
                )
            except ValidationError as error:
                _errors_into(form, error)
            else:
                messages.success(request, _("Your comment has been added."))
                return HttpResponseRedirect(back + "#history")
        return action, form
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            approvals.attachment_add(
                instance.pk, user=user, upload=form.cleaned_data["file"], task_id=task_id
            )
        except ValidationError as error:
            _errors_into(form, error)
        else:
            messages.success(request, _("The file has been attached."))
            return HttpResponseRedirect(back + "#attachments")
    return action, form


def _invalid(
    request: HttpRequest, template: str, context: dict[str, Any], action: str, form: forms.Form
) -> HttpResponse:
    """The page again with the errors (status 400); nothing has changed."""
    if action == "comment":
        context["comment_form"] = form
    elif action == "attach":
        context["attachment_form"] = form
    messages.error(request, _("Please correct the errors below; nothing has been changed."))
    return render(request, template, context, status=400)


def _refused(request: HttpRequest, error: Exception, back: str) -> HttpResponse:
    messages.error(request, str(error))
    return HttpResponseRedirect(back)


@login_required
@require_POST
def task_action(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    """One action on a task (the approvals service decides whether this person may take it
    now). Approve, reject and hand back carry the step form's fields; approve asks for
    confirmation first unless ``confirmed`` is sent (the dialog's button sends it)."""
    user = signed_in(request)
    task = _visible_task(user, task_id)
    back = reverse("workflow:task", args=[task.pk])
    if action in ("comment", "attach"):
        outcome = _comment_or_attach(request, task.instance, task, action, back)
        if isinstance(outcome, HttpResponse):
            return outcome
        return _invalid(request, "workflow/task.html", _task_context(request, task), *outcome)
    spec = TASK_ACTIONS.get(action)
    if spec is None:
        raise Http404
    graph = graph_for_definition(task.instance.definition_id)
    target = Target(user, task.instance, task, graph, step_data=request.POST)
    form = spec.form(target, request.POST, prefix=spec.name)
    step_form = None
    element = graph.elements.get(task.element_id)
    if spec.step and element is not None and has_step_form(element):
        step_form = form_for(element, variables=task.instance.variables, data=request.POST)
    if not form.is_valid() or (step_form is not None and not step_form.is_valid()):
        context = _task_context(request, task, opened=action, bound=form, step_form=step_form)
        messages.error(request, _("Please correct the errors below; nothing has been changed."))
        return render(request, "workflow/task.html", context, status=400)
    if spec.step and request.POST.get("confirmed") != "1":
        # sent without the dialog (no JavaScript): the valid form waits for confirmation
        context = _task_context(request, task, opened=action, bound=form, step_form=step_form)
        return render(request, "workflow/task.html", context)
    try:
        message = spec.run(target, form.cleaned_data)
    except ValidationError as error:
        _step_errors_into(error, form, step_form)
        context = _task_context(request, task, opened=action, bound=form, step_form=step_form)
        messages.error(request, _("Please correct the errors below; nothing has been changed."))
        return render(request, "workflow/task.html", context, status=400)
    except (AlreadyHandled, EngineError) as error:  # ActionRefused is an EngineError
        return _refused(request, error, back)
    messages.success(request, message)
    return HttpResponseRedirect(_inbox_url() if _left(spec, user, task) else back)


def _step_errors_into(error: ValidationError, form: forms.Form, step_form: Any) -> None:
    """A service's field errors onto the form that has the field (the step form's own, or
    the action's), the rest on top of the action's form."""
    if step_form is None or not hasattr(error, "error_dict"):
        _errors_into(form, error)
        return
    for name, errors in error.message_dict.items():
        target_form = step_form if name in step_form.fields else form
        target_form.add_error(name if name in target_form.fields else None, errors)


def _left(spec: Any, user: User, task: Task) -> bool:
    """Whether an action that may hand the task on left it out of the person's hands (back
    to the inbox, then: the task page would only say so)."""
    if not spec.leaves:
        return False
    still = visibility.task_for(user, task.pk)
    return still is None or still.state != TaskState.OPEN or still.assignee != user.username


@login_required
@require_POST
def instance_action(request: HttpRequest, instance_id: int, action: str) -> HttpResponse:
    """One action on an instance (withdraw, cancel, urge, copy, comment, attach, and the
    administrators' suspend/resume/terminate/move/reassign)."""
    user = signed_in(request)
    instance = _visible_instance(user, instance_id)
    back = reverse("workflow:instance", args=[instance.pk])
    if action in ("comment", "attach"):
        outcome = _comment_or_attach(request, instance, None, action, back)
        if isinstance(outcome, HttpResponse):
            return outcome
        return _invalid(
            request, "workflow/instance.html", _instance_context(request, instance), *outcome
        )
    spec = INSTANCE_ACTIONS.get(action)
    if spec is None:
        raise Http404
    graph = graph_for_definition(instance.definition_id)
    target = Target(user, instance, None, graph)
    form = spec.form(target, request.POST, prefix=spec.name)
    if form.is_valid():
        try:
            message = spec.run(target, form.cleaned_data)
        except ValidationError as error:
            _errors_into(form, error)
        except (AlreadyHandled, EngineError) as error:
            return _refused(request, error, back)
        else:
            messages.success(request, message)
            return HttpResponseRedirect(back)
    context = _instance_context(request, instance, opened=action, bound=form)
    messages.error(request, _("Please correct the errors below; nothing has been changed."))
    return render(request, "workflow/instance.html", context, status=400)


@login_required
@require_GET
def people(request: HttpRequest) -> HttpResponse:
    """The person picker: active people whose name, user name or employee number matches
    ``q`` (at most 20), as a partial the picker shows under its field."""
    query = request.GET.get("q", "").strip()[:50]
    found: list[User] = []
    if query:
        found = list(
            people_matching(query)
            .filter(is_active=True)
            .select_related("department")
            .order_by("username")[:PEOPLE_LIMIT]
        )
    return render(
        request,
        "workflow/partials/_people_results.html",
        {"people": found, "query": query, "field": request.GET.get("field", "")},
    )


def _visible_attachment(user: User, attachment_id: int) -> Attachment:
    return get_object_or_404(
        Attachment.objects.filter(instance__in=visibility.instances_for(user)).select_related(
            "instance"
        ),
        pk=attachment_id,
    )


def _file_response(attachment: Attachment, *, inline: bool) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except (OSError, ValueError) as error:
        raise Http404 from error
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    if not inline or attachment.content_type != "application/pdf":
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """The file, as a download (``Content-Disposition: attachment``)."""
    return _file_response(_visible_attachment(signed_in(request), attachment_id), inline=False)


@login_required
@require_GET
@xframe_options_sameorigin
def attachment_inline(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """Images and PDF for the browser to show itself (``inline``, framable by our own pages
    only); any other type is downloaded."""
    attachment = _visible_attachment(signed_in(request), attachment_id)
    return _file_response(attachment, inline=is_inline(attachment))


@login_required
@require_GET
def attachment_preview(request: HttpRequest, attachment_id: int) -> HttpResponse:
    """The preview partial (htmx); without htmx the instance page showing it."""
    attachment = _visible_attachment(signed_in(request), attachment_id)
    if not wants_partial(request):
        url = reverse("workflow:instance", args=[attachment.instance_id])
        return HttpResponseRedirect(f"{url}?preview={attachment.pk}#preview")
    return render(request, "workflow/partials/_task_preview.html", _preview_context(attachment))


urlpatterns: list[URLPattern | URLResolver] = [
    path("tasks/<int:task_id>/", task_page, name="task"),
    path("tasks/<int:task_id>/<slug:action>/", task_action, name="task_action"),
    path("instances/<int:instance_id>/", instance_page, name="instance"),
    path("instances/<int:instance_id>/diagram/", instance_diagram, name="instance_diagram"),
    path("instances/<int:instance_id>/<slug:action>/", instance_action, name="instance_action"),
    path("people/", people, name="people"),
    path("attachments/<int:attachment_id>/", attachment_download, name="attachment"),
    path("attachments/<int:attachment_id>/inline/", attachment_inline, name="attachment_inline"),
    path("attachments/<int:attachment_id>/preview/", attachment_preview, name="attachment_preview"),
]
