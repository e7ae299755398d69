"""``manage.py simulate_process FILE``: run a BPMN file's process before deploying it.

Deploys the file's processes, starts one instance and drives it (user tasks, jobs, messages,
signals, timers) inside a transaction that is always rolled back; prints the path taken, the
end events reached, the final state and variables (``--json``: one JSON object). Nothing stays
in the database. Problems are printed as ``FILE: <element id>: <message>`` on stderr; exit
code 1 for bad input, a process error or the step limit.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflow.bpmn.model import BpmnError, Problem
from workflow.simulation import DEFAULT_MAX_STEPS, Message, SimulationResult, simulate


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _json_object(option: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"{option}: not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise CommandError(f"{option}: a JSON object ({{...}}) is expected")
    return value


def _message(text: str) -> Message:
    name, colon, variables = text.partition(":")
    if not name.strip():
        raise CommandError(f"--message {text}: the message name is missing")
    return Message(name.strip(), _json_object(f"--message {name}", variables) if colon else {})


def _signal(text: str) -> str:
    if not text.strip():
        raise CommandError("--signal: the signal name is missing")
    return text.strip()


class Command(BaseCommand):
    help = (
        "Simulate a BPMN file's process before deploying it: deploy, start, complete the user "
        "tasks, run the jobs, deliver messages and fire timers, then roll everything back. "
        "Invoked applications that are not registered, or that act outside the database, "
        "are replaced by no-ops for the run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--process",
            metavar="KEY",
            help="the process to start (default: the file's first executable process)",
        )
        parser.add_argument(
            "--vars", default="{}", metavar="JSON", help="the start variables, a JSON object"
        )
        parser.add_argument(
            "--task-vars",
            default="{}",
            metavar="JSON",
            help='the data every user task is completed with, a JSON object; or {"<user task '
            'id>": {...}, ...} for each task (when every key is a user task id)',
        )
        parser.add_argument(
            "--timers",
            choices=["lazy", "eager"],
            default="lazy",
            help="lazy (default): fire a timer only when nothing else can move; eager: fire "
            "each timer as soon as it is armed",
        )
        parser.add_argument(
            "--message",
            action="append",
            default=[],
            metavar="NAME[:JSON]",
            help="a message for the instance, with variables; repeat for several. When "
            "nothing else can move, the first one (in the order given) a token waits for is "
            "delivered, before a lazy timer fires",
        )
        parser.add_argument(
            "--signal",
            action="append",
            default=[],
            metavar="NAME",
            help="a signal to throw; repeat for several. When nothing else can move and no "
            "message is delivered, the first one (in the order given) a token waits for is "
            "thrown, before a lazy timer fires",
        )
        parser.add_argument(
            "--max-steps",
            type=_positive,
            default=DEFAULT_MAX_STEPS,
            metavar="N",
            help=f"give up after N actions (default {DEFAULT_MAX_STEPS})",
        )
        parser.add_argument(
            "--initiator",
            default="",
            metavar="USER",
            help='who starts the instance (default: the "initiator" start variable)',
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        variables = _json_object("--vars", options["vars"])
        task_data = _json_object("--task-vars", options["task_vars"])
        messages = [_message(text) for text in options["message"]]
        signals = [_signal(text) for text in options["signal"]]
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.stderr.write(f"{path}: <file>: cannot be read: {exc.strerror}")
            raise CommandError("nothing was simulated", returncode=1) from exc
        try:
            result = simulate(
                data,
                source_name=path.name,
                process_key=options["process"],
                variables=variables,
                task_data=task_data,
                timers=options["timers"],
                messages=messages,
                signals=signals,
                max_steps=options["max_steps"],
                initiator=options["initiator"],
            )
        except BpmnError as exc:
            for problem in exc.problems:
                self.stderr.write(self._problem(path, problem))
            raise CommandError("nothing was simulated", returncode=1) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, sort_keys=True))
        else:
            self._write_report(path, result)
        if result.error is not None:
            self.stderr.write(self._problem(path, result.error))
            raise CommandError("the simulation ended in an error", returncode=1)

    @staticmethod
    def _problem(path: Path, problem: Problem) -> str:
        return f"{path}: {problem.element_id or '<file>'}: {problem.message}"

    def _write_report(self, path: Path, result: SimulationResult) -> None:
        write = self.stdout.write
        write(f"simulation of {result.process_key} ({path.name}); nothing was kept")
        for note in result.notes:
            write(f"note: {note}")
        write("path:")
        for element_id in result.path:
            write(f"  {element_id}")
        write(f"end events: {', '.join(result.end_events) or '-'}")
        write(f"user tasks: {', '.join(result.user_tasks) or '-'}")
        write(f"timers fired: {result.timers_fired}")
        if result.messages_not_delivered:
            write(f"messages not delivered: {', '.join(result.messages_not_delivered)}")
        if result.signals_not_delivered:
            write(f"signals not delivered: {', '.join(result.signals_not_delivered)}")
        if result.state == "waiting":
            write(f"state: waiting at: {', '.join(result.waiting_at) or '-'}")
        elif result.error is not None:
            write(f"state: error at {result.error.element_id or '<file>'}: {result.error.message}")
        else:
            write(f"state: {result.state}")
        write("variables:")
        write(json.dumps(result.variables, ensure_ascii=False, sort_keys=True, indent=2))
