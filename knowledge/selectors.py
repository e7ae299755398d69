"""Every read of the knowledge base that more than one caller needs, starting from a queryset scoped
to the person asking (docs/architecture.md). Selectors never import services.

**Who reads a space.** A public space: every active account. A department space: the people of
its department and of every department below it (the department tree's materialized path:
the reader's department ``path`` starts with the space department's). Any space: whoever
holds the object permission ``knowledge.read_space`` on it (django-guardian), themselves or
through one of their roles (groups). Superusers read everything. What a person may not read
is a 404 (:class:`portal.errors.NotFound`), never a 403 that tells it exists.

**What they may do there** (:func:`space_permissions`): the space's object permissions
``edit_space``, ``review_space``, ``admin_space`` (given through a role of the space,
``knowledge.models.ROLE_PERMISSIONS``), plus ``read_space`` when the space is readable.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from django.contrib.auth.models import AnonymousUser, Group
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import get_group_perms, get_perms, get_user_perms

from knowledge.models import (
    Article,
    ArticleAttachment,
    ArticleGuide,
    ArticleVersion,
    AuditEvent,
    Space,
    SpaceRole,
    Tag,
    Visibility,
)
from portal.errors import NotFound
from portal.models import Department, User
from workflow.selectors.status import status_of

__all__ = [
    "RECYCLE_DAYS",
    "SPACE_PERMISSIONS",
    "Diff",
    "DiffRow",
    "DiffSection",
    "Member",
    "ReviewState",
    "article_for",
    "articles_for",
    "attachment_for",
    "audit_trail",
    "guides_exist",
    "guides_for",
    "may_see",
    "members_of",
    "most_read",
    "readable_space_ids",
    "recently_updated",
    "recycle_bin",
    "review_state",
    "role_codenames",
    "role_of",
    "space_for",
    "space_permissions",
    "space_reviewers",
    "space_tags",
    "spaces_for",
    "version_diff",
    "versions_of",
]

SPACE_PERMISSIONS = ("read_space", "edit_space", "review_space", "admin_space")
# the permissions that let a person see an article before it is published
WORKING_PERMISSIONS = frozenset({"edit_space", "review_space", "admin_space"})
RECYCLE_DAYS = 30  # a deleted article stays restorable this long

Reader = User | AnonymousUser


# --- spaces ------------------------------------------------------------------------------------


def _granting_read() -> Q:
    """Guardian rows that give ``read_space`` on the outer query's space."""
    return Q(
        content_type__app_label="knowledge",
        content_type__model="space",
        permission__codename="read_space",
        object_pk=Cast(OuterRef("pk"), CharField()),
    )


def _readable(user: User) -> Q:
    """The spaces ``user`` (active, not a superuser) reads, as one condition (no query)."""
    by_user = UserObjectPermission.objects.filter(_granting_read(), user_id=user.pk)
    by_role = GroupObjectPermission.objects.filter(_granting_read(), group__user=user.pk)
    readable = Q(visibility=Visibility.PUBLIC) | Exists(by_user) | Exists(by_role)
    if user.department_id is not None:
        inside = Department.objects.filter(
            pk=user.department_id, path__startswith=OuterRef("department__path")
        )
        readable |= Q(visibility=Visibility.DEPARTMENT) & Q(Exists(inside))
    return readable


def spaces_for(user: Reader) -> QuerySet[Space]:
    """The spaces ``user`` may read (one query when evaluated)."""
    if not user.is_authenticated or not user.is_active:
        return Space.objects.none()
    if user.is_superuser or not isinstance(user, User):
        return Space.objects.all() if user.is_superuser else Space.objects.none()
    return Space.objects.filter(_readable(user))


def readable_space_ids(user: Reader) -> set[int]:
    """The ids of the spaces ``user`` may read: one query."""
    return set(spaces_for(user).values_list("pk", flat=True))


def space_for(user: Reader, key: str) -> Space:
    """The space ``key`` if ``user`` may read it, else :class:`NotFound`."""
    found = spaces_for(user).select_related("department").filter(key=key).first()
    if found is None:
        raise NotFound(_("There is no such space, or you may not read it."))
    return found


def _readable_by_visibility(user: User, space: Space) -> bool:
    if space.visibility == Visibility.PUBLIC:
        return True
    if space.visibility != Visibility.DEPARTMENT:
        return False
    mine, theirs = user.department, space.department
    return mine is not None and theirs is not None and mine.path.startswith(theirs.path)


