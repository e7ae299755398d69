"""The task page and the instance page (docs/workflow-pages.md): the page's context, each
action's POST (one view for the task's actions, one for the instance's: the action table in
``workflow.views.actions`` says which form and which service), the person picker, and
attachments (download, inline, preview).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from portal.http import file_response, signed_in, wants_partial
from portal.models import User
from portal.selectors import people_matching
from workflow import guides, participants, translation
from workflow.bpmn.model import Element, ElementKind
from workflow.engine.cache import graph_for_definition
from workflow.engine.graph import Graph
from workflow.engine.runtime import AlreadyHandled, EngineError
from workflow.forms import (
    PEOPLE,
    PERSON,
    AttachmentForm,
    CommentForm,
    PickerInput,
    form_for,
    has_step_form,
)
from workflow.models import (
    Attachment,
    CarbonCopy,
    Delegation,
    InstanceState,
    ProcessInstance,
    Task,
    TaskState,
)
from workflow.previews import PreviewError, is_inline, preview
from workflow.selectors import actions as offered
from workflow.selectors import people_reads, visibility
from workflow.selectors import timeline as timelines
from workflow.selectors.inbox import task_is_urgent
from workflow.selectors.instance_reads import InstanceReads
from workflow.selectors.phrases import phrase_texts
from workflow.selectors.status import status_of
from workflow.selectors.task_page import task_for_page
from workflow.selectors.timeline import (
    approval_timeline,
    attachments_of,
    business_data,
    diagram_svg,
    display_name,
    incidents,
    people_in_data,
    return_notice,
)
from workflow.selectors.visibility import display_names
from workflow.services import approvals, notifications
from workflow.views.actions import (
    INSTANCE_ACTIONS,
    INSTANCE_MENU,
    ORDER,
    PRIMARY,
    RESUBMIT,
    TASK_ACTIONS,
    Action,
    Target,
)

PEOPLE_LIMIT = 20
RUNNING_STATES = (InstanceState.ACTIVE, InstanceState.SUSPENDED)
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
    request: HttpRequest,
    instance: ProcessInstance,
    graph: Graph,
    user: User,
    *,
    reads: InstanceReads,
    definition_name: str | None = None,
    copies: list[CarbonCopy] | None = None,
    has_phrases: bool | None = None,
) -> dict[str, Any]:
    """What the task page and the instance page share. ``reads``: the page's reads of the
    instance (its tasks and history, read once for the page); ``definition_name``: the
    BPMN name of the instance's definition when read with the task (else
    ``instance.definition``); ``copies``: the people copied on it, when read already;
    ``has_phrases``: whether the person has saved phrases, when read already."""
    if definition_name is None:
        definition_name = instance.definition.name
    # the approval record first: it names the most people, and on a page that reads its
    # people once (workflow.selectors.people_reads) its read is the one for all of them
    approval = approval_timeline(instance, graph, reads=reads)
    initiator_name = display_name(instance.initiator) if instance.initiator else ""
    return {
        "instance": instance,
        "graph": graph,
        "diagram": diagram_svg(instance, graph, reads),
        "approval": approval,
        "returned": return_notice(instance, graph, reads),  # 退回: the banner with the reason
        "business_data": business_data(instance, graph, user),
        "attachments": attachments_of(instance),
        "copies": list(visibility.copies_of(instance)) if copies is None else copies,
        "incidents": incidents(instance, graph, reads),
        "initiator_name": initiator_name,
        "comment_form": CommentForm(),
        # 常用语 under every opinion box of the page
        "phrases": phrase_texts(user, has_own=has_phrases),
        "attachment_form": AttachmentForm(),
        "preview_shown": _preview_of(request, instance),
        "is_admin": visibility.is_process_admin(user),
        "running": instance.state == InstanceState.ACTIVE,
        # in the reader's words and language: 审批中 / 已通过 ..., the process's name, the title
        "status": status_of(instance, open_tasks=reads.open_tasks),
        "process_name": translation.process_name(instance.definition_key, definition_name),
        "request_title": translation.request_titles(
            [instance],
            people={instance.initiator: initiator_name},
            definitions={instance.definition_id: definition_name},
        )[instance.pk]
        or instance.definition_key,
    }


def _offered_to(task: Task) -> str:
    """Who may take a task nobody holds yet (no 认领: the first of them to act takes it)."""
    if task.assignee or task.state != TaskState.OPEN:
        return ""
    pairs = list(task.candidates.values_list("kind", "value"))
    labels = visibility.candidate_labels(pairs)
    return "、".join(labels[pair] for pair in pairs)


def _people_in(form: forms.Form | None) -> list[str]:
    """The user names the person fields of ``form`` show (its widget names them)."""
    if form is None:
        return []
    found: list[str] = []
    for name, field in form.fields.items():
        if isinstance(field.widget, PickerInput) and field.widget.kind in (PERSON, PEOPLE):
            value = form[name].value()
            values = value if isinstance(value, list | tuple) else [value]
            found += [str(v) for v in values if v not in (None, "")]
    return found


def _task_context(
    request: HttpRequest,
    task: Task,
    *,
    opened: str | None = None,
    bound: forms.Form | None = None,
    step_form: forms.Form | None = None,
    copies: list[CarbonCopy] | None = None,
) -> dict[str, Any]:
    user = signed_in(request)
    instance = task.instance
    graph = graph_for_definition(instance.definition_id)
    element: Element | None = graph.elements.get(task.element_id)
    # read once for the page, after any change this request made (a fresh one per page);
    # where it waits and whether it failed were read with the task on the task page
    reads = InstanceReads(
        instance,
        waiting_at=getattr(task, "waiting_at", None),
        has_incidents=getattr(task, "has_incidents", None),
    )
    actions = offered.task_actions(user, task, reads)
    if (
        task.state == TaskState.COMPLETED
        and task.completed_by == user.username
        and offered.may_withdraw(user, instance, reads)
    ):
        actions.add("withdraw")
    may_submit = bool(actions & {"approve", "reject", "resolve"})
    form = step_form
    if form is None and element is not None and has_step_form(element):
        variables = dict(instance.variables or {})
        if task.state == TaskState.COMPLETED:
            variables.update(task.data or {})
        form = form_for(element, variables=variables)
    if form is not None:
        translation.localize_form(form, instance.definition_key)
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
    added_by = task.added_by if task.added_by_id else None
    named = [
        task.assignee,
        task.on_behalf_of,
        task.owner,
        added_by.assignee if added_by is not None else "",
    ]
    people = people_reads.current()
    if people is not None:  # read with the approval record's people
        people.want([*named, *_people_in(form), *people_in_data(instance, graph)])
    common = _common(
        request,
        instance,
        graph,
        user,
        reads=reads,
        copies=copies,
        definition_name=getattr(task, "definition_name", None),
        has_phrases=getattr(task, "has_phrases", None),
    )
    names = display_names(named)
    now = timezone.now()
    return {
        **common,
        "task": task,
        "element": element,
        "step_form": form,
        "may_submit": may_submit,
        "dialogs": dialogs,
        "primary": [d for d in dialogs if d.action.name in PRIMARY],
        "secondary": [d for d in dialogs if d.action.name not in PRIMARY],
        "assignee_name": names.get(task.assignee, ""),
        "offered_to": _offered_to(task),
        "step_title": translation.step_name(task.definition_key, task.element_id, task.name),
        # "how to do this step": another app's guides (workflow.guides), what the person may read
        "guides": guides.guides_for(
            user,
            task.definition_key,
            task.element_id,
            skip=getattr(task, "no_guides_from", ()),  # read with the task on the task page
        ),
        "on_behalf_name": names.get(task.on_behalf_of, ""),
        "owner_name": names.get(task.owner, ""),
        "delegated": task.delegation == Delegation.PENDING,
        "added_by_name": names.get(added_by.assignee, added_by.assignee)
        if added_by is not None
        else "",
        "overdue": bool(task.due_at and task.due_at < now and task.state == TaskState.OPEN),
        "urgent": task_is_urgent(task),
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
    copies: list[CarbonCopy] | None = None,
) -> dict[str, Any]:
    user = signed_in(request)
    graph = graph_for_definition(instance.definition_id)
    target = Target(user, instance, None, graph)
    # read once for the page, after any change this request made (a fresh one per page)
    reads = InstanceReads(instance)
    dialogs = _dialogs(
        target,
        offered.instance_actions(user, instance, reads),
        INSTANCE_ACTIONS,
        lambda name: reverse("workflow:instance_action", args=[instance.pk, name]),
        opened=opened,
        bound=bound,
    )
    people = people_reads.current()
    if people is not None:  # where it stands and its approval record name them: one read
        tasks = reads.tasks
        people.want(
            [
                instance.initiator,
                *(name for t in tasks for name in (t.assignee, t.owner, t.on_behalf_of)),
                *(name for e in reads.history for name in (e.actor, e.on_behalf_of)),
                *people_in_data(instance, graph),
            ]
        )
    holders = timelines.current_steps([instance], reads=reads)[instance.pk]
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
        **_common(request, instance, graph, user, reads=reads, copies=copies),
        "holders": holders,
        "dialogs": dialogs,
        "primary": [d for d in dialogs if d.action.name not in INSTANCE_MENU],
        "secondary": [d for d in dialogs if d.action.name in INSTANCE_MENU],
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
    instance = visibility.instance_for(user, instance_id)
    if instance is None:
        raise Http404
    return instance


def _copies_read(user: User, instance: ProcessInstance) -> list[CarbonCopy]:
    """The people copied on ``instance`` with their read receipts, as a page lists them,
    ``user``'s own copy read now. Read first, so that the reader's copy is marked read only
    when they have one unread (usually they have none: a statement less)."""
    copies = list(visibility.copies_of(instance))
    unread = [c for c in copies if c.user_id == user.pk and c.read_at is None]
    if unread:
        approvals.copy_mark_read(instance.pk, user=user)
        now = timezone.now()
        for copy in unread:
            copy.read_at = now
    return copies


@login_required
@require_GET
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """A task of an instance the user may see (404 otherwise); ``?action=<name>`` opens that
    action's dialog (how the page works without JavaScript). A person copied on the
    instance has read it now, and whoever was notified of the task has read that."""
    user = signed_in(request)
    # with the task: the bell's count, whether a notice of it is unread, ... (task_for_page)
    task = task_for_page(user, task_id, notice_subject=notifications.task_subject(task_id))
    if task is None:
        raise Http404
    copies = _copies_read(user, task.instance)
    unread_count: int = task.unread_notices  # type: ignore[attr-defined]
    if task.unread_here:  # type: ignore[attr-defined]
        unread_count -= notifications.task_notices_read(task.pk, user=user)
    opened = request.GET.get("action") or None
    with people_reads.reading_people():  # the people the page names, read once
        context = _task_context(request, task, opened=opened, copies=copies)
        context["unread_count"] = max(unread_count, 0)  # the bell, without counting again
        return render(request, "workflow/task.html", context)


@login_required
@require_GET
def instance_page(request: HttpRequest, instance_id: int) -> HttpResponse:
    """An instance the user may see (404 otherwise). A person copied on it has read it now."""
    user = signed_in(request)
    instance = _visible_instance(user, instance_id)
    copies = _copies_read(user, instance)
    opened = request.GET.get("action") or None
    with people_reads.reading_people():  # the people the page names, read once
        context = _instance_context(request, instance, opened=opened, copies=copies)
        return render(request, "workflow/instance.html", context)


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
    return file_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type, inline=inline
    )


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
