"""The knowledge base's reads (knowledge/selectors.py): who reads which space, what a person
sees of an article, lists, tags, the side-by-side diff, the audit trail."""

from __future__ import annotations

import pytest

from knowledge import selectors, services
from knowledge.models import Article, Space, Visibility
from portal.errors import NotFound
from portal.models import Department, User
from tests.factories import UserFactory, department


def test_public_spaces_are_read_by_everyone(kb_people: dict[str, User], superuser: User) -> None:
    space = services.space_create(
        by=superuser, key="all", name="全员", visibility=Visibility.PUBLIC
    )
    assert space.pk in selectors.readable_space_ids(kb_people["outsider"])
    assert selectors.space_permissions(kb_people["outsider"], space) == {"read_space"}
    inactive = UserFactory.create(username="gone", is_active=False)
    assert selectors.readable_space_ids(inactive) == set()


def test_a_department_space_is_read_by_its_subtree(
    org: dict[str, Department], kb_people: dict[str, User], superuser: User
) -> None:
    space = services.space_create(
        by=superuser,
        key="sales",
        name="销售",
        visibility=Visibility.DEPARTMENT,
        department=org["sales"],
    )
    east = kb_people["editor"]  # 华东区, below 销售部
    head = kb_people["reader"]  # 销售部 itself
    finance = kb_people["outsider"]
    deeper = department("SALES-E-SH", "上海", parent=org["east"])
    shanghai = UserFactory.create(username="sh", department=deeper)
    assert space.pk in selectors.readable_space_ids(east)
    assert space.pk in selectors.readable_space_ids(head)
    assert space.pk in selectors.readable_space_ids(shanghai)
    assert space.pk not in selectors.readable_space_ids(finance)
    # a sibling whose code starts alike is not inside (the path, not the code, decides)
    sibling = department("SALES2", "销售二部", parent=org["root"])
    assert space.pk not in selectors.readable_space_ids(
        UserFactory.create(username="s2", department=sibling)
    )
    with pytest.raises(NotFound):
        selectors.space_for(finance, "sales")
    assert selectors.space_for(east, "sales") == space


def test_readable_space_ids_costs_one_query(
    kb_space: Space, kb_people: dict[str, User], django_assert_max_num_queries
) -> None:
    editor = User.objects.get(pk=kb_people["editor"].pk)
    with django_assert_max_num_queries(2):
        assert kb_space.pk in selectors.readable_space_ids(editor)


def test_members_only_space_hides_from_non_members(
    kb_article: Article, kb_people: dict[str, User], superuser: User
) -> None:
    outsider = kb_people["outsider"]
    with pytest.raises(NotFound):
        selectors.space_for(outsider, "it")
    with pytest.raises(NotFound):
        selectors.article_for(outsider, kb_article.pk)
    assert not selectors.articles_for(outsider).exists()
    assert selectors.article_for(superuser, kb_article.pk) == kb_article


def test_drafts_are_seen_by_those_who_work_on_them(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    draft = services.article_create(
        by=kb_people["editor"], space_id=kb_space.pk, title="草稿", body=""
    )
    for role in ("editor", "reviewer", "admin"):
        assert selectors.article_for(kb_people[role], draft.pk) == draft
    with pytest.raises(NotFound):
        selectors.article_for(kb_people["reader"], draft.pk)


def test_lists_and_tags(kb_article: Article, kb_people: dict[str, User]) -> None:
    editor, reader = kb_people["editor"], kb_people["reader"]
    second = services.article_create(
        by=editor, space_id=kb_article.space_id, title="打印机", body="", tags=["vpn", "打印"]
    )
    services.article_publish(by=editor, article_id=second.pk)
    services.article_viewed(by=reader, article_id=kb_article.pk)
    assert selectors.most_read(reader)[0] == kb_article
    assert selectors.recently_updated(reader, space=kb_article.space)[0] == second
    assert selectors.space_tags(kb_article.space) == [("vpn", 2), ("打印", 1), ("远程办公", 1)]
    assert selectors.most_read(kb_people["outsider"]) == []


def test_version_diff_marks_changed_characters_escaped(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    services.article_save(
        by=kb_people["editor"],
        article_id=kb_article.pk,
        title="VPN 连接指南（新版）",
        summary="在家办公时如何连接公司 VPN",
        body="# 连接步骤\n\n1. 打开<客户端>\n2. 输入工号和密码\n3. 新的一行\n",
        tags=["VPN"],
    )
    diff = selectors.version_diff(kb_article, 2, 1)
    assert diff.old.number == 1 and diff.new.number == 2 and diff.changed
    sections = {s.name: s for s in diff.sections}
    title = sections["title"].rows[0]
    assert title.kind == "changed" and title.right == "VPN 连接指南<ins>（新版）</ins>"
    body = sections["body"].rows
    changed = [row for row in body if row.kind == "changed"]
    assert changed[0].left == "1. 打开客户端" or "<ins>&lt;</ins>" in changed[0].right
    assert "<ins>&lt;</ins>" in changed[0].right and "<script" not in changed[0].right
    assert [row.kind for row in body].count("added") == 1
    assert [row.kind for row in sections["tags"].rows] == ["equal", "removed"]
    assert not sections["summary"].changed
    with pytest.raises(NotFound):
        selectors.version_diff(kb_article, 1, 7)


def test_the_audit_trail_says_who_did_what(kb_article: Article, kb_people: dict[str, User]) -> None:
    trail = list(selectors.audit_trail(kb_article))
    assert [e.action for e in trail] == ["published", "created"]
    assert {e.actor for e in trail} == {kb_people["editor"]}
    assert [v.number for v in selectors.versions_of(kb_article)] == [1]
