"""The staff admin's sidebar (django-unfold's ``SIDEBAR.navigation``, settings.UNFOLD) and its
role-permission picker: what staff see, in the portal's words and order, never raw
"Can add access token" rows.

The sidebar is built from what is registered with the admin site, so an app that registers
a model (CRM, the ERP bridge ...) appears without a change here: the organization first, then
the portal, the workflow, the other apps, and sign-in and API access last. A person sees
only the entries they may view.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.db.models import Model
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin as UnfoldModelAdmin

# The sections of the sidebar, in order: (title, the apps in it). Apps not named here follow
# the workflow under their own names.
SECTIONS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    (_("Organization"), ("portal:organization",)),
    (_("Portal"), ("portal",)),
    (_("Workflow"), ("workflow",)),
    (_("Sign-in and API access"), ("oauth2_provider", "axes")),
)
# Which portal models belong to the organization section; the rest are the portal's.
ORGANIZATION = ("user", "department", "position", "role", "delegationrule", "coderule")
# Material Symbols icon (bundled with django-unfold) per model; "circle" otherwise.
ICONS = {
    "portal.user": "person",
    "portal.department": "account_tree",
    "portal.position": "badge",
    "portal.role": "groups",
    "portal.delegationrule": "swap_horiz",
    "portal.coderule": "pin",
    "portal.announcement": "campaign",
    "portal.notification": "notifications",
    "portal.calendarday": "calendar_month",
    "portal.leavebalance": "beach_access",
    "workflow.processdefinition": "schema",
    "workflow.processsettings": "tune",
    "workflow.processinstance": "description",
    "workflow.task": "task_alt",
    "workflow.job": "schedule",
    "workflow.incident": "report",
    "workflow.carboncopy": "forward_to_inbox",
    "workflow.externaltask": "link",
    "knowledge.space": "library_books",
    "knowledge.article": "article",
    "knowledge.tag": "sell",
    "knowledge.feedback": "thumb_up",
    "knowledge.auditevent": "history",
    "oauth2_provider.application": "apps",
    "oauth2_provider.accesstoken": "key",
    "oauth2_provider.refreshtoken": "autorenew",
    "oauth2_provider.grant": "approval",
    "oauth2_provider.idtoken": "fingerprint",
    "axes.accessattempt": "lock_clock",
    "axes.accesslog": "login",
    "axes.accessfailurelog": "gpp_bad",
}


def _section_of(model: type[Model]) -> str:
    label = model._meta.app_label
    if label == "portal" and model._meta.model_name in ORGANIZATION:
        return "portal:organization"
    return label


def _may_view(request: HttpRequest, model: type[Model], model_admin: admin.ModelAdmin[Any]) -> bool:
    return bool(
        model_admin.has_view_permission(request) or model_admin.has_change_permission(request)
    )


def sidebar(request: HttpRequest) -> list[dict[str, Any]]:
    """The sidebar's groups for this person: [{"title", "separator", "items": [...]}]."""
    found: dict[str, list[tuple[type[Model], admin.ModelAdmin[Any]]]] = defaultdict(list)
    for model, model_admin in admin.site._registry.items():
        if _may_view(request, model, model_admin):
            found[_section_of(model)].append((model, model_admin))
    named = [label for _title, labels in SECTIONS for label in labels]
    others = sorted(label for label in found if label not in named)
    sections = [*SECTIONS[:3], *((None, (label,)) for label in others), SECTIONS[3]]
    groups = []
    for title, labels in sections:
        items: list[dict[str, Any] | None] = []
        for label in labels:
            models = found.get(label, [])
            order = ORGANIZATION if label == "portal:organization" else ()
            models.sort(
                key=lambda pair: (
                    order.index(pair[0]._meta.model_name)
                    if pair[0]._meta.model_name in order
                    else 99,
                    str(pair[0]._meta.verbose_name_plural),
                )
            )
            items.extend(_item(model) for model, _model_admin in models)
        items = [item for item in items if item]
        if items:
            if title is None:  # an app of its own: its name
                title = found[labels[0]][0][0]._meta.app_config.verbose_name
            groups.append({"title": title, "separator": True, "items": items})
    return groups


def _rank(model: type[Model]) -> tuple[int, str]:
    name = model._meta.model_name or ""
    first = ORGANIZATION.index(name) if _section_of(model) == "portal:organization" else 99
    return first, str(model._meta.verbose_name_plural)


