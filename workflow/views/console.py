"""The monitoring console for process administrators: instances, bulk actions, incidents,
statistics, the job queue.

Only process administrators (``visibility.is_process_admin``: the permission
``workflow.manage_processes``, superusers) may use it: anyone else signed in gets a 403, an
anonymous visitor the login page. Views are thin: reads come from ``workflow.statistics``,
every change goes through ``workflow.approvals`` / ``workflow.services``, one instance (or
incident) per transaction, so one refusal does not undo the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.charts import count_chart, duration_chart, human_duration
from portal.forms import ReadAtOnceChoiceField
from portal.http import only_for, refusal_text, safe_next, signed_in, wants_partial
from portal.keyset import Cursor, Source, keyset_page
from portal.models import Department, User
from workflow import links, translation
from workflow.bpmn.render import RenderError, render_svg
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import EngineError
from workflow.models import Incident, InstanceState, ProcessDefinition, ProcessInstance
from workflow.selectors import inbox, statistics, timeline, visibility
from workflow.selectors import status as request_status
from workflow.services import administration
from workflow.views.console_rows import console_rows

PAGE_SIZE = 25
MAX_SELECTION = 500  # ids in one bulk action
MAX_RANGE_DAYS = 366


def _choices(form: forms.Form, name: str, choices: Sequence[tuple[Any, Any]]) -> None:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)  # noqa: S101  # typed for mypy
    field.choices = list(choices)


admin_required = only_for(visibility.is_process_admin)


# --- instances ---------------------------------------------------------------------------------


class InstanceFilterForm(forms.Form):
    key = forms.ChoiceField(label=gettext_lazy("Process"), required=False)
    version = forms.IntegerField(label=gettext_lazy("Version"), required=False, min_value=1)
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("any")), *InstanceState.choices],
    )
    started_after = forms.DateField(
        label=gettext_lazy("Started on or after"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox.validate_filter_date],
    )
    started_before = forms.DateField(
        label=gettext_lazy("Started on or before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox.validate_filter_date],
    )
    older_than_days = forms.IntegerField(
        label=gettext_lazy("Older than (days)"), required=False, min_value=0, max_value=36500
    )
    initiator = forms.CharField(label=gettext_lazy("Initiator"), required=False, max_length=150)
    department: forms.ModelChoiceField[Department] = ReadAtOnceChoiceField(
        label=gettext_lazy("Department"),
        required=False,
        queryset=Department.objects.order_by("path"),
        empty_label=gettext_lazy("any"),
    )
    q = forms.CharField(label=gettext_lazy("Business key or title"), required=False, max_length=255)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "key", [("", _("any")), *statistics.process_choices()])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        after, before = data.get("started_after"), data.get("started_before")
        if after and before and after > before:
            self.add_error("started_before", _("The end of the range is before its start."))
        return data

    def filters(self) -> statistics.InstanceFilter:
        """The valid fields as filters (a field in error filters nothing)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return statistics.InstanceFilter(
            key=data.get("key") or "",
            version=data.get("version"),
            state=data.get("state") or "",
            started_after=data.get("started_after"),
            started_before=data.get("started_before"),
            older_than_days=data.get("older_than_days"),
            initiator=data.get("initiator") or "",
            department=data.get("department"),
            search=data.get("q") or "",
        )


def _query_without(query: QueryDict, *names: str) -> str:
    copy = query.copy()
    for name in names:
        copy.pop(name, None)
    return copy.urlencode()


