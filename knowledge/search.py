"""Search of the knowledge base: the published version of every live article, found by the
words in it, Chinese as well as English, on PostgreSQL and SQLite alike, with no database
extension.

**Indexing.** :func:`index_article` writes one ``ArticleIndex`` row per published, live
article: the text to show (title, summary, the body's Markdown as plain text), the same text
segmented by ``portal.search`` (each character, each pair of neighbouring characters, letter
and digit runs, folded; jieba's search-mode words too in the title, summary and tags), and
what the filters and permissions need (space, owner, language, publish date, tags). The
database only splits on spaces: on PostgreSQL a ``simple`` ``tsvector`` with a GIN index, on
SQLite an FTS5 table (migration 0002). CORE's services call it on publish and undelete, and
:func:`unindex_article` on delete and purge; :func:`index_articles` rebuilds in bulk.

**Matching.** A query is the same tokens, all required (``portal.search.query_terms``): a
Chinese word is its pairs of characters, so 报销 finds 差旅报销制度 and 年假 finds 带薪年假,
words the database's own parser would never split out; the last word typed is a prefix
(search as you type). When nothing has every term (a question: 怎么申请年假 holds the pairs
么申 and 请年), the search falls back to jieba's words of the query, any of them, ranked.

**Ranking.** A common word is in tens of thousands of articles: ranking them all is what
would make a search slow. So two groups are read by index, each cut at the newest
``CANDIDATES``: the articles whose *head* (title, summary, tags) holds every term, then, only
when the page is not full, those that need their body. Only these are scored (the share of
the query's words in the title counts twice that in the summary and tags; the database's
rank of the small head breaks ties); an exact title goes first. A page's ``total`` is exact
unless a group was cut (``SearchPage.capped``: at least that many).
``bench/knowledge_search.py`` measures it at 100,000 articles.

**Permissions** are a condition of the same query (the space among
``knowledge.selectors.readable_space_ids``), never a filter afterwards, so a page is never
emptied and the total is what this reader may see.

**Snippets** are built in Python for the page's hits only: a window of the plain body around
the first matches, escaped, each matched word in ``<mark>``.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge import selectors
from knowledge.models import Article, ArticleIndex, Space
from portal.models import User
from portal.search import (
    Term,
    excerpt,
    fold,
    fts5_query,
    highlight,
    query_terms,
    query_words,
    search_text,
    tsquery,
)

__all__ = [
    "MAX_QUERY_CHARS",
    "Hit",
    "SearchPage",
    "Suggestion",
    "index_article",
    "index_articles",
    "plain_text",
    "search",
    "suggest",
    "unindex_article",
]

# What a query may hold: a pasted page is cut (its first words are what it is about); the
# terms are capped so a long query never builds a long index scan.
MAX_QUERY_CHARS = 100
MAX_TERMS = 24
MAX_WORDS = 8
MAX_LIMIT = 50
MAX_OFFSET = 1000
# how many of the newest matches of each group (the head's, the body's) are ranked, at least
CANDIDATES = 100
SNIPPET_CHARS = 160
# a word typed so far matches as a prefix from this many characters (one letter would
# match half the vocabulary)
MIN_PREFIX = 2


@dataclass(frozen=True)
class Hit:
    article_id: int
    title: str
    title_html: str  # escaped, the matched words in <mark>
    space_key: str
    space_name: str
    snippet_html: str  # escaped, the matched words in <mark>
    score: float
    updated_at: datetime.datetime
    tags: list[str]


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit]
    # how many match; when ``capped``, at least that many ("100+"): a common word is in tens
    # of thousands of articles, and counting them would cost what ranking them would
    total: int
    capped: bool = False


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    space_name: str


# --- indexing ---------------------------------------------------------------------------------

_markdown = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _text_of(tokens: Iterable[Token], parts: list[str]) -> None:
    for token in tokens:
        if token.type == "inline" and token.children:
            _text_of(token.children, parts)
        elif token.type in {"text", "code_inline", "fence", "code_block"}:
            parts.append(token.content)
        elif token.type == "image":
            parts.append(token.content)  # its alt text
        elif token.type in {"softbreak", "hardbreak"} or (token.nesting == -1 and token.block):
            parts.append(" ")


def plain_text(markdown: str) -> str:
    """The words a reader sees of a Markdown body: no markup, link targets or raw HTML
    (what is indexed and what a snippet quotes)."""
    parts: list[str] = []
    _text_of(_markdown.parse(markdown or ""), parts)
    return " ".join("".join(parts).split())


def _tags_field(tags: Iterable[str]) -> str:
    folded = [fold(tag).strip() for tag in tags if tag and tag.strip()]
    return "|" + "|".join(dict.fromkeys(folded)) + "|" if folded else ""


def _entry(article: Article) -> ArticleIndex | None:
    """The index row of ``article``'s published version (None: nothing to index)."""
    version = article.published_version
    if article.deleted_at is not None or version is None:
        return None
    tags = [str(tag) for tag in (version.tags or [])]
    body = plain_text(version.body)
    published_at = article.published_at or version.created_at
    return ArticleIndex(
        article_id=article.pk,
        space_id=article.space_id,
        owner_id=article.owner_id,
        lang=article.lang,
        published_at=published_at,
        updated_at=published_at,
        title=version.title,
        title_key=_title_key(version.title),
        summary=version.summary,
        tags=_tags_field(tags),
        body_text=body,
        title_terms=search_text(version.title),
        summary_terms=search_text(version.summary, *tags),
        # the body without jieba's words: its pairs of characters find every word inside it
        # (what a query asks for), and jieba would double the time indexing takes
        body_terms=search_text(body, words=False),
    )


