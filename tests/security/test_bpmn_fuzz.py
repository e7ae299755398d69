"""Bad BPMN files: every one is refused with a clear problem, never a crash, a 500 or code run.

Each hand-written case goes through the three doors a file comes in by: the validator
(``parse_and_validate``), the deploy service (``definition_deploy``) and the REST API
(``POST /api/v1/definitions/``, as JSON text and as an uploaded file). Hypothesis then mutates
generated processes and the real files of ``shared/bpmn`` (bytes and elements): the only
outcomes allowed are success and :class:`BpmnError`. Neither /etc/passwd nor a marker file that
an executed expression would create may ever show up.
"""

from __future__ import annotations

import ast
import copy
import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

import workflow.bpmn.expressions as expressions_module
from tests.security.conftest import MARKER, assert_no_leak, fuzz
from tests.shared_files import shared_path
from tests.workflow.engine_helpers import chain, definitions, flow, process, timer
from workflow.bpmn.expressions import ExpressionError, compile_expression
from workflow.bpmn.model import BpmnError
from workflow.bpmn.validate import parse_and_validate
from workflow.engine.runtime import EngineError
from workflow.models import ProcessDefinition, ProcessInstance
from workflow.services import definitions as deploys
from workflow.services import engine

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
API = "/api/v1/definitions/"
LIMIT = 5_000_000  # bytes: parse_bpmn's and the API's limit


def _ok(body: str, key: str = "p") -> str:
    return definitions(process(key, body))


def _line(*inside: str) -> str:
    """start -> the elements given (ids a0, a1 ...) -> end, as a process body."""
    ids = [f"a{i}" for i in range(len(inside))]
    nodes = "".join(node.replace("ID", f"a{i}", 1) for i, node in enumerate(inside))
    return '<startEvent id="s"/>' + nodes + '<endEvent id="e"/>' + chain("s", *ids, "e")


VALID = _ok(_line('<userTask id="ID" name="Approve" camunda:assignee="${initiator}"/>'))
RUN_CODE = f"__import__('os').system('touch {MARKER}')"


def _gateway(condition: str) -> str:
    """An exclusive gateway whose first way has ``condition`` (the second is the default)."""
    return _ok(
        '<startEvent id="s"/><exclusiveGateway id="g" default="g-e2"/><endEvent id="e1"/>'
        '<endEvent id="e2"/>' + chain("s", "g") + flow("g", "e1", condition) + flow("g", "e2")
    )


def _timer_event(kind: str, value: str) -> str:
    return _ok(
        _line(f'<intermediateCatchEvent id="ID">{timer(kind, value)}</intermediateCatchEvent>')
    )


def _nested(depth: int, tag: str = "subProcess") -> str:
    opened = "".join(f'<{tag} id="n{i}">' for i in range(depth))
    return _ok('<startEvent id="s"/>' + opened + f"</{tag}>" * depth)


