"""A handwritten signature as the browser's pad sends it (a PNG data URL), for the tests of
steps that ask for one (``camunda:property name="signature"``)."""

from __future__ import annotations

import base64
import io

from PIL import Image, ImageDraw

from workflow.engine.cache import graph_for_definition
from workflow.models import Task
from workflow.signatures import signature_mode


def drawing(width: int = 600, height: int = 200, *, ink: bool = True) -> bytes:
    """A pad: transparent, with a black stroke when ``ink``."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line(
            [(20, height - 40), (width // 3, 30), (width // 2, height - 50), (width - 30, 40)],
            fill=(17, 17, 17, 255),
            width=4,
        )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def signature_for(task: Task) -> str:
    """A signature when the task's step asks for one, else nothing."""
    graph = graph_for_definition(task.instance.definition_id)
    return data_url(drawing()) if signature_mode(graph.elements.get(task.element_id)) else ""
