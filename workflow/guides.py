"""Guides to the work: where another app (the knowledge base) tells the task page "how to do
this step" and the start page "how this process works", without the workflow knowing it.

The workflow imports no business app (docs/architecture.md). An app that holds guides
registers a :class:`GuideSource` here in its ``AppConfig.ready()``: a callable
``(user, process_key, step_id) -> list[Guide]`` answering with what *that person* may read
(``step_id`` "" asks for the process's own guide). The task page and the start page ask
:func:`guides_for`, which merges every source's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from portal.registry import Registry

if TYPE_CHECKING:
    from portal.models import User

__all__ = ["Guide", "GuideSource", "guide_checks", "guides_for", "sources"]

logger = logging.getLogger(__name__)

# at most this many links under a step: a guide is read, not browsed
MAX_GUIDES = 5


@dataclass(frozen=True)
class Guide:
    """A link to read: its title and address (an address on this site)."""

    title: str
    url: str


@dataclass(frozen=True)
class GuideSource:
    """An app's guides: ``find(user, process_key, step_id)`` answers the guides ``user`` may
    read for a process (``step_id`` "") or one of its steps."""

    key: str
    find: Callable[[User, str, str], list[Guide]]
    order: int = 100
    # ``exists(process_key, step_id)``: a condition (an SQL expression over the given
    # expressions) true when the source may have a guide there, whoever asks. The task page
    # reads it with the task and asks ``find`` only where it is true (most steps have no
    # guide: a query less). None: always asked (a source that answers without a query).
    exists: Callable[[Any, Any], Any] | None = None


sources: Registry[GuideSource] = Registry("guide sources")


def guide_checks(process_key: Any, step_id: Any) -> dict[str, Any]:
    """Each source's ``exists`` condition for ``process_key`` / ``step_id`` (expressions of
    the query it annotates, e.g. ``OuterRef("definition_key")``), by the source's key; a
    source without one is not here (it is always asked). A source whose condition is false
    has nothing there: give its key to :func:`guides_for` in ``skip``."""
    return {
        source.key: source.exists(process_key, step_id)
        for source in sources
        if source.exists is not None
    }


def guides_for(
    user: User, process_key: str, step_id: str = "", *, skip: Collection[str] = ()
) -> list[Guide]:
    """The guides of every source for a process or a step, each address once, at most
    :data:`MAX_GUIDES`. A source that fails is logged and left out: a missing guide must not
    keep anybody from doing their task. ``skip``: the keys of sources known to have none
    there (:func:`guide_checks`), not asked."""
    found: list[Guide] = []
    seen: set[str] = set()
    for source in sources:
        if source.key in skip:
            continue
        try:
            answer = source.find(user, process_key, step_id)
        except Exception:  # another app's bug must not keep anybody from their task
            logger.exception("guide source %s failed for %s/%s", source.key, process_key, step_id)
            continue
        for guide in answer:
            if guide.url not in seen:
                seen.add(guide.url)
                found.append(guide)
    return found[:MAX_GUIDES]
