"""``manage.py deploy_process FILE...``: deploy BPMN files.

Prints ``<key> v<version> deployed|unchanged`` per process; on errors prints
``FILE: <element id>: <message>`` lines, deploys nothing from that file and exits non-zero.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflow.bpmn.model import BpmnError
from workflow.services.definitions import definition_deploy


class Command(BaseCommand):
    help = "Deploy BPMN 2.0 files (each file all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        failed = False
        for path in options["files"]:
            try:
                data = path.read_bytes()
            except OSError as exc:
                self.stderr.write(f"{path}: <file>: cannot be read: {exc.strerror}")
                failed = True
                continue
            try:
                results = definition_deploy(xml=data, source_name=path.name)
            except BpmnError as exc:
                for problem in exc.problems:
                    self.stderr.write(
                        f"{path}: {problem.element_id or '<file>'}: {problem.message}"
                    )
                failed = True
                continue
            for result in results:
                self.stdout.write(str(result))
        if failed:
            raise CommandError("some files were not deployed", returncode=1)
