"""The BPMN parser: shared processes, the MIWG reference files, hardening, structural problems.

Plain pytest functions: no database, no Django."""

from __future__ import annotations

import pytest

from tests.shared_files import shared_names, shared_path
from workflow.bpmn.model import (
    BpmnError,
    Definitions,
    ElementKind,
    EventTrigger,
    Timer,
    TimerKind,
)
from workflow.bpmn.parser import MAX_DEPTH, parse_bpmn

MIWG_FILES = shared_names("bpmn/miwg")


def shared(name: str) -> Definitions:
    return parse_bpmn(shared_path("bpmn", name).read_bytes())


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'xmlns:flowable="http://flowable.org/bpmn" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'id="Defs" targetNamespace="http://example.com/test">\n'
)


def bpmn(body: str) -> str:
    return HEAD + body + "\n</bpmn:definitions>"


def problems_of(data: str | bytes, **kwargs: int) -> list[str]:
    with pytest.raises(BpmnError) as caught:
        parse_bpmn(data, **kwargs)
    return [str(p) for p in caught.value.problems]


# --- the three shared processes ----------------------------------------------------------------


def test_onboarding_graph() -> None:
    definitions = shared("onboarding.bpmn")
    assert definitions.id == "Definitions_EmployeeOnboarding"
    process = definitions.processes["employee_onboarding"]
    assert process.is_executable
    assert process.name == "Employee onboarding"
    assert process.history_time_to_live == "P365D"
    assert len(process.elements) == 11
    assert len(process.flows) == 12

    start = process.elements["StartEvent_1"]
    assert start.kind is ElementKind.START_EVENT
    assert start.initiator == "initiator"
    assert start.outgoing == ("Flow_Start_Hr",)
    assert start.incoming == ()

    enter = process.elements["Activity_EnterNewHire"]
    assert enter.kind is ElementKind.USER_TASK
    assert enter.candidate_groups == "hr"
    assert [f.id for f in enter.form_fields] == [
        "employee_name",
        "position",
        "department",
        "start_date",
        "manager_id",
    ]
    name, position, department, start_date, _manager = enter.form_fields
    assert name.label == "Full name" and name.type == "string" and name.required
    assert not position.required
    assert department.type == "enum"
    assert department.enum_values == (
        ("engineering", "Engineering"),
        ("sales", "Sales"),
        ("operations", "Operations"),
    )
    assert start_date.type == "date" and start_date.required

    split = process.elements["Gateway_PrepSplit"]
    assert split.kind is ElementKind.PARALLEL_GATEWAY
    assert split.outgoing == ("Flow_Split_It", "Flow_Split_Desk", "Flow_Split_Mentor")
    join = process.elements["Gateway_PrepJoin"]
    assert join.incoming == ("Flow_It_Join", "Flow_Desk_Join", "Flow_Mentor_Join")

    mentor = process.elements["Activity_AssignMentor"]
    assert mentor.assignee == "${manager_id}"
    assert mentor.due_date == "${start_date}"

    sync = process.elements["Activity_SyncHris"]
    assert sync.kind is ElementKind.SERVICE_TASK
    assert sync.implementation == "hris.sync_employee"
    assert sync.implementation_kind == "class"

    timer = process.elements["Event_ProbationPeriod"]
    assert timer.kind is ElementKind.INTERMEDIATE_CATCH_EVENT
    assert timer.trigger is EventTrigger.TIMER
    assert timer.timer == Timer(TimerKind.DURATION, "PT1S")
    assert timer.extensions["xsi:type"] == "bpmn:tFormalExpression"

    review = process.elements["Activity_ProbationReview"]
    assert review.form_fields[0].type == "boolean"
    assert review.form_fields[0].default == "true"
    assert process.elements["Event_Onboarded"].kind is ElementKind.END_EVENT


