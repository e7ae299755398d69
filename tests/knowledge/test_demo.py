"""The knowledge base's part of ``seed_demo`` (``knowledge.demo``) and the help centre's files.

The content files parse as ``import_articles`` parses them; the help centre has a manual and
an FAQ for each role in each language; a seeded database holds what the demo promises (the
spaces and their members, at least 60 articles of the demo company, versions, feedback, view
counts, related articles, a process guide, one article in a finance reviewer's to-do list and
one past its review date), and a second run changes nothing.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from knowledge import demo, selectors
from knowledge.importing import Entry, parse_markdown_file, read_entries
from knowledge.models import (
    Article,
    ArticleGuide,
    ArticleVersion,
    AuditEvent,
    Feedback,
    Language,
    Space,
    SpaceRole,
    Visibility,
)
from portal.models import User
from workflow.selectors.inbox import tasks_todo

CJK = re.compile(r"[\u4e00-\u9fff]")


def entries(folder: Path) -> list[Entry]:
    found, problems = read_entries(folder)
    assert problems == []
    return found


# --- the files (no database) ------------------------------------------------------------------


@pytest.mark.parametrize("lang", demo.HELP_LANGUAGES)
@pytest.mark.parametrize("kind", demo.HELP_KINDS)
@pytest.mark.parametrize("role", demo.HELP_ROLES)
def test_help_centre_has_a_manual_and_faq_per_role_and_language(role, kind, lang):
    entry = parse_markdown_file(demo.HELP_DIR / lang / f"{role}-{kind}.md")
    assert isinstance(entry, Entry), entry
    assert entry.space == demo.HELP_SPACE
    assert entry.lang == lang
    assert entry.summary and entry.tags
    assert len(entry.body) > 1000  # a real page, not a stub
    assert bool(CJK.search(entry.title)) == (lang == Language.CHINESE)


def test_help_articles_come_in_pairs_of_languages():
    by_lang = {
        lang: sorted(p.name for p in (demo.HELP_DIR / lang).glob("*.md"))
        for lang in demo.HELP_LANGUAGES
    }
    assert by_lang[Language.CHINESE] == by_lang[Language.ENGLISH]
    assert len(by_lang[Language.ENGLISH]) >= len(demo.HELP_ROLES) * len(demo.HELP_KINDS)


def test_help_names_the_ui_as_it_is_labelled():
    """The manuals name the buttons and menus by the words the UI shows (zh-Hans catalogue)."""
    text = "\n".join(e.body for e in entries(demo.HELP_DIR / Language.CHINESE))
    for words in (
        "待办中心",
        "发起申请",
        "我的草稿",
        "保存草稿",
        "加急",
        "审批流程",
        "我发起的",
        "抄送我的",
        "批量同意",
        "全选可同意的任务",
        "常用语",
        "管理常用语",
        "外出代理",
        "导出 Excel",
        "下载 PDF",
        "监控台",
        "作业队列",
        "流程设计器",
        "模拟运行",
        "保存翻译",
        "工作日历",
        "假期余额",
        "OAuth2 接入应用",
        "允许的权限范围",
    ):
        assert words in text, words
    for action in ("同意", "驳回", "退回", "撤回", "撤销", "转办", "委派", "加签", "减签"):
        assert f"**{action}" in text, action
    for action in ("抄送", "催办", "会签", "归还", "重新提交"):
        assert action in text, action


@pytest.mark.parametrize("spec", demo.SPACES, ids=lambda s: s.key)
def test_demo_files_parse_and_belong_to_their_space(spec):
    found = entries(spec.folder)
    assert found
    titles = [e.title for e in found]
    assert len(titles) == len(set(titles))
    for entry in found:
        assert entry.space == spec.key
        assert entry.summary, entry.source
        # several paragraphs, a list or a table: real content
        assert len(entry.body) > 250, entry.source
        assert entry.body.count("\n\n") >= 3, entry.source


def test_demo_company_has_sixty_articles_mostly_chinese_some_english():
    found = [e for spec in demo.SPACES if spec.key != demo.HELP_SPACE for e in entries(spec.folder)]
    assert len(found) >= 60
    english = [e for e in found if e.lang == Language.ENGLISH]
    assert 3 <= len(english) < len(found) / 4
    assert sum("|---|" in e.body for e in found) >= 20  # a table here and there
    titles = {e.title for e in found}
    for title in (
        "差旅报销制度",
        "年假与调休规定",
        "VPN 连接指南",
        "新员工入职指南",
        "报价审批流程",
    ):
        assert title in titles


def test_named_articles_exist_in_the_content():
    titles = {e.title for spec in demo.SPACES for e in entries(spec.folder)}
    assert demo.UNDER_REVIEW in titles
    assert demo.OUTDATED in titles
    assert set(demo.HISTORY) <= titles
    assert set(demo.FEEDBACK) <= titles
    assert set(demo.GUIDES) <= titles
    assert set(demo.related_pairs()) <= titles


# --- the seeded database ---------------------------------------------------------------------


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", allow_production=True, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot() -> dict[str, Any]:
    """Everything the knowledge base's seeder writes, to compare two runs."""
    return {
        "spaces": list(Space.objects.order_by("pk").values_list()),
        "articles": list(Article.objects.order_by("pk").values_list()),
        "versions": list(
            ArticleVersion.objects.order_by("pk").values_list("pk", "article", "number")
        ),
        "feedback": list(Feedback.objects.order_by("pk").values_list()),
        "guides": list(ArticleGuide.objects.order_by("pk").values_list()),
        "related": sorted(
            Article.related.through.objects.values_list("from_article", "to_article")
        ),
        "audit": AuditEvent.objects.count(),
        "members": sorted(
            (m.role, m.user.username if m.user else f"group:{m.group.pk if m.group else ''}", s.key)
            for s in Space.objects.all()
            for m in selectors.members_of(s)
        ),
    }