# name -> (file, a word of the expected problem, or None where the file is refused for reasons
# that depend on the case's details)
REFUSED: dict[str, tuple[str | bytes, str | None]] = {
    # malformed XML
    "empty": (b"", "empty"),
    "blank": (b"  \n\t ", "empty"),
    "bom only": (b"\xef\xbb\xbf", "well-formed"),
    "truncated": (VALID.encode()[: len(VALID) // 2], "well-formed"),
    "binary garbage": (bytes(range(256)) * 8, "well-formed"),
    "nul bytes": (b"\x00" * 64, "well-formed"),
    "not xml": (b"this is not xml", "well-formed"),
    "latin-1 bytes declared utf-8": (
        VALID.replace('name="Approve"', 'name="caf\xe9"').encode("latin-1"),
        "well-formed",
    ),
    "utf-16 declared, utf-8 bytes": (VALID.replace("UTF-8", "UTF-16").encode(), "encoding"),
    "unknown encoding": (VALID.replace("UTF-8", "x-no-such-encoding").encode(), "encoding"),
    "gbk (multi-byte) encoding": (
        VALID.replace("UTF-8", "GBK").replace("Approve", "审批").encode("gbk"),
        "UTF-8",
    ),
    "base64 as encoding": (VALID.replace("UTF-8", "base64").encode(), "encoding"),
    "lone surrogate in text": (VALID.replace("Approve", "\ud800"), "surrogate"),
    "html root": (b"<html><body>hi</body></html>", "not a BPMN 2.0 file"),
    "svg root": (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "not a BPMN 2.0 file"),
    "wrong BPMN namespace": (VALID.replace(BPMN_NS, BPMN_NS + "-X"), "not a BPMN 2.0 file"),
    "BPMN 1.x namespace": (
        VALID.replace(BPMN_NS, "http://schema.omg.org/spec/BPMN/2.0"),
        "not a BPMN 2.0 file",
    ),
    "no namespace": (b'<definitions id="d"><process id="p"/></definitions>', "namespace"),
    # entity expansion and external entities
    "billion laughs": (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
            for i in range(1, 10)
        )
        + f']><definitions xmlns="{BPMN_NS}"><process id="p" name="&lol9;"/></definitions>',
        "DTD",
    ),
    "quadratic blowup": (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "{"x" * 50_000}">]>'
        f'<definitions xmlns="{BPMN_NS}"><process id="p" name="{"&a;" * 2_000}"/></definitions>',
        "DTD",
    ),
    "xxe file": (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        f'<definitions xmlns="{BPMN_NS}"><process id="p" name="&e;"/></definitions>',
        "refused",
    ),
    "xxe parameter entity": (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
        f'<definitions xmlns="{BPMN_NS}"/>',
        "refused",
    ),
    "external dtd": (
        '<?xml version="1.0"?><!DOCTYPE definitions SYSTEM "http://198.51.100.1/x.dtd">'
        f'<definitions xmlns="{BPMN_NS}"/>',
        "refused",
    ),
    "public dtd": (
        '<?xml version="1.0"?><!DOCTYPE definitions PUBLIC "-//X//Y" "file:///etc/passwd">'
        f'<definitions xmlns="{BPMN_NS}"/>',
        "refused",
    ),
    "internal entity only": (
        VALID.replace('<?xml version="1.0" encoding="UTF-8"?>', '<!DOCTYPE d [<!ENTITY n "x">]>'),
        "DTD",
    ),
    # size and depth
    "over the size limit": (
        VALID.replace("<process", "<!--" + "x" * (LIMIT * 2) + "--><process"),
        "bytes",
    ),
    "10k nested sub-processes": (_nested(10_000), "nested"),
    "10k nested unknown elements": (_nested(10_000, "foo"), "nested"),
    "10k nested vendor elements": (
        VALID.replace(
            "</process>", "<x:a xmlns:x='urn:x'>" * 10_000 + "</x:a>" * 10_000 + "</process>"
        ),
        "nested",
    ),
    # broken expressions
    "condition ${": (_gateway("${"), "condition"),
    "condition __import__": (_gateway("${" + RUN_CODE + "}"), "__import__"),
    "condition bare __import__": (_gateway(RUN_CODE), "__import__"),
    "condition dunder attribute": (_gateway("${a.__class__}"), "__class__"),
    "condition dunder mro walk": (
        _gateway("${''.__class__.__mro__[1].__subclasses__()}"),
        "not allowed",
    ),
    "condition method call": (_gateway("${execution.getVariable('x')}"), "method"),
    "condition lambda": (_gateway("${(lambda: 1)()}"), "condition"),
    "condition exponent bomb": (_gateway("${9**9**9**9}"), "exponent"),
    "condition too long": (_gateway("${" + "1+" * 2_000 + "1}"), "too long"),
    "condition too deep": (_gateway("${" + "(" * 100 + "1" + ")" * 100 + "}"), "condition"),
    "assignee __import__": (
        _ok(_line(f'<userTask id="ID" camunda:assignee="${{{RUN_CODE}}}"/>')),
        "assignee",
    ),
    "assignee dunder": (
        _ok(_line('<userTask id="ID" camunda:assignee="${a.__class__}"/>')),
        "assignee",
    ),
    "candidate users broken": (
        _ok(_line('<userTask id="ID" camunda:candidateUsers="${a b}"/>')),
        "candidateUsers",
    ),
    "candidate groups dunder": (
        _ok(_line('<userTask id="ID" camunda:candidateGroups="${__builtins__}"/>')),
        "candidateGroups",
    ),
    "due date expression": (
        _ok(_line('<userTask id="ID" camunda:dueDate="${open(}"/>')),
        "dueDate",
    ),
    "due date not a date": (
        _ok(_line('<userTask id="ID" camunda:dueDate="tomorrow"/>')),
        "dueDate",
    ),
    "due date year 10000": (
        _ok(_line('<userTask id="ID" camunda:dueDate="9999-12-31T23:59:59-14:00"/>')),
        "out of range",
    ),
    "due date idiom overflow": (
        _ok(
            _line(
                '<userTask id="ID" '
                'camunda:dueDate="${dateTime().plusYears(99999999999999999999).toDate()}"/>'
            )
        ),
        "dueDate",
    ),
    "priority expression": (
        _ok(_line('<userTask id="ID" camunda:priority="${1 +}"/>')),
        "priority",
    ),
    "timer expression": (_timer_event("timeDuration", "${__import__('os')}"), "timer"),
    "timer not iso": (_timer_event("timeDuration", "two hours"), "ISO-8601"),
    "timer cron": (_timer_event("timeCycle", "0 0 9 * * ?"), "cron"),
    "timer date year 0": (_timer_event("timeDate", "0000-01-01T00:00:00Z"), "ISO-8601"),
    "timer date overflows": (_timer_event("timeDate", "9999-12-31T23:59:59-14:00"), "out of range"),
    "timer duration overflows": (_timer_event("timeDuration", "P9999Y"), "out of range"),
    "timer huge duration": (_timer_event("timeDuration", "PT99999999999999999999H"), "too long"),
    "timer cycle overflows": (_timer_event("timeCycle", "R/P99999999999Y"), "out of range"),
    "start timer overflows": (
        _ok(
            f'<startEvent id="s">{timer("timeDate", "0001-01-01T00:00:00+14:00")}</startEvent>'
            '<endEvent id="e"/>' + chain("s", "e")
        ),
        "out of range",
    ),
    "remind before overflows": (
        _ok(
            _line(
                '<userTask id="ID"><extensionElements><camunda:properties>'
                '<camunda:property name="remindBefore" value="P99999Y"/>'
                "</camunda:properties></extensionElements></userTask>"
            )
        ),
        "remindBefore",
    ),
    "multi-instance collection broken": (
        _ok(
            _line(
                '<userTask id="ID"><multiInstanceLoopCharacteristics camunda:collection="${[}"/>'
                "</userTask>"
            )
        ),
        "collection",
    ),
    "script task": (
        _ok(
            _line(
                '<scriptTask id="ID" scriptFormat="python"><script>import os</script></scriptTask>'
            )
        ),
        "script",
    ),
    "java listener": (
        _ok(
            _line(
                '<userTask id="ID"><extensionElements><camunda:executionListener '
                'class="java.lang.Runtime" event="start"/></extensionElements></userTask>'
            )
        ),
        "listener",
    ),
    "service task class": (
        _ok(_line('<serviceTask id="ID" camunda:class="java.lang.Runtime"/>')),
        "registered",
    ),
    # structure
    "duplicate ids": (
        _ok('<startEvent id="s"/><userTask id="s"/><endEvent id="e"/>' + chain("s", "e")),
        "more than one element",
    ),
    "duplicate process ids": (
        definitions(process("p", _line("<task id='ID'/>")), process("p", _line("<task id='ID'/>"))),
        "more than one element",
    ),
    "dangling sourceRef": (
        _ok(_line("<task id='ID'/>") + '<sequenceFlow id="f9" sourceRef="ghost" targetRef="e"/>'),
        "names no element",
    ),
    "dangling targetRef": (
        _ok(_line("<task id='ID'/>") + '<sequenceFlow id="f9" sourceRef="s" targetRef=""/>'),
        "names no element",
    ),
    "flow without refs": (_ok(_line("<task id='ID'/>") + '<sequenceFlow id="f9"/>'), None),
    "boundary on nothing": (
        _ok(_line("<task id='ID'/>") + '<boundaryEvent id="b" attachedToRef="ghost"/>'),
        "attachedToRef",
    ),
    "default flow elsewhere": (
        _ok(
            '<startEvent id="s"/><exclusiveGateway id="g" default="s-g"/><endEvent id="e"/>'
            + chain("s", "g", "e")
        ),
        "default flow",
    ),
    "unknown BPMN element in the flow": (
        _ok('<startEvent id="s"/><fooTask id="x"/><endEvent id="e"/>' + chain("s", "x", "e")),
        "not a flow node",
    ),
    "call activity to nothing": (
        _ok(_line('<callActivity id="ID" calledElement="ghost"/>')),
        "calledElement",
    ),
    "no start event": (
        _ok('<userTask id="u"/><endEvent id="e"/>' + chain("u", "e")),
        "no start event",
    ),
    "no executable process": (
        definitions(process("p", _line("<task id='ID'/>"), executable="false")),
        "executable",
    ),
    "no process at all": (definitions(""), "executable"),
    "process without id": (
        definitions("<process isExecutable='true'>" + _line("<task id='ID'/>") + "</process>"),
        "no id",
    ),
    "process id with a slash": (_ok(_line("<task id='ID'/>"), key="a/b"), "process key"),
    "process id with markup": (_ok(_line("<task id='ID'/>"), key="&lt;script&gt;"), "process key"),
    "process id 300 characters": (_ok(_line("<task id='ID'/>"), key="p" * 300), "process key"),
    "process name 300 characters": (
        _ok(_line("<task id='ID'/>")).replace(
            '<process id="p"', f'<process id="p" name="{"n" * 300}"'
        ),
        "name",
    ),
    "history time to live 100 characters": (
        _ok(_line("<task id='ID'/>")).replace(
            '<process id="p"', f'<process id="p" camunda:historyTimeToLive="P{"9" * 99}D"'
        ),
        "historyTimeToLive",
    ),
    "history time to live overflows": (
        _ok(_line("<task id='ID'/>")).replace(
            '<process id="p"', '<process id="p" camunda:historyTimeToLive="P99999Y"'
        ),
        "historyTimeToLive",
    ),
    "diagram bounds not numbers": (
        VALID.replace(
            "</definitions>",
            '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
            'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane bpmnElement="p">'
            '<bpmndi:BPMNShape bpmnElement="s"><dc:Bounds x="left" y="0" width="1" height="1"/>'
            "</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>",
        ),
        "not numbers",
    ),
}

