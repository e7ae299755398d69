"""The process designer in a real browser: a designer opens a shared BPMN file with an error,
sees it marked on the element, fixes it in the properties panel, validates clean, simulates
and sees the path, deploys and sees the new version; the page in Chinese and English, on a
desktop and a phone."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.shared_files import SHARED, shared_path
from tests.workflow.approval_helpers import deploy_steps, user_task
from workflow.models import ProcessDefinition
from workflow.services import definitions

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

EXPENSE = SHARED / "bpmn" / "expense_approval.bpmn"
BUNDLE = Path(settings.BASE_DIR) / "var" / "frontend" / "designer" / "designer.js"
URL = "/workflow/designer/"
PHONE_WIDTH = 375


@pytest.fixture(autouse=True)
def _needs_bundle_and_file() -> None:
    assert BUNDLE.exists(), f"the designer bundle {BUNDLE} is not built: run `make setup`"
    shared_path("bpmn", "expense_approval.bpmn")  # fails the test when it is missing


def _designer(user: User, language: str = "") -> User:
    user.preferred_language = language
    user.save(update_fields=["preferred_language"])
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="add_processdefinition")
    )
    return user


def _open_designer(page: Page, base: str, query: str = "") -> None:
    page.goto(f"{base}{URL}{query}")
    expect(page.locator("body")).to_have_attribute("data-designer-ready", "true")


def _shape(page: Page, element_id: str) -> Any:
    return page.locator(f'#designer-canvas .djs-element[data-element-id="{element_id}"]')


def _shot(screenshot: Callable[[Page, str], Path], page: Page, name: str) -> None:
    """A full-page screenshot from the top (the sticky top bar stays where it belongs)."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def _fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"the page scrolls sideways: {width} px"


def test_designer_fixes_simulates_and_deploys_a_shared_file(
    live_server: Any,
    hr_admin: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    _designer(hr_admin)  # no preference: the browser's Chinese
    deploy_steps(user_task("Approve", assignee="${initiator}"), key="leave")
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, hr_admin.username)
    _open_designer(page, base)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#designer-process option[value=leave]")).to_have_count(1)
    # the properties panel is there, with the start event of the new diagram
    expect(page.locator("#designer-properties .bio-properties-panel")).to_be_visible()

    # Open a local file with a broken condition on "over 5000".
    broken = EXPENSE.read_bytes().replace(b"amount &gt; 5000", b"amount &gt;&gt; 5000")
    page.locator("#designer-file").set_input_files(
        files={"name": "expense_approval.bpmn", "mimeType": "application/xml", "buffer": broken}
    )
    expect(page.locator("#designer-current")).to_have_text("expense_approval.bpmn")
    expect(_shape(page, "Activity_ManagerApproval")).to_be_visible()

    # Validate: the problem is listed and marked on the flow, with its message beside it.
    page.locator("#designer-validate").click()
    problems = page.locator("#designer-problems li")
    expect(problems).to_have_count(1)
    expect(problems.first).to_contain_text("Flow_ToDirector")
    expect(problems.first).to_contain_text("does not compile")
    expect(_shape(page, "Flow_ToDirector")).to_have_class(re.compile(r"\bhas-error\b"))
    expect(page.locator(".designer-problem-overlay")).to_contain_text("does not compile")
    expect(page.locator("#designer-status")).to_have_class(re.compile(r"\berror\b"))
    _shot(screenshot, page, "designer-modeler-problems-desktop-zh")

    # Selecting the problem selects the flow; the properties panel shows its condition.
    problems.first.locator("button").click()
    expect(_shape(page, "Flow_ToDirector")).to_have_class(re.compile(r"\bselected\b"))
    panel = page.locator("#designer-properties")
    panel.locator(".bio-properties-panel-group-header").filter(
        has=page.get_by_text("条件", exact=True)  # the panel speaks the page's Chinese
    ).click()
    condition = panel.locator("input[name=conditionExpression]")
    expect(condition).to_have_value("amount >> 5000")

    # Fix it in the properties panel and validate again: the marks go.
    condition.fill("amount > 5000")
    page.wait_for_function(
        """() => {
            const registry = window.portalDesigner.modeler.get("elementRegistry");
            const flow = registry.get("Flow_ToDirector").businessObject;
            return flow.conditionExpression.body === "amount > 5000";
        }"""
    )
    page.locator("#designer-validate").click()
    expect(page.locator("#designer-status")).to_have_class(re.compile(r"\bsuccess\b"))
    expect(page.locator("#designer-problems-box")).to_be_hidden()
    expect(page.locator("#designer-canvas .has-error")).to_have_count(0)

    # Simulate: bad JSON is refused on the page, then a claim of 120 takes the short path.
    page.locator("#sim-variables").fill("{amount: 120")
    page.locator("#designer-simulate").click()
    expect(page.locator("#designer-simulate-errors")).to_contain_text("JSON")
    page.locator("#sim-variables").fill('{"amount": 120}')
    page.locator("#sim-task-data").fill('{"amount": 120, "description": "出租车"}')
    page.locator("#designer-simulate").click()
    expect(page.locator("#designer-simulate-errors")).to_be_empty()
    result = page.locator("#designer-result")
    expect(result).to_contain_text("Event_ClaimApproved")
    # erp.reserve_budget is inline (it writes the ERP outbox): it ran for real, rolled back
    expect(result).to_contain_text('"erp_posting"')
    for element_id in ("StartEvent_1", "Activity_ManagerApproval", "Activity_ReserveBudget"):
        expect(_shape(page, element_id)).to_have_class(re.compile(r"\bsim-path\b"))
    expect(_shape(page, "Event_ClaimApproved")).to_have_class(re.compile(r"\bsim-end\b"))
    expect(_shape(page, "Activity_DirectorApproval")).not_to_have_class(re.compile(r"sim-path"))
    assert not ProcessDefinition.objects.filter(key="expense_approval").exists()
    _shot(screenshot, page, "designer-modeler-simulation-desktop-zh")

    # Deploy, after confirming: the new version is announced and offered in the list.
    page.locator("#designer-deploy").click()
    dialog = page.locator("#designer-deploy-dialog")
    expect(dialog).to_be_visible()
    _shot(screenshot, page, "designer-deploy-dialog-desktop-zh")
    page.locator("#designer-deploy-confirm").click()
    status = page.locator("#designer-status")
    expect(status).to_have_class(re.compile(r"\bsuccess\b"))
    expect(status).to_contain_text("expense_approval")
    expect(page.locator("#designer-process option[value=expense_approval]")).to_have_count(1)
    deployed = ProcessDefinition.objects.get(key="expense_approval")
    assert (deployed.version, deployed.deployed_by_id) == (1, hr_admin.pk)
    assert "amount &gt; 5000" in deployed.xml
    assert deployed.source_name == "expense_approval.bpmn"
    _shot(screenshot, page, "designer-modeler-desktop-zh")


