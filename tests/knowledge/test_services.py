"""The knowledge base's writes (knowledge/services.py): versions, publishing without review,
the recycle bin, feedback, attachments, membership, and who may do each."""

from __future__ import annotations

import datetime
import os
from collections.abc import Iterator

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from knowledge import selectors, services
from knowledge.models import (
    Article,
    ArticleAttachment,
    ArticleGuide,
    ArticleVersion,
    AuditAction,
    AuditEvent,
    Feedback,
    Space,
    SpaceRole,
    Visibility,
)
from knowledge.tasks import purge_recycle_bin
from portal.errors import Conflict, NotFound, Refused
from portal.models import User
from tests.factories import UserFactory, role
from tests.workflow.approval_helpers import deploy_steps, user_task
from workflow import previews


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The refusals are checked by their English words (the UI's default is Chinese)."""
    with translation.override("en"):
        yield


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84"
    b"\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _new(space: Space, editor: User, **changes: object) -> Article:
    fields: dict[str, object] = {"title": "年假申请", "body": "第一版", "tags": ["假期"]}
    fields.update(changes)
    return services.article_create(by=editor, space_id=space.pk, **fields)  # type: ignore[arg-type]


# --- versions ----------------------------------------------------------------------------------


def test_every_save_is_a_new_version_and_the_working_copy(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    editor = kb_people["editor"]
    article = _new(kb_space, editor)
    version = services.article_save(
        by=editor,
        article_id=article.pk,
        title="年假申请流程",
        body="第二版",
        tags=["ＶＰＮ", " Leave ", "leave"],
        base_number=1,
    )
    article.refresh_from_db()
    assert version.number == 2 == article.latest_number
    assert (article.title, article.body) == ("年假申请流程", "第二版")
    assert version.tags == ["vpn", "leave"]  # folded: full width, case, spaces; once each
    assert sorted(article.tags.values_list("name", flat=True)) == ["leave", "vpn"]
    assert list(
        ArticleVersion.objects.filter(article=article).values_list("number", flat=True)
    ) == [
        2,
        1,
    ]
    assert list(
        AuditEvent.objects.filter(article=article).values_list("action", "version").order_by("id")
    ) == [(AuditAction.CREATED, 1), (AuditAction.SAVED, 2)]


def test_a_save_on_an_older_version_is_a_conflict_naming_who_saved(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    editor, admin = kb_people["editor"], kb_people["admin"]
    article = _new(kb_space, editor)
    services.article_save(by=admin, article_id=article.pk, title="t", body="admin's", base_number=1)
    with pytest.raises(Conflict) as caught:
        services.article_save(
            by=editor, article_id=article.pk, title="t", body="mine", base_number=1
        )
    assert admin.display_name in str(caught.value) and "2" in str(caught.value)
    assert Article.objects.get(pk=article.pk).body == "admin's"


def test_bad_text_names_every_field_and_saves_nothing(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    article = _new(kb_space, kb_people["editor"])
    with pytest.raises(ValidationError) as caught:
        services.article_save(
            by=kb_people["editor"],
            article_id=article.pk,
            title=" ",
            body="x" * 200_001,
            tags=[f"t{i}" for i in range(11)],
            lang="fr",
        )
    assert set(caught.value.message_dict) == {"title", "body", "tags", "lang"}
    with pytest.raises(ValidationError) as long_tag:
        services.article_save(
            by=kb_people["editor"], article_id=article.pk, title="t", body="", tags=["x" * 41]
        )
    assert "tags" in long_tag.value.message_dict
    assert Article.objects.get(pk=article.pk).latest_number == 1


def test_restore_an_old_version_as_a_new_one(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    editor = kb_people["editor"]
    services.article_save(by=editor, article_id=kb_article.pk, title="改过的", body="新正文")
    restored = services.article_restore_version(by=editor, article_id=kb_article.pk, number=1)
    assert restored.number == 3 and restored.restored_from == 1
    assert restored.title == "VPN 连接指南" and restored.body.startswith("# 连接步骤")
    with pytest.raises(NotFound):
        services.article_restore_version(by=editor, article_id=kb_article.pk, number=9)


# --- permissions ---------------------------------------------------------------------------


def test_a_reader_cannot_write_and_an_outsider_cannot_see(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    with pytest.raises(Refused):
        services.article_save(by=kb_people["reader"], article_id=kb_article.pk, title="x", body="")
    with pytest.raises(Refused):
        _new(kb_article.space, kb_people["reader"])
    with pytest.raises(NotFound):  # members only: he is not a member
        services.article_save(
            by=kb_people["outsider"], article_id=kb_article.pk, title="x", body=""
        )
    with pytest.raises(NotFound):
        services.feedback_give(by=kb_people["outsider"], article_id=kb_article.pk, helpful=True)
    assert Article.objects.get(pk=kb_article.pk).latest_number == 1


def test_a_reviewer_neither_writes_nor_publishes(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    article = _new(kb_space, kb_people["editor"])
    with pytest.raises(Refused):
        services.article_publish(by=kb_people["reviewer"], article_id=article.pk)
    with pytest.raises(Refused):
        services.article_save(by=kb_people["reviewer"], article_id=article.pk, title="x", body="")


def test_creating_a_space_needs_the_model_permission(
    kb_people: dict[str, User], superuser: User
) -> None:
    with pytest.raises(Refused):
        services.space_create(
            by=kb_people["editor"], key="x", name="X", visibility=Visibility.PUBLIC
        )
    space = services.space_create(by=superuser, key="fin", name="财务", visibility="public")
    assert selectors.space_permissions(superuser, space) == set(selectors.SPACE_PERMISSIONS)
    with pytest.raises(ValidationError) as caught:
        services.space_create(
            by=superuser, key="fin", name="", visibility=Visibility.DEPARTMENT, review_months=0
        )
    assert {"key", "name", "department", "review_months"} <= set(caught.value.message_dict)


# --- publishing without review -------------------------------------------------------------


def test_publishing_shows_the_version_and_sets_the_review_date(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    editor, reader = kb_people["editor"], kb_people["reader"]
    article = _new(kb_space, editor)
    assert not selectors.articles_for(reader).filter(pk=article.pk).exists()
    services.article_publish(by=editor, article_id=article.pk)
    article.refresh_from_db()
    assert article.published_version is not None and article.published_version.number == 1
    today = timezone.localdate()
    assert article.review_date == services.add_months(today, 12)
    assert selectors.articles_for(reader).filter(pk=article.pk).exists()
    services.article_save(by=editor, article_id=article.pk, title="草稿", body="未发布")
    article.refresh_from_db()
    assert article.published_version is not None and article.published_version.number == 1
    assert selectors.review_state(article) == "none"
    services.article_publish(by=editor, article_id=article.pk)
    article.refresh_from_db()
    assert article.published_version is not None and article.published_version.number == 2
    assert selectors.review_state(article) == "published"


def test_a_review_space_refuses_publishing_by_hand(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    article = _new(kb_review_space, kb_people["editor"])
    with pytest.raises(Refused, match="submit it for review"):
        services.article_publish(by=kb_people["admin"], article_id=article.pk)


def test_add_months_clamps_to_the_month_end() -> None:
    assert services.add_months(datetime.date(2024, 1, 31), 1) == datetime.date(2024, 2, 29)
    assert services.add_months(datetime.date(2024, 11, 15), 12) == datetime.date(2025, 11, 15)


# --- recycle bin ---------------------------------------------------------------------------


def test_delete_undelete_and_purge(kb_article: Article, kb_people: dict[str, User]) -> None:
    editor, admin, reader = kb_people["editor"], kb_people["admin"], kb_people["reader"]
    with pytest.raises(Refused):
        services.article_delete(by=reader, article_id=kb_article.pk)
    services.article_delete(by=editor, article_id=kb_article.pk)  # the owner
    assert not selectors.articles_for(reader).filter(pk=kb_article.pk).exists()
    with pytest.raises(NotFound):
        selectors.article_for(editor, kb_article.pk)
    assert list(selectors.recycle_bin(admin, kb_article.space)) == [kb_article]
    assert not selectors.recycle_bin(editor, kb_article.space).exists()
    with pytest.raises(NotFound):
        services.article_undelete(by=editor, article_id=kb_article.pk)
    services.article_undelete(by=admin, article_id=kb_article.pk)
    assert selectors.articles_for(reader).filter(pk=kb_article.pk).exists()

    services.article_delete(by=admin, article_id=kb_article.pk)
    assert services.articles_purge() == 0  # not 30 days yet
    Article.objects.filter(pk=kb_article.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=31)
    )
    with pytest.raises(NotFound):
        services.article_undelete(by=admin, article_id=kb_article.pk)
    assert services.articles_purge() == 1
    assert not Article.objects.filter(pk=kb_article.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.PURGED, space=kb_article.space).exists()


def test_the_purge_task_removes_the_files(
    kb_article: Article, kb_people: dict[str, User], django_capture_on_commit_callbacks
) -> None:
    attachment = services.attachment_add(
        by=kb_people["editor"],
        article_id=kb_article.pk,
        upload=SimpleUploadedFile("图.png", PNG, content_type="image/png"),
    )
    stored = attachment.file.path
    services.article_delete(by=kb_people["admin"], article_id=kb_article.pk)
    Article.objects.filter(pk=kb_article.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=40)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert purge_recycle_bin.delay().get() == 1
    assert not os.path.exists(stored)


# --- readers -------------------------------------------------------------------------------


def test_feedback_once_per_reader_keeps_the_counters_right(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    reader, editor = kb_people["reader"], kb_people["editor"]
    services.feedback_give(by=reader, article_id=kb_article.pk, helpful=True)
    services.feedback_give(by=editor, article_id=kb_article.pk, helpful=True, comment="清楚")
    services.feedback_give(by=reader, article_id=kb_article.pk, helpful=False, comment="步骤缺了")
    services.feedback_give(by=reader, article_id=kb_article.pk, helpful=False, comment="还是缺")
    kb_article.refresh_from_db()
    assert (kb_article.helpful_count, kb_article.not_helpful_count) == (1, 1)
    assert Feedback.objects.get(article=kb_article, user=reader).comment == "还是缺"
    with pytest.raises(ValidationError):
        services.feedback_give(
            by=reader, article_id=kb_article.pk, helpful=True, comment="x" * 1001
        )


def test_views_are_counted_for_readers_only(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    services.article_viewed(by=kb_people["reader"], article_id=kb_article.pk)
    services.article_viewed(by=kb_people["reader"], article_id=kb_article.pk)
    services.article_viewed(by=kb_people["outsider"], article_id=kb_article.pk)
    kb_article.refresh_from_db()
    assert kb_article.view_count == 2


def test_confirm_by_the_owner_or_an_admin(kb_article: Article, kb_people: dict[str, User]) -> None:
    Article.objects.filter(pk=kb_article.pk).update(review_date=datetime.date(2020, 1, 1))
    with pytest.raises(Refused):
        services.article_confirm(by=kb_people["reader"], article_id=kb_article.pk)
    article = services.article_confirm(by=kb_people["editor"], article_id=kb_article.pk)
    assert not article.may_be_outdated()
    assert article.confirmed_at is not None
    assert article.review_date == services.add_months(timezone.localdate(), 12)


# --- attachments ---------------------------------------------------------------------------


def test_attachments_have_the_task_pages_limits_and_previews(
    kb_article: Article, kb_people: dict[str, User], settings
) -> None:
    editor = kb_people["editor"]
    attachment = services.attachment_add(
        by=editor,
        article_id=kb_article.pk,
        upload=SimpleUploadedFile("../截图.png", PNG, content_type="image/png"),
    )
    assert attachment.name == "截图.png" and attachment.content_type == "image/png"
    assert previews.preview_kind(attachment) == "image" and previews.is_inline(attachment)
    assert previews.preview(attachment).kind == "image"
    with pytest.raises(ValidationError):  # says PNG, is not
        services.attachment_add(
            by=editor,
            article_id=kb_article.pk,
            upload=SimpleUploadedFile("x.png", b"MZ\x90\x00", content_type="image/png"),
        )
    with pytest.raises(ValidationError):
        services.attachment_add(
            by=editor,
            article_id=kb_article.pk,
            upload=SimpleUploadedFile("x.exe", b"MZ\x90\x00", content_type="application/x"),
        )
    settings.WORKFLOW_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(ValidationError):
        services.attachment_add(
            by=editor,
            article_id=kb_article.pk,
            upload=SimpleUploadedFile("big.png", PNG, content_type="image/png"),
        )
    with pytest.raises(Refused):
        services.attachment_add(
            by=kb_people["reader"],
            article_id=kb_article.pk,
            upload=SimpleUploadedFile("a.png", PNG, content_type="image/png"),
        )
    assert ArticleAttachment.objects.filter(article=kb_article).count() == 1
    assert selectors.attachment_for(kb_people["reader"], attachment.pk) == attachment
    with pytest.raises(NotFound):
        selectors.attachment_for(kb_people["outsider"], attachment.pk)


# --- guides and related ----------------------------------------------------------------------


def test_guides_and_related_articles(kb_article: Article, kb_people: dict[str, User]) -> None:
    editor, reader = kb_people["editor"], kb_people["reader"]
    other = _new(kb_article.space, editor, title="报销")
    deploy_steps(user_task("Task_Finance", assignee="nobody"), key="expense_claim")
    services.article_guides_set(
        by=editor,
        article_id=kb_article.pk,
        guides=[("expense_claim", ""), ("expense_claim", "Task_Finance"), ("expense_claim", "")],
    )
    assert selectors.guides_for(reader, "expense_claim") == [kb_article]
    assert selectors.guides_for(reader, "expense_claim", "Task_Finance") == [kb_article]
    assert selectors.guides_for(kb_people["outsider"], "expense_claim") == []
    with pytest.raises(ValidationError):  # not published yet
        services.article_related_set(by=editor, article_id=kb_article.pk, related_ids=[other.pk])
    services.article_publish(by=editor, article_id=other.pk)
    services.article_related_set(
        by=editor, article_id=kb_article.pk, related_ids=[other.pk, kb_article.pk]
    )
    assert list(kb_article.related.all()) == [other]


@pytest.mark.parametrize(
    ("guide", "message"),
    [
        (("no_such_process", ""), "No process “no_such_process” is deployed."),
        (("expense_claim", "Task_Nowhere"), "has no step “Task_Nowhere”"),
        (("", "Task_Finance"), "Choose a process"),
    ],
)
def test_a_guide_names_a_deployed_process_and_one_of_its_steps(
    kb_article: Article, kb_people: dict[str, User], guide: tuple[str, str], message: str
) -> None:
    deploy_steps(user_task("Task_Finance", assignee="nobody"), key="expense_claim")
    services.article_guides_set(
        by=kb_people["editor"], article_id=kb_article.pk, guides=[("expense_claim", "")]
    )
    with pytest.raises(ValidationError) as refused:
        services.article_guides_set(
            by=kb_people["editor"], article_id=kb_article.pk, guides=[guide]
        )
    assert message in str(refused.value.message_dict["guides"])
    assert list(
        ArticleGuide.objects.filter(article=kb_article).values_list("process_key", "step_id")
    ) == [("expense_claim", "")]  # nothing changed


# --- membership ----------------------------------------------------------------------------


def test_a_member_holds_exactly_the_roles_permissions(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    admin, reviewer = kb_people["admin"], kb_people["reviewer"]
    services.space_member_set(by=admin, space_id=kb_space.pk, role=SpaceRole.EDITOR, user=reviewer)
    fresh = User.objects.get(pk=reviewer.pk)
    assert selectors.space_permissions(fresh, kb_space) == {"read_space", "edit_space"}
    with pytest.raises(Refused):
        services.space_member_set(
            by=kb_people["editor"], space_id=kb_space.pk, role=SpaceRole.ADMIN, user=reviewer
        )
    services.space_member_remove(by=admin, space_id=kb_space.pk, user=reviewer)
    with pytest.raises(NotFound):
        selectors.space_for(User.objects.get(pk=reviewer.pk), "it")


def test_a_role_as_member_and_the_last_admin_stays(
    kb_space: Space, kb_people: dict[str, User]
) -> None:
    admin = kb_people["admin"]
    with pytest.raises(Refused, match="at least one admin"):
        services.space_member_set(by=admin, space_id=kb_space.pk, role=SpaceRole.READER, user=admin)
    with pytest.raises(Refused, match="at least one admin"):
        services.space_member_remove(by=admin, space_id=kb_space.pk, user=admin)
    assert "admin_space" in selectors.space_permissions(User.objects.get(pk=admin.pk), kb_space)

    finance = role("finance", "财务")
    newcomer = UserFactory.create(username="newcomer")
    newcomer.groups.add(finance)
    services.space_member_set(by=admin, space_id=kb_space.pk, role=SpaceRole.EDITOR, group=finance)
    assert "edit_space" in selectors.space_permissions(User.objects.get(pk=newcomer.pk), kb_space)
    assert kb_space.pk in selectors.readable_space_ids(newcomer)
    members = {(m.name, m.role) for m in selectors.members_of(kb_space)}
    assert ("财务", "editor") in members and (admin.display_name, "admin") in members
    with pytest.raises(ValidationError):
        services.space_member_set(by=admin, space_id=kb_space.pk, role="owner", group=finance)
