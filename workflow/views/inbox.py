"""The inbox (待办 / 已办 / 我发起的 / 抄送我的): tabs, counts, filters, bulk approve.

Reads go through ``workflow.selectors`` (``inbox_page``, ``inbox_counts``, ...), which start
from the signed-in person, so a row never shows what they may not see; writes go through
``workflow.approvals`` (claim, approve), one transaction per task.

The same view renders the full page, or for an htmx request a partial: the list (a filter
changed), the next rows (``Load more``), or the tab bar with its counts (polled).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from portal.context_processors import set_nav_badge
from portal.http import signed_in, wants_partial
from portal.keyset import BadCursor, Cursor
from portal.models import User
from workflow import links, translation
from workflow.engine.runtime import EngineError
from workflow.models import Delegation, InstanceState, Task, TaskState
from workflow.selectors import inbox as inbox_reads
from workflow.selectors import status as request_status
from workflow.selectors import timeline, visibility
from workflow.selectors.phrases import phrase_texts
from workflow.services import approvals
from workflow.views.inbox_rows import inbox_rows

PAGE_SIZE = 20
BULK_LIMIT = 100  # tasks one bulk approval may name (a page holds 20; "load more" adds up)
BULK_COMMENT_LIMIT = 4000  # the one opinion of a bulk approval (as any approval's comment)

TABS: list[tuple[str, Any]] = [
    ("todo", gettext_lazy("To do")),
    ("done", gettext_lazy("Done")),
    ("started", gettext_lazy("Started by me")),
    ("copied", gettext_lazy("CC'd to me")),
]
SORTS: list[tuple[str, Any]] = [
    ("new", gettext_lazy("Newest first")),
    ("old", gettext_lazy("Oldest first")),
    ("due", gettext_lazy("Due soonest")),
]
OUTCOMES: dict[str, Any] = {
    "approved": gettext_lazy("Approved"),
    "submitted": gettext_lazy("Submitted"),
    "completed": gettext_lazy("Completed"),
    "rejected": gettext_lazy("Rejected"),
    "returned": gettext_lazy("Returned"),
    "resolved": gettext_lazy("Handed back"),
    "auto-approved": gettext_lazy("Approved automatically"),
    "auto-rejected": gettext_lazy("Rejected automatically"),
}
# The query-string keys of the filters, carried from tab to tab.
FILTER_KEYS = ("process", "since", "until", "urgent", "overdue", "q", "sort", "read")


class InboxQueryForm(forms.Form):
    """The inbox's query string. A value that does not parse is dropped with a message
    (the list shows as if it had not been given)."""

    tab = forms.ChoiceField(choices=TABS, required=False)
    process = forms.CharField(required=False, max_length=255, label=gettext_lazy("Process"))
    since = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox_reads.validate_filter_date],
    )
    until = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox_reads.validate_filter_date],
    )
    urgent = forms.BooleanField(required=False, label=gettext_lazy("Urgent only"))
    overdue = forms.BooleanField(required=False, label=gettext_lazy("Overdue only"))
    q = forms.CharField(
        required=False,
        max_length=100,
        label=gettext_lazy("Search"),
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": gettext_lazy("Title, number, initiator or step"),
            }
        ),
    )
    sort = forms.ChoiceField(choices=SORTS, required=False, label=gettext_lazy("Sort"))
    read = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Read and unread")),
            ("unread", gettext_lazy("Unread")),
            ("read", gettext_lazy("Read")),
        ],
        required=False,
        label=gettext_lazy("Read"),
    )
    cursor = forms.CharField(required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


@dataclass
class Query:
    """The inbox request, parsed: the tab, its filter, the sort and where the page starts."""

    tab: str = "todo"
    filter: inbox_reads.InboxFilter = field(default_factory=inbox_reads.InboxFilter)
    sort: str = "new"
    after: Cursor | None = None
    values: dict[str, str] = field(default_factory=dict)  # the valid filters, as given
    problems: list[str] = field(default_factory=list)


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def parse_query(params: QueryDict) -> Query:
    """The inbox's query string (the page's, its export's): a value that does not parse is
    dropped, with a message in ``problems``."""
    form = InboxQueryForm(params)
    form.is_valid()
    query = Query()
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            query.problems.append(f"{label}: {error}" if label else str(error))
    given = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    query.tab = given.get("tab") or "todo"
    query.sort = given.get("sort") or "new"
    since, until = given.get("since"), given.get("until")
    read = given.get("read") or ""
    query.filter = inbox_reads.InboxFilter(
        process=given.get("process", "").strip(),
        created_after=_local_midnight(since) if since else None,
        created_before=_local_midnight(until + datetime.timedelta(days=1)) if until else None,
        urgent=True if given.get("urgent") else None,
        overdue=True if given.get("overdue") else None,
        q=given.get("q", "").strip(),
        unread={"unread": True, "read": False}.get(read),
    )
    if given.get("cursor"):
        try:
            query.after = Cursor.decode(given["cursor"])
            if query.after.at is None and (query.tab, query.sort) != ("todo", "due"):
                # only the to-do tab by due date has rows without a date (inbox_reads.inbox_page);
                # anywhere else such a position was not written by this page
                raise BadCursor(given["cursor"])
        except BadCursor:
            query.after = None
            query.problems.append(_("This link to the next page is broken; here is the first."))
    query.values = {
        key: str(params.get(key))
        for key in FILTER_KEYS
        if params.get(key) and key not in form.errors
    }
    return query


# --- rows -------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the inbox, with what the template shows."""

    kind: str  # task | claim | external | done | instance | copy
    obj: Any
    url: str = ""
    title: str = ""
    process: str = ""
    step: str = ""
    initiator: str = ""
    at: datetime.datetime | None = None
    due_at: datetime.datetime | None = None
    overdue: bool = False
    urgent: bool = False
    on_behalf_of: str = ""
    delegated_by: str = ""
    signer: str = ""
    approvable: bool = False
    outcome: str = ""  # 已办: what this person did, in words
    outcome_key: str = ""
    state: str = ""
    state_key: str = ""
    steps: list[timeline.Holder] = field(default_factory=list)
    unread: bool = False
    sent_by: str = ""
    external: bool = False


