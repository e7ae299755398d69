"""Every write of the knowledge base: typed functions with keyword-only arguments named
``<entity>_<verb>``, each opening its transaction (docs/architecture.md). Views, the API,
Celery tasks and other apps call these; nothing else writes the knowledge base's tables.

Each one checks who may do it first (:func:`knowledge.selectors.space_permissions`; what the
person may not see at all is :class:`~portal.errors.NotFound`, what they see but may not do
is :class:`~portal.errors.Refused`), takes the article's row lock for anything that changes
its versions or its state, writes, adds the ``AuditEvent`` row, and keeps the search index
(``knowledge.search``) in step with what readers may find, all in one transaction.

Publishing has two doors: in a space that publishes without review, an editor publishes
(:func:`article_publish`); in a space that reviews, only the review process does
(:func:`article_submit` starts or resubmits it, :func:`review_publish` is its last step).
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from knowledge import review, search, selectors
from knowledge.models import (
    ROLE_PERMISSIONS,
    Article,
    ArticleAttachment,
    ArticleGuide,
    ArticleVersion,
    AuditAction,
    AuditEvent,
    Feedback,
    Language,
    Space,
    SpaceRole,
    Tag,
    Visibility,
)
from portal.errors import Conflict, NotFound, Refused
from portal.models import Department, User
from portal.search import fold
from portal.services import notification_send
from workflow.forms import attachment_content_type, safe_filename, validate_upload
from workflow.selectors.guides import guide_targets
from workflow.selectors.status import last_decision

KIND = "knowledge"  # the notification kind of the knowledge base (knowledge.applications)
MAX_TITLE = 200
MAX_SUMMARY = 500
MAX_BODY = 200_000
MAX_TAGS = 10
MAX_TAG = 40
MAX_NOTE = 200
MAX_COMMENT = 1000
MAX_RELATED = 20
MAX_GUIDES = 20
MAX_REVIEW_MONTHS = 120
SPACE_FIELDS = frozenset(
    {
        "name",
        "name_en",
        "description",
        "visibility",
        "department",
        "requires_review",
        "review_months",
    }
)


# --- small shared steps --------------------------------------------------------------------


def fold_tag(text: str) -> str:
    """A tag as stored: folded as search folds text (``portal.search.fold``), trimmed."""
    return fold(text).strip()


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` plus ``months`` calendar months (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def _audit(
    space: Space,
    actor: User | None,
    action: str,
    *,
    article: Article | None = None,
    version: int | None = None,
    detail: str = "",
) -> None:
    AuditEvent.objects.create(
        space=space,
        article=article,
        actor=actor,
        action=action,
        version=version,
        detail=detail[:500],
    )


def _require(by: User, space: Space, permission: str) -> set[str]:
    """``by``'s permissions in ``space``; NotFound when they may not read it, Refused when they
    read it but lack ``permission``."""
    held = selectors.space_permissions(by, space)
    if "read_space" not in held:
        raise NotFound(_("There is no such space, or you may not read it."))
    if permission not in held:
        raise Refused(_("You may not do this in this space."))
    return held


def _locked(by: User, article_id: int, *, deleted: bool = False) -> Article:
    """The article's row under lock (``deleted``: one in the recycle bin), if ``by`` may see
    it; else NotFound."""
    article = (
        Article.objects.select_for_update(of=("self",))
        .select_related("space", "space__department", "published_version")
        .filter(pk=article_id, deleted_at__isnull=not deleted)
        .first()
    )
    if article is None:
        raise NotFound(_("There is no such article, or you may not read it."))
    if not deleted and not selectors.may_see(by, article):
        raise NotFound(_("There is no such article, or you may not read it."))
    return article


@dataclass(frozen=True)
class Content:
    """An article's text as validated for a new version."""

    title: str
    summary: str
    body: str
    tags: list[str]
    lang: str


def _clean_tags(tags: Iterable[str], errors: dict[str, list[str]]) -> list[str]:
    folded = [fold_tag(str(tag)) for tag in tags]
    folded = list(dict.fromkeys(tag for tag in folded if tag))
    if len(folded) > MAX_TAGS:
        errors["tags"] = [_("At most %(count)s tags.") % {"count": MAX_TAGS}]
    elif any(len(tag) > MAX_TAG for tag in folded):
        errors["tags"] = [_("A tag has at most %(count)s characters.") % {"count": MAX_TAG}]
    return folded


