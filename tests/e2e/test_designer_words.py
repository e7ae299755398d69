"""The designer in the page's language and with its version list kept right (issue 15, items
6 and 17): in Chinese the modeler's palette, its properties panel and the panel's validation
messages are Chinese; deploying an unchanged diagram makes no new version and says so; a
changed one shows its new version in the list at once; the translations panel saves a
process's English names."""

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
from workflow.demo import DEMO_DIR
from workflow.models import ProcessDefinition, ProcessSettings
from workflow.services.definitions import definition_deploy

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

BUNDLE = Path(settings.BASE_DIR) / "var" / "frontend" / "designer" / "designer.js"


def _designer(user: User) -> User:
    user.preferred_language = ""  # the browser's Chinese
    user.save(update_fields=["preferred_language"])
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="add_processdefinition")
    )
    return user


def _select(page: Page, element_id: str) -> None:
    page.evaluate(
        """(id) => {
            const modeler = window.portalDesigner.modeler;
            modeler.get("selection").select(modeler.get("elementRegistry").get(id));
        }""",
        element_id,
    )


def _label(page: Page, name: str) -> str:
    text: str = page.evaluate(
        "(name) => JSON.parse(document.getElementById('designer-config').textContent).labels[name]",
        name,
    )
    return text


def test_the_designer_speaks_chinese_and_keeps_its_versions_right(
    live_server: Any,
    hr_admin: User,
    new_page: Callable[[str], Page],
    screenshot: Callable[[Page, str], Path],
) -> None:
    assert BUNDLE.exists(), f"the designer bundle {BUNDLE} is not built: run `make setup`"
    _designer(hr_admin)
    # a file with a diagram (the modeler shows what its DI draws): the demo leave request
    definition_deploy(xml=(DEMO_DIR / "leave_request.bpmn").read_bytes())
    base = live_server.url
    page = new_page("desktop")
    sign_in(page, base, hr_admin.username)
    page.goto(f"{base}/workflow/designer/?key=leave_request")
    expect(page.locator("body")).to_have_attribute("data-designer-ready", "true")

    # The palette and the properties panel in Chinese.
    expect(page.locator(".djs-palette [aria-label='激活抓手工具']")).to_have_count(1)
    _select(page, "Task_ManagerApproval")
    panel = page.locator("#designer-properties")
    expect(panel.locator(".bio-properties-panel-header-type")).to_have_text("用户任务")
    for group in ("常规", "用户分配", "表单", "异步延续"):
        expect(
            panel.locator(".bio-properties-panel-group-header-title", has_text=group)
        ).to_have_count(1)
    panel.locator(".bio-properties-panel-group-header", has_text="常规").click()
    panel.locator("input[name=id]").fill("bad id")
    expect(panel.locator(".bio-properties-panel-error")).to_have_text("ID 不能包含空格。")
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "designer-properties-panel-desktop-zh")
    # an invalid id never reaches the diagram
    assert page.evaluate(
        "() => !!window.portalDesigner.modeler.get('elementRegistry').get('Task_ManagerApproval')"
    )

    # Deploying the diagram as it was opened: no new version, and the page says so.
    page.locator("#designer-deploy").click()
    page.locator("#designer-deploy-confirm").click()
    unchanged = (
        _label(page, "unchanged_version")
        .replace("%(key)s", "leave_request")
        .replace("%(version)s", "1")
    )
    expect(page.locator("#designer-status")).to_have_text(unchanged)
    assert ProcessDefinition.objects.filter(key="leave_request").count() == 1

    # A changed diagram: its new version shows in the list at once.
    page.evaluate(
        """() => {
            const modeler = window.portalDesigner.modeler;
            const task = modeler.get("elementRegistry").get("Task_ManagerApproval");
            modeler.get("modeling").updateProperties(task, { name: "直属上级审批" });
        }"""
    )
    page.locator("#designer-deploy").click()
    page.locator("#designer-deploy-confirm").click()
    expect(page.locator("#designer-status")).to_have_class(re.compile(r"\bsuccess\b"))
    expect(page.locator("#designer-process option[value=leave_request]")).to_have_text(
        re.compile(r"leave_request v2$")
    )
    assert ProcessDefinition.objects.filter(key="leave_request").count() == 2

    # The translations panel lists the process's texts; an English name is saved.
    box = page.locator("#designer-translations")
    row = box.locator("tr[data-entry=Task_ManagerApproval]")
    expect(row).to_contain_text("直属上级审批")
    row.locator("input[data-language=en]").fill("Manager approval")
    box.locator("#designer-translations-save").click()
    expect(page.locator("#designer-status")).to_have_text(_label(page, "translations_saved"))
    assert ProcessSettings.objects.get(key="leave_request").translations == {
        "en": {"Task_ManagerApproval": "Manager approval"}
    }
    box.scroll_into_view_if_needed()
    screenshot(page, "designer-translations-desktop-zh")
