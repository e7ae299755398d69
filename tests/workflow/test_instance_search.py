"""Text search of instances by index (issue 16): the segmentation service
(``portal.search``), the ``search`` column the engine writes, the inbox's and the console's
search through it on SQLite (FTS5) and PostgreSQL (GIN), the migration's backfill."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection

from portal.models import User
from portal.search import Term, fts5_query, query_terms, search_text, segment, tsquery
from tests.workflow.approval_helpers import deploy_steps, open_task, user_task
from workflow.models import ProcessInstance, Task
from workflow.selectors import inbox, statistics
from workflow.selectors.inbox import InboxFilter, inbox_page
from workflow.selectors.search import instance_search_text, instances_matching
from workflow.services import approvals, engine

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("workflow.migrations.0010_instance_search")


# --- segmentation ----------------------------------------------------------------------------


def test_segment_gives_characters_pairs_and_jieba_words() -> None:
    tokens = segment("上海恒通贸易有限公司")
    assert tokens[:3] == ["上", "海", "恒"]
    assert {"上海", "恒通", "公司", "有限公司"} <= set(tokens)
    assert len(tokens) == len(set(tokens))


def test_segment_folds_width_and_case_and_splits_identifiers() -> None:
    assert segment("ＶＰＮ 开通 FIN-007 2024年") == [
        "vpn", "开", "通", "开通", "fin", "007", "2024", "年",
    ]  # fmt: skip
    assert segment("VPN2") == ["vpn", "2"]
    assert search_text("", "Café", "café") == "café"


def test_query_terms_and_their_database_forms() -> None:
    terms = query_terms("张伟的  ＦＩＮ-007 票 !!")
    assert terms == [
        Term("张伟"), Term("伟的"), Term("fin"), Term("007", prefix=True), Term("票"),
    ]  # fmt: skip
    assert tsquery(terms) == "'张伟' & '伟的' & 'fin' & '007':* & '票'"
    assert fts5_query(terms) == '"张伟" AND "伟的" AND "fin" AND "007"* AND "票"'
    assert query_terms(" !! ") == []


# --- the column and the index ------------------------------------------------------------------


@pytest.fixture
def travel(db: None) -> str:
    return deploy_steps(user_task("Approve", assignee="${manager(initiator)}"), key="travel")


def _start(user: User, title: str, business_key: str = "") -> int:
    return engine.instance_start(
        "travel", initiator=user, title=title, business_key=business_key, variables={}
    )


def _found(text: str) -> set[int]:
    matching = ProcessInstance.objects.filter(instances_matching(text))
    return set(matching.values_list("pk", flat=True))


@pytest.fixture
def titles(travel: str, employee: User, colleague: User) -> dict[str, int]:
    return {
        "trip": _start(employee, "张伟的差旅报销单", business_key="FIN-007"),
        "invoice": _start(employee, "发票报销"),
        "vpn": _start(colleague, "VPN 开通申请"),
    }


def test_the_engine_writes_the_search_column(titles: dict[str, int]) -> None:
    row = ProcessInstance.objects.get(pk=titles["trip"])
    assert row.search == search_text("张伟的差旅报销单", row.definition.name, "FIN-007")
    assert row.search.startswith("张 伟 的 差 旅 报 销 单 张伟 伟的 的差 差旅 ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("差旅", {"trip"}),  # two characters inside a longer title
        ("票", {"invoice"}),  # one character
        ("报销", {"trip", "invoice"}),
        ("差旅 报销", {"trip"}),  # every word
        ("旅差", set()),  # the characters, but not in this order
        ("的差旅报", {"trip"}),
        ("VPN", {"vpn"}),
        ("vpn", {"vpn"}),
        ("ＶＰＮ", {"vpn"}),  # full width
        ("FIN-007", {"trip"}),  # the business key
        ("fin007", {"trip"}),
        ("FIN-00", {"trip"}),  # a word or number typed so far matches as a prefix
        ("!!", set()),
    ],
)
def test_a_word_finds_its_instances(titles: dict[str, int], text: str, expected: set[str]) -> None:
    assert _found(text) == {titles[name] for name in expected}


def test_a_changed_title_is_indexed_again(titles: dict[str, int]) -> None:
    pk = titles["invoice"]
    ProcessInstance.objects.filter(pk=pk).update(
        title="会议室预订",
        search=instance_search_text(title="会议室预订", process_name="", business_key=""),
    )
    assert _found("票") == set()
    assert _found("会议") == {pk}


def test_a_deleted_instance_leaves_the_index(titles: dict[str, int]) -> None:
    pk = titles["vpn"]
    Task.objects.filter(instance_id=pk).delete()
    ProcessInstance.objects.filter(pk=pk).delete()
    assert _found("VPN") == set()


# --- the inbox and the console ------------------------------------------------------------------


def _titles(user: User, tab: Any, q: str) -> set[str]:
    page = inbox_page(user, tab, InboxFilter(q=q))
    return {row.instance.title if kind != "instance" else row.title for kind, row in page.rows}


def test_the_inbox_finds_the_words_of_its_own_rows_only(
    titles: dict[str, int], employee: User, dept_head: User, outsider: User
) -> None:
    assert _titles(dept_head, "todo", "差旅") == {"张伟的差旅报销单"}
    assert _titles(dept_head, "todo", "票") == {"发票报销"}
    assert _titles(dept_head, "todo", "ＶＰＮ") == {"VPN 开通申请"}
    assert _titles(employee, "started", "报销") == {"张伟的差旅报销单", "发票报销"}
    assert _titles(employee, "started", "VPN") == set()  # 王芳's request
    assert _titles(outsider, "todo", "报销") == set()
    assert _titles(outsider, "started", "报销") == set()
    # people's names are searched as before, beside the text index
    assert _titles(dept_head, "todo", "王芳") == {"VPN 开通申请"}


def test_the_people_a_search_names_are_read_once_or_stay_a_subquery(
    titles: dict[str, int], dept_head: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page's sources share the people the search names (one read); a word that names
    more than ``PEOPLE_LISTED`` people stays a subquery, and finds the same rows."""
    given = InboxFilter(q="王芳")
    assert given.people == ["wangfang"] and given.people is given.people
    assert _titles(dept_head, "todo", "王芳") == {"VPN 开通申请"}
    monkeypatch.setattr(inbox, "PEOPLE_LISTED", 0)
    assert not isinstance(InboxFilter(q="王芳").people, list)
    assert _titles(dept_head, "todo", "王芳") == {"VPN 开通申请"}