def test_expense_approval_graph() -> None:
    definitions = shared("expense_approval.bpmn")
    process = definitions.processes["expense_approval"]
    assert process.history_time_to_live == "P180D"

    fill = process.elements["Activity_FillClaim"]
    amount, currency, description, _date = fill.form_fields
    assert amount.type == "long"
    assert dict(amount.validation) == {"required": None, "min": "1"}
    assert currency.default == "EUR"
    assert [v[0] for v in currency.enum_values] == ["EUR", "USD", "GBP"]
    assert description.validation["maxlength"] == "500"

    manager = process.elements["Activity_ManagerApproval"]
    assert manager.candidate_groups == "managers"
    reminder = process.elements["Event_ManagerReminder"]
    assert reminder.kind is ElementKind.BOUNDARY_EVENT
    assert reminder.attached_to == "Activity_ManagerApproval"
    assert reminder.cancel_activity is False
    assert reminder.timer == Timer(TimerKind.DURATION, "P2D")
    assert reminder.incoming == ()
    assert process.boundary_events("Activity_ManagerApproval") == (reminder,)

    remind = process.elements["Activity_RemindManager"]
    assert remind.implementation == "${mail.remind_manager(execution)}"
    assert remind.implementation_kind == "expression"

    gateway = process.elements["Gateway_Amount"]
    assert gateway.name == "Amount over 5000?"
    assert gateway.default_flow == "Flow_SkipDirector"
    assert process.flows["Flow_ToDirector"].condition == "amount > 5000"
    assert process.flows["Flow_ToDirector"].name == "over 5000"
    assert process.flows["Flow_SkipDirector"].condition is None

    director = process.elements["Activity_DirectorApproval"]
    assert director.due_date == "${dateTime().plusDays(3).toDate()}"
    finance = process.elements["Activity_FinanceReview"]
    assert finance.form_key == "embedded:app:forms/finance-review.html"
    assert finance.form_fields == ()
    budget = process.elements["Activity_ReserveBudget"]
    assert (budget.implementation, budget.implementation_kind) == ("erp.reserve_budget", "class")

    graphics = definitions.graphics
    assert "default" in graphics["Flow_SkipDirector"].markers
    assert "conditional" not in graphics["Flow_ToDirector"].markers  # leaves a gateway
    assert "non-interrupting" in graphics["Event_ManagerReminder"].markers
    assert graphics["Event_ManagerReminder"].trigger is EventTrigger.TIMER
    assert graphics["Activity_ManagerApproval"].tag == "userTask"


def test_contract_countersign_graph() -> None:
    definitions = shared("contract_countersign.bpmn")
    process = definitions.processes["contract_countersign"]
    countersign = process.elements["Activity_Countersign"]
    mi = countersign.multi_instance
    assert mi is not None
    assert mi.sequential is False
    assert mi.collection == "signers"
    assert mi.element_variable == "signer"
    assert mi.completion_condition == "nrOfCompletedInstances == nrOfInstances"
    assert mi.cardinality is None
    assert countersign.assignee == "${signer}"
    assert "parallel-mi" in definitions.graphics["Activity_Countersign"].markers

    draft = process.elements["Activity_DraftContract"]
    assert draft.form_fields[2].validation == {"min": "0"}
    merge = process.elements["Gateway_DraftMerge"]
    assert merge.incoming == ("Flow_Start_Merge", "Flow_Rework")

    assert process.flows["Flow_Approved"].condition == "approved"
    assert process.flows["Flow_Rework"].condition == "not approved"

    archive = process.elements["Activity_Archive"]
    assert archive.kind is ElementKind.SUB_PROCESS
    assert archive.parent_id is None
    assert {e.id for e in process.children("Activity_Archive")} == {
        "Event_ArchiveStart",
        "Activity_StorePdf",
        "Activity_ConfirmFiling",
        "Event_ArchiveEnd",
    }
    assert process.elements["Activity_StorePdf"].parent_id == "Activity_Archive"
    assert [e.id for e in process.start_events()] == ["StartEvent_1"]
    assert [e.id for e in process.start_events("Activity_Archive")] == ["Event_ArchiveStart"]
    assert process.flows["Flow_Store_Confirm"].source == "Activity_StorePdf"
    confirm = process.elements["Activity_ConfirmFiling"]
    assert confirm.form_fields[1].default == "10"

    (diagram,) = definitions.diagrams
    assert diagram.plane_element == "contract_countersign"
    shapes = {s.element_id: s for s in diagram.shapes}
    assert shapes["Activity_Archive"].is_expanded is True
    assert shapes["Gateway_Approved"].is_marker_visible is True
    assert shapes["Gateway_Approved"].label is not None
    assert shapes["StartEvent_1"].bounds.width == 36
    edges = {e.element_id: e for e in diagram.edges}
    assert len(edges["Flow_Rework"].waypoints) == 4
    assert edges["Flow_Rework"].waypoints[0].x == 680


