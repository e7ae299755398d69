"""Writes only the API needs: starting an instance once per ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow.models import InstanceStartKey, ProcessSettings
from workflow.services import instance_start


class IdempotencyKeyReused(Exception):
    """The key was used before by this caller with another request body."""


class StartNotAllowed(PermissionDenied):
    """The process's settings name who may start it, and the caller is not among them."""


def request_hash(data: Mapping[str, Any]) -> str:
    """A fingerprint of a start request's body (key order and spacing do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def may_start(user: User, key: str) -> bool:
    """``ProcessSettings.starter_roles`` of ``key`` (none: every employee may start it);
    a superuser may start anything."""
    if user.is_superuser:
        return True
    roles = ProcessSettings.starter_roles.through.objects.filter(processsettings__key=key)
    if not roles.exists():
        return True
    return user.groups.filter(pk__in=roles.values("role_id")).exists()


def hidden_processes(user: User) -> set[str]:
    """Keys of the processes ``user`` may not start (their starter roles are none of the
    user's): the catalogue does not show them, and to the API they are as if not deployed.
    Process designers and administrators (who may read definitions) see every process."""
    if (
        user.is_superuser
        or user.has_perm("workflow.view_processdefinition")
        or user.has_perm("workflow.add_processdefinition")
    ):
        return set()
    restricted: dict[str, set[int]] = {}
    for key, role_id in ProcessSettings.starter_roles.through.objects.values_list(
        "processsettings__key", "role_id"
    ):
        restricted.setdefault(key, set()).add(role_id)
    if not restricted:
        return set()
    mine = set(user.groups.values_list("pk", flat=True))
    return {key for key, roles in restricted.items() if not roles & mine}


def started_before(user: User, key: str, fingerprint: str) -> int | None:
    """The instance an earlier start with this idempotency key made (None if none); the same
    key with another request (``fingerprint``) is :class:`IdempotencyKeyReused`."""
    found = InstanceStartKey.objects.filter(user=user, key=key).first()
    if found is None:
        return None
    if found.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            _("This Idempotency-Key was already used with a different request.")
        )
    return found.instance_id


def instance_start_once(
    *,
    user: User,
    process_key: str,
    business_key: str = "",
    title: str = "",
    variables: Mapping[str, Any] | None = None,
    idempotency_key: str = "",
) -> tuple[int, bool]:
    """Start the latest version of ``process_key`` as ``user``; ``(instance id, created)``.

    With an ``idempotency_key`` the same caller sending the same key and the same body again
    gets the instance of the first request (``created`` False) instead of a second one; the
    same key with another body raises :class:`IdempotencyKeyReused`. Two requests racing with
    one key: the unique (user, key) constraint lets one commit; the other's start is rolled
    back with its key row and it answers with the winner's instance.
    """
    if not may_start(user, process_key):
        raise StartNotAllowed(_("You may not start this process."))
    values = dict(variables or {})
    start: dict[str, Any] = {
        "variables": values,
        "initiator": user,
        "business_key": business_key,
        "title": title,
    }
    if not idempotency_key:
        return instance_start(process_key, **start), True
    fingerprint = request_hash(
        {
            "process_key": process_key,
            "business_key": business_key,
            "title": title,
            "variables": values,
        }
    )
    earlier = started_before(user, idempotency_key, fingerprint)
    if earlier is not None:
        return earlier, False
    try:
        with transaction.atomic(durable=True):
            instance_id = instance_start(process_key, **start)
            InstanceStartKey.objects.create(
                user=user, key=idempotency_key, request_hash=fingerprint, instance_id=instance_id
            )
    except IntegrityError:
        earlier = started_before(user, idempotency_key, fingerprint)
        if earlier is None:
            raise
        return earlier, False
    return instance_id, True
