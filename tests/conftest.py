"""Shared fixtures: the organization and the personas every view is tested as.

Personas (healthchecks' alice/bob/charlie habit, in a Chinese company):
- ``employee``   张伟, sales rep in 销售部 / 华东区, reports to ``dept_head``;
- ``dept_head``  李娜, head of 销售部;
- ``colleague``  王芳, another rep in the same sub-department;
- ``hr_admin``   赵敏, 人力资源部, staff with the HR role's organization permissions;
- ``outsider``   刘洋, 财务部, no relation to sales;
- ``superuser``  the administrator.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from pytest_django import Settings

from portal import registry
from portal.celery import app as celery_app
from portal.models import Department, User
from tests.factories import PASSWORD, UserFactory, department, role


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the translation catalogue when it is missing or older than its source, so that
    a plain ``pytest`` tests the Chinese UI as ``make test`` does (``*.mo`` is not committed)."""
    po = Path(settings.BASE_DIR) / "portal/locale/zh_Hans/LC_MESSAGES/django.po"
    mo = po.with_suffix(".mo")
    if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
        subprocess.run(["msgfmt", "--check", "-o", str(mo), str(po)], check=True)  # noqa: S603, S607


def pytest_report_header(config: pytest.Config) -> list[str]:
    database = settings.DATABASES["default"]
    broker = os.environ.get("CELERY_BROKER_URL") or "none (Celery eager)"
    return [
        f"database backend: {database['ENGINE'].rsplit('.', 1)[-1]}",
        f"celery broker: {broker}",
    ]


@pytest.fixture(autouse=True)
def _celery_eager(request: pytest.FixtureRequest) -> None:
    """Tasks run in-process unless a test is about the real broker (marker ``broker``)."""
    if request.node.get_closest_marker("broker") is None:
        celery_app.conf.task_always_eager = True
    else:
        celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _fresh_engine_caches() -> Iterator[None]:
    """Each test's database is rolled back, so a definition id comes back in the next test
    with other XML (and a process key with other settings): the graph and the settings cached
    under them must go with it, in every test package (the demo seeder, the portal's out-of-
    office tests and the e2e journeys deploy processes too)."""
    from workflow import participants
    from workflow.engine import cache

    cache.clear()
    participants.forget_settings()
    yield
    cache.clear()
    participants.forget_settings()


@pytest.fixture(autouse=True)
def _media_of_its_own(settings: Settings, tmp_path: Path) -> None:
    """Every test's files (attachments, signatures, held uploads) in a folder of its own,
    never in the developer's var/media."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Settings) -> None:
    """Personas are created with a password; the production hasher would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seed_without_knowledge() -> Iterator[None]:
    """``seed_demo`` without the knowledge base's part, for the tests of the organization's
    and the workflow's parts: its 80 articles cost each run about ten seconds, and
    tests/knowledge/test_demo.py runs it whole."""
    # and without the CRM's (150 customers and their pipeline; tests/crm/test_demo.py runs
    # it, and its quote approval is a process of its own)
    left_out = [registry.demo_seeders.get(key) for key in ("knowledge", "crm")]
    for seeder in left_out:
        if seeder is not None:
            registry.demo_seeders.unregister(seeder.key)
    yield
    for seeder in left_out:
        if seeder is not None:
            registry.demo_seeders.register(seeder)


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def org(db: None) -> dict[str, Department]:
    """A small company: 总经办 at the root, 销售部 with 华东区 below it, 财务部, 人力资源部."""
    root = department("HQ", "总经办")
    sales = department("SALES", "销售部", parent=root)
    east = department("SALES-E", "华东区", parent=sales)
    finance = department("FIN", "财务部", parent=root)
    hr = department("HR", "人力资源部", parent=root)
    return {"root": root, "sales": sales, "east": east, "finance": finance, "hr": hr}


@pytest.fixture
def dept_head(org: dict[str, Department]) -> User:
    user = UserFactory.create(
        username="lina", first_name="娜", last_name="李", department=org["sales"]
    )
    sales = org["sales"]
    sales.head = user
    sales.save()
    user.groups.add(role("dept_head", "部门负责人"))
    return user


@pytest.fixture
def employee(org: dict[str, Department], dept_head: User) -> User:
    return UserFactory.create(
        username="zhangwei",
        first_name="伟",
        last_name="张",
        department=org["east"],
        manager=dept_head,
        phone="13800000001",
    )


@pytest.fixture
def colleague(org: dict[str, Department], dept_head: User) -> User:
    return UserFactory.create(
        username="wangfang",
        first_name="芳",
        last_name="王",
        department=org["east"],
        manager=dept_head,
    )


@pytest.fixture
def outsider(org: dict[str, Department]) -> User:
    return UserFactory.create(
        username="liuyang", first_name="洋", last_name="刘", department=org["finance"]
    )


@pytest.fixture
def hr_admin(org: dict[str, Department]) -> User:
    hr_role = role(
        "hr_admin",
        "人事管理员",
        permissions=[
            "portal.view_user",
            "portal.change_user",
            "portal.add_user",
            "portal.view_department",
            "portal.change_department",
            "portal.add_department",
            "portal.view_delegationrule",
            "portal.add_delegationrule",
            "portal.change_delegationrule",
            "portal.view_announcement",
            "portal.add_announcement",
            "portal.change_announcement",
        ],
    )
    user = UserFactory.create(
        username="zhaomin", first_name="敏", last_name="赵", department=org["hr"], is_staff=True
    )
    user.groups.add(hr_role)
    return user


@pytest.fixture
def superuser(db: None) -> User:
    return UserFactory.create(
        username="admin",
        employee_no=None,
        is_staff=True,
        is_superuser=True,
        first_name="",
        last_name="",
    )


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """``login(user)`` signs the test client in as ``user`` and returns the client."""

    def _login(user: User) -> Client:
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


@pytest.fixture
def db_vendor(db: None) -> str:
    return connection.vendor
