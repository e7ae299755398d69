"""Fixtures of the security tests: a process administrator who may deploy, a marker file that
code execution would create, what /etc/passwd holds (which must never come back), and the
shared world of the permission matrix and CSRF tests (tests/security/world.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import transaction
from django.test import Client, override_settings
from django.utils import translation
from hypothesis import HealthCheck, settings

from portal.celery import app as celery_app
from portal.models import User
from tests.security.world import World, build_world
from workflow import participants
from workflow.engine import cache as graph_cache


def fuzz(max_examples: int) -> settings:
    """Hypothesis settings of a bounded run (the whole of tests/security stays under ~90 s on a
    2-core machine): the same examples on every run and in CI, so that a failure reproduces;
    no example database; the test's database transaction is shared by all its examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


MARKER = Path(tempfile.gettempdir()) / "bpmn-fuzz-code-executed"
PASSWD = Path("/etc/passwd")


def passwd_lines() -> list[str]:
    """Lines of /etc/passwd long enough not to appear by chance ("root:x:0:0:root:/root")."""
    try:
        text = PASSWD.read_text(errors="replace")
    except OSError:
        return []
    return [line for line in text.splitlines() if len(line) > 15]


def assert_no_leak(*texts: str) -> None:
    """No /etc/passwd content, and no marker file: nothing was read or run."""
    joined = "\n".join(texts)
    for line in passwd_lines()[:5]:
        assert line not in joined
    assert not MARKER.exists(), "an expression or entity ran code: the marker file exists"


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    MARKER.unlink(missing_ok=True)
    cache.clear()  # throttles
    graph_cache.clear()
    with translation.override("en"):
        yield
    graph_cache.clear()
    assert not MARKER.exists(), "code ran: the marker file exists"


def _with_permissions(user: User, *codenames: str) -> User:
    user.preferred_language = "en"
    user.save()
    for codename in codenames:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="workflow", codename=codename)
        )
    return User.objects.get(pk=user.pk)  # a fresh object: the permission cache


@pytest.fixture
def deployer(hr_admin: User) -> User:
    """A process administrator: may deploy (workflow.add_processdefinition), read the XML and
    manage processes."""
    return _with_permissions(
        hr_admin, "add_processdefinition", "view_processdefinition", "manage_processes"
    )


@pytest.fixture
def deployer_client(deployer: User) -> Client:
    client = Client()
    client.force_login(deployer, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


@pytest.fixture(autouse=True)
def _media_of_its_own() -> None:
    """Overrides the root fixture: the world's files stay in its module's media folder
    (``world``), which every test of the module reads."""


@pytest.fixture(scope="module")
def world(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The world of tests/security/world.py, built once per module in a transaction that is
    rolled back after the module's last test; each test's own transaction is a savepoint
    inside it, so what one test changes is gone for the next. Uploaded files go to a
    temporary media directory."""
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True  # no message leaves a transaction never committed
    outer = transaction.atomic()
    # as Django's TestCase marks its class-wide block: the services' durable blocks
    # (``atomic(durable=True)``) may then open inside it
    outer._from_testcase = True  # type: ignore[attr-defined]
    with django_db_blocker.unblock(), media, outer:
        graph_cache.clear()
        participants.forget_settings()
        try:
            yield build_world()
        finally:
            transaction.set_rollback(True)
            celery_app.conf.task_always_eager = eager
    graph_cache.clear()
    participants.forget_settings()
