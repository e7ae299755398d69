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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from portal.registry import Registry

if TYPE_CHECKING:
    from portal.models import User

__all__ = ["Guide", "GuideSource", "guides_for", "sources"]

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


sources: Registry[GuideSource] = Registry("guide sources")


def guides_for(user: User, process_key: str, step_id: str = "") -> list[Guide]:
    """The guides of every source for a process or a step, each address once, at most
    :data:`MAX_GUIDES`. A source that fails is logged and left out: a missing guide must not
    keep anybody from doing their task."""
    found: list[Guide] = []
    seen: set[str] = set()
    for source in sources:
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
