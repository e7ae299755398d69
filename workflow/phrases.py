"""常用语: the default saved phrases, offered on every opinion box to a person who has not
saved any of their own (``workflow.selectors.phrases``). English msgids, so each person sees
them in their language; the first phrase a person saves copies them into their own list
(``workflow.services.phrases``), where they can be removed or moved like any other."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

__all__ = ["DEFAULTS", "MAX_PHRASES", "MAX_PHRASE_LENGTH"]

MAX_PHRASES = 30  # a row of chips a person can still scan
MAX_PHRASE_LENGTH = 200  # Phrase.text's max_length

DEFAULTS: tuple[Promise, ...] = (
    gettext_lazy("Agreed."),
    gettext_lazy("Verified; agreed."),
    gettext_lazy("Please add the supporting documents and submit again."),
    gettext_lazy("Not agreed."),
    gettext_lazy("Read and noted."),
)
