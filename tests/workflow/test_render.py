"""The SVG renderer of BPMN diagrams (``workflow.bpmn.render``): pure Python, no database.

Unit tests build small :class:`Definitions` by hand; the last tests parse and draw every shared
sample file (``../shared/bpmn``) once the parser is there.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.shared_files import shared_names, shared_path
from workflow.bpmn.model import (
    Bounds,
    Definitions,
    Diagram,
    Edge,
    Element,
    ElementKind,
    EventTrigger,
    Graphic,
    MultiInstance,
    Point,
    Process,
    SequenceFlow,
    Shape,
    frozen_map,
)
from workflow.bpmn.render import Highlight, RenderError, render_svg, text_width, wrap

SVG = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "svg"


# --- building definitions by hand -------------------------------------------------------------


def _definitions(
    graphics: list[Graphic],
    shapes: list[Shape],
    edges: list[Edge] | tuple[Edge, ...] = (),
    *,
    process: Process | None = None,
    plane: str = "Process_1",
) -> Definitions:
    process = process or Process(id="Process_1", name="Demo process")
    return Definitions(
        id="Defs_1",
        processes=frozen_map({process.id: process}),
        diagrams=(Diagram("Diagram_1", "", plane, tuple(shapes), tuple(edges)),),
        graphics=frozen_map({g.id: g for g in graphics}),
    )


def _edge(edge_id: str, *points: tuple[float, float], label: Bounds | None = None) -> Edge:
    return Edge(edge_id, tuple(Point(x, y) for x, y in points), label)


def approval_definitions(task_name: str = "Approve request") -> Definitions:
    """start → user task → exclusive gateway → two ends."""
    elements = {
        "Start": Element("Start", ElementKind.START_EVENT, "Request made", outgoing=("F1",)),
        "Task": Element("Task", ElementKind.USER_TASK, task_name, incoming=("F1",)),
        "Gw": Element("Gw", ElementKind.EXCLUSIVE_GATEWAY, "Approved?", default_flow="F4"),
        "EndOk": Element("EndOk", ElementKind.END_EVENT, "Done"),
        "EndNo": Element("EndNo", ElementKind.END_EVENT, "Rejected"),
    }
    flows = {
        "F1": SequenceFlow("F1", "Start", "Task"),
        "F2": SequenceFlow("F2", "Task", "Gw"),
        "F3": SequenceFlow("F3", "Gw", "EndOk", "yes", "approved"),
        "F4": SequenceFlow("F4", "Gw", "EndNo", "no"),
    }
    process = Process(
        "Process_1", "Leave approval", elements=frozen_map(elements), flows=frozen_map(flows)
    )
    graphics = [
        Graphic("Start", "startEvent", "Request made"),
        Graphic("Task", "userTask", task_name),
        Graphic("Gw", "exclusiveGateway", "Approved?"),
        Graphic("EndOk", "endEvent", "Done"),
        Graphic("EndNo", "endEvent", "Rejected", trigger=EventTrigger.TERMINATE),
        Graphic("F1", "sequenceFlow"),
        Graphic("F2", "sequenceFlow"),
        Graphic("F3", "sequenceFlow", "yes"),
        Graphic("F4", "sequenceFlow", "no", markers=frozenset({"default"})),
    ]
    shapes = [
        Shape("Start", Bounds(100, 100, 36, 36), label=Bounds(90, 143, 57, 14)),
        Shape("Task", Bounds(190, 78, 100, 80)),
        Shape("Gw", Bounds(345, 93, 50, 50), is_marker_visible=True),
        Shape("EndOk", Bounds(452, 100, 36, 36)),
        Shape("EndNo", Bounds(452, 210, 36, 36)),
    ]
    edges = [
        _edge("F1", (136, 118), (190, 118)),
        _edge("F2", (290, 118), (345, 118)),
        _edge("F3", (395, 118), (452, 118), label=Bounds(415, 100, 18, 14)),
        _edge("F4", (370, 143), (370, 228), (452, 228)),
    ]
    return _definitions(graphics, shapes, edges, process=process)


def pool_definitions() -> Definitions:
    graphics = [
        Graphic("Pool", "participant", "Company"),
        Graphic("LaneA", "lane", "Sales"),
        Graphic("LaneB", "lane", "Finance"),
        Graphic("S", "startEvent"),
        Graphic("T", "serviceTask", "Book invoice"),
        Graphic("F", "sequenceFlow"),
        Graphic("Collab", "collaboration"),
    ]
    # the file lists the flow nodes before the pool and lanes: the renderer must reorder
    shapes = [
        Shape("S", Bounds(200, 100, 36, 36)),
        Shape("T", Bounds(300, 230, 100, 80)),
        Shape("LaneB", Bounds(160, 200, 570, 150), is_horizontal=True),
        Shape("Pool", Bounds(130, 50, 600, 300), is_horizontal=True),
        Shape("LaneA", Bounds(160, 50, 570, 150), is_horizontal=True),
    ]
    edges = [_edge("F", (236, 118), (260, 118), (260, 270), (300, 270))]
    return _definitions(graphics, shapes, edges, plane="Collab")


def sub_process_definitions() -> Definitions:
    graphics = [
        Graphic("Sub", "subProcess", "Check documents"),
        Graphic("Inner", "task", "Read"),
        Graphic("Timer", "boundaryEvent", "2 days", trigger=EventTrigger.TIMER),
        Graphic(
            "Nag",
            "boundaryEvent",
            trigger=EventTrigger.MESSAGE,
            markers=frozenset({"non-interrupting"}),
        ),
        Graphic("Call", "callActivity", "Pay"),
        Graphic("EvSub", "subProcess", "On cancel", markers=frozenset({"event-sub-process"})),
    ]
    shapes = [
        Shape("Timer", Bounds(382, 262, 36, 36)),  # boundary event listed first
        Shape("Inner", Bounds(150, 130, 100, 80)),
        Shape("Nag", Bounds(182, 262, 36, 36)),
        Shape("Sub", Bounds(100, 80, 350, 200), is_expanded=True),
        Shape("Call", Bounds(500, 130, 100, 80)),
        Shape("EvSub", Bounds(100, 330, 350, 150), is_expanded=True),
    ]
    return _definitions(graphics, shapes)


def multi_instance_definitions() -> Definitions:
    elements = {
        "Par": Element(
            "Par", ElementKind.USER_TASK, "Review", multi_instance=MultiInstance(sequential=False)
        ),
        "Seq": Element(
            "Seq", ElementKind.SERVICE_TASK, "Notify", multi_instance=MultiInstance(sequential=True)
        ),
        "Loop": Element("Loop", ElementKind.TASK, "Retry", standard_loop=True),
    }
    graphics = [
        Graphic("Par", "userTask", "Review", markers=frozenset({"parallel-mi"})),
        Graphic("Seq", "serviceTask", "Notify", markers=frozenset({"sequential-mi"})),
        Graphic("Loop", "task", "Retry", markers=frozenset({"loop"})),
        Graphic("Comp", "task", "Undo", markers=frozenset({"compensation", "parallel-mi"})),
    ]
    shapes = [
        Shape("Par", Bounds(100, 100, 100, 80)),
        Shape("Seq", Bounds(250, 100, 100, 80)),
        Shape("Loop", Bounds(400, 100, 100, 80)),
        Shape("Comp", Bounds(550, 100, 100, 80)),
    ]
    process = Process("Process_1", "MI", elements=frozen_map(elements))
    return _definitions(graphics, shapes, process=process)


# --- helpers on the output --------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # noqa: S314 - our own output, and well-formedness is the test
    assert root.tag == f"{SVG}svg"
    return root


def _groups(root: ET.Element) -> dict[str, ET.Element]:
    return {
        g.get("data-element-id", ""): g for g in root.iter(f"{SVG}g") if g.get("data-element-id")
    }


def _order(root: ET.Element) -> list[str]:
    return [g.get("data-element-id", "") for g in root.iter(f"{SVG}g") if g.get("data-element-id")]


def _view_box(root: ET.Element) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in root.get("viewBox", "").split())
    return x, y, x + w, y + h


def _assert_covers(root: ET.Element, diagram: Diagram) -> None:
    x0, y0, x1, y1 = _view_box(root)
    for shape in diagram.shapes:
        b = shape.bounds
        assert x0 <= b.x and y0 <= b.y, shape.element_id
        assert b.x + b.width <= x1 and b.y + b.height <= y1, shape.element_id
        if shape.label is not None:
            lb = shape.label
            assert x0 <= lb.x and lb.x + lb.width <= x1 and y0 <= lb.y and lb.y + lb.height <= y1
    for edge in diagram.edges:
        for p in edge.waypoints:
            assert x0 <= p.x <= x1 and y0 <= p.y <= y1, edge.element_id


def _assert_all_ids(root: ET.Element, diagram: Diagram) -> None:
    ids = set(_groups(root))
    expected = {s.element_id for s in diagram.shapes} | {e.element_id for e in diagram.edges}
    expected.discard("")  # a DI shape without bpmnElement has no id to show
    assert expected <= ids, expected - ids


def _classes(group: ET.Element) -> set[str]:
    return set(group.get("class", "").split())


# --- unit tests ------------------------------------------------------------------------------


def test_simple_process_is_well_formed_and_covers_every_element() -> None:
    definitions = approval_definitions()
    svg = render_svg(definitions)
    root = _parse(svg)
    diagram = definitions.diagrams[0]
    _assert_covers(root, diagram)
    _assert_all_ids(root, diagram)
    groups = _groups(root)
    assert {"bpmn-element", "bpmn-userTask"} <= _classes(groups["Task"])
    assert {"bpmn-element", "bpmn-sequenceFlow"} <= _classes(groups["F1"])
    # title: the process name by default, the argument when given
    assert root.findtext(f"{SVG}title") == "Leave approval"
    titled = _parse(render_svg(definitions, title="Instance 42"))
    assert titled.findtext(f"{SVG}title") == "Instance 42"
    # one style block, names drawn as text, flows end with an arrowhead marker
    assert len(root.findall(f"{SVG}style")) == 1
    texts = " ".join(root.itertext())
    for name in ("Request made", "Approve", "Approved?", "Done", "Rejected", "yes", "no"):
        assert name in texts
    sequence_path = groups["F1"].findall(f"{SVG}path")[-1]
    marker_id = re.fullmatch(r"url\(#(.+)\)", sequence_path.get("marker-end", ""))
    assert marker_id is not None
    assert any(m.get("id") == marker_id.group(1) for m in root.iter(f"{SVG}marker"))
    # the default flow gets a start marker (slash), plain flows none
    assert groups["F4"].findall(f"{SVG}path")[-1].get("marker-start")
    assert groups["F1"].findall(f"{SVG}path")[-1].get("marker-start") is None


def test_edges_are_drawn_above_shapes() -> None:
    root = _parse(render_svg(approval_definitions()))
    order = _order(root)
    last_shape = max(order.index(i) for i in ("Start", "Task", "Gw", "EndOk", "EndNo"))
    assert all(order.index(f) > last_shape for f in ("F1", "F2", "F3", "F4"))


def test_pool_and_lanes_come_before_their_content() -> None:
    definitions = pool_definitions()
    root = _parse(render_svg(definitions))
    _assert_covers(root, definitions.diagrams[0])
    _assert_all_ids(root, definitions.diagrams[0])
    order = _order(root)
    assert order.index("Pool") < order.index("LaneA") < order.index("S")
    assert order.index("LaneB") < order.index("T")
    # pool and lane names are rotated -90 in their band
    pool_text = _groups(root)["Pool"].find(f"{SVG}text")
    assert pool_text is not None and "rotate(-90" in pool_text.get("transform", "")
    assert "Company" in "".join(pool_text.itertext())
    lane_text = _groups(root)["LaneA"].find(f"{SVG}text")
    assert lane_text is not None and "Sales" in "".join(lane_text.itertext())


def test_sub_process_with_boundary_events() -> None:
    definitions = sub_process_definitions()
    svg = render_svg(definitions)
    root = _parse(svg)
    _assert_all_ids(root, definitions.diagrams[0])
    order = _order(root)
    # the expanded sub-process is drawn before what it contains, boundary events after
    assert order.index("Sub") < order.index("Inner") < order.index("Timer")
    assert order.index("Sub") < order.index("Nag")
    groups = _groups(root)
    assert "dash" in _classes(groups["Nag"])  # non-interrupting: dashed rings
    assert "dash" not in _classes(groups["Timer"])
    assert "evsub" in _classes(groups["EvSub"])  # event sub-process: dotted border
    # a boundary (intermediate) event has a double ring, plus the clock face of the timer
    assert len(groups["Timer"].findall(f"{SVG}circle")) >= 3
    # expanded sub-process: name at top-left (start anchor), no collapsed marker
    sub_text = groups["Sub"].find(f"{SVG}text")
    assert sub_text is not None and "c" not in sub_text.get("class", "").split()
    assert groups["Sub"].find(f"{SVG}rect[@width='14']") is None
    # the call activity is collapsed: a "+" box
    assert groups["Call"].find(f"{SVG}rect[@width='14']") is not None
    assert "2 days" in "".join(groups["Timer"].itertext())


def test_multi_instance_and_loop_markers_differ() -> None:
    root = _parse(render_svg(multi_instance_definitions()))
    groups = _groups(root)

    def marker_paths(element_id: str) -> list[str]:
        return [
            p.get("d", "")
            for p in groups[element_id].findall(f"{SVG}path")
            if "stroke-width:2" in p.get("style", "") or p.get("d", "").count("A")
        ]

    par, seq, loop = marker_paths("Par"), marker_paths("Seq"), marker_paths("Loop")
    assert par and seq and loop
    assert par != seq
    # parallel: three vertical bars (same x twice per bar); sequential: horizontal bars

    def bars(d: str) -> list[tuple[float, float, float, float]]:
        nums = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", d)]
        return [(nums[i], nums[i + 1], nums[i + 2], nums[i + 3]) for i in range(0, len(nums), 4)]

    assert all(x0 == x1 for x0, _, x1, _ in bars(par[0]))
    assert all(y0 == y1 for _, y0, _, y1 in bars(seq[0]))
    assert len(bars(par[0])) == len(bars(seq[0])) == 3
    # two markers side by side on the compensation task
    assert len(groups["Comp"].findall(f"{SVG}path")) >= 2


def test_highlight_classes() -> None:
    highlight = Highlight(
        active=frozenset({"Task"}),
        completed=frozenset({"Start", "F1"}),
        failed=frozenset({"Gw"}),
    )
    root = _parse(render_svg(approval_definitions(), highlight=highlight))
    groups = _groups(root)
    assert "is-active" in _classes(groups["Task"])
    assert "is-completed" in _classes(groups["Start"])
    assert "is-completed" in _classes(groups["F1"])
    assert "is-failed" in _classes(groups["Gw"])
    assert not _classes(groups["EndOk"]) & {"is-active", "is-completed", "is-failed"}
    # a completed flow's arrowhead is green too
    assert "-done" in groups["F1"].findall(f"{SVG}path")[-1].get("marker-end", "")
    style = root.find(f"{SVG}style")
    assert style is not None and ".is-active" in (style.text or "")


def test_heat_overlays_grow_more_opaque() -> None:
    heat = {"Start": 0.1, "Task": 0.5, "Gw": 1.0}
    root = _parse(render_svg(approval_definitions(), highlight=Highlight(heat=heat)))
    groups = _groups(root)

    def opacity(element_id: str) -> float:
        overlays = [e for e in groups[element_id] if "heat" in e.get("class", "").split()]
        assert len(overlays) == 1, element_id
        return float(overlays[0].get("fill-opacity", "0"))

    assert 0 < opacity("Start") < opacity("Task") < opacity("Gw") <= 1
    assert not [e for e in groups["EndOk"] if "heat" in e.get("class", "")]


def test_badges_are_pills_at_the_top_right() -> None:
    root = _parse(render_svg(approval_definitions(), highlight=Highlight(badges={"Task": "12"})))
    task = _groups(root)["Task"]
    badge = next(g for g in task.iter(f"{SVG}g") if g.get("class") == "badge")
    rect = badge.find(f"{SVG}rect")
    assert rect is not None and float(rect.get("rx", "0")) > 0
    assert "".join(badge.itertext()) == "12"
    centre_x = float(rect.get("x", "0")) + float(rect.get("width", "0")) / 2
    assert centre_x == pytest.approx(290, abs=0.2)  # the task's right edge
    _, y0, _, _ = _view_box(root)
    assert y0 <= float(rect.get("y", "0"))


def test_malicious_names_are_inert_text() -> None:
    evil = '<script>alert(1)</script>" onload="x'
    definitions = approval_definitions(task_name=evil)
    highlight = Highlight(badges={"Task": "<b>1</b>"})
    svg = render_svg(definitions, title="<script>t</script>", highlight=highlight)
    root = _parse(svg)
    assert "<script" not in svg
    assert not list(root.iter(f"{SVG}script"))
    assert all("onload" not in e.attrib for e in root.iter())
    assert "alert(1)" in "".join(_groups(root)["Task"].itertext())
    assert "&lt;script&gt;" in svg


def test_malicious_ids_are_escaped_in_attributes() -> None:
    bad_id = 'x" onclick="alert(1)'
    definitions = _definitions(
        [Graphic(bad_id, "task", "t")], [Shape(bad_id, Bounds(0, 0, 100, 80))]
    )
    root = _parse(render_svg(definitions))
    assert bad_id in _groups(root)
    assert all("onclick" not in e.attrib for e in root.iter())


def test_cjk_names_wrap_per_character() -> None:
    name = "部门经理审批员工报销申请并确认预算"
    root = _parse(render_svg(approval_definitions(task_name=name)))
    text = _groups(root)["Task"].find(f"{SVG}text")
    assert text is not None
    lines = [t.text or "" for t in text.findall(f"{SVG}tspan")]
    assert len(lines) >= 2
    assert "".join(lines) == name
    assert all(text_width(line) <= 90 for line in lines)


def test_wrap_latin_by_words_and_long_words_by_character() -> None:
    assert wrap("Approve expense claim", 70) == ["Approve", "expense", "claim"]
    assert wrap("a b", 100) == ["a b"]
    long = wrap("Supercalifragilisticexpialidocious", 60)
    assert len(long) > 1 and "".join(long) == "Supercalifragilisticexpialidocious"
    assert wrap("审批 report", 200) == ["审批 report"]
    assert wrap("", 100) == []


def test_unknown_elements_get_a_neutral_rectangle() -> None:
    definitions = _definitions(
        [Graphic("Choreo", "choreographyTask", "Exchange")],
        [Shape("Choreo", Bounds(0, 0, 100, 80)), Shape("Ghost", Bounds(150, 0, 50, 50))],
        [_edge("GhostFlow", (100, 40), (150, 25)), _edge("Lonely", (5, 5))],
    )
    root = _parse(render_svg(definitions))
    groups = _groups(root)
    assert {"Choreo", "Ghost", "GhostFlow", "Lonely"} <= set(groups)
    assert groups["Ghost"].find(f"{SVG}rect") is not None
    assert "Exchange" in "".join(groups["Choreo"].itertext())


def test_no_diagram_is_a_clear_error() -> None:
    definitions = Definitions(id="NoDi", processes=frozen_map({"P": Process("P")}))
    with pytest.raises(RenderError, match="no diagram"):
        render_svg(definitions)
    with pytest.raises(RenderError, match="Nope"):
        render_svg(approval_definitions(), diagram_id="Nope")


def test_fifty_elements_stay_compact() -> None:
    graphics, shapes, edges = [], [], []
    for i in range(25):
        graphics.append(Graphic(f"T{i}", "userTask", f"Task number {i} with a long name"))
        shapes.append(Shape(f"T{i}", Bounds(i * 150, 100, 100, 80)))
        graphics.append(Graphic(f"F{i}", "sequenceFlow", f"flow {i}"))
        edges.append(_edge(f"F{i}", (i * 150 + 100, 140), (i * 150 + 150, 140)))
    svg = render_svg(
        _definitions(graphics, shapes, edges),
        highlight=Highlight(completed=frozenset(g.id for g in graphics[:20])),
    )
    _parse(svg)
    assert len(svg.encode()) < 60_000


# --- every shared sample file -----------------------------------------------------------------


SAMPLES = shared_names("bpmn") + shared_names("bpmn", "miwg/*.bpmn")
ARTIFACT_NAMES = {"expense_approval", "onboarding", "contract_countersign", "C.3.0", "C.9.0"}


def _parser() -> Callable[[bytes], Definitions]:
    from workflow.bpmn.parser import parse_bpmn

    return parse_bpmn


@pytest.mark.parametrize("name", SAMPLES)
def test_every_shared_sample_renders(name: str) -> None:
    parse_bpmn = _parser()
    path = shared_path("bpmn", name)
    definitions = parse_bpmn(path.read_bytes())
    if not definitions.diagrams:
        with pytest.raises(RenderError):
            render_svg(definitions)
        return
    for diagram in definitions.diagrams:
        svg = render_svg(definitions, diagram_id=diagram.id)
        root = _parse(svg)
        _assert_all_ids(root, diagram)
        _assert_covers(root, diagram)
        assert len(svg.encode()) < 250_000
    if path.stem in ARTIFACT_NAMES:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"{path.stem}.svg").write_text(render_svg(definitions), encoding="utf-8")
