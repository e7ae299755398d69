"""Process settings (``ProcessSettings``): who may start a process, what a rejection and a
resubmission do, time-outs, due times, the copy at the end, its category and icon.

Process administrators (``workflow.manage_processes``) change them on the process's page
in the console and through the API; Django admin edits the same rows. All three validate
with the model's own ``clean()``, so a setting the engine cannot read is never stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import Department, Role, User
from workflow import participants
from workflow.models import ProcessDefinition, ProcessSettings
from workflow.selectors.visibility import is_process_admin

__all__ = ["EDITABLE", "RELATED", "process_settings_update"]

# The settings a process administrator edits (the key is the process's; translations are
# the designer's).
EDITABLE = (
    "category",
    "description",
    "icon",
    "reject",
    "resubmit",
    "empty_assignee",
    "escalation_role",
    "initiator_approver",
    "auto_pass_repeated",
    "default_due",
    "remind_before",
    "timeout",
    "cc_at_end",
    "urge_interval_minutes",
)
RELATED = ("starter_roles", "starter_departments")


def _require_process_admin(user: User) -> None:
    if not is_process_admin(user):
        raise PermissionDenied(_("Only a process administrator can change process settings."))


@transaction.atomic(durable=True)
def process_settings_update(
    *,
    key: str,
    by: User,
    changes: Mapping[str, Any],
) -> ProcessSettings:
    """Change the settings of the deployed process ``key`` (its row is created with the
    defaults when it has none): only the names in ``changes`` (from :data:`EDITABLE` and
    :data:`RELATED`: ``starter_roles`` an iterable of roles, ``starter_departments`` of
    departments) change. ``by`` must be a process administrator (``PermissionDenied``);
    a process that is not deployed raises ``ProcessDefinition.DoesNotExist``; values the
    model's ``clean()`` refuses raise ``ValidationError`` and change nothing. The change is
    logged for Django admin's history, and running web processes see it within seconds
    (``participants.settings_for`` caches rows briefly)."""
    _require_process_admin(by)
    unknown = set(changes) - set(EDITABLE) - set(RELATED)
    if unknown:
        raise ValueError(f"not a setting: {sorted(unknown)}")
    if not ProcessDefinition.objects.filter(key=key).exists():
        raise ProcessDefinition.DoesNotExist(key)
    row = ProcessSettings.objects.select_for_update().filter(key=key).first()
    created = row is None
    if row is None:
        row = ProcessSettings(key=key)
    changed = [name for name in EDITABLE if name in changes and getattr(row, name) != changes[name]]
    for name in EDITABLE:
        if name in changes:
            setattr(row, name, changes[name])
    row.full_clean(exclude=["key", "translations"])
    row.save()
    if "starter_roles" in changes:
        roles: Iterable[Role] = changes["starter_roles"]
        before = set(row.starter_roles.values_list("pk", flat=True))
        row.starter_roles.set(list(roles))
        if before != set(row.starter_roles.values_list("pk", flat=True)):
            changed.append("starter_roles")
    if "starter_departments" in changes:
        departments: Iterable[Department] = changes["starter_departments"]
        before = set(row.starter_departments.values_list("pk", flat=True))
        row.starter_departments.set(list(departments))
        if before != set(row.starter_departments.values_list("pk", flat=True)):
            changed.append("starter_departments")
    if created or changed:
        LogEntry.objects.log_actions(
            user_id=by.pk,
            queryset=[row],
            action_flag=ADDITION if created else CHANGE,
            change_message=[{"added": {}}] if created else [{"changed": {"fields": changed}}],
            single_object=True,
        )
    transaction.on_commit(participants.forget_settings)
    return row