def test_the_inbox_finds_done_tasks_by_a_word(titles: dict[str, int], dept_head: User) -> None:
    engine.task_complete(open_task(titles["invoice"]).pk, actor=dept_head)
    assert _titles(dept_head, "done", "票") == {"发票报销"}
    assert _titles(dept_head, "todo", "票") == set()


@pytest.mark.parametrize("listed", [1000, 1, 0])
def test_a_search_names_its_instances_by_id_or_by_a_subquery(
    titles: dict[str, int],
    employee: User,
    colleague: User,
    dept_head: User,
    listed: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The instances a search finds by their words or initiator are read once and named by
    id up to ``INSTANCES_LISTED``; more stay a subquery. Every tab, and 已办's completed and
    handed-on halves, finds the same rows either way, by word, by initiator and by step."""
    monkeypatch.setattr(inbox, "INSTANCES_LISTED", listed)
    given = InboxFilter(q="报销")
    if listed >= 2:
        assert sorted(given.instances or []) == sorted([titles["trip"], titles["invoice"]])
        assert given.instances is given.instances
    else:
        assert given.instances is None
    assert _titles(dept_head, "todo", "报销") == {"张伟的差旅报销单", "发票报销"}
    assert _titles(dept_head, "todo", "王芳") == {"VPN 开通申请"}  # the initiator
    assert _titles(employee, "started", "差旅") == {"张伟的差旅报销单"}
    engine.task_complete(open_task(titles["invoice"]).pk, actor=dept_head)
    approvals.task_transfer(open_task(titles["trip"]).pk, user=dept_head, to=colleague.username)
    assert _titles(dept_head, "done", "报销") == {"张伟的差旅报销单", "发票报销"}
    assert _titles(dept_head, "done", "差旅") == {"张伟的差旅报销单"}  # handed on
    assert _titles(dept_head, "done", "票") == {"发票报销"}  # completed
    assert _titles(dept_head, "done", "Approve") == {"张伟的差旅报销单", "发票报销"}  # the step
    assert _titles(dept_head, "done", "approv") == {"张伟的差旅报销单", "发票报销"}
    assert _titles(dept_head, "done", "VPN") == set()
    assert _titles(dept_head, "done", "张三丰") == set()


def test_the_console_searches_words_business_keys_and_ids(titles: dict[str, int]) -> None:
    def found(text: str) -> set[int]:
        rows = statistics.console_instances(statistics.InstanceFilter(search=text))
        return set(rows.values_list("pk", flat=True))

    assert found("差旅") == {titles["trip"]}
    assert found("FIN-007") == {titles["trip"]}
    assert found(str(titles["vpn"])) == {titles["vpn"]}


# --- the migration ------------------------------------------------------------------------------


class _Editor:
    """What the migration's ``fill`` uses of a schema editor (a real one cannot be opened
    inside the test's transaction on SQLite)."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_migration_fills_existing_rows(titles: dict[str, int]) -> None:
    ProcessInstance.objects.update(search="")
    assert _found("差旅") == set()
    if connection.vendor == "postgresql":
        # PostgreSQL creates no index while this test's own inserts wait for their deferred
        # foreign key checks (a migration's updates of ``search`` leave none: no key changes)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    backfill.fill(django_apps, _Editor())
    assert _found("差旅") == {titles["trip"]}
    assert _found("VPN") == {titles["vpn"]}


def test_sqlite_keeps_its_triggers(db_vendor: str) -> None:
    """A later migration that rebuilds the instance table on SQLite drops the triggers that
    keep the FTS5 table in step: it must create them again."""
    if db_vendor != "sqlite":
        pytest.skip("SQLite's FTS5 table")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [backfill.INSTANCES],
        )
        names = {row[0] for row in cursor.fetchall()}
    assert {f"{backfill.FTS}_{kind}" for kind in ("insert", "delete", "update")} <= names


def test_postgresql_reads_the_gin_index(db_vendor: str, titles: dict[str, int]) -> None:
    if db_vendor != "postgresql":
        pytest.skip("PostgreSQL's GIN index")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = ProcessInstance.objects.filter(instances_matching("差旅")).explain()
    assert "instance_search_vector" in plan  # the GIN index on the stored column (0011)


def test_postgresql_tests_a_joined_instance_on_its_stored_vector(
    db_vendor: str, titles: dict[str, int]
) -> None:
    """From a person's tasks, each instance is tested on its stored ``search_vector``: no
    ``to_tsvector`` per row, no list of every matching instance first."""
    if db_vendor != "postgresql":
        pytest.skip("PostgreSQL's stored tsvector")
    sql = str(Task.objects.filter(instances_matching("差旅", path="instance__")).query)
    assert '"workflow_processinstance"."search_vector" @@' in sql
    assert "to_tsvector" not in sql
    assert set(
        Task.objects.filter(instances_matching("差旅", path="instance__")).values_list(
            "instance_id", flat=True
        )
    ) == {titles["trip"]}
