"""A process's icon in the catalogue and the quick starts of the 工作台: the icon its
administrators chose (``ProcessSettings.icon``: one of :data:`ICON_NAMES`, or an emoji or
a character or two), else one that fits its name or category (报销 → money, 请假 → calendar
...), on a tile coloured by its category so that a category's processes look alike.

The symbols are drawn by ``templates/workflow/partials/_process_icon_sprite.html`` (inline
SVG ``<symbol>``s: no image to load, nothing the CSP refuses).
"""

from __future__ import annotations

from dataclasses import dataclass

ICON_NAMES = (
    "money",
    "calendar",
    "clock",
    "cart",
    "contract",
    "travel",
    "seal",
    "car",
    "laptop",
    "people",
    "document",
)
"""The icons a process may name in its settings."""

DEFAULT_ICON = "document"
TONES = 6

# words in a process's name or category, and the icon they suggest (the first match wins;
# the name is looked at before the category: 请假 in 人事 is a calendar, not people)
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clock", ("加班", "overtime")),
    ("travel", ("出差", "差旅", "travel", "trip")),
    (
        "money",
        (
            "报销",
            "费用",
            "付款",
            "借款",
            "财务",
            "预算",
            "发票",
            "expense",
            "payment",
            "finance",
            "budget",
            "invoice",
            "reimburse",
        ),
    ),
    ("calendar", ("请假", "休假", "调休", "考勤", "leave", "vacation", "attendance")),
    ("cart", ("采购", "购买", "领用", "purchase", "procure")),
    ("contract", ("合同", "法务", "协议", "contract", "legal")),
    ("seal", ("用章", "印章", "盖章", "seal", "stamp")),
    ("car", ("用车", "车辆", "vehicle")),
    ("laptop", ("设备", "电脑", "账号", "equipment", "laptop", "it ")),
    ("people", ("人事", "招聘", "入职", "离职", "转正", "hiring", "onboarding", "hr ")),
)


@dataclass(frozen=True)
class ProcessIcon:
    """``symbol`` names one of :data:`ICON_NAMES`; else ``text`` is shown (an emoji).
    ``tone`` 0..5 colours the tile."""

    symbol: str
    text: str
    tone: int


def _suggested(text: str) -> str | None:
    folded = f"{text.casefold()} "
    for icon, words in KEYWORDS:
        if any(word in folded for word in words):
            return icon
    return None


def tone_of(category: str) -> int:
    """The same colour for every process of a category, the same on every page and run."""
    return sum(ord(char) for char in category.strip()) % TONES


def process_icon(*, icon: str, name: str, category: str) -> ProcessIcon:
    """The icon to show for a process (see the module docstring)."""
    chosen = icon.strip()
    tone = tone_of(category)
    if chosen in ICON_NAMES:
        return ProcessIcon(chosen, "", tone)
    if chosen:
        return ProcessIcon("", chosen[:2], tone)
    symbol = _suggested(name) or _suggested(category) or DEFAULT_ICON
    return ProcessIcon(symbol, "", tone)
