"""Schemathesis against the API's own OpenAPI schema (``/api/schema/``): every operation, with
generated valid and invalid input, as a process administrator who may deploy, on the test
database. No answer may be a server error; each answer must match the schema.

Requests go through Django's test client (the schema's cases are serialized by schemathesis
and replayed): a crash raises in the test with its traceback, and a signed-in session needs no
CSRF token there, so that state-changing operations are exercised past authentication.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from django.contrib.auth.models import Permission
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from knowledge import services as kb_services
from knowledge.models import Article
from portal.models import User
from tests.security.conftest import assert_no_leak
from tests.workflow.engine_helpers import chain, definitions, process
from workflow.models import ProcessInstance, Task
from workflow.services import definitions as deploys
from workflow.services import engine

pytestmark = pytest.mark.django_db

EXAMPLES = 6  # per operation and generation mode: ~35 operations, about a minute on CI
RUN = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected, not minimized
    suppress_health_check=list(HealthCheck),
)
LEAVE = definitions(
    process(
        "leave",
        '<startEvent id="start"/><userTask id="approve" name="Approve" '
        'camunda:assignee="${initiator}"><extensionElements><camunda:formData>'
        '<camunda:formField id="days" type="long"/><camunda:formField id="reason" type="string"/>'
        '</camunda:formData></extensionElements></userTask><endEvent id="end"/>'
        + chain("start", "approve", "end"),
    )
)


def _text(header: str | bytes) -> str:
    """A header value as text (requests allows bytes; HTTP headers are Latin-1)."""
    return header if isinstance(header, str) else header.decode("latin-1")


def _send(client: Client, case: Any) -> tuple[Any, requests.PreparedRequest, float]:
    """Replay a schemathesis case through Django's test client."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("timeout", None)
    kwargs.pop("allow_redirects", None)
    prepared = requests.Request(
        method=kwargs["method"],
        url=kwargs["url"],
        headers=kwargs.get("headers"),
        params=kwargs.get("params"),
        cookies=kwargs.get("cookies"),
        json=kwargs.get("json"),
        data=kwargs.get("data"),
        files=kwargs.get("files"),
    ).prepare()
    path = prepared.path_url
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    headers = {
        k: _text(v)
        for k, v in prepared.headers.items()
        if k.lower() not in ("content-type", "content-length", "cookie", "host")
    }
    began = time.monotonic()
    response = client.generic(
        prepared.method or "GET",
        path,
        data=body,
        content_type=_text(prepared.headers.get("Content-Type", "")),
        headers=headers,
    )
    return response, prepared, time.monotonic() - began


def _as_schemathesis(response: Any, prepared: requests.PreparedRequest, elapsed: float) -> Any:
    headers: dict[str, list[str]] = {}
    for name, value in response.items():
        headers.setdefault(name.lower(), []).append(value)
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return schemathesis.Response(
        status_code=response.status_code,
        headers=headers,
        content=content,
        request=prepared,
        elapsed=elapsed,
        verify=True,
    )


@pytest.fixture
def api_client(deployer_client: Client, deployer: User) -> Client:
    """The deployer's session (who may also push external tasks), with a deployed process and
    a few running instances with open tasks, so that ids in paths can name something."""
    deployer.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="push_external_tasks")
    )
    deploys.definition_deploy(xml=LEAVE, deployed_by=deployer, source_name="leave.bpmn")
    for _ in range(3):
        engine.instance_start("leave", variables={}, initiator=deployer, title="fuzz")
    assert Task.objects.filter(state="open").exists()
    # 知识库: a space the deployer administers (so that writes get past who may), with a
    # published article of two versions
    deployer.user_permissions.add(
        Permission.objects.get(content_type__app_label="knowledge", codename="add_space")
    )
    kb_user = User.objects.get(pk=deployer.pk)  # a fresh object: the permission cache
    space = kb_services.space_create(by=kb_user, key="it", name="IT 服务台", visibility="public")
    article = kb_services.article_create(
        by=kb_user, space_id=space.pk, title="VPN 连接指南", body="先连接 VPN。", tags=["VPN"]
    )
    kb_services.article_publish(by=kb_user, article_id=article.pk)
    kb_services.article_save(by=kb_user, article_id=article.pk, title="VPN", body="第二版")
    return deployer_client


def _known_ids() -> dict[str, list[Any]]:
    return {
        "instance_id": list(ProcessInstance.objects.values_list("pk", flat=True)),
        "task_id": list(Task.objects.values_list("pk", flat=True)),
        "key": ["leave"],
        "article_id": list(Article.objects.values_list("pk", flat=True)),
        "space_key": ["it"],
        "number": [1, 2],
    }


def _aim(case: Any, choice: int) -> None:
    """Point a generated case at existing objects (and the deployed process) now and then: random
    ids only ever find 404."""
    known = _known_ids()
    for name in list(case.path_parameters or {}):
        if known.get(name):
            case.path_parameters[name] = known[name][choice % len(known[name])]
    if isinstance(case.body, dict) and "process_key" in case.body:
        case.body["process_key"] = "leave"


def _schema(client: Client) -> Any:
    answer = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 200
    raw = answer.json() if answer["Content-Type"].startswith("application/json") else None
    if raw is None:
        import yaml  # schemathesis depends on PyYAML

        raw = yaml.safe_load(answer.content)
    return schemathesis.openapi.from_dict(raw)


def _operations(schema: Any) -> list[Any]:
    found = []
    for result in schema.get_all_operations():
        found.append(result.ok())
    return found


def test_the_schema_loads_and_lists_every_operation(api_client: Client) -> None:
    operations = _operations(_schema(api_client))
    labels = {op.label for op in operations}
    assert "POST /api/v1/definitions/" in labels
    assert len(operations) >= 20


def _run_operation(
    client: Client,
    operation: Any,
    mode: GenerationMode,
    record: Callable[[str, str], None],
) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @RUN
    @given(case=strategy, aim=st.integers(min_value=-1, max_value=5))
    def exercise(case: Any, aim: int) -> None:
        if aim >= 0:
            _aim(case, aim)
        try:
            response, prepared, elapsed = _send(client, case)
        except Exception as error:  # the test client re-raises what the view raised: a 500
            record(operation.label, f"{type(error).__name__}: {error} <- {case.as_curl_command()}")
            return
        if response.status_code >= 500:
            record(operation.label, f"{response.status_code} <- {case.as_curl_command()}")
            return
        assert_no_leak(response.content.decode("utf-8", "replace"))
        checks: list[schemathesis.CheckFunction] = [not_a_server_error]
        if mode is GenerationMode.POSITIVE:
            checks += [status_code_conformance, response_schema_conformance]
        try:
            case.validate_response(_as_schemathesis(response, prepared, elapsed), checks=checks)
        except Exception as failure:
            record(operation.label, f"{str(failure)[:600]}")

    with contextlib.suppress(Unsatisfiable):  # nothing to negate (an operation without input)
        exercise()


def test_no_operation_answers_a_server_error(api_client: Client) -> None:
    """Every operation, valid and invalid input: no 5xx, and valid input answers as the schema
    says (status and body)."""
    schema = _schema(api_client)
    failures: dict[str, list[str]] = {}

    def record(label: str, message: str) -> None:
        failures.setdefault(label, []).append(message)

    for operation in _operations(schema):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(api_client, operation, mode, record)
    report = "\n".join(
        f"{label}:\n  " + "\n  ".join(sorted(set(m))[:3]) for label, m in failures.items()
    )
    assert not failures, report
