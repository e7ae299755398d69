"""Drafts (草稿): keep what someone typed into a start form, valid or not, without starting
anything; delete one's own draft.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow.models import Draft
from workflow.selectors.catalogue import startable_process
from workflow.services.starts import MAX_TITLE_CHARS, StartNotAllowed

MAX_DRAFT_VALUE_CHARS = 10_000  # one typed value; a longer one is cut, not refused
MAX_DRAFT_BYTES = 64 * 1024  # the whole draft as JSON
URGENT_KEY = "_urgent"  # 加急 ticked: kept beside the fields (no field id starts with "_")


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
    urgent: bool = False,
) -> Draft:
    """Keep what ``user`` typed into the start form of ``key`` (valid or not) without starting
    anything: a new draft, or ``draft_id`` (one's own, of the same process) updated.

    Only someone who may start the process keeps a draft of it (else :class:`StartNotAllowed`).
    Another person's draft id is ``Draft.DoesNotExist``; a draft larger than
    :data:`MAX_DRAFT_BYTES` is refused (``ValidationError``). ``urgent``: 加急 was ticked
    (:func:`draft_urgent`)."""
    if startable_process(user, key) is None:
        raise StartNotAllowed(_("You may not start this process."))
    values = _draft_data({k: v for k, v in data.items() if k != URGENT_KEY})
    if urgent:
        values[URGENT_KEY] = True
    title = title.strip()[:MAX_TITLE_CHARS]
    if draft_id is None:
        return Draft.objects.create(owner=user, definition_key=key, title=title, data=values)
    draft = Draft.objects.select_for_update().get(pk=draft_id, owner=user, definition_key=key)
    draft.title = title
    draft.data = values
    draft.save(update_fields=["title", "data", "updated_at"])
    return draft


def draft_values(draft: Draft) -> dict[str, Any]:
    """The form's values kept in ``draft``, by field name."""
    return {k: v for k, v in (draft.data or {}).items() if k != URGENT_KEY}


def draft_urgent(draft: Draft) -> bool:
    """Whether 加急 was ticked when ``draft`` was saved."""
    return (draft.data or {}).get(URGENT_KEY) is True


@transaction.atomic(durable=True)
def draft_discard(*, user: User, draft_id: int) -> None:
    """Delete one of ``user``'s drafts; another person's (or a missing) draft is
    ``Draft.DoesNotExist`` and nothing is deleted."""
    deleted, _kinds = Draft.objects.filter(pk=draft_id, owner=user).delete()
    if not deleted:
        raise Draft.DoesNotExist