# Files that are odd but harmless: each may deploy (an unknown element is ignored, a missing
# diagram is drawn by the engine) or be refused, never crash.
TOLERATED: dict[str, str | bytes] = {
    "missing DI": VALID,
    "unknown elements and attributes": VALID.replace(
        '<userTask id="a0"',
        '<x:widget xmlns:x="urn:x" x:evil="${__import__(\'os\')}"/><userTask x:foo="1" '
        'xmlns:x="urn:x" id="a0"',
    ),
    "unknown vendor extension": VALID.replace(
        'name="Approve"',
        'name="Approve"><extensionElements><camunda:unknownThing a="b"/></extensionElements>'
        '</userTask><userTask id="zz" name="x"',
    ).replace("</process>", chain("zz", "e") + "</process>"),
    "xinclude": VALID.replace(
        "</process>",
        '<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
        'parse="text"/></process>',
    ),
    "stylesheet processing instruction": VALID.replace(
        "<definitions", '<?xml-stylesheet href="file:///etc/passwd"?><definitions', 1
    ),
    "cdata and comments": VALID.replace(
        'name="Approve"/>',
        'name="Approve"><documentation><![CDATA[<script>]]></documentation><!-- x --></userTask>',
    ),
    "diagram with nan and inf": VALID.replace(
        "</definitions>",
        '<bpmndi:BPMNDiagram xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"><bpmndi:BPMNPlane bpmnElement="p">'
        '<bpmndi:BPMNShape bpmnElement="s"><dc:Bounds x="nan" y="inf" width="1e400" height="-1"/>'
        "</bpmndi:BPMNShape></bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>",
    ),
    "reachable cycle": _ok(_line("<userTask id='ID'/>") + flow("a0", "a0")),
    "unreachable cycle": _ok(
        _line("<task id='ID'/>") + "<task id='x'/><task id='y'/>" + chain("x", "y", "x")
    ),
    "boundary event attached to itself": _ok(
        _line("<task id='ID'/>") + '<boundaryEvent id="b" attachedToRef="b"/>' + chain("b", "e")
    ),
    "190 nested sub-processes": _ok(
        '<startEvent id="s"/>'
        + "".join(f'<subProcess id="n{i}"><startEvent id="ns{i}"/>' for i in range(190))
        + "</subProcess>" * 190
    ),
    "text with a foreign encoding declaration": VALID.replace("UTF-8", "ISO-8859-1"),
    "unknown function in a condition": _gateway("${open('/etc/passwd')}"),
}


