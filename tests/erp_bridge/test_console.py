"""The integration console as each persona: an integration administrator (孙丽) sees every
page and acts; a viewer (周杰) sees but cannot act; an ordinary employee gets a 403 (a page
that needs a permission); an anonymous visitor the login page. A refused action changes
nothing."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from erp_bridge.models import OutboxState, Product, SyncRun, WebhookSubscription
from erp_bridge.models.masterdata import OrderRecord
from portal.models import User
from tests.erp_bridge.console_helpers import (
    calls,
    connected,
    integration_admin,
    integration_viewer,
    message,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "erp_bridge:console",
    "erp_bridge:outbox",
    "erp_bridge:masterdata",
    "erp_bridge:webhooks",
    "erp_bridge:orders",
]
EMBEDDED_BANNER = (
    "No ERP is connected: orders and postings are kept in the portal's own order book."
)


@pytest.fixture(autouse=True)
def _english(settings) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def admin_client(login: Callable[[User], Client]) -> Client:
    connected()
    user = integration_admin()
    user.preferred_language = "en"
    user.save()
    return login(user)


@pytest.fixture
def viewer_client() -> Client:
    user = integration_viewer()
    user.preferred_language = "en"
    user.save()
    client = Client()  # of its own: a test may act as the administrator too
    client.force_login(user)
    return client


# --- who sees the console --------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_every_page_opens_for_an_integration_admin(admin_client: Client, name: str) -> None:
    calls("erp:embedded", [30, 40], at=timezone.now())
    message(state=OutboxState.DEAD, error="客户 C001 已停用")
    response = admin_client.get(reverse(name))
    assert response.status_code == 200
    assert b"Integration console" in response.content


@pytest.mark.parametrize("name", PAGES)
def test_an_employee_is_refused_and_a_stranger_is_sent_to_sign_in(
    login: Callable[[User], Client], employee: User, name: str
) -> None:
    assert Client().get(reverse(name)).status_code == 302
    assert "/login" in Client().get(reverse(name))["Location"]
    assert login(employee).get(reverse(name)).status_code == 403


def test_the_menu_entry_shows_to_integration_admins_only(
    admin_client: Client, login: Callable[[User], Client], employee: User
) -> None:
    url = reverse("erp_bridge:console")
    assert f'href="{url}"'.encode() in admin_client.get(reverse("portal:dashboard")).content
    assert f'href="{url}"'.encode() not in login(employee).get(reverse("portal:dashboard")).content


def test_a_superuser_sees_the_console(login: Callable[[User], Client], superuser: User) -> None:
    assert login(superuser).get(reverse("erp_bridge:console")).status_code == 200


# --- the overview ----------------------------------------------------------------------------


def test_overview_says_no_erp_is_connected_with_the_embedded_adapter(admin_client: Client) -> None:
    response = admin_client.get(reverse("erp_bridge:console"))
    assert EMBEDDED_BANNER in response.content.decode()


def test_overview_shows_figures_per_interface_with_charts_and_tables(admin_client: Client) -> None:
    now = timezone.now()
    calls("erp:tryton", [30] * 8, at=now - datetime.timedelta(minutes=5), failed=2)
    calls("erp:tryton", [30] * 2, at=now - datetime.timedelta(hours=3))  # outside 1 h
    message(state=OutboxState.PENDING, created=now - datetime.timedelta(minutes=30))
    message(state=OutboxState.DEAD)

    hour = admin_client.get(reverse("erp_bridge:console"), {"window": "1h"}).content.decode()
    day = admin_client.get(reverse("erp_bridge:console"), {"window": "24h"}).content.decode()

    row = re.search(r'<tr data-interface="erp:tryton">(.*?)</tr>', hour, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:3] == ["8", "2", "25.0 %"]
    assert "ms" in cells[3]
    assert re.search(r'<tr data-interface="erp:tryton">.*?<td>10</td>', day, re.S)
    # a chart per interface (calls; response times), with its numbers as a table
    assert hour.count('class="chart" data-chart=') == 2
    assert "The numbers" in hour
    # the queue by state, the oldest waiting
    assert 'data-count="pending">1<' in hour and 'data-count="dead">1<' in hour
    assert "30 min" in hour
    # the recent failures, with the other system's message
    assert "connection refused" in hour


def test_a_bad_window_shows_the_default(admin_client: Client) -> None:
    response = admin_client.get(reverse("erp_bridge:console"), {"window": "1y"})
    assert response.status_code == 200
    assert 'href="?window=24h" aria-current="page"' in response.content.decode()


def test_htmx_gets_the_overview_alone(admin_client: Client) -> None:
    response = admin_client.get(reverse("erp_bridge:console"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="overview"')
    assert "<html" not in body


# --- the outbox ------------------------------------------------------------------------------


def test_outbox_lists_and_filters_messages(admin_client: Client) -> None:
    dead = message(state=OutboxState.DEAD, error="产品 P-9 不存在", attempts=1, instance_id=7)
    message(state=OutboxState.DELIVERED, aggregate="customer:C002")
    page = admin_client.get(reverse("erp_bridge:outbox"), {"state": "dead"}).content.decode()
    assert f'id="message-{dead.pk}"' in page
    assert "产品 P-9 不存在" in page
    assert "customer:C002" not in page
    assert reverse("workflow:instance", args=[7]) in page
    assert reverse("erp_bridge:outbox_replay", args=[dead.pk]) in page


def test_outbox_pages_by_load_more(admin_client: Client) -> None:
    base = timezone.now()
    for n in range(30):
        message(state=OutboxState.DELIVERED, created=base - datetime.timedelta(minutes=n))
    first = admin_client.get(reverse("erp_bridge:outbox")).content.decode()
    assert first.count('<tr id="message-') == 25
    after = re.search(r'hx-get="(\?after=[^"]+)"', first)
    assert after is not None
    more = admin_client.get(
        reverse("erp_bridge:outbox") + after.group(1).replace("&amp;", "&"),
        headers={"HX-Request": "true"},
    ).content.decode()
    assert more.count('<tr id="message-') == 5
    assert "<html" not in more


def test_replay_puts_a_dead_letter_back_in_line(admin_client: Client) -> None:
    dead = message(state=OutboxState.DEAD, attempts=8)
    response = admin_client.post(reverse("erp_bridge:outbox_replay", args=[dead.pk]))
    assert response.status_code == 303
    dead.refresh_from_db()
    assert (dead.state, dead.attempts, dead.settled_by) == (OutboxState.PENDING, 0, "sunli")
    page = admin_client.get(response["Location"]).content.decode()
    assert f"Message #{dead.pk} is waiting to be sent again." in page


def test_discard_gives_a_message_up(admin_client: Client) -> None:
    dead = message(state=OutboxState.DEAD)
    admin_client.post(reverse("erp_bridge:outbox_discard", args=[dead.pk]))
    dead.refresh_from_db()
    assert dead.state == OutboxState.DISCARDED


def test_replaying_what_is_not_a_dead_letter_is_refused_with_a_message(
    admin_client: Client,
) -> None:
    delivered = message(state=OutboxState.DELIVERED)
    response = admin_client.post(
        reverse("erp_bridge:outbox_replay", args=[delivered.pk]), follow=True
    )
    assert "Only a dead letter can be replayed" in response.content.decode()
    delivered.refresh_from_db()
    assert delivered.state == OutboxState.DELIVERED
    missing = admin_client.post(reverse("erp_bridge:outbox_replay", args=[999999]), follow=True)
    assert "There is no such message." in missing.content.decode()


def test_a_refusal_is_in_the_users_language(login: Callable[[User], Client]) -> None:
    user = integration_admin("chenjing")
    user.preferred_language = "zh-hans"
    user.save()
    delivered = message(state=OutboxState.DELIVERED)
    response = login(user).post(
        reverse("erp_bridge:outbox_replay", args=[delivered.pk]), follow=True
    )
    body = response.content.decode()
    assert '<html lang="zh-hans">' in body
    with translation.override("zh-hans"):
        expected = gettext("Only a dead letter can be replayed; this message is %(state)s.") % {
            "state": gettext("delivered")
        }
    assert f'class="message error">{expected}<' in body


def test_a_viewer_sees_no_buttons_and_cannot_replay(viewer_client: Client) -> None:
    dead = message(state=OutboxState.DEAD, attempts=8)
    page = viewer_client.get(reverse("erp_bridge:outbox")).content.decode()
    assert reverse("erp_bridge:outbox_replay", args=[dead.pk]) not in page
    viewer_client.post(reverse("erp_bridge:outbox_replay", args=[dead.pk]))
    viewer_client.post(reverse("erp_bridge:outbox_discard", args=[dead.pk]))
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (OutboxState.DEAD, 8)


def test_an_employee_post_changes_nothing(login: Callable[[User], Client], employee: User) -> None:
    dead = message(state=OutboxState.DEAD, attempts=8)
    client = login(employee)
    assert client.post(reverse("erp_bridge:outbox_replay", args=[dead.pk])).status_code == 403
    assert client.post(reverse("erp_bridge:outbox_discard", args=[dead.pk])).status_code == 403
    assert (
        client.post(reverse("erp_bridge:masterdata_sync"), {"kind": "products"}).status_code == 403
    )
    dead.refresh_from_db()
    assert dead.state == OutboxState.DEAD
    assert not SyncRun.objects.exists()


# --- master data -----------------------------------------------------------------------------


def test_master_data_search_and_htmx_rows(admin_client: Client) -> None:
    Product.objects.create(code="P-100", name="办公椅")
    Product.objects.create(code="P-200", name="打印纸")
    page = admin_client.get(reverse("erp_bridge:masterdata"), {"q": "办公"}).content.decode()
    assert 'data-code="P-100"' in page and 'data-code="P-200"' not in page
    rows = admin_client.get(
        reverse("erp_bridge:masterdata"),
        {"kind": "products", "q": "P-2"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'data-code="P-200"' in rows and "<html" not in rows


@pytest.mark.parametrize("kind", ["price_lists", "customers", "employees"])
def test_every_kind_of_master_data_lists(admin_client: Client, kind: str) -> None:
    assert admin_client.get(reverse("erp_bridge:masterdata"), {"kind": kind}).status_code == 200


def test_sync_now_records_a_run_and_says_how_it_went(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("erp_bridge:masterdata_sync"), {"kind": "customers"}, follow=True
    )
    run = SyncRun.objects.get()
    assert (run.kind, run.triggered_by) == ("customers", "sunli")
    body = response.content.decode()
    assert "Customers synchronized" in body or "customers synchronized" in body
    assert 'data-kind="customers"' in body


def test_sync_now_with_an_unknown_kind_changes_nothing(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("erp_bridge:masterdata_sync"), {"kind": "salaries"}, follow=True
    )
    assert "Choose what to synchronize" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_a_viewer_cannot_sync(viewer_client: Client) -> None:
    page = viewer_client.get(reverse("erp_bridge:masterdata")).content.decode()
    assert reverse("erp_bridge:masterdata_sync") not in page
    viewer_client.post(reverse("erp_bridge:masterdata_sync"), {"kind": "products"})
    assert not SyncRun.objects.exists()


# --- webhook subscriptions -------------------------------------------------------------------


def test_a_subscription_shows_its_secret_once(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("erp_bridge:webhooks"),
        {"name": "CRM", "url": "https://crm.example.com/hooks", "events": ["order.created"]},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    secret = re.search(r'<code class="secret" id="secret-value">([^<]+)</code>', body)
    assert secret is not None and len(secret.group(1)) >= 32
    assert "It is shown only this once" in body
    subscription = WebhookSubscription.objects.get()
    assert secret.group(1) not in subscription.secret_encrypted
    again = admin_client.get(reverse("erp_bridge:webhooks")).content.decode()
    assert secret.group(1) not in again
    assert 'id="secret-value"' not in again
    assert "crm.example.com" in again


def test_a_bad_subscription_names_the_field_and_adds_nothing(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("erp_bridge:webhooks"), {"name": "CRM", "url": "ftp://crm", "events": []}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert body.count('class="field invalid"') == 2  # the address and the events
    assert not WebhookSubscription.objects.exists()


def test_deleting_a_subscription(admin_client: Client) -> None:
    admin_client.post(
        reverse("erp_bridge:webhooks"),
        {"name": "CRM", "url": "https://crm.example.com/hooks", "events": ["order.created"]},
    )
    subscription = WebhookSubscription.objects.get()
    response = admin_client.post(
        reverse("erp_bridge:webhook_delete", args=[subscription.pk]), follow=True
    )
    assert "The subscription was deleted" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_a_viewer_cannot_add_nor_delete_subscriptions(
    admin_client: Client, viewer_client: Client
) -> None:
    admin_client.post(
        reverse("erp_bridge:webhooks"),
        {"name": "CRM", "url": "https://crm.example.com/hooks", "events": ["order.created"]},
    )
    subscription = WebhookSubscription.objects.get()
    response = viewer_client.post(
        reverse("erp_bridge:webhooks"),
        {"name": "ERP", "url": "https://erp.example.com/hooks", "events": ["order.created"]},
    )
    assert response.status_code == 403
    viewer_client.post(reverse("erp_bridge:webhook_delete", args=[subscription.pk]))
    assert list(WebhookSubscription.objects.values_list("name", flat=True)) == ["CRM"]


# --- sales orders ----------------------------------------------------------------------------


def test_sales_orders_with_their_status(admin_client: Client) -> None:
    now = timezone.now()
    OrderRecord.objects.create(
        reference="SO-2026-0001",
        customer_code="C001",
        number="S/0042",
        state="confirmed",
        shipped=True,
        created_at=now,
        updated_at=now,
    )
    OrderRecord.objects.create(
        reference="SO-2026-0002",
        customer_code="C002",
        state="draft",
        created_at=now,
        updated_at=now,
    )
    page = admin_client.get(reverse("erp_bridge:orders")).content.decode()
    assert "SO-2026-0001" in page and "S/0042" in page
    rows = admin_client.get(
        reverse("erp_bridge:orders"), {"state": "draft"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "SO-2026-0002" in rows and "SO-2026-0001" not in rows
