"""Django admin of the knowledge base's tables, for administrators who look after it.

Articles are written in the knowledge base's editor, never typed into a table: here an
administrator finds them (by space, owner, the recycle bin), reads their versions and their
audit trail, and moves them to or back from the recycle bin through the same services the
pages use. A space's settings are edited here through ``services.space_create`` /
``space_update`` (so its audit row is written); its members are shown read-only (they are
django-guardian object permissions, set on the space's members page). Versions, feedback and
audit events are append-only records: read-only.

The sidebar puts these under the app's own name, 知识库 / Knowledge base
(``portal.admin_site``: an app not named there follows the workflow under its name).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from unfold.admin import ModelAdmin, TabularInline

from knowledge import selectors, services
from knowledge.models import Article, ArticleVersion, AuditEvent, Feedback, Space, SpaceRole, Tag
from portal.errors import PortalError
from portal.http import signed_in

# the fields of a space that its settings form edits (``services.space_update``)
SPACE_FIELDS = (
    "key",
    "name",
    "name_en",
    "description",
    "visibility",
    "department",
    "requires_review",
    "review_months",
)


# django-unfold ships no type information: its ModelAdmin and inlines are Any to mypy (the
# portal's and the workflow's admin modules are exempt in pyproject.toml for the same reason).
class ReadOnlyAdmin(ModelAdmin):  # type: ignore[misc]
    """Records the knowledge base writes itself: administrators look, never edit a row."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SpaceForm(forms.ModelForm):  # type: ignore[type-arg]
    """The space's settings; what the services check beyond the model's own rules is said
    here too, so that a refusal is the form's error, not a failed save."""

    class Meta:
        model = Space
        fields = SPACE_FIELDS

    def clean_review_months(self) -> int:
        months = int(self.cleaned_data["review_months"])
        if not 1 <= months <= services.MAX_REVIEW_MONTHS:
            raise ValidationError(
                _("Between 1 and %(count)s months.") % {"count": services.MAX_REVIEW_MONTHS}
            )
        return months


@admin.register(Space)
class SpaceAdmin(ModelAdmin):  # type: ignore[misc]
    form = SpaceForm
    list_display = ("key", "name", "name_en", "visibility", "department", "requires_review")
    list_filter = ("visibility", "requires_review")
    search_fields = ("key", "name", "name_en")
    fields = (*SPACE_FIELDS, "members", "created_at")
    readonly_fields = ("members", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # a space's key is in every link to it: chosen once
        return (*self.readonly_fields, "key") if obj else tuple(self.readonly_fields)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # its articles' history goes with it; a space is emptied, not deleted

    @admin.display(description=pgettext_lazy("knowledge admin", "members"))
    def members(self, obj: Space) -> str:
        if obj.pk is None:
            return "-"
        rows = [
            (
                member.name,
                _("(role)") if member.group is not None else "",
                SpaceRole(member.role).label,
            )
            for member in selectors.members_of(obj)
        ]
        if not rows:
            return _("No members: who may read it follows its visibility.")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{} {} — {}</li>", rows))

    def save_model(self, request: HttpRequest, obj: Space, form: Any, change: bool) -> None:
        """Through the services, which check who may and write the audit row; a refusal is
        the form's error page, nothing saved."""
        values = {
            name: form.cleaned_data[name] for name in SPACE_FIELDS if name in form.cleaned_data
        }
        try:
            if change:
                values.pop("key", None)
                saved = services.space_update(by=signed_in(request), space_id=obj.pk, **values)
            else:
                saved = services.space_create(by=signed_in(request), **values)
        except PortalError as error:
            raise PermissionDenied(str(error)) from error
        obj.pk = saved.pk
        obj.created_at = saved.created_at


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ("name", "article_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        tags: QuerySet[Tag] = super().get_queryset(request)
        return tags.annotate(used=Count("articles"))

    @admin.display(description=pgettext_lazy("knowledge admin", "articles"), ordering="used")
    def article_count(self, obj: Any) -> int:
        return int(getattr(obj, "used", 0))


class VersionInline(TabularInline):  # type: ignore[misc]
    model = ArticleVersion
    fields = ("number", "title", "author", "note", "restored_from", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class RecycleBinFilter(admin.SimpleListFilter):
    title = gettext_lazy("recycle bin")
    parameter_name = "deleted"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("no", gettext_lazy("Not deleted")),
            ("yes", gettext_lazy("In the recycle bin")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "title",
        "space",
        "owner",
        "latest_number",
        "is_published",
        "updated_at",
        "deleted_at",
    )
    list_filter = (
        RecycleBinFilter,
        "space",
        "lang",
        ("published_version", admin.EmptyFieldListFilter),
    )
    search_fields = ("=id", "title", "owner__username")
    list_select_related = ("space", "owner")
    readonly_fields = [f.name for f in Article._meta.fields if f.name != "review_instance"]
    exclude = ("review_instance", "tags", "related")
    inlines = [VersionInline]
    show_full_result_count = False
    actions = ["move_to_recycle_bin", "restore_from_recycle_bin"]

    @admin.display(description=pgettext_lazy("knowledge admin", "published"), boolean=True)
    def is_published(self, obj: Article) -> bool:
        return obj.is_published

    def _each(self, request: HttpRequest, queryset: QuerySet[Article], act: Any, done: str) -> None:
        count = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                act(by=signed_in(request), article_id=pk)
            except (PortalError, ValidationError, PermissionDenied) as error:
                text = "; ".join(error.messages) if isinstance(error, ValidationError) else error
                messages.warning(request, f"#{pk}: {text}")
            else:
                count += 1
        if count:
            messages.success(request, done % {"count": count})

    @admin.action(description=gettext_lazy("Move the selected articles to the recycle bin"))
    def move_to_recycle_bin(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._each(
            request,
            queryset.filter(deleted_at__isnull=True),
            services.article_delete,
            _("Articles moved to the recycle bin: %(count)d."),
        )

    @admin.action(description=gettext_lazy("Restore the selected articles from the recycle bin"))
    def restore_from_recycle_bin(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        self._each(
            request,
            queryset.filter(deleted_at__isnull=False),
            services.article_undelete,
            _("Articles restored from the recycle bin: %(count)d."),
        )


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("article", "user", "helpful", "comment", "created_at")
    list_filter = ("helpful", "article__space")
    search_fields = ("=article__id", "article__title", "user__username", "comment")
    list_select_related = ("article", "user")
    readonly_fields = [f.name for f in Feedback._meta.fields]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor", "action", "space", "article", "version", "detail")
    list_filter = ("action", "space")
    search_fields = ("=article__id", "actor__username", "detail")
    list_select_related = ("actor", "space", "article")
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    show_full_result_count = False
