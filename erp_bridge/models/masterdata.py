"""Local read copies of the ERP's master data (products, price lists, customers, employees),
pulled on a schedule and on demand (erp_bridge/sync.py), and the sales orders the portal
sent, with the status the ERP reported back. With the embedded adapter (no ERP connected)
these tables are the master data themselves."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MasterRecord(models.Model):
    """What every copy has: the shared code (the data dictionary's), the ERP's id, whether
    the ERP still has it, and when it was last pulled."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200, db_index=True)
    erp_id = models.CharField(_("ERP id"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    synced_at = models.DateTimeField(_("synchronized"), null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Product(MasterRecord):
    unit = models.CharField(_("unit"), max_length=20, default="unit")
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    class Meta(MasterRecord.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")


class PriceList(MasterRecord):
    currency = models.CharField(_("currency"), max_length=3, default="CNY")

    class Meta(MasterRecord.Meta):
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")


class PriceListLine(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    price = models.DecimalField(_("price"), max_digits=14, decimal_places=2)
    min_quantity = models.DecimalField(
        _("minimum quantity"), max_digits=14, decimal_places=2, default=0
    )

    class Meta:
        verbose_name = _("price list line")
        verbose_name_plural = _("price list lines")
        constraints = [
            models.UniqueConstraint(
                fields=["price_list", "product", "min_quantity"], name="price_list_line_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.price_list_id}/{self.product_id} {self.price}"


class Customer(MasterRecord):
    tax_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta(MasterRecord.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")


class EmployeeRecord(MasterRecord):
    """An employee as the ERP's HR knows them (``code``: the employee number)."""

    department_code = models.CharField(_("department code"), max_length=30, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)

    class Meta(MasterRecord.Meta):
        verbose_name = _("employee in the ERP")
        verbose_name_plural = _("employees in the ERP")


class SyncRun(models.Model):
    """One pull of one kind of master data: when, by whom (or the schedule), and what it
    did; the last one per kind is what the pages show."""

    class Kind(models.TextChoices):
        PRODUCTS = "products", _("products")
        PRICE_LISTS = "price_lists", _("price lists")
        CUSTOMERS = "customers", _("customers")
        EMPLOYEES = "employees", _("employees")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    adapter = models.CharField(_("ERP"), max_length=16)
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    ok = models.BooleanField(_("succeeded"), default=False)
    created = models.PositiveIntegerField(_("new"), default=0)
    updated = models.PositiveIntegerField(_("changed"), default=0)
    deactivated = models.PositiveIntegerField(_("no longer in the ERP"), default=0)
    message = models.TextField(_("message"), blank=True)
    triggered_by = models.CharField(_("started by"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("synchronization")
        verbose_name_plural = _("synchronizations")
        indexes = [models.Index(fields=["kind", "-started_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"


class OrderRecord(models.Model):
    """A sales order the portal sent to the ERP (through the outbox) and its status as the
    ERP last reported it, by webhook or by polling. ``source_updated_at``: when the ERP's
    report happened; an older report than the one held changes nothing."""

    reference = models.CharField(_("reference"), max_length=64, unique=True)
    customer_code = models.CharField(_("customer code"), max_length=40)
    number = models.CharField(_("ERP number"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=16, default="draft")
    shipped = models.BooleanField(_("shipped"), default=False)
    invoiced = models.BooleanField(_("invoiced"), default=False)
    paid = models.BooleanField(_("paid"), default=False)
    total = models.DecimalField(_("total"), max_digits=14, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    instance_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"))
    updated_at = models.DateTimeField(_("updated"))
    source_updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("sales order")
        verbose_name_plural = _("sales orders")
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return self.reference
