"""The knowledge base's processes on the workflow engine: the review of an article before it is
published, and the reminder to its owner before its review date.

Both are BPMN files of this app (``knowledge/bpmn/``), deployed by :func:`ensure_deployed`
the first time they are needed (no migration, no manual step: a new database gets them with
its first submitted or published article).

- ``knowledge_article_review`` (知识库文章审核): started through the one start path,
  ``workflow.services.starts.request_submit``, as the editor; a reviewer of the space decides
  at the step 审核 on the normal task page with the engine's actions (approve, return to the
  editor, reject). After a return the editor resubmits the *same* request: the returned
  task at its start event is completed with the new version (:func:`review_resubmit`). On
  approval the service task ``knowledge.publish`` publishes the version under review
  (``knowledge.applications``).
- ``knowledge_article_reminder`` (知识库文章复核提醒): started by the message
  ``knowledge.article_reminder`` (so nobody starts it from the catalogue); a timer waits until
  seven days before the review date, then ``knowledge.remind_owner`` notifies the owner.

This module only talks to the engine; the article rows are written by ``knowledge.services``.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.utils import timezone

from portal.models import User
from workflow import translation
from workflow.selectors.statistics import latest_definition_id
from workflow.selectors.status import resubmission_task
from workflow.services.approvals import comment_add, task_approve
from workflow.services.definitions import definition_deploy, process_translations_save
from workflow.services.engine import message_correlate
from workflow.services.starts import request_submit

__all__ = [
    "MAX_REVIEWERS",
    "PUBLISH_APPLICATION",
    "REMINDER_MESSAGE",
    "REMINDER_PROCESS",
    "REMIND_APPLICATION",
    "REMIND_DAYS_BEFORE",
    "REVIEW_PROCESS",
    "ensure_deployed",
    "remind_at",
    "reminder_start",
    "review_resubmit",
    "review_start",
]

REVIEW_PROCESS = "knowledge_article_review"
REMINDER_PROCESS = "knowledge_article_reminder"
REMINDER_MESSAGE = "knowledge.article_reminder"
PUBLISH_APPLICATION = "knowledge.publish"
REMIND_APPLICATION = "knowledge.remind_owner"
REMIND_DAYS_BEFORE = 7
REMIND_HOUR = 9  # the reminder arrives in the morning of its day
MAX_REVIEWERS = 50  # the people a "people" form field takes (workflow.forms.MAX_PEOPLE)

BPMN_DIR = Path(__file__).resolve().parent / "bpmn"
FILES = {
    REVIEW_PROCESS: BPMN_DIR / "article_review.bpmn",
    REMINDER_PROCESS: BPMN_DIR / "article_reminder.bpmn",
}
# the processes' names in English (workflow.translation), saved when they are deployed
TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    REVIEW_PROCESS: {
        "en": {
            "process": "Knowledge article review",
            "description": "In a space that reviews its articles, a reviewer of the space "
            "reads the version an editor submitted: approving publishes it, returning sends it "
            "back to the editor to change and resubmit, rejecting ends the review.",
            "Start_Submit": "Submit for review",
            "Task_Review": "Review",
            "Task_Publish": "Publish",
            "End_Published": "Published",
            "field:article": "Article",
            "field:number": "Version",
            "field:space": "Space",
            "field:title": "Title",
            "field:reviewers": "Reviewers",
        }
    },
    REMINDER_PROCESS: {
        "en": {
            "process": "Knowledge article review reminder",
            "description": "Seven days before an article's review date its owner is "
            "reminded to confirm it is still correct.",
            "Start_Reminder": "Article published or confirmed",
            "Timer_BeforeReview": "7 days before the review date",
            "Task_RemindOwner": "Remind the owner",
            "End_Reminded": "Reminded",
        }
    },
}


def ensure_deployed(*, translate: bool = True) -> None:
    """Deploy the knowledge base's processes that are not deployed yet (one query when both
    are). ``translate``: also save their English names, which opens a transaction of its own
    (``process_translations_save`` is durable): pass False inside a transaction."""
    for key, path in FILES.items():
        if latest_definition_id(key) is None:
            definition_deploy(xml=path.read_bytes(), source_name=path.name)
        # deployed inside a transaction earlier (a first publish): its names come now
        if translate and not translation.translated(key, translation.PROCESS, "", language="en"):
            process_translations_save(key=key, translations=TRANSLATIONS[key])


def review_start(
    *, by: User, article_id: int, number: int, space_key: str, title: str, reviewers: Sequence[str]
) -> int:
    """Start the review of version ``number`` as ``by`` (the one start path); the instance's
    id. Runs in a transaction of its own (``request_submit`` is durable): call it outside
    one. The idempotency key names the article, the version and the review it follows, so a
    double click or a retry after a failure answers with the same request."""
    instance_id, _created = request_submit(
        user=by,
        key=REVIEW_PROCESS,
        data={
            "article": article_id,
            "number": number,
            "space": space_key,
            "title": title,
            "reviewers": list(reviewers),
        },
        title=title,
        business_key=f"knowledge-article-{article_id}",
    )
    return instance_id


def review_comment(*, by: User, instance_id: int, comment: str) -> None:
    """The submitter's note to the reviewers, on the request's timeline."""
    if comment.strip():
        comment_add(instance_id, user=by, text=comment)


def review_resubmit(
    *,
    by: User,
    instance_id: int,
    number: int,
    title: str,
    reviewers: Sequence[str],
    comment: str = "",
) -> bool:
    """Resubmit a review that was returned (退回) or taken back (撤回) with version
    ``number``: the initiator's task at the start event is completed, as the task page's
    "resubmit" does. False when the review is not back with its initiator."""
    task_id = resubmission_task(instance_id)
    if task_id is None:
        return False
    task_approve(
        task_id,
        user=by,
        data={"number": number, "title": title, "reviewers": list(reviewers)},
        comment=comment,
    )
    return True


def remind_at(
    review_date: datetime.date, now: datetime.datetime | None = None
) -> datetime.datetime:
    """When the owner is reminded of ``review_date``: at 9:00 seven days before it, or now
    when that is past."""
    now = now or timezone.now()
    day = review_date - datetime.timedelta(days=REMIND_DAYS_BEFORE)
    at = datetime.datetime.combine(
        day, datetime.time(REMIND_HOUR), tzinfo=timezone.get_current_timezone()
    )
    return max(at, now)


def reminder_start(*, article_id: int, review_date: datetime.date) -> int:
    """Start the reminder of ``review_date`` for the article (joins the caller's transaction;
    the reminder's process must be deployed: :func:`ensure_deployed`)."""
    ensure_deployed(translate=False)
    variables: dict[str, Any] = {
        "article": article_id,
        "review_date": review_date.isoformat(),
        "remind_at": remind_at(review_date).isoformat(),
    }
    return message_correlate(
        REMINDER_MESSAGE, business_key=f"knowledge-article-{article_id}", variables=variables
    )
