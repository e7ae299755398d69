"""Staff who may change users (an HR administrator) must not be able to grant privileges
they do not have, nor take over an administrator's account."""

from __future__ import annotations

import pytest

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
