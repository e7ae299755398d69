"""What the search tests share: spaces and published articles made row by row, then indexed
through ``knowledge.search.index_article`` (the path CORE's publish takes), so that the
search's tests do not depend on the review and the audit trail."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from django.utils import timezone
from guardian.shortcuts import assign_perm

from knowledge import search
from knowledge.models import Article, ArticleVersion, Space, Tag, Visibility
from portal.models import User
from portal.search import fold


def space(
    key: str, name: str, *, visibility: str = Visibility.PUBLIC, readers: Sequence[User] = ()
) -> Space:
    """A space; ``readers`` get ``read_space`` on it (a members-only space's members)."""
    made = Space.objects.create(key=key, name=name, visibility=visibility)
    for reader in readers:
        assign_perm("knowledge.read_space", reader, made)
    return made


def published(
    in_space: Space,
    owner: User,
    *,
    title: str,
    body: str = "",
    summary: str = "",
    tags: Sequence[str] = (),
    lang: str = "zh-hans",
    at: datetime.datetime | None = None,
) -> Article:
    """An article whose version 1 is published and indexed."""
    when = at or timezone.now()
    article = Article.objects.create(
        space=in_space,
        title=title,
        summary=summary,
        body=body,
        lang=lang,
        owner=owner,
        latest_number=1,
        published_at=when,
        created_at=when,
        updated_at=when,
    )
    folded = [" ".join(fold(tag).split()) for tag in tags]
    article.tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in folded])
    version = ArticleVersion.objects.create(
        article=article,
        number=1,
        title=title,
        summary=summary,
        body=body,
        tags=folded,
        author=owner,
        created_at=when,
    )
    article.published_version = version
    article.save(update_fields=["published_version"])
    search.index_article(article.pk)
    return article