# refused by the deploy service only: the validator judges the executable processes there are
DEPLOY_ONLY = {"no executable process", "no process at all"}


def _check_problems(error: BpmnError, expected: str | None = None) -> list[str]:
    """Problems that explain themselves: each has a message; together they name ``expected``."""
    problems = [str(problem) for problem in error.problems]
    assert problems, "a BpmnError without problems"
    assert all(p.message.strip() for p in error.problems)
    if expected is not None:
        assert any(expected.lower() in p.lower() for p in problems), problems
    assert_no_leak(*problems)
    return problems


def _stored_xml() -> str:
    return "\n".join(ProcessDefinition.objects.values_list("xml", flat=True))


# --- the validator -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(REFUSED))
def test_the_validator_refuses_with_a_clear_problem(name: str) -> None:
    data, expected = REFUSED[name]
    began = time.monotonic()
    try:
        parse_and_validate(data, applications=["erp.reserve_budget"])
    except BpmnError as error:
        _check_problems(error, expected)
    else:
        assert name in DEPLOY_ONLY, "the file was accepted"
    assert time.monotonic() - began < 5, "refusing a bad file must be quick"


@pytest.mark.parametrize("name", list(TOLERATED))
def test_the_validator_reads_odd_but_harmless_files(name: str) -> None:
    try:
        parse_and_validate(TOLERATED[name])
    except BpmnError as error:
        _check_problems(error)