def space_permissions(user: Reader, space: Space) -> set[str]:
    """What ``user`` may do in ``space``: a subset of :data:`SPACE_PERMISSIONS`."""
    if not user.is_authenticated or not user.is_active:
        return set()
    if user.is_superuser:
        return set(SPACE_PERMISSIONS)
    if not isinstance(user, User):
        return set()
    held = set(get_perms(user, space)) & set(SPACE_PERMISSIONS)
    if held or _readable_by_visibility(user, space):
        held.add("read_space")
    return held


@dataclass(frozen=True)
class Member:
    """A person or a role (group) holding a role in a space."""

    role: str
    user: User | None = None
    group: Group | None = None

    @property
    def name(self) -> str:
        if self.user is not None:
            return self.user.display_name
        group = self.group
        return str(getattr(group, "role", None) or group)


def role_codenames(holder: User | Group, space: Space) -> set[str]:
    """The space permissions a person holds themselves (not through a role), or a role holds."""
    found = (
        get_user_perms(holder, space)
        if isinstance(holder, User)
        else get_group_perms(holder, space)
    )
    return set(found) & set(SPACE_PERMISSIONS)


def role_of(codenames: set[str]) -> str | None:
    """The space role a set of held permissions stands for (the highest one held)."""
    for role, needed in (
        (SpaceRole.ADMIN, "admin_space"),
        (SpaceRole.REVIEWER, "review_space"),
        (SpaceRole.EDITOR, "edit_space"),
        (SpaceRole.READER, "read_space"),
    ):
        if needed in codenames:
            return str(role)
    return None


_ROLE_ORDER = {SpaceRole.ADMIN: 0, SpaceRole.REVIEWER: 1, SpaceRole.EDITOR: 2, SpaceRole.READER: 3}


def members_of(space: Space) -> list[Member]:
    """Who holds a role in ``space`` (people and roles), the admins first."""
    where = {
        "content_type__app_label": "knowledge",
        "content_type__model": "space",
        "object_pk": str(space.pk),
        "permission__codename__in": SPACE_PERMISSIONS,
    }
    people: dict[int, tuple[User, set[str]]] = {}
    for row in UserObjectPermission.objects.filter(**where).select_related("user", "permission"):
        people.setdefault(row.user_id, (row.user, set()))[1].add(row.permission.codename)
    groups: dict[int, tuple[Group, set[str]]] = {}
    rows = GroupObjectPermission.objects.filter(**where).select_related(
        "group", "group__role", "permission"
    )
    for grow in rows:
        groups.setdefault(grow.group_id, (grow.group, set()))[1].add(grow.permission.codename)
    members = [Member(role, user=u) for u, held in people.values() if (role := role_of(held))]
    members += [Member(role, group=g) for g, held in groups.values() if (role := role_of(held))]
    return sorted(members, key=lambda m: (_ROLE_ORDER[SpaceRole(m.role)], m.name))


def space_reviewers(space: Space) -> list[User]:
    """The active people who may review the space's articles: holders of ``review_space``
    themselves or through a role (space admins hold it too), by user name."""
    where = {
        "content_type__app_label": "knowledge",
        "content_type__model": "space",
        "object_pk": str(space.pk),
        "permission__codename": "review_space",
    }
    direct = UserObjectPermission.objects.filter(**where).values("user_id")
    roles = GroupObjectPermission.objects.filter(**where).values("group_id")
    return list(
        User.objects.filter(Q(pk__in=direct) | Q(groups__in=roles), is_active=True)
        .distinct()
        .order_by("username")
    )


def space_tags(space: Space) -> list[tuple[str, int]]:
    """The tags of the space's published articles, with how many carry each, most used first."""
    rows = (
        Tag.objects.filter(
            articles__space=space,
            articles__deleted_at__isnull=True,
            articles__published_version__isnull=False,
        )
        .annotate(uses=Count("articles", distinct=True))
        .order_by("-uses", "name")
        .values_list("name", "uses")
    )
    return [(name, uses) for name, uses in rows]


# --- articles ------------------------------------------------------------------------------


def articles_for(user: Reader) -> QuerySet[Article]:
    """The published, not deleted articles of the spaces ``user`` reads (the readable spaces are
    a subquery: one query, filtered inside the database), each with ``shown_title`` and
    ``shown_summary``: those of the published version, what a reader's list shows (the
    article's own ``title`` is the working copy, which may hold an unpublished draft)."""
    return Article.objects.filter(
        space__in=spaces_for(user).values("pk"),
        published_version__isnull=False,
        deleted_at__isnull=True,
    ).annotate(
        shown_title=F("published_version__title"),
        shown_summary=F("published_version__summary"),
    )


