"""``manage.py simulate_process``: a process run before deployment, always rolled back.

The shared processes run with the benchmark workload's data (``workload.json``); small inline
processes cover timers (lazy and eager), messages, thrown signals, call activities, the
engine's loop guard, the step limit, bad input, and that nothing stays in the database.
"""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from erp_bridge.models import OutboxMessage
from tests.factories import UserFactory
from tests.shared_files import shared_path
from workflow.applications import Application, ApplicationCall, applications
from workflow.models import (
    Execution,
    HistoryEvent,
    Job,
    ProcessDefinition,
    ProcessInstance,
    Subscription,
    Task,
)
from workflow.services import definitions, engine

pytestmark = pytest.mark.django_db

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" '
    'targetNamespace="http://example.com/bpmn">\n'
)


def flows(*pairs: str) -> str:
    """Sequence flows from ``"a>b"`` pairs (id ``a-b``); ``"a>b?cond"`` adds a condition."""
    out = []
    for pair in pairs:
        edge, _, condition = pair.partition("?")
        source, target = edge.split(">")
        body = f"<conditionExpression>{condition}</conditionExpression>" if condition else ""
        out.append(
            f'<sequenceFlow id="{source}-{target}" sourceRef="{source}" targetRef="{target}">'
            f"{body}</sequenceFlow>"
        )
    return "".join(out)


def bpmn(*processes: tuple[str, str], extra: str = "") -> str:
    return (
        HEAD
        + extra
        + "".join(
            f'<process id="{key}" isExecutable="true">{body}</process>' for key, body in processes
        )
        + "\n</definitions>\n"
    )


def timer(value: str) -> str:
    return f"<timerEventDefinition><timeDuration>{value}</timeDuration></timerEventDefinition>"


# start -> Review (user task, interrupting boundary timer Late after 1 hour) -> Done
BOUNDARY_TIMER = bpmn(
    (
        "review",
        '<startEvent id="s"/><userTask id="Review" camunda:assignee="boss"/>'
        f'<boundaryEvent id="Late" attachedToRef="Review">{timer("PT1H")}</boundaryEvent>'
        '<endEvent id="Done"/><endEvent id="TooLate"/>'
        + flows("s>Review", "Review>Done", "Late>TooLate"),
    )
)

# start -> event-based gateway: message "paid" (-> Paid) or a 3-day timer (-> Overdue)
PAYMENT = bpmn(
    (
        "payment",
        '<startEvent id="s"/><eventBasedGateway id="Gw"/>'
        '<intermediateCatchEvent id="WaitPaid"><messageEventDefinition messageRef="Msg_paid"/>'
        "</intermediateCatchEvent>"
        f'<intermediateCatchEvent id="WaitDays">{timer("P3D")}</intermediateCatchEvent>'
        '<endEvent id="Paid"/><endEvent id="Overdue"/>'
        + flows("s>Gw", "Gw>WaitPaid", "Gw>WaitDays", "WaitPaid>Paid", "WaitDays>Overdue"),
    ),
    extra='<message id="Msg_paid" name="paid"/>',
)

# start -> Work (plain task) -> Again? (exclusive, default back to Work; done > 0 -> end)
ENDLESS = bpmn(
    (
        "endless",
        '<startEvent id="s"/><task id="Work"/><exclusiveGateway id="Again" default="Again-Work"/>'
        '<endEvent id="e"/>' + flows("s>Work", "Work>Again", "Again>e?done &gt; 0", "Again>Work"),
    )
)

# the same loop through a service task: every round is a job, so the engine never loops
# inside one action; the simulation's step limit stops it
SERVICE_LOOP = ENDLESS.replace(
    '<task id="Work"/>', '<serviceTask id="Work" camunda:type="crm.poll"/>'
)

# main: start -> CallChild (calls child) -> Approve (user task) -> end;
# child: start -> Fill (user task) -> end
CALLING = bpmn(
    (
        "main",
        '<startEvent id="ms"/><callActivity id="CallChild" calledElement="child"/>'
        '<userTask id="Approve"/><endEvent id="me"/>'
        + flows("ms>CallChild", "CallChild>Approve", "Approve>me"),
    ),
    (
        "child",
        '<startEvent id="cs"/><userTask id="Fill"/><endEvent id="ce"/>'
        + flows("cs>Fill", "Fill>ce"),
    ),
)

