"""Fixtures of the workflow tests: English messages, and test applications for service tasks
(the clean graph cache is every test's: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from django.utils import translation

from workflow.applications import Application, ApplicationCall, applications


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The engine speaks the user's language; these tests read its messages in English."""
    with translation.override("en"):
        yield


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
