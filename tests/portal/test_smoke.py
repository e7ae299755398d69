from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_dashboard_renders_for_employee(login, employee):
    response = login(employee).get("/")
    assert response.status_code == 200
    assert "张伟" in response.content.decode()


def test_portlets_render(login, employee):
    client = login(employee)
    for key in ("announcements", "profile"):
        response = client.get(f"/portlets/{key}/")
        assert response.status_code == 200, key