def article_for(user: Reader, article_id: int) -> Article:
    """The article ``article_id`` as ``user`` may see it: published in a space they read, or
    (not yet published) when they write, review or administer its space or own it; deleted
    articles never (the recycle bin is :func:`recycle_bin`). Else :class:`NotFound`."""
    article = (
        Article.objects.select_related("space", "space__department", "owner", "published_version")
        .filter(pk=article_id, deleted_at__isnull=True)
        .first()
    )
    if article is None or not may_see(user, article):
        raise NotFound(_("There is no such article, or you may not read it."))
    return article


def may_see(user: Reader, article: Article) -> bool:
    """Whether ``user`` may open ``article`` (see :func:`article_for`)."""
    held = space_permissions(user, article.space)
    if "read_space" not in held:
        return False
    return article.is_published or bool(held & WORKING_PERMISSIONS) or article.owner_id == user.pk


def most_read(user: Reader, *, space: Space | None = None, limit: int = 10) -> list[Article]:
    """The most viewed readable articles (of one space, or of every readable one)."""
    found = articles_for(user)
    if space is not None:
        found = found.filter(space=space)
    return list(found.select_related("space").order_by("-view_count", "-published_at")[:limit])


def recently_updated(user: Reader, *, space: Space | None = None, limit: int = 10) -> list[Article]:
    """The readable articles published most recently (readers see the published version, so
    a draft saved since does not count)."""
    found = articles_for(user)
    if space is not None:
        found = found.filter(space=space)
    return list(found.select_related("space").order_by("-published_at", "-pk")[:limit])


def versions_of(article: Article) -> QuerySet[ArticleVersion]:
    """Every saved version of ``article``, the newest first."""
    return article.versions.select_related("author").order_by("-number")


def audit_trail(article: Article) -> QuerySet[AuditEvent]:
    """Who did what to ``article``, the latest first."""
    return article.audit_events.select_related("actor").order_by("-at", "-id")


def recycle_bin(user: Reader, space: Space) -> QuerySet[Article]:
    """The articles of ``space`` deleted within the last :data:`RECYCLE_DAYS` days, for its
    admins (nobody else sees the bin: empty)."""
    if "admin_space" not in space_permissions(user, space):
        return Article.objects.none()
    since = timezone.now() - datetime.timedelta(days=RECYCLE_DAYS)
    return (
        Article.objects.filter(space=space, deleted_at__gte=since)
        .select_related("deleted_by", "owner")
        .order_by("-deleted_at")
    )


def guides_for(user: Reader, process_key: str, step_id: str = "") -> list[Article]:
    """The readable articles that explain process ``process_key`` (``step_id`` empty) or one of
    its steps: the task page's "how to do this step", the catalogue's guide."""
    return list(
        articles_for(user)
        .filter(guides__process_key=process_key, guides__step_id=step_id)
        .select_related("space", "published_version")
        .distinct()
        .order_by("published_version__title")
    )


def guides_exist(process_key: object, step_id: object) -> Exists:
    """A condition true when a published article explains ``process_key`` / ``step_id``
    (expressions of an outer query), whoever reads: where it is false, :func:`guides_for`
    finds nothing for anybody (the task page asks it with the task)."""
    return Exists(
        ArticleGuide.objects.filter(
            process_key=process_key,
            step_id=step_id,
            article__deleted_at__isnull=True,
            article__published_version__isnull=False,
        )
    )


def attachment_for(user: Reader, attachment_id: int) -> ArticleAttachment:
    """An article's attachment, for whoever may see the article (else :class:`NotFound`)."""
    found = (
        ArticleAttachment.objects.filter(pk=attachment_id, article__deleted_at__isnull=True)
        .values_list("article_id", flat=True)
        .first()
    )
    if found is None:
        raise NotFound(_("There is no such file, or you may not read it."))
    article = article_for(user, found)
    attachment = ArticleAttachment.objects.get(pk=attachment_id)
    attachment.article = article
    return attachment


# --- the review ----------------------------------------------------------------------------

ReviewState = Literal["none", "in_review", "returned", "rejected", "published"]

_FROM_STATUS: dict[str, ReviewState] = {
    "running": "in_review",
    "suspended": "in_review",
    "returned": "returned",
    "withdrawn": "returned",
    "approved": "published",
    "rejected": "rejected",
    "cancelled": "rejected",
    "terminated": "rejected",
}


def review_state(article: Article) -> ReviewState:
    """Where the article's latest draft stands: ``in_review`` (with a reviewer),
    ``returned`` (back with its editor to change and resubmit), ``rejected`` (the review
    turned the submitted version down), ``published`` (the latest version is the published
    one) or ``none`` (a draft nobody was asked to review). A review still under way or back
    with the editor decides even when a version was saved since; an ended review only speaks
    for the version it reviewed."""
    instance = article.review_instance
    if instance is not None:
        state = _FROM_STATUS[status_of(instance).code]
        if state in ("in_review", "returned") or article.review_number == article.latest_number:
            return state
    published = article.published_version
    if published is not None and published.number == article.latest_number:
        return "published"
    return "none"


