"""A page that only reads has each query planned for its own values (PostgreSQL): psycopg
prepares none of a GET's statements, so PostgreSQL cannot settle on one generic plan for a
search whose best plan depends on the word (``portal.middleware.PlannedReadsMiddleware``);
writes and the engine keep their prepared statements."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from portal.models import User

pytestmark = pytest.mark.django_db


def _prepared() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements")
        (count,) = cursor.fetchone()
    return int(count)


@pytest.fixture
def postgres(db_vendor: str) -> None:
    if db_vendor != "postgresql":
        pytest.skip("PostgreSQL's prepared statements")


def test_a_read_prepares_nothing_and_leaves_the_connection_as_it_was(
    postgres: None, login: Callable[[User], Client], employee: User
) -> None:
    client = login(employee)
    client.get(reverse("workflow:inbox"))
    threshold = connection.connection.prepare_threshold
    assert threshold is not None  # the portal's connections do prepare (settings)
    before = _prepared()
    for _n in range(8):
        assert client.get(reverse("workflow:inbox"), {"q": "报销"}).status_code == 200
    assert _prepared() == before
    assert connection.connection.prepare_threshold == threshold


def test_the_same_statements_outside_a_read_are_prepared(postgres: None, employee: User) -> None:
    """The check above can fail: the same kind of statement, run as often by other code
    (a write, a worker), is prepared."""
    before = _prepared()
    for _n in range(8):
        list(User.objects.filter(username=employee.username))
    assert _prepared() > before