# start -> split: Send (user task) -> Shout (throws signal "go") -> join; Listen (catches "go")
# -> join; join -> end
SIGNALS = bpmn(
    (
        "signals",
        '<startEvent id="s"/><parallelGateway id="Split"/><userTask id="Send"/>'
        '<intermediateThrowEvent id="Shout"><signalEventDefinition signalRef="Sig_go"/>'
        "</intermediateThrowEvent>"
        '<intermediateCatchEvent id="Listen"><signalEventDefinition signalRef="Sig_go"/>'
        "</intermediateCatchEvent>"
        '<parallelGateway id="Join"/><endEvent id="e"/>'
        + flows(
            "s>Split",
            "Split>Send",
            "Send>Shout",
            "Shout>Join",
            "Split>Listen",
            "Listen>Join",
            "Join>e",
        ),
    ),
    extra='<signal id="Sig_go" name="go"/>',
)


def write(tmp_path: Path, xml: str, name: str = "process.bpmn") -> Path:
    path = tmp_path / name
    path.write_text(xml, encoding="utf-8")
    return path


def simulate(path: Path, *args: str) -> tuple[str, str, CommandError | None]:
    out, err = StringIO(), StringIO()
    raised: CommandError | None = None
    try:
        call_command("simulate_process", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        raised = exc
    return out.getvalue(), err.getvalue(), raised


def simulate_json(path: Path, *args: str) -> dict[str, Any]:
    out, err, raised = simulate(path, "--json", *args)
    assert raised is None, err
    return json.loads(out)


def assert_nothing_kept() -> None:
    for model in (
        ProcessDefinition,
        ProcessInstance,
        Execution,
        Task,
        Job,
        Subscription,
        HistoryEvent,
    ):
        assert not model.objects.exists(), model.__name__


# --- the shared processes with the benchmark workload ------------------------------------------


def workload_value(value: Any, i: int) -> Any:
    """A workload.json value for instance ``i`` ({i} replaced, "alternate" picked)."""
    if isinstance(value, dict) and "alternate" in value:
        return value["alternate"][i % len(value["alternate"])]
    if isinstance(value, str):
        return value.replace("{i}", str(i))
    if isinstance(value, dict):
        return {k: workload_value(v, i) for k, v in value.items()}
    if isinstance(value, list):
        return [workload_value(v, i) for v in value]
    return value


def workload(key: str) -> dict[str, Any]:
    text = shared_path("bpmn", "workload.json").read_text(encoding="utf-8")
    return json.loads(text)["processes"][key]


@pytest.fixture
def claimants() -> None:
    """The workload's claimants as people with employee numbers: the expense posting
    (``erp.reserve_budget``, inline) runs for real in a simulation and needs them."""
    for i in (0, 1):
        UserFactory.create(username=f"employee.{i}")


END_EVENTS = {
    "expense_approval": "Event_ClaimApproved",
    "contract_countersign": "Event_Signed",
    "employee_onboarding": "Event_Onboarded",
}


@pytest.mark.parametrize("i", [0, 1])
@pytest.mark.parametrize("key", sorted(END_EVENTS))
def test_shared_process_reaches_its_end_with_the_expected_user_tasks(
    key: str, i: int, claimants: None
) -> None:
    spec = workload(key)
    result = simulate_json(
        shared_path("bpmn", spec["file"]),
        "--vars",
        json.dumps(workload_value(spec["start_variables"], i)),
        "--task-vars",
        json.dumps(workload_value(spec["forms"], i)),
    )
    assert result["state"] == "completed"
    assert result["end_events"][-1] == END_EVENTS[key]
    assert sorted(result["user_tasks"]) == sorted(workload_value(spec["expected_user_tasks"], i))
    assert result["timers_fired"] == spec["expected_timer_jobs"]
    assert result["path"][0] == "StartEvent_1"
    assert result["path"][-1] == END_EVENTS[key]
    assert result["error"] is None
    first_form = next(iter(workload_value(spec["forms"], i).values()))
    assert first_form.items() <= result["variables"].items()
    assert_nothing_kept()
    assert not OutboxMessage.objects.exists()  # the ERP steps' messages went with the rest


def test_shared_expense_approval_with_eager_timers_sends_the_reminder(claimants: None) -> None:
    spec = workload("expense_approval")
    result = simulate_json(
        shared_path("bpmn", spec["file"]),
        "--timers",
        "eager",
        "--vars",
        json.dumps(workload_value(spec["start_variables"], 0)),
        "--task-vars",
        json.dumps(workload_value(spec["forms"], 0)),
    )
    assert result["state"] == "completed"
    assert result["timers_fired"] == spec["boundary_timers"]
    assert "Event_ManagerReminder" in result["path"]
    assert result["end_events"] == ["Event_ReminderSent", "Event_ClaimApproved"]
    # erp.reserve_budget writes the outbox in the engine's transaction: it runs, rolled back
    assert result["notes"] == [
        "mail.remind_manager acts outside the database: a no-op stands in for it",
    ]
    assert result["variables"]["erp_posting"]["state"] == "queued"


def test_shared_file_prints_the_report_as_text() -> None:
    spec = workload("employee_onboarding")
    path = shared_path("bpmn", spec["file"])
    out, err, raised = simulate(
        path,
        "--vars",
        json.dumps(workload_value(spec["start_variables"], 0)),
        "--task-vars",
        json.dumps(workload_value(spec["forms"], 0)),
    )
    assert raised is None
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == "simulation of employee_onboarding (onboarding.bpmn); nothing was kept"
    # hris.sync_employee writes the account and the outbox in the engine's transaction: it
    # runs for real, rolled back with the rest
    assert lines[1] == "path:"
    assert lines[2] == "  StartEvent_1"
    assert "end events: Event_Onboarded" in lines
    assert "timers fired: 1" in lines
    assert "state: completed" in lines
    variables = json.loads(out.split("variables:\n", 1)[1])
    assert variables["mentor_id"] == "mentor.7"
    assert variables["initiator"] == "hr.clerk"
    assert variables["employee_account"]["state"] == "queued"


# --- timers -------------------------------------------------------------------------------------


def test_lazy_timers_let_the_user_task_move_first(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, BOUNDARY_TIMER))
    assert result["path"] == ["s", "Review", "Done"]
    assert result["timers_fired"] == 0
    assert result["user_tasks"] == ["Review"]


