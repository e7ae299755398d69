"""Who may start what (issue 15, item 14 a/b): a process published to departments (with
their sub-departments) and to roles, the same answer in the catalogue, the start page, drafts
and the API; the process settings page in the console and its API, validated as Django
admin validates; a process administrator may deploy.

Personas (tests/conftest.py): 张伟 (employee) and 王芳 (colleague) in 华东区 below 销售部,
李娜 (dept_head) in 销售部, 刘洋 (outsider) in 财务部, a sibling of 销售部.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from portal.models import Department, User
from tests.workflow.approval_helpers import KEY, make_admin, make_role, settings, user_task
from tests.workflow.test_drafts import deploy_process
from workflow.models import Draft, ProcessInstance, ProcessSettings
from workflow.selectors import catalogue
from workflow.services import drafts, process_settings
from workflow.services.starts import StartNotAllowed

pytestmark = pytest.mark.django_db

PAGE = "/workflow/console/processes/"
API = "/api/v1/processes/{key}/settings"
LEAVE = KEY


def _publish(key: str, *departments: Department, roles: tuple[Any, ...] = ()) -> None:
    row = settings(key)
    row.starter_departments.set(departments)
    row.starter_roles.set(roles)


def _api_start(client: Client, key: str) -> int:
    answer = client.post(
        "/api/v1/instances/",
        {"process_key": key, "variables": {"reason": "Trip", "amount": 100}},
        content_type="application/json",
    )
    return answer.status_code


def _listed(client: Client) -> set[str]:
    return {row["key"] for row in client.get("/api/v1/definitions/").json()}


# --- departments, with their sub-departments --------------------------------------------------


def test_a_process_published_to_a_department_is_for_its_subtree_only(
    login: Callable[[User], Client],
    org: dict[str, Department],
    employee: User,
    dept_head: User,
    outsider: User,
) -> None:
    deploy_process("claim")
    deploy_process("open")
    _publish("claim", org["sales"])
    # 张伟 is in 华东区 below 销售部; 李娜 in 销售部 itself; 刘洋 in 财务部, its sibling
    for person, may in ((employee, True), (dept_head, True), (outsider, False)):
        assert catalogue.may_start(person, "claim") is may
        keys = {p.key for c in catalogue.startable_processes(person) for p in c.processes}
        assert keys == ({"claim", "open"} if may else {"open"})
        client = login(person)
        page = client.get("/workflow/processes/claim/start/")
        assert page.status_code == (200 if may else 404)
        assert ("claim" in _listed(client)) is may
        assert client.get("/workflow/processes/open/start/").status_code == 200

    refused = login(outsider)
    assert _api_start(refused, "claim") == 400  # as if not deployed
    assert _api_start(login(employee), "claim") == 201
    with pytest.raises(StartNotAllowed):
        drafts.draft_save(user=outsider, key="claim", data={"reason": "x"})
    assert not Draft.objects.filter(owner=outsider).exists()
    assert ProcessInstance.objects.filter(initiator="liuyang").count() == 0


def test_roles_or_departments_either_lets_a_person_start(
    org: dict[str, Department], employee: User, outsider: User, colleague: User
) -> None:
    deploy_process("claim")
    auditors = make_role("auditor", outsider)
    _publish("claim", org["east"], roles=(auditors,))
    assert catalogue.may_start(employee, "claim")  # by department
    assert catalogue.may_start(outsider, "claim")  # by role, though 财务部 is not listed
    colleague.department = org["hr"]
    colleague.save()
    assert not catalogue.may_start(User.objects.get(pk=colleague.pk), "claim")
    # a department above the person's is enough; one below is not
    _publish("claim", org["root"])
    assert catalogue.may_start(outsider, "claim")
    _publish("claim", org["east"])
    assert not catalogue.may_start(User.objects.get(pk=colleague.pk), "claim")


def test_a_person_without_a_department_starts_only_open_or_role_processes(
    org: dict[str, Department], employee: User
) -> None:
    deploy_process("claim")
    _publish("claim", org["root"])
    employee.department = None
    employee.save()
    assert not catalogue.may_start(employee, "claim")
    _publish("claim")  # nothing listed: everyone
    assert catalogue.may_start(employee, "claim")


def test_who_may_start_is_decided_in_one_query(
    org: dict[str, Department], employee: User, django_assert_num_queries: Any
) -> None:
    for key in ("a", "b", "c"):
        deploy_process(key)
        _publish(key, org["finance"], roles=(make_role(f"r_{key}"),))
    _publish("b", org["sales"])
    employee = User.objects.get(pk=employee.pk)
    with django_assert_num_queries(1):
        assert catalogue.may_start(employee, "a") is False
    employee.has_perm("workflow.view_processdefinition")  # permissions: cached per request
    with django_assert_num_queries(1):
        assert catalogue.hidden_processes(employee) == {"a", "c"}


# --- the settings page in the console -----------------------------------------------------------


@pytest.fixture
def process_admin(outsider: User) -> User:
    outsider.preferred_language = "en"  # the messages asserted below are the English ones
    outsider.save()
    return make_admin(outsider)


def _form(**values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "category": "Finance",
        "description": "Claim your travel costs.",
        "icon": "wallet",
        "reject": "end",
        "resubmit": "restart",
        "empty_assignee": "escalate",
        "initiator_approver": "skip",
        "auto_pass_repeated": "on",
        "default_due": "P2D",
        "remind_before": "PT4H",
        "timeout": "remind",
        "urge_interval_minutes": "30",
        "cc_at_end": "",
    }
    data.update(values)
    return {k: v for k, v in data.items() if v is not None}


def test_the_settings_page_saves_who_may_start_and_copies_by_name(
    login: Callable[[User], Client],
    org: dict[str, Department],
    process_admin: User,
    employee: User,
    colleague: User,
) -> None:
    deploy_process("claim", name="Expense claim")
    finance = make_role("finance_reviewer")
    client = login(process_admin)
    listed = client.get(PAGE).content.decode()
    assert 'href="/workflow/console/processes/claim/"' in listed
    assert client.get(f"{PAGE}claim/").status_code == 200
    answer = client.post(
        f"{PAGE}claim/",
        _form(
            starter_departments=[org["sales"].pk],
            starter_roles=[finance.pk],
            cc_at_end="张伟、wangfang",  # a name, and a user name (what the picker fills in)
            cc_roles=[finance.pk],
            cc_departments=[org["finance"].pk],
            default_due="PT45S",
        ),
    )
    assert answer.status_code == 303, answer.content.decode()[:2000]
    row = ProcessSettings.objects.get(key="claim")
    assert row.cc_at_end == "zhangwei, wangfang, role:finance_reviewer, dept:FIN"
    assert (row.category, row.default_due, row.icon) == ("Finance", "PT45S", "wallet")
    assert list(row.starter_departments.all()) == [org["sales"]]
    assert list(row.starter_roles.all()) == [finance]
    assert LogEntry.objects.filter(object_id=str(row.pk)).exists()
    # shown again as names, never as role:code
    html = client.get(f"{PAGE}claim/").content.decode()
    assert 'value="张伟, 王芳"' in html
    assert "role:" not in html and "dept:FIN" not in html
    assert "销售部, finance_reviewer" not in html
    assert catalogue.may_start(employee, "claim")
    assert not catalogue.may_start(process_admin, "claim")


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"default_due": "2 days"}, "default_due", "“2 days” is not a duration."),
        ({"remind_before": "PT"}, "remind_before", "“PT” is not a duration."),
        ({"cc_at_end": "nobody_here"}, "cc_at_end", "Nobody active is called “nobody_here”."),
        ({"urge_interval_minutes": "-5"}, "urge_interval_minutes", "greater than or equal to 0"),
        ({"reject": "explode"}, "reject", "Select a valid choice."),
    ],
)
def test_bad_settings_are_refused_with_a_message_and_change_nothing(
    login: Callable[[User], Client],
    process_admin: User,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    deploy_process("claim")
    settings("claim", category="Old")
    answer = login(process_admin).post(f"{PAGE}claim/", _form(**values))
    assert answer.status_code == 400
    form = answer.context["form"]
    assert any(message in e for e in form.errors[field]), form.errors
    assert message in answer.content.decode()
    assert ProcessSettings.objects.get(key="claim").category == "Old"


def test_a_name_two_people_share_must_be_chosen(
    login: Callable[[User], Client], process_admin: User, employee: User, org: Any
) -> None:
    deploy_process("claim")
    User.objects.create(username="zhangwei2", first_name="伟", last_name="张")
    answer = login(process_admin).post(f"{PAGE}claim/", _form(cc_at_end="张伟"))
    assert answer.status_code == 400
    assert "More than one person is called “张伟”" in answer.content.decode()
    assert (
        login(process_admin).post(f"{PAGE}claim/", _form(cc_at_end="zhangwei2")).status_code == 303
    )
    html = login(process_admin).get(f"{PAGE}claim/").content.decode()
    assert 'value="zhangwei2"' in html  # an ambiguous name is shown by its user name


def test_only_process_administrators_open_the_settings(
    login: Callable[[User], Client], employee: User, hr_admin: User, process_admin: User
) -> None:
    deploy_process("claim")
    for person in (employee, hr_admin):
        client = login(person)
        assert client.get(PAGE).status_code == 403
        assert client.get(f"{PAGE}claim/").status_code == 403
        assert client.post(f"{PAGE}claim/", _form(category="Hacked")).status_code == 403
    assert not ProcessSettings.objects.filter(key="claim").exists()
    assert login(process_admin).get(f"{PAGE}no-such-process/").status_code == 404
    with pytest.raises(PermissionDenied):
        process_settings.process_settings_update(key="claim", by=employee, changes={})


def test_the_model_check_is_the_admins_too(employee: User) -> None:
    row = ProcessSettings(key="x", default_due="tomorrow", cc_at_end="role:nope, dept:NOPE, ghost")
    with pytest.raises(ValidationError) as raised:
        row.full_clean()
    errors = raised.value.message_dict
    assert "default_due" in errors
    assert errors["cc_at_end"] == [
        "No active user has the user name “ghost”.",
        "There is no role with the code “nope”.",
        "There is no department with the code “NOPE”.",
    ]
    ProcessSettings(key="y", cc_at_end="zhangwei, ${manager(initiator)}").full_clean()


# --- the settings API ---------------------------------------------------------------------------


def _send(client: Client, method: str, key: str, body: dict[str, Any]) -> Any:
    return client.generic(
        method, API.format(key=key), data=json.dumps(body), content_type="application/json"
    )


FULL = {
    "category": "Finance",
    "description": "",
    "icon": "",
    "starter_roles": [],
    "starter_departments": ["SALES"],
    "reject": "return",
    "resubmit": "jump",
    "empty_assignee": "skip",
    "escalation_role": None,
    "initiator_approver": "keep",
    "auto_pass_repeated": False,
    "default_due": "P1D",
    "remind_before": "",
    "timeout": "approve",
    "cc_at_end": "zhangwei, role:finance_reviewer",
    "urge_interval_minutes": 10,
}


def test_the_settings_api_reads_replaces_and_patches(
    login: Callable[[User], Client],
    org: dict[str, Department],
    process_admin: User,
    employee: User,
) -> None:
    deploy_process("claim")
    make_role("finance_reviewer")
    client = login(process_admin)
    read = client.get(API.format(key="claim"))
    assert read.status_code == 200
    assert read.json()["reject"] == "end" and read.json()["starter_departments"] == []

    replaced = _send(client, "PUT", "claim", FULL)
    assert replaced.status_code == 200, replaced.json()
    assert replaced.json() == {"key": "claim", **FULL}
    assert catalogue.may_start(employee, "claim")

    missing = {k: v for k, v in FULL.items() if k != "timeout"}
    answer = _send(client, "PUT", "claim", {**missing, "category": "Changed"})
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == ["timeout"]
    assert ProcessSettings.objects.get(key="claim").category == "Finance"

    patched = _send(client, "PATCH", "claim", {"default_due": "PT30M", "starter_departments": []})
    assert patched.status_code == 200, patched.json()
    assert patched.json() == {
        "key": "claim",
        **FULL,
        "default_due": "PT30M",
        "starter_departments": [],
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"default_due": "soon"}, "default_due"),
        ({"cc_at_end": "ghost"}, "cc_at_end"),
        ({"cc_at_end": "role:nope"}, "cc_at_end"),
        ({"starter_departments": ["NOPE"]}, "starter_departments"),
        # codes no database can hold: refused as unknown, never sent to PostgreSQL
        ({"starter_departments": ["SA\u0000LES"]}, "starter_departments"),
        ({"starter_roles": ["\ud800x"]}, "starter_roles"),
        ({"escalation_role": "a\u0000b"}, "escalation_role"),
        ({"timeout": "explode"}, "timeout"),
    ],
)
def test_the_settings_api_refuses_what_admin_refuses(
    login: Callable[[User], Client], process_admin: User, body: dict[str, Any], field: str
) -> None:
    deploy_process("claim")
    answer = _send(login(process_admin), "PATCH", "claim", body)
    assert answer.status_code == 400
    assert list(answer.json()["error"]["fields"]) == [field]
    assert not ProcessSettings.objects.filter(key="claim").exists()


def test_the_settings_api_is_for_process_administrators(
    login: Callable[[User], Client], employee: User, process_admin: User
) -> None:
    deploy_process("claim")
    client = login(employee)
    assert client.get(API.format(key="claim")).status_code == 403
    assert _send(client, "PATCH", "claim", {"category": "x"}).status_code == 403
    assert _send(client, "PUT", "claim", FULL).status_code == 403
    assert not ProcessSettings.objects.filter(key="claim").exists()
    assert login(process_admin).get(API.format(key="nothing")).status_code == 404


# --- a process administrator may deploy ---------------------------------------------------------


def test_a_process_administrator_may_deploy_and_an_employee_may_not(
    login: Callable[[User], Client], employee: User, process_admin: User
) -> None:
    from tests.workflow.engine_helpers import chain, definitions

    body = '<startEvent id="start"/>' + user_task("approve", assignee="lina")
    body += '<endEvent id="end"/>' + chain("start", "approve", "end")
    xml = definitions(f'<process id="deployed" isExecutable="true">{body}</process>')
    payload = {"xml": xml, "source_name": "deployed.bpmn"}
    refused = login(employee).post("/api/v1/definitions/", payload, content_type="application/json")
    assert refused.status_code == 403
    assert login(employee).get("/workflow/designer/").status_code == 403
    client = login(process_admin)
    answer = client.post("/api/v1/definitions/", payload, content_type="application/json")
    assert answer.status_code == 201, answer.json()
    assert client.get("/workflow/designer/").status_code == 200
    page = client.get(f"{PAGE}deployed/").content.decode()
    assert 'href="/workflow/designer/?key=deployed"' in page
