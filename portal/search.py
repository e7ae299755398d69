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

import html
import itertools
import logging
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import jieba

__all__ = [
    "Term",
    "excerpt",
    "fold",
    "fts5_query",
    "highlight",
    "query_terms",
    "query_words",
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


def fold(text: str) -> str:
    """``text`` as every index and query sees it: NFKC (full width to half width) and
    case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _runs(text: str) -> Iterator[tuple[str, str]]:
    """(kind, run) of the folded ``text``: runs of one kind, spaces dropped."""
    folded = fold(text)
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


def segment(text: str, *, words: bool = True) -> list[str]:
    """The tokens of ``text``, each once (see the module's docstring): its words, numbers,
    characters and pairs of characters, then (``words``) the longer words jieba finds in its
    Chinese. A long body may leave jieba's words out: the pairs already find every word
    inside it, and jieba takes most of the time segmenting takes."""
    runs = list(_runs(text))
    tokens = _tokens(runs)
    chinese = [run for kind, run in runs if kind == "char" and len(run) > 2]
    if chinese and words:
        tokenizer = _jieba()
        for run in chinese:
            tokens.extend(word for word in tokenizer.cut_for_search(run) if len(word) > 2)
    return list(dict.fromkeys(tokens))


def search_text(*texts: str, words: bool = True) -> str:
    """The tokens of ``texts`` as one space-separated string: what a search column holds."""
    return " ".join(
        dict.fromkeys(token for text in texts if text for token in segment(text, words=words))
    )


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


# Words a question is made of rather than what it asks about: left out of :func:`query_words`
# (a fallback that requires any word would otherwise rank every "如何" page).
QUESTION_WORDS = frozenset(
    [
        "怎么",
        "怎么办",
        "怎样",
        "如何",
        "什么",
        "为什么",
        "哪里",
        "哪些",
        "哪个",
        "可以",
        "能否",
        "是否",
        "需要",
        "应该",
        "一下",
        "多少",
        "多久",
        "请问",
        "我们",
        "我的",
        "你们",
        "这个",
        "那个",
        "有没有",
        "吗",
        "呢",
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "how",
        "what",
        "where",
        "when",
        "which",
        "who",
        "why",
        "can",
        "do",
        "does",
        "is",
        "are",
        "the",
        "a",
        "an",
        "to",
        "of",
        "for",
        "in",
        "on",
        "and",
        "or",
        "my",
        "i",
    ]
)


def _words_of(run: str) -> list[str]:
    """jieba's words of a run of Chinese, neighbouring single characters it does not know
    as a word joined again (年假 is not in its dictionary: 年, 假 → 年假)."""
    words: list[str] = []
    single = ""
    for word in _jieba().cut(run, HMM=True):
        if len(word) == 1 and word not in QUESTION_WORDS:
            single += word
            continue
        if single:
            words.append(single)
            single = ""
        words.append(word)
    if single:
        words.append(single)
    return words


def query_words(text: str) -> list[list[Term]]:
    """What a person typed as the words jieba finds in it (search mode), each as the terms
    that find it (a Chinese word's pairs, a single character, a letter or digit run), for a
    search that finds pages with only some of the words of a question: 怎么申请年假 →
    [申请], [年假]. Question words (:data:`QUESTION_WORDS`) are left out unless nothing else
    is left; the last word typed may be a prefix, as in :func:`query_terms`."""
    words: dict[str, None] = {}
    runs = list(_runs(text))
    for kind, run in runs:
        if kind == "char" and len(run) > 2:
            words.update((word, None) for word in _words_of(run))
        else:
            words[run] = None
    chosen = [word for word in words if word not in QUESTION_WORDS] or list(words)
    groups: list[list[Term]] = []
    last = runs[-1][1] if runs else ""
    for word in chosen:
        if len(word) > 1 and all(_kind(char) == "char" for char in word):
            groups.append([Term(word[i : i + 2]) for i in range(len(word) - 1)])
        elif all(_kind(char) == "char" for char in word):
            groups.append([Term(word)])
        else:
            for kind, run in _runs(word):
                prefix = run == last and kind != "char"
                groups.append([Term(run, prefix=prefix)])
    unique: dict[tuple[Term, ...], None] = dict.fromkeys(tuple(group) for group in groups)
    return [list(group) for group in unique]


def _folded_with_offsets(text: str) -> tuple[str, list[int]]:
    """``text`` folded character by character, and for each folded character the index of
    the original one it came from (NFKC may turn one character into several)."""
    parts: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        folded = fold(char)
        parts.append(folded)
        offsets.extend([index] * len(folded))
    return "".join(parts), offsets


def _word_runs(folded: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, run) of each run of letters or of digits of ``folded`` (not Chinese)."""
    for kind, group in itertools.groupby(enumerate(folded), key=lambda item: _kind(item[1])):
        if kind in {"word", "digit"}:
            chars = list(group)
            yield chars[0][0], chars[-1][0] + 1, "".join(char for _, char in chars)


def _is_hit(run: str, words: dict[str, bool]) -> bool:
    return run in words or any(prefix and run.startswith(word) for word, prefix in words.items())


def _marked_characters(folded: str, terms: Sequence[Term]) -> list[bool]:
    """For each character of ``folded``, whether a term matches there: a Chinese term
    wherever its characters stand, a word or number only as a whole run of letters or digits
    (a prefix term: a run that starts with it)."""
    marked = [False] * len(folded)
    for term in terms:
        if _kind(term.token[0]) != "char":
            continue
        start = folded.find(term.token)
        while start >= 0:
            marked[start : start + len(term.token)] = [True] * len(term.token)
            start = folded.find(term.token, start + 1)
    words = {term.token: term.prefix for term in terms if _kind(term.token[0]) != "char"}
    if words:
        for start, end, run in _word_runs(folded):
            if _is_hit(run, words):
                marked[start:end] = [True] * (end - start)
    return marked


def _spans(text: str, terms: Sequence[Term]) -> list[tuple[int, int]]:
    """Where ``terms`` occur in ``text``, as merged (start, end) spans of the original text."""
    folded, offsets = _folded_with_offsets(text)
    marked = _marked_characters(folded, terms)
    spans: list[tuple[int, int]] = []
    for is_marked, group in itertools.groupby(range(len(folded)), key=marked.__getitem__):
        if not is_marked:
            continue
        indexes = list(group)
        start, end = offsets[indexes[0]], offsets[indexes[-1]] + 1
        if spans and spans[-1][1] >= start:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    return spans


def _marked(text: str, spans: Sequence[tuple[int, int]], start: int, end: int) -> str:
    parts: list[str] = []
    at = start
    for span_start, span_end in spans:
        if span_end <= start or span_start >= end:
            continue
        span_start, span_end = max(span_start, start), min(span_end, end)
        parts.append(html.escape(text[at:span_start]))
        parts.append(f"<mark>{html.escape(text[span_start:span_end])}</mark>")
        at = span_end
    parts.append(html.escape(text[at:end]))
    return "".join(parts)


def highlight(text: str, terms: Sequence[Term]) -> str:
    """``text`` as HTML: escaped, each place a term matches wrapped in ``<mark>``."""
    return _marked(text, _spans(text, terms), 0, len(text))


def _first_match(text: str, terms: Sequence[Term]) -> int:
    """Where in ``text`` the first term matches (0 when none does), found in the text folded
    as a whole (fast), which has the same length as the text but for rare characters."""
    folded = fold(text)
    if len(folded) != len(text):
        spans = _spans(text, terms)
        return spans[0][0] if spans else 0
    found = [folded.find(term.token) for term in terms if _kind(term.token[0]) == "char"]
    words = {term.token: term.prefix for term in terms if _kind(term.token[0]) != "char"}
    if words:
        found.append(
            next((start for start, _end, run in _word_runs(folded) if _is_hit(run, words)), -1)
        )
    found = [at for at in found if at >= 0]
    return min(found) if found else 0


def excerpt(text: str, terms: Sequence[Term], *, width: int = 160) -> str:
    """A window of about ``width`` characters of ``text`` around its first matches, as
    :func:`highlight` marks them, with "…" where the text was cut. No match: its start."""
    text = " ".join(text.split())
    if len(text) <= width:
        return highlight(text, terms)
    first = _first_match(text, terms)
    start = max(0, min(first - width // 4, len(text) - width))
    end = min(len(text), start + width)
    # do not cut a word of letters in two
    while 0 < start < end and text[start - 1].isascii() and text[start - 1].isalnum():
        start -= 1
    while start < end < len(text) and text[end].isascii() and text[end].isalnum():
        end += 1
    return (
        ("…" if start > 0 else "")
        + highlight(text[start:end], terms)
        + ("…" if end < len(text) else "")
    )
