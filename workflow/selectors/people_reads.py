"""The people one page names, read once (issue 16).

The task page names people in several places, each read apart: who holds the task, the
approval record (people_of), a person field of the form (its widget, when rendered), the
request's data (``forms.display_value``). A page opens a :class:`PeopleReads` for the time
it is built and rendered (:func:`reading_people`), tells it first whom it will name
(:meth:`PeopleReads.want`), and the first of those reads fetches them all in one query; a
name nobody announced is read when asked (a query more, never a wrong name).

It lives as long as one rendering and no longer: nothing is kept between requests, so a
renamed or deactivated person shows as they are now on the next page.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from portal.models import User

__all__ = ["PeopleReads", "current", "reading_people", "users_named"]

_current: ContextVar[PeopleReads | None] = ContextVar("workflow_people_reads", default=None)


class PeopleReads:
    """Accounts by user name (with their department), each read at most once."""

    def __init__(self) -> None:
        self._wanted: set[str] = set()
        self._read: dict[str, User | None] = {}  # None: no such account

    def want(self, usernames: Iterable[str]) -> None:
        """Names the page will ask for: read with the first ask."""
        self._wanted |= {name for name in usernames if name and name not in self._read}

    def users(self, usernames: Iterable[str]) -> dict[str, User]:
        """The accounts of ``usernames`` that exist (with ``department``), by user name."""
        asked = {name for name in usernames if name}
        missing = asked - set(self._read)
        if missing:
            fetch = missing | self._wanted
            found = _read(fetch)
            for name in fetch:
                self._read[name] = found.get(name)
            self._wanted.clear()
        return {name: user for name in asked if (user := self._read[name]) is not None}


def _read(usernames: set[str]) -> dict[str, User]:
    found = User.objects.filter(username__in=usernames).select_related("department")
    return {user.username: user for user in found}


def users_named(usernames: Iterable[str]) -> dict[str, User]:
    """The accounts of ``usernames`` that exist (with ``department``), by user name: from the
    page's :class:`PeopleReads` while one is open, else read now (one query)."""
    book = _current.get()
    if book is not None:
        return book.users(usernames)
    wanted = {name for name in usernames if name}
    return _read(wanted) if wanted else {}


def current() -> PeopleReads | None:
    """The page's :class:`PeopleReads` while one is being built, else None."""
    return _current.get()


@contextmanager
def reading_people() -> Iterator[PeopleReads]:
    """Open a :class:`PeopleReads` for building and rendering one page."""
    reads = PeopleReads()
    token = _current.set(reads)
    try:
        yield reads
    finally:
        _current.reset(token)
