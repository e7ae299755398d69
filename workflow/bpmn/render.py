"""Draw a BPMN diagram (its DI) as SVG text, optionally highlighting a process instance's state.

Pure Python, no Django import and no third-party dependency: the markup is built as text, every
name and attribute escaped (names come from uploaded files). Styling lives in one ``<style>``
block; each element is a ``<g class="bpmn-element bpmn-<tag> [is-active|is-completed|is-failed]"
data-element-id="<id>">`` the UI can attach tooltips and clicks to.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from xml.sax.saxutils import escape, quoteattr

from workflow.bpmn.model import (
    Bounds,
    Definitions,
    Diagram,
    Edge,
    EventTrigger,
    Graphic,
    Point,
    Shape,
)

__all__ = ["Highlight", "RenderError", "render_svg"]

FONT_SIZE = 12.0
LINE_HEIGHT = 14.0
SMALL_FONT_SIZE = 10.0
SMALL_LINE_HEIGHT = 11.5
MARGIN = 30.0
EXTERNAL_LABEL_WIDTH = 90.0
BAND = 30.0  # the name band of pools and lanes

ACTIVITY_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "scriptTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
SUB_PROCESS_TAGS = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENT_TAGS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
    }
)
GATEWAY_TAGS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
DATA_OBJECT_TAGS = frozenset({"dataObject", "dataObjectReference", "dataInput", "dataOutput"})
DATA_STORE_TAGS = frozenset({"dataStore", "dataStoreReference"})
# shapes whose name is drawn outside (below) the shape
EXTERNAL_LABEL_TAGS = EVENT_TAGS | GATEWAY_TAGS | DATA_OBJECT_TAGS | DATA_STORE_TAGS

STYLE = (
    ".bpmn-element .b{fill:#fff;stroke:#222;stroke-width:1.5}"
    ".bpmn-element .i{fill:none;stroke:#222;stroke-width:1.5;stroke-linejoin:round}"
    ".bpmn-element .f{fill:#222;stroke:#222;stroke-width:1}"
    ".bpmn-element .w{fill:#fff;stroke:#222;stroke-width:1}"
    ".bpmn-element .wl{fill:none;stroke:#fff;stroke-width:1}"
    ".bpmn-element .l{fill:none;stroke:#222;stroke-width:1.5;stroke-linejoin:round}"
    ".bpmn-element .hit{fill:none;stroke:transparent;stroke-width:10}"
    "text{font-family:Arial,'Helvetica Neue','PingFang SC','Microsoft YaHei','Noto Sans CJK SC',"
    "sans-serif;font-size:12px;fill:#222}"
    "text.c{text-anchor:middle}"
    "text.s{font-size:10px}"
    ".bpmn-participant .b,.bpmn-lane .b{fill:none}"
    ".bpmn-participant .band,.bpmn-lane .band{fill:none;stroke:#222;stroke-width:1.5}"
    ".bpmn-lane .b,.bpmn-lane .band{stroke-width:1}"
    ".bpmn-group .b{fill:none;stroke-dasharray:8 3 1 3}"
    ".bpmn-textAnnotation .b{fill:none;stroke:none}"
    ".bpmn-textAnnotation .l{stroke-width:1}"
    ".bpmn-endEvent .b{stroke-width:4}"
    ".bpmn-callActivity .b{stroke-width:4}"
    ".bpmn-unknown .b{fill:#f5f5f5;stroke:#999;stroke-dasharray:4 2}"
    ".dash .b{stroke-dasharray:6 3}"
    ".evsub .b{stroke-dasharray:2 3}"
    ".bpmn-messageFlow .l{stroke-dasharray:8 5;stroke-width:1.2}"
    ".bpmn-association .l,.bpmn-dataInputAssociation .l,.bpmn-dataOutputAssociation .l"
    "{stroke-dasharray:2 4;stroke-width:1.2}"
    "marker .mf{fill:#222;stroke:#222;stroke-width:1}"
    "marker .mo{fill:#fff;stroke:#222;stroke-width:1.2}"
    "marker .ml{fill:none;stroke:#222;stroke-width:1.5}"
    "marker.done .mf{fill:#2e7d32;stroke:#2e7d32}"
    "marker.done .mo,marker.done .ml{stroke:#2e7d32}"
    ".is-completed .b{stroke:#2e7d32;fill:#edf7ee}"
    ".is-completed .i,.is-completed .l{stroke:#2e7d32}"
    ".is-completed .f{fill:#2e7d32;stroke:#2e7d32}"
    ".is-completed text{fill:#1b5e20}"
    ".is-active .b{stroke:#1565c0;stroke-width:3.5;fill:#e8f1fc}"
    ".is-active .i{stroke:#1565c0}"
    ".is-active .f{fill:#1565c0;stroke:#1565c0}"
    ".is-failed .b{stroke:#c62828;stroke-width:3;fill:#fdecea}"
    ".is-failed .i,.is-failed .l{stroke:#c62828}"
    ".is-failed .f{fill:#c62828;stroke:#c62828}"
    ".bpmn-participant.is-completed .b,.bpmn-lane.is-completed .b,"
    ".bpmn-group.is-completed .b{fill:none}"
    ".heat{stroke:none;pointer-events:none}"
    ".badge rect{fill:#1565c0;stroke:#fff;stroke-width:1}"
    ".badge text{fill:#fff;font-size:11px;font-weight:bold;text-anchor:middle}"
)


class RenderError(Exception):
    """The definitions cannot be drawn (no diagram, or not the diagram asked for)."""


@dataclass(frozen=True)
class Highlight:
    """A process instance's (or a monitoring view's) state to paint on the diagram."""

    active: frozenset[str] = frozenset()  # element ids where tokens wait now
    completed: frozenset[str] = frozenset()  # elements and flows the instance passed
    failed: frozenset[str] = frozenset()  # elements with an incident
    heat: Mapping[str, float] = field(default_factory=dict)  # element id -> 0..1
    badges: Mapping[str, str] = field(default_factory=dict)  # element id -> small text


# --- numbers, text -------------------------------------------------------------------------


def _n(value: float) -> str:
    """A compact coordinate: at most one decimal, no trailing zero."""
    if not math.isfinite(value):
        return "0"
    text = f"{value:.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return "0" if text == "-0" else text


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _char_width(char: str, size: float = FONT_SIZE) -> float:
    return size if _is_wide(char) else size * 0.55


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """A rough width of ``text`` in px: CJK ≈ 1em, everything else ≈ 0.55em."""
    return sum(_char_width(c, size) for c in text)


def _atoms(word: str) -> list[str]:
    """Split a word where it may break: around every wide (CJK) character, after a slash or
    a hyphen."""
    atoms: list[str] = []
    current = ""
    for char in word:
        if _is_wide(char):
            if current:
                atoms.append(current)
                current = ""
            atoms.append(char)
        else:
            current += char
            if char in "/-" and len(current) > 1:
                atoms.append(current)
                current = ""
    if current:
        atoms.append(current)
    return atoms


def wrap(text: str, width: float, size: float = FONT_SIZE) -> list[str]:
    """Greedy wrap of ``text`` into lines at most ``width`` px wide (roughly measured); breaks
    between words, between CJK characters, and inside a word longer than a line."""
    width = max(width, size * 1.5)
    lines: list[str] = []
    for paragraph in text.replace("\r\n", "\n").split("\n"):
        line = ""
        line_w = 0.0
        for word in paragraph.split():
            for k, atom in enumerate(_atoms(word)):
                joiner = " " if k == 0 and line else ""
                atom_w = text_width(atom, size)
                join_w = text_width(joiner, size)
                if line and line_w + join_w + atom_w <= width:
                    line += joiner + atom
                    line_w += join_w + atom_w
                    continue
                if line:
                    lines.append(line)
                    line, line_w = "", 0.0
                # the atom starts a line; break it if it is longer than one
                for char in atom:
                    cw = _char_width(char, size)
                    if line and line_w + cw > width:
                        lines.append(line)
                        line, line_w = "", 0.0
                    line += char
                    line_w += cw
        lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def _clip_lines(
    lines: list[str], max_lines: int, width: float, size: float = FONT_SIZE
) -> list[str]:
    if len(lines) <= max_lines:
        return lines
    kept = lines[: max(max_lines, 1)]
    last = kept[-1]
    while last and text_width(last + "…", size) > width:
        last = last[:-1]
    kept[-1] = last + "…"
    return kept


def _class_token(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", value) or "unknown"


def _text(
    lines: list[str],
    x: float,
    y: float,
    *,
    anchor_middle: bool = True,
    css: str = "",
    transform: str = "",
    line_height: float = LINE_HEIGHT,
) -> str:
    """A ``<text>`` whose first baseline is at ``y``, one ``<tspan>`` per line."""
    if not lines:
        return ""
    classes = " ".join(c for c in ("c" if anchor_middle else "", css) if c)
    attrs = f' class="{classes}"' if classes else ""
    if transform:
        attrs += f" transform={quoteattr(transform)}"
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(y + i * line_height)}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f"<text{attrs}>{spans}</text>"


def _centered_text(lines: list[str], cx: float, cy: float, *, transform: str = "") -> str:
    """Lines centred vertically on ``cy`` (baseline offset ≈ 0.35em for a 12 px font)."""
    first = cy - (len(lines) - 1) * LINE_HEIGHT / 2 + FONT_SIZE * 0.35
    return _text(lines, cx, first, transform=transform)


# --- geometry --------------------------------------------------------------------------------


class _Box:
    """The growing bounding box of everything drawn."""

    def __init__(self) -> None:
        self.x0 = math.inf
        self.y0 = math.inf
        self.x1 = -math.inf
        self.y1 = -math.inf

    def add(self, x: float, y: float, w: float = 0.0, h: float = 0.0) -> None:
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            return
        self.x0 = min(self.x0, x)
        self.y0 = min(self.y0, y)
        self.x1 = max(self.x1, x + w)
        self.y1 = max(self.y1, y + h)

    def add_bounds(self, b: Bounds) -> None:
        self.add(b.x, b.y, b.width, b.height)

    @property
    def empty(self) -> bool:
        return self.x0 > self.x1


def _midpoint(points: tuple[Point, ...]) -> tuple[float, float, float, float]:
    """The point halfway along a polyline and the direction (dx, dy) of that segment."""
    lengths = [math.dist((a.x, a.y), (b.x, b.y)) for a, b in pairwise(points)]
    half = sum(lengths) / 2
    for (a, b), length in zip(pairwise(points), lengths, strict=True):
        if length and half <= length:
            t = half / length
            return a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t, b.x - a.x, b.y - a.y
        half -= length
    p = points[0]
    return p.x, p.y, 0.0, 0.0


# --- the renderer ----------------------------------------------------------------------------


@dataclass
class _Context:
    definitions: Definitions
    highlight: Highlight
    box: _Box
    markers: set[str]  # marker ids used


def _graphic(definitions: Definitions, element_id: str) -> Graphic | None:
    return definitions.graphics.get(element_id)


def _is_expanded(shape: Shape, graphic: Graphic) -> bool:
    if graphic.tag not in SUB_PROCESS_TAGS and graphic.tag != "callActivity":
        return False
    if "collapsed" in graphic.markers:
        return False
    if shape.is_expanded is not None:
        return shape.is_expanded
    if graphic.tag == "callActivity":
        return False
    # no isExpanded in the file: a shape far larger than a task was drawn expanded
    return shape.bounds.width > 160 and shape.bounds.height > 110


def _layer(shape: Shape, graphic: Graphic | None) -> int:
    tag = graphic.tag if graphic else ""
    if tag == "participant":
        return 0
    if tag == "lane":
        return 1
    if graphic is not None and (tag == "group" or _is_expanded(shape, graphic)):
        return 2
    if tag == "boundaryEvent":
        return 4
    return 3


def _ordered_shapes(definitions: Definitions, diagram: Diagram) -> list[Shape]:
    """Containers first (pools, lanes, expanded sub-processes and groups, larger before
    smaller so that nested ones come after their parent), then flow nodes in file order,
    then boundary events on top of their activities."""

    def key(item: tuple[int, Shape]) -> tuple[int, float, int]:
        index, shape = item
        layer = _layer(shape, _graphic(definitions, shape.element_id))
        area = shape.bounds.width * shape.bounds.height if layer <= 2 else 0.0
        return layer, -area, index

    return [shape for _, shape in sorted(enumerate(diagram.shapes), key=key)]


def _group_open(ctx: _Context, element_id: str, tag: str, extra: Iterable[str] = ()) -> str:
    h = ctx.highlight
    classes = ["bpmn-element", f"bpmn-{_class_token(tag)}", *extra]
    if element_id in h.completed:
        classes.append("is-completed")
    if element_id in h.active:
        classes.append("is-active")
    if element_id in h.failed:
        classes.append("is-failed")
    return f"<g class={quoteattr(' '.join(classes))} data-element-id={quoteattr(element_id)}>"


def _overlays(ctx: _Context, element_id: str, b: Bounds, *, round_shape: bool = False) -> str:
    """Heat overlay and badge of one element."""
    out = []
    h = ctx.highlight
    heat = h.heat.get(element_id)
    if heat is not None and math.isfinite(heat) and heat > 0:
        v = min(max(float(heat), 0.0), 1.0)
        # yellow (low) to red (high)
        green = round(200 * (1 - v))
        colour = f"#{255:02x}{green:02x}00"
        opacity = round(0.15 + 0.55 * v, 3)
        pad = 4.0
        if round_shape:
            r = min(b.width, b.height) / 2 + pad
            out.append(
                f'<circle class="heat" cx="{_n(b.x + b.width / 2)}" cy="{_n(b.y + b.height / 2)}"'
                f' r="{_n(r)}" fill="{colour}" fill-opacity="{opacity}"/>'
            )
        else:
            out.append(
                f'<rect class="heat" x="{_n(b.x - pad)}" y="{_n(b.y - pad)}"'
                f' width="{_n(b.width + 2 * pad)}" height="{_n(b.height + 2 * pad)}" rx="12"'
                f' fill="{colour}" fill-opacity="{opacity}"/>'
            )
    badge = h.badges.get(element_id)
    if badge:
        label = str(badge)[:12]
        bw = max(18.0, text_width(label, 11) + 10)
        cx = b.x + b.width
        cy = b.y
        out.append(
            f'<g class="badge"><rect x="{_n(cx - bw / 2)}" y="{_n(cy - 9)}" width="{_n(bw)}"'
            f' height="18" rx="9"/><text x="{_n(cx)}" y="{_n(cy + 4)}">{escape(label)}</text></g>'
        )
        ctx.box.add(cx - bw / 2, cy - 9, bw, 18)
    return "".join(out)


def _external_label(ctx: _Context, name: str, label: Bounds | None, cx: float, top: float) -> str:
    """A name outside its shape: in its DI label bounds, or centred below ``top``."""
    if not name.strip():
        return ""
    if label is not None and label.width > 0:
        # the tool measured the label with its own font: never break a word it kept whole
        longest = max((text_width(word) for word in name.split()), default=0.0)
        width = max(label.width + 8, min(longest, 2 * EXTERNAL_LABEL_WIDTH))
        lines = wrap(name, width)
        fits = max(1, round(label.height / LINE_HEIGHT))
        if len(lines) > fits:  # our width estimate is rough: widen a little rather than spill
            wider = wrap(name, width * 1.35)
            if len(wider) < len(lines):
                lines, width = wider, width * 1.35
        x = label.x + label.width / 2
        y = label.y
    else:
        width = EXTERNAL_LABEL_WIDTH
        lines = wrap(name, width)
        x, y = cx, top + 5
    lines = _clip_lines(lines, 6, width)
    widest = max((text_width(line) for line in lines), default=0.0)
    ctx.box.add(x - widest / 2, y, widest, len(lines) * LINE_HEIGHT)
    return _text(lines, x, y + FONT_SIZE * 0.85)


def _pentagon(radius: float) -> list[tuple[float, float]]:
    """The corners of an upright regular pentagon around (0, 0)."""
    angles = (-math.pi / 2 + k * 2 * math.pi / 5 for k in range(5))
    return [(radius * math.cos(a), radius * math.sin(a)) for a in angles]


# --- event icons -----------------------------------------------------------------------------


def _event_icon(trigger: EventTrigger, cx: float, cy: float, r: float, filled: bool) -> str:
    s = r / 18.0  # icons are drawn for a 36 px event

    def p(dx: float, dy: float) -> str:
        return f"{_n(cx + dx * s)},{_n(cy + dy * s)}"

    def poly(*pts: tuple[float, float], closed: bool = True, css: str = "") -> str:
        cls = css or ("f" if filled else "i")
        d = "M" + " L".join(p(x, y) for x, y in pts) + (" Z" if closed else "")
        return f'<path class="{cls}" d="{d}"/>'

    if trigger is EventTrigger.TIMER:
        ticks = "".join(
            f"M{p(9.5 * math.cos(a), 9.5 * math.sin(a))} L{p(11 * math.cos(a), 11 * math.sin(a))} "
            for a in (k * math.pi / 6 for k in range(12))
        )
        return (
            f'<circle class="w" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(11 * s)}"/>'
            f'<path class="i" style="stroke-width:1" d="{ticks}M{p(0, 0)} L{p(0, -8)} '
            f'M{p(0, 0)} L{p(6, 2)}"/>'
        )
    if trigger is EventTrigger.MESSAGE:
        body = "f" if filled else "w"
        line = "wl" if filled else "i"
        return (
            f'<rect class="{body}" x="{_n(cx - 9 * s)}" y="{_n(cy - 6 * s)}" width="{_n(18 * s)}"'
            f' height="{_n(12 * s)}"/>'
            f'<path class="{line}" d="M{p(-9, -6)} L{p(0, 1)} L{p(9, -6)}"/>'
        )
    if trigger is EventTrigger.SIGNAL:
        return poly((0, -10), (9, 6), (-9, 6))
    if trigger is EventTrigger.ERROR:
        return poly((-9, 9), (-4, -8), (2, 2), (9, -9), (4, 8), (-2, -2))
    if trigger is EventTrigger.TERMINATE:
        return f'<circle class="f" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(10 * s)}"/>'
    if trigger is EventTrigger.ESCALATION:
        return poly((0, -10), (7, 9), (0, 2), (-7, 9))
    if trigger is EventTrigger.CONDITIONAL:
        return (
            f'<rect class="w" x="{_n(cx - 7 * s)}" y="{_n(cy - 9 * s)}" width="{_n(14 * s)}"'
            f' height="{_n(18 * s)}"/>'
            f'<path class="i" style="stroke-width:1" d="M{p(-4, -5)} L{p(4, -5)} M{p(-4, -1.5)}'
            f' L{p(4, -1.5)} M{p(-4, 2)} L{p(4, 2)} M{p(-4, 5.5)} L{p(4, 5.5)}"/>'
        )
    if trigger is EventTrigger.LINK:
        return poly((-9, -4), (2, -4), (2, -9), (10, 0), (2, 9), (2, 4), (-9, 4))
    if trigger is EventTrigger.COMPENSATE:
        return poly((-10, 0), (-1, -7), (-1, 7)) + poly((0, 0), (9, -7), (9, 7))
    if trigger is EventTrigger.CANCEL:
        return poly(
            (-8, -5), (-5, -8), (0, -3), (5, -8), (8, -5), (3, 0),
            (8, 5), (5, 8), (0, 3), (-5, 8), (-8, 5), (-3, 0),
        )  # fmt: skip
    if trigger is EventTrigger.MULTIPLE:
        return poly(*_pentagon(10))
    return ""


def _draw_event(ctx: _Context, shape: Shape, g: Graphic) -> str:
    b = shape.bounds
    cx, cy = b.x + b.width / 2, b.y + b.height / 2
    r = min(b.width, b.height) / 2
    out = [f'<circle class="b" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>']
    if g.tag in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        out.append(
            f'<circle class="b" style="fill:none" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r - 3)}"/>'
        )
    filled = g.tag in ("endEvent", "intermediateThrowEvent")
    out.append(_event_icon(g.trigger, cx, cy, r, filled))
    return "".join(out)


# --- activities ------------------------------------------------------------------------------


def _task_icon(tag: str, x: float, y: float) -> str:
    """The task-type marker in a 16 px box at (x, y)."""

    def p(dx: float, dy: float) -> str:
        return f"{_n(x + dx)},{_n(y + dy)}"

    if tag == "userTask":
        return (
            f'<circle class="i" cx="{_n(x + 8)}" cy="{_n(y + 5)}" r="3.5"/>'
            f'<path class="i" d="M{p(1, 16)} C{p(1, 9)} {p(15, 9)} {p(15, 16)} Z"/>'
        )
    if tag == "serviceTask":
        return (
            f'<circle class="i" cx="{_n(x + 8)}" cy="{_n(y + 8)}" r="5.5"'
            ' style="stroke-width:3;stroke-dasharray:2.16 2.16"/>'
            f'<circle class="i" cx="{_n(x + 8)}" cy="{_n(y + 8)}" r="4"/>'
            f'<circle class="i" cx="{_n(x + 8)}" cy="{_n(y + 8)}" r="1.5"/>'
        )
    if tag in ("sendTask", "receiveTask"):
        body, line = ("f", "wl") if tag == "sendTask" else ("w", "i")
        return (
            f'<rect class="{body}" x="{_n(x)}" y="{_n(y + 3)}" width="17" height="11"/>'
            f'<path class="{line}" d="M{p(0, 3)} L{p(8.5, 9)} L{p(17, 3)}"/>'
        )
    if tag == "manualTask":
        return (
            f'<path class="i" style="stroke-width:1" d="M{p(1, 8)} L{p(6, 3)} L{p(16, 3)}'
            f" M{p(7, 6)} L{p(17, 6)} M{p(8, 9)} L{p(17, 9)} M{p(8, 12)} L{p(15, 12)}"
            f' M{p(1, 8)} L{p(1, 13)} Q{p(2, 15)} {p(5, 15)} L{p(13, 15)}"/>'
        )
    if tag == "scriptTask":
        return (
            f'<path class="i" style="stroke-width:1" d="M{p(3, 1)} L{p(15, 1)} C{p(11, 5)}'
            f" {p(17, 11)} {p(13, 15)} L{p(1, 15)} C{p(5, 11)} {p(-1, 5)} {p(3, 1)} Z"
            f' M{p(5, 5)} L{p(11, 5)} M{p(6, 8)} L{p(12, 8)} M{p(6, 11)} L{p(12, 11)}"/>'
        )
    if tag == "businessRuleTask":
        return (
            f'<rect class="w" x="{_n(x)}" y="{_n(y + 2)}" width="17" height="13"/>'
            f'<rect class="f" x="{_n(x)}" y="{_n(y + 2)}" width="17" height="3.5"/>'
            f'<path class="i" style="stroke-width:1" d="M{p(0, 9.5)} L{p(17, 9.5)}'
            f' M{p(5, 5.5)} L{p(5, 15)}"/>'
        )
    return ""


def _bottom_markers(markers: list[str], cx: float, bottom: float) -> str:
    """The loop / multi-instance / compensation / ad-hoc / collapsed markers, centred."""
    size, gap = 14.0, 4.0
    total = len(markers) * size + (len(markers) - 1) * gap
    x = cx - total / 2
    y = bottom - size - 4
    out = []
    for marker in markers:

        def p(dx: float, dy: float, x: float = x) -> str:
            return f"{_n(x + dx)},{_n(y + dy)}"

        if marker == "parallel-mi":
            out.append(
                f'<path class="i" style="stroke-width:2" d="M{p(3, 1)} L{p(3, 13)} M{p(7, 1)}'
                f' L{p(7, 13)} M{p(11, 1)} L{p(11, 13)}"/>'
            )
        elif marker == "sequential-mi":
            out.append(
                f'<path class="i" style="stroke-width:2" d="M{p(1, 3)} L{p(13, 3)} M{p(1, 7)}'
                f' L{p(13, 7)} M{p(1, 11)} L{p(13, 11)}"/>'
            )
        elif marker == "loop":
            out.append(
                f'<path class="i" d="M{p(4, 12)} A5.5 5.5 0 1 1 {p(10, 12)}'
                f' M{p(10, 8.5)} L{p(10, 12.5)} L{p(14, 12.5)}"/>'
            )
        elif marker == "compensation":
            out.append(
                f'<path class="i" d="M{p(0, 7)} L{p(7, 2)} L{p(7, 12)} Z M{p(7, 7)}'
                f' L{p(14, 2)} L{p(14, 12)} Z"/>'
            )
        elif marker == "adhoc":
            out.append(
                f'<path class="i" d="M{p(0, 8)} C{p(3, 3)} {p(6, 4)} {p(7, 7)}'
                f' C{p(8, 10)} {p(11, 11)} {p(14, 6)}"/>'
            )
        elif marker == "collapsed":
            out.append(
                f'<rect class="i" x="{_n(x)}" y="{_n(y)}" width="14" height="14"/>'
                f'<path class="i" d="M{p(3, 7)} L{p(11, 7)} M{p(7, 3)} L{p(7, 11)}"/>'
            )
        x += size + gap
    return "".join(out)


def _inner_name(name: str, b: Bounds, *, top: float, bottom: float) -> str:
    """A name centred inside a shape, between ``top`` and ``bottom`` paddings (clear of the
    task icon and the markers); a name that does not fit gets a smaller font, then an
    ellipsis."""
    width = b.width - 10
    room = b.height - top - bottom
    if room < 2 * LINE_HEIGHT:  # a small shape: let the name use the whole height
        top, bottom, room = 2.0, 2.0, b.height - 4
    lines = wrap(name, width)
    size, line_height, css = FONT_SIZE, LINE_HEIGHT, ""
    if len(lines) * LINE_HEIGHT > room:
        small = wrap(name, width, SMALL_FONT_SIZE)
        size, line_height, css = SMALL_FONT_SIZE, SMALL_LINE_HEIGHT, "s"
        lines = _clip_lines(small, max(1, int(room // line_height)), width, size)
    mid = b.y + top + room / 2
    first = mid - (len(lines) - 1) * line_height / 2 + size * 0.35
    return _text(lines, b.x + b.width / 2, first, css=css, line_height=line_height)


def _draw_activity(ctx: _Context, shape: Shape, g: Graphic) -> tuple[str, list[str]]:
    """The activity's markup and the extra class names of its group."""
    b = shape.bounds
    extra: list[str] = []
    expanded = _is_expanded(shape, g)
    out = [
        f'<rect class="b" x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}"'
        f' height="{_n(b.height)}" rx="10"/>'
    ]
    if g.tag == "transaction":
        out.append(
            f'<rect class="b" style="fill:none" x="{_n(b.x + 3)}" y="{_n(b.y + 3)}"'
            f' width="{_n(b.width - 6)}" height="{_n(b.height - 6)}" rx="7"/>'
        )
    if "event-sub-process" in g.markers:
        extra.append("evsub")
    out.append(_task_icon(g.tag, b.x + 6, b.y + 6))
    markers: list[str] = []
    for m in ("loop", "parallel-mi", "sequential-mi", "compensation"):
        if m in g.markers:
            markers.append(m)
    if g.tag == "adHocSubProcess":
        markers.append("adhoc")
    if not expanded and (g.tag in SUB_PROCESS_TAGS or g.tag == "callActivity"):
        markers.append("collapsed")
    if markers:
        out.append(_bottom_markers(markers, b.x + b.width / 2, b.y + b.height))
    name = g.name.strip()
    if name:
        if expanded:
            width = b.width - 16
            lines = _clip_lines(wrap(name, width), 3, width)
            out.append(_text(lines, b.x + 8, b.y + 16, anchor_middle=False))
        else:
            has_icon = g.tag not in ("task", "callActivity") and g.tag not in SUB_PROCESS_TAGS
            out.append(
                _inner_name(name, b, top=22.0 if has_icon else 4.0, bottom=18.0 if markers else 4.0)
            )
    return "".join(out), extra