def clean_content(
    *, title: str, body: str, summary: str, tags: Iterable[str], lang: str
) -> Content:
    """Validate an article's text; ``ValidationError`` naming every bad field at once."""
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    summary = (summary or "").strip()
    body = body or ""
    if not title:
        errors["title"] = [_("Give the article a title.")]
    elif len(title) > MAX_TITLE:
        errors["title"] = [_("At most %(count)s characters.") % {"count": MAX_TITLE}]
    if len(summary) > MAX_SUMMARY:
        errors["summary"] = [_("At most %(count)s characters.") % {"count": MAX_SUMMARY}]
    if len(body) > MAX_BODY:
        errors["body"] = [_("At most %(count)s characters.") % {"count": MAX_BODY}]
    folded = _clean_tags(tags if not isinstance(tags, str) else [tags], errors)
    if lang not in Language.values:
        errors["lang"] = [_("Choose a language from the list.")]
    if errors:
        raise ValidationError(errors)
    return Content(title, summary, body, folded, lang)


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationError({"note": [_("At most %(count)s characters.") % {"count": MAX_NOTE}]})
    return note


def _write_version(
    article: Article,
    content: Content,
    *,
    by: User,
    note: str,
    restored_from: int | None = None,
) -> ArticleVersion:
    """Version ``latest_number + 1`` with ``content``, which becomes the working copy."""
    now = timezone.now()
    number = article.latest_number + 1
    version = ArticleVersion.objects.create(
        article=article,
        number=number,
        title=content.title,
        summary=content.summary,
        body=content.body,
        tags=content.tags,
        author=by,
        note=note,
        restored_from=restored_from,
        created_at=now,
    )
    article.title, article.summary, article.body = content.title, content.summary, content.body
    article.lang = content.lang
    article.latest_number = number
    article.updated_at = now
    article.save(update_fields=["title", "summary", "body", "lang", "latest_number", "updated_at"])
    article.tags.set([Tag.objects.get_or_create(name=name)[0] for name in content.tags])
    return version


# --- spaces --------------------------------------------------------------------------------


def _department(value: Department | int | None) -> Department | None:
    if value is None or isinstance(value, Department):
        return value
    found = Department.objects.filter(pk=value).first()
    if found is None:
        raise ValidationError({"department": [_("Choose a department from the list.")]})
    return found


def _check_space(space: Space) -> None:
    """A space's settings, every problem at once (the model's own checks and ours)."""
    errors: dict[str, list[str]] = {}
    if space.visibility == Visibility.DEPARTMENT and space.department_id is None:
        errors["department"] = [_("A department space needs its department.")]
    if not 1 <= space.review_months <= MAX_REVIEW_MONTHS:
        errors["review_months"] = [
            _("Between 1 and %(count)s months.") % {"count": MAX_REVIEW_MONTHS}
        ]
    try:
        space.full_clean(exclude=["department"] if errors.get("department") else None)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def space_create(
    *,
    by: User,
    key: str,
    name: str,
    name_en: str = "",
    description: str = "",
    visibility: str,
    department: Department | int | None = None,
    requires_review: bool = False,
    review_months: int = 12,
) -> Space:
    """A new space, its creator its first admin. Needs the model permission
    ``knowledge.add_space`` (or a superuser)."""
    if not (by.is_active and (by.is_superuser or by.has_perm("knowledge.add_space"))):
        raise Refused(_("You may not create spaces."))
    space = Space(
        key=(key or "").strip(),
        name=(name or "").strip(),
        name_en=(name_en or "").strip(),
        description=description or "",
        visibility=visibility,
        department=_department(department),
        requires_review=bool(requires_review),
        review_months=review_months,
    )
    _check_space(space)
    space.save()
    for codename in ROLE_PERMISSIONS[SpaceRole.ADMIN]:
        assign_perm(f"knowledge.{codename}", by, space)
    _audit(space, by, AuditAction.CREATED, detail=space.key)
    return space


@transaction.atomic
def space_update(*, by: User, space_id: int, **fields: Any) -> Space:
    """Change a space's settings (:data:`SPACE_FIELDS`); its admins only."""
    space = Space.objects.select_for_update().filter(pk=space_id).first()
    if space is None:
        raise NotFound(_("There is no such space, or you may not read it."))
    _require(by, space, "admin_space")
    unknown = sorted(set(fields) - SPACE_FIELDS)
    if unknown:
        raise ValidationError({name: [_("Not a setting of a space.")] for name in unknown})
    if "department" in fields:
        fields["department"] = _department(fields["department"])
    for name, value in fields.items():
        setattr(space, name, value.strip() if isinstance(value, str) else value)
    _check_space(space)
    space.save()
    _audit(space, by, AuditAction.SPACE_CHANGED, detail=", ".join(sorted(fields)))
    return space