# --- comparing two versions --------------------------------------------------------------------

RowKind = Literal["equal", "changed", "removed", "added"]
# a line longer than this is shown changed as a whole: a character diff of it would be slow
MAX_CHARACTER_DIFF = 4000


@dataclass(frozen=True)
class DiffRow:
    """One row of a side-by-side comparison: the older line (``left``) and the newer one
    (``right``), escaped HTML with ``<del>``/``<ins>`` around what changed; a side is empty
    (``None`` number) where a line was added or removed."""

    kind: RowKind
    left: SafeString
    right: SafeString
    left_number: int | None
    right_number: int | None


@dataclass(frozen=True)
class DiffSection:
    """One field of the article (title, summary, tags, body) compared."""

    name: str
    label: str
    rows: list[DiffRow] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(row.kind != "equal" for row in self.rows)


@dataclass(frozen=True)
class Diff:
    """Two versions side by side: ``old`` on the left, ``new`` on the right."""

    old: ArticleVersion
    new: ArticleVersion
    sections: list[DiffSection]

    @property
    def changed(self) -> bool:
        return any(section.changed for section in self.sections)


def _marked(text: str, spans: Sequence[tuple[int, int]], tag: str) -> SafeString:
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(escape(text[at:start]))
        parts.append(f"<{tag}>{escape(text[start:end])}</{tag}>")
        at = end
    parts.append(escape(text[at:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of text was escaped above


def _character_diff(old: str, new: str) -> tuple[SafeString, SafeString]:
    """Two changed lines with what differs marked, character by character (Chinese has no
    spaces between words, so words are no unit to compare)."""
    if len(old) > MAX_CHARACTER_DIFF or len(new) > MAX_CHARACTER_DIFF:
        return _marked(old, [(0, len(old))], "del"), _marked(new, [(0, len(new))], "ins")
    removed: list[tuple[int, int]] = []
    added: list[tuple[int, int]] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete") and i2 > i1:
            removed.append((i1, i2))
        if op in ("replace", "insert") and j2 > j1:
            added.append((j1, j2))
    return _marked(old, removed, "del"), _marked(new, added, "ins")


def _rows_of_change(old: list[str], new: list[str], i: int, j: int) -> list[DiffRow]:
    """A block of replaced lines: paired line by line, the rest removed or added."""
    rows: list[DiffRow] = []
    for k in range(max(len(old), len(new))):
        if k < len(old) and k < len(new):
            left, right = _character_diff(old[k], new[k])
            rows.append(DiffRow("changed", left, right, i + k + 1, j + k + 1))
        elif k < len(old):
            rows.append(DiffRow("removed", _marked(old[k], [], ""), mark_safe(""), i + k + 1, None))
        else:
            rows.append(DiffRow("added", mark_safe(""), _marked(new[k], [], ""), None, j + k + 1))
    return rows


def compare_lines(old: list[str], new: list[str]) -> list[DiffRow]:
    """Side-by-side rows of two texts' lines (difflib's matching of lines; changed pairs are
    compared by character)."""
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += [
                DiffRow(
                    "equal", _marked(line, [], ""), _marked(line, [], ""), i1 + k + 1, j1 + k + 1
                )
                for k, line in enumerate(old[i1:i2])
            ]
        else:
            rows += _rows_of_change(old[i1:i2], new[j1:j2], i1, j1)
    return rows


def _fields(version: ArticleVersion) -> dict[str, list[str]]:
    return {
        "title": [version.title],
        "summary": version.summary.splitlines() or [""],
        "tags": sorted(str(tag) for tag in version.tags or []),
        "body": version.body.splitlines(),
    }


_LABELS = {"title": _("Title"), "summary": _("Summary"), "tags": _("Tags"), "body": _("Body")}


def version_diff(article: Article, a: int, b: int) -> Diff:
    """Versions ``a`` and ``b`` of ``article`` side by side, the older one on the left; a
    number the article does not have is :class:`NotFound`."""
    numbers = sorted((a, b))
    found = {v.number: v for v in article.versions.filter(number__in=numbers)}
    if len(found) != len(set(numbers)):
        raise NotFound(_("The article has no such version."))
    old, new = found[numbers[0]], found[numbers[1]]
    before, after = _fields(old), _fields(new)
    sections = [
        DiffSection(name, str(label), compare_lines(before[name], after[name]))
        for name, label in _LABELS.items()
    ]
    return Diff(old, new, sections)