@admin_required
@require_GET
def instances(request: HttpRequest) -> HttpResponse:
    """The instance list: filters, keyset pages ("Load more"), and the bulk-action bar."""
    form = InstanceFilterForm(request.GET)
    form.is_valid()
    cursor = Cursor.decode_or_none(request.GET.get("after", ""))
    page = keyset_page(
        [Source(statistics.console_instances(form.filters()), "started_at")],
        after=cursor,
        size=PAGE_SIZE,
    )
    rows, next_cursor = page.objects, page.next
    # the initiators' names are read with those of the steps' holders, the statuses from
    # the open tasks read there, the titles from both (as the inbox does)
    names: dict[str, str] = dict.fromkeys({r.initiator for r in rows if r.initiator}, "")
    steps = timeline.current_steps(rows, named=names)
    live = [h.task for holders in steps.values() for h in holders if h.task is not None]
    now = timezone.now()
    status = request_status.statuses(rows, open_tasks=live)
    titles = translation.request_titles(
        rows, people=names, definitions={r.definition_id: r.definition.name for r in rows}
    )
    items = [
        {
            "instance": row,
            "status": status[row.pk],
            "title": titles[row.pk],
            "process": translation.process_name(row.definition_key, row.definition.name),
            "url": links.instance_url(row.pk),
            "steps": steps.get(row.pk, []),
            "initiator": names.get(row.initiator, row.initiator),
            "age": human_duration(((row.ended_at or now) - row.started_at).total_seconds()),
        }
        for row in rows
    ]
    base_query = _query_without(request.GET, "after")
    next_url = ""
    if next_cursor is not None:
        next_url = "?" + "&".join(p for p in (base_query, f"after={next_cursor.encode()}") if p)
    context = {
        "form": form,
        "items": items,
        "rows_html": console_rows(items, back=request.get_full_path()),
        "next_url": next_url,
        "page_query": request.GET.urlencode(),
        "actions": ACTION_LABELS,
        "tab": "instances",
    }
    if wants_partial(request) and cursor is not None:
        return render(request, "workflow/partials/_console_rows.html", context)
    return render(request, "workflow/console.html", context)


# --- admin actions -------------------------------------------------------------------------------

ACTION_LABELS = {
    "suspend": gettext_lazy("Suspend"),
    "resume": gettext_lazy("Resume"),
    "terminate": gettext_lazy("Terminate"),
    "move": gettext_lazy("Move"),
    "reassign": gettext_lazy("Reassign"),
    "migrate": gettext_lazy("Migrate"),
}
ACTION_HELP = {
    "suspend": gettext_lazy("Nobody can act on a suspended process; its timers wait."),
    "resume": gettext_lazy("The process runs again; timers that fell due meanwhile fire."),
    "terminate": gettext_lazy("The process ends for good. This cannot be undone."),
    "move": gettext_lazy("The active steps are replaced by the step you choose."),
    "reassign": gettext_lazy("The chosen open tasks are given to another person."),
    "migrate": gettext_lazy(
        "The processes continue on another version; those whose current steps do not "
        "exist there stay where they are."
    ),
}