def index_article(article_id: int) -> None:
    """Index the published version of the article, or take it out of the index when it has
    none or is in the recycle bin. Safe to call again at any time (an upsert)."""
    article = Article.objects.select_related("published_version").filter(pk=article_id).first()
    entry = _entry(article) if article is not None else None
    if entry is None:
        unindex_article(article_id)
        return
    with transaction.atomic():
        # delete then insert: one statement each whatever was there (SQLite's FTS5 triggers
        # see a plain delete and insert)
        ArticleIndex.objects.filter(article_id=article_id).delete()
        entry.save(force_insert=True)


def index_articles(article_ids: Iterable[int], *, batch: int = 500) -> int:
    """Index many articles at once (a rebuild, an import, the benchmark): what
    :func:`index_article` does, a batch of rows per statement. Returns how many are indexed."""
    ids = list(article_ids)
    indexed = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        articles = Article.objects.select_related("published_version").filter(pk__in=chunk)
        entries = [entry for article in articles if (entry := _entry(article)) is not None]
        with transaction.atomic():
            ArticleIndex.objects.filter(article_id__in=chunk).delete()
            ArticleIndex.objects.bulk_create(entries)
        indexed += len(entries)
    return indexed


def unindex_article(article_id: int) -> None:
    """Take the article out of the index (deleted, purged, unpublished)."""
    ArticleIndex.objects.filter(article_id=article_id).delete()


def _title_key(title: str) -> str:
    """A title as an exact-title query is compared with it: folded, spaces dropped."""
    return "".join(fold(title).split())[:200]


# --- the query --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Filters:
    space_ids: list[int]
    tag: str
    owner_id: int | None
    since: datetime.datetime | None
    until: datetime.datetime | None


def _clean(text: str | None) -> str:
    """What was typed, cut to ``MAX_QUERY_CHARS``, control characters and lone surrogates
    (which no database driver accepts: a NUL ends a C string) turned into spaces."""
    cut = (text or "")[:MAX_QUERY_CHARS]
    return "".join(" " if unicodedata.category(char) in {"Cc", "Cs"} else char for char in cut)


def _terms(text: str) -> list[Term]:
    """The query's terms: only the last may be a prefix, and only from ``MIN_PREFIX``
    characters (``portal.search.query_terms`` marks the end of every part)."""
    terms = query_terms(text)[:MAX_TERMS]
    return [
        Term(term.token, prefix=term.prefix and index == len(terms) - 1)
        if len(term.token) >= MIN_PREFIX
        else Term(term.token)
        for index, term in enumerate(terms)
    ]


def _words(text: str) -> list[list[Term]]:
    return [
        [Term(term.token, prefix=term.prefix and len(term.token) >= MIN_PREFIX) for term in word]
        for word in query_words(text)[:MAX_WORDS]
    ]