def test_a_file_just_under_the_limit_is_read_in_reasonable_time() -> None:
    """A ~4.9 MB file of 4,000 steps: no crash, read and judged in a few seconds."""
    steps = "".join(
        f'<userTask id="t{i}" name="Step {i} {"文" * 300}" camunda:assignee="${{initiator}}"/>'
        for i in range(4_000)
    )
    ids = [f"t{i}" for i in range(4_000)]
    body = '<startEvent id="s"/>' + steps + '<endEvent id="e"/>' + chain("s", *ids, "e")
    xml = _ok(body)
    padding = LIMIT - 50_000 - len(xml.encode())
    assert padding > 0
    xml = xml.replace("</definitions>", "<!--" + "x" * padding + "--></definitions>")
    assert LIMIT - 100_000 < len(xml.encode()) < LIMIT
    began = time.monotonic()
    parsed = parse_and_validate(xml)
    assert len(parsed.processes["p"].elements) == 4_002
    assert time.monotonic() - began < 20


# --- the deploy service and the API ------------------------------------------------------------


def _deploy_refused(data: str | bytes, expected: str | None) -> None:
    before = ProcessDefinition.objects.count()
    xml: str | bytes = data
    with pytest.raises(BpmnError) as caught:
        deploys.definition_deploy(xml=xml, source_name="fuzz.bpmn")
    _check_problems(caught.value, expected)
    assert ProcessDefinition.objects.count() == before


def _api_answer(client: Client, data: str | bytes, *, as_file: bool) -> Any:
    if as_file:
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass")
        upload = SimpleUploadedFile("fuzz.bpmn", raw, content_type="application/xml")
        return client.post(API, {"file": upload})
    text = data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")
    # json.dumps writes a lone surrogate as "\\udXXX", as a hostile client would
    return client.post(API, json.dumps({"xml": text}), content_type="application/json")


def _api_refused(client: Client, data: str | bytes, expected: str | None, *, as_file: bool) -> None:
    before = ProcessDefinition.objects.count()
    answer = _api_answer(client, data, as_file=as_file)
    assert answer.status_code == 400, answer.content[:500]
    error = answer.json()["error"]
    assert error["message"]
    if error["code"] == "invalid_bpmn":
        problems = [f"{p['element_id'] or '<file>'}: {p['message']}" for p in error["problems"]]
        assert problems and all(p["message"] for p in error["problems"])
        if expected is not None:
            assert any(expected.lower() in p.lower() for p in problems), problems
    else:  # the input itself is refused before it is read as BPMN (too large, not Unicode)
        assert error["code"] == "invalid", error
        assert error["fields"]
    assert_no_leak(answer.content.decode("utf-8", "replace"))
    assert ProcessDefinition.objects.count() == before


# The API runs a representative half of the cases: all as uploaded files; those written as text
# also as JSON (a JSON text is already decoded: its encoding declaration no longer applies).
_API_NAMES = [
    name for i, name in enumerate(REFUSED) if i % 2 == 0 or "xxe" in name or "surrogate" in name
]
API_CASES = [
    pytest.param(name, as_file, id=f"{name}-{'upload' if as_file else 'json'}")
    for name in _API_NAMES
    for as_file in (True, False)
    if as_file or isinstance(REFUSED[name][0], str)
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(REFUSED))
def test_deploy_refuses_and_stores_nothing(name: str) -> None:
    data, expected = REFUSED[name]
    _deploy_refused(data, expected)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "as_file"), API_CASES)
def test_the_api_refuses_with_400(deployer_client: Client, name: str, as_file: bool) -> None:
    data, expected = REFUSED[name]
    if "surrogate" in name and as_file:
        expected = None  # as UTF-8 bytes (surrogatepass) it is simply not well-formed
    _api_refused(deployer_client, data, expected, as_file=as_file)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(TOLERATED))