def test_the_designer_in_english_and_on_a_phone(
    live_server: Any,
    hr_admin: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:

    definitions.definition_deploy(xml=EXPENSE.read_bytes(), source_name="expense_approval.bpmn")
    base = live_server.url

    # English, desktop: a deployed process opened from the list.
    _designer(hr_admin, "en")
    page = new_page("desktop")
    sign_in(page, base, hr_admin.username)
    _open_designer(page, base)
    expect(page.locator("h1")).to_have_text("Process designer")
    page.locator("#designer-process").select_option("expense_approval")
    page.locator("#designer-open-form button[type=submit]").click()
    expect(page.locator("#designer-current")).to_have_text("expense_approval.bpmn")
    expect(_shape(page, "Activity_FinanceReview")).to_be_visible()
    page.locator("#designer-validate").click()
    expect(page.locator("#designer-status")).to_have_text(
        "No problems found: the process can be deployed."
    )
    _shape(page, "Activity_DirectorApproval").click()
    expect(page.locator("#designer-properties")).to_contain_text("Director approval")
    _shot(screenshot, page, "designer-modeler-desktop-en")

    # Phones, both languages: the notice, the diagram, no sideways scrolling.
    for language, suffix in (("en", "en"), ("", "zh")):
        _designer(hr_admin, language)
        phone = new_page("phone")
        sign_in(phone, base, hr_admin.username)
        _open_designer(phone, base, "?key=expense_approval")
        expect(phone.locator(".designer-phone-notice")).to_be_visible()
        expect(_shape(phone, "Activity_FinanceReview")).to_be_attached()
        phone.locator("#designer-validate").click()
        expect(phone.locator("#designer-status")).to_have_class(re.compile(r"\bsuccess\b"))
        _fits(phone)
        button = phone.locator("#designer-validate").bounding_box()
        assert button is not None and button["height"] >= 44
        _shot(screenshot, phone, f"designer-modeler-phone-{suffix}")
