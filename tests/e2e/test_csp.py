"""The Content-Security-Policy (issue 13, item 7) in a real browser: every kind of page the
portal serves works under it and the browser reports no violation — the dashboard with its
htmx portlets, the inbox, the catalogue and a start form, a task and an instance page with
the diagram, the designer (bpmn-js), the console and its statistics, the API documentation
(Swagger UI and Redoc) and Django admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from portal.models import User
from tests.e2e.test_shell import sign_in
from tests.factories import PASSWORD
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow.models import ProcessInstance

if TYPE_CHECKING:
    from playwright.sync_api import Page

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.e2e

# Runs before any script of the page (CDP, not subject to the page's policy): collects every
# violation the browser reports.
COLLECT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


# What the policy is meant to refuse and the page does without: Redoc's footer logo from its
# vendor's CDN (an intranet cannot reach it, and the portal tells no outside site who reads).
EXPECTED = ("img-src https://cdn.redoc.ly/",)


def _visit(page: Page, url: str, ready: str) -> list[str]:
    page.goto(url)
    # ReDoc lays the whole API schema out before it shows its menu (a few seconds on a busy
    # machine, now that the ERP bridge and the CRM are in it)
    expect(page.locator(ready).first).to_be_visible(timeout=30_000)
    page.wait_for_load_state("networkidle")
    found: list[str] = page.evaluate("window.__cspViolations")
    return [v for v in found if not v.startswith(EXPECTED)]


def test_every_kind_of_page_works_under_the_policy(
    live_server: Any, superuser: User, employee: User, dept_head: User, page: Page
) -> None:
    superuser.set_password(PASSWORD)
    superuser.save()
    deploy_steps(user_task("Approve", assignee="admin"))
    instance_id = start(employee)
    task = open_task(instance_id)
    assert ProcessInstance.objects.filter(pk=instance_id).exists()
    base = live_server.url
    page.add_init_script(COLLECT)
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, base, superuser.username)

    pages = {
        "/": ".portlet",
        "/workflow/inbox/": "main",
        "/workflow/processes/": "main",
        "/workflow/processes/leave/start/": "main form",
        f"/workflow/tasks/{task.pk}/": "main",
        f"/workflow/instances/{instance_id}/": "svg",
        "/workflow/designer/": "body[data-designer-ready=true]",
        "/workflow/console/": "main",
        "/workflow/console/statistics/": "main",
        "/api/docs/": ".swagger-ui .info",
        "/api/redoc/": "[role=navigation], .menu-content",
        "/admin/": "#content",
    }
    violations = {}
    for path, ready in pages.items():
        found = _visit(page, f"{base}{path}", ready)
        if found:
            violations[path] = found
    assert not violations, violations
    assert not [m for m in console if "cdn.redoc.ly" not in m], console
