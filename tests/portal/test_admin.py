"""The Django admin of the organization, as the superuser, an HR administrator and an
ordinary employee."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.db.models import Model
from django.utils import timezone

from portal.models import (
    Announcement,
    CalendarDay,
    CodeRule,
    DelegationRule,
    Department,
    LeaveBalance,
    Notification,
    Position,
    Role,
    User,
)
from tests.factories import AnnouncementFactory, PositionFactory

pytestmark = pytest.mark.django_db

PORTAL_MODELS = [
    User,
    Department,
    Position,
    Role,
    DelegationRule,
    CodeRule,
    Announcement,
    Notification,
    CalendarDay,
    LeaveBalance,
]
NEW_PASSWORD = "Lantern-orbit-47-quiet"


@pytest.fixture
def filled(org, employee, colleague, dept_head):
    """At least one row of every model, so that changelists render their columns."""
    PositionFactory.create(code="SALES-REP", name="销售代表", department=org["east"])
    now = timezone.now()
    DelegationRule.objects.create(
        delegator=employee,
        delegate=colleague,
        starts_at=now,
        ends_at=now + datetime.timedelta(days=2),
        process_keys=["expense_claim"],
    )
    AnnouncementFactory.create(author=dept_head)
    Notification.objects.create(recipient=employee, kind="system", title="新任务")
    CalendarDay.objects.create(date=datetime.date(2026, 10, 1), kind="holiday", name="国庆节")
    LeaveBalance.objects.create(user=employee, leave_type="annual", days=5)


def admin_url(model: type[Model], view: str) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/{view}"


def test_every_portal_model_is_registered():
    registered = {model for model in admin.site._registry if model._meta.app_label == "portal"}
    assert registered == set(PORTAL_MODELS)


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.model_name)
def test_superuser_sees_every_changelist(login, superuser, filled, model):
    response = login(superuser).get(admin_url(model, ""))
    assert response.status_code == 200
    # The department tree lists one level at a time, starting from the roots.
    rows = Department.objects.get_root_nodes() if model is Department else model.objects.all()
    assert response.context["cl"].result_count == rows.count() > 0


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.model_name)
def test_superuser_sees_every_add_page(login, superuser, model):
    response = login(superuser).get(admin_url(model, "add/"))
    assert response.status_code == 200
    assert "adminform" in response.context


@pytest.mark.parametrize("model", PORTAL_MODELS, ids=lambda m: m._meta.model_name)
def test_superuser_sees_every_change_page(login, superuser, filled, model):
    obj = model.objects.first()
    response = login(superuser).get(admin_url(model, f"{obj.pk}/change/"))
    assert response.status_code == 200


def test_department_tree_changelist_searches(login, superuser, org, dept_head):
    client = login(superuser)
    tree = client.get(admin_url(Department, ""))
    assert tree.status_code == 200
    assert [d.name for d in tree.context["cl"].result_list] == ["总经办"]
    # A search looks at the whole tree, not only at the level on screen.
    found = client.get(admin_url(Department, ""), {"q": "销售"})
    assert found.status_code == 200
    names = {d.name for d in found.context["cl"].result_list}
    assert names == {"销售部"}
    by_code = client.get(admin_url(Department, ""), {"q": "SALES-E"})
    assert {d.name for d in by_code.context["cl"].result_list} == {"华东区"}


def test_department_changelist_counts_members(login, superuser, org, employee, colleague):
    response = login(superuser).get(admin_url(Department, ""), {"q": "华东"})
    [east] = response.context["cl"].result_list
    assert east._member_count == 2


def user_add_data(org, employee_no: str) -> dict[str, str]:
    return {
        "username": "newhire",
        "employee_no": employee_no,
        "last_name": "孙",
        "first_name": "丽",
        "department": str(org["east"].pk),
        "usable_password": "true",
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    }


def test_user_add_form_creates_a_user_with_a_valid_employee_number(login, superuser, org):
    response = login(superuser).post(admin_url(User, "add/"), user_add_data(org, "E123456"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="newhire")
    assert user.employee_no == "E123456"
    assert user.department == org["east"]
    assert user.get_full_name() == "孙丽"
    assert user.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("employee_no", ["X123456", "E12345", "e123456x"])
def test_user_add_form_refuses_an_invalid_employee_number(login, superuser, org, employee_no):
    response = login(superuser).post(admin_url(User, "add/"), user_add_data(org, employee_no))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["employee_no"]
    assert [e.code for e in errors.as_data()["employee_no"]] == ["code_rule"]
    assert not User.objects.filter(username="newhire").exists()


def test_user_add_form_follows_a_changed_code_rule(login, superuser, org):
    CodeRule.objects.filter(key="employee_no").update(pattern=r"EMP-\d{4}", example="EMP-0001")
    client = login(superuser)
    refused = client.post(admin_url(User, "add/"), user_add_data(org, "E123456"))
    assert refused.status_code == 200
    assert "EMP-0001" in refused.content.decode()
    accepted = client.post(admin_url(User, "add/"), user_add_data(org, "EMP-1234"))
    assert accepted.status_code == 302
    assert User.objects.get(username="newhire").employee_no == "EMP-1234"


def test_code_rule_admin_refuses_an_invalid_rule(login, superuser):
    rule = CodeRule.objects.get(key="employee_no")
    response = login(superuser).post(
        admin_url(CodeRule, f"{rule.pk}/change/"),
        {"key": "employee_no", "pattern": r"E(\d{6}", "example": "E000001", "description": ""},
    )
    assert response.status_code == 200
    assert "pattern" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.pattern == r"E\d{6}"


def test_announcement_admin_records_the_author(login, superuser):
    response = login(superuser).post(
        admin_url(Announcement, "add/"),
        {
            "title": "新系统上线",
            "body": "下周一起使用新门户。",
            "published_at_0": "2026-01-05",
            "published_at_1": "09:00:00",
            "expires_at_0": "",
            "expires_at_1": "",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Announcement.objects.get(title="新系统上线").author == superuser


def test_hr_admin_sees_departments_but_not_code_rules(login, hr_admin, org):
    client = login(hr_admin)
    assert client.get("/admin/").status_code == 200
    departments = client.get(admin_url(Department, ""))
    assert departments.status_code == 200
    assert [d.name for d in departments.context["cl"].result_list] == ["总经办"]
    assert client.get(admin_url(CodeRule, "")).status_code == 403
    assert client.get(admin_url(CodeRule, "add/")).status_code == 403
    assert client.get(admin_url(Notification, "")).status_code == 403
    assert client.get(admin_url(User, "")).status_code == 200


def test_employee_is_sent_to_the_admin_login(login, employee):
    client = login(employee)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
    response = client.get(admin_url(Department, ""))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/admin/"
