"""A process's icon (workflow/icons.py): the one its settings name, an emoji as written,
else one that fits its name before its category; a category's processes share a colour."""

from __future__ import annotations

from django.conf import settings

from workflow.icons import ICON_NAMES, ProcessIcon, process_icon, tone_of


def test_the_chosen_icon_wins() -> None:
    assert process_icon(icon="seal", name="请假申请", category="人事").symbol == "seal"
    assert process_icon(icon=" 🧾 ", name="x", category="") == ProcessIcon("", "🧾", tone_of(""))


def test_the_name_then_the_category_suggest_one() -> None:
    assert process_icon(icon="", name="请假申请", category="人事").symbol == "calendar"
    assert process_icon(icon="", name="入职登记", category="人事").symbol == "people"
    assert process_icon(icon="", name="Expense claim", category="").symbol == "money"
    assert process_icon(icon="", name="某某审批", category="采购").symbol == "cart"
    assert process_icon(icon="", name="Three-way check", category="").symbol == "document"


def test_a_category_has_one_colour() -> None:
    one = process_icon(icon="", name="请假申请", category="人事")
    two = process_icon(icon="", name="入职登记", category="人事")
    assert one.tone == two.tone
    assert 0 <= one.tone < 6
    assert set(ICON_NAMES) >= {"money", "calendar", "document"}


def test_the_sprite_draws_every_icon() -> None:
    sprite = (
        settings.BASE_DIR / "templates/workflow/partials/_process_icon_sprite.html"
    ).read_text()
    assert {f'id="picon-{name}"' for name in ICON_NAMES} <= set(
        part.split(" ", 1)[0] for part in sprite.split("<symbol ")[1:]
    )
