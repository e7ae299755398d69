"""The CRM's tables (docs/architecture.md: fields, constraints, clean(), small properties; no
business rule in save(), a manager or a signal).

One customer base: accounts (companies) with their contacts; the sales pipeline (leads,
opportunities, activities, quotes); service cases with SLAs; campaigns. Who may see an
account is django-guardian's object permissions (its owner and team) plus the owner's
managers up the department tree and sales administrators (``crm/selectors.py``
``accounts_for``); everything hanging off an account is seen through it.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from portal.choices import CodeRuleKey
from portal.models import CodeRuleValidator, Department, phone_validator

PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


# --- the customer base -------------------------------------------------------------------------


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("manufacturing")
    TRADE = "trade", _("trade and distribution")
    IT = "it", _("software and IT services")
    FINANCE = "finance", _("finance and insurance")
    LOGISTICS = "logistics", _("logistics")
    CONSTRUCTION = "construction", _("construction and real estate")
    HEALTHCARE = "healthcare", _("healthcare")
    EDUCATION = "education", _("education")
    ENERGY = "energy", _("energy")
    RETAIL = "retail", _("retail")
    GOVERNMENT = "government", _("government and public sector")
    OTHER = "other", _("other")


class AccountLevel(models.TextChoices):
    STRATEGIC = "A", _("A · strategic")
    KEY = "B", _("B · key")
    STANDARD = "C", _("C · standard")
    SMALL = "D", _("D · small")


class Account(models.Model):
    """A customer company. ``code`` is the data dictionary's customer code (the ERP shares
    it); ``credit_code`` the unified social credit code (统一社会信用代码), checked with its
    check character. ``name_key`` is the name normalized for the duplicate check (widths,
    case, spaces and the company-form suffix folded away: ``crm/duplicates.py``). An
    account merged into another keeps its row with ``merged_into`` set, so links to it still
    lead somewhere and the merge can be read back."""

    code = models.CharField(
        _("customer code"),
        max_length=40,
        unique=True,
        validators=[CodeRuleValidator(CodeRuleKey.CUSTOMER_CODE)],
    )
    name = models.CharField(_("name"), max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    credit_code = models.CharField(
        _("unified social credit code"),
        max_length=18,
        null=True,
        blank=True,
        unique=True,
        validators=[CodeRuleValidator(CodeRuleKey.USCC)],
    )
    industry = models.CharField(
        _("industry"), max_length=20, choices=Industry.choices, default=Industry.OTHER
    )
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    level = models.CharField(
        _("level"), max_length=1, choices=AccountLevel.choices, default=AccountLevel.STANDARD
    )
    phone = models.CharField(
        pgettext_lazy("crm", "phone"), max_length=30, blank=True, validators=[phone_validator]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    website = models.URLField(_("website"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("crm", "owner"),
        on_delete=models.PROTECT,
        related_name="crm_accounts",
    )
    # the owner's department when the account was given to them: the managers up this
    # department's tree see the account (crm.selectors.accounts_for)
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged",
    )
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # name, code, credit code, city and the contacts' names segmented for text search
    # (``portal.search.search_text``), written by crm.services.accounts; served by a GIN
    # index on PostgreSQL and an FTS5 table on SQLite (migration 0002_accounts)
    search = models.TextField(blank=True, default="", db_default="", editable=False)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        permissions = [
            ("administer_sales", _("Administer sales (every account, the approval matrix)")),
        ]
        indexes = [
            models.Index(fields=["owner", "-updated_at"]),
            models.Index(fields=["department", "-updated_at"]),
            # the list's order (newest change first, then id): walked for a wide view
            models.Index(fields=["-updated_at", "-id"], name="crm_account_recent"),
            # the list's filters, combined with the visibility's indexes (issue 19)
            models.Index(fields=["province", "city"], name="crm_account_region"),
            models.Index(fields=["industry"], name="crm_account_industry"),
            models.Index(fields=["level"], name="crm_account_level"),
            models.Index(fields=["phone"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Contact(models.Model):
    """A person at an account."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=60)
    title = models.CharField(_("title"), max_length=60, blank=True)
    phone = models.CharField(
        pgettext_lazy("crm", "phone"), max_length=30, blank=True, validators=[phone_validator]
    )
    mobile = models.CharField(_("mobile"), max_length=30, blank=True, validators=[phone_validator])
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=60, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["account", "name"]),
            models.Index(fields=["mobile"]),
            models.Index(fields=["email"]),
        ]

    def __str__(self) -> str:
        return self.name


