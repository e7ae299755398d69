"""How the knowledge base plugs into the rest of the portal, connected once from
``KnowledgeConfig.ready()`` (:func:`connect`):

- the navigation's 知识库 / Knowledge base and 帮助 / Help entries (the help centre is the
  space ``help``);
- the top bar's search box, with suggestions as one types;
- the workflow's guides (``workflow.guides``): the task page of a step shows the articles
  that explain it as "how to do this step", the start page the process's guide. The
  workflow never imports this app; it asks its registry, and this source answers with what
  the person may read (``knowledge.selectors.guides_for``).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from knowledge import selectors
from portal import registry
from portal.models import User
from workflow import guides

__all__ = ["connect", "guides_of"]


def guides_of(user: User, process_key: str, step_id: str) -> list[guides.Guide]:
    """The workflow's guide source: the published articles ``user`` may read that explain the
    process (``step_id`` "") or the step, as links."""
    return [
        guides.Guide(
            article.published_version.title if article.published_version else article.title,
            reverse("knowledge:article", args=[article.pk]),
        )
        for article in selectors.guides_for(user, process_key, step_id)
    ]


def connect() -> None:
    """Register the navigation entries, the search box and the guide source."""
    registry.navigation.register(
        registry.NavEntry("knowledge", _("Knowledge base"), "knowledge:spaces", "book", 30)
    )
    registry.navigation.register(
        registry.NavEntry("help", _("Help"), "knowledge:help", "help", 950)
    )
    registry.search_boxes.register(
        registry.SearchBox(
            "knowledge", _("Search the knowledge base"), "knowledge:search", "knowledge:suggest"
        )
    )
    guides.sources.register(
        guides.GuideSource("knowledge", guides_of, exists=selectors.guides_exist)
    )