def test_odd_files_deploy_or_are_refused_through_the_api(
    deployer_client: Client, name: str
) -> None:
    answer = _api_answer(deployer_client, TOLERATED[name], as_file=True)
    assert answer.status_code in (200, 201, 400), answer.content[:500]
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] == "invalid_bpmn"
    assert_no_leak(answer.content.decode(), _stored_xml())


@pytest.mark.django_db
def test_xinclude_and_entities_are_stored_verbatim_never_resolved(deployer_client: Client) -> None:
    answer = _api_answer(deployer_client, TOLERATED["xinclude"], as_file=False)
    assert answer.status_code == 201, answer.content
    stored = _stored_xml()
    assert "xi:include" in stored
    assert_no_leak(stored)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data",
    [
        pytest.param(VALID.replace("UTF-8", "UTF-16").encode("utf-16"), id="UTF-16 with BOM"),
        pytest.param(VALID.replace("UTF-8", "UTF-16").encode("utf-16-le"), id="UTF-16 no BOM"),
        pytest.param(VALID.encode("utf-8-sig"), id="UTF-8 with BOM"),
        pytest.param(
            VALID.replace("UTF-8", "ISO-8859-1")
            .replace("Approve", "Genehmigung für Zoë")
            .encode("latin-1"),
            id="ISO-8859-1",
        ),
    ],
)
def test_a_file_in_another_readable_encoding_is_stored_as_readable_xml(data: bytes) -> None:
    """Stored as the text the file holds (decoded as it declares), so the engine reads it
    back and PostgreSQL takes it."""
    deploys.definition_deploy(xml=data)
    stored = ProcessDefinition.objects.get().xml
    name = parse_and_validate(stored).processes["p"].elements["a0"].name
    assert name in ("Approve", "Genehmigung für Zoë")


@pytest.mark.django_db
def test_an_unknown_function_deploys_but_never_runs(deployer_client: Client) -> None:
    """The deploy service does not pass the registered functions to the validator, so a call
    of an unknown function is accepted at deploy; at run time it is an error, never a call."""
    deploys.definition_deploy(xml=TOLERATED["unknown function in a condition"])
    with pytest.raises(EngineError) as caught:
        engine.instance_start("p", variables={}, initiator="alice")
    assert "open" in str(caught.value)
    assert_no_leak(str(caught.value))
    assert ProcessInstance.objects.count() == 0


@pytest.mark.django_db
def test_a_file_over_the_limit_is_refused_through_the_api(deployer_client: Client) -> None:
    big = VALID.replace("</definitions>", "<!--" + "x" * (10 * 1024 * 1024) + "--></definitions>")
    answer = _api_answer(deployer_client, big, as_file=True)
    assert answer.status_code == 400
    fields = answer.json()["error"]["fields"]
    assert any("5 MB" in message for messages in fields.values() for message in messages)
    # as JSON, Django refuses a body over DATA_UPLOAD_MAX_MEMORY_SIZE (8 MB) before the view;
    # the API answers with its own error body
    answer = _api_answer(deployer_client, big, as_file=False)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"
    assert ProcessDefinition.objects.count() == 0


@pytest.mark.django_db
def test_a_3_mb_file_deploys_as_json(deployer_client: Client) -> None:
    padded = VALID.replace("</definitions>", "<!--" + "x" * 3_000_000 + "--></definitions>")
    answer = _api_answer(deployer_client, padded, as_file=False)
    assert answer.status_code == 201, answer.content[:300]


# --- the expression evaluator ------------------------------------------------------------------


def test_the_evaluator_has_no_way_to_run_python() -> None:
    """No eval/exec/compile/getattr/__import__/attrgetter anywhere in the module: expressions are
    closures over a tree, and values are read by key or index only."""
    tree = ast.parse(Path(expressions_module.__file__).read_text())
    forbidden = {"eval", "exec", "compile", "getattr", "__import__", "attrgetter", "methodcaller"}
    called = {
        node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
    }
    assert not called & forbidden
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"os", "subprocess", "builtins", "importlib", "sys"}


@pytest.mark.parametrize(
    "text",
    [
        "${__import__('os')}",
        "${a.__class__}",
        "${a['__class__']}",  # a key of a mapping: allowed to compile, read only from the mapping
        "${open('/etc/passwd')}",
        "${x.system('id')}",
        "${(1).__class__}",
        "${''.join}",
        "${[].append(1)}",
        "${getattr(a, 'b')}",
    ],
)
def test_hostile_expressions_never_reach_python(text: str) -> None:
    try:
        expression = compile_expression(text)
    except ExpressionError:
        return
    # only the functions passed may be called (none here), and values are read by key only
    with pytest.raises(ExpressionError):
        expression.evaluate({"a": {"b": 1}, "x": "text"})
    if "__class__" in text:
        assert expression.evaluate({"a": {"__class__": "a key"}}) == "a key"