class ActionForm(forms.Form):
    """What an administrator confirms for the selected instances; the choices of the fields
    depend on the selection (its versions' steps, its process's versions, its open tasks)."""

    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    target = forms.ChoiceField(label=gettext_lazy("Move to the step"), required=False)
    to = forms.CharField(label=gettext_lazy("Give to (user name)"), required=False, max_length=150)
    tasks = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Tasks"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
    )
    definition = forms.TypedChoiceField(
        label=gettext_lazy("Migrate to the version"), required=False, coerce=int
    )

    FIELDS = {
        "suspend": ("reason",),
        "resume": ("reason",),
        "terminate": ("reason",),
        "move": ("target", "reason"),
        "reassign": ("tasks", "to", "reason"),
        "migrate": ("definition",),
    }

    def __init__(
        self, action: str, selected: Sequence[ProcessInstance], *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.action = action
        self.selected = list(selected)
        for name in list(self.fields):
            if name not in self.FIELDS[action]:
                del self.fields[name]
        self.order_fields(self.FIELDS[action])
        if action in ("terminate", "move"):
            self.fields["reason"].required = True
        if action == "move":
            self.fields["target"].required = True
            _choices(self, "target", [("", "—"), *self._common_steps()])
        if action == "reassign":
            self.fields["to"].required = True
            self.fields["tasks"].required = True
            open_tasks = statistics.open_tasks_of([i.pk for i in self.selected])
            holders = visibility.display_names({t.assignee for t in open_tasks if t.assignee})
            _choices(
                self,
                "tasks",
                [
                    (
                        t.pk,
                        f"#{t.instance_id} · {t.name or t.element_id} · "
                        + (holders.get(t.assignee, t.assignee) if t.assignee else _("unclaimed")),
                    )
                    for t in open_tasks
                ],
            )
            self.fields["tasks"].initial = [t.pk for t in open_tasks]
        if action == "migrate":
            self.fields["definition"].required = True
            keys = {i.definition_key for i in self.selected}
            versions = statistics.definition_versions(keys.pop()) if len(keys) == 1 else []
            _choices(
                self,
                "definition",
                [
                    ("", "—"),
                    *((d.pk, f"v{d.version} · {d.deployed_at:%Y-%m-%d}") for d in versions),
                ],
            )

    def _common_steps(self) -> list[tuple[str, str]]:
        """The steps every selected instance's version has (where all of them may go)."""
        definitions = sorted({i.definition_id for i in self.selected})
        if not definitions:
            return []
        steps = statistics.main_flow_nodes(definitions[0])
        for other in definitions[1:]:
            ids = {element_id for element_id, _label in statistics.main_flow_nodes(other)}
            steps = [s for s in steps if s[0] in ids]
        return steps

    def clean_to(self) -> str:
        name = (self.cleaned_data.get("to") or "").strip()
        if name and not User.objects.filter(username=name, is_active=True).exists():
            raise ValidationError(_("No active user is called %(name)s.") % {"name": name})
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.action == "migrate" and len({i.definition_key for i in self.selected}) > 1:
            raise ValidationError(_("Choose instances of one process to migrate them."))
        return data


def _selected_ids(values: Sequence[str]) -> tuple[list[int], str]:
    """The instance (or incident) ids of a selection, and an error for bad input."""
    ids: list[int] = []
    for value in values:
        if not value.strip().isdigit():
            return [], _("The selection is not valid.")
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        return [], _("Select at least one row first.")
    if len(ids) > MAX_SELECTION:
        return [], _("Select at most %(n)d rows at once.") % {"n": MAX_SELECTION}
    return ids, ""


@admin_required
@require_http_methods(["GET", "POST"])
def actions(request: HttpRequest) -> HttpResponse:
    """Confirm (GET) and take (POST) an administrator's action on the selected instances.
    Bad input (unknown ids, a step the versions lack, no reason …) changes nothing; each
    instance is handled in its own transaction and refusals are reported one by one."""
    data = request.POST if request.method == "POST" else request.GET
    back = safe_next(
        request, request.POST.get("next") or request.GET.get("next"), reverse("workflow:console")
    )
    ids, error = _selected_ids(data.getlist("ids"))
    selected: list[ProcessInstance] = []
    if not error:
        by_pk = ProcessInstance.objects.select_related("definition").in_bulk(ids)
        unknown = [str(pk) for pk in ids if pk not in by_pk]
        if unknown:
            error = _("Unknown process instances: %(ids)s.") % {"ids": ", ".join(unknown)}
        selected = [by_pk[pk] for pk in ids if pk in by_pk]
        words = request_status.statuses(selected)
        for instance in selected:  # the list reads its status in words
            instance.status = words[instance.pk]  # type: ignore[attr-defined]
    action = data.get("action", "")
    if not error and action and action not in ACTION_LABELS:
        error = _("Unknown action.")
    if error:
        messages.error(request, error)
        if request.method == "POST":
            return HttpResponseRedirect(back, status=303)
        return HttpResponseRedirect(back)
    if not action:  # a single row's "Actions": choose one
        return render(
            request,
            "workflow/console_actions.html",
            {"selected": selected, "ids": ids, "back": back, "actions": ACTION_LABELS, "tab": ""},
        )
    form = ActionForm(action, selected, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        _take(request, action, selected, form.cleaned_data)
        return HttpResponseRedirect(back, status=303)
    context = {
        "form": form,
        "action": action,
        "action_label": ACTION_LABELS[action],
        "action_help": ACTION_HELP[action],
        "selected": selected,
        "ids": ids,
        "back": back,
        "tab": "",
        "destructive": action in ("terminate", "move", "migrate"),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "workflow/console_actions.html", context, status=status)


def _each(pks: Sequence[int], act: Callable[[int], object]) -> tuple[list[int], dict[int, str]]:
    """Run ``act`` for every id, each in its own transaction (the services open it); the ids
    done and the refusals with their reason."""
    done: list[int] = []
    refused: dict[int, str] = {}
    for pk in pks:
        try:
            act(pk)
        except (EngineError, ValidationError) as error:
            refused[pk] = refusal_text(error)
        else:
            done.append(pk)
    return done, refused


def _take(
    request: HttpRequest, action: str, selected: Sequence[ProcessInstance], data: dict[str, Any]
) -> None:
    by = signed_in(request)
    pks = [i.pk for i in selected]
    reason = data.get("reason") or ""
    if action == "suspend":
        done, refused = _each(
            pks, lambda pk: administration.instance_suspend(pk, by=by, reason=reason)
        )
    elif action == "resume":
        done, refused = _each(
            pks, lambda pk: administration.instance_resume(pk, by=by, reason=reason)
        )
    elif action == "terminate":
        done, refused = _each(
            pks, lambda pk: administration.instance_terminate(pk, by=by, reason=reason)
        )
    elif action == "move":
        target = data["target"]
        done, refused = _each(
            pks, lambda pk: administration.instance_move(pk, by=by, target=target, reason=reason)
        )
    elif action == "reassign":
        to = data["to"]
        done, refused = _each(
            data["tasks"], lambda pk: administration.task_reassign(pk, by=by, to=to, reason=reason)
        )
        _report(request, done, refused, task=True)
        return
    else:
        try:
            report = administration.instances_migrate(
                pks, by=by, to_definition_id=data["definition"]
            )
        except (EngineError, ValidationError) as error:
            messages.error(request, refusal_text(error))
            return
        done, refused = report.migrated, report.refused
    _report(request, done, refused)


def _report(
    request: HttpRequest, done: Sequence[int], refused: dict[int, str], *, task: bool = False
) -> None:
    """ "n done, m refused: <reason>" as messages."""
    if done:
        if task:
            text = ngettext("%(n)d task done.", "%(n)d tasks done.", len(done))
        else:
            text = ngettext("%(n)d process done.", "%(n)d processes done.", len(done))
        messages.success(request, text % {"n": len(done)})
    if refused:
        reasons = "; ".join(f"#{pk}: {reason}" for pk, reason in refused.items())
        text = ngettext("%(n)d refused: %(reasons)s", "%(n)d refused: %(reasons)s", len(refused))
        messages.warning(request, text % {"n": len(refused), "reasons": reasons})


# --- incidents -------------------------------------------------------------------------------


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("open", gettext_lazy("open")), ("resolved", gettext_lazy("resolved"))],
    )
    key = forms.ChoiceField(label=gettext_lazy("Process"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "key", [("", _("any")), *statistics.process_choices()])


@admin_required
@require_GET
def incidents(request: HttpRequest) -> HttpResponse:
    """Open (or resolved) incidents with their step, error and retries; keyset pages."""
    form = IncidentFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    resolved = data.get("status") == "resolved"
    cursor = Cursor.decode_or_none(request.GET.get("after", ""))
    page = keyset_page(
        [Source(statistics.console_incidents(resolved=resolved, key=data.get("key") or ""))],
        after=cursor,
        size=PAGE_SIZE,
    )
    rows, next_cursor = page.objects, page.next
    jobs = statistics.incident_jobs(rows)
    items = []
    for incident in rows:
        instance = incident.instance
        lines = incident.message.strip().splitlines() or [""]
        items.append(
            {
                "incident": incident,
                "instance": instance,
                "url": links.instance_url(instance.pk) if instance else "",
                "step": statistics.element_name(
                    instance.definition_id if instance else None, incident.element_id
                ),
                "summary": "\n".join(lines[:2]),
                "more": len(lines) > 2 or len(incident.message) > 300,
                "job": jobs.get(incident.job_id or 0),
            }
        )
    base_query = _query_without(request.GET, "after")
    next_url = ""
    if next_cursor is not None:
        next_url = "?" + "&".join(p for p in (base_query, f"after={next_cursor.encode()}") if p)
    context = {
        "form": form,
        "items": items,
        "resolved": resolved,
        "next_url": next_url,
        "page_query": request.GET.urlencode(),
        "tab": "incidents",
    }
    if wants_partial(request) and cursor is not None:
        return render(request, "workflow/partials/_console_incident_rows.html", context)
    return render(request, "workflow/console_incidents.html", context)


@admin_required
@require_POST
def incident_retry(request: HttpRequest) -> HttpResponse:
    """Retry the failed jobs of the selected incidents now, one by one, and say for each
    whether it worked ("Retry failed: <reason>" when the job failed again); unknown ids
    change nothing, an incident resolved meanwhile is reported."""
    back = safe_next(
        request,
        request.POST.get("next") or request.GET.get("next"),
        reverse("workflow:console_incidents"),
    )
    # a row's own Retry button names its incident alone, whatever else is ticked
    chosen = request.POST.getlist("only") or request.POST.getlist("ids")
    ids, error = _selected_ids(chosen)
    if not error:
        known = set(Incident.objects.filter(pk__in=ids).values_list("pk", flat=True))
        unknown = [str(pk) for pk in ids if pk not in known]
        if unknown:
            error = _("Unknown incidents: %(ids)s.") % {"ids": ", ".join(unknown)}
    if error:
        messages.error(request, error)
        return HttpResponseRedirect(back, status=303)
    by = signed_in(request)
    outcomes: dict[int, administration.RetryOutcome] = {}

    def retry(pk: int) -> None:
        outcomes[pk] = administration.incident_retry(pk, by=by)

    done, refused = _each(ids, retry)
    succeeded = [pk for pk in done if outcomes[pk].succeeded]
    if succeeded:
        text = ngettext(
            "%(n)d incident retried successfully: the process went on.",
            "%(n)d incidents retried successfully: the processes went on.",
            len(succeeded),
        )
        messages.success(request, text % {"n": len(succeeded)})
    for pk in (pk for pk in done if not outcomes[pk].succeeded):
        reason = (outcomes[pk].error.splitlines() or [""])[0][:300]
        text = _("Retry failed: %(reason)s") % {"reason": reason}
        messages.error(request, text if len(ids) == 1 else f"#{pk}: {text}")
    if refused:
        reasons = "; ".join(f"#{pk}: {reason}" for pk, reason in refused.items())
        text = ngettext("%(n)d refused: %(reasons)s", "%(n)d refused: %(reasons)s", len(refused))
        messages.warning(request, text % {"n": len(refused), "reasons": reasons})
    return HttpResponseRedirect(back, status=303)


# --- the job queue ---------------------------------------------------------------------------


@admin_required
@require_GET
def jobs(request: HttpRequest) -> HttpResponse:
    """The job queue's health; htmx refreshes the partial every 15 seconds."""
    health = statistics.job_health()
    age = health.oldest_due_age
    context = {
        "health": health,
        "oldest": human_duration(age.total_seconds()) if age is not None else "",
        "tab": "jobs",
    }
    if wants_partial(request):
        return render(request, "workflow/partials/_console_jobs.html", context)
    return render(request, "workflow/console_jobs.html", context)


# --- statistics ------------------------------------------------------------------------------


class StatisticsForm(forms.Form):
    start = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox.validate_filter_date],
    )
    end = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[inbox.validate_filter_date],
    )
    key = forms.ChoiceField(label=gettext_lazy("Process"), required=False)
    version = forms.TypedChoiceField(label=gettext_lazy("Version"), required=False, coerce=int)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        processes = statistics.process_choices()
        _choices(self, "key", processes)
        key = self.data.get("key") or next(iter(dict(processes)), "")
        _choices(
            self,
            "version",
            [
                ("", _("latest")),
                *((d.pk, f"v{d.version}") for d in statistics.definition_versions(key)),
            ],
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        default = statistics.DateRange.last_days(30)
        start = data.get("start") or default.first
        end = data.get("end") or default.last
        if start > end:
            raise ValidationError(_("The end of the range is before its start."))
        if (end - start).days >= MAX_RANGE_DAYS:
            raise ValidationError(
                _("Choose a range of at most %(n)d days.") % {"n": MAX_RANGE_DAYS}
            )
        data["period"] = statistics.DateRange(start, end)
        return data


@admin_required
@require_GET
def statistics_page(request: HttpRequest) -> HttpResponse:
    """Started/completed per day, durations per process and per step, overdue tasks by
    department, and the heatmap of where one version's instances wait longest."""
    default = statistics.DateRange.last_days(30)
    data = request.GET.copy()
    for name, value in (("start", default.first), ("end", default.last)):
        if not data.get(name):
            data[name] = value.isoformat()
    form = StatisticsForm(data)
    if form.is_valid():
        period = form.cleaned_data["period"]
        key = form.cleaned_data.get("key") or ""
        version = form.cleaned_data.get("version")
    else:
        period, key, version = default, "", None
    key = key or next(iter(dict(statistics.process_choices())), "")
    per_day = statistics.instances_per_day(period)
    by_process = statistics.duration_by_process(period)
    by_step = statistics.duration_by_step(key, period) if key else []
    overdue = statistics.overdue_by_department()
    average, p90 = _("average"), _("p90")
    definition_id = version or (statistics.latest_definition_id(key) if key else None)
    if (
        definition_id is not None
        and not ProcessDefinition.objects.filter(pk=definition_id, key=key).exists()
    ):
        definition_id = statistics.latest_definition_id(key)
    diagram = ""
    heat_rows: list[dict[str, Any]] = []
    if definition_id is not None:
        heat = statistics.wait_heat(definition_id, period)
        graph = graph_for_definition(definition_id)
        try:
            diagram = render_svg(
                graph.definitions,
                highlight=heat.highlight(human_duration),
                title=_("Where instances wait longest"),
            )
        except RenderError:
            diagram = ""
        heat_rows = sorted(
            (
                {
                    "step": statistics.element_name(definition_id, element),
                    "average": human_duration(seconds),
                    "count": heat.count[element],
                    "heat": round(heat.heat[element] * 100),
                }
                for element, seconds in heat.average.items()
            ),
            key=lambda r: -int(r["heat"]),
        )
    context = {
        "form": form,
        "period": period,
        "per_day": per_day,
        "per_day_chart": count_chart(
            _("Instances started and completed per day"),
            [date_format(d.day, "m-d") for d in per_day],
            [
                (_("started"), [d.started for d in per_day]),
                (_("completed"), [d.completed for d in per_day]),
            ],
        ),
        "by_process": _duration_rows(by_process),
        "by_process_chart": duration_chart(
            _("Duration per process"),
            [(s.label, (s.average, s.p90)) for s in by_process],
            [average, p90],
        ),
        "key": key,
        "key_label": dict(statistics.process_choices()).get(key, key),
        "by_step": _duration_rows(by_step),
        "by_step_chart": duration_chart(
            _("Duration per step"),
            [(s.label, (s.average, s.p90)) for s in by_step],
            [average, p90],
        ),
        "overdue": overdue,
        "overdue_chart": count_chart(
            _("Overdue open tasks by department"),
            [d.label for d in overdue],
            [(_("overdue tasks"), [d.count for d in overdue])],
            kind="hbar",
        ),
        "diagram": diagram,
        "heat_rows": heat_rows,
        "tab": "statistics",
    }
    return render(request, "workflow/console_statistics.html", context)


def _duration_rows(rows: Sequence[statistics.DurationStats]) -> list[dict[str, Any]]:
    return [
        {
            "label": s.label,
            "group": s.group,
            "count": s.count,
            "average": human_duration(s.average),
            "p90": human_duration(s.p90),
        }
        for s in rows
    ]


urlpatterns: list[URLPattern | URLResolver] = [
    path("console/", instances, name="console"),
    path("console/actions/", actions, name="console_actions"),
    path("console/incidents/", incidents, name="console_incidents"),
    path("console/incidents/retry/", incident_retry, name="console_incident_retry"),
    path("console/jobs/", jobs, name="console_jobs"),
    path("console/statistics/", statistics_page, name="console_statistics"),
]
