"""The BPMN MIWG reference models against the engine: which files deploy, and which problems
keep the others out.

Parsing every file (with graphics for every DI element) is tested in ``test_parser.py``,
drawing it in ``test_render.py`` and validating it without crashing in ``test_validate.py``.
Here each file is deployed as a process designer would, with a no-op application registered
for every application name it uses; :data:`EXPECTED` says what must happen, so a regression
either way fails: a file that stops deploying, a problem that comes or goes, or a file added
to the folder without an entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.shared_files import shared_path
from workflow.applications import Application, applications
from workflow.bpmn.model import BpmnError, Definitions, ElementKind, Problem
from workflow.bpmn.parser import parse_bpmn
from workflow.bpmn.validate import application_name
from workflow.services.definitions import definition_deploy
from workflow.simulation import Message, simulate

DESCRIPTIVE = "descriptive"  # no executable process: deploying it is refused as such
DEPLOYS = "deploys"

# file -> DESCRIPTIVE, DEPLOYS, or every problem deploying it raises: (element id, a fragment
# of the message). C.1.1 writes XPath conditions; C.3.0 to C.8.1 are descriptive models marked
# executable (no conditions, no implementations, no message or signal names); C.9.x are
# Camunda 8 models (FEEL "= ..." conditions, zeebe: extensions the engine does not read).
# C.9.0 calls C.9.2 and C.9.2 calls C.9.1: each is deployed here on its own.
EXPECTED: dict[str, str | set[tuple[str, str]]] = {
    "A.1.0.bpmn": DESCRIPTIVE,
    "A.2.0.bpmn": DESCRIPTIVE,
    "A.2.1.bpmn": DESCRIPTIVE,
    "A.3.0.bpmn": DESCRIPTIVE,
    "A.4.0.bpmn": DESCRIPTIVE,
    "A.4.1.bpmn": DESCRIPTIVE,
    "B.1.0.bpmn": DESCRIPTIVE,
    "B.2.0.bpmn": DESCRIPTIVE,
    "C.1.0.bpmn": DEPLOYS,
    "C.1.1.bpmn": {
        ("invoiceApproved", "does not compile"),
        ("invoiceNotApproved", "does not compile"),
        ("reviewNotSuccessful", "does not compile"),
        ("reviewSuccessful", "does not compile"),
    },
    "C.2.0.bpmn": DESCRIPTIVE,
    "C.3.0.bpmn": {
        ("_3fb323d5-2c59-487a-af63-804208f6c5cb", "has no condition"),
        ("_437e5969-1e61-4cb9-aa76-4f8854f32eeb", "has no condition"),
        ("_ada039b6-94dd-4a15-a6b1-c7fe662c64ee", "has no condition"),
        ("_b99800c3-c340-460c-a43e-098014a365d0", "has no condition"),
        ("_be893987-caec-4605-b078-bd96b7cd6c12", "does not compile"),
        ("_cd6f230f-13c3-4027-aa3e-57de601a1ab2", "has no start event"),
        ("_cddf9325-a85b-4347-8c57-8b909fa77ae9", "has no condition"),
        ("_cf380e47-1401-4e7e-b710-193b626e49eb", "has no condition"),
    },
    "C.4.0.bpmn": {
        ("_12e2f256-ec10-4a8d-934c-329143c588d8", "has no condition"),
        ("_237c8380-5449-446e-a323-aad80181176d", "has no condition"),
        ("_5ee09fe4-f38f-454d-b6e4-1c3703a6a239", "names no message"),
        ("_74e2cc7b-99ca-426b-ad53-ad70a56506aa", "names no message"),
        ("_7e9d8b8b-faa9-4264-858b-7454702c4ec2", "has no condition"),
        ("_9db2d136-aa33-4de2-be76-554e7843363d", "has no implementation"),
        ("_c82dd8eb-ce54-4aa7-b8c4-b8d3e8fd654e", "names no message"),
        ("_ca6f904d-e30d-4777-a7dd-661650e1e3a2", "has no condition"),
        ("_db9147a9-7fbc-4657-a506-15e777f2cfd9", "names no message"),
        ("_efbd0983-76cd-4a4c-acf3-6dde71d7c760", "names no message"),
        ("_fe77c2f2-278f-4752-9d03-aa0c8a12af1e", "names no message"),
    },
    "C.5.0.bpmn": {
        ("_1887adee-8291-4640-a5fa-3dc5f33d5a34", "has no condition"),
        ("_1cf552d4-5152-4595-9218-84f31533bc70", "names no signal"),
        ("_470d1a12-e1fa-4471-b753-cfd7dbe20d80", "has no condition"),
        ("_664f3a71-3efa-4c94-8797-815f2e377cf7", "has no condition"),
        ("_6912e5ed-5cae-4798-b6e6-8d367ddb3f60", "has no condition"),
        ("_8055ae64-cafd-4fd0-be36-2216e3b02e37", "names no signal"),
        ("_8a77d7f6-320a-47ff-a155-57ee200df478", "has no condition"),
        ("_ae94e0c1-aa12-433f-bd44-a4d8a70a089e", "has no condition"),
        ("_afc35597-a482-432a-8ace-17adaf609572", "has no condition"),
        ("_c329c58d-4a71-471f-acb9-b7f7113d8547", "has no condition"),
        ("_e25b9c2d-690e-470b-8993-112002994fc2", "has no condition"),
        ("_e88d64c7-3aaf-4a5f-9787-4e5ba696312b", "has no condition"),
        ("_eec53048-291a-4802-8fec-012857f845eb", "has no condition"),
        ("_fcb09e30-bfe6-46b9-af01-6777c60026f2", "has no condition"),
    },
    "C.6.0.bpmn": {
        ("_0198160d-b56c-4919-9920-db5f32d16b3f", "has no implementation"),
        ("_15fef309-6718-4352-9b71-f757bcd8c023", "names no message"),
        ("_22612d45-65ca-4a74-a6eb-53af7ebcb5ff", "has no implementation"),
        ("_2d6586cf-81fc-4e2a-83ec-6cfff5b34bb0", "has no implementation"),
        ("_32c4138c-74ae-484a-a7e5-0609370d7080", "the timer has no value"),
        ("_3a2f133c-3ae1-4e21-94b5-6e8cf51acd74", "has no implementation"),
        ("_44e3f1fa-42cd-40b7-9980-a51ac49d5fa3", "names no message"),
        ("_614d6469-2bb8-4ad6-a20a-db5db6321c6b", "has no implementation"),
        ("_6a5cdbbf-2618-496e-b728-955dc215ef9d", "compensation events are not supported"),
        ("_87baeef0-f32e-4a93-b802-fdd588aaf729", "the timer has no value"),
        ("_8af17ed4-6e13-463b-8333-d397b3002c65", "compensation events are not supported"),
        ("_8afc49f0-42c2-4da9-8e79-e08dbe349776", "has no implementation"),
        ("_99bf4db9-3616-4ed1-a0f8-b8175c3fd46f", "compensation events are not supported"),
        ("_9cc2ac34-f12c-49e0-b37c-144e5a84fd92", "has no implementation"),
        ("_b25ecc7c-4eff-4a70-96f2-6b2f94cf19b1", "compensation events are not supported"),
        ("_b595ec43-0769-4864-8f2e-403c405c8217", "has no implementation"),
        ("_c8fa5253-dde9-471e-b933-58b00e8f374c", "has no implementation"),
        ("_de7e721e-a073-4857-b8c3-c6ae886dbb46", "has no implementation"),
        ("_e4b9fa74-efd8-409f-a2e4-ad917df767b4", "compensation events are not supported"),
        ("_e5c69e92-6f98-47c8-bc22-b75d38620f95", "names no message"),
        ("_e839800f-ad4f-4bcc-aaf2-d38fe4a32bcd", "has no implementation"),
        ("_ea5cc55d-bfce-49c6-8a1a-a8a41a85da12", "has no implementation"),
        ("_fe3f9094-097b-416d-adeb-4b7e7e753f3c", "compensation events are not supported"),
    },
    "C.7.0.bpmn": {
        ("_1d201a22-d500-4412-a32a-2c7e24ad4d6b", "has no condition"),
        ("_64eabfe9-6947-43eb-ac45-8d331745f86c", "has no implementation"),
        ("_a36ddf2f-23c1-46c5-86d4-bd2a0eb42535", "has no implementation"),
        ("_a36ddf2f-23c1-46c5-86d4-bd2a0eb42535", "neither a collection nor a loop cardinality"),
        ("_d74707c7-6af3-4db7-9403-924bfdf6a7d8", "has no condition"),
        ("_eae674ce-4d6e-48ac-819c-c79e0868e40d", "business rule tasks need decision tables"),
    },
    "C.8.0.bpmn": DESCRIPTIVE,
    "C.8.1.bpmn": {
        ("_02232e32-c3d2-473c-a15d-9c5dca00eadc", "has no implementation"),
        ("_0a1c4f20-509f-4aeb-baf9-acc762f4fdf9", "does not compile"),
        ("_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32", "business rule tasks need decision tables"),
        ("_2b960d84-feb1-46a9-a1a1-c300dd996b99", "has no implementation"),
        ("_325973e7-0bc8-4136-b6df-be1e681d8608", "does not compile"),
        ("_4b72053b-8ebb-4ae6-99c6-7c93cf1c1d1b", "has no implementation"),
        ("_5e16a4e0-0f23-482a-be47-d3edbc5741ba", "has no implementation"),
        ("_93ec9873-edf1-4549-b052-961994ec8234", "has no implementation"),
        ("_9ed61a6a-7cc1-4ed1-86d8-03482b0983c9", "has no implementation"),
        ("_a97c1a48-faba-447b-bfa6-7aa81a6fe0a0", "has no implementation"),
        ("_f2b0da63-d841-4457-ad85-7d86c8b5c1d2", "does not compile"),
    },
    "C.9.0.bpmn": {
        ("Activity_ManualCheck", "neither a process of this file nor a deployed process"),
        (
            "BusinessRuleTask_CheckApplicationAutomatically",
            "business rule tasks need decision tables",
        ),
        ("EndMessageEvent_InformCustomer", "names no message"),
        ("EndMessageEvent_InformOperations", "names no message"),
        ("EndMessageEvent_Timeout", "names no message"),
        ("SendTask_ReportFraud", "has no implementation"),
        ("SendTask_SendPolicy", "has no implementation"),
        ("SendTask_SendRejection", "has no implementation"),
        ("SequenceFlow_ApplicationAccepted", "does not compile"),
        ("SequenceFlow_ApplicationDeclined", "does not compile"),
        ("SequenceFlow_Red", "does not compile"),
        ("SequenceFlow_Yellow", "does not compile"),
        ("ServiceTask_CancelApplication", "has no implementation"),
        ("ServiceTask_DeliverPolicy", "has no implementation"),
        ("ServiceTask_GetCreditScore", "has no implementation"),
        ("ServiceTask_RejectPolicy", "has no implementation"),
    },
    "C.9.1.bpmn": DEPLOYS,
    "C.9.2.bpmn": {
        ("CallActivity_RequestDocument", "neither a process of this file nor a deployed process"),
        ("CallActivity_RequestDocument", "neither a collection nor a loop cardinality"),
        ("SendTask_NotifyCustomerDelay", "has no implementation"),
        ("SequenceFlow_Yes", "does not compile"),
    },
}


def fragment(problem: Problem, fragments: set[str]) -> str:
    """The expected fragment the message holds (the whole message when none: it shows in the
    assertion's diff)."""
    found = [f for f in fragments if f in problem.message]
    return found[0] if len(found) == 1 else problem.message


def application_names(definitions: Definitions) -> set[str]:
    return {
        name
        for process in definitions.executable_processes
        for element in process.elements.values()
        if element.kind in (ElementKind.SERVICE_TASK, ElementKind.SEND_TASK)
        and (name := application_name(element))
    }


@contextmanager
def no_op_applications(names: set[str]) -> Iterator[None]:
    added = [name for name in sorted(names) if name not in applications]
    for name in added:
        applications.register(Application(name, name, lambda call: None, extra_parameters=True))
    try:
        yield
    finally:
        for name in added:
            applications.unregister(name)


def deploy(name: str) -> tuple[Definitions, list[str] | None, tuple[Problem, ...]]:
    """Deploy a reference file: its definitions, the keys deployed (None: refused), and the
    problems that refused it."""
    data = shared_path("bpmn", "miwg", name).read_bytes()
    definitions = parse_bpmn(data)
    with no_op_applications(application_names(definitions)):
        try:
            deployed = definition_deploy(xml=data, source_name=name)
        except BpmnError as error:
            return definitions, None, error.problems
    return definitions, [d.key for d in deployed], ()


def test_the_table_names_every_reference_file() -> None:
    files = shared_path("bpmn", "miwg").glob("*.bpmn")
    assert sorted(EXPECTED) == sorted(path.name for path in files)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reference_file_deploys_or_names_what_keeps_it_out(name: str) -> None:
    definitions, deployed, problems = deploy(name)
    expected = EXPECTED[name]
    if expected == DESCRIPTIVE:
        assert not definitions.executable_processes
        assert [str(p) for p in problems] == ["<file>: the file has no executable process"]
    elif expected == DEPLOYS:
        assert problems == (), [str(p) for p in problems]
        assert deployed == [p.id for p in definitions.executable_processes]
    else:
        assert isinstance(expected, set)
        fragments = {f for _element_id, f in expected}
        found = [(p.element_id, fragment(p, fragments)) for p in problems]
        assert len(set(found)) == len(found), "one problem per element and kind"
        assert set(found) == expected


@pytest.mark.django_db
def test_c92_deploys_its_call_activity_once_c91_is_deployed() -> None:
    _definitions, deployed, _problems = deploy("C.9.1.bpmn")
    assert deployed == ["requestDocument_en"]
    _definitions, deployed, problems = deploy("C.9.2.bpmn")
    assert deployed is None
    expected = EXPECTED["C.9.2.bpmn"]
    assert isinstance(expected, set)
    fragments = {f for _element_id, f in expected}
    assert {(p.element_id, fragment(p, fragments)) for p in problems} == {
        pair
        for pair in expected
        if pair[1] != "neither a process of this file nor a deployed process"
    }


# --- the files that deploy also run -------------------------------------------------------------


def reference(name: str) -> bytes:
    return shared_path("bpmn", "miwg", name).read_bytes()


@pytest.mark.django_db
def test_c10_invoice_runs_to_its_end() -> None:
    result = simulate(
        reference("C.1.0.bpmn"), variables={"approver": "anna"}, task_data={"approved": True}
    )
    assert result.error is None
    assert result.state == "completed"
    assert result.user_tasks == ["assignApprover", "approveInvoice", "prepareBankTransfer"]
    assert result.end_events == ["invoiceProcessed"]
    assert result.notes == ["archiveService is not registered: a no-op stands in for it"]


@pytest.mark.django_db
def test_c10_invoice_without_an_approver_is_a_process_error() -> None:
    result = simulate(reference("C.1.0.bpmn"))
    assert result.state == "error"
    assert result.error == Problem(
        "approveInvoice", "the expression ${approver} failed: unknown variable 'approver'"
    )


@pytest.mark.django_db
def test_c91_document_request_reminds_daily_then_calls_after_a_week() -> None:
    result = simulate(reference("C.9.1.bpmn"))
    assert result.state == "completed"
    assert result.timers_fired == 7  # R6/P1D six times, then P7D
    assert result.path.count("EndEvent_ReminderSent") == 6
    assert result.user_tasks == ["UserTask_CallCustomer"]
    assert result.end_events[-1] == "EndEvent_TalkedToCustomer"


@pytest.mark.django_db
def test_c91_document_received() -> None:
    result = simulate(reference("C.9.1.bpmn"), messages=[Message("MESSAGE_documentReceived")])
    assert result.state == "completed"
    assert result.timers_fired == 0
    assert result.end_events == ["EndEvent_GotDocument"]