def _admins(space: Space) -> int:
    return sum(1 for member in selectors.members_of(space) if member.role == SpaceRole.ADMIN)


def _holder(user: User | None, group: Group | None) -> User | Group:
    if (user is None) == (group is None):
        raise ValidationError({"user": [_("Choose one person or one role.")]})
    return user if user is not None else group  # type: ignore[return-value]


def _strip_roles(holder: User | Group, space: Space) -> bool:
    """Take every space permission from ``holder``; whether they were an admin."""
    was_admin = "admin_space" in selectors.role_codenames(holder, space)
    for codename in selectors.SPACE_PERMISSIONS:
        remove_perm(f"knowledge.{codename}", holder, space)
    return was_admin


def _holder_name(holder: User | Group) -> str:
    return holder.username if isinstance(holder, User) else f"role:{holder.name}"


@transaction.atomic
def space_member_set(
    *,
    by: User,
    space_id: int,
    role: str,
    user: User | None = None,
    group: Group | None = None,
) -> None:
    """Give a person or a role (group) exactly the permissions of ``role`` in the space
    (``ROLE_PERMISSIONS``), taking the others away. Space admins only; the space keeps at
    least one admin."""
    space = Space.objects.select_for_update().filter(pk=space_id).first()
    if space is None:
        raise NotFound(_("There is no such space, or you may not read it."))
    _require(by, space, "admin_space")
    if role not in SpaceRole.values:
        raise ValidationError({"role": [_("Choose a role from the list.")]})
    holder = _holder(user, group)
    was_admin = _strip_roles(holder, space)
    if was_admin and role != SpaceRole.ADMIN and _admins(space) == 0:
        raise Refused(_("A space needs at least one admin: make someone else its admin first."))
    for codename in ROLE_PERMISSIONS[role]:
        assign_perm(f"knowledge.{codename}", holder, space)
    _audit(space, by, AuditAction.MEMBER_SET, detail=f"{_holder_name(holder)}: {role}")


@transaction.atomic
def space_member_remove(
    *, by: User, space_id: int, user: User | None = None, group: Group | None = None
) -> None:
    """Take a person's or a role's membership of the space away (space admins; never the
    last admin)."""
    space = Space.objects.select_for_update().filter(pk=space_id).first()
    if space is None:
        raise NotFound(_("There is no such space, or you may not read it."))
    _require(by, space, "admin_space")
    holder = _holder(user, group)
    was_admin = _strip_roles(holder, space)
    if was_admin and _admins(space) == 0:
        raise Refused(_("A space needs at least one admin: make someone else its admin first."))
    _audit(space, by, AuditAction.MEMBER_REMOVED, detail=_holder_name(holder))


# --- articles: writing ---------------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    by: User,
    space_id: int,
    title: str,
    body: str,
    summary: str = "",
    tags: Sequence[str] = (),
    lang: str = Language.CHINESE,
    note: str = "",
) -> Article:
    """A new article in the space, owned by its writer: version 1, a draft nobody reads yet.
    The space's editors and admins only."""
    space = Space.objects.filter(pk=space_id).first()
    if space is None:
        raise NotFound(_("There is no such space, or you may not read it."))
    _require(by, space, "edit_space")
    content = clean_content(title=title, body=body, summary=summary, tags=tags, lang=lang)
    note = _clean_note(note)
    article = Article.objects.create(space=space, title=content.title, owner=by, lang=lang)
    _write_version(article, content, by=by, note=note)
    _audit(space, by, AuditAction.CREATED, article=article, version=1)
    return article


def _conflict(article: Article, base_number: int) -> Conflict:
    # an article always has version 1
    newest = article.versions.select_related("author").order_by("-number")[0]
    when = timezone.localtime(newest.created_at).strftime("%Y-%m-%d %H:%M")
    return Conflict(
        _(
            "%(person)s saved version %(number)s at %(time)s, after the version %(base)s you "
            "started from. Your text was not saved: copy your changes, open the newer version "
            "and save again."
        )
        % {
            "person": newest.author.display_name,
            "number": newest.number,
            "time": when,
            "base": base_number,
        }
    )