# --- the MIWG reference files ------------------------------------------------------------------


def miwg(name: str) -> Definitions:
    return parse_bpmn(shared_path("bpmn", "miwg", name).read_bytes())


@pytest.mark.parametrize("name", MIWG_FILES)
def test_miwg_file_parses_with_graphics_for_every_di_element(name: str) -> None:
    definitions = miwg(name)
    assert definitions.processes
    assert definitions.diagrams
    referenced = {
        item.element_id
        for diagram in definitions.diagrams
        for item in diagram.shapes + diagram.edges
        if item.element_id  # C.7.0 has a DI-only connector without bpmnElement
    }
    assert referenced
    assert referenced <= set(definitions.graphics)
    for process in definitions.processes.values():
        for element in process.elements.values():
            assert definitions.graphics[element.id].tag == element.kind.value
            for flow_id in (*element.incoming, *element.outgoing):
                assert flow_id in process.flows


def test_c11_reads_activiti_namespace_bound_to_camunda_prefix() -> None:
    definitions = miwg("C.1.1.bpmn")
    process = definitions.processes["handle-invoice"]
    approve = process.elements["approveInvoice"]
    assert approve.assignee == "${approver}"
    assert approve.form_key == "app:approveInvoice.jsf"
    assert process.elements["prepareBankTransfer"].candidate_groups == "accounting"
    archive = process.elements["archiveInvoice"]
    assert archive.implementation == "#{archiveService}"
    assert archive.implementation_kind == "delegateExpression"
    assert "camunda:field" in archive.extensions
    assert process.elements["StartEvent_1"].extensions["camunda:formKey"] == "app:startProcess.jsf"


def test_miwg_descriptive_and_drawing_details() -> None:
    a10 = miwg("A.1.0.bpmn")
    assert not a10.processes["WFP-6-"].is_executable
    b10 = miwg("B.1.0.bpmn")
    graphics = b10.graphics
    assert graphics["_cde15ee4-b395-43a3-9f5e-9028446f8a52"].tag == "participant"
    assert graphics["_4a6df7ac-26d8-4718-ac05-90af463d5e23"].tag == "lane"
    assert graphics["_4a6df7ac-26d8-4718-ac05-90af463d5e23"].name == "Lane 1"
    b20 = miwg("B.2.0.bpmn")
    annotation = b20.graphics["_4815ea6a-ede2-489b-8b37-2cdb2835b02c"]
    assert annotation.tag == "textAnnotation"
    assert annotation.text == "Annotation"
    assert b20.graphics["_5362a7ef-ce7e-4a91-9c38-66c07b1b5f49"].tag == "association"
    a30 = miwg("A.3.0.bpmn")
    assert "collapsed" in a30.graphics["_1ae31d1b-2559-4f78-a3ec-47986a49db48"].markers


