"""The monitoring console in a real browser: a process administrator finds a failed job (an
incident) and retries it, then every console page is photographed on a desktop and a phone,
in Chinese and in English (``console-<page>-<desktop|phone>-<zh|en>``)."""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from portal.models import User
from tests.e2e.journey_helpers import open_nav_link
from tests.e2e.test_shell import sign_in
from tests.factories import PASSWORD
from workflow.applications import Application, ApplicationError, applications
from workflow.models import HistoryEvent, Incident, Job, ProcessInstance, Task
from workflow.services import definitions, engine, jobs

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 375
BOOKING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="budget_booking" name="预算预留" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:serviceTask id="reserve" name="在 ERP 预留预算" camunda:type="test.e2e_erp"/>
    <bpmn:userTask id="confirm" name="确认预留" camunda:assignee="huangli"/>
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reserve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="reserve" targetRef="confirm"/>
    <bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def erp() -> Iterator[dict[str, bool]]:
    """The ERP application: fails (permanently, as a 400 would) until ``fail`` is False."""
    state = {"fail": True}

    def handler(call: Any) -> dict[str, Any]:
        if state["fail"]:
            raise ApplicationError(
                "ERP answered 400: cost centre 6601 is closed\nrequest id 7f3a\nretry later",
                permanent=True,
            )
        return {"reserved": True}

    applications.register(Application("test.e2e_erp", "ERP", handler))
    yield state
    applications.unregister("test.e2e_erp")


@pytest.fixture
def demo(erp: dict[str, bool]) -> int:
    """The demo company and processes, spread over the last two weeks (so the statistics
    have something to show), and one instance whose ERP call failed."""
    call_command(
        "seed_demo",
        allow_production=True,
        password=PASSWORD,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    now = timezone.now()
    for n, instance in enumerate(ProcessInstance.objects.order_by("pk")):
        started = now - datetime.timedelta(days=n % 12, hours=3 * n + 5)
        ended = started + datetime.timedelta(hours=4 + 5 * (n % 4)) if instance.ended_at else None
        ProcessInstance.objects.filter(pk=instance.pk).update(started_at=started, ended_at=ended)
    for n, row in enumerate(HistoryEvent.objects.filter(kind="activity").order_by("pk")):
        HistoryEvent.objects.filter(pk=row.pk).update(duration_ms=(n % 7 + 1) * 1_800_000)
    first_open = Task.objects.filter(state="open").order_by("pk").values_list("pk", flat=True)[:3]
    Task.objects.filter(pk__in=list(first_open)).update(due_at=now - datetime.timedelta(days=1))
    definitions.definition_deploy(xml=BOOKING)
    instance_id = engine.instance_start(
        "budget_booking", initiator="zhangwei", title="市场活动预算 5 万元"
    )
    Job.objects.filter(instance_id=instance_id).update(due_at=now - datetime.timedelta(seconds=1))
    jobs.jobs_run_due()
    assert Incident.objects.filter(instance_id=instance_id, resolved_at__isnull=True).exists()
    return instance_id


def set_language(username: str, language: str) -> None:
    User.objects.filter(username=username).update(preferred_language=language)


def fits(page: Page) -> None:
    """No horizontal scrolling of the page itself on a phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > 376).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= PHONE_WIDTH, f"{page.url} is {width}px wide: {wide}"


def test_admin_retries_a_failed_job(
    live_server: Any,
    demo: int,
    erp: dict[str, bool],
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, "xugang", PASSWORD)
    # (the console's own words are translated at the end of the issue: find it by address)
    open_nav_link(page, "/workflow/console/")
    expect(page).to_have_url(f"{base}/workflow/console/")
    row = page.locator("#instance-rows tr", has_text="市场活动预算")
    expect(row.locator(".tag.danger")).to_have_text("1")

    page.locator('.console-tabs a[href="/workflow/console/incidents/"]').click()
    incident = page.locator("#incident-rows tr", has_text="在 ERP 预留预算")
    expect(incident).to_contain_text("ERP answered 400: cost centre 6601 is closed")
    screenshot(page, "console-incidents-before-retry-desktop-zh")

    erp["fail"] = False  # the ERP is fixed
    incident.locator("button.retry").click()
    expect(page.locator(".messages")).to_contain_text("1")
    expect(page.locator("#incident-rows tr", has_text="在 ERP 预留预算")).to_have_count(0)
    assert not Incident.objects.filter(instance_id=demo, resolved_at__isnull=True).exists()
    assert Task.objects.filter(instance_id=demo, element_id="confirm", state="open").exists()
    screenshot(page, "console-incidents-after-retry-desktop-zh")


def test_bulk_suspend_with_confirmation(
    live_server: Any, demo: int, new_page: Callable[[str], Page]
) -> None:
    set_language("xugang", "en")
    page = new_page("desktop")
    sign_in(page, live_server.url, "xugang", PASSWORD)
    page.goto(f"{live_server.url}/workflow/console/?state=active")
    rows = page.locator("#instance-rows input[name=ids]")
    page.locator("input.select-all").check()
    count = rows.count()
    assert count > 1
    page.locator(".bulkbar").get_by_role("button", name="Suspend").click()
    expect(page.locator("h1")).to_have_text("Suspend")
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page.locator(".messages")).to_contain_text(f"{count} processes done.")
    assert ProcessInstance.objects.filter(state="suspended").count() == count


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("language", ["zh", "en"])
def test_console_pages_screenshots(
    live_server: Any,
    demo: int,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
    viewport: str,
    language: str,
) -> None:
    set_language("xugang", "en" if language == "en" else "zh-hans")
    base = live_server.url
    page = new_page(viewport)
    sign_in(page, base, "xugang", PASSWORD)
    some = ProcessInstance.objects.filter(state="active").order_by("pk").first()
    assert some is not None
    pages = {
        "instances": "/workflow/console/",
        "actions": f"/workflow/console/actions/?ids={some.pk}&action=move",
        "incidents": "/workflow/console/incidents/",
        "jobs": "/workflow/console/jobs/",
        "statistics": "/workflow/console/statistics/?key=expense_claim",
    }
    for name, path in pages.items():
        page.goto(base + path)
        expect(page.locator("h1")).to_be_visible()
        if name == "statistics":
            expect(page.locator("#heatmap svg.bpmn-diagram")).to_be_visible()
        screenshot(page, f"console-{name}-{viewport}-{language}")
        if viewport == "phone":
            fits(page)