@transaction.atomic
def article_save(
    *,
    by: User,
    article_id: int,
    title: str,
    body: str,
    summary: str = "",
    tags: Sequence[str] = (),
    lang: str | None = None,
    note: str = "",
    base_number: int | None = None,
) -> ArticleVersion:
    """Save a new version (the working copy); readers keep the published one. With
    ``base_number`` (the version the editor opened) a newer version saved meanwhile is a
    :class:`Conflict` saying who saved it and when, and nothing is saved."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    content = clean_content(
        title=title, body=body, summary=summary, tags=tags, lang=lang or article.lang
    )
    note = _clean_note(note)
    if base_number is not None and base_number != article.latest_number:
        raise _conflict(article, base_number)
    version = _write_version(article, content, by=by, note=note)
    _audit(article.space, by, AuditAction.SAVED, article=article, version=version.number)
    return version


@transaction.atomic
def article_restore_version(*, by: User, article_id: int, number: int) -> ArticleVersion:
    """An old version's text saved again as the newest version (nothing is overwritten)."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    old = article.versions.filter(number=number).first()
    if old is None:
        raise NotFound(_("The article has no such version."))
    content = Content(old.title, old.summary, old.body, list(old.tags or []), article.lang)
    note = _("Restored version %(number)s") % {"number": number}
    version = _write_version(article, content, by=by, note=note[:MAX_NOTE], restored_from=number)
    _audit(article.space, by, AuditAction.RESTORED, article=article, version=version.number)
    return version


# --- publishing, review, confirmation ----------------------------------------------------------


def _publish(article: Article, version: ArticleVersion, actor: User | None, detail: str) -> None:
    """``version`` becomes what readers see; a first publication sets the review date and
    arms the owner's reminder. The caller holds the article's lock."""
    article.published_version = version
    article.published_at = timezone.now()
    fields = ["published_version", "published_at"]
    first_review = article.review_date is None
    if first_review:
        article.review_date = add_months(timezone.localdate(), article.space.review_months)
        fields.append("review_date")
    article.save(update_fields=fields)
    _audit(
        article.space,
        actor,
        AuditAction.PUBLISHED,
        article=article,
        version=version.number,
        detail=detail,
    )
    search.index_article(article.pk)
    if first_review and article.review_date is not None:
        review.reminder_start(article_id=article.pk, review_date=article.review_date)


@transaction.atomic
def article_publish(
    *, by: User, article_id: int, number: int | None = None, skip_review: bool = False
) -> Article:
    """Publish the latest version (or version ``number``) of an article in a space that
    publishes without review; its editors and admins. A space that reviews its articles
    publishes only through the review (:func:`article_submit`), except by a space admin who
    says so (``skip_review``: an administrator's import of approved documents,
    ``import_articles --publish``); the audit trail records that the review was skipped."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    bypass = False
    if article.space.requires_review:
        if not skip_review:
            raise Refused(_("This space reviews articles before publishing: submit it for review."))
        _require(by, article.space, "admin_space")
        bypass = True
    version = article.versions.filter(number=number or article.latest_number).first()
    if version is None:
        raise NotFound(_("The article has no such version."))
    if article.published_version_id != version.pk:
        _publish(
            article, version, by, _("published by a space admin without review") if bypass else ""
        )
    return article


@dataclass(frozen=True)
class _Submission:
    """What :func:`_prepare_submission` decided: resubmitted in place (``instance_id``), or a
    new review to start for version ``number``."""

    instance_id: int | None
    number: int
    title: str
    space_key: str
    reviewers: list[str]


def _reviewers(by: User, space: Space) -> list[str]:
    """The space's reviewers but the submitter (nobody reviews their own draft); Refused when
    nobody is left."""
    names = [u.username for u in selectors.space_reviewers(space) if u.pk != by.pk]
    if not names:
        raise Refused(
            _(
                "This space has no reviewer who could review your article: "
                "ask a space admin to add one."
            )
        )
    return names[: review.MAX_REVIEWERS]


def _check_submittable(by: User, article: Article) -> str:
    """The article's review state, when ``by`` may submit it now."""
    _require(by, article.space, "edit_space")
    if not article.space.requires_review:
        raise Refused(_("This space publishes without review: publish the article instead."))
    state = selectors.review_state(article)
    if state == "in_review":
        raise Refused(_("This article is already under review."))
    if state == "published":
        raise Refused(_("The latest version is already published: save a change first."))
    return state


