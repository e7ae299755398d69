"""Django admin for the organization: people, the department tree, positions, roles,
delegation rules, code rules, announcements and notifications."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from oauth2_provider.admin import ApplicationAdmin
from treebeard.admin import TreeAdmin
from treebeard.forms import movenodeform_factory
from unfold.admin import ModelAdmin, StackedInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from portal.admin_site import GroupedPermissionsWidget, in_sidebar_order, restyle
from portal.models import (
    Announcement,
    CalendarDay,
    ClientScopes,
    CodeRule,
    DelegationRule,
    Department,
    LeaveBalance,
    Notification,
    Position,
    Role,
    User,
)
from portal.selectors import holds_more_than, next_employee_no
from portal.services import department_save

admin.site.site_header = _("Enterprise Portal administration")
admin.site.site_title = _("Enterprise Portal")
admin.site.index_title = _("Organization and settings")


@admin.register(User)
class UserAdmin(DjangoUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = (
        "username",
        "display_name",
        "employee_no",
        "department",
        "manager",
        "is_active",
        "is_staff",
    )
    list_filter = ("is_active", "is_staff", "department", "groups", "preferred_language")
    search_fields = ("username", "first_name", "last_name", "employee_no", "email", "phone")
    ordering = ("employee_no", "username")
    autocomplete_fields = ("department", "manager", "positions")
    list_select_related = ("department", "manager")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("last_name", "first_name", "email", "phone")}),
        (
            _("Organization"),
            {"fields": ("employee_no", "department", "positions", "manager")},
        ),
        (
            _("Preferences"),
            {"fields": ("preferred_language", "notify_by_email", "notify_by_sms")},
        ),
        (
            _("Permissions"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "employee_no",
                    "last_name",
                    "first_name",
                    "department",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    # What only a superuser may grant: otherwise an HR administrator with "change user"
    # could make themselves (or a friend) a superuser or give any permission.
    privilege_fields = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """A new person's employee number is the next one by the code rule (editable)."""
        initial = dict(super().get_changeform_initial_data(request))
        initial.setdefault("employee_no", next_employee_no() or "")
        return initial

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not change and not obj.employee_no:
            obj.employee_no = next_employee_no()
        super().save_model(request, obj, form, change)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += self.privilege_fields
        return fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            # Nor may they take over an administrator's account (e.g. reset its password).
            queryset = queryset.filter(is_superuser=False)
        return queryset

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if not self._beyond(request, obj):
            return fieldsets
        # read-only: not even the password hash with its "reset password" link
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        person = self.get_object(request, unquote(object_id))
        if request.method == "GET" and self._beyond(request, person):
            messages.info(
                request,
                _(
                    "%(name)s holds roles, permissions or staff rights that you do not have, "
                    "so the account is shown read-only to you: ask a superuser to change it "
                    "or reset its password."
                )
                % {"name": person},
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def _beyond(self, request: HttpRequest, obj: Any) -> bool:
        return obj is not None and holds_more_than(obj, request.user)  # type: ignore[arg-type]

    # An account that holds more than the person at the desk (a role, a permission, staff
    # status) is shown read-only to them: no edit, no password reset (Django's password view
    # asks has_change_permission), no deletion.
    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not self._beyond(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._beyond(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """The list's bulk deletion: refused whole when any chosen account holds more."""
        if any(self._beyond(request, person) for person in queryset):
            raise PermissionDenied
        super().delete_queryset(request, queryset)

    @admin.display(description=_("full name"), ordering="last_name")
    def display_name(self, obj: User) -> str:
        return obj.get_full_name()


class DepartmentAdmin(TreeAdmin, ModelAdmin):
    form = movenodeform_factory(Department, exclude=("path", "depth", "numchild"))
    list_display = ("name", "code", "name_en", "head", "member_count", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "name_en", "code")
    autocomplete_fields = ("head",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        departments: QuerySet[Department] = super().get_queryset(request)
        return departments.select_related("head").annotate(_member_count=Count("members"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj._member_count)

    def save_model(self, request: HttpRequest, obj: Department, form: Any, change: bool) -> None:
        """Through the portal's one path for a department a person saved (it tells the
        department listeners, e.g. the ERP, in the admin's transaction)."""
        department_save(department=obj, created=not change)

    def move_node(self, request: HttpRequest) -> HttpResponse:
        """Dragging a department elsewhere in the tree moves it: the listeners learn its new
        parent in the move's transaction (treebeard's view has none of its own)."""
        with transaction.atomic():
            response: HttpResponse = super().move_node(request)
            if response.status_code == 200:  # the form checked the node's id
                moved = Department.objects.get(pk=request.POST["node"])
                department_save(department=moved, created=False)
        return response

    def response_add(
        self, request: HttpRequest, obj: Any, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._at(obj, super().response_add(request, obj, post_url_continue))

    def response_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        return self._at(obj, super().response_change(request, obj))

    def _at(self, department: Department, response: HttpResponse) -> HttpResponse:
        """Back on the tree after a save, it opens at the department just saved: the list
        shows its branch (its parent's subtree, every level) instead of the top level."""
        location = response.get("Location", "")
        changelist = reverse("admin:portal_department_changelist")
        if response.status_code == 302 and location.split("?")[0] == changelist:
            branch = Department.objects.get_parent(department) or department
            response["Location"] = f"{changelist}?path__startswith={branch.path}"
        return response

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup == "path__startswith" or super().lookup_allowed(lookup, value, request)


admin.site.register(Department, DepartmentAdmin)


@admin.register(Position)
class PositionAdmin(ModelAdmin):
    list_display = ("code", "name", "name_en", "department")
    list_filter = ("department",)
    search_fields = ("code", "name", "name_en")
    autocomplete_fields = ("department",)


admin.site.unregister(Group)


@admin.register(Role)
class RoleAdmin(GroupAdmin, ModelAdmin):
    list_display = ("code", "name", "name_en", "member_count")
    search_fields = ("code", "name", "name_en", "description")
    fields = ("code", "name", "name_en", "description", "permissions")

    def formfield_for_manytomany(
        self, db_field: Any, request: HttpRequest | None = None, **kwargs: Any
    ) -> Any:
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.name == "permissions":
            # grouped by area in words, not hundreds of "Can add access token" rows
            field.widget = GroupedPermissionsWidget(choices=field.choices)  # type: ignore[arg-type]
        return field

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).annotate(_member_count=Count("user"))

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj: Any) -> int:
        return int(obj._member_count)


@admin.register(DelegationRule)
class DelegationRuleAdmin(ModelAdmin):
    list_display = ("delegator", "delegate", "starts_at", "ends_at", "process_keys", "is_active")
    list_filter = ("is_active", "starts_at")
    search_fields = (
        "delegator__username",
        "delegator__last_name",
        "delegator__first_name",
        "delegate__username",
        "delegate__last_name",
        "delegate__first_name",
        "reason",
    )
    autocomplete_fields = ("delegator", "delegate")
    date_hierarchy = "starts_at"


@admin.register(CodeRule)
class CodeRuleAdmin(ModelAdmin):
    """The data dictionary's rules; ``clean()`` checks the example against the pattern and
    the checksum, so a rule that refuses its own example cannot be saved."""

    list_display = ("key", "pattern", "example", "checksum", "is_unique")
    list_filter = ("checksum", "is_unique")
    fields = ("key", "pattern", "example", "checksum", "is_unique", "unique_scope", "description")


@admin.register(Announcement)
class AnnouncementAdmin(ModelAdmin):
    list_display = ("title", "published_at", "expires_at", "is_pinned", "author")
    list_filter = ("is_pinned", "published_at", "target_departments", "target_roles")
    search_fields = ("title", "body")
    filter_horizontal = ("target_departments", "target_roles")
    date_hierarchy = "published_at"
    exclude = ("author",)

    def save_model(self, request: HttpRequest, obj: Announcement, form: Any, change: bool) -> None:
        if not change:
            obj.author = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(Notification)
class NotificationAdmin(ModelAdmin):
    list_display = ("title", "recipient", "kind", "created_at", "read_at", "emailed_at")
    list_filter = ("kind", "created_at")
    search_fields = ("title", "recipient__username", "recipient__last_name")
    readonly_fields = ("created_at", "read_at", "emailed_at", "texted_at", "dedup_key")
    autocomplete_fields = ("recipient",)
    date_hierarchy = "created_at"


@admin.register(CalendarDay)
class CalendarDayAdmin(ModelAdmin):
    """The business calendar's exceptions: public holidays and make-up workdays (调休),
    which the leave form's day count follows (portal/calendar.py)."""

    list_display = ("date", "kind", "name")
    list_filter = ("kind", "date")
    search_fields = ("name",)
    date_hierarchy = "date"


@admin.register(LeaveBalance)
class LeaveBalanceAdmin(ModelAdmin):
    """Days of leave left per person and kind (the leave form's enum ids: annual, sick ...);
    a leave over its balance is refused."""

    list_display = ("user", "leave_type", "days", "updated_at")
    list_filter = ("leave_type",)
    search_fields = ("user__username", "user__last_name", "user__first_name", "leave_type")
    autocomplete_fields = ("user",)
    list_select_related = ("user",)
    readonly_fields = ("updated_at",)


class ClientScopesInline(StackedInline):
    model = ClientScopes
    fields = ("scopes", "rate")
    can_delete = False
    min_num = 1
    max_num = 1


class OAuthApplicationAdmin(ApplicationAdmin, ModelAdmin):
    """django-oauth-toolkit's application admin with the application's allowed scopes."""

    inlines = (ClientScopesInline,)


# Other packages registered theirs before (INSTALLED_APPS order): the theme for them too.
restyle(admin.site)
in_sidebar_order(admin.site)