def _task_title(task: Task, process: str) -> str:
    instance = task.instance
    return instance.title or instance.business_key or f"{process} #{instance.pk}"


def _definitions(page: inbox_reads.InboxPage) -> tuple[set[str], set[int]]:
    """The process keys and the definition ids of the page's rows (other systems' tasks
    have none)."""
    keys: set[str] = set()
    ids: set[int] = set()
    for kind, obj in page.rows:
        if kind == "external":
            continue
        instance = obj if kind == "instance" else obj.instance
        keys.add(instance.definition_key if kind in ("instance", "copy") else obj.definition_key)
        ids.add(instance.definition_id)
    return keys, ids


def _rows(
    user: User,
    page: inbox_reads.InboxPage,
    names: Mapping[str, str] | None = None,
    definitions: Mapping[int, str] | None = None,
) -> list[Row]:
    """The page's rows with names looked up in a few queries for the whole page.
    ``names`` and ``definitions`` (``visibility.definition_names`` of the rows' instances),
    when read already with others for the request."""
    if names is None or definitions is None:
        names, definitions = visibility.definition_names(*_definitions(page))
    now = timezone.now()
    tasks = [obj for kind, obj in page.rows if kind in ("task", "claim", "done")]
    instances = [
        obj if kind == "instance" else obj.instance
        for kind, obj in page.rows
        if kind in ("instance", "copy")
    ]
    for kind, obj in page.rows:
        if kind == "copy" and hasattr(obj, "rejected_by_diagram"):
            # read with the copy (its instance's variables are left out): see statuses
            obj.instance.rejected_by_diagram = obj.rejected_by_diagram
    everyone = [t.instance for t in tasks] + instances
    people: set[str] = {t.instance.initiator for t in tasks}
    people |= {t.on_behalf_of for t in tasks} | {t.owner for t in tasks}
    people |= {i.initiator for i in instances}
    people |= {obj.sent_by for kind, obj in page.rows if kind == "copy"}
    people.discard("")
    named: dict[str, str] = dict.fromkeys(people, "")
    if instances:
        # the names of the rows' people are read with those of the steps' holders
        steps = timeline.current_steps(instances, named=named)
        live = [h.task for holders in steps.values() for h in holders if h.task is not None]
        status = request_status.statuses(instances, open_tasks=live)
    else:
        steps, status = {}, {}
        named = visibility.display_names(people)
    titles = translation.request_titles(everyone, people=named, definitions=definitions)
    mine = [obj for kind, obj in page.rows if kind == "task" and _may_bulk(user, obj)]
    needing = inbox_reads.tasks_needing_input(mine)
    rows: list[Row] = []
    for kind, obj in page.rows:
        if kind == "external":
            rows.append(
                Row(
                    kind,
                    obj,
                    url=obj.url,
                    title=obj.title,
                    process=obj.source,
                    step=obj.category,
                    at=obj.created_at,
                    due_at=obj.due_at,
                    overdue=bool(obj.due_at and obj.due_at < now),
                    external=True,
                )
            )
        elif kind in ("task", "claim", "done"):
            process = names.get(obj.definition_key, obj.definition_key)
            rows.append(
                Row(
                    kind,
                    obj,
                    url=links.task_url(obj.pk),
                    title=titles[obj.instance_id] or _task_title(obj, process),
                    process=process,
                    step=translation.step_name(obj.definition_key, obj.element_id, obj.name),
                    initiator=named.get(obj.instance.initiator, ""),
                    at=obj.done_at if kind == "done" else obj.created_at,
                    due_at=obj.due_at,
                    overdue=bool(obj.due_at and obj.state == TaskState.OPEN and obj.due_at < now),
                    urgent=inbox_reads.task_is_urgent(obj),
                    on_behalf_of=named.get(obj.on_behalf_of, ""),
                    delegated_by=named.get(obj.owner, "")
                    if obj.delegation == Delegation.PENDING
                    else "",
                    signer=obj.get_signer_display() if obj.signer else "",
                    approvable=kind == "task" and obj in mine and obj.pk not in needing,
                    outcome=str(OUTCOMES.get(obj.done_outcome, obj.done_outcome))
                    if kind == "done"
                    else "",
                    outcome_key=obj.done_outcome if kind == "done" else "",
                )
            )
        else:
            instance = obj if kind == "instance" else obj.instance
            process = names.get(instance.definition_key, instance.definition_key)
            rows.append(
                Row(
                    kind,
                    obj,
                    url=links.instance_url(instance.pk),
                    title=titles[instance.pk]
                    or instance.business_key
                    or f"{process} #{instance.pk}",
                    process=process,
                    initiator=named.get(instance.initiator, ""),
                    at=obj.started_at if kind == "instance" else obj.created_at,
                    state=status[instance.pk].label,
                    state_key=status[instance.pk].code,
                    urgent=instance.urgent,
                    steps=steps.get(instance.pk, []),
                    unread=kind == "copy" and obj.read_at is None,
                    sent_by=named.get(obj.sent_by, "") if kind == "copy" else "",
                )
            )
    return rows


