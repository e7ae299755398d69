"""``manage.py render_process FILE -o out.svg``: draw a BPMN file's diagram as SVG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from workflow.bpmn.model import BpmnError
from workflow.bpmn.parser import parse_bpmn
from workflow.bpmn.render import Highlight, RenderError, render_svg


class Command(BaseCommand):
    help = "Render a BPMN file's diagram (BPMN DI) as SVG."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("-o", "--output", type=Path, required=True)
        parser.add_argument("--diagram", help="id of the diagram to draw (default: the first)")
        parser.add_argument("--active", default="", help="comma-separated element ids")
        parser.add_argument("--completed", default="", help="comma-separated element ids")
        parser.add_argument("--failed", default="", help="comma-separated element ids")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            definitions = parse_bpmn(path.read_bytes())

            def ids(name: str) -> frozenset[str]:
                return frozenset(filter(None, options[name].split(",")))

            highlight = Highlight(
                active=ids("active"), completed=ids("completed"), failed=ids("failed")
            )
            svg = render_svg(definitions, diagram_id=options["diagram"], highlight=highlight)
        except OSError as exc:
            raise CommandError(f"{path}: cannot be read: {exc.strerror}") from exc
        except BpmnError as exc:
            raise CommandError(
                "\n".join(f"{path}: {p.element_id or '<file>'}: {p.message}" for p in exc.problems)
            ) from exc
        except RenderError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        options["output"].write_text(svg, encoding="utf-8")
        self.stdout.write(f"{options['output']} written ({len(svg):,} bytes)")