def _moment(value: datetime.date | datetime.datetime | None, *, end: bool) -> Any:
    """A date as the start of that day (``since``) or of the next (``until``: inclusive)."""
    if value is None or isinstance(value, datetime.datetime):
        return value
    day = value + datetime.timedelta(days=1) if end else value
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _conditions(filters: _Filters, params: list[Any]) -> str:
    """The filters and the reader's spaces as SQL over the index ``i`` (both databases)."""
    placeholders = ", ".join(["%s"] * len(filters.space_ids))
    sql = [f"i.space_id IN ({placeholders})"]
    params.extend(filters.space_ids)
    if filters.tag:
        escaped = filters.tag.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        sql.append("i.tags LIKE %s ESCAPE '\\'")
        params.append(f"%|{escaped}|%")
    if filters.owner_id is not None:
        sql.append("i.owner_id = %s")
        params.append(filters.owner_id)
    # a moment as the database stores it (SQLite: UTC text without an offset; an aware
    # datetime's own text would compare as a string against it, wrong from 00:00 to 08:00
    # in Beijing)
    stored = connection.ops.adapt_datetimefield_value
    if filters.since is not None:
        sql.append("i.published_at >= %s")
        params.append(stored(filters.since))
    if filters.until is not None:
        sql.append("i.published_at < %s")
        params.append(stored(filters.until))
    return " AND ".join(sql)


def _postgresql_any(words: Sequence[Sequence[Term]]) -> str:
    return " | ".join(f"({tsquery(word)})" for word in words)


def _fts5_any(words: Sequence[Sequence[Term]]) -> str:
    return " OR ".join(f"({fts5_query(word)})" for word in words)


# On SQLite, the columns of the FTS5 table an article's head is made of.
FTS5_HEAD = "{title_terms summary_terms}"


@dataclass(frozen=True)
class _Match:
    """One search's condition on both databases: a tsquery and an FTS5 query text."""

    tsquery: str
    fts5: str


def _candidates(
    match: _Match, filters: _Filters, *, tier: str, count: int
) -> list[tuple[int, float, str, str]]:
    """(article id, score) of at most ``count`` of the newest articles that ``match`` finds
    in their head (``tier`` "head": the title, summary and tags hold every term) or only
    with their body ("body"), each scored by its head (PostgreSQL: ``ts_rank`` of the small
    ``head`` vector; SQLite: bm25 with the title weighted over the summary over the body).

    Only these are ranked: a common word is in tens of thousands of articles, and ranking
    them all is what would make a search slow; the newest ``count`` are read by index in
    the order of their id, so the work stays the same however many articles match."""
    params: list[Any] = []
    where = _conditions(filters, params)
    if connection.vendor == "postgresql":
        query = "to_tsquery('simple'::regconfig, %s)"
        if tier == "head":
            condition = f"i.head @@ {query}"
            condition_params = [match.tsquery]
        else:
            condition = f"i.document @@ {query} AND NOT i.head @@ {query}"
            condition_params = [match.tsquery, match.tsquery]
        sql = (
            f"SELECT c.article_id, ts_rank(c.head, {query}), c.title_terms, c.summary_terms "  # noqa: S608  # values are parameters
            "FROM (SELECT i.article_id, i.head, i.title_terms, i.summary_terms "
            "FROM knowledge_articleindex i "
            f"WHERE {condition} AND {where} ORDER BY i.article_id DESC LIMIT %s) c"
        )
        sql_params = [match.tsquery, *condition_params, *params, count]
    else:
        head = f"{FTS5_HEAD} : ({match.fts5})"
        fts5 = head if tier == "head" else f"({match.fts5}) NOT ({head})"
        sql = (
            "SELECT i.article_id, -bm25(knowledge_article_search, 10.0, 4.0, 1.0), "  # noqa: S608  # values are parameters
            "i.title_terms, i.summary_terms "
            "FROM knowledge_article_search JOIN knowledge_articleindex i "
            "ON i.article_id = knowledge_article_search.rowid "
            f"WHERE knowledge_article_search MATCH %s AND {where} "
            "ORDER BY knowledge_article_search.rowid DESC LIMIT %s"
        )
        sql_params = [fts5, *params, count]
    with _by_index(tier == "body") as cursor:
        cursor.execute(sql, sql_params)
        return [
            (int(pk), float(rank or 0.0), title, summary)
            for pk, rank, title, summary in cursor.fetchall()
        ]


@contextmanager
def _by_index(document: bool) -> Iterator[Any]:
    """A cursor; for a PostgreSQL query on ``document``, one that reads it by its GIN index
    only. The planner does not know that testing ``document`` row by row means unpacking
    each article's compressed vector (kilobytes): for a word it has no statistics on it
    would walk the primary key newest first and test every row, 700 ms at 100,000
    articles when none matches, against a few by the index. The settings hold for this
    statement only (``SET LOCAL`` inside a savepoint, then ``RESET``: nothing leaks into the
    caller's transaction)."""
    if not document or connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        try:
            yield cursor
        finally:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")


