"""Keyset pages: the one way every list of the portal pages through its rows — the inbox's
tabs, the console's lists, the API's lists.

A page is the rows after the last one shown, by (sort value, rank, id), never an OFFSET: page
1000 costs what page 1 does, and rows added meanwhile neither repeat nor go missing. Several
tables merge into one list (our tasks, the tasks we may claim and other systems' tasks in
待办): each is a :class:`Source` with a ``rank`` that orders rows of equal sort value.
Newest first by default; oldest first (or soonest due: rows without a value come last) with
``ascending``.

A :class:`Cursor` travels in a URL as opaque text; one this code did not write (edited,
truncated, or holding a date no database can compare) is :class:`BadCursor`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import F, Model, Q, QuerySet
from django.utils import timezone

__all__ = ["BadCursor", "Cursor", "Page", "Source", "keyset_page", "merge", "window"]


class BadCursor(ValueError):
    """A cursor that this code did not write (edited by hand, truncated, out of range)."""


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last row's sort value (None: a row without one, e.g. no due
    date), its source's rank and its id."""

    at: datetime.datetime | None
    rank: int
    pk: int

    def encode(self) -> str:
        at = self.at.isoformat() if self.at else None
        raw = json.dumps([at, self.rank, self.pk], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, rank, pk = json.loads(raw)
            moment = None if at is None else datetime.datetime.fromisoformat(at)
            if moment is not None and timezone.is_naive(moment):
                raise ValueError
            if moment is not None:
                # in UTC, as the database is asked: near year 1 or 9999 this overflows
                moment = moment.astimezone(datetime.UTC)
            if not isinstance(rank, int) or not isinstance(pk, int):
                raise ValueError
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise BadCursor(text) from None
        return cls(moment, rank, pk)

    @classmethod
    def decode_or_none(cls, text: str) -> Cursor | None:
        """The cursor in ``text``; None when there is none or it is bad (a page answers with
        its first page then)."""
        try:
            return cls.decode(text) if text else None
        except BadCursor:
            return None


@dataclass(frozen=True)
class Source:
    """One table of a list: ``rows`` sorted by ``field`` then id; ``rank`` orders rows of
    several sources with the same value; ``kind`` names the rows' kind in the page."""

    rows: QuerySet[Any]
    field: str = "created_at"
    rank: int = 0
    kind: str = ""


@dataclass
class Page:
    """One page: ``rows`` as (kind, row) pairs in order; ``next`` the cursor of the next page
    (None on the last)."""

    rows: list[tuple[str, Any]]
    next: Cursor | None

    @property
    def objects(self) -> list[Any]:
        return [row for _kind, row in self.rows]


def _sort_key(at: datetime.datetime | None, rank: int, pk: int, ascending: bool) -> tuple[Any, ...]:
    # ascending with rows without a value last; descending values are never null
    if ascending:
        return (at is None, at or datetime.datetime.min.replace(tzinfo=datetime.UTC), rank, pk)
    return (at, rank, pk)


def _after(source: Source, cursor: Cursor, ascending: bool) -> QuerySet[Any]:
    """The rows of ``source`` that come after ``cursor`` in the order (value, rank, id)."""
    name = source.field
    same: Q | None
    if ascending:
        if source.rank > cursor.rank:
            same = Q()
        elif source.rank == cursor.rank:
            same = Q(pk__gt=cursor.pk)
        else:
            same = None
        if cursor.at is None:
            later = Q(pk__in=[])
            tie = Q(**{f"{name}__isnull": True})
        else:
            later = Q(**{f"{name}__gt": cursor.at}) | Q(**{f"{name}__isnull": True})
            tie = Q(**{name: cursor.at})
    else:
        if source.rank < cursor.rank:
            same = Q()
        elif source.rank == cursor.rank:
            same = Q(pk__lt=cursor.pk)
        else:
            same = None
        later = Q(**{f"{name}__lt": cursor.at})
        tie = Q(**{name: cursor.at})
    condition = later if same is None else later | (tie & same)
    return source.rows.filter(condition)


def window(
    source: Source, *, after: Cursor | None, size: int, ascending: bool = False
) -> QuerySet[Any]:
    """The rows of ``source`` a page after ``after`` may show: at most ``size + 1`` (one
    more tells whether a next page exists), in the source's order, by its index. Not read
    yet: :func:`keyset_page` reads each source's window in a query of its own; a caller may
    read several windows of one table in one query and hand the rows to :func:`merge`."""
    if after is not None and after.at is None and not ascending:
        raise BadCursor("")  # newest first, every row has a value: no cursor here has none
    rows = source.rows if after is None else _after(source, after, ascending)
    order: list[Any]
    if ascending:
        order = [F(source.field).asc(nulls_last=True), "pk"]
    else:
        order = [F(source.field).desc(), "-pk"]
    return rows.order_by(*order)[: size + 1]


def merge(
    read: Sequence[tuple[Source, Iterable[Any]]], *, size: int, ascending: bool = False
) -> Page:
    """The page of ``size`` rows of several sources, each given with the rows of its
    :func:`window` (or of a larger one of the same order: the first ``size`` rows and
    whether more exist come out the same)."""
    found: list[tuple[tuple[Any, ...], Cursor, str, Model]] = []
    for source, rows in read:
        for row in rows:
            at = getattr(row, source.field)
            position = Cursor(at, source.rank, row.pk)
            found.append(
                (_sort_key(at, source.rank, row.pk, ascending), position, source.kind, row)
            )
    found.sort(key=lambda item: item[0], reverse=not ascending)
    shown = found[:size]
    following = shown[-1][1] if len(found) > size else None
    return Page([(kind, row) for _k, _p, kind, row in shown], following)


def keyset_page(
    sources: Sequence[Source], *, after: Cursor | None, size: int, ascending: bool = False
) -> Page:
    """The page of ``size`` rows of ``sources`` merged, after ``after`` (None: the first
    page). One query per source, each reading at most ``size + 1`` rows by its index."""
    if after is not None and after.at is None and not ascending:
        raise BadCursor("")  # newest first, every row has a value: no cursor here has none
    read = [
        (source, window(source, after=after, size=size, ascending=ascending)) for source in sources
    ]
    return merge(read, size=size, ascending=ascending)
