"""The organization every app shares: people, departments, positions, roles, delegation
rules, and the shell's announcements and notifications.

The workflow resolves participants from these tables (see ``portal.selectors``); every
app's permissions are granted to roles and users defined here.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from treebeard.mp_tree import MP_Node

from portal.choices import CodeChecksum, CodeRuleKey, Language
from portal.codes import DEFAULT_RULES, checksum_passes, code_check

# --- data dictionary -------------------------------------------------------------------


class CodeRule(models.Model):
    """A data-dictionary rule for a code that every system shares (employee number,
    department code, customer code, currency ...): the whole value must match ``pattern``
    and pass ``checksum``; ``is_unique`` says whether one value may name only one thing, and
    ``unique_scope`` where. ``portal.codes.code_check`` applies it everywhere.

    Administrators change the rule here; the defaults are written by the migrations (the
    employee number's from the settings' ``EMPLOYEE_NO_PATTERN``).
    """

    key = models.CharField(_("key"), max_length=40, unique=True, choices=CodeRuleKey.choices)
    pattern = models.CharField(
        _("pattern"),
        max_length=200,
        help_text=_("A regular expression that the whole code must match, e.g. E\\d{6}."),
    )
    example = models.CharField(_("example"), max_length=60)
    description = models.TextField(_("description"), blank=True)
    checksum = models.CharField(
        _("checksum"),
        max_length=20,
        choices=CodeChecksum.choices,
        default=CodeChecksum.NONE,
        help_text=_("A check beyond the pattern, e.g. the unified social credit code's."),
    )
    is_unique = models.BooleanField(
        _("unique"), default=True, help_text=_("One value names only one thing.")
    )
    unique_scope = models.CharField(
        _("unique within"),
        max_length=200,
        blank=True,
        help_text=_("Where a value must be unique, e.g. “all customers, in CRM and ERP”."),
    )

    class Meta:
        verbose_name = _("code rule")
        verbose_name_plural = _("code rules")
        ordering = ["key"]

    def __str__(self) -> str:
        return f"{self.get_key_display()}: {self.pattern}"

    def clean(self) -> None:
        try:
            compiled = re.compile(self.pattern)
        except re.error as exc:
            raise ValidationError(
                {"pattern": _("This is not a valid regular expression: %(error)s") % {"error": exc}}
            ) from None
        if self.example and not compiled.fullmatch(self.example):
            raise ValidationError({"example": _("The example does not match the pattern.")})
        if self.example and not checksum_passes(self.checksum, self.example):
            raise ValidationError(
                {
                    "example": _("The example does not pass the checksum “%(checksum)s”.")
                    % {"checksum": self.get_checksum_display()}
                }
            )


def default_code_pattern(key: str) -> str:
    """The pattern of ``key`` when its rule row is missing."""
    if key == CodeRuleKey.EMPLOYEE_NO:
        return str(settings.EMPLOYEE_NO_PATTERN)
    return DEFAULT_RULES[key].pattern


@deconstructible
class CodeRuleValidator:
    """Validates a value against the live :class:`CodeRule` named ``key`` (pattern and
    checksum), through :func:`portal.codes.code_check`."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, value: str) -> None:
        code_check(self.key, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CodeRuleValidator) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)


phone_validator = RegexValidator(
    r"^\+?[0-9][0-9 -]{4,19}$",
    _("Enter a phone number: digits, spaces or dashes, optionally starting with +."),
)


def localized_name(name: str, name_en: str) -> str:
    """The English name in an English UI when there is one, else the Chinese name."""
    language = get_language() or ""
    return name_en if name_en and not language.startswith("zh") else name


class BilingualName(models.Model):
    """A name in Chinese with an optional English one; ``str()`` follows the UI language."""

    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return localized_name(self.name, self.name_en)


# --- organization ------------------------------------------------------------------------