_EXPRESSION_PIECES = st.sampled_from(
    [
        "${",
        "#{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ".",
        ",",
        "'",
        '"',
        "\\",
        "a",
        "b",
        "__class__",
        "__import__",
        "open",
        "os",
        "1",
        "1e999",
        "99999999999999999999",
        "0",
        "+",
        "-",
        "*",
        "/",
        "%",
        "**",
        "//",
        "==",
        "<",
        "&&",
        "||",
        "!",
        "?",
        ":",
        "empty",
        "not",
        "in",
        "div",
        "true",
        "null",
        " ",
        "\u0000",
        "\ud800",
        "名",
        "lambda",
        "x",
        "=",
    ]
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)


@fuzz(300)
@given(
    pieces=st.lists(_EXPRESSION_PIECES, max_size=30),
    variables=st.dictionaries(st.sampled_from(["a", "b", "x", "os"]), _VALUES, max_size=4),
)
def test_any_expression_text_compiles_or_is_refused_and_evaluates_or_errs(
    pieces: list[str], variables: dict[str, Any]
) -> None:
    text = "".join(pieces)
    try:
        expression = compile_expression(text)
    except ExpressionError as error:
        assert str(error)
        return
    try:
        expression.evaluate(variables, {})
    except ExpressionError as error:
        assert str(error)
    assert not MARKER.exists()


# --- mutations ---------------------------------------------------------------------------------


@pytest.fixture
def shared_bpmn_files() -> list[Path]:
    """The shared processes and the MIWG reference files (the test fails without them)."""
    folder = shared_path("bpmn")
    return sorted([*folder.glob("*.bpmn"), *folder.glob("miwg/*.bpmn")])


NASTY = [
    "",
    " ",
    "${",
    "${" + RUN_CODE + "}",
    "${a.__class__}",
    "${open('/etc/passwd')}",
    "<script>alert(1)</script>",
    "\u202e\u0000",
    "ghost",
    "P9999Y",
    "9999-12-31T23:59:59-14:00",
    "R/PT0S",
    "-1",
    "nan",
    "1e400",
    "x" * 300,
    "a/b",
    "true",
]


def _outcome(data: bytes | str, deploy: Callable[[bytes | str], object] | None = None) -> None:
    """Success or a BpmnError with problems: nothing else, nothing leaked."""
    try:
        parse_and_validate(data, applications=["erp.reserve_budget"])
    except BpmnError as error:
        _check_problems(error)
    if deploy is not None:
        try:
            deploy(data)
        except BpmnError as error:
            _check_problems(error)
        assert_no_leak(_stored_xml())


@fuzz(60)
@given(data=st.data())
def test_byte_mutations_of_the_shared_files(
    shared_bpmn_files: list[Path], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(shared_bpmn_files), label="file")
    raw = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        at = data.draw(st.integers(0, len(raw)), label="at")
        kind = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]), label="kind")
        if kind == "flip" and at < len(raw):
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "delete":
            del raw[at : at + data.draw(st.integers(1, 64))]
        elif kind == "insert":
            chunk = data.draw(
                st.sampled_from(
                    [b"<", b">", b"&", b'"', b"&lol;", b"<!DOCTYPE x>", b"\xff\xfe", b"]]>"]
                )
                | st.binary(max_size=16)
            )
            raw[at:at] = chunk
        else:
            del raw[at:]
    _outcome(bytes(raw))


