"""The BPMN validator: the shared processes deploy, and each check refuses what it must, naming
the element. Plain pytest functions: no database, no Django."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

from tests.shared_files import shared_names, shared_path
from workflow.bpmn.model import BpmnError, Problem
from workflow.bpmn.parser import parse_bpmn
from workflow.bpmn.validate import (
    application_name,
    due_date_offset,
    parse_and_validate,
    validate,
)

REPO = Path(__file__).resolve().parents[2]

# The invoked applications the shared files name (see the comment at the top of each file).
SHARED_APPLICATIONS = {
    "onboarding.bpmn": {"hris.sync_employee"},
    "expense_approval.bpmn": {"mail.remind_manager", "erp.reserve_budget"},
    "contract_countersign.bpmn": {"dms.store_contract"},
}
APPS = ("erp.reserve_budget", "mail.notify")

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="Defs">\n'
)


def bpmn(body: str, *, header: str = "") -> str:
    return f'{HEAD}{header}<bpmn:process id="p" isExecutable="true">{body}</bpmn:process>' + (
        "\n</bpmn:definitions>"
    )


def chain(middle: str, *, first: str = "s", last: str = "e") -> str:
    """start ``s`` -> the nodes of ``middle`` (ids n1, n2 ... chained in order) -> end ``e``."""
    return f'<bpmn:startEvent id="{first}" />{middle}<bpmn:endEvent id="{last}" />'


def check(xml: str, **kwargs: Collection[str]) -> list[str]:
    options: dict[str, Collection[str]] = {"applications": APPS}
    options.update(kwargs)
    return [str(p) for p in validate(parse_bpmn(xml), **options)]


def linear(node: str, node_id: str = "n") -> str:
    """s -> <node id=node_id> -> e."""
    return bpmn(
        chain(node)
        + f'<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="{node_id}" />'
        + f'<bpmn:sequenceFlow id="f2" sourceRef="{node_id}" targetRef="e" />'
    )


# --- the shared processes deploy ------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SHARED_APPLICATIONS))
def test_shared_process_validates_without_problems(name: str) -> None:
    path = shared_path("bpmn", name)
    definitions = parse_and_validate(path.read_bytes(), applications=SHARED_APPLICATIONS[name])
    assert definitions.executable_processes


def test_shared_process_without_its_applications_is_refused() -> None:
    path = shared_path("bpmn", "expense_approval.bpmn")
    problems = validate(parse_bpmn(path.read_bytes()))
    assert {p.element_id for p in problems} == {"Activity_RemindManager", "Activity_ReserveBudget"}
    (budget,) = [p for p in problems if p.element_id == "Activity_ReserveBudget"]
    assert "Java classes map to no registered application" in budget.message
    assert 'camunda:type="erp.reserve_budget"' in budget.message


MIWG_EXECUTABLE_OK = ("C.8.0.bpmn",)  # descriptive ones validate trivially (see the report)


@pytest.mark.parametrize("name", shared_names("bpmn/miwg"))
def test_miwg_files_validate_without_crashing(name: str) -> None:
    definitions = parse_bpmn(shared_path("bpmn", "miwg", name).read_bytes())
    problems = validate(definitions)
    assert all(isinstance(p, Problem) and p.message for p in problems)
    executable = {e for p in definitions.executable_processes for e in p.elements}
    executable |= {f for p in definitions.executable_processes for f in p.flows}
    executable |= {p.id for p in definitions.executable_processes}
    assert {p.element_id for p in problems} <= executable
    if not definitions.executable_processes:
        assert problems == []


def test_miwg_c11_problems_name_the_elements() -> None:
    path = shared_path("bpmn", "miwg", "C.1.1.bpmn")
    problems = validate(parse_bpmn(path.read_bytes()), applications={"archiveService"})
    assert {p.element_id for p in problems} == {
        "invoiceApproved",
        "invoiceNotApproved",
        "reviewSuccessful",
        "reviewNotSuccessful",
    }  # XPath conditions calling bpmn:getDataObject(...)


def test_validation_is_for_executable_processes_only() -> None:
    descriptive = bpmn('<bpmn:scriptTask id="x" />').replace(
        'isExecutable="true"', 'isExecutable="false"'
    )
    assert check(descriptive) == []


# --- the graph ---------------------------------------------------------------------------------


def test_minimal_process_is_valid() -> None:
    assert check(linear('<bpmn:task id="n" />')) == []


def test_no_start_event() -> None:
    xml = bpmn(
        '<bpmn:task id="t" /><bpmn:endEvent id="e" />'
        '<bpmn:sequenceFlow id="f" sourceRef="t" targetRef="e" />'
    )
    problems = check(xml)
    assert "p: the process has no start event" in problems
    assert any(p.startswith("t: task has no incoming sequence flow") for p in problems)


def test_node_without_incoming_or_outgoing_flow() -> None:
    xml = bpmn(
        chain('<bpmn:userTask id="orphan" name="Orphan" />')
        + '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />'
    )
    problems = check(xml)
    # never reached is a problem; no outgoing flow is BPMN's implicit end (Camunda deploys it)
    assert problems == [
        'orphan: userTask "Orphan" has no incoming sequence flow, so it is never reached'
    ]


def test_a_gateway_without_outgoing_flow_is_an_implicit_end() -> None:
    """BPMN 2.0 lets a token end where no flow leaves (the runtime ends it there:
    tests/workflow/test_conformance_implicit_end.py); Camunda deploys such files."""
    xml = bpmn(
        chain('<bpmn:parallelGateway id="g" />')
        + '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g" />'
        + '<bpmn:sequenceFlow id="f2" sourceRef="s" targetRef="e" />'
    )
    assert check(xml) == []


def test_flow_to_an_element_that_is_not_a_flow_node() -> None:
    xml = bpmn(
        chain('<bpmn:dataObject id="d" />')
        + '<bpmn:sequenceFlow id="f" sourceRef="s" targetRef="e" />'
        + '<bpmn:sequenceFlow id="bad" sourceRef="s" targetRef="d" />'
    )
    assert check(xml) == [
        'bad: targetRef "d" is a dataObject, which is not a flow node the engine runs'
    ]


def test_boundary_event_sub_process_start_and_event_sub_process_need_no_incoming() -> None:
    xml = bpmn(
        chain(
            '<bpmn:task id="t" />'
            '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:timerEventDefinition>'
            "<bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>"
            "</bpmn:boundaryEvent>"
            '<bpmn:subProcess id="sub"><bpmn:startEvent id="ss" /><bpmn:endEvent id="se" />'
            '<bpmn:sequenceFlow id="sf" sourceRef="ss" targetRef="se" /></bpmn:subProcess>'
            '<bpmn:subProcess id="evt" triggeredByEvent="true">'
            '<bpmn:startEvent id="es"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H'
            "</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:startEvent>"
            '<bpmn:endEvent id="ee" /><bpmn:sequenceFlow id="ef" sourceRef="es" targetRef="ee" />'
            "</bpmn:subProcess>"
        )
        + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />'
        + '<bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="sub" />'
        + '<bpmn:sequenceFlow id="f3" sourceRef="sub" targetRef="e" />'
        + '<bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="e" />'
    )
    assert check(xml) == []


def test_sub_process_without_start_event() -> None:
    xml = linear('<bpmn:subProcess id="n" name="Inner"><bpmn:task id="it" /></bpmn:subProcess>')
    problems = check(xml)
    assert 'n: subProcess "Inner": the sub-process has no start event' in problems


def test_exclusive_gateway_flow_without_condition_that_is_not_default() -> None:
    xml = bpmn(
        chain('<bpmn:exclusiveGateway id="g" name="Big?" />')
        + '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g" />'
        + '<bpmn:sequenceFlow id="yes" sourceRef="g" targetRef="e">'
        + "<bpmn:conditionExpression>${amount &gt; 5}</bpmn:conditionExpression>"
        + "</bpmn:sequenceFlow>"
        + '<bpmn:sequenceFlow id="no" sourceRef="g" targetRef="e" />'
    )
    (problem,) = check(xml)
    assert problem.startswith('no: the sequence flow leaves the exclusiveGateway "Big?"')
    assert "default flow" in problem
    assert check(xml.replace('name="Big?"', 'name="Big?" default="no"')) == []


def test_default_flow_that_does_not_leave_its_element() -> None:
    xml = bpmn(
        chain('<bpmn:exclusiveGateway id="g" default="f0" />')
        + '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g" />'
        + '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="e" />'
    )
    assert check(xml) == ['g: exclusiveGateway: the default flow "f0" does not leave this element']


def test_condition_that_does_not_compile_names_the_flow() -> None:
    xml = bpmn(
        chain('<bpmn:exclusiveGateway id="g" default="f2" />')
        + '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g" />'
        + '<bpmn:sequenceFlow id="Flow_3" sourceRef="g" targetRef="e">'
        + "<bpmn:conditionExpression>${amount &gt;}</bpmn:conditionExpression>"
        + "</bpmn:sequenceFlow>"
        + '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e" />'
    )
    (problem,) = check(xml)
    assert problem.startswith('Flow_3: condition "${amount >}" does not compile: unexpected end')


def test_method_call_in_a_condition_is_refused_naming_the_flow() -> None:
    xml = bpmn(
        chain('<bpmn:exclusiveGateway id="g" default="f2" />')
        + '<bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="g" />'
        + '<bpmn:sequenceFlow id="f1" sourceRef="g" targetRef="e">'
        + "<bpmn:conditionExpression>${execution.getVariable('x')}</bpmn:conditionExpression>"
        + "</bpmn:sequenceFlow>"
        + '<bpmn:sequenceFlow id="f2" sourceRef="g" targetRef="e" />'
    )
    (problem,) = check(xml)
    assert problem.startswith("f1: condition \"${execution.getVariable('x')}\" does not compile")
    assert "method calls are not supported" in problem


def test_unknown_function_is_refused_when_functions_are_given() -> None:
    xml = linear('<bpmn:userTask id="n" camunda:assignee="${pick(team)}" />')
    assert check(xml) == []
    (problem,) = check(xml, functions=("today",))
    assert problem.startswith('n: assignee "${pick(team)}" does not compile: unknown function')


# --- refused elements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (
            '<bpmn:scriptTask id="n" scriptFormat="groovy" />',
            "script tasks are not run: this engine never executes code from a file; use a "
            "service task with a registered application",
        ),
        (
            '<bpmn:businessRuleTask id="n" camunda:decisionRef="d" />',
            "business rule tasks need decision tables, which are not supported yet",
        ),
        ('<bpmn:complexGateway id="n" />', "complex gateways are not supported"),
        (
            '<bpmn:transaction id="n"><bpmn:startEvent id="ts" /><bpmn:endEvent id="te" />'
            '<bpmn:sequenceFlow id="tf" sourceRef="ts" targetRef="te" /></bpmn:transaction>',
            "transaction sub-processes are not supported",
        ),
        (
            '<bpmn:adHocSubProcess id="n"><bpmn:startEvent id="ts" /></bpmn:adHocSubProcess>',
            "ad-hoc sub-processes are not supported",
        ),
        (
            '<bpmn:intermediateThrowEvent id="n"><bpmn:compensateEventDefinition />'
            "</bpmn:intermediateThrowEvent>",
            "compensation events are not supported",
        ),
        (
            '<bpmn:intermediateThrowEvent id="n"><bpmn:escalationEventDefinition />'
            "</bpmn:intermediateThrowEvent>",
            "escalation events are not supported",
        ),
        (
            '<bpmn:intermediateCatchEvent id="n"><bpmn:conditionalEventDefinition>'
            "<bpmn:condition>${x}</bpmn:condition></bpmn:conditionalEventDefinition>"
            "</bpmn:intermediateCatchEvent>",
            "conditional events are not supported",
        ),
        (
            '<bpmn:intermediateThrowEvent id="n"><bpmn:linkEventDefinition name="l" />'
            "</bpmn:intermediateThrowEvent>",
            "link events are not supported",
        ),
        (
            '<bpmn:intermediateThrowEvent id="n"><bpmn:cancelEventDefinition />'
            "</bpmn:intermediateThrowEvent>",
            "cancel events are not supported",
        ),
        (
            '<bpmn:intermediateCatchEvent id="n"><bpmn:signalEventDefinition signalRef="S" />'
            "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>"
            "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>",
            "events with several event definitions",
        ),
        (
            '<bpmn:task id="n"><bpmn:extensionElements>'
            '<camunda:executionListener class="com.acme.Audit" event="start" />'
            "</bpmn:extensionElements></bpmn:task>",
            "has a executionListener (com.acme.Audit): Java listeners are not supported",
        ),
        (
            '<bpmn:userTask id="n"><bpmn:extensionElements>'
            '<camunda:taskListener delegateExpression="${audit}" event="create" />'
            "</bpmn:extensionElements></bpmn:userTask>",
            "has a taskListener (${audit}): Java listeners are not supported",
        ),
    ],
    ids=lambda v: v.split()[0][6:] if v.startswith("<bpmn:") else None,
)
def test_refused_element(node: str, expected: str) -> None:
    problems = check(linear(node), applications=APPS)
    assert any(p.startswith("n: ") and expected in p for p in problems), problems


# --- service tasks and invoked applications ---------------------------------------------------


@pytest.mark.parametrize(
    "attributes",
    [
        'camunda:type="erp.reserve_budget"',
        'camunda:type="external" camunda:topic="erp.reserve_budget"',
        'camunda:expression="${erp.reserve_budget}"',
        'camunda:expression="${erp.reserve_budget(execution)}"',
        'camunda:delegateExpression="#{erp.reserve_budget}"',
        'camunda:class="erp.reserve_budget"',
    ],
)
def test_service_task_naming_a_registered_application(attributes: str) -> None:
    assert check(linear(f'<bpmn:serviceTask id="n" {attributes} />')) == []
    assert check(linear(f'<bpmn:sendTask id="n" {attributes} />')) == []


def test_service_task_without_implementation() -> None:
    (problem,) = check(linear('<bpmn:serviceTask id="n" name="Book" />'))
    assert problem.startswith('n: serviceTask "Book" has no implementation')


def test_java_class_is_not_a_registered_application_unless_registered() -> None:
    xml = linear('<bpmn:serviceTask id="n" camunda:class="com.acme.Foo" />')
    (problem,) = check(xml)
    assert 'camunda:class="com.acme.Foo" is not a registered application' in problem
    assert "Java classes map to no registered application" in problem
    assert "erp.reserve_budget" in problem
    assert check(xml, applications={"com.acme.Foo"}) == []


def test_unregistered_and_unreadable_application_names() -> None:
    (unknown,) = check(linear('<bpmn:serviceTask id="n" camunda:topic="crm.sync" />'))
    assert '"crm.sync" (camunda:topic) is not a registered application' in unknown
    assert "Registered: erp.reserve_budget, mail.notify" in unknown
    (unreadable,) = check(linear('<bpmn:serviceTask id="n" camunda:expression="${a.b(1) + 2}" />'))
    assert "does not name an application" in unreadable


def test_application_name_rule() -> None:
    definitions = parse_bpmn(
        linear('<bpmn:serviceTask id="n" camunda:delegateExpression="${ mail.notify }" />')
    )
    assert application_name(definitions.processes["p"].elements["n"]) == "mail.notify"


# --- call activities, messages, timers ------------------------------------------------------


def test_call_activity_must_call_a_known_process() -> None:
    xml = linear('<bpmn:callActivity id="n" calledElement="child" />')
    (problem,) = check(xml)
    assert problem == (
        'n: callActivity: calledElement "child" is neither a process of this file nor a '
        "deployed process"
    )
    assert check(xml, deployed_processes={"child"}) == []
    assert check(xml.replace('calledElement="child"', 'calledElement="p"')) == []
    (none,) = check(linear('<bpmn:callActivity id="n" />'))
    assert "names no process" in none


def test_message_events_need_a_message() -> None:
    xml = bpmn(
        '<bpmn:startEvent id="s"><bpmn:messageEventDefinition /></bpmn:startEvent>'
        '<bpmn:intermediateCatchEvent id="c"><bpmn:messageEventDefinition messageRef="nope" />'
        '</bpmn:intermediateCatchEvent><bpmn:endEvent id="e" />'
        '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="c" />'
        '<bpmn:sequenceFlow id="f2" sourceRef="c" targetRef="e" />'
    )
    problems = check(xml)
    assert [p.split(":")[0] for p in problems] == ["s", "c"]
    assert all("names no message" in p for p in problems)
    good = xml.replace(
        "<bpmn:messageEventDefinition />", '<bpmn:messageEventDefinition messageRef="m" />'
    )
    good = good.replace('messageRef="nope"', 'messageRef="m"')
    good = good.replace("<bpmn:process", '<bpmn:message id="m" name="go" /><bpmn:process')
    assert check(good) == []


def timer(kind: str, value: str | None) -> str:
    body = f"<bpmn:{kind}>{value}</bpmn:{kind}>" if value is not None else ""
    return linear(
        f'<bpmn:intermediateCatchEvent id="n"><bpmn:timerEventDefinition>{body}'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
    )


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("timeDuration", "PT2H"),
        ("timeDuration", "${reminder}"),
        ("timeDate", "2030-01-02T09:00:00Z"),
        ("timeCycle", "R3/PT1H"),
    ],
)
def test_valid_timers(kind: str, value: str) -> None:
    assert check(timer(kind, value)) == []


def test_timer_without_value() -> None:
    (problem,) = check(timer("timeDuration", None))
    assert problem.startswith("n: intermediateCatchEvent: the timer has no value")


@pytest.mark.parametrize(
    ("kind", "value"),
    [("timeDuration", "2 hours"), ("timeDate", "next monday"), ("timeCycle", "every day")],
)
def test_timer_that_is_not_iso_8601(kind: str, value: str) -> None:
    (problem,) = check(timer(kind, value))
    assert problem.startswith(f'n: intermediateCatchEvent: the timer {kind} "{value}" is not valid')


def test_timer_expression_that_does_not_compile() -> None:
    (problem,) = check(timer("timeDuration", "${later +}"))
    assert problem.startswith('n: timer "${later +}" does not compile')


# --- expressions on user tasks and multi-instance ----------------------------------------------


def test_user_task_expressions_are_compiled() -> None:
    xml = linear(
        '<bpmn:userTask id="n" camunda:assignee="${boss(}" camunda:candidateGroups="${g ==}" '
        'camunda:candidateUsers="alice, bob" camunda:dueDate="${due.getTime()}" />'
    )
    problems = check(xml)
    assert len(problems) == 3, problems
    assert problems[0].startswith('n: assignee "${boss(}" does not compile')
    assert problems[1].startswith('n: candidateGroups "${g ==}" does not compile')
    assert problems[2].startswith('n: dueDate "${due.getTime()}" does not compile')
    assert "method calls" in problems[2]


def test_due_dates() -> None:
    assert check(linear('<bpmn:userTask id="n" camunda:dueDate="${start_date}" />')) == []
    assert check(linear('<bpmn:userTask id="n" camunda:dueDate="2030-01-01T00:00:00" />')) == []
    idiom = '<bpmn:userTask id="n" camunda:dueDate="${dateTime().plusDays(3).toDate()}" />'
    assert check(linear(idiom)) == []
    (bad,) = check(linear('<bpmn:userTask id="n" camunda:dueDate="tomorrow" />'))
    assert bad.startswith('n: dueDate "tomorrow" is not an ISO-8601 date-time')
    assert due_date_offset("${dateTime().plusDays(3).toDate()}") == "P3D"
    assert due_date_offset("${dateTime().plusWeeks(1).plusHours(4)}") == "P1WT4H"
    assert due_date_offset("${dateTime().minusDays(1)}") is None


def test_multi_instance_expressions() -> None:
    xml = linear(
        '<bpmn:userTask id="n"><bpmn:multiInstanceLoopCharacteristics '
        'camunda:collection="${signers +}" camunda:elementVariable="signer">'
        "<bpmn:completionCondition>${nrOfCompletedInstances &gt;= }</bpmn:completionCondition>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"
    )
    problems = check(xml)
    assert len(problems) == 2, problems
    assert problems[0].startswith('n: completionCondition "${nrOfCompletedInstances >= }"')
    assert problems[1].startswith('n: collection "${signers +}" does not compile')
    plain = xml.replace("${signers +}", "signers").replace("&gt;= ", "&gt;= 2")
    assert check(plain) == []
    (neither,) = check(
        linear('<bpmn:task id="n"><bpmn:multiInstanceLoopCharacteristics /></bpmn:task>')
    )
    assert "neither a collection nor a loop cardinality" in neither


# --- parse + validate together ---------------------------------------------------------------


def test_parse_and_validate_reports_parse_and_validation_problems_together() -> None:
    xml = bpmn(
        chain('<bpmn:scriptTask id="n" /><bpmn:task id="n" />')
        + '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="n" />'
        + '<bpmn:sequenceFlow id="f2" sourceRef="n" targetRef="ghost" />'
        + '<bpmn:sequenceFlow id="f3" sourceRef="n" targetRef="e" />'
    )
    with pytest.raises(BpmnError) as caught:
        parse_and_validate(xml, applications=APPS)
    messages = [str(p) for p in caught.value.problems]
    assert any("more than one element" in m for m in messages)
    assert messages.count('f2: targetRef "ghost" names no element') == 1
    assert any("script tasks are not run" in m for m in messages)


def test_parse_and_validate_returns_deployable_definitions() -> None:
    definitions = parse_and_validate(linear('<bpmn:task id="n" />'))
    assert "p" in definitions.processes


def test_parse_and_validate_refuses_unreadable_xml() -> None:
    with pytest.raises(BpmnError) as caught:
        parse_and_validate("<not-closed")
    assert "not well-formed" in str(caught.value)


# --- purity ----------------------------------------------------------------------------------


def test_bpmn_package_imports_no_django() -> None:
    code = (
        "import sys, workflow.bpmn.parser, workflow.bpmn.validate; "
        "bad=[m for m in sys.modules if m.split('.')[0] in ('django','portal')]; "
        "assert not bad, bad"
    )
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_compensation_boundary_event_is_refused_once() -> None:
    xml = linear(
        '<bpmn:task id="n" /><bpmn:boundaryEvent id="b" attachedToRef="n">'
        "<bpmn:compensateEventDefinition /></bpmn:boundaryEvent>"
        '<bpmn:task id="undo" isForCompensation="true" />'
    )
    assert check(xml) == ["b: boundaryEvent: compensation events are not supported"]