def test_eager_timers_fire_as_soon_as_they_are_armed(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, BOUNDARY_TIMER), "--timers", "eager")
    assert result["path"] == ["s", "Review", "Late", "TooLate"]  # Review: cancelled
    assert result["end_events"] == ["TooLate"]
    assert result["timers_fired"] == 1
    assert result["user_tasks"] == []
    assert result["state"] == "completed"


def test_lazy_timer_fires_when_nothing_else_can_move(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, PAYMENT))
    assert result["end_events"] == ["Overdue"]
    assert result["timers_fired"] == 1


# --- messages -----------------------------------------------------------------------------------


def test_message_is_delivered_before_a_lazy_timer_with_its_variables(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, PAYMENT), "--message", 'paid:{"amount": 12}')
    assert result["end_events"] == ["Paid"]
    assert result["path"] == ["s", "Gw", "WaitPaid", "Paid"]
    assert result["timers_fired"] == 0
    assert result["variables"] == {"amount": 12}
    assert result["messages_not_delivered"] == []


def test_message_nobody_waits_for_is_reported(tmp_path: Path) -> None:
    out, _err, raised = simulate(
        write(tmp_path, PAYMENT), "--message", "refund", "--message", "paid"
    )
    assert raised is None
    assert "messages not delivered: refund" in out.splitlines()
    assert "end events: Paid" in out.splitlines()


def test_without_its_message_the_instance_waits(tmp_path: Path) -> None:
    xml = PAYMENT.replace("<eventBasedGateway", "<eventBasedGateway").replace(
        f'<intermediateCatchEvent id="WaitDays">{timer("P3D")}</intermediateCatchEvent>', ""
    )
    xml = xml.replace(flows("Gw>WaitDays"), "").replace(flows("WaitDays>Overdue"), "")
    xml = xml.replace('<endEvent id="Overdue"/>', "")
    out, _err, raised = simulate(write(tmp_path, xml))
    assert raised is None
    assert 'state: waiting at: Gw (message "paid")' in out.splitlines()
    assert_nothing_kept()


def test_thrown_signal_reaches_the_waiting_branch(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, SIGNALS))
    assert result["state"] == "completed"
    assert result["path"].index("Shout") < result["path"].index("Listen")
    assert result["end_events"] == ["e"]


# --- call activities and task data -------------------------------------------------------------


