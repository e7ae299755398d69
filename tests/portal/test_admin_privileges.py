"""Staff who may change users (an HR administrator) must not be able to grant privileges
they do not have, nor take over an administrator's account."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from portal.models import Department, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_hr_admin_sees_privileges_read_only(login, hr_admin, employee):
    response = login(hr_admin).get(f"/admin/portal/user/{employee.pk}/change/")
    assert response.status_code == 200
    form_fields = response.context["adminform"].form.fields
    for name in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert name not in form_fields
    assert "department" in form_fields


def test_hr_admin_cannot_make_themself_superuser(login, hr_admin):
    client = login(hr_admin)
    page = client.get(f"/admin/portal/user/{hr_admin.pk}/change/")
    data = {
        key: value
        for key, value in page.context["adminform"].form.initial.items()
        if value is not None and not isinstance(value, list | tuple)
    }
    data.update(
        username=hr_admin.username,
        employee_no=hr_admin.employee_no,
        department=hr_admin.department_id,
        preferred_language="zh-hans",
        phone="13900000000",
        is_superuser="on",
        is_staff="on",
        last_login_0="",
        last_login_1="",
        date_joined_0="2026-01-01",
        date_joined_1="09:00:00",
    )
    response = client.post(f"/admin/portal/user/{hr_admin.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    hr_admin.refresh_from_db()
    assert hr_admin.phone == "13900000000"  # the form was accepted ...
    assert hr_admin.is_superuser is False  # ... without the privilege


def test_hr_admin_cannot_open_a_superuser_account(login, hr_admin, superuser):
    client = login(hr_admin)
    response = client.get(f"/admin/portal/user/{superuser.pk}/change/")
    assert response.status_code == 302  # admin's "does not exist" redirect
    listing = client.get("/admin/portal/user/")
    assert superuser.username not in [u.username for u in listing.context["cl"].result_list]


def test_superuser_may_grant_privileges(login, superuser, employee):
    response = login(superuser).get(f"/admin/portal/user/{employee.pk}/change/")
    assert "is_superuser" in response.context["adminform"].form.fields


# --- accounts that hold more than the HR administrator: read-only (issue 13, item 4) ----------


def _process_admin(org: dict[str, Department]) -> User:
    person = UserFactory.create(
        username="sunli", department=org["hq"] if "hq" in org else org["root"]
    )
    person.is_staff = True
    person.save()
    person.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="manage_processes")
    )
    return person


def test_hr_admin_cannot_reset_the_process_administrators_password(login, hr_admin, org):
    target = _process_admin(org)
    before = target.password
    client = login(hr_admin)
    page = client.get(f"/admin/portal/user/{target.pk}/change/")
    assert page.status_code == 200  # shown, read-only
    assert set(page.context["adminform"].form.fields) <= {"password"}  # declared, not shown
    assert "/password/" not in page.content.decode()
    assert client.get(f"/admin/portal/user/{target.pk}/password/").status_code == 403
    answer = client.post(
        f"/admin/portal/user/{target.pk}/password/",
        {"password1": "Takeover-2026!x", "password2": "Takeover-2026!x"},
    )
    assert answer.status_code == 403
    edit = client.post(
        f"/admin/portal/user/{target.pk}/change/",
        {"username": target.username, "is_active": ""},
    )
    assert edit.status_code == 403
    target.refresh_from_db()
    assert target.password == before and target.is_active
    deleted = client.post(f"/admin/portal/user/{target.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403


def test_hr_admin_cannot_edit_someone_with_a_role_they_do_not_hold(login, hr_admin, dept_head):
    client = login(hr_admin)
    page = client.get(f"/admin/portal/user/{dept_head.pk}/change/")
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) <= {"password"}  # declared, not shown
    assert client.get(f"/admin/portal/user/{dept_head.pk}/password/").status_code == 403


def test_hr_admin_cannot_bulk_deactivate_or_delete_them(login, hr_admin, org, employee):
    from portal.models import User

    target = _process_admin(org)
    client = login(hr_admin)
    answer = client.post(
        "/admin/portal/user/",
        {"action": "delete_selected", "_selected_action": [target.pk, employee.pk], "post": "yes"},
    )
    # the confirmation page says which accounts one may not delete, and deletes nothing
    assert answer.status_code in (200, 403)
    assert User.objects.filter(pk__in=[target.pk, employee.pk]).count() == 2


def test_hr_admin_still_edits_an_ordinary_employee(login, hr_admin, employee):
    client = login(hr_admin)
    assert client.get(f"/admin/portal/user/{employee.pk}/password/").status_code == 200
    answer = client.post(
        f"/admin/portal/user/{employee.pk}/password/",
        {"password1": "Reset-by-HR-2026!", "password2": "Reset-by-HR-2026!"},
    )
    assert answer.status_code == 302
    employee.refresh_from_db()
    assert employee.check_password("Reset-by-HR-2026!")


def test_holds_more_than(org, hr_admin, employee, dept_head, superuser):
    from portal.selectors import holds_more_than

    assert not holds_more_than(employee, hr_admin)
    assert holds_more_than(dept_head, hr_admin)  # the department heads' role
    assert holds_more_than(_process_admin(org), hr_admin)  # a permission HR lacks
    assert holds_more_than(hr_admin, employee)  # staff and a role
    assert holds_more_than(superuser, hr_admin)
    assert not holds_more_than(hr_admin, superuser)
    assert not holds_more_than(hr_admin, hr_admin)


def test_the_read_only_page_says_why(login, hr_admin, dept_head):
    hr_admin.preferred_language = "en"
    hr_admin.save(update_fields=["preferred_language"])
    page = login(hr_admin).get(f"/admin/portal/user/{dept_head.pk}/change/")
    shown = [str(m) for m in page.context["messages"]]
    assert any("read-only to you" in m and "superuser" in m for m in shown), shown
    ordinary = login(hr_admin).get(f"/admin/portal/user/{hr_admin.pk}/change/")
    assert not any("read-only" in str(m) for m in ordinary.context["messages"])