@transaction.atomic
def _prepare_submission(*, by: User, article_id: int, comment: str) -> _Submission:
    article = _locked(by, article_id)
    state = _check_submittable(by, article)
    reviewers = _reviewers(by, article.space)
    number, title = article.latest_number, article.title
    plan = _Submission(None, number, title, article.space.key, reviewers)
    instance = article.review_instance
    if state != "returned" or instance is None:
        return plan
    if instance.initiator != by.username:
        raise Refused(
            _("This review was returned to %(person)s, who submitted it: they resubmit it.")
            % {"person": instance.initiator}
        )
    review.review_resubmit(
        by=by,
        instance_id=instance.pk,
        number=number,
        title=title,
        reviewers=reviewers,
        comment=comment,
    )
    _submitted(article, by, instance.pk, number, comment)
    return _Submission(instance.pk, number, title, plan.space_key, reviewers)


def _submitted(article: Article, by: User, instance_id: int, number: int, comment: str) -> None:
    article.review_instance_id = instance_id
    article.review_number = number
    article.save(update_fields=["review_instance", "review_number"])
    _audit(
        article.space,
        by,
        AuditAction.SUBMITTED,
        article=article,
        version=number,
        detail=comment.strip()[:500],
    )


@transaction.atomic
def _record_start(
    *, by: User, article_id: int, instance_id: int, number: int, comment: str
) -> None:
    article = _locked(by, article_id)
    _submitted(article, by, instance_id, number, comment)
    review.review_comment(by=by, instance_id=instance_id, comment=comment)


def article_submit(*, by: User, article_id: int, comment: str = "") -> int:
    """Ask the space's reviewers to review the latest version; the review request's id.

    The first submission (and one after a rejection or a publication) starts the review
    process; after a return (退回) it resubmits the same request with the new version. Who:
    an editor of a space that reviews; the space needs a reviewer other than the submitter.

    Not one transaction: a new request starts through ``request_submit``, which must run in
    its own (durable) transaction. The article is checked under its lock first, then the
    request starts, then the article records it under its lock again; a failure between the
    two leaves a request that publishes nothing (``review_publish`` only acts for the request
    the article names)."""
    review.ensure_deployed()
    plan = _prepare_submission(by=by, article_id=article_id, comment=comment)
    if plan.instance_id is not None:
        return plan.instance_id
    instance_id = review.review_start(
        by=by,
        article_id=article_id,
        number=plan.number,
        space_key=plan.space_key,
        title=plan.title,
        reviewers=plan.reviewers,
    )
    _record_start(
        by=by, article_id=article_id, instance_id=instance_id, number=plan.number, comment=comment
    )
    return instance_id


@transaction.atomic
def review_publish(*, article_id: int, instance_id: int) -> bool:
    """The review's last step (the application ``knowledge.publish``): the version under
    review becomes the published one. Only for the request the article names as its review:
    any other (an older request, one started by hand from the catalogue) publishes nothing.
    Whether it published."""
    article = (
        Article.objects.select_for_update(of=("self",))
        .select_related("space")
        .filter(pk=article_id, deleted_at__isnull=True)
        .first()
    )
    if article is None or article.review_instance_id != instance_id or not article.review_number:
        return False
    version = article.versions.filter(number=article.review_number).first()
    if version is None:
        return False
    decision = last_decision(instance_id)
    reviewer = User.objects.filter(username=decision.actor).first() if decision else None
    _publish(article, version, reviewer, _("approved in review"))
    return True


@transaction.atomic
def article_confirm(*, by: User, article_id: int) -> Article:
    """The owner or a space admin confirms the article is still correct: the next review date
    is set from today and a new reminder armed (the old one then reminds nobody)."""
    article = _locked(by, article_id)
    held = selectors.space_permissions(by, article.space)
    if article.owner_id != by.pk and "admin_space" not in held:
        raise Refused(_("Only the article's owner or a space admin may confirm it."))
    if not article.is_published:
        raise Refused(_("Only a published article can be confirmed."))
    article.confirmed_at = timezone.now()
    article.review_date = add_months(timezone.localdate(), article.space.review_months)
    article.save(update_fields=["confirmed_at", "review_date"])
    _audit(article.space, by, AuditAction.CONFIRMED, article=article)
    review.reminder_start(article_id=article.pk, review_date=article.review_date)
    return article