def _may_bulk(user: User, task: Task) -> bool:
    """A task bulk approve may take if its form needs no input: assigned to ``user``
    (not a candidate task, not one with its delegate), open, of a running instance."""
    return (
        task.state == TaskState.OPEN
        and task.assignee == user.username
        and task.delegation != Delegation.PENDING
        and task.instance.state == InstanceState.ACTIVE
    )


# --- pages -------------------------------------------------------------------------------------


def _querystring(values: dict[str, str], **changes: str) -> str:
    merged = {**values, **changes}
    return urlencode({k: v for k, v in merged.items() if v})


def _context(
    request: HttpRequest,
    query: Query,
    process_keys: set[str] | None = None,
    claimable: inbox_reads.Claimable | None = None,
) -> dict[str, Any]:
    """The list's context; ``process_keys``: the processes of the filter's choices, whose
    names are read with the rows' (in ``process_names``); ``claimable``: what the person
    may claim, as read for this request."""
    user = signed_in(request)
    page = inbox_reads.inbox_page(
        user,
        query.tab,  # type: ignore[arg-type]
        query.filter,
        sort=query.sort,  # type: ignore[arg-type]
        after=query.after,
        size=PAGE_SIZE,
        claimable=claimable,
    )
    keys, ids = _definitions(page)
    names, definitions = visibility.definition_names(keys | (process_keys or set()), ids)
    rows = _rows(user, page, names, definitions)
    next_qs = ""
    if page.next is not None:
        next_qs = _querystring(query.values, tab=query.tab, cursor=page.next.encode())
    return {
        "tab": query.tab,
        "query": query,
        "rows": rows,
        "rows_html": inbox_rows(rows),
        "next_qs": next_qs,
        "filter_qs": _querystring(query.values),
        "current_qs": _querystring(query.values, tab=query.tab),
        "approvable": any(row.approvable for row in rows),
        "filtered": any(k in query.values for k in FILTER_KEYS if k != "sort"),
        "process_names": names,
    }