def _mutate_tree(root: ET.Element, data: st.DataObject) -> None:
    nodes = list(root.iter())
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        node = data.draw(st.sampled_from(nodes), label="node")
        kind = data.draw(
            st.sampled_from(
                ["attribute", "remove", "duplicate", "nest", "rename", "text", "unknown"]
            ),
            label="kind",
        )
        parents = {child: parent for parent in root.iter() for child in parent}
        parent = parents.get(node)
        if kind == "attribute":
            name = data.draw(
                st.sampled_from(
                    [
                        "id",
                        "sourceRef",
                        "targetRef",
                        "attachedToRef",
                        "default",
                        "name",
                        "calledElement",
                        "isExecutable",
                        "messageRef",
                        "x",
                        "width",
                        "{http://camunda.org/schema/1.0/bpmn}assignee",
                        "{http://camunda.org/schema/1.0/bpmn}dueDate",
                        "{http://camunda.org/schema/1.0/bpmn}candidateGroups",
                        "{http://camunda.org/schema/1.0/bpmn}historyTimeToLive",
                    ]
                )
            )
            node.set(name, data.draw(st.sampled_from(NASTY) | st.text(max_size=12)))
        elif kind == "remove" and parent is not None:
            parent.remove(node)
        elif kind == "duplicate" and parent is not None:
            # a copy of the element itself: a serialized copy does not parse again once an
            # attribute holds a character XML forbids (the mutations above set such text)
            parent.append(copy.deepcopy(node))
        elif kind == "nest" and parent is not None:
            other = data.draw(st.sampled_from(nodes))
            if other is not node and node not in list(other.iter()):
                parent.remove(node)
                other.append(node)
        elif kind == "rename":
            node.tag = f"{{{BPMN_NS}}}" + data.draw(
                st.sampled_from(
                    [
                        "task",
                        "userTask",
                        "scriptTask",
                        "subProcess",
                        "startEvent",
                        "boundaryEvent",
                        "exclusiveGateway",
                        "sequenceFlow",
                        "process",
                        "timerEventDefinition",
                        "conditionExpression",
                        "callActivity",
                        "bogus",
                    ]
                )
            )
        elif kind == "text":
            node.text = data.draw(st.sampled_from(NASTY) | st.text(max_size=12))
        elif kind == "unknown":
            node.append(
                ET.Element(data.draw(st.sampled_from([f"{{{BPMN_NS}}}bogus", "{urn:x}y", "z"])))
            )


@fuzz(40)
@given(data=st.data())
def test_element_mutations_of_the_shared_files(
    shared_bpmn_files: list[Path], data: st.DataObject
) -> None:
    path = data.draw(st.sampled_from(shared_bpmn_files), label="file")
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - the project's own shared files
    _mutate_tree(root, data)
    _outcome(ET.tostring(root, encoding="utf-8", xml_declaration=True))


@pytest.mark.django_db
@fuzz(25)
@given(data=st.data())
def test_element_mutations_deploy_or_are_refused(
    shared_bpmn_files: list[Path], data: st.DataObject
) -> None:
    """Mutated executable files through the deploy service: success or BpmnError only."""
    files = [p for p in shared_bpmn_files if p.parent.name != "miwg"] or shared_bpmn_files
    path = data.draw(st.sampled_from(files), label="file")
    root = ET.fromstring(path.read_bytes())  # noqa: S314 - the project's own shared files
    _mutate_tree(root, data)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    _outcome(xml, lambda d: deploys.definition_deploy(xml=d, source_name=path.name))


_GENERATED_NODES = st.sampled_from(
    [
        '<userTask id="ID" camunda:assignee="VALUE"/>',
        '<userTask id="ID" camunda:dueDate="VALUE"/>',
        '<userTask id="ID" camunda:candidateGroups="VALUE"/>',
        '<task id="ID" name="VALUE"/>',
        '<intermediateCatchEvent id="ID"><timerEventDefinition><timeDuration>VALUE'
        "</timeDuration></timerEventDefinition></intermediateCatchEvent>",
        '<intermediateCatchEvent id="ID"><timerEventDefinition><timeCycle>VALUE'
        "</timeCycle></timerEventDefinition></intermediateCatchEvent>",
        '<callActivity id="ID" calledElement="VALUE"/>',
        '<serviceTask id="ID" camunda:type="VALUE"/>',
        '<subProcess id="ID"><startEvent id="IDs"/></subProcess>',
    ]
)


@pytest.mark.django_db
@fuzz(40)
@given(
    nodes=st.lists(_GENERATED_NODES, min_size=1, max_size=5),
    values=st.lists(st.sampled_from(NASTY) | st.text(max_size=15), min_size=5, max_size=5),
    condition=st.sampled_from(NASTY) | st.text(max_size=15),
)
def test_generated_processes_through_the_api(
    deployer_client: Client, nodes: list[str], values: list[str], condition: str
) -> None:
    """Generated processes with nasty values through the deploy endpoint: 2xx or 400."""
    filled = [
        node.replace("VALUE", escape(value, {'"': "&quot;"}))
        for node, value in zip(nodes, values, strict=False)
    ]
    body = _line(*filled) + flow("s", "e", escape(condition))
    answer = _api_answer(deployer_client, _ok(body), as_file=False)
    assert answer.status_code in (200, 201, 400), answer.content[:500]
    if answer.status_code == 400:
        assert answer.json()["error"]["code"] in ("invalid_bpmn", "invalid")
    assert_no_leak(answer.content.decode(), _stored_xml())