@transaction.atomic
def owner_remind(*, article_id: int, review_date: str) -> bool:
    """The reminder's step (the application ``knowledge.remind_owner``): tell the owner the
    article's review date is near, if the article still has the review date this reminder was
    started for (confirmed or deleted since: nothing). Whether the owner was told."""
    article = (
        Article.objects.select_related("owner")
        .filter(pk=article_id, deleted_at__isnull=True)
        .first()
    )
    if article is None or article.review_date is None:
        return False
    if article.review_date.isoformat() != review_date:
        return False
    notification_send(
        recipient=article.owner,
        kind=KIND,
        title=_("Please check that “%(title)s” is still correct") % {"title": article.title},
        body=_(
            "Its review date is %(date)s. Read it through, change what is out of date, "
            "and confirm it."
        )
        % {"date": review_date},
        url=article_url(article.pk),
        dedup_key=f"knowledge:review:{article.pk}:{review_date}",
    )
    return True


def article_url(article_id: int) -> str:
    """The article's page (empty while the pages do not define it)."""
    try:
        return reverse("knowledge:article", args=[article_id])
    except NoReverseMatch:
        return ""


# --- the recycle bin -----------------------------------------------------------------------


@transaction.atomic
def article_delete(*, by: User, article_id: int) -> None:
    """Move the article to the recycle bin (its owner or a space admin); readers and search no
    longer find it; a space admin may restore it for :data:`selectors.RECYCLE_DAYS` days."""
    article = _locked(by, article_id)
    held = selectors.space_permissions(by, article.space)
    if article.owner_id != by.pk and "admin_space" not in held:
        raise Refused(_("Only the article's owner or a space admin may delete it."))
    article.deleted_at = timezone.now()
    article.deleted_by = by
    article.save(update_fields=["deleted_at", "deleted_by"])
    _audit(article.space, by, AuditAction.DELETED, article=article)
    search.unindex_article(article.pk)


@transaction.atomic
def article_undelete(*, by: User, article_id: int) -> Article:
    """Restore an article from the recycle bin (a space admin, within
    :data:`selectors.RECYCLE_DAYS` days)."""
    article = _locked(by, article_id, deleted=True)
    if "admin_space" not in selectors.space_permissions(by, article.space):
        raise NotFound(_("There is no such article, or you may not read it."))
    since = timezone.now() - datetime.timedelta(days=selectors.RECYCLE_DAYS)
    if article.deleted_at is None or article.deleted_at < since:
        raise NotFound(_("This article was deleted too long ago to be restored."))
    article.deleted_at = None
    article.deleted_by = None
    article.save(update_fields=["deleted_at", "deleted_by"])
    _audit(article.space, by, AuditAction.UNDELETED, article=article)
    search.index_article(article.pk)
    return article


@transaction.atomic
def articles_purge(*, older_than_days: int = selectors.RECYCLE_DAYS) -> int:
    """Delete for good the articles in the recycle bin longer than ``older_than_days``, with
    their versions and files (the files after the commit: a rollback must not lose them).
    How many."""
    cutoff = timezone.now() - datetime.timedelta(days=older_than_days)
    doomed = list(
        Article.objects.select_for_update(of=("self",))
        .select_related("space")
        .filter(deleted_at__lt=cutoff)
    )
    for article in doomed:
        files = [a.file for a in article.attachments.all() if a.file]
        search.unindex_article(article.pk)
        _audit(article.space, None, AuditAction.PURGED, detail=f"{article.pk}: {article.title}")
        article.delete()
        for file in files:
            transaction.on_commit(partial(file.delete, save=False))
    return len(doomed)


# --- readers: feedback and views -------------------------------------------------------------


def _readable_published(by: User, article_id: int) -> Article:
    article = selectors.articles_for(by).filter(pk=article_id).first()
    if article is None:
        raise NotFound(_("There is no such article, or you may not read it."))
    return article


def _count(article_id: int, helpful: bool, step: int) -> None:
    name = "helpful_count" if helpful else "not_helpful_count"
    Article.objects.filter(pk=article_id).update(**{name: F(name) + step})


