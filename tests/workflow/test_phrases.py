"""常用语: the services (add, remove, move; limits and duplicates), the selector (the defaults
while a person has none), the page where a person keeps them, and the chips on every
opinion box."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.models import User
from tests.factories import english
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task
from workflow.models import Phrase
from workflow.phrases import DEFAULTS, MAX_PHRASES
from workflow.selectors.phrases import phrase_texts, phrases_for
from workflow.services.phrases import phrase_add, phrase_move, phrase_remove

pytestmark = pytest.mark.django_db

ENGLISH_DEFAULTS = [
    "Agreed.",
    "Verified; agreed.",
    "Please add the supporting documents and submit again.",
    "Not agreed.",
    "Read and noted.",
]


def own(user: User) -> list[str]:
    return list(
        Phrase.objects.filter(owner=user).order_by("position").values_list("text", flat=True)
    )


# --- selector ------------------------------------------------------------------------------------


def test_a_person_without_phrases_is_offered_the_defaults(employee: User) -> None:
    with translation.override("en"):
        items = phrases_for(employee)
    assert [item.text for item in items] == ENGLISH_DEFAULTS
    assert all(item.is_default and item.id is None for item in items)
    assert len(DEFAULTS) == len(ENGLISH_DEFAULTS)


def test_own_phrases_replace_the_defaults_in_their_order(
    employee: User, colleague: User, django_assert_num_queries: Any
) -> None:
    Phrase.objects.create(owner=employee, text="second", position=1)
    Phrase.objects.create(owner=employee, text="first", position=0)
    Phrase.objects.create(owner=colleague, text="not mine", position=0)
    with django_assert_num_queries(1):
        texts = phrase_texts(employee)
    assert texts == ["first", "second"]


# --- add -----------------------------------------------------------------------------------------


def test_the_first_phrase_keeps_the_defaults_before_it(employee: User) -> None:
    with translation.override("en"):
        phrase = phrase_add(owner=employee, text="  同意，请财务\n尽快付款。 ")
    assert phrase.text == "同意，请财务 尽快付款。"  # spaces trimmed and folded
    assert own(employee) == [*ENGLISH_DEFAULTS, "同意，请财务 尽快付款。"]
    assert [p.position for p in Phrase.objects.filter(owner=employee).order_by("position")] == list(
        range(6)
    )
    assert not any(item.is_default for item in phrases_for(employee))


def test_a_duplicate_is_refused_with_a_message(employee: User) -> None:
    phrase_add(owner=employee, text="同意")
    before = own(employee)
    with pytest.raises(ValidationError) as refused:
        phrase_add(owner=employee, text=" 同意 ")
    assert refused.value.message_dict == {"text": ["You have saved this phrase already."]}
    assert own(employee) == before


def test_a_default_is_a_duplicate_too(employee: User) -> None:
    with translation.override("en"), pytest.raises(ValidationError):
        phrase_add(owner=employee, text="Agreed.")
    assert own(employee) == []  # nothing, not even the defaults' copy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Write the phrase first."),
        ("   \n ", "Write the phrase first."),
        ("长" * 201, "A phrase has at most 200 characters."),
    ],
)
def test_an_empty_or_long_phrase_is_refused(employee: User, text: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        phrase_add(owner=employee, text=text)
    assert refused.value.message_dict == {"text": [message]}
    assert own(employee) == []


def test_two_hundred_characters_are_accepted(employee: User) -> None:
    assert phrase_add(owner=employee, text="长" * 200).text == "长" * 200


def test_at_most_thirty_phrases(employee: User) -> None:
    for number in range(MAX_PHRASES):
        Phrase.objects.create(owner=employee, text=f"phrase {number}", position=number)
    with pytest.raises(ValidationError) as refused:
        phrase_add(owner=employee, text="one more")
    assert refused.value.message_dict == {
        "text": ["You can keep at most 30 phrases; remove one first."]
    }
    assert Phrase.objects.filter(owner=employee).count() == MAX_PHRASES


# --- remove, move --------------------------------------------------------------------------------


def _three(user: User) -> list[Phrase]:
    return [Phrase.objects.create(owner=user, text=t, position=i) for i, t in enumerate("abc")]


def test_remove_keeps_the_positions_dense(employee: User) -> None:
    _a, b, _c = _three(employee)
    phrase_remove(owner=employee, phrase_id=b.pk)
    assert list(
        Phrase.objects.filter(owner=employee).order_by("position").values_list("text", "position")
    ) == [("a", 0), ("c", 1)]


def test_removing_the_last_brings_the_defaults_back(employee: User) -> None:
    phrase = Phrase.objects.create(owner=employee, text="only", position=0)
    phrase_remove(owner=employee, phrase_id=phrase.pk)
    assert all(item.is_default for item in phrases_for(employee))


def test_move_up_and_down_and_at_the_ends(employee: User) -> None:
    a, b, c = _three(employee)
    phrase_move(owner=employee, phrase_id=c.pk, direction="up")
    assert own(employee) == ["a", "c", "b"]
    phrase_move(owner=employee, phrase_id=a.pk, direction="down")
    assert own(employee) == ["c", "a", "b"]
    phrase_move(owner=employee, phrase_id=c.pk, direction="up")  # first already
    phrase_move(owner=employee, phrase_id=b.pk, direction="down")  # last already
    assert own(employee) == ["c", "a", "b"]
    with pytest.raises(ValidationError):
        phrase_move(owner=employee, phrase_id=a.pk, direction="sideways")  # type: ignore[arg-type]


def test_someone_elses_phrase_is_as_if_it_did_not_exist(employee: User, colleague: User) -> None:
    (theirs, *_rest) = _three(colleague)
    with pytest.raises(Phrase.DoesNotExist):
        phrase_remove(owner=employee, phrase_id=theirs.pk)
    with pytest.raises(Phrase.DoesNotExist):
        phrase_move(owner=employee, phrase_id=theirs.pk, direction="down")
    assert own(colleague) == ["a", "b", "c"]


# --- the page ------------------------------------------------------------------------------------


def test_the_page_shows_the_defaults_and_adds_with_htmx(
    login: Callable[[User], Client], employee: User
) -> None:
    client = login(employee)
    page = client.get(reverse("workflow:phrases") + "?next=/workflow/inbox/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="defaults"' in html
    assert 'href="/workflow/inbox/"' in html  # back where the person came from
    answer = client.post(reverse("workflow:phrases"), {"text": "已核实"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    fragment = answer.content.decode()
    assert fragment.startswith('<div id="phrase-list"') and "已核实" in fragment
    assert own(employee)[-1] == "已核实"


def test_the_page_refuses_a_duplicate_and_changes_nothing(
    login: Callable[[User], Client], employee: User
) -> None:
    Phrase.objects.create(owner=employee, text="同意", position=0)
    english(employee)
    answer = login(employee).post(reverse("workflow:phrases"), {"text": "同意"})
    assert answer.status_code == 400
    assert "You have saved this phrase already." in answer.content.decode()
    assert own(employee) == ["同意"]


def test_the_page_removes_and_moves_only_ones_own(
    login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    a, b, c = _three(employee)
    client = login(employee)
    moved = client.post(reverse("workflow:phrase-move", args=[c.pk]), {"direction": "up"})
    assert moved.status_code == 302 and own(employee) == ["a", "c", "b"]
    removed = client.post(reverse("workflow:phrase-delete", args=[a.pk]), HTTP_HX_REQUEST="true")
    assert removed.status_code == 200 and own(employee) == ["c", "b"]
    other = login(colleague)
    assert other.post(reverse("workflow:phrase-delete", args=[b.pk])).status_code == 404
    assert (
        other.post(reverse("workflow:phrase-move", args=[b.pk]), {"direction": "up"}).status_code
        == 404
    )
    assert own(employee) == ["c", "b"]


# --- the chips on the opinion boxes --------------------------------------------------------------


def test_every_opinion_box_of_the_task_page_has_the_chips(
    login: Callable[[User], Client], employee: User, dept_head: User
) -> None:
    Phrase.objects.create(owner=dept_head, text="情况属实，同意。", position=0)
    english(dept_head)
    deploy_steps(user_task("review", assignee=dept_head.username))
    task = open_task(start(employee))
    html = login(dept_head).get(reverse("workflow:task", args=[task.pk])).content.decode()
    for box in ("approve-comment", "reject-comment", "return-comment", "transfer-comment"):
        assert f'data-phrase="情况属实，同意。" data-for="id_{box}"' in html, box
        assert html.count(f'name="{box}"') == 1  # one box per action
    # 评论 has its own dialog with its one box, not a second box beside the form
    assert 'id="dlg-comment"' in html and 'data-for="id_text"' in html
    assert html.count('name="text"') == 1
    assert "Manage saved phrases" in html


# --- the API -------------------------------------------------------------------------------------

API = "/api/v1/phrases/"


def test_the_api_lists_creates_and_deletes_ones_own(
    login: Callable[[User], Client], employee: User, colleague: User
) -> None:
    client = login(employee)
    listed = client.get(API, HTTP_ACCEPT_LANGUAGE="en")
    assert listed.status_code == 200
    assert listed.json()[0] == {"id": None, "text": listed.json()[0]["text"], "position": 0}
    assert len(listed.json()) == len(DEFAULTS)
    created = client.post(
        API, json.dumps({"text": " 已核实，同意。 "}), content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["text"] == "已核实，同意。" and body["position"] == len(DEFAULTS)
    duplicate = client.post(
        API, json.dumps({"text": "已核实，同意。"}), content_type="application/json"
    )
    assert duplicate.status_code == 400 and "text" in json.dumps(duplicate.json())
    empty = client.post(API, json.dumps({"text": ""}), content_type="application/json")
    assert empty.status_code == 400
    assert [p["text"] for p in client.get(API).json()][-1] == "已核实，同意。"
    # another person's phrase: 404, and it stays
    assert login(colleague).delete(f"{API}{body['id']}").status_code == 404
    assert Phrase.objects.filter(pk=body["id"]).exists()
    client = login(employee)  # the one test client, signed in as each in turn
    assert client.delete(f"{API}{body['id']}").status_code == 204
    assert not Phrase.objects.filter(pk=body["id"]).exists()
    assert client.delete(f"{API}{body['id']}").status_code == 404


def test_the_api_needs_a_signed_in_caller(client: Client) -> None:
    assert client.get(API).status_code == 401
    assert (
        client.post(API, json.dumps({"text": "x"}), content_type="application/json").status_code
        == 401
    )
    assert Phrase.objects.count() == 0