def test_called_process_of_the_same_file_runs_with_per_task_data(tmp_path: Path) -> None:
    path = write(tmp_path, CALLING)
    result = simulate_json(path, "--task-vars", '{"Fill": {"a": 1}, "Approve": {"b": 2}}')
    assert result["process"] == "main"
    assert result["state"] == "completed"
    assert result["user_tasks"] == ["Fill", "Approve"]
    # each instance's elements in order; across the two, history ids are not chronological
    # within one action (Run.flush writes the rows of the runs it started or notified first)
    main = [e for e in result["path"] if e in {"ms", "CallChild", "Approve", "me"}]
    assert main == ["ms", "CallChild", "Approve", "me"]
    assert [e for e in result["path"] if e in {"cs", "Fill", "ce"}] == ["cs", "Fill", "ce"]
    assert {"a": 1, "b": 2}.items() <= result["variables"].items()
    child = simulate_json(path, "--process", "child", "--task-vars", '{"Fill": {"a": 1}}')
    assert child["process"] == "child"
    assert child["path"] == ["cs", "Fill", "ce"]


def test_flat_task_data_completes_every_task(tmp_path: Path) -> None:
    result = simulate_json(write(tmp_path, CALLING), "--task-vars", '{"Fill": 1, "ok": true}')
    assert {"Fill": 1, "ok": True}.items() <= result["variables"].items()


def test_called_process_already_deployed(tmp_path: Path) -> None:
    child_only = bpmn(
        (
            "child",
            '<startEvent id="cs"/><userTask id="Fill"/><endEvent id="ce"/>'
            + flows("cs>Fill", "Fill>ce"),
        )
    )
    definitions.definition_deploy(xml=child_only, source_name="child.bpmn")
    main_only = CALLING.split('<process id="child"')[0] + "\n</definitions>\n"
    result = simulate_json(write(tmp_path, main_only), "--task-vars", '{"Fill": {"a": 1}}')
    assert result["user_tasks"] == ["Fill", "Approve"]
    assert result["variables"]["a"] == 1
    assert list(ProcessDefinition.objects.values_list("key", flat=True)) == ["child"]
    assert not ProcessInstance.objects.exists()


# --- errors -------------------------------------------------------------------------------------


def test_endless_loop_is_the_engines_process_error(tmp_path: Path) -> None:
    path = write(tmp_path, ENDLESS)
    out, err, raised = simulate(path, "--vars", '{"done": 0}')
    assert isinstance(raised, CommandError)
    assert raised.returncode == 1
    (line,) = err.splitlines()
    assert line.startswith(f"{path}: ")
    assert "without reaching a wait state; it loops for ever" in line
    assert line.split(": ")[1] in {"Work", "Again"}
    assert "state: error at " in out
    assert_nothing_kept()
    result = simulate_json(path, "--vars", '{"done": 1}')
    assert result["end_events"] == ["e"]


def test_step_limit_stops_a_loop_through_jobs(tmp_path: Path) -> None:
    path = write(tmp_path, SERVICE_LOOP)
    _out, err, raised = simulate(path, "--vars", '{"done": 0}', "--max-steps", "25")
    assert isinstance(raised, CommandError)
    assert err.strip() == (
        f"{path}: Work: the process did not reach a wait state / end within 25 steps"
    )
    out, err, raised = simulate(path, "--vars", '{"done": 0}', "--max-steps", "25", "--json")
    result = json.loads(out)
    assert result["state"] == "error"
    assert result["steps"] == 25
    assert result["path"].count("Work") == 25
    assert_nothing_kept()


def test_failing_application_is_an_error(tmp_path: Path) -> None:
    from workflow.applications import ApplicationError

    def refuse(call: ApplicationCall) -> None:
        raise ApplicationError("crm.poll: the CRM refused", permanent=True)

    applications.register(Application("crm.poll", "poll", refuse, inline=True))
    try:
        path = write(tmp_path, SERVICE_LOOP)
        _out, err, raised = simulate(path, "--vars", '{"done": 0}')
    finally:
        applications.unregister("crm.poll")
    assert isinstance(raised, CommandError)
    assert err.strip() == f"{path}: Work: crm.poll: the CRM refused"


