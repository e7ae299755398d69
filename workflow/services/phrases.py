"""常用语: the writes of a person's saved phrases (add, remove, move). Reads are
``workflow.selectors.phrases``.

Each function takes the person's row lock first, so two tabs adding at once cannot pass the
limit together or interleave their positions; positions are kept 0..n-1 in the list's order.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.models import User
from workflow.models import Phrase
from workflow.phrases import DEFAULTS, MAX_PHRASE_LENGTH, MAX_PHRASES

__all__ = ["phrase_add", "phrase_move", "phrase_remove"]

Direction = Literal["up", "down"]


def _lock(owner: User) -> list[Phrase]:
    """The person's phrases in order, with the person's row locked for this transaction."""
    User.objects.select_for_update().filter(pk=owner.pk).first()
    return list(Phrase.objects.filter(owner=owner).order_by("position", "pk"))


def _clean(text: str) -> str:
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise ValidationError({"text": [_("Write the phrase first.")]})
    if len(cleaned) > MAX_PHRASE_LENGTH:
        raise ValidationError(
            {
                "text": [
                    _("A phrase has at most %(limit)d characters.") % {"limit": MAX_PHRASE_LENGTH}
                ]
            }
        )
    return cleaned


@transaction.atomic(durable=True)
def phrase_add(*, owner: User, text: str) -> Phrase:
    """Save a phrase at the end of the person's list: 1 to 200 characters (spaces trimmed),
    not one they already have, at most 30 in all.

    A person who has none yet sees the defaults; their first phrase copies the defaults
    (in the language in use) into their list before it, so saving one of their own does
    not take away the ones they were used to — they may remove those like any other."""
    cleaned = _clean(text)
    phrases = _lock(owner)
    if not phrases:
        seen: set[str] = set()
        for position, default in enumerate(DEFAULTS):
            wording = str(default)
            if wording not in seen:
                seen.add(wording)
                phrases.append(Phrase.objects.create(owner=owner, text=wording, position=position))
    if any(p.text == cleaned for p in phrases):
        raise ValidationError({"text": [_("You have saved this phrase already.")]})
    if len(phrases) >= MAX_PHRASES:
        raise ValidationError(
            {
                "text": [
                    _("You can keep at most %(limit)d phrases; remove one first.")
                    % {"limit": MAX_PHRASES}
                ]
            }
        )
    try:
        with transaction.atomic():  # a savepoint: the unique constraint is the last word
            return Phrase.objects.create(owner=owner, text=cleaned, position=len(phrases))
    except IntegrityError as error:
        raise ValidationError({"text": [_("You have saved this phrase already.")]}) from error


def _renumber(phrases: list[Phrase]) -> None:
    for position, phrase in enumerate(phrases):
        if phrase.position != position:
            phrase.position = position
            Phrase.objects.filter(pk=phrase.pk).update(position=position)


def _find(phrases: list[Phrase], phrase_id: int) -> int:
    for index, phrase in enumerate(phrases):
        if phrase.pk == phrase_id:
            return index
    raise Phrase.DoesNotExist(_("This phrase is not one of yours."))


@transaction.atomic(durable=True)
def phrase_remove(*, owner: User, phrase_id: int) -> None:
    """Remove one of the person's phrases (someone else's raises ``Phrase.DoesNotExist``,
    as if it did not exist). Removing the last one brings the defaults back."""
    phrases = _lock(owner)
    index = _find(phrases, phrase_id)
    Phrase.objects.filter(pk=phrase_id).delete()
    del phrases[index]
    _renumber(phrases)


@transaction.atomic(durable=True)
def phrase_move(*, owner: User, phrase_id: int, direction: Direction) -> None:
    """Move one of the person's phrases one place up or down (at either end: no change)."""
    if direction not in ("up", "down"):
        raise ValidationError({"direction": [_("Move a phrase up or down.")]})
    phrases = _lock(owner)
    index = _find(phrases, phrase_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(phrases):
        phrases[index], phrases[other] = phrases[other], phrases[index]
    _renumber(phrases)