def in_sidebar_order(site: admin.AdminSite) -> None:
    """The admin's index lists the apps in the sidebar's order (the organization first,
    sign-in and API access last), not alphabetically by their internal labels."""
    alphabetical = site.get_app_list
    order = [label.split(":")[0] for _title, labels in SECTIONS for label in labels]
    last = {label for label in SECTIONS[-1][1]}

    def ordered(request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        apps = alphabetical(request, app_label)
        return sorted(
            apps,
            key=lambda app: (
                app["app_label"] in last,
                order.index(app["app_label"]) if app["app_label"] in order else len(order),
            ),
        )

    site.get_app_list = ordered  # type: ignore[method-assign]


def restyle(site: admin.AdminSite) -> None:
    """The admin pages of other packages' models (sign-in attempts, OAuth2 tokens) in the
    theme too: each registration re-made on django-unfold's ModelAdmin, behaviour kept."""
    for model, model_admin in list(site._registry.items()):
        if isinstance(model_admin, UnfoldModelAdmin):
            continue
        kind = type(model_admin)
        site.unregister(model)
        site.register(model, type(kind.__name__, (kind, UnfoldModelAdmin), {}))


def _item(model: type[Model]) -> dict[str, Any] | None:
    meta = model._meta
    try:
        link = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    except NoReverseMatch:
        return None
    return {
        "title": str(meta.verbose_name_plural).capitalize(),
        "icon": ICONS.get(f"{meta.app_label}.{meta.model_name}", "circle"),
        "link": link,
    }


# --- the role's permissions, grouped by area --------------------------------------------

# Django's four default actions, in the order a grid shows them.
ACTIONS = (("view", _("View")), ("add", _("Add")), ("change", _("Change")), ("delete", _("Delete")))


@dataclass(frozen=True)
class PermissionRow:
    """One kind of record and the permissions on it: the four default actions (a permission
    id or None) and any others by name."""

    name: str
    actions: tuple[tuple[str, int | None], ...]  # (the action's name, the permission's id)
    others: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class PermissionArea:
    title: str
    rows: tuple[PermissionRow, ...]


def _is_default(permission: Permission) -> bool:
    """One of Django's four permissions every model has (view_task, add_task ...)."""
    action = permission.codename.split("_", 1)[0]
    return (
        action in dict(ACTIONS)
        and permission.codename == f"{action}_{permission.content_type.model}"
    )


def permission_areas(permissions: Iterable[Permission]) -> list[PermissionArea]:
    """``permissions`` grouped as staff read them: by area (the sidebar's sections), then by
    kind of record (its name in the reader's language), with the default actions in columns
    and a model's own permissions by their translated names."""
    by_model: dict[tuple[str, str], dict[str, Any]] = {}
    for permission in permissions:
        content_type = permission.content_type
        model = content_type.model_class()
        key = (content_type.app_label, content_type.model)
        entry = by_model.setdefault(
            key,
            {
                "model": model,
                "name": str(model._meta.verbose_name_plural).capitalize()
                if model
                else content_type.model,
                "actions": {},
                "others": [],
            },
        )
        if _is_default(permission):
            entry["actions"][permission.codename.split("_", 1)[0]] = permission.pk
        else:
            entry["others"].append((permission.pk, gettext(permission.name)))
    areas: dict[str, list[PermissionRow]] = defaultdict(list)
    titles: dict[str, str] = {}
    for (app_label, _model_name), entry in by_model.items():
        model = entry["model"]
        section = _section_of(model) if model else app_label
        title = next((str(t) for t, labels in SECTIONS if section in labels), None)
        if title is None:
            title = str(model._meta.app_config.verbose_name) if model else app_label
        titles[section] = title
        areas[section].append(
            PermissionRow(
                entry["name"],
                tuple((str(label), entry["actions"].get(code)) for code, label in ACTIONS),
                tuple(sorted(entry["others"], key=lambda other: other[1])),
            )
        )
    order = [label for _title, labels in SECTIONS for label in labels]
    return [
        PermissionArea(titles[section], tuple(sorted(rows, key=lambda row: row.name)))
        for section, rows in sorted(
            areas.items(), key=lambda item: order.index(item[0]) if item[0] in order else 50
        )
    ]


class GroupedPermissionsWidget(forms.CheckboxSelectMultiple):
    """The role's permissions as one grid per area: a row per kind of record with
    view/add/change/delete columns, and the record's own permissions beside them."""

    # in portal/templates/: the form renderer reads widget templates from app folders only
    template_name = "portal/widgets/grouped_permissions.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        chosen = {str(v) for v in (value or [])}
        offered = [getattr(choice, "value", choice) for choice, _label in self.choices]
        permissions = Permission.objects.select_related("content_type").filter(pk__in=offered)
        # Only what staff work with: the records the admin shows, a model's own permissions,
        # and whatever the role holds already (so that saving never drops one unseen).
        shown = {(m._meta.app_label, m._meta.model_name) for m in admin.site._registry}
        context["areas"] = permission_areas(
            p
            for p in permissions
            if (p.content_type.app_label, p.content_type.model) in shown
            or not _is_default(p)
            or str(p.pk) in chosen
        )
        context["actions"] = [label for _code, label in ACTIONS]
        context["chosen"] = chosen
        context["field_name"] = name
        return context
