"""The knowledge base's search (``knowledge.search``): the reader's permissions inside the
query, the filters, search as you type, any text as a query, marked and escaped snippets,
what is and is not in the index through CORE's services (publish, a new version, delete,
undelete), the fallback for questions, paging over the ranked groups, suggestions.

Personas (tests/conftest.py): the employee 张伟 reads the public spaces; the colleague 王芳
is a member of the members-only space 「薪酬」; the outsider 刘洋 writes the articles.
"""

from __future__ import annotations

import datetime
import importlib

import pytest
from django.db import connection
from django.utils import timezone

from knowledge import search, services
from knowledge.models import Article, ArticleIndex, Space, Visibility
from portal.models import User
from portal.search import excerpt, highlight, query_terms, query_words
from tests.knowledge.search_helpers import published, space

pytestmark = pytest.mark.django_db

migration = importlib.import_module("knowledge.migrations.0002_search")


@pytest.fixture
def library(employee: User, colleague: User, outsider: User) -> dict[str, Article]:
    """Two public spaces and a members-only one (王芳 is its member)."""
    finance = space("finance", "财务")
    it = space("it", "IT 服务台")
    payroll = space("payroll", "薪酬", visibility=Visibility.MEMBERS, readers=[colleague])
    long_ago = timezone.now() - datetime.timedelta(days=400)
    return {
        "travel": published(
            finance, outsider, title="差旅报销制度", summary="出差的交通、住宿标准",
            body="出差结束后15日内提交报销单，附发票。", tags=["报销", "差旅"], at=long_ago,
        ),
        "invoice": published(
            finance, outsider, title="电子发票常见问题", body="电子发票无需打印，上传即可报销。",
            tags=["发票"],
        ),
        "vpn": published(
            it, employee, title="VPN 客户端安装", summary="连接公司内网",
            body="下载 GlobalProtect，门户地址 vpn.example.cn，编号 IT-042。", tags=["VPN"],
        ),
        "password": published(
            it, outsider, title="Password reset", body="Reset your password in the portal.",
            lang="en",
        ),
        "bonus": published(
            payroll, outsider, title="年终奖报销口径", body="年终奖的发放和个税。", tags=["薪酬"],
        ),
    }  # fmt: skip


def _ids(page: search.SearchPage) -> set[int]:
    return {hit.article_id for hit in page.hits}


def _found(user: User, query: str, **filters: object) -> set[int]:
    return _ids(search.search(user, query, **filters))  # type: ignore[arg-type]


# --- permissions inside the query -------------------------------------------------------------


def test_a_members_only_article_is_found_by_members_only(
    library: dict[str, Article], employee: User, colleague: User
) -> None:
    bonus = library["bonus"].pk
    assert bonus not in _found(employee, "报销")
    assert bonus in _found(colleague, "报销")
    assert search.search(employee, "年终奖").total == 0
    assert search.suggest(employee, "年终") == []
    assert [s.article_id for s in search.suggest(colleague, "年终")] == [bonus]


def test_pages_are_full_and_totals_count_what_the_reader_may_see(
    employee: User, colleague: User, outsider: User
) -> None:
    """Twelve private articles newer than the public ones: a filter after the query would
    empty the employee's first page."""
    public = space("public", "公共")
    private = space("private", "私密", visibility=Visibility.MEMBERS, readers=[colleague])
    start = timezone.now() - datetime.timedelta(days=30)
    for n in range(8):
        published(public, outsider, title=f"报销说明 {n}", at=start + datetime.timedelta(days=n))
    for n in range(12):
        published(
            private, outsider, title=f"报销内部 {n}", at=start + datetime.timedelta(days=10 + n)
        )
    page = search.search(employee, "报销", limit=5)
    assert page.total == 8
    assert len(page.hits) == 5
    assert all(hit.space_key == "public" for hit in page.hits)
    second = search.search(employee, "报销", limit=5, offset=5)
    assert len(second.hits) == 3
    assert _ids(page).isdisjoint(_ids(second))
    assert search.search(colleague, "报销", limit=5).total == 20