def _tabs_context(
    user: User,
    tab: str,
    filter_qs: str,
    *,
    page: bool = False,
    claimable: inbox_reads.Claimable | None = None,
) -> dict[str, Any]:
    """The tab bar's context; ``page`` (the full page): with the bell's ``unread_count``,
    read in the same query as the tabs' counts (the shell's context processor would read
    it again); ``claimable`` as read for this request."""
    counts = inbox_reads.inbox_counts(user, notifications=page, claimable=claimable)
    tabs = []
    for key, label in TABS:
        count = counts.get(key)
        tabs.append({"key": key, "label": label, "count": count, "unread": key == "copied"})
    context = {"tabs": tabs, "tab": tab, "filter_qs": filter_qs, "cap": inbox_reads.COUNT_CAP}
    if page:
        context["unread_count"] = counts["notifications"]
    return context


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """The inbox page; for htmx, the list (a filter changed) or the next rows (a cursor)."""
    query = parse_query(request.GET)
    for problem in query.problems:
        messages.error(request, problem)
    partial = wants_partial(request)
    user = signed_in(request)
    # what the person may claim is read once for the list, the tab counts and the process
    # filter; the filter's choices (full page only) come in the same query, their names
    # are read with the rows'
    process_keys: set[str] | None = None
    claimable: inbox_reads.Claimable | None = None
    if not partial:
        process_keys, claimable = inbox_reads.inbox_process_keys(user)
    elif query.tab == "todo":
        claimable = inbox_reads.claimable_read(user)
    context = _context(request, query, process_keys, claimable)
    if partial:
        if query.after is not None:
            return render(request, "workflow/partials/_inbox_rows.html", context)
        # the tab links carry the filters: they come along, swapped out of band
        context.update(_tabs_context(user, query.tab, context["filter_qs"], claimable=claimable))
        context["oob_tabs"] = True
        return render(request, "workflow/partials/_inbox_list.html", context)
    context.update(
        _tabs_context(user, query.tab, context["filter_qs"], page=True, claimable=claimable)
    )
    todo = next(tab["count"] for tab in context["tabs"] if tab["key"] == "todo")
    set_nav_badge(request, "inbox", badge_html(request, todo))
    form = InboxQueryForm(request.GET or None)
    form.fields["process"] = forms.ChoiceField(
        choices=[
            ("", _("All processes")),
            *inbox_reads.inbox_processes(user, keys=process_keys, names=context["process_names"]),
        ],
        required=False,
        label=_("Process"),
    )
    cast(forms.ChoiceField, form.fields["sort"]).choices = (
        SORTS if query.tab == "todo" else SORTS[:2]
    )
    context["form"] = form
    # the bulk approve dialog's opinion box: bulk approve is the to-do tab's (the tabs are
    # links: another tab is another page)
    context["phrases"] = phrase_texts(user) if query.tab == "todo" else []
    return render(request, "workflow/inbox.html", context)