# --- gateways, data, artifacts, swimlanes ---------------------------------------------------


def _draw_gateway(ctx: _Context, shape: Shape, g: Graphic) -> str:
    b = shape.bounds
    cx, cy = b.x + b.width / 2, b.y + b.height / 2
    hw, hh = b.width / 2, b.height / 2
    s = min(hw, hh) / 25.0

    def p(dx: float, dy: float) -> str:
        return f"{_n(cx + dx * s)},{_n(cy + dy * s)}"

    out = [
        f'<path class="b" d="M{_n(cx)},{_n(b.y)} L{_n(b.x + b.width)},{_n(cy)}'
        f' L{_n(cx)},{_n(b.y + b.height)} L{_n(b.x)},{_n(cy)} Z"/>'
    ]
    thick = ' style="stroke-width:3.5"'
    if g.tag == "exclusiveGateway" and shape.is_marker_visible is not False:
        out.append(f'<path class="i"{thick} d="M{p(-8, -8)} L{p(8, 8)} M{p(8, -8)} L{p(-8, 8)}"/>')
    elif g.tag == "parallelGateway":
        out.append(
            f'<path class="i"{thick} d="M{p(0, -12)} L{p(0, 12)} M{p(-12, 0)} L{p(12, 0)}"/>'
        )
    elif g.tag == "inclusiveGateway":
        out.append(f'<circle class="i"{thick} cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(10 * s)}"/>')
    elif g.tag == "complexGateway":
        out.append(
            f'<path class="i"{thick} d="M{p(0, -12)} L{p(0, 12)} M{p(-12, 0)} L{p(12, 0)}'
            f' M{p(-8.5, -8.5)} L{p(8.5, 8.5)} M{p(8.5, -8.5)} L{p(-8.5, 8.5)}"/>'
        )
    elif g.tag == "eventBasedGateway":
        pts = " L".join(p(dx, dy) for dx, dy in _pentagon(6))
        out.append(f'<circle class="i" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(12 * s)}"/>')
        if "instantiate" not in g.markers:
            out.append(f'<circle class="i" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(10 * s)}"/>')
        out.append(f'<path class="i" d="M{pts} Z"/>')
    return "".join(out)


