"""The integration console in a real browser: an integration administrator opens the
overview from the menu (the embedded ERP's banner, figures per interface with their charts,
the queue, recent failures), finds a dead letter in the outbox and sends it again; the
worker delivers it. Every console page is photographed
(``integration-console-<page>-<desktop|phone>``)."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.utils import timezone

from erp_bridge.calls import CallFact, calls_record
from erp_bridge.models import OutboxMessage, OutboxState, Product, SyncRun
from erp_bridge.models.masterdata import OrderRecord
from erp_bridge.outbox import Operation, operations, register_operation
from portal.models import User
from tests.e2e.journey_helpers import open_nav_link
from tests.e2e.test_shell import sign_in
from tests.erp_bridge.console_helpers import connected, integration_admin, message

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

OPERATION = "test.e2e_sales_order"
REFUSAL = "产品 P-9 不存在 (unknown product P-9)"


@pytest.fixture
def erp_orders() -> Iterator[list[str]]:
    """An outbox operation whose receiver accepts every order (the ERP was fixed)."""
    received: list[str] = []

    def deliver(msg: OutboxMessage) -> dict[str, Any]:
        received.append(msg.idempotency_key)
        return {"number": f"S/{len(received):04d}"}

    register_operation(Operation(OPERATION, "sales order", deliver))
    yield received
    operations.pop(OPERATION, None)


@pytest.fixture
def sunli(db: None) -> User:
    connected()
    return integration_admin()


def traffic(now: datetime.datetime) -> None:
    """A day of calls to three interfaces: Tryton mostly fast, a slow spell in the afternoon,
    a CRM webhook that fails now and then, the inbound API."""
    rng = random.Random(18)  # test data, not a secret
    facts = []
    for minutes in range(0, 24 * 60, 7):
        at = now - datetime.timedelta(minutes=minutes)
        slow = 300 <= minutes <= 420
        for _n in range(rng.randint(2, 6)):
            facts.append(
                CallFact(
                    interface="erp:tryton",
                    direction="out",
                    operation=rng.choice(["sales_order_create", "products", "expense_post"]),
                    duration_ms=int(rng.lognormvariate(5.5 if slow else 3.6, 0.6)),
                    outcome="error" if slow and rng.random() < 0.3 else "ok",
                    at=at,
                    error="timed out after 10 s" if slow else "",
                )
            )
        facts.append(
            CallFact(
                interface="webhook:crm",
                direction="out",
                operation="order.created",
                duration_ms=int(rng.lognormvariate(4.5, 0.5)),
                outcome="error" if rng.random() < 0.1 else "ok",
                at=at,
                status_code=502,
                error="HTTP 502 Bad Gateway",
            )
        )
        facts.append(
            CallFact(
                interface="api",
                direction="in",
                operation="GET /api/v1/tasks/",
                duration_ms=int(rng.lognormvariate(3.0, 0.4)),
                outcome="ok",
                at=at,
            )
        )
    calls_record(facts)


@pytest.fixture
def console_data(sunli: User, erp_orders: list[str]) -> OutboxMessage:
    now = timezone.now()
    traffic(now)
    for n in range(6):
        message(state=OutboxState.DELIVERED, aggregate=f"customer:C00{n}", operation=OPERATION)
    message(
        state=OutboxState.PENDING,
        aggregate="employee:E000231",
        operation=OPERATION,
        created=now - datetime.timedelta(minutes=4),
    )
    dead = message(
        state=OutboxState.DEAD,
        aggregate="customer:C042",
        operation=OPERATION,
        error=REFUSAL,
        attempts=1,
    )
    calls_record(
        [
            CallFact(
                interface="erp:tryton",
                direction="out",
                operation=OPERATION,
                duration_ms=41,
                outcome="refused",
                at=now - datetime.timedelta(minutes=2),
                error=REFUSAL,
            )
        ]
    )
    for code, name in [
        ("P-100", "人体工学办公椅"),
        ("P-200", "升降办公桌"),
        ("P-300", "A4 打印纸"),
    ]:
        Product.objects.create(code=code, name=name, list_price=899, synced_at=now)
    SyncRun.objects.create(
        kind="products",
        adapter="embedded",
        started_at=now,
        finished_at=now,
        ok=True,
        message="3 changed",
    )
    OrderRecord.objects.create(
        reference="SO-2026-0042",
        customer_code="C042",
        number="S/0042",
        state="confirmed",
        shipped=True,
        total=12800,
        created_at=now,
        updated_at=now,
    )
    return dead


def test_admin_opens_the_overview_and_replays_a_dead_letter(
    live_server: Any,
    console_data: OutboxMessage,
    erp_orders: list[str],
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "sunli")
    open_nav_link(page, "/erp/console/")
    expect(page).to_have_url(f"{base}/erp/console/")
    expect(page.locator(".erp-embedded")).to_be_visible()
    expect(page.locator('tr[data-interface="erp:tryton"]')).to_be_visible()
    # the charts are drawn (ECharts puts a canvas in each)
    expect(page.locator("div.chart canvas")).to_have_count(6)
    expect(page.locator('[data-count="dead"]')).to_have_text("1")
    expect(page.locator("#failures")).to_contain_text("P-9")
    screenshot(page, "integration-console-overview-desktop")

    page.locator('[href="/erp/console/outbox/?state=dead"]').click()
    row = page.locator(f"#message-{console_data.pk}")
    expect(row).to_contain_text("P-9")
    screenshot(page, "integration-console-outbox-desktop")
    row.locator("button.replay").click()

    expect(page.locator(".messages .success")).to_contain_text(f"#{console_data.pk}")
    console_data.refresh_from_db()
    # the replay woke the worker after its commit: the fixed ERP took the order
    assert console_data.state == OutboxState.DELIVERED
    assert str(console_data.result["number"]).startswith("S/")
    # (the waiting message went out in the same run: nothing holds it back)
    assert console_data.idempotency_key in erp_orders
    expect(page.locator(f"#message-{console_data.pk}")).to_have_count(0)  # no longer dead


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_console_pages_screenshots(
    live_server: Any,
    console_data: OutboxMessage,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    viewport: str,
) -> None:
    base = live_server.url
    page = new_page(viewport)
    sign_in(page, base, "sunli")
    for name, path in {
        "overview-7d": "/erp/console/?window=7d",
        "outbox-all": "/erp/console/outbox/",
        "masterdata": "/erp/console/master-data/",
        "orders": "/erp/console/orders/",
        "webhooks": "/erp/console/webhooks/",
    }.items():
        page.goto(base + path)
        expect(page.locator("h1")).to_be_visible()
        screenshot(page, f"integration-console-{name}-{viewport}")


def test_admin_adds_a_subscription_and_sees_its_secret_once(
    live_server: Any,
    sunli: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "sunli")
    page.goto(f"{base}/erp/console/webhooks/")
    page.locator("#id_name").fill("CRM 系统")
    page.locator("#id_url").fill("https://crm.example.com/hooks/portal")
    page.locator('input[name="events"][value="order.created"]').check()
    page.locator("#add button[type=submit]").click()
    secret = page.locator("#secret-value")
    expect(secret).to_be_visible()
    shown = secret.inner_text()
    assert len(shown) >= 32
    expect(page.locator("tr[data-subscription] code")).to_have_text(
        "https://crm.example.com/hooks/portal"
    )
    screenshot(page, "integration-console-webhook-secret-desktop")
    page.goto(f"{base}/erp/console/webhooks/")
    expect(page.locator("#secret-value")).to_have_count(0)
    assert shown not in page.content()