def test_miwg_c9_timers_and_external_tasks() -> None:
    c91 = miwg("C.9.1.bpmn")
    process = c91.processes["requestDocument_en"]
    request = process.elements["SendTask_RequestDocument"]
    assert (request.implementation, request.implementation_kind) == ("emailService", "topic")
    assert request.async_before is True  # legacy camunda:async
    assert process.elements["EndEvent_TalkedToCustomer"].async_after is True
    timers = {e.timer for e in process.elements.values() if e.timer is not None}
    assert Timer(TimerKind.CYCLE, "R6/P1D") in timers
    assert Timer(TimerKind.DURATION, "P7D") in timers


# --- inline models: what each field is read from ---------------------------------------------


def test_events_resolve_messages_signals_and_errors() -> None:
    definitions = parse_bpmn(
        bpmn(
            """
  <bpmn:message id="Msg_1" name="order_received" />
  <bpmn:signal id="Sig_1" name="stop_all" />
  <bpmn:error id="Err_1" name="Out of stock" errorCode="E_STOCK" />
  <bpmn:error id="Err_2" name="Any" />
  <bpmn:process id="p" camunda:candidateStarterGroups="sales"
      camunda:candidateStarterUsers="alice">
    <bpmn:documentation>What the process is for</bpmn:documentation>
    <bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="Msg_1" /></bpmn:startEvent>
    <bpmn:task id="t" />
    <bpmn:boundaryEvent id="b1" attachedToRef="t">
      <bpmn:errorEventDefinition errorRef="Err_1" /></bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="b2" attachedToRef="t">
      <bpmn:errorEventDefinition errorRef="Err_2" /></bpmn:boundaryEvent>
    <bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="Sig_1" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateThrowEvent id="l"><bpmn:linkEventDefinition name="x" />
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="m">
      <bpmn:messageEventDefinition messageRef="Msg_1" />
      <bpmn:timerEventDefinition><bpmn:timeDate>2030-01-01T00:00:00Z</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="tc"><bpmn:timerEventDefinition>
      <bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="empty_timer"><bpmn:timerEventDefinition />
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="e"><bpmn:terminateEventDefinition /></bpmn:endEvent>
    <bpmn:endEvent id="esc"><bpmn:escalationEventDefinition /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t" />
    <bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e" />
  </bpmn:process>"""
        )
    )
    assert definitions.messages == {"Msg_1": "order_received"}
    assert definitions.signals == {"Sig_1": "stop_all"}
    assert definitions.errors == {"Err_1": ("Out of stock", "E_STOCK"), "Err_2": ("Any", None)}
    process = definitions.processes["p"]
    assert process.is_executable  # isExecutable absent
    assert process.candidate_starter_groups == "sales"
    assert process.candidate_starter_users == "alice"
    assert process.documentation == "What the process is for"
    e = process.elements
    assert (e["s"].trigger, e["s"].message_name) == (EventTrigger.MESSAGE, "order_received")
    assert (e["b1"].trigger, e["b1"].error_code) == (EventTrigger.ERROR, "E_STOCK")
    assert e["b2"].error_code is None
    assert e["b1"].attached_to == "t" and e["b1"].cancel_activity is True
    assert (e["c"].trigger, e["c"].signal_name) == (EventTrigger.SIGNAL, "stop_all")
    assert e["l"].trigger is EventTrigger.LINK
    assert e["m"].trigger is EventTrigger.MULTIPLE
    assert e["tc"].timer == Timer(TimerKind.CYCLE, "R3/PT1H")
    assert e["empty_timer"].trigger is EventTrigger.TIMER and e["empty_timer"].timer is None
    assert e["e"].trigger is EventTrigger.TERMINATE
    assert e["esc"].trigger is EventTrigger.ESCALATION
    assert definitions.graphics["m"].trigger is EventTrigger.MULTIPLE