def _holds(tokens: set[str], word: Sequence[Term]) -> bool:
    return all(
        term.token in tokens
        or (term.prefix and any(token.startswith(term.token) for token in tokens))
        for term in word
    )


def _score(words: Sequence[Sequence[Term]], rank: float, title: str, summary: str) -> float:
    """How well an article's head answers the query's words: the share of them in its title
    counts twice the share in its summary and tags; the database's rank (bm25 on SQLite,
    ``ts_rank`` of the head on PostgreSQL: 0 to 1 here) only orders what that leaves
    equal. The same on both databases, whatever the corpus' size (bm25's IDF is near 0 in
    a small one)."""
    title_tokens, summary_tokens = set(title.split()), set(summary.split())
    in_title = sum(_holds(title_tokens, word) for word in words) / len(words)
    in_summary = sum(_holds(summary_tokens, word) for word in words) / len(words)
    return 2 * in_title + in_summary + 0.1 * (rank / (1 + rank) if rank > 0 else 0.0)


def _best_first(
    rows: Sequence[tuple[int, float, str, str]], words: Sequence[Sequence[Term]]
) -> list[tuple[int, float]]:
    scored = [(pk, _score(words, rank, title, summary)) for pk, rank, title, summary in rows]
    scored.sort(key=lambda row: (-row[1], -row[0]))
    return scored


def _exact_titles(title_key: str, filters: _Filters) -> list[int]:
    """The articles whose title is exactly what was typed (folded, without spaces)."""
    params: list[Any] = [title_key]
    where = _conditions(filters, params)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.article_id FROM knowledge_articleindex i "  # noqa: S608  # values are parameters
            f"WHERE i.title_key = %s AND {where} ORDER BY i.article_id DESC LIMIT 10",
            params,
        )
        return [int(row[0]) for row in cursor.fetchall()]


def _ranked(
    match: _Match,
    words: Sequence[Sequence[Term]],
    title_key: str,
    filters: _Filters,
    *,
    limit: int,
    offset: int,
) -> tuple[list[tuple[int, float]], tuple[int, bool]]:
    """(article id, score) of one page of what ``match`` finds, best first, and (how many it
    finds, whether that is only a lower bound): the articles titled exactly as typed, then
    those whose head holds every term, then those that need their body, each group by its
    score."""
    wanted = offset + limit
    count = max(CANDIDATES, wanted)
    exact = _exact_titles(title_key, filters) if title_key else []
    head = _candidates(match, filters, tier="head", count=count)
    ranked = [(pk, 10.0 + score) for pk, score in _best_first(head, words)]
    # every match is read when neither group fills its candidates; otherwise there are at
    # least as many as were read: counting them all would cost what ranking them all costs.
    # The body's group is read when the page needs it or when the head's group is complete
    # (at most ``count`` more rows), so a knowledge base of a few hundred articles shows
    # exact totals, and a common word at 100,000 articles still stops at the head's group.
    complete = len(head) < count
    if complete or len(head) < wanted + len(exact):
        body = _candidates(match, filters, tier="body", count=count)
        ranked += _best_first(body, words)
        complete = complete and len(body) < count
    exact_rows = [(pk, 20.0) for pk in exact]
    chosen = set(exact)
    ordered = exact_rows + [(pk, score) for pk, score in ranked if pk not in chosen]
    return ordered[offset:wanted], (len(ordered), not complete)


def _filters(
    user: User,
    *,
    space: Space | int | None,
    tag: str | None,
    owner: User | int | None,
    since: datetime.date | datetime.datetime | None,
    until: datetime.date | datetime.datetime | None,
) -> _Filters:
    readable = selectors.readable_space_ids(user)
    if space is not None:
        space_id = space.pk if isinstance(space, Space) else int(space)
        readable = readable & {space_id}
    owner_id = owner.pk if isinstance(owner, User) else owner
    return _Filters(
        space_ids=sorted(readable),
        tag=fold(_clean(tag)).strip(),
        owner_id=owner_id,
        since=_moment(since, end=False),
        until=_moment(until, end=True),
    )