@login_required
@require_GET
def inbox_counts(request: HttpRequest) -> HttpResponse:
    """The tab bar with its counts, polled by the page and after a bulk action."""
    query = parse_query(request.GET)
    context = _tabs_context(signed_in(request), query.tab, _querystring(query.values))
    return render(request, "workflow/partials/_inbox_tabs.html", context)


def badge_html(request: HttpRequest, todo: int) -> SafeString:
    """The to-do count on the navigation's inbox entry (``todo``, from
    ``inbox_reads.inbox_counts``): polled every 30 seconds, and in the page itself where
    its view read the count already (``set_nav_badge``)."""
    return render_to_string(
        "workflow/partials/_inbox_badge.html",
        {"count": todo, "cap": inbox_reads.COUNT_CAP},
        request=request,
    )


@login_required
@require_GET
def inbox_badge(request: HttpRequest) -> HttpResponse:
    """The inbox entry's count (:func:`badge_html`), polled; loaded by a page whose view did
    not read it."""
    return HttpResponse(badge_html(request, inbox_reads.inbox_counts(signed_in(request))["todo"]))


def _back(request: HttpRequest) -> str:
    """Where a POST returns: the inbox as it was (``back``, a query string)."""
    target = reverse("workflow:inbox")
    back = request.POST.get("back", "")
    candidate = f"{target}?{back}" if back else target
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return target


def _ids(values: Iterable[str]) -> list[int] | None:
    ids: list[int] = []
    for value in values:
        if not value.isdigit() or len(value) > 18:
            return None
        if int(value) not in ids:
            ids.append(int(value))
    return ids


def _error_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)


@dataclass
class BulkReport:
    approved: list[Task] = field(default_factory=list)
    failed: list[tuple[Task, str]] = field(default_factory=list)


def _bulk_approve(
    user: User, tasks: list[tuple[Task, dict[str, Any]]], comment: str = ""
) -> BulkReport:
    """Approve each task in its own transaction (``approvals.task_approve``), so one that
    fails (handled meanwhile, refused) leaves the others approved; the one shared opinion
    (审批意见) is each approval's comment."""
    report = BulkReport()
    for task, data in tasks:
        try:
            approvals.task_approve(task.pk, user=user, data=data, comment=comment)
        except (EngineError, ValidationError) as error:
            report.failed.append((task, _error_text(error)))
        else:
            report.approved.append(task)
    return report


def _bulk_candidates(
    user: User, ids: list[int]
) -> tuple[list[tuple[Task, dict[str, Any]]], list[str]]:
    """The tasks of ``ids`` that bulk approve may take, with the data each submits, and a
    problem per id it may not: unknown or someone else's (one message: no existence leaks),
    delegated, of a stopped process, or needing input."""
    found = {
        task.pk: task
        for task in Task.objects.filter(pk__in=ids, assignee=user.username, state=TaskState.OPEN)
        .select_related("instance")
        .defer("data")
    }
    ready: list[tuple[Task, dict[str, Any]]] = []
    problems: list[str] = []
    for task_id in ids:
        task = found.get(task_id)
        if task is None:
            problems.append(
                _("Task %(id)d is not in your to-do list (handled already, or not yours).")
                % {"id": task_id}
            )
            continue
        label = f"{_task_title(task, task.definition_key)} · {task.name or task.element_id}"
        if not _may_bulk(user, task):
            problems.append(
                _("%(task)s cannot be approved from the list; open it.") % {"task": label}
            )
            continue
        data = inbox_reads.step_defaults(task)
        if data is None:
            problems.append(
                _("%(task)s needs input on its form; open it to approve.") % {"task": label}
            )
            continue
        ready.append((task, data))
    return ready, problems