def user(username: str) -> User:
    return User.objects.get(username=username)


def published(space: str) -> int:
    return Article.objects.filter(
        space__key=space, published_version__isnull=False, deleted_at__isnull=True
    ).count()


@pytest.mark.django_db
def test_seed_creates_what_the_demo_promises_and_a_second_run_changes_nothing():
    out = seed()
    assert "Knowledge base is ready" in out

    # the spaces: four of the company's and the help centre, with their people
    spaces = {s.key: s for s in Space.objects.all()}
    assert set(spaces) >= {"help", "hr", "finance", "it", "sales"}
    assert spaces["finance"].requires_review
    assert spaces["sales"].visibility == Visibility.DEPARTMENT
    assert spaces["sales"].department is not None and spaces["sales"].department.code == "SALES"
    assert spaces["help"].visibility == Visibility.PUBLIC
    members = {(m.user.username, m.role) for m in selectors.members_of(spaces["finance"]) if m.user}
    assert ("wangxiuying", SpaceRole.ADMIN) in members
    assert any(m.group is not None for m in selectors.members_of(spaces["finance"]))
    assert "read_space" in selectors.space_permissions(user("zhangwei"), spaces["sales"])
    assert selectors.space_permissions(user("wulei"), spaces["sales"]) == set()

    # at least 60 published articles of the demo company, the help centre complete
    company = sum(published(key) for key in ("hr", "finance", "it", "sales"))
    assert company >= 60
    help_articles = Article.objects.filter(space__key="help", published_version__isnull=False)
    for lang in demo.HELP_LANGUAGES:
        for role in demo.HELP_ROLES:
            for kind in demo.HELP_KINDS:
                entry = parse_markdown_file(demo.HELP_DIR / lang / f"{role}-{kind}.md")
                assert isinstance(entry, Entry)
                assert help_articles.filter(title=entry.title, lang=lang).exists(), entry.title

    # the finance articles were published through the review
    travel = Article.objects.get(title="差旅报销制度")
    assert travel.review_instance_id is not None
    assert selectors.review_state(travel) == "published"

    # one article waits in review, in a finance reviewer's to-do list, not its writer's
    waiting = Article.objects.get(title=demo.UNDER_REVIEW)
    assert selectors.review_state(waiting) == "in_review"
    assert not waiting.is_published
    assert tasks_todo(user("huangli")).filter(instance_id=waiting.review_instance_id).exists()
    assert not tasks_todo(waiting.owner).filter(instance_id=waiting.review_instance_id).exists()

    # one is past its review date
    outdated = Article.objects.get(title=demo.OUTDATED)
    assert outdated.is_published and outdated.may_be_outdated()
    assert (
        Article.objects.filter(published_version__isnull=False)
        .exclude(pk=outdated.pk)
        .filter(review_date__lt=outdated.review_date)
        .count()
        == 0
    )

    # history: several versions, the published one the latest
    assert travel.versions.count() == 3
    assert travel.published_version is not None and travel.published_version.number == 3
    assert [v.number for v in selectors.versions_of(travel)] == [3, 2, 1]
    assert Article.objects.filter(latest_number__gte=2).count() >= len(demo.HISTORY)

    # feedback both ways, with comments, and view counts that differ
    assert Feedback.objects.filter(helpful=True).count() >= 60
    assert Feedback.objects.filter(helpful=False).exclude(comment="").exists()
    counts = set(
        Article.objects.filter(published_version__isnull=False).values_list("view_count", flat=True)
    )
    assert len(counts) > 20 and min(counts) >= 5
    assert selectors.most_read(user("zhangwei"), limit=5)

    # related articles (both ways) and a guide on a demo process's step
    related = set(Article.objects.get(title="VPN 连接指南").related.values_list("title", flat=True))
    assert {"多因素认证（MFA）设置", "How to connect to the VPN"} <= related
    assert "VPN 连接指南" in Article.objects.get(
        title="How to connect to the VPN"
    ).related.values_list("title", flat=True)
    guides = selectors.guides_for(user("huangli"), "expense_claim", "Task_FinanceReview")
    assert [a.title for a in guides] == ["费用报销审核要点"]

    # a second run changes nothing
    before = snapshot()
    again = seed()
    assert "this run: nothing to do" in again
    assert snapshot() == before
