"""``field__among``: the rows whose column is one of a list, given to the database as one
parameter (``portal/lookups.py``), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> list[User]:
    return [UserFactory.create(username=f"among{n}") for n in range(5)]


def test_the_rows_whose_column_is_one_of_the_values(people):
    ids = [people[0].pk, people[3].pk, 10**9]  # one that no row has
    assert set(User.objects.filter(pk__among=ids)) == {people[0], people[3]}
    names = ["among1", "among4", "'; DROP TABLE portal_user; --"]
    assert set(User.objects.filter(username__among=names)) == {people[1], people[4]}
    assert User.objects.filter(username__among=("among2",)).get() == people[2]
    # as __in does, in an exclude and beside other conditions
    assert set(User.objects.filter(username__startswith="among").exclude(pk__among=ids)) == {
        people[1],
        people[2],
        people[4],
    }


def test_the_values_are_one_parameter_however_many(people):
    few = [people[0].pk]
    many = [people[1].pk, *range(10**8, 10**8 + 2000)]
    sent: list[tuple[str, int]] = []

    def record(execute, sql, params, many_, context):
        sent.append((sql, len(params)))
        return execute(sql, params, many_, context)

    for ids in (few, many):
        with connection.execute_wrapper(record):
            found = list(User.objects.filter(pk__among=ids).values_list("pk", flat=True))
        assert found == ids[:1]
    # the same statement for one value and for 2,001 (parsed, planned, prepared once)
    assert sent[0] == sent[1]
    assert sent[0][1] == 1


def test_no_values_is_no_row_without_a_query(people):
    with CaptureQueriesContext(connection) as captured:
        assert list(User.objects.filter(pk__among=[])) == []
    assert captured.captured_queries == []


def test_a_foreign_key_among_ids(people, org):
    people[0].department = org["root"]
    people[0].save()
    found = User.objects.filter(department__among=[org["root"].pk, 10**9])
    assert list(found) == [people[0]]
    assert list(User.objects.filter(department__pk__among=[org["root"].pk])) == [people[0]]


def test_any_iterable_of_values_and_values_that_need_converting(people, org):
    """A frozenset (which Django does not walk value by value) or a generator serves as a
    list does; ids given as text are converted for an integer column, ints are passed on."""
    assert set(User.objects.filter(pk__among=frozenset({people[1].pk, people[2].pk}))) == {
        people[1],
        people[2],
    }
    assert list(User.objects.filter(pk__among=(p.pk for p in people[:1]))) == [people[0]]
    assert list(User.objects.filter(pk__among=[str(people[3].pk)])) == [people[3]]
    people[4].department = org["root"]
    people[4].save()
    assert list(User.objects.filter(department__among=frozenset({org["root"].pk}))) == [people[4]]
    assert list(User.objects.filter(department__among=[str(org["root"].pk)])) == [people[4]]
