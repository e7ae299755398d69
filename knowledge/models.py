"""The knowledge base's tables (docs/architecture.md: fields, constraints, clean(), small
properties; no business rule in save(), a manager or a signal).

A **space** (人力资源, 财务, IT 服务台 ...) holds **articles**. Who may read, write, review or
administer a space are django-guardian object permissions on the space (``read_space``,
``edit_space``, ``review_space``, ``admin_space``), given to people or roles; a public space
is read by every employee, a department space by the department's subtree.

An article's every save is an immutable **version** (``ArticleVersion``, numbered from 1).
The article row holds the working copy (the latest version's text, what the editor opens)
and points at the **published** version, which is what readers see and what search
indexes; a new draft under review never hides the published one. Deleting an article puts
it in the recycle bin (``deleted_at``) for 30 days. ``AuditEvent`` says who did what.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.models import localized_name


class Visibility(models.TextChoices):
    PUBLIC = "public", _("Every employee")
    DEPARTMENT = "department", _("The department and its sub-departments")
    MEMBERS = "members", _("Members only")


class SpaceRole(models.TextChoices):
    """A member's role in a space: each is a set of object permissions (``ROLE_PERMISSIONS``)."""

    READER = "reader", _("Reader")
    EDITOR = "editor", _("Editor")
    REVIEWER = "reviewer", _("Reviewer")
    ADMIN = "admin", _("Space admin")


# role -> the object permissions on the space it stands for (codenames of Space's Meta)
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    SpaceRole.READER: ("read_space",),
    SpaceRole.EDITOR: ("read_space", "edit_space"),
    SpaceRole.REVIEWER: ("read_space", "review_space"),
    SpaceRole.ADMIN: ("read_space", "edit_space", "review_space", "admin_space"),
}