class AccountEvent(models.Model):
    """An account's history: created, edited, given to another owner, team changed, merged
    (with what was merged into it), a quote ordered in the ERP. Append-only."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    actor = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("account event")
        verbose_name_plural = _("account history")
        indexes = [models.Index(fields=["account", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.account_id}"


# --- sales ------------------------------------------------------------------------------------


class LeadSource(models.TextChoices):
    WEBSITE = "website", _("website")
    EXHIBITION = "exhibition", _("exhibition")
    REFERRAL = "referral", _("referral")
    CAMPAIGN = "campaign", _("campaign")
    COLD_CALL = "cold_call", _("cold call")
    PARTNER = "partner", _("partner")
    OTHER = "other", _("other")


class LeadStatus(models.TextChoices):
    NEW = "new", _("new")
    QUALIFIED = "qualified", _("qualified")
    DISQUALIFIED = "disqualified", _("disqualified")
    CONVERTED = "converted", _("converted")


class Lead(models.Model):
    """A possible customer not yet qualified; converting it makes the account, the contact
    and the opportunity in one step."""

    company = models.CharField(_("company"), max_length=200)
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    phone = models.CharField(
        pgettext_lazy("crm", "phone"), max_length=30, blank=True, validators=[phone_validator]
    )
    email = models.EmailField(_("e-mail"), blank=True)
    source = models.CharField(
        _("source"), max_length=16, choices=LeadSource.choices, default=LeadSource.OTHER
    )
    industry = models.CharField(
        _("industry"), max_length=20, choices=Industry.choices, default=Industry.OTHER
    )
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("crm", "owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="crm_leads",
    )
    campaign = models.ForeignKey(
        "crm.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="leads",
    )
    converted_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_opportunity = models.ForeignKey(
        "crm.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    disqualified_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"))
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True)

    class Meta:
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [models.Index(fields=["owner", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.company


class AssignmentRule(models.Model):
    """Who gets a new lead: the first active rule whose province matches (empty: any), by
    ``order``; a rule with several members hands leads round-robin (``last_assigned``)."""

    name = models.CharField(_("name"), max_length=100)
    province = models.CharField(_("province"), max_length=20, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("members"), related_name="+"
    )
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    active = models.BooleanField(_("active"), default=True)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("lead assignment rule")
        verbose_name_plural = _("lead assignment rules")
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Stage(models.TextChoices):
    QUALIFICATION = "qualification", _("qualification")
    NEEDS = "needs", _("needs analysis")
    PROPOSAL = "proposal", _("proposal")
    NEGOTIATION = "negotiation", _("negotiation")
    WON = "won", _("won")
    LOST = "lost", _("lost")


class Opportunity(models.Model):
    """A chance to sell to an account: its stage, amount, probability and expected close
    date; won or lost closes it (lost with a reason)."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="opportunities"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    name = models.CharField(_("name"), max_length=200)
    stage = models.CharField(
        _("stage"), max_length=16, choices=Stage.choices, default=Stage.QUALIFICATION
    )
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    probability = models.PositiveSmallIntegerField(
        _("probability (%)"), default=10, validators=[MaxValueValidator(100)]
    )
    expected_close = models.DateField(_("expected close"), null=True, blank=True)
    committed = models.BooleanField(_("committed in the forecast"), default=False)
    competitors = models.CharField(_("competitors"), max_length=200, blank=True)
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("crm", "owner"),
        on_delete=models.PROTECT,
        related_name="crm_opportunities",
    )
    campaign = models.ForeignKey(
        "crm.Campaign",
        verbose_name=_("campaign"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    position = models.IntegerField(default=0)  # the card's place in its kanban column
    created_at = models.DateTimeField(_("created"))
    stage_changed_at = models.DateTimeField(_("stage changed"))
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Copies of the account's owner and department, which decide who sees the opportunity
    # (crm.selectors.visibility.visible_opportunities): the board and the lists filter on
    # them without reading an account row. Written only by the database's triggers
    # (migration 0005), on every insert and account change of an opportunity and on every
    # change of an account's owner or department; the code never sets them, so an
    # instance in memory may hold None or an old value.
    account_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    account_department = models.ForeignKey(
        Department,
        null=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["owner", "stage"]),
            # the board's walks by stage and position, and (with the columns it includes)
            # a sales administrator's whole-company counts and sums from the index alone
            models.Index(
                fields=["stage", "position", "id"],
                include=["closed_at", "amount"],
                name="crm_opportunity_board",
            ),
            models.Index(fields=["expected_close"]),
        ]

    def __str__(self) -> str:
        return self.name


class OpportunityEvent(models.Model):
    """An opportunity's history: created, moved from one stage to another (with the amount,
    probability and expected close at that moment), edited. Append-only; the timelines of
    the opportunity and its account show it among the activities."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16)
    from_stage = models.CharField(max_length=16, blank=True)
    to_stage = models.CharField(max_length=16, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    data = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("opportunity event")
        verbose_name_plural = _("opportunity history")
        indexes = [models.Index(fields=["opportunity", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.opportunity_id}"


class ActivityKind(models.TextChoices):
    CALL = "call", _("call")
    VISIT = "visit", _("visit")
    MEETING = "meeting", _("meeting")
    EMAIL = "email", _("e-mail")
    TASK = "task", _("follow-up task")


class Activity(models.Model):
    """A call, visit, meeting, e-mail or follow-up task, on an account (and perhaps one of its
    contacts or opportunities). A follow-up has a due time and a reminder; ``done_at`` ends
    it."""

    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.CASCADE, related_name="activities"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    opportunity = models.ForeignKey(
        Opportunity, null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("crm", "owner"),
        on_delete=models.PROTECT,
        related_name="crm_activities",
    )
    at = models.DateTimeField(_("when"))
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    remind_at = models.DateTimeField(_("reminder"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["account", "-at"]),
            models.Index(fields=["opportunity", "-at"]),
            models.Index(fields=["contact", "-at"]),
            models.Index(
                fields=["owner", "due_at"],
                condition=models.Q(done_at__isnull=True, due_at__isnull=False),
                name="crm_activity_open_followup",
            ),
            models.Index(
                fields=["remind_at"],
                condition=models.Q(reminded_at__isnull=True, remind_at__isnull=False),
                name="crm_activity_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


# --- quotes ---------------------------------------------------------------------------------


class ApproverLevel(models.TextChoices):
    SALES_MANAGER = "sales_manager", _("sales manager")
    SALES_DIRECTOR = "sales_director", _("sales director")
    GENERAL_MANAGER = "general_manager", _("general manager")


class ApprovalRule(models.Model):
    """One cell of the quote approval matrix: a quote whose discount is at least
    ``min_discount`` % AND whose total is at least ``min_total`` needs ``level``'s
    approval. The highest level any rule asks for decides; no rule: no approval needed.
    Kept by sales administrators."""

    min_discount = models.DecimalField(
        _("discount from (%)"), max_digits=5, decimal_places=2, default=0, validators=PERCENT
    )
    min_total = models.DecimalField(
        _("total from"), max_digits=14, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    level = models.CharField(_("approver"), max_length=20, choices=ApproverLevel.choices)

    class Meta:
        verbose_name = _("quote approval rule")
        verbose_name_plural = _("quote approval matrix")
        ordering = ["min_discount", "min_total"]

    def __str__(self) -> str:
        return f"≥{self.min_discount}% ≥{self.min_total}: {self.level}"


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING = "pending", _("waiting for approval")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    ACCEPTED = "accepted", _("accepted by the customer")
    ORDERED = "ordered", _("ordered in the ERP")


class Quote(models.Model):
    """A priced offer to an account, from the ERP's products and price list. A discount or
    total the approval matrix names goes through an approval on the engine
    (``approval_instance_id``); an approved quote the customer accepts becomes an ERP sales
    order through the outbox (``order_reference``: the ``OrderRecord`` that reports the ERP's
    number and status; ``order_error``: the ERP's refusal, kept until a retry succeeds)."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="quotes"
    )
    opportunity = models.ForeignKey(
        Opportunity,
        verbose_name=_("opportunity"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quotes",
    )
    price_list_code = models.CharField(_("price list"), max_length=40, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    status = models.CharField(
        _("status"), max_length=12, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    list_total = models.DecimalField(_("list total"), max_digits=14, decimal_places=2, default=0)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    discount = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=0, validators=PERCENT
    )
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    approval_level = models.CharField(
        _("approver"), max_length=20, choices=ApproverLevel.choices, blank=True
    )
    approval_instance_id = models.BigIntegerField(null=True, blank=True)
    order_reference = models.CharField(_("ERP order"), max_length=64, blank=True)
    order_error = models.TextField(_("ERP's refusal"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="crm_quotes"
    )
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        indexes = [
            models.Index(fields=["account", "-created_at"]),
            models.Index(fields=["status", "-updated_at"]),
        ]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    product_code = models.CharField(_("product code"), max_length=40)
    product_name = models.CharField(_("product"), max_length=200)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=14,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2)
    unit_price = models.DecimalField(
        _("unit price"), max_digits=14, decimal_places=2, validators=NOT_NEGATIVE
    )
    discount = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=0, validators=PERCENT
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("quote line")
        verbose_name_plural = _("quote lines")
        ordering = ["quote", "position", "id"]

    def __str__(self) -> str:
        return f"{self.product_code} × {self.quantity}"


# --- service --------------------------------------------------------------------------------


class SlaPolicy(models.Model):
    """How fast a customer of ``level`` is answered and helped, in business hours (the
    portal's business calendar, Chinese public holidays and make-up workdays included)."""

    level = models.CharField(
        _("customer level"), max_length=1, choices=AccountLevel.choices, unique=True
    )
    first_response_hours = models.PositiveSmallIntegerField(_("first response (hours)"))
    resolution_hours = models.PositiveSmallIntegerField(_("resolution (hours)"))

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["level"]

    def __str__(self) -> str:
        return f"{self.level}: {self.first_response_hours} h / {self.resolution_hours} h"


class CaseStatus(models.TextChoices):
    NEW = "new", _("new")
    OPEN = "open", _("in progress")
    WAITING = "waiting", _("waiting for the customer")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")


class CaseChannel(models.TextChoices):
    PORTAL = "portal", _("portal")
    EMAIL = "email", _("e-mail")
    PHONE = "phone", pgettext_lazy("crm", "phone")
    API = "api", _("API")


class Case(models.Model):
    """A customer's service request. Its SLA clock runs in business hours from ``opened_at``
    and stops while the case waits for the customer (``paused_at``; the paused business time
    is added to the deadlines when it resumes). An engine process escalates it to the team
    lead, then the manager, when a deadline passes (``escalation_instance_id``)."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="cases"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channel = models.CharField(
        _("channel"), max_length=8, choices=CaseChannel.choices, default=CaseChannel.PORTAL
    )
    priority = models.PositiveSmallIntegerField(_("priority"), default=2)  # 1 high … 3 low
    status = models.CharField(
        _("status"), max_length=10, choices=CaseStatus.choices, default=CaseStatus.NEW
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handler"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="crm_cases",
    )
    opened_at = models.DateTimeField(_("opened"))
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True, editable=False)
    escalation_level = models.PositiveSmallIntegerField(default=0, editable=False)
    escalation_instance_id = models.BigIntegerField(null=True, blank=True, editable=False)
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    satisfaction_comment = models.TextField(_("comment"), blank=True)

    class Meta:
        verbose_name = _("service case")
        verbose_name_plural = _("service cases")
        indexes = [
            models.Index(fields=["account", "-opened_at"]),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["status", "resolution_due"]),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"


class CaseEvent(models.Model):
    """A case's history: opened, answered, waiting, resumed, escalated, resolved, closed,
    rated. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    actor = models.CharField(max_length=150, blank=True)
    text = models.TextField(blank=True)
    at = models.DateTimeField()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case history")
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.case_id}"


# --- marketing -------------------------------------------------------------------------------


class Campaign(models.Model):
    """A marketing campaign: its segment (a saved filter of accounts: region, industry, level,
    last activity …), members, responses, cost, and the revenue of the opportunities won
    from it (ROI)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        RUNNING = "running", _("running")
        DONE = "done", _("done")

    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=60, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.PLANNED
    )
    starts_on = models.DateField(_("starts"), null=True, blank=True)
    ends_on = models.DateField(_("ends"), null=True, blank=True)
    cost = models.DecimalField(
        _("cost"), max_digits=14, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    segment = models.JSONField(_("segment"), default=dict, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("crm", "owner"),
        on_delete=models.PROTECT,
        related_name="crm_campaigns",
    )
    created_at = models.DateTimeField(_("created"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")

    def __str__(self) -> str:
        return self.name


class CampaignMember(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="members")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    response = models.CharField(_("response"), max_length=200, blank=True)
    added_at = models.DateTimeField(_("added"))

    class Meta:
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "account"], name="crm_campaign_member"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.account_id}"


# --- who may see an account: django-guardian with direct foreign keys ---------------------------


class AccountUserObjectPermission(UserObjectPermissionBase):
    """An account's team member (``view_account``, ``change_account``), by direct foreign
    key: guardian finds this table by its name, and the visibility query is a plain indexed
    join instead of a cast over the generic table (guardian's "direct foreign keys")."""

    content_object = models.ForeignKey(Account, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        verbose_name = _("account team member")
        verbose_name_plural = _("account team members")


class AccountGroupObjectPermission(GroupObjectPermissionBase):
    """An account's team role (a Django group holding ``view_account`` on it)."""

    content_object = models.ForeignKey(Account, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        verbose_name = _("account team role")
        verbose_name_plural = _("account team roles")
