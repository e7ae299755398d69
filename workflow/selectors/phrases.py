"""常用语: the phrases a person is offered on every opinion box — their own, in their order,
or the defaults (``workflow.phrases.DEFAULTS``, in the language in use) while they have none.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import User
from workflow.models import Phrase
from workflow.phrases import DEFAULTS

__all__ = ["PhraseItem", "phrase_texts", "phrases_for"]


@dataclass(frozen=True)
class PhraseItem:
    """One phrase as offered: ``id`` is None for a default (nothing to remove or move)."""

    text: str
    id: int | None = None
    position: int = 0

    @property
    def is_default(self) -> bool:
        return self.id is None


def phrases_for(user: User, *, has_own: bool | None = None) -> list[PhraseItem]:
    """The person's own phrases in their order (one query), else the defaults. ``has_own``
    False: the page knows they have none (read with something else): no query."""
    own = (
        []
        if has_own is False
        else [
            PhraseItem(text=text, id=pk, position=position)
            for pk, text, position in Phrase.objects.filter(owner=user)
            .order_by("position", "pk")
            .values_list("pk", "text", "position")
        ]
    )
    if own:
        return own
    return [PhraseItem(text=str(text), position=index) for index, text in enumerate(DEFAULTS)]


def phrase_texts(user: User, *, has_own: bool | None = None) -> list[str]:
    """Just the words, for the chips under an opinion box."""
    return [item.text for item in phrases_for(user, has_own=has_own)]
