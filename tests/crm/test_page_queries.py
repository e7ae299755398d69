"""The CRM's busiest pages in a bounded number of queries however many rows they show
(issue 19, "Speed"): the account list (full page, its htmx rows, a filter), the pipeline
kanban of a department, and the create form's duplicate warning — no query per row or per
card, and the same rows, links and visibility as before."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crm.models import Account, Stage
from portal.models import Department, User
from tests.crm import sales_fixtures as make

pytestmark = pytest.mark.django_db
Login = Callable[[User], Client]
AssertQueries = Callable[[int], Any]

# session, user, the person's permissions (2), their reach, the page of accounts, the owner
# filter's choices, the bell's unread count
LIST_QUERIES = 8
# the same and the chosen owner looked up
LIST_OWNER_QUERIES = 9
# the list's without the form's choices and the bell
ROWS_QUERIES = 6
# session, user, permissions (2), reach (once for the owner choices and the board: was
# twice), owner choices, departments, the chosen department and its people (named by id in
# the board's queries), the board's counts and sums, each column's first cards (one UNION
# ALL), the cards, the bell
KANBAN_QUERIES = 13
# session, user, the create service's reads in its transaction (savepoints included), the
# permissions (2), the reach, the matches with their owners and whether the person sees each
# (one query, was two), the bell
DUPLICATE_QUERIES = 15


def _book(people: list[User], per_person: int) -> list[Account]:
    """``per_person`` accounts for each of ``people``, each in their department."""
    return [
        make.account(person, f"{person.username} 第{n}号 有限公司")
        for person in people
        for n in range(per_person)
    ]


def test_the_account_list_in_a_fixed_number_of_queries(
    dept_head: User,
    employee: User,
    colleague: User,
    outsider: User,
    login: Login,
    django_assert_max_num_queries: AssertQueries,
) -> None:
    seen = _book([employee, colleague], 13)  # a full page of 25 and a "more" link
    hidden = make.account(outsider, "财务部自己的客户有限公司")
    client = login(dept_head)
    with django_assert_max_num_queries(LIST_QUERIES):
        page = client.get(reverse("crm:accounts"))
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count("data-account=") == 25
    newest = max(seen, key=lambda a: (a.updated_at, a.pk))
    assert f'<a href="{reverse("crm:account", args=[newest.pk])}">{newest.name}</a>' in text
    assert hidden.name not in text and f'data-account="{hidden.pk}"' not in text
    assert f'<option value="{employee.pk}">' in text  # the owner filter's choices
    with django_assert_max_num_queries(ROWS_QUERIES):
        rows = client.get(reverse("crm:accounts"), headers={"HX-Request": "true"})
    assert rows.content.decode().count("data-account=") == 25


def test_the_owner_filter_adds_one_query_and_keeps_its_choice(
    dept_head: User,
    employee: User,
    colleague: User,
    login: Login,
    django_assert_max_num_queries: AssertQueries,
) -> None:
    _book([employee, colleague], 5)
    client = login(dept_head)
    with django_assert_max_num_queries(LIST_OWNER_QUERIES):
        page = client.get(reverse("crm:accounts") + f"?owner={colleague.pk}")
    text = page.content.decode()
    assert text.count("data-account=") == 5
    assert f'<option value="{colleague.pk}" selected>' in text


def test_the_kanban_of_a_department_in_a_fixed_number_of_queries(
    org: dict[str, Department],
    dept_head: User,
    employee: User,
    colleague: User,
    outsider: User,
    login: Login,
    django_assert_max_num_queries: AssertQueries,
) -> None:
    stages = (Stage.QUALIFICATION, Stage.NEEDS, Stage.PROPOSAL)
    cards = [
        make.opportunity(account, stage=stage, amount="1234.5", position=n)
        for account in _book([employee, colleague], 2)
        for stage in stages
        for n in range(3)
    ]
    hidden = make.opportunity(make.account(outsider, "财务部的客户有限公司"), name="看不见的项目")
    client = login(dept_head)
    url = reverse("crm:pipeline") + f"?department={org['sales'].pk}"
    with django_assert_max_num_queries(KANBAN_QUERIES):
        page = client.get(url)
    text = page.content.decode()
    assert page.status_code == 200
    assert text.count('class="sales-card"') == len(cards) == 36
    assert hidden.name not in text
    assert text.count("¥1,234.50") == 36  # each card's amount, grouped as money is
    assert "¥14,814.00" in text  # a column's: 12 cards
    card = cards[-1]
    move = reverse("crm:opportunity_move", args=[card.pk])
    assert f'data-move-url="{move}"' in text and f'action="{move}"' in text
    assert f'href="{reverse("crm:opportunity", args=[card.pk])}"' in text
    # each card's "move to" has its own column chosen
    for stage in stages:
        assert text.count(f'<option value="{stage}" selected>') == 12
    assert f'<input type="hidden" name="next" value="{url}">' in text


def test_the_duplicate_warning_in_a_fixed_number_of_queries(
    employee: User,
    outsider: User,
    login: Login,
    django_assert_max_num_queries: AssertQueries,
) -> None:
    mine = make.account(employee, "杭州远帆网络科技有限公司", phone="057188880001")
    theirs = make.account(outsider, "杭州远帆网络科技有限公司", phone="057188880002")
    client = login(employee)
    data = {"name": "杭州远帆网络科技 有限公司", "industry": "it", "level": "C"}
    with django_assert_max_num_queries(DUPLICATE_QUERIES):
        page = client.post(reverse("crm:account_create"), data)
    text = page.content.decode()
    assert page.status_code == 409
    assert f'data-duplicate="{mine.pk}"' in text and f'data-duplicate="{theirs.pk}"' in text
    # a link to the account the person sees; the other by name and owner only
    assert reverse("crm:account", args=[mine.pk]) in text
    assert reverse("crm:account", args=[theirs.pk]) not in text
    assert outsider.display_name in text
    assert Account.objects.count() == 2
