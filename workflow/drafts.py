"""The process catalogue, start requests and drafts (草稿): what a person may start, starting
it from the start form, and keeping a half-filled start form for later.

Reads:
- :func:`startable_processes` lists the latest version of each process key that ``user``
  may start (:func:`may_start`) and that a person can start by hand (its
  executable process has a plain start event), grouped by category;
- :func:`startable_process` is one of them by key, None otherwise (a 404 for the view);
- :func:`drafts_for` / :func:`draft_for` are a person's own drafts, never anybody else's.

Writes (one transaction each):
- :func:`draft_save` keeps whatever was typed, valid or not, and starts nothing;
- :func:`draft_discard` deletes one's own draft;
- :func:`request_submit` validates the start form, starts the instance once per idempotency
  key and deletes the draft it came from in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from portal.models import User
from workflow.approvals import attachment_add
from workflow.bpmn.model import Element, EventTrigger
from workflow.engine.cache import graph_for_definition
from workflow.forms import validate_step_data, validate_upload
from workflow.models import Draft, InstanceStartKey, ProcessDefinition, ProcessSettings
from workflow.services import instance_start

__all__ = [
    "MAX_DRAFT_BYTES",
    "MAX_DRAFT_VALUE_CHARS",
    "Category",
    "IdempotencyKeyReused",
    "StartNotAllowed",
    "StartableProcess",
    "default_title",
    "draft_discard",
    "draft_for",
    "draft_save",
    "drafts_for",
    "hidden_processes",
    "may_start",
    "request_submit",
    "start_element",
    "startable_process",
    "startable_processes",
]

MAX_DRAFT_VALUE_CHARS = 10_000  # one typed value; a longer one is cut, not refused
MAX_DRAFT_BYTES = 64 * 1024  # the whole draft as JSON
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


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class StartableProcess:
    """The latest version of a process key that someone may start."""

    key: str
    name: str
    description: str
    category: str
    definition_id: int
    version: int


@dataclass
class Category:
    """A heading of the catalogue and its processes ("" is the catch-all "Other")."""

    name: str
    processes: list[StartableProcess] = field(default_factory=list)


def start_element(definition_id: int) -> Element | None:
    """The plain (none) start event of a deployed version, where a person starts it by hand;
    None when its process only starts on a message, a signal or a timer."""
    try:
        graph = graph_for_definition(definition_id)
    except (KeyError, ValueError):  # no executable process under its key: nothing to start
        return None
    starts = graph.process.start_events(None)
    plain = [e for e in starts if e.trigger is EventTrigger.NONE]
    return plain[0] if plain else None


def _latest_definitions() -> QuerySet[ProcessDefinition]:
    """Each key's latest version (running instances stay on older ones; new starts never)."""
    newest = (
        ProcessDefinition.objects.filter(key=OuterRef("key"))
        .order_by("-version")
        .values("version")[:1]
    )
    return ProcessDefinition.objects.filter(version=Subquery(newest)).only(
        "id", "key", "version", "name", "description"
    )


def _startable(user: User, definitions: Iterable[ProcessDefinition]) -> list[StartableProcess]:
    keys = [d.key for d in definitions]
    settings = {s.key: s for s in ProcessSettings.objects.filter(key__in=keys)}
    found: list[StartableProcess] = []
    for definition in definitions:
        if start_element(definition.pk) is None or not may_start(user, definition.key):
            continue
        row = settings.get(definition.key)
        found.append(
            StartableProcess(
                key=definition.key,
                name=definition.name or definition.key,
                description=(row.description if row else "") or definition.description,
                category=row.category.strip() if row else "",
                definition_id=definition.pk,
                version=definition.version,
            )
        )
    return found


def startable_processes(user: User, *, search: str = "") -> list[Category]:
    """The processes ``user`` may start, by category (categories by name, "Other" last;
    processes by name). ``search`` keeps those whose name, key or description contains it
    (case-insensitive)."""
    if not user.is_active:
        return []
    definitions = list(_latest_definitions())
    needle = search.strip().casefold()
    processes = _startable(user, definitions)
    if needle:
        processes = [
            p
            for p in processes
            if needle in p.name.casefold()
            or needle in p.key.casefold()
            or needle in p.description.casefold()
        ]
    groups: dict[str, Category] = {}
    for process in sorted(processes, key=lambda p: (p.name.casefold(), p.key)):
        groups.setdefault(process.category, Category(process.category)).processes.append(process)
    return sorted(groups.values(), key=lambda c: (c.name == "", c.name))