def test_activity_attributes_and_markers() -> None:
    definitions = parse_bpmn(
        bpmn(
            """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="s" />
    <bpmn:userTask id="u" flowable:assignee="bob" flowable:candidateUsers="a,b"
        flowable:priority="50" camunda:asyncBefore="true" camunda:asyncAfter="true">
      <bpmn:extensionElements>
        <camunda:executionListener class="com.acme.Audit" event="start" />
        <camunda:taskListener expression="${audit.log(task)}" event="create" />
        <camunda:formData>
          <camunda:formField id="f" label="F" type="string">
            <camunda:properties><camunda:property id="width" value="wide" /></camunda:properties>
            <camunda:validation>
              <camunda:constraint name="pattern" config="[a-z]+" />
              <camunda:constraint name="readonly" />
            </camunda:validation>
          </camunda:formField>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:standardLoopCharacteristics />
    </bpmn:userTask>
    <bpmn:serviceTask id="ext" camunda:type="external" camunda:topic="erp.sync" />
    <bpmn:serviceTask id="typ" camunda:type="erp.reserve" />
    <bpmn:serviceTask id="del" camunda:delegateExpression="${erp.reserve}"
        isForCompensation="true" />
    <bpmn:sendTask id="snd" camunda:class="mail.send">
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:sendTask>
    <bpmn:receiveTask id="rcv" instantiate="true" />
    <bpmn:callActivity id="call" calledElement="child">
      <bpmn:extensionElements>
        <camunda:in source="a" target="b" />
        <camunda:in sourceExpression="${x + 1}" target="y" />
        <camunda:out variables="all" />
      </bpmn:extensionElements>
    </bpmn:callActivity>
    <bpmn:subProcess id="evt" triggeredByEvent="true">
      <bpmn:startEvent id="evt_start" isInterrupting="false">
        <bpmn:timerEventDefinition><bpmn:timeDuration>PT5M</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
      </bpmn:startEvent>
      <bpmn:subProcess id="inner">
        <bpmn:startEvent id="inner_start" />
      </bpmn:subProcess>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="u" />
    <bpmn:sequenceFlow id="f2" sourceRef="u" targetRef="ext">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression"><![CDATA[
         ${ok}
      ]]></bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>"""
        )
    )
    process = definitions.processes["p"]
    g = definitions.graphics
    u = process.elements["u"]
    assert (u.assignee, u.candidate_users, u.priority) == ("bob", "a,b", "50")
    assert u.async_before and u.async_after
    assert u.extensions["camunda:executionListener"] == "com.acme.Audit"
    assert u.extensions["camunda:taskListener"] == "${audit.log(task)}"
    assert u.standard_loop and "loop" in g["u"].markers
    field = u.form_fields[0]
    assert field.readonly and not field.required
    assert field.validation["pattern"] == "[a-z]+"
    assert field.properties == {"width": "wide"}
    impl = {
        i: (process.elements[i].implementation, process.elements[i].implementation_kind)
        for i in ("ext", "typ", "del", "snd")
    }
    assert impl == {
        "ext": ("erp.sync", "topic"),
        "typ": ("erp.reserve", "type"),
        "del": ("${erp.reserve}", "delegateExpression"),
        "snd": ("mail.send", "class"),
    }
    assert "compensation" in g["del"].markers
    mi = process.elements["snd"].multi_instance
    assert mi is not None and mi.sequential and mi.cardinality == "3"
    assert "sequential-mi" in g["snd"].markers
    assert "instantiate" in g["rcv"].markers
    call = process.elements["call"]
    assert call.called_element == "child"
    assert call.in_mappings[0].source == "a" and call.in_mappings[0].target == "b"
    assert call.in_mappings[1].source_expression == "${x + 1}"
    assert call.out_mappings[0].all_variables
    evt = process.elements["evt"]
    assert evt.triggered_by_event and "event-sub-process" in g["evt"].markers
    start = process.elements["evt_start"]
    assert start.parent_id == "evt" and start.is_interrupting is False
    assert "non-interrupting" in g["evt_start"].markers
    assert process.elements["inner_start"].parent_id == "inner"
    assert process.elements["inner"].parent_id == "evt"
    assert process.flows["f2"].condition == "${ok}"
    assert "conditional" in g["f2"].markers  # a condition on a flow leaving an activity


