"""The review of an article on the real engine (knowledge/review.py): submit, return with a
comment, resubmit the same request with the next version, approve and publish; reject; the
published version stays what readers see while a new draft is under review; the reminder
before the review date fires and notifies the owner; confirming disarms the old reminder."""

from __future__ import annotations

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from knowledge import review, selectors, services
from knowledge.models import Article, AuditAction, AuditEvent, Space
from portal.errors import Refused
from portal.models import Notification, User
from workflow import translation
from workflow.models import Job, ProcessDefinition, ProcessInstance, Task
from workflow.services import approvals


def _draft(space: Space, editor: User, title: str = "年假申请指南") -> Article:
    return services.article_create(
        by=editor, space_id=space.pk, title=title, body="第一步：登录门户。", tags=["假期"]
    )


def _review_task(instance_id: int) -> Task:
    return Task.objects.get(instance_id=instance_id, element_id="Task_Review", state="open")


def _candidates(task: Task) -> set[str]:
    return set(task.candidates.filter(kind="user").values_list("value", flat=True))


def _article(pk: int) -> Article:
    return Article.objects.select_related("published_version", "review_instance").get(pk=pk)


def test_return_resubmit_approve_publishes_through_the_same_request(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    editor, reviewer, reader = kb_people["editor"], kb_people["reviewer"], kb_people["reader"]
    article = _draft(kb_review_space, editor)
    instance_id = services.article_submit(by=editor, article_id=article.pk, comment="请审核")
    assert selectors.review_state(_article(article.pk)) == "in_review"
    task = _review_task(instance_id)
    candidates = _candidates(task)
    assert reviewer.username in candidates and editor.username not in candidates
    with pytest.raises(Refused):
        services.article_submit(by=editor, article_id=article.pk)  # already under review

    approvals.task_return(task.pk, user=reviewer, target="initiator", comment="请补充审批人")
    assert selectors.review_state(_article(article.pk)) == "returned"
    assert not selectors.articles_for(reader).filter(pk=article.pk).exists()

    services.article_save(
        by=editor, article_id=article.pk, title="年假申请指南", body="补充：主管审批。"
    )
    assert selectors.review_state(_article(article.pk)) == "returned"
    again = services.article_submit(by=editor, article_id=article.pk)
    assert again == instance_id  # the same request, resubmitted
    assert ProcessInstance.objects.filter(definition_key=review.REVIEW_PROCESS).count() == 1
    current = _article(article.pk)
    assert current.review_number == 2 and selectors.review_state(current) == "in_review"
    assert ProcessInstance.objects.get(pk=instance_id).variables["number"] == 2

    approvals.task_approve(_review_task(instance_id).pk, user=reviewer, comment="同意")
    published = _article(article.pk)
    assert published.published_version is not None and published.published_version.number == 2
    assert selectors.review_state(published) == "published"
    assert selectors.articles_for(reader).filter(pk=article.pk).exists()
    assert ProcessInstance.objects.get(pk=instance_id).state == "completed"
    event = AuditEvent.objects.get(article=article, action=AuditAction.PUBLISHED)
    assert event.actor == reviewer and event.version == 2
    assert published.review_date == services.add_months(timezone.localdate(), 12)


def test_a_rejection_ends_the_review_and_publishes_nothing(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    editor, reviewer = kb_people["editor"], kb_people["reviewer"]
    article = _draft(kb_review_space, editor)
    instance_id = services.article_submit(by=editor, article_id=article.pk)
    approvals.task_reject(_review_task(instance_id).pk, user=reviewer, comment="内容不适合发布")
    rejected = _article(article.pk)
    assert selectors.review_state(rejected) == "rejected"
    assert rejected.published_version is None
    # submitting again (the same version) starts a new review
    second = services.article_submit(by=editor, article_id=article.pk)
    assert second != instance_id
    assert selectors.review_state(_article(article.pk)) == "in_review"


def test_the_published_version_stays_while_a_new_draft_is_in_review(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    editor, reviewer, reader = kb_people["editor"], kb_people["reviewer"], kb_people["reader"]
    article = _draft(kb_review_space, editor)
    first = services.article_submit(by=editor, article_id=article.pk)
    approvals.task_approve(_review_task(first).pk, user=reviewer)
    services.article_save(by=editor, article_id=article.pk, title="新标题", body="新的正文")
    with pytest.raises(Refused):  # a review space: only the review publishes
        services.article_publish(by=editor, article_id=article.pk)
    second = services.article_submit(by=editor, article_id=article.pk)
    assert second != first
    seen = selectors.article_for(reader, article.pk)
    assert seen.published_version is not None and seen.published_version.title == "年假申请指南"
    assert selectors.review_state(seen) == "in_review"
    approvals.task_approve(_review_task(second).pk, user=reviewer)
    seen = selectors.article_for(reader, article.pk)
    assert seen.published_version is not None and seen.published_version.title == "新标题"


def test_nobody_reviews_their_own_draft(kb_review_space: Space, kb_people: dict[str, User]) -> None:
    reviewer, admin = kb_people["reviewer"], kb_people["admin"]
    # a space admin both writes and reviews: their own draft goes to the other reviewers
    own = _draft(kb_review_space, admin)
    instance_id = services.article_submit(by=admin, article_id=own.pk)
    task = _review_task(instance_id)
    assert _candidates(task) == {reviewer.username}
    with pytest.raises(Refused):  # the engine's refusal (EngineError is a Refused)
        approvals.task_approve(task.pk, user=admin)
    with pytest.raises(Refused):  # a reviewer does not write
        _draft(kb_review_space, reviewer)


def test_a_space_without_reviewers_refuses_the_submission(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    admin, reviewer, editor = kb_people["admin"], kb_people["reviewer"], kb_people["editor"]
    services.space_member_set(by=admin, space_id=kb_review_space.pk, role="reader", user=reviewer)
    article = _draft(kb_review_space, admin)  # the admin is the only reviewer left
    with pytest.raises(Refused, match="no reviewer"):
        services.article_submit(by=admin, article_id=article.pk)
    assert _article(article.pk).review_instance is None
    ok = _draft(kb_review_space, editor)  # the admin reviews the editor's
    services.article_submit(by=editor, article_id=ok.pk)


def test_a_review_started_by_hand_publishes_nothing(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    from workflow.services.starts import request_submit

    editor, reviewer = kb_people["editor"], kb_people["reviewer"]
    article = _draft(kb_review_space, editor)
    review.ensure_deployed()
    forged, _created = request_submit(
        user=editor,
        key=review.REVIEW_PROCESS,
        data={"article": article.pk, "number": 1, "reviewers": [reviewer.username]},
    )
    approvals.task_approve(_review_task(forged).pk, user=reviewer)
    assert _article(article.pk).published_version is None


def test_the_processes_are_deployed_once_with_english_names(
    kb_review_space: Space, kb_people: dict[str, User]
) -> None:
    review.ensure_deployed()
    review.ensure_deployed()
    assert ProcessDefinition.objects.filter(key=review.REVIEW_PROCESS).count() == 1
    assert ProcessDefinition.objects.filter(key=review.REMINDER_PROCESS).count() == 1
    assert translation.process_name(review.REVIEW_PROCESS, "", language="en") == (
        "Knowledge article review"
    )
    chinese = ProcessDefinition.objects.get(key=review.REVIEW_PROCESS).name
    assert translation.process_name(review.REVIEW_PROCESS, chinese, language="zh-hans") == (
        "知识库文章审核"
    )


# --- the reminder before the review date -------------------------------------------------------


def _run_due_jobs() -> None:
    Job.objects.filter(kind="timer").update(due_at=timezone.now() - datetime.timedelta(seconds=1))
    call_command("run_due_jobs", stdout=StringIO(), stderr=StringIO())


def _reminders(user: User) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, kind="knowledge"))


def test_the_reminder_fires_before_the_review_date_and_notifies_the_owner(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    owner = kb_people["editor"]
    reminder = ProcessInstance.objects.get(definition_key=review.REMINDER_PROCESS)
    assert reminder.variables["review_date"] == kb_article.review_date.isoformat()  # type: ignore[union-attr]
    job = Job.objects.get(instance_id=reminder.pk, kind="timer")
    expected = review.remind_at(kb_article.review_date)  # type: ignore[arg-type]
    assert abs(job.due_at - expected) < datetime.timedelta(seconds=1)
    assert _reminders(owner) == []
    _run_due_jobs()
    notices = _reminders(owner)
    assert len(notices) == 1 and kb_article.title in notices[0].title
    assert ProcessInstance.objects.get(pk=reminder.pk).state == "completed"


def test_a_confirmed_articles_old_reminder_does_nothing(
    kb_article: Article, kb_people: dict[str, User]
) -> None:
    owner = kb_people["editor"]
    Article.objects.filter(pk=kb_article.pk).update(review_date=datetime.date(2020, 1, 1))
    services.article_confirm(by=owner, article_id=kb_article.pk)
    assert ProcessInstance.objects.filter(definition_key=review.REMINDER_PROCESS).count() == 2
    new_date = services.add_months(timezone.localdate(), 12)
    _run_due_jobs()  # fires both: the old one (2020 no longer the date) is silent
    notices = _reminders(owner)
    assert len(notices) == 1 and new_date.isoformat() in notices[0].body


def test_remind_at_is_seven_days_before_or_now() -> None:
    now = timezone.now()
    soon = review.remind_at(timezone.localdate() + datetime.timedelta(days=2), now)
    assert soon == now
    later = review.remind_at(datetime.date(2099, 6, 30), now)
    assert timezone.localtime(later).date() == datetime.date(2099, 6, 23)
    assert timezone.localtime(later).hour == review.REMIND_HOUR
