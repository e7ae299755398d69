"""The ERP bridge's part of ``seed_demo``: the demo company's master data in the embedded
ERP (products, a price list, customers, and the demo organization's people as the ERP's
employees), so that quotes, forms and the expense claim's posting work on one machine with
no ERP connected. ``make erp`` starts a Tryton with the same codes (erp_bridge/tryton_demo.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from erp_bridge.models import Customer, EmployeeRecord, PriceList, PriceListLine, Product
from portal import registry
from portal.models import User

__all__ = ["connect", "seed_erp_demo"]

# (code, name, unit, list price)
PRODUCTS = [
    ("P0001", "人体工学办公椅", "把", "1299.00"),
    ("P0002", "升降办公桌", "张", "2680.00"),
    ("P0003", "27 英寸显示器", "台", "1899.00"),
    ("P0004", "无线键鼠套装", "套", "199.00"),
    ("P0005", "A4 复印纸（5 包）", "箱", "135.00"),
    ("P0006", "企业门户年度订阅（50 人）", "年", "36000.00"),
    ("P0007", "实施服务（人天）", "人天", "2400.00"),
    ("P0008", "培训服务（半天）", "次", "3000.00"),
]
# (code, name, unified social credit code, phone, address)
CUSTOMERS = [
    (
        "C0001",
        "上海明远贸易有限公司",
        "91310000MA1FL0XB2W",
        "021-64881234",
        "上海市徐汇区漕溪北路 88 号",
    ),
    (
        "C0002",
        "杭州云帆科技有限公司",
        "91330106MA27XK7Y3B",
        "0571-87651234",
        "杭州市西湖区文三路 478 号",
    ),
    (
        "C0003",
        "南京恒信机械制造有限公司",
        "91320115MA1MDL3R6Y",
        "025-52101234",
        "南京市江宁区秣陵街道 16 号",
    ),
    (
        "C0004",
        "苏州华泰精密电子有限公司",
        "91320594MA1N2C8W0H",
        "0512-62881234",
        "苏州工业园区星湖街 218 号",
    ),
    (
        "C0005",
        "宁波海联物流有限公司",
        "91330201MA2GQ5T41E",
        "0574-87301234",
        "宁波市鄞州区天童南路 555 号",
    ),
]
# a dealer price list at about 90 % of the list price
DEALER = ("PL-DEALER", "经销商价格表")


def _seed() -> dict[str, int]:
    now = timezone.now()
    counts = {"products": 0, "customers": 0, "employees": 0, "price list lines": 0}
    for code, name, unit, price in PRODUCTS:
        _, made = Product.objects.get_or_create(
            code=code,
            defaults={"name": name, "unit": unit, "list_price": Decimal(price), "synced_at": now},
        )
        counts["products"] += made
    for code, name, tax_code, phone, address in CUSTOMERS:
        _, made = Customer.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "tax_code": tax_code,
                "phone": phone,
                "address": address,
                "synced_at": now,
            },
        )
        counts["customers"] += made
    dealer, _ = PriceList.objects.get_or_create(
        code=DEALER[0], defaults={"name": DEALER[1], "synced_at": now}
    )
    for product in Product.objects.filter(code__in=[p[0] for p in PRODUCTS]):
        _, made = PriceListLine.objects.get_or_create(
            price_list=dealer,
            product=product,
            min_quantity=Decimal("0"),
            defaults={"price": (product.list_price * Decimal("0.9")).quantize(Decimal("0.01"))},
        )
        counts["price list lines"] += made
    people = (
        User.objects.filter(is_active=True, employee_no__isnull=False)
        .select_related("department")
        .order_by("employee_no")
    )
    known = set(EmployeeRecord.objects.values_list("code", flat=True))
    new = [
        EmployeeRecord(
            code=person.employee_no,
            name=person.get_full_name() or person.username,
            department_code=person.department.code if person.department else "",
            email=person.email,
            synced_at=now,
        )
        for person in people
        if person.employee_no and person.employee_no not in known
    ]
    EmployeeRecord.objects.bulk_create(new)
    counts["employees"] = len(new)
    return counts


def seed_erp_demo() -> dict[str, int]:
    """Create what is missing of the demo master data; what this run did, by kind."""
    with transaction.atomic():
        return _seed()


def report_erp_demo(stdout: Any, counts: Mapping[str, int]) -> None:
    done = ", ".join(f"{kind} {n}" for kind, n in counts.items() if n)
    stdout.write(
        "\nERP master data are ready in the embedded ERP (no ERP connected; `make erp` starts "
        "a Tryton with the same codes).\n"
    )
    stdout.write(f"  this run: {done or 'nothing to do'}\n")


def connect() -> None:
    """Register the ERP bridge's part of ``seed_demo``: after the organization (its people
    become the ERP's employees), before the workflow's demo requests (an approved expense
    claim posts to the ERP)."""
    registry.demo_seeders.register(registry.DemoSeeder("erp", seed_erp_demo, report_erp_demo, 3))