@transaction.atomic
def feedback_give(*, by: User, article_id: int, helpful: bool, comment: str = "") -> Feedback:
    """A reader says whether the article helped (once per reader: giving it again changes it);
    the article's counters follow in the same transaction."""
    article = _readable_published(by, article_id)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise ValidationError(
            {"comment": [_("At most %(count)s characters.") % {"count": MAX_COMMENT}]}
        )
    earlier = Feedback.objects.select_for_update().filter(article=article, user=by).first()
    if earlier is None:
        try:
            with transaction.atomic():  # a savepoint: a double click's twin may insert first
                given = Feedback.objects.create(
                    article=article, user=by, helpful=bool(helpful), comment=comment
                )
        except IntegrityError:
            earlier = Feedback.objects.select_for_update().get(article=article, user=by)
        else:
            _count(article.pk, given.helpful, 1)
            return given
    if earlier.helpful != bool(helpful):
        _count(article.pk, earlier.helpful, -1)
        _count(article.pk, bool(helpful), 1)
    earlier.helpful, earlier.comment = bool(helpful), comment
    earlier.created_at = timezone.now()
    earlier.save(update_fields=["helpful", "comment", "created_at"])
    return earlier


def article_viewed(*, by: User, article_id: int) -> None:
    """Count a reader's view of a published article (one UPDATE, no lock: concurrent views
    each add one)."""
    selectors.articles_for(by).filter(pk=article_id).update(view_count=F("view_count") + 1)


# --- attachments, guides, related articles -------------------------------------------------


@transaction.atomic
def attachment_add(*, by: User, article_id: int, upload: Any) -> ArticleAttachment:
    """Attach a file to the article (its space's editors), with the task page's limits on
    size and type (``WORKFLOW_ATTACHMENT_MAX_BYTES``, ``WORKFLOW_ATTACHMENT_TYPES``, and the
    first bytes must be what the extension says)."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    validate_upload(upload)
    name = safe_filename(upload.name)
    upload.name = name
    return ArticleAttachment.objects.create(
        article=article,
        file=upload,
        name=name,
        size=upload.size,
        content_type=attachment_content_type(name),
        uploaded_by=by,
    )


def _clean_guides(guides: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The (process key, step id) pairs without repeats, each naming a deployed process and,
    when a step is given, one of the user tasks of its latest version."""
    cleaned: list[tuple[str, str]] = []
    for process_key, step_id in guides:
        key, step = str(process_key or "").strip(), str(step_id or "").strip()
        if not key or len(key) > 100 or len(step) > 100:
            raise ValidationError(
                {"guides": [_("Choose a process and, if you like, one of its steps.")]}
            )
        cleaned.append((key, step))
    cleaned = list(dict.fromkeys(cleaned))
    if len(cleaned) > MAX_GUIDES:
        raise ValidationError({"guides": [_("At most %(count)s.") % {"count": MAX_GUIDES}]})
    if cleaned:
        steps = {target.key: {step for step, _name in target.steps} for target in guide_targets()}
        for key, step in cleaned:
            if key not in steps:
                raise ValidationError(
                    {"guides": [_("No process “%(process)s” is deployed.") % {"process": key}]}
                )
            if step and step not in steps[key]:
                raise ValidationError(
                    {
                        "guides": [
                            _("The process “%(process)s” has no step “%(step)s”.")
                            % {"process": key, "step": step}
                        ]
                    }
                )
    return cleaned


@transaction.atomic
def article_guides_set(*, by: User, article_id: int, guides: Sequence[tuple[str, str]]) -> None:
    """The processes and steps the article explains (replacing the former list): the task
    page of such a step shows it as "how to do this step". The space's editors."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    cleaned = _clean_guides(guides)
    ArticleGuide.objects.filter(article=article).delete()
    ArticleGuide.objects.bulk_create(
        ArticleGuide(article=article, process_key=key, step_id=step) for key, step in cleaned
    )


@transaction.atomic
def article_related_set(*, by: User, article_id: int, related_ids: Iterable[int]) -> None:
    """The articles shown as related (replacing the former list): published ones ``by`` may
    read, not the article itself. The space's editors."""
    article = _locked(by, article_id)
    _require(by, article.space, "edit_space")
    wanted = list(dict.fromkeys(int(pk) for pk in related_ids if int(pk) != article.pk))
    if len(wanted) > MAX_RELATED:
        raise ValidationError({"related": [_("At most %(count)s.") % {"count": MAX_RELATED}]})
    found = list(selectors.articles_for(by).filter(pk__in=wanted))
    if len(found) != len(wanted):
        raise ValidationError({"related": [_("Choose published articles you can read.")]})
    article.related.set(found)