def test_unknown_elements_are_recorded_not_refused() -> None:
    definitions = parse_bpmn(
        bpmn(
            """
  <bpmn:process id="p">
    <bpmn:startEvent id="s" />
    <bpmn:callChoreography id="odd" />
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="odd" />
    <bpmn:dataObjectReference id="dor" dataObjectRef="do" /><bpmn:dataObject id="do" />
    <vendor:thing xmlns:vendor="urn:vendor" id="v" />
  </bpmn:process>"""
        )
    )
    assert definitions.graphics["odd"].tag == "callChoreography"
    assert definitions.graphics["dor"].tag == "dataObjectReference"
    assert "v" not in definitions.graphics
    assert definitions.processes["p"].flows["f"].target == "odd"


def test_text_input_with_a_foreign_encoding_declaration() -> None:
    text = bpmn('<bpmn:process id="p" name="Übersicht" />').replace("UTF-8", "ISO-8859-1")
    assert parse_bpmn(text).processes["p"].name == "Übersicht"


# --- structural problems --------------------------------------------------------------------


def test_three_structural_errors_are_reported_together() -> None:
    problems = problems_of(
        bpmn(
            """
  <bpmn:process id="p">
    <bpmn:startEvent id="s" />
    <bpmn:task id="t" />
    <bpmn:task id="t" />
    <bpmn:sequenceFlow id="f" sourceRef="nowhere" targetRef="t" />
    <bpmn:boundaryEvent id="b" attachedToRef="ghost" />
  </bpmn:process>"""
        )
    )
    assert len(problems) == 3, problems
    assert any(p.startswith("t: ") and "more than one element" in p for p in problems)
    assert 'f: sourceRef "nowhere" names no element' in problems
    assert 'b: attachedToRef "ghost" names no activity' in problems


# --- hardening ---------------------------------------------------------------------------------


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <process id="p" name="&lol4;" />
</definitions>"""


def test_billion_laughs_is_refused() -> None:
    (problem,) = problems_of(BILLION_LAUGHS)
    assert "DTD" in problem and "refused" in problem


def test_xxe_is_refused() -> None:
    xxe = (
        '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        '<process id="p" name="&e;" /></definitions>'
    )
    (problem,) = problems_of(xxe)
    assert "refused" in problem
    assert "root:" not in problem


def test_external_dtd_is_refused_without_network_access() -> None:
    external = (
        '<?xml version="1.0"?>\n<!DOCTYPE definitions SYSTEM "http://198.51.100.1/x.dtd">\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" />'
    )
    (problem,) = problems_of(external)
    assert "refused" in problem


def test_too_large_file_is_refused_before_parsing() -> None:
    big = bpmn("<!--" + "x" * 6_000_000 + "-->")
    (problem,) = problems_of(big)
    assert "5,000,000" in problem
    (small_limit,) = problems_of(bpmn(""), max_bytes=100)
    assert "larger than 100 bytes" in small_limit


def test_deep_nesting_is_refused() -> None:
    deep = bpmn("<bpmn:documentation>" * 500 + "</bpmn:documentation>" * 500)
    (problem,) = problems_of(deep)
    assert f"more than {MAX_DEPTH} levels" in problem


def test_malformed_xml_reports_line_and_column() -> None:
    broken = bpmn('<bpmn:process id="p">\n  <bpmn:task id="t">\n</bpmn:process>')
    (problem,) = problems_of(broken)
    assert "not well-formed" in problem
    assert "line 5, column 3" in problem


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("<definitions id='d' />", "without a namespace"),
        (
            '<svg xmlns="http://www.w3.org/2000/svg" />',
            "root element is <svg> in namespace http://www.w3.org/2000/svg",
        ),
        ("", "empty"),
    ],
)
def test_not_a_bpmn_file(data: str, expected: str) -> None:
    (problem,) = problems_of(data)
    assert expected in problem