def startable_process(user: User, key: str) -> StartableProcess | None:
    """The latest version of ``key`` if ``user`` may start it by hand, else None."""
    if not user.is_active:
        return None
    latest = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
    if latest is None:
        return None
    found = _startable(user, [latest])
    return found[0] if found else None


# --- drafts: reads -------------------------------------------------------------------------


def drafts_for(user: User) -> QuerySet[Draft]:
    """草稿箱: ``user``'s own drafts, last saved first."""
    return Draft.objects.filter(owner_id=user.pk)


def draft_for(user: User, draft_id: int | str | None) -> Draft | None:
    """One of ``user``'s drafts; None for another person's draft, a missing one or an id
    that is not a number (the view answers 404)."""
    try:
        pk = int(draft_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return drafts_for(user).filter(pk=pk).first()


# --- drafts: writes ------------------------------------------------------------------------


def _draft_value(value: Any) -> Any:
    """A typed value as kept in a draft: text (cut to :data:`MAX_DRAFT_VALUE_CHARS`), a
    tick, or a list of texts; anything else (an upload) is not kept."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value[:MAX_DRAFT_VALUE_CHARS]
    if isinstance(value, list | tuple):
        return [str(v)[:MAX_DRAFT_VALUE_CHARS] for v in value if isinstance(v, str | int)]
    if isinstance(value, int | float):
        return value
    return None


def _draft_data(data: Mapping[str, Any]) -> dict[str, Any]:
    kept = {str(k): _draft_value(v) for k, v in data.items()}
    kept = {k: v for k, v in kept.items() if v is not None}
    if len(json.dumps(kept, ensure_ascii=False).encode()) > MAX_DRAFT_BYTES:
        raise ValidationError(
            _("The draft is too large to be saved (at most %(size)s KB).")
            % {"size": MAX_DRAFT_BYTES // 1024},
            code="too_large",
        )
    return kept


@transaction.atomic(durable=True)
def draft_save(
    *,
    user: User,
    key: str,
    title: str = "",
    data: Mapping[str, Any],
    draft_id: int | None = None,
) -> Draft:
    """Keep what ``user`` typed into the start form of ``key`` (valid or not) without starting
    anything: a new draft, or ``draft_id`` (one's own, of the same process) updated.

    Only someone who may start the process keeps a draft of it (else :class:`StartNotAllowed`).
    Another person's draft id is ``Draft.DoesNotExist``; a draft larger than
    :data:`MAX_DRAFT_BYTES` is refused (``ValidationError``)."""
    if startable_process(user, key) is None:
        raise StartNotAllowed(_("You may not start this process."))
    values = _draft_data(data)
    title = title.strip()[:MAX_TITLE_CHARS]
    if draft_id is None:
        return Draft.objects.create(owner=user, definition_key=key, title=title, data=values)
    draft = Draft.objects.select_for_update().get(pk=draft_id, owner=user, definition_key=key)
    draft.title = title
    draft.data = values
    draft.save(update_fields=["title", "data", "updated_at"])
    return draft


@transaction.atomic(durable=True)
def draft_discard(*, user: User, draft_id: int) -> None:
    """Delete one of ``user``'s drafts; another person's (or a missing) draft is
    ``Draft.DoesNotExist`` and nothing is deleted."""
    deleted, _kinds = Draft.objects.filter(pk=draft_id, owner=user).delete()
    if not deleted:
        raise Draft.DoesNotExist


# --- starting from the start form ----------------------------------------------------------


def _check_uploads(uploads: Sequence[File]) -> None:
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
    attachments: Sequence[File] = (),
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
    transaction. Who may start it: :func:`may_start` (else :class:`StartNotAllowed`)."""
    process = startable_process(user, key)
    if process is None:
        raise StartNotAllowed(_("You may not start this process."))
    element = start_element(process.definition_id)
    if element is None:  # cannot happen: startable_process checked it; never start blind
        raise StartNotAllowed(_("You may not start this process."))
    variables = validate_step_data(element, variables={}, data=data)
    _check_uploads(attachments)
    title = title.strip()[:MAX_TITLE_CHARS] or default_title(user, process.name)[:MAX_TITLE_CHARS]
    business_key = business_key.strip()[:MAX_TITLE_CHARS]
    fingerprint = request_hash(
        {"process_key": key, "business_key": business_key, "title": title, "variables": variables}
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
