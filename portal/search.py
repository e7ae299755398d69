"""Text segmentation for full-text search, shared by every app that indexes text (the
workflow's instance search today, the knowledge base's articles next).

A database's own text parser cannot split Chinese: a title is one run of characters without
spaces, so PostgreSQL's ``to_tsvector`` and SQLite's FTS5 would see one "word". Here the
text is split once, in Python, into tokens separated by spaces, and the database only splits
on spaces (PostgreSQL's ``simple`` configuration, FTS5's ``unicode61`` tokenizer).

:func:`segment` gives, each once:

- each run of letters and each run of digits as one token (``FIN-007`` → ``fin``, ``007``;
  ``VPN2`` → ``vpn``, ``2``);
- each Chinese (or other unspaced script) character on its own, so a one-character word
  (票) is a token, and each pair of neighbouring characters (差旅, 旅报 ...), so a
  two-character word is a token too;
- the words jieba finds in search mode (``cut_for_search``: 有限公司 and 有限, 公司), for
  ranking and for readers that want words rather than characters.

A query (:func:`query_terms`) is the same tokens, all required: a one-character word is its
character, a longer one its pairs (张伟的差旅 → 张伟 & 伟的 & 的差 & 差旅), a word or number
typed last a prefix (lap → laptop). Pairs, rather than phrases of single characters, keep a
PostgreSQL GIN search exact without rereading each candidate row (a phrase needs positions,
which GIN does not hold); jieba's words are not used in queries, as how jieba splits a short
query may differ from how it split the longer text.

Text is folded first: NFKC (full-width ``ＶＰＮ`` and ``１２`` become ``VPN`` and ``12``) and
case-folded, the query the same way, so the fold never depends on the database.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import jieba

__all__ = [
    "Term",
    "fts5_query",
    "query_terms",
    "search_text",
    "segment",
    "tsquery",
]

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """jieba's tokenizer, loaded on first use (its dictionary takes most of a second), once
    for every thread, without its start-up messages in the log."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _kind(char: str) -> str:
    """``word`` (letters and their marks), ``digit``, ``char`` (a character of a script
    written without spaces: Chinese, Japanese kana, ...) or ``space`` (anything else)."""
    category = unicodedata.category(char)
    if category == "Lo":
        return "char"
    if category[0] == "L" or category[0] == "M":
        return "word"
    if category == "Nd":
        return "digit"
    return "space"


def _runs(text: str) -> Iterator[tuple[str, str]]:
    """(kind, run) of the folded ``text``: runs of one kind, spaces dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, current = 0, ""
    for index, char in enumerate(folded):
        kind = _kind(char)
        if kind != current:
            if current and current != "space":
                yield current, folded[start:index]
            start, current = index, kind
    if current and current != "space":
        yield current, folded[start:]


def _tokens(runs: Iterable[tuple[str, str]]) -> list[str]:
    """The words, numbers, single characters and pairs of characters of ``runs``."""
    tokens: list[str] = []
    for kind, run in runs:
        if kind == "char":
            tokens.extend(run)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            tokens.append(run)
    return tokens


def segment(text: str) -> list[str]:
    """The tokens of ``text``, each once (see the module's docstring): its words, numbers,
    characters and pairs of characters, then the longer words jieba finds in its Chinese."""
    runs = list(_runs(text))
    tokens = _tokens(runs)
    chinese = [run for kind, run in runs if kind == "char" and len(run) > 2]
    if chinese:
        tokenizer = _jieba()
        for run in chinese:
            tokens.extend(word for word in tokenizer.cut_for_search(run) if len(word) > 2)
    return list(dict.fromkeys(tokens))


def search_text(*texts: str) -> str:
    """The tokens of ``texts`` as one space-separated string: what a search column holds."""
    return " ".join(dict.fromkeys(token for text in texts if text for token in segment(text)))


class Term(NamedTuple):
    """A token a search requires; ``prefix``: any token that starts with it will do."""

    token: str
    prefix: bool = False


def query_terms(text: str) -> list[Term]:
    """What a person typed, as the terms that must all be found (see the module's
    docstring): ``差旅 ＦＩＮ-007 票`` → 差旅, fin, 007 (a prefix), 票."""
    terms: dict[Term, None] = {}
    for part in text.split():
        runs = list(_runs(part))
        for index, (kind, run) in enumerate(runs):
            if kind != "char":
                terms[Term(run, prefix=index == len(runs) - 1)] = None
            elif len(run) == 1:
                terms[Term(run)] = None
            else:
                terms.update((Term(run[i : i + 2]), None) for i in range(len(run) - 1))
    return list(terms)


def tsquery(terms: Sequence[Term]) -> str:
    """The terms as a PostgreSQL ``to_tsquery('simple', ...)`` text, joined by ``&``.
    Tokens hold only letters, digits or characters (never a quote, an operator or a space),
    and are quoted anyway."""
    return " & ".join(f"'{term.token}'" + (":*" if term.prefix else "") for term in terms)


def fts5_query(terms: Sequence[Term]) -> str:
    """The terms as an SQLite FTS5 ``MATCH`` text, joined by ``AND``."""
    return " AND ".join(f'"{term.token}"' + ("*" if term.prefix else "") for term in terms)