def test_paging_through_the_ranked_groups_gives_each_match_once(
    employee: User, outsider: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two candidates ranked per group, the groups (exact title, head, body) still page
    without a gap or a repeat; while a group is cut, the total is a lower bound."""
    monkeypatch.setattr(search, "CANDIDATES", 2)
    public = space("public", "公共")
    made = {published(public, outsider, title="发票").pk}
    made |= {published(public, outsider, title=f"发票问题 {n}").pk for n in range(3)}
    made |= {published(public, outsider, title=f"说明 {n}", body="关于发票").pk for n in range(3)}
    seen: list[int] = []
    for offset in range(0, 8, 2):
        page = search.search(employee, "发票", limit=2, offset=offset)
        seen += [hit.article_id for hit in page.hits]
    assert sorted(seen) == sorted(made)
    first = search.search(employee, "发票", limit=2)
    assert first.capped
    assert first.total >= 2
    assert first.hits[0].title == "发票"  # the exact title first
    titles = [hit.title for hit in search.search(employee, "发票", limit=4).hits]
    assert all(title.startswith("发票问题") for title in titles[1:])
    last = search.search(employee, "发票", limit=2, offset=6)
    assert (last.total, last.capped) == (7, False)


# --- matching and ranking ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("差旅", {"travel"}),  # a word inside a longer title
        ("报销", {"travel", "invoice"}),
        ("票", {"travel", "invoice"}),  # one character
        ("报销 发票", {"travel", "invoice"}),
        ("销报", set()),  # the characters, in another order
        ("vpn", {"vpn"}),
        ("ＶＰＮ", {"vpn"}),  # full width
        ("VP", {"vpn"}),  # typed so far: a prefix
        ("globalpro", {"vpn"}),
        ("IT-042", {"vpn"}),  # an identifier
        ("it042", {"vpn"}),
        ("passw", {"password"}),
        ("PASSWORD RESET", {"password"}),
        ("内网", {"vpn"}),  # the summary
        ("住宿", {"travel"}),
    ],
)
def test_a_query_finds_its_articles(
    library: dict[str, Article], employee: User, query: str, expected: set[str]
) -> None:
    assert _found(employee, query) == {library[key].pk for key in expected}


def test_the_title_ranks_over_the_body_and_an_exact_title_first(
    employee: User, outsider: User
) -> None:
    public = space("public", "公共")
    body = published(public, outsider, title="出差须知", body="年假期间不安排出差。")
    summary = published(public, outsider, title="休假规定", summary="年假和病假")
    title = published(public, outsider, title="带薪年假管理办法")
    exact = published(public, outsider, title="年假")
    page = search.search(employee, "年假")
    assert [hit.article_id for hit in page.hits] == [exact.pk, title.pk, summary.pk, body.pk]
    assert page.hits[0].score > page.hits[1].score > page.hits[2].score > page.hits[3].score


def test_a_question_falls_back_to_any_of_its_words(
    library: dict[str, Article], employee: User
) -> None:
    page = search.search(employee, "怎么报销出差住宿费")
    assert page.hits[0].article_id == library["travel"].pk
    assert "<mark>" in page.hits[0].snippet_html


# --- filters ----------------------------------------------------------------------------------


def test_filters_by_space_tag_owner_and_date(
    library: dict[str, Article], employee: User, colleague: User, outsider: User
) -> None:
    finance = Space.objects.get(key="finance")
    payroll = Space.objects.get(key="payroll")
    travel, invoice = library["travel"].pk, library["invoice"].pk
    assert _found(employee, "报销", space=finance) == {travel, invoice}
    assert _found(employee, "报销", space=finance.pk) == {travel, invoice}
    assert _found(employee, "报销", space=payroll) == set()  # not readable: nothing
    assert _found(colleague, "报销", space=payroll) == {library["bonus"].pk}
    assert _found(employee, "报销", tag="差旅") == {travel}
    assert _found(employee, "报销", tag="发票") == {invoice}
    assert _found(employee, "报销", tag="%") == set()
    assert _found(employee, "vpn", tag="ＶＰＮ") == {library["vpn"].pk}  # folded
    assert _found(employee, "安装", owner=employee) == {library["vpn"].pk}
    assert _found(employee, "安装", owner=outsider.pk) == set()
    today = timezone.localdate()
    assert _found(employee, "报销", since=today) == {invoice}
    assert _found(employee, "报销", until=today - datetime.timedelta(days=100)) == {travel}
    assert _found(employee, "报销", since=today, until=today) == {invoice}


# --- any text is a query ----------------------------------------------------------------------

HOSTILE = [
    "",
    "   ",
    "!!!???。，、",
    "'; DROP TABLE knowledge_article; --",
    "1' OR '1'='1",
    "NEAR(报销 发票)",
    'NEAR("a" "b", 2)',
    '"',
    '"报销',
    '报销"',
    "*",
    "报销*",
    "^报销",
    "a OR b AND NOT c",
    "AND OR NOT",
    "(((报销",
    "{title_terms}: 报销",
    "title_terms:报销",
    "'报销':* & !发票 | <->",
    "%_\\",
    "\\x00",
    "报销\x00发票",
    "\ud800报销",
    "🙂🚀👍",
    "报销🙂",
    "x" * 10_000,
    "报销" * 5_000,
    "报销 " * 3_000,
    "a " * 5_000,
    "ｆｕｌｌ　ｗｉｄｔｈ　報銷",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_any_text_is_a_query(library: dict[str, Article], employee: User, query: str) -> None:
    page = search.search(employee, query, tag=query[:50])
    assert page.total >= len(page.hits) >= 0
    search.search(employee, query)
    search.suggest(employee, query)


def test_a_long_query_is_cut_not_refused(library: dict[str, Article], employee: User) -> None:
    assert _found(employee, "报销" * 5_000) == {library["travel"].pk, library["invoice"].pk}


# --- snippets ---------------------------------------------------------------------------------


def test_snippets_are_escaped_and_marked(employee: User, outsider: User) -> None:
    public = space("public", "公共")
    article = published(
        public,
        outsider,
        title="<b>报销</b> & 发票",
        body="# 说明\n\n" + "前言。" * 80 + "<script>alert(1)</script> 请在**费控系统**提交报销单。"
        + "[链接](javascript:alert(1)) 结尾。" * 40,
    )  # fmt: skip
    (hit,) = search.search(employee, "报销").hits
    assert hit.article_id == article.pk
    assert hit.title_html == "&lt;b&gt;<mark>报销</mark>&lt;/b&gt; &amp; 发票"
    assert "<script>" not in hit.snippet_html
    assert "<mark>报销</mark>单" in hit.snippet_html
    assert "**" not in hit.snippet_html  # Markdown is stripped: 费控系统 is not bold here
    assert "<a" not in hit.snippet_html and "<script" not in hit.snippet_html
    assert hit.snippet_html.startswith("…") and hit.snippet_html.endswith("…")
    assert len(hit.snippet_html) < 400


def test_highlight_marks_whole_words_and_prefixes() -> None:
    terms = query_terms("差旅报销 vpn")
    assert highlight("ＶＰＮ、VPNs 与 vpnx 和 差旅报销单", terms) == (
        "<mark>ＶＰＮ</mark>、<mark>VPNs</mark> 与 <mark>vpnx</mark> 和 <mark>差旅报销</mark>单"
    )
    assert highlight("openvpn", query_terms("vpn")) == "openvpn"
    assert highlight("a < b", query_terms("b")) == "a &lt; <mark>b</mark>"
    assert excerpt("短文本", query_terms("文本")) == "短<mark>文本</mark>"


def test_query_words_split_a_question() -> None:
    assert [[t.token for t in word] for word in query_words("怎么申请年假")] == [["申请"], ["年假"]]
    assert query_words("!!") == []


# --- what is indexed, through CORE's services -------------------------------------------------


def test_publish_a_new_version_delete_and_undelete(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    editor, reader, outsider = kb_people["editor"], kb_people["reader"], kb_people["outsider"]
    assert _found(reader, "VPN") == {kb_article.pk}
    assert _found(outsider, "VPN") == set()  # not a member of the space
    services.article_save(
        by=editor, article_id=kb_article.pk, title="打印机设置", body="添加打印机",
        base_number=1,
    )  # fmt: skip
    assert _found(reader, "打印") == set()  # a draft: the published version is what is found
    assert _found(reader, "连接步骤") == {kb_article.pk}
    services.article_publish(by=editor, article_id=kb_article.pk)
    assert _found(reader, "打印") == {kb_article.pk}
    assert _found(reader, "连接步骤") == set()
    services.article_delete(by=editor, article_id=kb_article.pk)
    assert _found(reader, "打印") == set()
    assert not ArticleIndex.objects.filter(pk=kb_article.pk).exists()
    services.article_undelete(by=kb_people["admin"], article_id=kb_article.pk)
    assert _found(reader, "打印") == {kb_article.pk}


def test_a_draft_is_not_found(kb_space: Space, kb_people: dict[str, User]) -> None:
    editor = kb_people["editor"]
    draft = services.article_create(
        by=editor, space_id=kb_space.pk, title="未发布的打印机指南", body="草稿"
    )
    search.index_article(draft.pk)  # nothing published: nothing to index
    assert _found(editor, "打印机") == set()
    search.index_article(999_999)  # no such article: nothing happens
    assert ArticleIndex.objects.count() == 0


def test_unindex_takes_an_article_out(library: dict[str, Article], employee: User) -> None:
    search.unindex_article(library["vpn"].pk)
    assert _found(employee, "VPN") == set()
    search.index_article(library["vpn"].pk)
    assert _found(employee, "VPN") == {library["vpn"].pk}


def test_index_articles_indexes_in_bulk(library: dict[str, Article], employee: User) -> None:
    ArticleIndex.objects.all().delete()
    assert _found(employee, "报销") == set()
    assert search.index_articles([article.pk for article in library.values()], batch=2) == 5
    assert _found(employee, "报销") == {library["travel"].pk, library["invoice"].pk}


def test_plain_text_drops_markup() -> None:
    text = search.plain_text(
        "# 标题\n\n**粗体** [链接](https://x.example) ![图](a.png)\n\n```\ncode\n```\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n<div onclick=x>raw</div>"
    )
    assert text == "标题 粗体 链接 图 code a b 1 2"


# --- suggestions ------------------------------------------------------------------------------


def test_suggestions_are_titles_as_typed(library: dict[str, Article], employee: User) -> None:
    assert [s.title for s in search.suggest(employee, "差旅报")] == ["差旅报销制度"]
    assert [s.title for s in search.suggest(employee, "pass")] == ["Password reset"]
    assert [s.title for s in search.suggest(employee, "vp")] == ["VPN 客户端安装"]
    assert search.suggest(employee, "内网") == []  # in a summary, not a title
    assert search.suggest(employee, "") == []
    (first, *_rest) = search.suggest(employee, "报销")
    assert first.space_name == "财务"


# --- the migration ----------------------------------------------------------------------------


def test_the_index_has_its_database_parts(db_vendor: str) -> None:
    with connection.cursor() as cursor:
        if db_vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE %s ORDER BY name",
                [f"{migration.FTS}%"],
            )
            names = {row[0] for row in cursor.fetchall()}
            assert {migration.FTS, f"{migration.FTS}_insert", f"{migration.FTS}_delete"} <= names
            assert f"{migration.FTS}_update" in names
        else:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = %s", [migration.INDEX]
            )
            names = {row[0] for row in cursor.fetchall()}
            assert {"knowledge_index_head", "knowledge_index_document"} <= names


def test_the_date_filters_hold_after_midnight_in_beijing(
    library: dict[str, Article], employee: User
) -> None:
    """Published at 00:30 in Beijing (16:30 UTC the day before): "since that day" finds it
    and "until the day before" does not, on both databases (SQLite stores UTC text)."""
    invoice = library["invoice"].pk
    moment = datetime.datetime(2026, 12, 6, 16, 30, tzinfo=datetime.UTC)  # 12-07 00:30 +08
    ArticleIndex.objects.filter(article_id=invoice).update(published_at=moment)
    day = datetime.date(2026, 12, 7)
    assert invoice in _found(employee, "报销", since=day)
    assert invoice in _found(employee, "报销", since=day, until=day)
    assert invoice not in _found(employee, "报销", until=day - datetime.timedelta(days=1))
    assert invoice not in _found(employee, "报销", since=day + datetime.timedelta(days=1))
