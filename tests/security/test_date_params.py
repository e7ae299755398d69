"""Date and cursor parameters: a value out of range is a field error, never a 500 (issue 13).

``/workflow/inbox/?since=0001-01-01``, ``?until=9999-12-31`` and an API cursor holding such a
date used to raise ``OverflowError`` (a day's local midnight, or the moment the database is
asked about, does not exist in UTC near the ends of Python's calendar). Every page and API
endpoint that reads a date, a date-time or a keyset cursor from the query string is tried
here with the boundary values, numbers, garbage and cursors built from such dates:

- pages (the inbox and its tab counts, the console's instance list and statistics) answer
  200 and show the field's error, as they already did for a date that does not parse; a
  broken cursor gives the first page (the inbox says so);
- the API (``/api/v1/tasks/`` and every keyset list) answers 400 with the field named in
  the project's error body (``error.fields``).

A property-based sweep (hypothesis) covers every date of the calendar, moments in every UTC
offset and arbitrary text. Each persona is one who may reach the page.
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from portal.models import User
from tests.security.conftest import fuzz
from tests.security.world import USERNAMES, World
from workflow.selectors.inbox import FIRST_FILTER_DAY, LAST_FILTER_DAY

pytestmark = pytest.mark.django_db

RANGE_ERROR = "Give a date between 0001-01-02 and 9999-12-30."
INVALID_DATE = "Enter a valid date."
BROKEN_CURSOR = "This link to the next page is broken; here is the first."

OUT_OF_RANGE = ["0001-01-01", "9999-12-31"]
UNPARSEABLE = [
    "0000-00-00",
    "10000-01-01",
    "99999999999999999999",
    "-1",
    "-0001-01-01",
    "2023-02-29",
    "9999-13-01",
    "garbage",
    "1e308",
]
IN_RANGE = ["0001-01-02", "9999-12-30", "2024-02-29"]
TABS = ["todo", "done", "started", "copied"]

# (persona, page, its date parameters)
PAGE_DATES = [
    *(("employee", f"/workflow/inbox/?tab={tab}", ("since", "until")) for tab in TABS),
    ("employee", "/workflow/inbox/counts/?", ("since", "until")),
    ("admin", "/workflow/console/?", ("started_after", "started_before")),
    ("admin", "/workflow/console/statistics/?", ("start", "end")),
]
API_DATES = [
    *(
        ("employee", f"/api/v1/tasks/?tab={tab}", ("created_after", "created_before"))
        for tab in TABS
    ),
    ("employee", "/api/v1/knowledge/articles/?", ("updated_since",)),
]
API_LISTS = [
    *(f"/api/v1/tasks/?tab={tab}" for tab in TABS),
    "/api/v1/instances/?",
    "/api/v1/incidents/?",
    "/api/v1/external-tasks/mine?",
    "/api/v1/knowledge/articles/?",
]


def keyset_cursor(at: Any, rank: Any = 0, pk: Any = 1) -> str:
    """A cursor as the inbox and the API write one: URL-safe base64 of ``[at, rank, pk]``."""
    raw = json.dumps([at, rank, pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BROKEN_KEYSET_CURSORS = [
    keyset_cursor("0001-01-01T00:00:00+14:00"),
    keyset_cursor("9999-12-31T23:59:59-12:00"),
    keyset_cursor("0001-01-01T00:00:00"),  # naive
    keyset_cursor("10000-01-01T00:00:00+00:00"),
    keyset_cursor("0000-00-00T00:00:00+00:00"),
    keyset_cursor(10**30),
    keyset_cursor("2024-01-01T00:00:00+00:00", "0", 1),
    keyset_cursor("2024-01-01T00:00:00+00:00", 0, 1.5),
    base64.urlsafe_b64encode(b"[1, 2]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "!!!",
    "-1",
]
VALID_KEYSET_CURSORS = [
    keyset_cursor("0001-01-01T00:00:00+00:00"),
    keyset_cursor("9999-12-31T23:59:59.999999+00:00"),
    keyset_cursor("2024-01-01T00:00:00+08:00", 10**30, 10**30),  # huge rank and id
    keyset_cursor("2024-01-01T00:00:00+08:00", -(10**30), -(10**30)),
]
OVERFLOWING_CURSORS = BROKEN_KEYSET_CURSORS[:2]
NO_DATE_CURSOR = keyset_cursor(None)  # the inbox's position of a row without a due date
CONSOLE_CURSORS = [
    "-999999999999999999999_1",
    "99999999999999999999999_1",
    "-62135596800000000_1",  # 0001-01-01T00:00Z
    "-62135596800000001_1",  # before it
    "253402300799999999_1",  # 9999-12-31T23:59:59.999999Z
    "253402300800000000_1",  # after it
    "1_99999999999999999999999",
    "1_-1",
    "_1",
    "1_",
    "garbage",
    keyset_cursor("0001-01-01T00:00:00+14:00"),
]


@pytest.fixture(autouse=True)
def _english(world: World) -> None:
    """The personas read English (their preference; rolled back with the test)."""
    User.objects.filter(username__in=USERNAMES.values()).update(preferred_language="en")


@pytest.fixture
def browse(world: World) -> Callable[..., Any]:
    """``browse(persona, url, htmx=False)``: a GET as that persona, signed in."""
    clients: dict[str, Client] = {}

    def get(persona: str, url: str, *, htmx: bool = False) -> Any:
        if persona not in clients:
            clients[persona] = Client()
            clients[persona].cookies[settings.SESSION_COOKIE_NAME] = world.sessions[persona]
        headers = {"HX-Request": "true"} if htmx else {}
        return clients[persona].get(url, headers=headers)

    return get


def _text(response: Any) -> str:
    return response.content.decode()


def _field_errors(response: Any) -> dict[str, list[str]]:
    body = response.json()
    assert set(body) == {"error"}, body
    fields: dict[str, list[str]] = body["error"].get("fields", {})
    return fields


# --- pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "page", "names"), PAGE_DATES)
def test_a_page_shows_a_date_out_of_range_as_the_fields_error(
    browse: Callable[..., Any], persona: str, page: str, names: tuple[str, str]
) -> None:
    for name in names:
        for value in OUT_OF_RANGE:
            response = browse(persona, f"{page}&{name}={value}")
            assert response.status_code == 200, (name, value)
            if "counts" not in page:  # the tab bar shows no messages; the next page does
                assert RANGE_ERROR in _text(response), (name, value)
        # both ends at once: the combinations that overflowed (the statistics' range)
        for value in OUT_OF_RANGE:
            response = browse(persona, f"{page}&{names[0]}={value}&{names[1]}={value}")
            assert response.status_code == 200, value


# a value that does not parse is dropped before any list is read: one inbox tab is enough
@pytest.mark.parametrize(("persona", "page", "names"), PAGE_DATES[:1] + PAGE_DATES[4:])
def test_a_page_treats_an_unparseable_date_as_before(
    browse: Callable[..., Any], persona: str, page: str, names: tuple[str, str]
) -> None:
    for name in names:
        for value in UNPARSEABLE:
            response = browse(persona, f"{page}&{name}={value}")
            assert response.status_code == 200, (name, value)
            if "counts" not in page:
                assert INVALID_DATE in _text(response), (name, value)


@pytest.mark.parametrize(("persona", "page", "names"), PAGE_DATES)
def test_a_page_accepts_the_first_and_last_days_of_the_range(
    browse: Callable[..., Any], persona: str, page: str, names: tuple[str, str]
) -> None:
    for value in IN_RANGE:
        response = browse(persona, f"{page}&{names[0]}={value}&{names[1]}={value}")
        assert response.status_code == 200, value
        text = _text(response)
        assert RANGE_ERROR not in text
        assert INVALID_DATE not in text


def test_the_inbox_starts_over_on_a_broken_cursor(browse: Callable[..., Any]) -> None:
    """Refused as it is read, before any list (so one tab and sort is enough)."""
    for cursor in BROKEN_KEYSET_CURSORS:
        response = browse("employee", f"/workflow/inbox/?cursor={cursor}")
        assert response.status_code == 200, cursor
        assert BROKEN_CURSOR in _text(response), cursor


@pytest.mark.parametrize("tab", TABS)
def test_the_inbox_reads_on_from_a_cursor_at_the_ends_of_the_calendar(
    browse: Callable[..., Any], tab: str
) -> None:
    for sort in ("new", "old", "due"):
        for cursor in VALID_KEYSET_CURSORS:
            url = f"/workflow/inbox/?tab={tab}&sort={sort}&cursor={cursor}"
            response = browse("employee", url)
            assert response.status_code == 200, (sort, cursor)
            assert BROKEN_CURSOR not in _text(response)
        # no date: only the to-do tab by due date has rows without one
        url = f"/workflow/inbox/?tab={tab}&sort={sort}&cursor={NO_DATE_CURSOR}"
        response = browse("employee", url)
        assert response.status_code == 200, sort
        assert (BROKEN_CURSOR in _text(response)) is ((tab, sort) != ("todo", "due"))
    # "Load more" (htmx) reads the same parameters and renders only the rows
    for cursor in [*OVERFLOWING_CURSORS, NO_DATE_CURSOR]:
        response = browse("employee", f"/workflow/inbox/?tab={tab}&cursor={cursor}", htmx=True)
        assert response.status_code == 200, cursor


@pytest.mark.parametrize("page", ["/workflow/console/", "/workflow/console/incidents/"])
def test_the_console_lists_start_over_on_a_broken_cursor(
    browse: Callable[..., Any], page: str
) -> None:
    for cursor in CONSOLE_CURSORS:
        for htmx in (False, True):
            response = browse("admin", f"{page}?after={cursor}", htmx=htmx)
            assert response.status_code == 200, (cursor, htmx)


def test_the_console_refuses_an_age_filter_out_of_range(browse: Callable[..., Any]) -> None:
    for value in ("36501", "-1", "99999999999999999999", "1e9", "garbage"):
        response = browse("admin", f"/workflow/console/?older_than_days={value}")
        assert response.status_code == 200, value
        assert 'class="error"' in _text(response), value


# --- the API -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("persona", "endpoint", "names"), API_DATES)
def test_the_api_answers_a_date_out_of_range_with_a_field_error(
    browse: Callable[..., Any], persona: str, endpoint: str, names: tuple[str, ...]
) -> None:
    out_of_range = [
        *OUT_OF_RANGE,
        "0001-01-01T00:00",  # naive: Asia/Shanghai, before year 1 in UTC
        "9999-12-31T23:59:59.999999Z",
        "0001-01-01T00:00:00%2B14:00",
        "9999-12-31T23:59:59-12:00",
    ]
    for name in names:
        for value in out_of_range:
            response = browse(persona, f"{endpoint}&{name}={value}")
            assert response.status_code == 400, (name, value)
            assert list(_field_errors(response)) == [name], (name, value)
        for value in UNPARSEABLE:
            response = browse(persona, f"{endpoint}&{name}={value}")
            assert response.status_code == 400, (name, value)
            assert list(_field_errors(response)) == [name], (name, value)
        for value in [*IN_RANGE, "0001-01-02T00:00:00Z", "9999-12-30T23:59:59Z"]:
            response = browse(persona, f"{endpoint}&{name}={value}")
            assert response.status_code == 200, (name, value)
    response = browse(persona, f"{endpoint}&{names[0]}=0001-01-01")
    assert _field_errors(response) == {names[0]: [RANGE_ERROR]}


@pytest.mark.parametrize("endpoint", API_LISTS)
def test_the_api_answers_a_broken_cursor_with_a_field_error(
    browse: Callable[..., Any], endpoint: str
) -> None:
    # the incidents are for process administrators only
    for persona in ("admin",) if "incidents" in endpoint else ("employee", "admin"):
        for cursor in [*BROKEN_KEYSET_CURSORS, NO_DATE_CURSOR, *CONSOLE_CURSORS]:
            response = browse(persona, f"{endpoint}&cursor={cursor}")
            assert response.status_code == 400, (persona, cursor)
            assert list(_field_errors(response)) == ["cursor"], (persona, cursor)
        for cursor in VALID_KEYSET_CURSORS:
            response = browse(persona, f"{endpoint}&cursor={cursor}")
            assert response.status_code == 200, (persona, cursor)


# --- the sweep -----------------------------------------------------------------------------------

OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)


@fuzz(40)
@given(day=st.dates())
def test_every_day_of_the_calendar_is_a_page_filter_or_a_field_error(
    browse: Callable[..., Any], day: datetime.date
) -> None:
    value = day.isoformat()
    usable = FIRST_FILTER_DAY <= day <= LAST_FILTER_DAY
    response = browse("employee", f"/workflow/inbox/?since={value}&until={value}")
    assert response.status_code == 200
    assert (RANGE_ERROR in _text(response)) is not usable
    response = browse("admin", f"/workflow/console/statistics/?start={value}&end={value}")
    assert response.status_code == 200
    response = browse("employee", f"/api/v1/tasks/?created_after={value}&created_before={value}")
    assert response.status_code == (200 if usable else 400)


@fuzz(40)
@given(moment=st.datetimes(timezones=OFFSETS), tab=st.sampled_from(TABS))
def test_a_cursor_at_any_moment_in_any_offset_is_a_page_or_a_field_error(
    browse: Callable[..., Any], moment: datetime.datetime, tab: str
) -> None:
    try:
        moment.astimezone(datetime.UTC)
        exists = True
    except OverflowError:
        exists = False
    cursor = keyset_cursor(moment.isoformat())
    response = browse("employee", f"/workflow/inbox/?tab={tab}&cursor={cursor}")
    assert response.status_code == 200
    assert (BROKEN_CURSOR in _text(response)) is not exists
    response = browse("employee", f"/api/v1/tasks/?tab={tab}&cursor={cursor}")
    assert response.status_code == (200 if exists else 400)
    response = browse(
        "employee", f"/api/v1/tasks/?tab={tab}&created_after={quote(moment.isoformat())}"
    )
    assert response.status_code in (200, 400)


@fuzz(30)
@given(text=st.text(max_size=40))
def test_any_text_as_a_date_or_cursor_is_never_a_server_error(
    browse: Callable[..., Any], text: str
) -> None:
    for persona, url in (
        ("employee", "/workflow/inbox/?since={v}&until={v}&cursor={v}"),
        ("admin", "/workflow/console/?started_after={v}&started_before={v}&after={v}"),
        ("admin", "/workflow/console/statistics/?start={v}&end={v}"),
        ("employee", "/api/v1/tasks/?created_after={v}"),
        ("employee", "/api/v1/instances/?cursor={v}"),
    ):
        response = browse(persona, url.format(v=quote(text, safe="")))
        assert response.status_code in (200, 400), (url, text)
