"""The knowledge base's invoked applications, the steps its processes call on the engine
(``knowledge/review.py``), and its notification kind. :func:`connect` registers them; the
app's ``ready()`` calls it, before any of its BPMN files can be deployed (deploying checks
that every application a file names is registered)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from knowledge import review, services
from portal import registry
from workflow.applications import Application, ApplicationCall, ApplicationError, applications

__all__ = ["connect", "publish_reviewed", "remind_owner"]


def _number(call: ApplicationCall, name: str) -> int:
    value = call.variables.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApplicationError(f"knowledge: the variable {name} is not an id", permanent=True)
    return value


def publish_reviewed(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``knowledge.publish``: the approved version becomes the published one (inline: it writes
    only this database, in the approval's transaction, so the reviewer's "approve" publishes
    at once)."""
    if call.instance_id is None:
        raise ApplicationError("knowledge.publish: runs only in a review", permanent=True)
    published = services.review_publish(
        article_id=_number(call, "article"), instance_id=call.instance_id
    )
    return {"published": published}


def remind_owner(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``knowledge.remind_owner``: the owner's notice that the review date is near, unless the
    article was confirmed (a new review date) or deleted since the reminder started."""
    review_date = call.variables.get("review_date")
    if not isinstance(review_date, str):
        raise ApplicationError("knowledge.remind_owner: no review_date", permanent=True)
    reminded = services.owner_remind(article_id=_number(call, "article"), review_date=review_date)
    return {"reminded": reminded}


def connect() -> None:
    """Register the applications and the notification kind (once, from ``ready()``)."""
    registry.notification_kinds.register(
        registry.NotificationKind(services.KIND, _("Knowledge base"))
    )
    applications.register(
        Application(
            review.PUBLISH_APPLICATION,
            _("Publish a reviewed knowledge article"),
            publish_reviewed,
            inline=True,
            description="Publishes the version of the article under review (variables "
            "article and number of the review knowledge_article_review).",
        )
    )
    applications.register(
        Application(
            review.REMIND_APPLICATION,
            _("Remind an article's owner of its review date"),
            remind_owner,
            inline=True,
            description="Notifies the owner of the article (variable article) if its review "
            "date is still review_date.",
        )
    )