def search(
    user: User,
    query: str,
    *,
    space: Space | int | None = None,
    tag: str | None = None,
    owner: User | int | None = None,
    since: datetime.date | datetime.datetime | None = None,
    until: datetime.date | datetime.datetime | None = None,
    limit: int = 10,
    offset: int = 0,
) -> SearchPage:
    """One page of the published articles ``user`` may read that hold every word of
    ``query`` (or, when none does, any of its words), best first, with the filters: a space
    (a ``Space`` or its id), a tag, an owner, a publish date range (dates inclusive). Any
    text is a query: what holds no letter or digit finds nothing, never an error."""
    text = _clean(query)
    terms = _terms(text)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    if not terms:
        return SearchPage(hits=[], total=0)
    filters = _filters(user, space=space, tag=tag, owner=owner, since=since, until=until)
    if not filters.space_ids:
        return SearchPage(hits=[], total=0)
    title_key = _title_key(text)
    match = _Match(tsquery=tsquery(terms), fts5=fts5_query(terms))
    rows, (total, capped) = _ranked(
        match, [[term] for term in terms], title_key, filters, limit=limit, offset=offset
    )
    marked = terms
    if total == 0:
        words = _words(text)
        if len(words) > 1 or (words and words[0] != terms):
            match = _Match(tsquery=_postgresql_any(words), fts5=_fts5_any(words))
            rows, (total, capped) = _ranked(
                match, words, title_key, filters, limit=limit, offset=offset
            )
            marked = [term for word in words for term in word]
    return SearchPage(hits=_hits(rows, marked), total=total, capped=capped)


def _hits(rows: Sequence[tuple[int, float]], terms: Sequence[Term]) -> list[Hit]:
    """The page's hits in ``rows``' order, their title and snippet marked."""
    entries = ArticleIndex.objects.select_related("space").in_bulk([pk for pk, _ in rows])
    hits: list[Hit] = []
    for pk, score in rows:
        entry = entries.get(pk)
        if entry is None:  # unindexed meanwhile
            continue
        source = entry.body_text or entry.summary
        hits.append(
            Hit(
                article_id=pk,
                title=entry.title,
                title_html=highlight(entry.title, terms),
                space_key=entry.space.key,
                space_name=entry.space.display_name,
                snippet_html=_snippet(entry, source, terms),
                score=round(score, 6),
                updated_at=entry.updated_at,
                tags=[tag for tag in entry.tags.split("|") if tag],
            )
        )
    return hits


def _snippet(entry: ArticleIndex, source: str, terms: Sequence[Term]) -> str:
    """The body around its first matches; the summary when only the title or tags matched."""
    snippet = excerpt(source, terms, width=SNIPPET_CHARS)
    if "<mark>" not in snippet and entry.summary:
        summary = excerpt(entry.summary, terms, width=SNIPPET_CHARS)
        if "<mark>" in summary or not entry.body_text:
            return summary
    return snippet


def suggest(user: User, text: str, *, limit: int = 8) -> list[Suggestion]:
    """Titles for the search box as someone types: the readable articles whose title holds
    what was typed so far (its last word a prefix), best first."""
    text = _clean(text)
    terms = _terms(text)
    limit = max(1, min(int(limit), 20))
    if not terms:
        return []
    filters = _filters(user, space=None, tag=None, owner=None, since=None, until=None)
    if not filters.space_ids:
        return []
    params: list[Any] = []
    where = _conditions(filters, params)
    if connection.vendor == "postgresql":
        match = " & ".join(f"'{term.token}':{'*' if term.prefix else ''}A" for term in terms)
        sql = (
            "SELECT i.article_id FROM knowledge_articleindex i "  # noqa: S608  # values are parameters
            "WHERE i.head @@ to_tsquery('simple'::regconfig, %s) AND " + where + " "
            "ORDER BY (i.title_key = %s) DESC, length(i.title), i.published_at DESC LIMIT %s"
        )
        sql_params = [match, *params, _title_key(text), limit]
    else:
        sql = (
            "SELECT i.article_id FROM knowledge_article_search JOIN knowledge_articleindex i "  # noqa: S608  # values are parameters
            "ON i.article_id = knowledge_article_search.rowid "
            "WHERE knowledge_article_search MATCH %s AND " + where + " "
            "ORDER BY (i.title_key = %s) DESC, length(i.title), i.published_at DESC LIMIT %s"
        )
        sql_params = [
            "{title_terms}: (" + fts5_query(terms) + ")",
            *params,
            _title_key(text),
            limit,
        ]
    with connection.cursor() as cursor:
        cursor.execute(sql, sql_params)
        ids = [int(row[0]) for row in cursor.fetchall()]
    entries = ArticleIndex.objects.select_related("space").in_bulk(ids)
    return [
        Suggestion(
            article_id=pk, title=entries[pk].title, space_name=entries[pk].space.display_name
        )
        for pk in ids
        if pk in entries
    ]
