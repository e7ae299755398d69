"""A person starts a request from its start form: the one path of every start a person makes
(the catalogue's page, the API, an OAuth2 application acting for its user, a draft).
:func:`request_submit` checks who may start it, validates the start form (only its fields
become variables; the initiator is always the person), starts the instance once per
idempotency key and attaches the files chosen, in one transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow.forms import validate_step_data, validate_upload
from workflow.models import Draft, InstanceStartKey, ProcessInstance
from workflow.selectors.catalogue import start_element, startable_process
from workflow.services.approvals import attachment_add
from workflow.services.engine import instance_start

MAX_TITLE_CHARS = 255
MAX_ATTACHMENTS = 10  # files attached with the start form


# --- who may start what, and starting once --------------------------------------------------


class IdempotencyKeyReused(Exception):
    """The key was used before by this caller with another request body."""


class StartNotAllowed(PermissionDenied):
    """The process's settings name who may start it, and the caller is not among them."""


def request_hash(data: Mapping[str, Any]) -> str:
    """A fingerprint of a start request's body (key order and spacing do not matter)."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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


# --- starting from the start form ----------------------------------------------------------


def _check_uploads(uploads: Sequence[File[bytes]]) -> None:
    """Every upload's size and type (``validate_upload``), all problems at once."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise ValidationError(
            {
                "attachments": [
                    _("Attach at most %(count)s files at once.") % {"count": MAX_ATTACHMENTS}
                ]
            }
        )
    problems: list[ValidationError] = []
    for upload in uploads:
        try:
            validate_upload(upload)
        except ValidationError as problem:
            problems.append(problem)
    if problems:
        raise ValidationError({"attachments": problems})


def _fingerprint(
    *, key: str, business_key: str, title: str, variables: Mapping[str, Any], urgent: bool
) -> str:
    body: dict[str, Any] = {
        "process_key": key,
        "business_key": business_key,
        "title": title,
        "variables": variables,
    }
    if urgent:  # only when set: a key stored before 加急 existed still matches its retry
        body["urgent"] = True
    return request_hash(body)


def _mark_urgent(instance_id: int, urgent: bool) -> None:
    if urgent:
        ProcessInstance.objects.filter(pk=instance_id).update(urgent=True)


def default_title(user: User, process_name: str) -> str:
    """The title of an instance started without one: "张伟的费用报销"."""
    return _("%(person)s's %(process)s") % {
        "person": user.display_name or user.username,
        "process": process_name,
    }


@transaction.atomic(durable=True)
def request_submit(
    *,
    user: User,
    key: str,
    data: Mapping[str, Any],
    title: str = "",
    business_key: str = "",
    idempotency_key: str = "",
    draft_id: int | None = None,
    attachments: Sequence[File[bytes]] = (),
    urgent: bool = False,
) -> tuple[int, bool]:
    """Start the latest version of ``key`` from its start form as ``user``:
    ``(instance id, created)``. The one way a person (a page, the API, an OAuth2
    application acting for its user) starts a request.

    The initiator is always ``user``: no value in ``data`` can name another. ``data`` is
    validated by the start event's form (``validate_step_data``: a key that is not one of
    its fields, or any key at a start event without a form, is a field error; bad values are
    field errors; ``ValidationError`` with a dict of field -> errors, nothing started); only
    the form's editable fields become variables. The same ``idempotency_key`` with the same
    request answers with the instance the first one started (``created`` False) instead of
    a second one (a double click, a retried API call); with another request
    :class:`IdempotencyKeyReused`; no key: every call starts one. ``draft_id`` (one's own
    draft of this process, else ``Draft.DoesNotExist``) is deleted in the start's
    transaction. ``attachments`` are checked first (``ValidationError`` under
    ``"attachments"``, nothing started) and attached to the new instance in the same
    transaction. ``urgent`` (加急) marks the request urgent: its tasks come first, flagged,
    in the approvers' 待办. Who may start it: :func:`may_start` (else
    :class:`StartNotAllowed`)."""
    process = startable_process(user, key)
    if process is None:
        raise StartNotAllowed(_("You may not start this process."))
    element = start_element(process.definition_id)
    if element is None:  # cannot happen: startable_process checked it; never start blind
        raise StartNotAllowed(_("You may not start this process."))
    variables = validate_step_data(element, variables={}, data=data, user=user)
    _check_uploads(attachments)
    title = title.strip()[:MAX_TITLE_CHARS] or default_title(user, process.name)[:MAX_TITLE_CHARS]
    business_key = business_key.strip()[:MAX_TITLE_CHARS]
    fingerprint = _fingerprint(
        key=key, business_key=business_key, title=title, variables=variables, urgent=urgent
    )
    earlier = started_before(user, idempotency_key, fingerprint) if idempotency_key else None
    if earlier is not None:
        return earlier, False
    if draft_id is not None:
        mine = Draft.objects.select_for_update().filter(pk=draft_id, owner=user, definition_key=key)
        if mine.values_list("pk", flat=True).first() is None:
            # the twin of a double click may have started it and deleted the draft while this
            # request waited for the draft's lock: answer with its instance
            earlier = started_before(user, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, False
            raise Draft.DoesNotExist
    try:
        # a savepoint: a racing twin that committed the key first leaves this transaction usable
        with transaction.atomic():
            instance_id = instance_start(
                key, variables=variables, initiator=user, title=title, business_key=business_key
            )
            _mark_urgent(instance_id, urgent)
            if idempotency_key:
                InstanceStartKey.objects.create(
                    user=user,
                    key=idempotency_key,
                    request_hash=fingerprint,
                    instance_id=instance_id,
                )
            for upload in attachments:
                attachment_add(instance_id, user=user, upload=upload)
    except IntegrityError:
        earlier = started_before(user, idempotency_key, fingerprint) if idempotency_key else None
        if earlier is None:
            raise
        return earlier, False
    if draft_id is not None:
        Draft.objects.filter(pk=draft_id, owner=user).delete()
    return instance_id, True