class Department(BilingualName, MP_Node):  # type: ignore[django-manager-missing]  # untyped treebeard
    """A unit of the organization tree (materialized path: a department's sub-departments
    are the rows whose ``path`` starts with its own)."""

    code = models.CharField(
        _("code"),
        max_length=30,
        unique=True,
        validators=[CodeRuleValidator(CodeRuleKey.DEPARTMENT_CODE)],
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="headed_departments",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def full_name(self) -> str:
        """The names from the root down, e.g. "销售部 / 华东大区"."""
        return " / ".join(str(d) for d in [*Department.objects.get_ancestors(self), self])


class Position(BilingualName):
    """A job position (岗位), optionally belonging to one department."""

    code = models.CharField(
        _("code"),
        max_length=30,
        unique=True,
        validators=[CodeRuleValidator(CodeRuleKey.POSITION_CODE)],
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="positions",
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        ordering = ["code"]


class Role(Group):
    """A role is a Django group with a stable code and a description: model permissions
    are granted to it, workflow steps name it (``role:finance_reviewer``)."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    description = models.TextField(_("description"), blank=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["code"]

    @property
    def display_name(self) -> str:
        return localized_name(self.name, self.name_en)

    def __str__(self) -> str:
        return self.display_name


def person_name(first_name: str, last_name: str) -> str:
    """A person's name as the portal shows it: Chinese names read family name first with no
    space (张伟); others "First Last". For reads that take the two columns without loading
    a user (``User.get_full_name`` is this)."""
    first, last = first_name.strip(), last_name.strip()
    if re.search(r"[\u4e00-\u9fff]", first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


SEARCH_SEPARATOR = "\x1f"
"""Between the parts of ``User.search_text``: nobody types it, so no match spans two parts."""


class User(AbstractUser):  # type: ignore[django-manager-missing]  # treebeard is untyped
    """An employee (or an outside account without an employee number)."""

    employee_no = models.CharField(
        _("employee number"),
        max_length=32,
        unique=True,
        null=True,
        blank=True,
        validators=[CodeRuleValidator(CodeRuleKey.EMPLOYEE_NO)],
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    positions = models.ManyToManyField(
        Position, verbose_name=_("positions"), blank=True, related_name="holders"
    )
    manager = models.ForeignKey(
        "self",
        verbose_name=_("direct manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[phone_validator])
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=10,
        choices=Language.choices,
        default=Language.ZH_HANS,
    )
    notify_by_email = models.BooleanField(_("notify me by e-mail"), default=True)
    notify_by_sms = models.BooleanField(_("notify me by SMS"), default=False)
    # What a search for a person reads (``portal.selectors.people_matching``): the user name,
    # the employee number and the name in each order, lowercased, in one column the database
    # keeps. Six case-insensitive matches a row (each an UPPER of a CJK string) made every
    # inbox search read 10,000 people in 16-31 ms (issue 16); one plain LIKE does it.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "username",
                Value(SEARCH_SEPARATOR),
                "employee_no",
                Value(SEARCH_SEPARATOR),
                "last_name",
                "first_name",
                Value(SEARCH_SEPARATOR),
                "first_name",
                Value(" "),
                "last_name",
                Value(SEARCH_SEPARATOR),
                "first_name",
                "last_name",
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def get_full_name(self) -> str:
        return person_name(self.first_name, self.last_name)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def __str__(self) -> str:
        return self.display_name

    def clean(self) -> None:
        super().clean()
        if self.employee_no == "":
            self.employee_no = None
        if self.manager_id is not None and self.pk is not None:
            # Walk up the chain: a manager cycle would make "my manager's manager" endless.
            seen = {self.pk}
            current: User | None = self.manager
            while current is not None:
                if current.pk in seen:
                    raise ValidationError(
                        {"manager": _("This manager would make a reporting cycle.")}
                    )
                seen.add(current.pk)
                current = current.manager


class DelegationRule(models.Model):
    """Out-of-office delegation (代理): while the rule is in force, new workflow tasks for
    ``delegator`` in the named processes (or all processes when none are named) go to
    ``delegate``, and the history records that the delegate acted on the delegator's
    behalf."""

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("absent person"),
        on_delete=models.CASCADE,
        related_name="delegations_given",
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proxy"),
        on_delete=models.CASCADE,
        related_name="delegations_received",
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    process_keys = models.JSONField(
        _("processes"),
        default=list,
        blank=True,
        help_text=_("Process keys this rule covers; leave empty for all processes."),
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("delegation rule")
        verbose_name_plural = _("delegation rules")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="delegation_ends_after_start"
            ),
            models.CheckConstraint(
                condition=~Q(delegator=F("delegate")), name="delegation_not_to_self"
            ),
        ]
        indexes = [models.Index(fields=["delegator", "starts_at", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate}"

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        if self.delegator_id and self.delegator_id == self.delegate_id:
            errors["delegate"] = _("Choose someone other than the absent person.")
        keys = self.process_keys
        if not isinstance(keys, list) or not all(isinstance(k, str) and k.strip() for k in keys):
            errors["process_keys"] = _('Give a list of process keys, e.g. ["expense_claim"].')
        if self.delegate_id and "delegate" not in errors and not self.delegate.is_active:
            errors["delegate"] = _("%(name)s's account is disabled; choose someone else.") % {
                "name": self.delegate.display_name
            }
        overlap = self.overlapping()
        if overlap is not None and not errors:
            errors["starts_at"] = _(
                "This period overlaps another delegation of %(name)s (%(start)s to %(end)s, "
                "to %(delegate)s): end that one first or choose other dates."
            ) % {
                "name": self.delegator.display_name,
                "start": timezone.localtime(overlap.starts_at).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(overlap.ends_at).strftime("%Y-%m-%d %H:%M"),
                "delegate": overlap.delegate.display_name,
            }
        if errors:
            raise ValidationError(errors)

    def overlapping(self) -> DelegationRule | None:
        """Another active rule of the same absent person whose period overlaps this one's
        and that covers a process this one covers (two proxies for one task at one time
        would leave it to chance who gets it)."""
        if not (self.is_active and self.delegator_id and self.starts_at and self.ends_at):
            return None
        others = (
            DelegationRule.objects.filter(
                delegator_id=self.delegator_id,
                is_active=True,
                starts_at__lt=self.ends_at,
                ends_at__gt=self.starts_at,
            )
            .exclude(pk=self.pk)
            .select_related("delegate")
            .order_by("starts_at")
        )
        mine = set(self.process_keys) if isinstance(self.process_keys, list) else set()
        for other in others:
            theirs = set(other.process_keys or [])
            if not mine or not theirs or mine & theirs:
                return other
        return None

    def covers(self, process_key: str | None) -> bool:
        return not self.process_keys or (
            process_key is not None and process_key in self.process_keys
        )


# --- shell: announcements and notifications ---------------------------------------------


class Announcement(models.Model):
    """A notice on the portal. With no target department and no target role everyone sees
    it; otherwise members of a target department (or of its sub-departments) and holders of
    a target role do."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    is_pinned = models.BooleanField(_("pinned"), default=False)
    target_departments = models.ManyToManyField(
        Department, verbose_name=_("target departments"), blank=True, related_name="+"
    )
    target_roles = models.ManyToManyField(
        Role, verbose_name=_("target roles"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-is_pinned", "-published_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("published_at")),
                name="announcement_expires_after_publication",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        if self.expires_at and self.published_at and self.expires_at <= self.published_at:
            raise ValidationError({"expires_at": _("It must expire after it is published.")})


class Notification(models.Model):
    """An in-app message to one person (the bell). ``dedup_key`` names the event that
    caused it, so one event never notifies a person twice; ``emailed_at``/``texted_at``
    record delivery on the other channels."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=60)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # NULL, not "", for "no event": the unique constraint below must ignore those rows.
    dedup_key = models.CharField(  # noqa: DJ001
        _("event"), max_length=200, null=True, blank=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)
    texted_at = models.DateTimeField(_("texted at"), null=True, blank=True)
    # What the notice is about ("workflow.task:42"), so that it can be marked done when that
    # thing leaves the person's hands (a to-do completed, withdrawn, taken by another ...).
    subject = models.CharField(_("about"), max_length=100, blank=True, db_default="")
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="notification_once_per_event",
            )
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            models.Index(
                fields=["subject"],
                condition=Q(read_at__isnull=True) & ~Q(subject=""),
                name="notification_open_subject",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class DayKind(models.TextChoices):
    HOLIDAY = "holiday", _("holiday")
    WORKDAY = "workday", _("make-up workday")


class CalendarDay(models.Model):
    """The business calendar's exceptions: a public holiday on a weekday, or a make-up
    workday (调休) on a weekend. Every other Monday–Friday is a workday."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=DayKind.choices)
    name = models.CharField(_("name"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("business calendar")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class LeaveBalance(models.Model):
    """The HR data's leave balance of one person: days left of one kind of leave."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="leave_balances",
    )
    leave_type = models.CharField(_("kind of leave"), max_length=40)
    days = models.DecimalField(_("days left"), max_digits=6, decimal_places=1)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("leave balance")
        verbose_name_plural = _("leave balances")
        constraints = [
            models.UniqueConstraint(fields=["user", "leave_type"], name="leave_balance_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.leave_type} {self.days}"


def _validate_scopes(text: str) -> None:
    known: dict[str, Any] = dict(getattr(settings, "OAUTH2_PROVIDER", {}).get("SCOPES", {}))
    unknown = [s for s in text.split() if s not in known]
    if unknown:
        raise ValidationError(
            _("Unknown scope: %(scopes)s. Choose from: %(known)s.")
            % {"scopes": ", ".join(unknown), "known": ", ".join(known)}
        )


# what DRF's throttles read: a count, a slash, and a period whose first letter is s, m, h or d
RATE_PATTERN = re.compile(r"[1-9]\d{0,6}/(s|sec|second|m|min|minute|h|hour|d|day)")


def _validate_rate(text: str) -> None:
    if text and not RATE_PATTERN.fullmatch(text):
        raise ValidationError(
            _(
                "Rate limit: “%(value)s” is not a rate; give a number of requests per second, "
                "minute, hour or day, e.g. 120/min."
            ),
            code="invalid_rate",
            params={"value": text},
        )


class ClientScopes(models.Model):
    """The OAuth2 scopes an application (another system, an app acting for people) may be
    given. A client asking for more gets only these (the token says which it got); an
    application without a row gets the default scopes only (``read``). ``rate``: how many
    API requests its tokens may make (``portal.api.ClientThrottle``); empty, the default."""

    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="allowed_scopes",
        verbose_name=_("application"),
    )
    scopes = models.CharField(
        _("allowed scopes"),
        max_length=255,
        validators=[_validate_scopes],
        help_text=_("Separated by spaces, e.g. “read write todo”."),
    )
    rate = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        validators=[_validate_rate],
        help_text=_(
            "Requests this client may make, e.g. “120/min” (per second, minute, hour or day); "
            "empty: the default (API_THROTTLE_CLIENT)."
        ),
    )

    class Meta:
        verbose_name = _("allowed scopes")
        verbose_name_plural = _("allowed scopes")

    def __str__(self) -> str:
        return self.scopes
