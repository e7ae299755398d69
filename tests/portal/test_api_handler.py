"""portal/api.py in isolation: the error body of each kind of exception, and the settings
the API reads from the environment."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import translation
from rest_framework import exceptions

from portal.api import exception_handler
from portal.keyset import BadCursor, Cursor
from workflow.bpmn.model import Problem
from workflow.engine.runtime import AlreadyHandled, EngineError, ProcessError
from workflow.services.definitions import InvalidBpmn


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def _answer(exc: Exception) -> tuple[int, dict]:
    response = exception_handler(exc, {})
    assert response is not None
    return response.status_code, response.data


def test_nested_field_errors_are_flattened() -> None:
    status, body = _answer(
        exceptions.ValidationError(
            {
                "title": ["Too long."],
                "variables": {"amount": ["Not a number."]},
                "signers": [{}, {"name": ["Unknown."]}],
                "non_field_errors": ["Dates overlap."],
            }
        )
    )
    assert status == 400
    assert body == {
        "error": {
            "code": "invalid",
            "message": "Dates overlap.",
            "fields": {
                "title": ["Too long."],
                "variables.amount": ["Not a number."],
                "signers.1.name": ["Unknown."],
            },
        }
    }


def test_a_django_validation_error() -> None:
    status, body = _answer(
        ValidationError({"to": ["No active user ghost."], "__all__": ["Not now."]})
    )
    assert status == 400
    assert body["error"] == {
        "code": "invalid",
        "message": "Not now.",
        "fields": {"to": ["No active user ghost."]},
    }
    status, body = _answer(ValidationError("Just this."))
    assert (status, body["error"]["message"], body["error"]["fields"]) == (400, "Just this.", {})


def test_bpmn_problems() -> None:
    status, body = _answer(InvalidBpmn([Problem("Task_1", "no way out"), Problem("", "empty")]))
    assert status == 400
    assert body["error"]["code"] == "invalid_bpmn"
    assert body["error"]["problems"] == [
        {"element_id": "Task_1", "message": "no way out"},
        {"element_id": "", "message": "empty"},
    ]


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (AlreadyHandled("This task has already been handled."), 409, "already_handled"),
        (ProcessError("gw", "no flow matches"), 422, "process_error"),
        (EngineError("The process is suspended."), 409, "refused"),
        (Http404(), 404, "not_found"),
        (exceptions.NotAuthenticated(), 401, "not_authenticated"),
        (exceptions.Throttled(wait=12), 429, "throttled"),
    ],
)
def test_status_and_code(exc: Exception, status: int, code: str) -> None:
    answered, body = _answer(exc)
    assert (answered, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert "fields" not in body["error"]


def test_action_refused_is_a_conflict() -> None:
    from workflow.services.steps import ActionRefused

    status, body = _answer(ActionRefused("Only the initiator can cancel the request."))
    assert status == 409
    assert body["error"] == {
        "code": "action_refused",
        "message": "Only the initiator can cancel the request.",
    }


def test_a_throttled_answer_says_when_to_come_back() -> None:
    response = exception_handler(exceptions.Throttled(wait=12.4), {})
    assert response is not None
    assert response["Retry-After"] == "13"  # DRF rounds up: never too early


def test_anything_else_is_left_to_django() -> None:
    assert exception_handler(ValueError("bug"), {}) is None


def test_a_cursor_round_trips() -> None:
    at = datetime.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=datetime.UTC)
    cursor = Cursor(at, 1, 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ("bm90IGpzb24", "", "x"):  # "not json", empty, not base64 of a list
        with pytest.raises(BadCursor):
            Cursor.decode(bad)


def _start_up(**env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL"}}
    environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DEBUG="1",
        SQLITE_PATH=os.devnull,
        **env,
    )
    code = "import django; django.setup(); from django.conf import settings; "
    code += "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'])"
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_throttle_rates_come_from_the_environment() -> None:
    started = _start_up(API_THROTTLE_ANON="10/min", API_THROTTLE_USER="5000/hour")
    assert started.returncode == 0, started.stderr
    assert "'anon': '10/min', 'user': '5000/hour'" in started.stdout


def test_a_bad_rate_stops_start_up_naming_the_variable() -> None:
    started = _start_up(API_THROTTLE_USER="lots")
    assert started.returncode != 0
    assert "API_THROTTLE_USER='lots' is not a rate" in started.stderr