class Space(models.Model):
    key = models.SlugField(_("key"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)
    description = models.TextField(_("description"), blank=True)
    visibility = models.CharField(
        _("who may read"), max_length=12, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    department = models.ForeignKey(
        "portal.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="knowledge_spaces",
        help_text=_("For a department space: its people and those of its sub-departments read it."),
    )
    requires_review = models.BooleanField(
        _("articles are reviewed before publishing"), default=False
    )
    review_months = models.PositiveSmallIntegerField(
        _("months until an article is reviewed again"), default=12
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("space")
        verbose_name_plural = _("spaces")
        ordering = ["key"]
        permissions = [
            ("read_space", _("Read the space's articles")),
            ("edit_space", _("Write articles in the space")),
            ("review_space", _("Review the space's articles")),
            ("admin_space", _("Administer the space")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(visibility="department") | Q(department__isnull=False),
                name="knowledge_department_space_has_department",
                violation_error_message=_("A department space needs its department."),
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized_name(self.name, self.name_en)


class Tag(models.Model):
    """A tag, stored folded (NFKC, case-folded, trimmed) so 「VPN」 and 「ｖｐｎ」 are one."""

    name = models.CharField(_("name"), max_length=40, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Language(models.TextChoices):
    CHINESE = "zh-hans", _("Chinese")
    ENGLISH = "en", _("English")


class Article(models.Model):
    space = models.ForeignKey(
        Space, verbose_name=_("space"), on_delete=models.PROTECT, related_name="articles"
    )
    # the working copy: the latest version's text (what the editor opens)
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("body (Markdown)"), blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="articles")
    lang = models.CharField(
        _("language"), max_length=8, choices=Language.choices, default=Language.CHINESE
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        on_delete=models.PROTECT,
        related_name="owned_articles",
    )
    latest_number = models.PositiveIntegerField(_("latest version"), default=0)
    published_version = models.ForeignKey(
        "ArticleVersion",
        verbose_name=_("published version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    # the review of the latest draft on the engine (None: no review asked, or none needed)
    review_instance = models.ForeignKey(
        "workflow.ProcessInstance",
        verbose_name=_("review"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    review_number = models.PositiveIntegerField(_("version under review"), null=True, blank=True)
    review_date = models.DateField(_("review date"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("last confirmed"), null=True, blank=True)
    related = models.ManyToManyField("self", verbose_name=_("related articles"), blank=True)
    view_count = models.PositiveIntegerField(_("views"), default=0)
    helpful_count = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful_count = models.PositiveIntegerField(_("not helpful"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deleted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        indexes = [
            models.Index(fields=["space", "-view_count"], name="knowledge_most_read"),
            models.Index(fields=["space", "-published_at"], name="knowledge_recent"),
            models.Index(fields=["deleted_at"], name="knowledge_recycle_bin"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.published_version_id is not None

    def may_be_outdated(self, today: datetime.date | None = None) -> bool:
        """Past its review date and not confirmed since: shown as "may be outdated"."""
        if self.review_date is None:
            return False
        return self.review_date < (today or timezone.localdate())


class ArticleVersion(models.Model):
    """One save of an article, never changed afterwards."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("body (Markdown)"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    note = models.CharField(_("what changed"), max_length=200, blank=True)
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    created_at = models.DateTimeField(_("saved at"), default=timezone.now)

    class Meta:
        verbose_name = _("article version")
        verbose_name_plural = _("article versions")
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="knowledge_version_number"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class AuditAction(models.TextChoices):
    CREATED = "created", _("created")
    SAVED = "saved", _("saved a version")
    SUBMITTED = "submitted", _("submitted for review")
    PUBLISHED = "published", _("published")
    RETURNED = "returned", _("returned for changes")
    REJECTED = "rejected", _("rejected")
    RESTORED = "restored", _("restored an old version")
    DELETED = "deleted", _("moved to the recycle bin")
    UNDELETED = "undeleted", _("restored from the recycle bin")
    PURGED = "purged", _("deleted for good")
    CONFIRMED = "confirmed", _("confirmed still correct")
    MOVED = "moved", _("moved to another space")
    MEMBER_SET = "member_set", _("changed a member's role")
    MEMBER_REMOVED = "member_removed", _("removed a member")
    SPACE_CHANGED = "space_changed", _("changed the space's settings")


class AuditEvent(models.Model):
    """Who did what in a space or to an article (append-only)."""

    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="audit_events")
    article = models.ForeignKey(
        Article, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices)
    version = models.PositiveIntegerField(_("version"), null=True, blank=True)
    detail = models.CharField(_("detail"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["article", "-at"], name="knowledge_audit_article"),
            models.Index(fields=["space", "-at"], name="knowledge_audit_space"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.action} {self.article_id or self.space_id}"


class Feedback(models.Model):
    """A reader's "helpful / not helpful" on an article, with an optional comment (one per
    reader and article; giving it again changes it)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    helpful = models.BooleanField(_("helpful"))
    comment = models.CharField(_("comment"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("given at"), default=timezone.now)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="knowledge_feedback_once"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}: {'+' if self.helpful else '-'}"


class ArticleAttachment(models.Model):
    """A file of an article (an image pasted into the body, a PDF, a Word or Excel file),
    previewed as the task page previews its attachments."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(_("file"), upload_to="knowledge/%Y/%m/")
    name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField(_("size"))
    content_type = models.CharField(_("type"), max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class ArticleGuide(models.Model):
    """An article that explains a process (``step_id`` empty) or one of its steps: the task
    page of that step shows it as "how to do this step", the catalogue links the guide."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="guides")
    process_key = models.CharField(_("process"), max_length=100)
    step_id = models.CharField(_("step"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("process guide")
        verbose_name_plural = _("process guides")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "process_key", "step_id"], name="knowledge_guide_once"
            ),
        ]
        indexes = [models.Index(fields=["process_key", "step_id"], name="knowledge_guide_step")]

    def __str__(self) -> str:
        return f"{self.process_key}/{self.step_id}"


class ArticleIndex(models.Model):
    """The published version of a live article as search reads it (``knowledge.search``
    writes it on publish, removes it on delete). Besides the text to show (title, summary,
    the body as plain text) it holds the same text segmented by ``portal.search`` (jieba)
    and what the filters and the reader's permissions need, so one query does all.

    Migration 0002 adds what Django cannot describe: on PostgreSQL two ``tsvector`` columns
    generated from the segmented text (``head``: the title weighted A, summary and tags B;
    ``document``: everything) with GIN indexes; on SQLite the FTS5 table
    ``knowledge_article_search`` over the three segmented columns, kept in step by triggers.
    """

    article = models.OneToOneField(
        Article, primary_key=True, on_delete=models.CASCADE, related_name="search_index"
    )
    space = models.ForeignKey(Space, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    lang = models.CharField(max_length=8)
    published_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    title = models.CharField(max_length=200)
    title_key = models.CharField(
        max_length=200, db_index=True
    )  # folded: an exact title ranks first
    summary = models.CharField(max_length=500, blank=True)
    tags = models.CharField(max_length=1000, blank=True)  # folded, each between "|": |vpn|远程|
    body_text = models.TextField(blank=True)  # the Markdown as plain text, for snippets
    title_terms = models.TextField(blank=True)
    summary_terms = models.TextField(blank=True)  # the summary's and the tags' tokens
    body_terms = models.TextField(blank=True)

    class Meta:
        verbose_name = _("search index entry")
        verbose_name_plural = _("search index")
        indexes = [
            models.Index(fields=["space", "-published_at"], name="knowledge_index_space"),
            models.Index(fields=["owner"], name="knowledge_index_owner"),
            models.Index(fields=["published_at"], name="knowledge_index_published"),
        ]

    def __str__(self) -> str:
        return self.title