def test_inline_application_with_a_missing_parameter_names_the_element(tmp_path: Path) -> None:
    from workflow.applications import Parameter

    applications.register(
        Application(
            "crm.poll", "poll", lambda call: None, (Parameter("account", "string"),), inline=True
        )
    )
    try:
        path = write(tmp_path, SERVICE_LOOP)
        _out, err, raised = simulate(path, "--vars", '{"done": 1}')
    finally:
        applications.unregister("crm.poll")
    assert isinstance(raised, CommandError)
    assert err.strip() == f"{path}: Work: crm.poll: account is required"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--vars", "{nope"), "--vars: not valid JSON"),
        (("--vars", "[1, 2]"), "--vars: a JSON object"),
        (("--task-vars", "{"), "--task-vars: not valid JSON"),
        (("--message", "paid:{"), "--message paid: not valid JSON"),
        (("--message", ":{}"), "the message name is missing"),
        (("--max-steps", "0"), "is not a positive whole number"),
        (("--timers", "soon"), "invalid choice"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out, _err, raised = simulate(write(tmp_path, PAYMENT), *args)
    assert isinstance(raised, CommandError)
    assert message in str(raised)
    assert out == ""
    assert_nothing_kept()


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.bpmn"
    out, err, raised = simulate(missing)
    assert isinstance(raised, CommandError)
    assert raised.returncode == 1
    assert err.strip() == f"{missing}: <file>: cannot be read: No such file or directory"
    assert out == ""


def test_invalid_bpmn_lists_every_problem(tmp_path: Path) -> None:
    broken = bpmn(
        (
            "broken",
            '<startEvent id="s"/><scriptTask id="Script"/><exclusiveGateway id="Gw"/>'
            '<endEvent id="e"/><endEvent id="e2"/>'
            + flows("s>Script", "Script>Gw", "Gw>e?amount &gt;", "Gw>e2?amount &lt; 3"),
        )
    )
    path = write(tmp_path, broken)
    out, err, raised = simulate(path)
    assert isinstance(raised, CommandError)
    assert raised.returncode == 1
    lines = err.splitlines()
    assert {line.split(": ")[1] for line in lines} == {"Script", "Gw-e"}
    assert all(line.startswith(f"{path}: ") for line in lines)
    assert out == ""
    assert_nothing_kept()


def test_malformed_file_and_unknown_process(tmp_path: Path) -> None:
    path = write(tmp_path, "<definitions")
    _out, err, raised = simulate(path)
    assert isinstance(raised, CommandError)
    assert err.startswith(f"{path}: <file>: ")
    path = write(tmp_path, PAYMENT)
    _out, err, raised = simulate(path, "--process", "nope")
    assert isinstance(raised, CommandError)
    assert err.strip() == (
        f'{path}: <file>: the file has no executable process "nope" (it has: payment)'
    )


# --- nothing stays ------------------------------------------------------------------------------


def test_nothing_stays_and_a_deployed_version_is_untouched(tmp_path: Path) -> None:
    definitions.definition_deploy(xml=BOUNDARY_TIMER, source_name="review.bpmn")
    before = list(ProcessDefinition.objects.values_list("pk", "key", "version"))
    changed = BOUNDARY_TIMER.replace('<endEvent id="Done"/>', '<endEvent id="Finished"/>')
    changed = changed.replace('targetRef="Done"', 'targetRef="Finished"').replace(
        "Review-Done", "Review-Finished"
    )
    result = simulate_json(write(tmp_path, changed))
    assert result["end_events"] == ["Finished"]  # the new version ran
    assert list(ProcessDefinition.objects.values_list("pk", "key", "version")) == before
    for model in (ProcessInstance, Execution, Task, Job, Subscription, HistoryEvent):
        assert not model.objects.exists(), model.__name__
    # the graph cached for the rolled-back version must not answer for a later deployment
    definitions.definition_deploy(xml=PAYMENT, source_name="payment.bpmn")
    instance_id = engine.instance_start("payment")
    assert Subscription.objects.get(instance_id=instance_id).name == "paid"


def test_stand_ins_replace_outside_applications_only_during_the_run(tmp_path: Path) -> None:
    calls: list[ApplicationCall] = []
    outside = Application("crm.poll", "poll", calls.append)  # not inline: outside the database
    applications.register(outside)
    try:
        result = simulate_json(write(tmp_path, SERVICE_LOOP), "--vars", '{"done": 1}')
        assert applications.get("crm.poll") is outside
    finally:
        applications.unregister("crm.poll")
    assert result["notes"] == ["crm.poll acts outside the database: a no-op stands in for it"]
    assert result["state"] == "completed"
    assert calls == []
    assert "crm.poll" not in applications
    simulate_json(write(tmp_path, SERVICE_LOOP), "--vars", '{"done": 1}')
    assert "crm.poll" not in applications  # the stand-in went away again


def test_inline_applications_run_for_real(tmp_path: Path) -> None:
    xml = SERVICE_LOOP.replace(
        'camunda:type="crm.poll"', 'camunda:type="variables.set" camunda:param.done="yes"'
    ).replace("done &gt; 0", "done == 'yes'")
    result = simulate_json(write(tmp_path, xml), "--vars", '{"done": 0}')
    assert result["notes"] == []
    assert result["variables"] == {"done": "yes"}
    assert result["end_events"] == ["e"]