@login_required
@require_POST
def inbox_bulk_approve(request: HttpRequest) -> HttpResponse:
    """批量审批: approve the chosen to-do tasks whose form needs no input.

    Everything is checked before anything is approved: a bad id, a task that is not the
    person's own open task, or one whose form needs input refuses the whole request and
    changes nothing. Then each task is approved in its own transaction; the message says
    how many were approved and why any could not be. ``comment``: one opinion (审批意见)
    given to every approval. Without ``confirmed`` (no JavaScript: the page's dialog did not
    run) a confirmation page with the opinion box is shown first."""
    user = signed_in(request)
    ids = _ids(request.POST.getlist("task"))
    back = _back(request)
    if ids is None:
        messages.error(request, _("The selection is not valid; nothing was approved."))
        return _after_bulk(request, back)
    if not ids:
        messages.error(request, _("Select the tasks to approve first."))
        return _after_bulk(request, back)
    if len(ids) > BULK_LIMIT:
        messages.error(
            request,
            _("Approve at most %(limit)d tasks at once; nothing was approved.")
            % {"limit": BULK_LIMIT},
        )
        return _after_bulk(request, back)
    ready, problems = _bulk_candidates(user, ids)
    if problems:
        messages.error(request, " ".join([_("Nothing was approved."), *problems]))
        return _after_bulk(request, back)
    comment = request.POST.get("comment", "").strip()
    if len(comment) > BULK_COMMENT_LIMIT:
        messages.error(
            request,
            _("The opinion has at most %(limit)d characters; nothing was approved.")
            % {"limit": BULK_COMMENT_LIMIT},
        )
        return _after_bulk(request, back)
    if request.POST.get("confirmed") != "1":
        names = visibility.process_names(task.definition_key for task, _d in ready)
        rows = [
            (task, _task_title(task, names.get(task.definition_key, "")), task.name)
            for task, _d in ready
        ]
        return render(
            request,
            "workflow/partials/_inbox_confirm.html",
            {
                "rows": rows,
                "back": request.POST.get("back", ""),
                "back_url": back,
                "comment": comment,
                "phrases": phrase_texts(user),
            },
        )
    report = _bulk_approve(user, ready, comment)
    if report.approved:
        messages.success(
            request,
            ngettext("%(count)d task approved.", "%(count)d tasks approved.", len(report.approved))
            % {"count": len(report.approved)},
        )
    if report.failed:
        details = "; ".join(
            f"{_task_title(task, task.definition_key)} · {task.name or task.element_id}: {why}"
            for task, why in report.failed
        )
        messages.warning(
            request,
            ngettext(
                "%(count)d could not be approved: %(details)s",
                "%(count)d could not be approved: %(details)s",
                len(report.failed),
            )
            % {"count": len(report.failed), "details": details},
        )
    return _after_bulk(request, back)


def _after_bulk(request: HttpRequest, back: str) -> HttpResponse:
    """Without htmx: back to the inbox (its messages show there). With htmx: the list as it
    is now, with the messages, and an ``inbox-changed`` event that refreshes the counts."""
    if not wants_partial(request):
        return HttpResponseRedirect(back)
    query = parse_query(QueryDict(request.POST.get("back", "")))
    query.after = None
    context = _context(request, query)
    context.update(_tabs_context(signed_in(request), query.tab, context["filter_qs"]))
    context["show_messages"] = True
    context["oob_tabs"] = True
    response = render(request, "workflow/partials/_inbox_list.html", context)
    response["HX-Trigger"] = "inbox-changed"
    return response


@login_required
@require_POST
def inbox_claim(request: HttpRequest, task_id: int) -> HttpResponse:
    """签收: take a task offered to a group the person is in; it becomes theirs."""
    user = signed_in(request)
    if not inbox_reads.tasks_todo(user).filter(pk=task_id).exists():
        raise Http404
    try:
        approvals.task_claim(task_id, user=user)
    except EngineError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The task is yours now."))
    return HttpResponseRedirect(_back(request))


urlpatterns: list[URLPattern | URLResolver] = [
    path("inbox/", inbox, name="inbox"),
    path("inbox/counts/", inbox_counts, name="inbox_counts"),
    path("inbox/badge/", inbox_badge, name="inbox_badge"),
    path("inbox/bulk-approve/", inbox_bulk_approve, name="inbox_bulk_approve"),
    path("inbox/claim/<int:task_id>/", inbox_claim, name="inbox_claim"),
]
