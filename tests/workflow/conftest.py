"""Fixtures of the workflow tests: a clean graph cache, and test applications for service tasks."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from django.utils import translation

from workflow import participants
from workflow.applications import Application, ApplicationCall, applications
from workflow.engine import cache


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The engine speaks the user's language; these tests read its messages in English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_graph_cache() -> Iterator[None]:
    """Each test's database is rolled back, so a definition id comes back in the next test
    with other XML; the graph cached under it must go with it."""
    cache.clear()
    participants.forget_settings()
    yield
    cache.clear()
    participants.forget_settings()


Behaviour = Mapping[str, Any] | BaseException | Callable[[ApplicationCall], Any] | None


class RecordingApps:
    """Applications for service tasks: ``test.inline`` runs in the engine's transaction,
    ``test.job`` and ``test.send`` as service jobs. Each call is recorded; what a call does is
    set per name in ``behaviour`` (a result mapping, an exception to raise, or a function of
    the call; by default it returns nothing)."""

    NAMES = {"test.inline": True, "test.job": False, "test.send": False}

    def __init__(self) -> None:
        self.calls: list[tuple[str, ApplicationCall]] = []
        self.behaviour: dict[str, Behaviour] = {}

    def handler(self, name: str) -> Callable[[ApplicationCall], Any]:
        def handle(call: ApplicationCall) -> Any:
            self.calls.append((name, call))
            behaviour = self.behaviour.get(name)
            if isinstance(behaviour, BaseException):
                raise behaviour
            if callable(behaviour):
                return behaviour(call)
            return behaviour

        return handle

    def called(self, name: str) -> list[ApplicationCall]:
        return [call for called, call in self.calls if called == name]


@pytest.fixture
def apps() -> Iterator[RecordingApps]:
    test_apps = RecordingApps()
    for name, inline in RecordingApps.NAMES.items():
        applications.register(
            Application(name, name, test_apps.handler(name), extra_parameters=True, inline=inline)
        )
    yield test_apps
    for name in RecordingApps.NAMES:
        applications.unregister(name)