def _draw_data_object(shape: Shape, g: Graphic) -> str:
    b = shape.bounds
    fold = min(10.0, b.width / 3)
    x1, y1 = b.x + b.width, b.y + b.height
    out = [
        f'<path class="b" d="M{_n(b.x)},{_n(b.y)} L{_n(x1 - fold)},{_n(b.y)} L{_n(x1)},'
        f'{_n(b.y + fold)} L{_n(x1)},{_n(y1)} L{_n(b.x)},{_n(y1)} Z"/>'
        f'<path class="i" style="stroke-width:1" d="M{_n(x1 - fold)},{_n(b.y)}'
        f' L{_n(x1 - fold)},{_n(b.y + fold)} L{_n(x1)},{_n(b.y + fold)}"/>'
    ]
    if g.tag in ("dataInput", "dataOutput"):
        x, y = b.x + 4, b.y + 4

        def p(dx: float, dy: float) -> str:
            return f"{_n(x + dx)},{_n(y + dy)}"

        cls = "f" if g.tag == "dataOutput" else "w"
        out.append(
            f'<path class="{cls}" d="M{p(0, 3)} L{p(6, 3)} L{p(6, 0)} L{p(11, 5)} L{p(6, 10)}'
            f' L{p(6, 7)} L{p(0, 7)} Z"/>'
        )
    if "collection" in g.markers:
        out.append(_bottom_markers(["parallel-mi"], b.x + b.width / 2, y1 + 2))
    return "".join(out)


def _draw_data_store(shape: Shape) -> str:
    b = shape.bounds
    ry = min(8.0, b.height / 6)
    x0, x1, y0, y1 = b.x, b.x + b.width, b.y + ry, b.y + b.height - ry
    rx = b.width / 2
    arc = f"A{_n(rx)} {_n(ry)} 0 0 0"
    return (
        f'<path class="b" d="M{_n(x0)},{_n(y0)} L{_n(x0)},{_n(y1)} {arc} {_n(x1)},{_n(y1)}'
        f' L{_n(x1)},{_n(y0)} {arc} {_n(x0)},{_n(y0)} Z"/>'
        f'<path class="i" d="M{_n(x0)},{_n(y0)} {arc} {_n(x1)},{_n(y0)}'
        f" M{_n(x0)},{_n(y0 + 5)} {arc} {_n(x1)},{_n(y0 + 5)}"
        f' M{_n(x0)},{_n(y0 + 10)} {arc} {_n(x1)},{_n(y0 + 10)}"/>'
    )


def _draw_annotation(shape: Shape, g: Graphic) -> str:
    b = shape.bounds
    arm = min(15.0, b.width)
    out = [
        f'<rect class="b" x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}"'
        f' height="{_n(b.height)}"/>'
        f'<path class="l" d="M{_n(b.x + arm)},{_n(b.y)} L{_n(b.x)},{_n(b.y)}'
        f' L{_n(b.x)},{_n(b.y + b.height)} L{_n(b.x + arm)},{_n(b.y + b.height)}"/>'
    ]
    content = (g.text or g.name).strip()
    if content:
        width = max(b.width - 10, 40.0)
        max_lines = max(1, int((b.height - 4) // LINE_HEIGHT))
        lines = _clip_lines(wrap(content, width), max(max_lines, 2), width)
        out.append(_text(lines, b.x + 5, b.y + 4 + FONT_SIZE, anchor_middle=False))
    return "".join(out)


def _draw_group(shape: Shape, g: Graphic) -> str:
    b = shape.bounds
    out = [
        f'<rect class="b" x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}"'
        f' height="{_n(b.height)}" rx="10"/>'
    ]
    if g.name.strip():
        label = shape.label
        if label is not None and label.width > 0:
            lines = wrap(g.name, label.width + 4)
            out.append(_text(lines, label.x + label.width / 2, label.y + FONT_SIZE * 0.85))
        else:
            lines = _clip_lines(wrap(g.name, b.width - 10), 2, b.width - 10)
            out.append(_text(lines, b.x + b.width / 2, b.y + 16))
    return "".join(out)


def _draw_swimlane(shape: Shape, g: Graphic) -> str:
    """A pool (participant) or a lane: its rectangle and a name band."""
    b = shape.bounds
    horizontal = shape.is_horizontal is not False
    out = [
        f'<rect class="b" x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}"'
        f' height="{_n(b.height)}"/>'
    ]
    name = g.name.strip()
    if horizontal:
        band = min(BAND, b.width)
        if g.tag == "participant":
            out.append(
                f'<path class="band" d="M{_n(b.x + band)},{_n(b.y)} L{_n(b.x + band)},'
                f'{_n(b.y + b.height)}"/>'
            )
        if name:
            length = max(b.height - 10, 20.0)
            lines = _clip_lines(wrap(name, length), 2 if band >= 28 else 1, length)
            cx, cy = b.x + band / 2, b.y + b.height / 2
            rotate = f"rotate(-90 {_n(cx)} {_n(cy)})"
            out.append(_centered_text(lines, cx, cy, transform=rotate))
    else:
        band = min(BAND, b.height)
        if g.tag == "participant":
            out.append(
                f'<path class="band" d="M{_n(b.x)},{_n(b.y + band)} L{_n(b.x + b.width)},'
                f'{_n(b.y + band)}"/>'
            )
        if name:
            width = max(b.width - 10, 20.0)
            lines = _clip_lines(wrap(name, width), 2, width)
            out.append(_centered_text(lines, b.x + b.width / 2, b.y + band / 2))
    return "".join(out)


def _draw_unknown(shape: Shape, name: str) -> str:
    b = shape.bounds
    out = [
        f'<rect class="b" x="{_n(b.x)}" y="{_n(b.y)}" width="{_n(b.width)}"'
        f' height="{_n(b.height)}" rx="4"/>'
    ]
    if name.strip():
        out.append(_inner_name(name.strip(), b, top=4.0, bottom=4.0))
    return "".join(out)


def _draw_shape(ctx: _Context, shape: Shape) -> str:
    b = shape.bounds
    ctx.box.add_bounds(b)
    if shape.label is not None:
        ctx.box.add_bounds(shape.label)
    g = _graphic(ctx.definitions, shape.element_id)
    tag = g.tag if g is not None else "unknown"
    extra: list[str] = []
    body: str
    label = ""
    round_shape = False
    if g is None:
        body = _draw_unknown(shape, "")
    elif tag in EVENT_TAGS:
        body = _draw_event(ctx, shape, g)
        round_shape = True
        if "non-interrupting" in g.markers or (
            tag == "startEvent" and "event-sub-process" in g.markers
        ):
            extra.append("dash")
    elif tag in ACTIVITY_TAGS:
        body, extra = _draw_activity(ctx, shape, g)
        if _is_expanded(shape, g):
            extra.append("expanded")
    elif tag in GATEWAY_TAGS:
        body = _draw_gateway(ctx, shape, g)
    elif tag in DATA_OBJECT_TAGS:
        body = _draw_data_object(shape, g)
    elif tag in DATA_STORE_TAGS:
        body = _draw_data_store(shape)
    elif tag == "textAnnotation":
        body = _draw_annotation(shape, g)
    elif tag == "group":
        body = _draw_group(shape, g)
    elif tag in ("participant", "lane"):
        body = _draw_swimlane(shape, g)
    else:
        body = _draw_unknown(shape, g.name)
        extra.append("bpmn-unknown")
    if g is not None and tag in EXTERNAL_LABEL_TAGS:
        label = _external_label(ctx, g.name, shape.label, b.x + b.width / 2, b.y + b.height)
    overlays = _overlays(ctx, shape.element_id, b, round_shape=round_shape)
    return _group_open(ctx, shape.element_id, tag, extra) + body + overlays + label + "</g>"


# --- edges -----------------------------------------------------------------------------------

_MARKERS = {
    # id: (markup in marker space: x along the line, the line ends/starts at 0,0)
    "seq-end": '<path class="mf" d="M-11,-5 L0,0 L-11,5 Z"/>',
    "msg-end": '<path class="mo" d="M-11,-5 L0,0 L-11,5 Z"/>',
    "msg-start": '<circle class="mo" cx="4.5" cy="0" r="4"/>',
    "default-start": '<path class="ml" d="M7,-6 L13,6"/>',
    "cond-start": '<path class="mo" d="M0,0 L8,-5 L16,0 L8,5 Z"/>',
    "open-end": '<path class="ml" d="M-10,-5 L0,0 L-10,5"/>',
    "open-start": '<path class="ml" d="M10,-5 L0,0 L10,5"/>',
}


def _marker_ref(ctx: _Context, name: str, done: bool) -> str:
    marker_id = f"bpmn-{name}{'-done' if done else ''}"
    ctx.markers.add(marker_id)
    return f"url(#{marker_id})"


def _marker_defs(used: set[str]) -> str:
    out = []
    for marker_id in sorted(used):
        name = marker_id.removeprefix("bpmn-").removesuffix("-done")
        css = ' class="done"' if marker_id.endswith("-done") else ""
        out.append(
            f'<marker id="{marker_id}"{css} markerUnits="userSpaceOnUse" markerWidth="20"'
            f' markerHeight="20" refX="0" refY="0" orient="auto" overflow="visible">'
            f"{_MARKERS[name]}</marker>"
        )
    return "".join(out)


def _draw_edge(ctx: _Context, edge: Edge) -> str:
    g = _graphic(ctx.definitions, edge.element_id)
    tag = g.tag if g is not None else "unknown"
    markers = g.markers if g is not None else frozenset()
    done = edge.element_id in ctx.highlight.completed
    points = tuple(p for p in edge.waypoints if math.isfinite(p.x) and math.isfinite(p.y))
    for p in points:
        ctx.box.add(p.x, p.y)
    if edge.label is not None:
        ctx.box.add_bounds(edge.label)
    out = [_group_open(ctx, edge.element_id, tag)]
    if len(points) >= 2:
        d = "M" + " L".join(f"{_n(p.x)},{_n(p.y)}" for p in points)
        start = end = ""
        if tag == "sequenceFlow":
            end = _marker_ref(ctx, "seq-end", done)
            if "default" in markers:
                start = _marker_ref(ctx, "default-start", done)
            elif "conditional" in markers:
                start = _marker_ref(ctx, "cond-start", done)
        elif tag == "messageFlow":
            start = _marker_ref(ctx, "msg-start", done)
            end = _marker_ref(ctx, "msg-end", done)
        elif tag in ("dataInputAssociation", "dataOutputAssociation"):
            end = _marker_ref(ctx, "open-end", done)
        elif tag == "association":
            if markers & {"directed", "one", "both"}:
                end = _marker_ref(ctx, "open-end", done)
            if "both" in markers:
                start = _marker_ref(ctx, "open-start", done)
        attrs = ""
        if start:
            attrs += f' marker-start="{start}"'
        if end:
            attrs += f' marker-end="{end}"'
        out.append(f'<path class="hit" d="{d}"/><path class="l" d="{d}"{attrs}/>')
        name = g.name.strip() if g is not None else ""
        if name:
            if edge.label is not None and edge.label.width > 0:
                out.append(_external_label(ctx, name, edge.label, 0, 0))
            else:
                mx, my, dx, dy = _midpoint(points)
                lines = _clip_lines(wrap(name, EXTERNAL_LABEL_WIDTH), 4, EXTERNAL_LABEL_WIDTH)
                widest = max((text_width(line) for line in lines), default=0.0)
                if abs(dx) >= abs(dy):  # horizontal segment: label above the line
                    x, y = mx, my - 6 - (len(lines) - 1) * LINE_HEIGHT
                    out.append(_text(lines, x, y))
                    ctx.box.add(x - widest / 2, y - FONT_SIZE, widest, len(lines) * LINE_HEIGHT)
                else:  # vertical segment: label to the right
                    x, y = mx + 6, my - (len(lines) - 1) * LINE_HEIGHT / 2 + 4
                    out.append(_text(lines, x, y, anchor_middle=False))
                    ctx.box.add(x, y - FONT_SIZE, widest, len(lines) * LINE_HEIGHT)
    out.append("</g>")
    return "".join(out)


# --- entry point -----------------------------------------------------------------------------


def _pick_diagram(definitions: Definitions, diagram_id: str | None) -> Diagram:
    if not definitions.diagrams:
        raise RenderError("the file has no diagram (BPMN DI); it can be executed but not drawn")
    if diagram_id is None:
        return definitions.diagrams[0]
    for diagram in definitions.diagrams:
        if diagram.id == diagram_id:
            return diagram
    raise RenderError(f"the file has no diagram with id {diagram_id!r}")


def _default_title(definitions: Definitions, diagram: Diagram) -> str:
    process = definitions.processes.get(diagram.plane_element)
    if process is not None and process.name:
        return process.name
    plane = definitions.graphics.get(diagram.plane_element)
    if plane is not None and plane.name:
        return plane.name
    for process in definitions.processes.values():
        if process.name:
            return process.name
    return diagram.name or (process.id if process else "") or definitions.id or "BPMN diagram"


def render_svg(
    definitions: Definitions,
    *,
    diagram_id: str | None = None,
    highlight: Highlight | None = None,
    title: str | None = None,
) -> str:
    """The SVG markup of one diagram of ``definitions`` (the first unless ``diagram_id``).

    Raises :class:`RenderError` when the file has no BPMN DI (or not the diagram asked for).
    """
    diagram = _pick_diagram(definitions, diagram_id)
    ctx = _Context(definitions, highlight or Highlight(), _Box(), set())
    parts = [_draw_shape(ctx, shape) for shape in _ordered_shapes(definitions, diagram)]
    parts.extend(_draw_edge(ctx, edge) for edge in diagram.edges)
    box = ctx.box
    if box.empty:
        box.add(0, 0, 100, 100)
    x0, y0 = box.x0 - MARGIN, box.y0 - MARGIN
    width, height = box.x1 - box.x0 + 2 * MARGIN, box.y1 - box.y0 + 2 * MARGIN
    caption = title if title is not None else _default_title(definitions, diagram)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" role="img"'
        f' viewBox="{_n(x0)} {_n(y0)} {_n(width)} {_n(height)}"'
        f' width="{_n(width)}" height="{_n(height)}"'
        f" data-diagram-id={quoteattr(diagram.id)}>"
        f"<title>{escape(caption)}</title>"
        f"<style>{STYLE}</style>"
        f"<defs>{_marker_defs(ctx.markers)}</defs>"
        f"{''.join(parts)}</svg>"
    )
