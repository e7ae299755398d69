"""The catalogue, start form and drafts pages (workflow/views/catalogue.py), as each persona.

Personas: anonymous, ``employee`` 张伟, ``colleague`` 王芳 (the only one, besides the
superuser, in the role that may start the restricted "budget" process), ``outsider`` 刘洋,
``dept_head`` 李娜, a process administrator 徐刚 and the ``superuser``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.models import Department, User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import make_admin
from tests.workflow.engine_helpers import definitions, flow
from tests.workflow.test_drafts import AMOUNT, REASON, VALID, deploy_process, restrict
from workflow.engine.runtime import EngineError
from workflow.models import Attachment, Draft, InstanceStartKey, ProcessInstance
from workflow.selectors import catalogue, home
from workflow.services import drafts, starts
from workflow.services.definitions import definition_deploy

CATALOGUE = "/workflow/processes/"
DRAFTS = "/workflow/drafts/"
INSTANCE = re.compile(r"^/workflow/instances/(\d+)/$")


def start_url(key: str = "claim", draft: Draft | int | None = None) -> str:
    url = f"/workflow/processes/{key}/start/"
    if draft is not None:
        url += f"?draft={draft if isinstance(draft, int) else draft.pk}"
    return url


def delete_url(draft: Draft) -> str:
    return f"/workflow/drafts/{draft.pk}/delete/"


@pytest.fixture
def processes(db: None, colleague: User) -> None:
    """ "claim" for everybody, "budget" only for the colleague's role."""
    deploy_process("claim", name="Expense claim")
    deploy_process("budget", name="Budget request", fields=REASON)
    restrict("budget", colleague)


@pytest.fixture
def process_admin(org: dict[str, Department]) -> User:
    return make_admin(UserFactory.create(username="xugang", first_name="刚", last_name="徐"))


@pytest.fixture
def persona(
    request: pytest.FixtureRequest,
) -> Callable[[str], User]:
    def _persona(name: str) -> User:
        user: User = request.getfixturevalue(name)
        return user

    return _persona


@pytest.fixture
def signin(login: Callable[[User], Client]) -> Callable[[User], Client]:
    """``login`` with the person's language English, so that pages read in English."""

    def _signin(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        return login(user)

    return _signin


def post_start(client: Client, url: str, *, action: str = "submit", **data: Any) -> Any:
    data.setdefault("meta-idempotency_key", "web:one")
    return client.post(url, {**data, "action": action})


def message_texts(response: Any) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


PERSONAS = ["employee", "colleague", "outsider", "dept_head", "process_admin", "superuser"]
MAY_START_BUDGET = {"colleague", "superuser"}


# --- anonymous -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", CATALOGUE),
        ("get", start_url()),
        ("post", start_url()),
        ("get", DRAFTS),
        ("post", "/workflow/drafts/1/delete/"),
    ],
)
def test_anonymous_is_sent_to_sign_in(
    client: Client, processes: None, method: str, url: str
) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert not ProcessInstance.objects.exists()


# --- the catalogue, as each persona ---------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", PERSONAS)
def test_catalogue_lists_what_each_persona_may_start(
    processes: None, persona: Callable[[str], User], signin: Any, name: str
) -> None:
    response = signin(persona(name)).get(CATALOGUE)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Expense claim" in html
    assert f'href="{start_url("claim")}"' in html
    assert ("Budget request" in html) is (name in MAY_START_BUDGET)
    assert (f'href="{start_url("budget")}"' in html) is (name in MAY_START_BUDGET)


@pytest.mark.django_db
def test_catalogue_groups_by_category_with_description(
    employee: User, signin: Any, processes: None
) -> None:
    from tests.workflow.approval_helpers import settings

    settings("claim", category="Finance", description="Travel, meals and office costs.")
    deploy_process("misc", name="Miscellaneous")
    html = signin(employee).get(CATALOGUE).content.decode()
    assert html.index("Finance") < html.index("Expense claim") < html.index("Other")
    assert html.index("Other") < html.index("Miscellaneous")
    assert "Travel, meals and office costs." in html


@pytest.mark.django_db
def test_catalogue_search_and_htmx_partial(employee: User, signin: Any, processes: None) -> None:
    deploy_process("leave", name="Leave request")
    client = signin(employee)
    html = client.get(CATALOGUE, {"q": "leave"}).content.decode()
    assert "Leave request" in html and "Expense claim" not in html
    assert "<html" in html
    partial = client.get(CATALOGUE, {"q": "expense"}, headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in body
    assert "Expense claim" in body and "Leave request" not in body
    assert "HX-Request" in partial["Vary"]
    nothing = client.get(CATALOGUE, {"q": "<script>"}, headers={"HX-Request": "true"})
    assert "No process matches" in nothing.content.decode()
    assert "<script>" not in nothing.content.decode()


@pytest.mark.django_db
def test_catalogue_counts_my_drafts_and_shows_each_process_once(
    employee: User, colleague: User, dept_head: User, signin: Any, processes: None
) -> None:
    """Each process once: its latest version, under its category only (no "recently
    started" copy above: the processes one starts most are the 工作台's quick starts)."""
    from tests.workflow.approval_helpers import settings

    settings("claim", category="Finance")
    deploy_process("claim", name="Expense claim")  # version 2
    drafts.draft_save(user=employee, key="claim", data={})
    drafts.draft_save(user=employee, key="claim", data={})
    drafts.draft_save(user=colleague, key="claim", data={})
    starts.request_submit(user=employee, key="claim", data=VALID, idempotency_key="k")
    html = signin(employee).get(CATALOGUE).content.decode()
    assert re.search(r'href="/workflow/drafts/">My drafts <span class="count"[^>]*>2</span>', html)
    assert html.count(f'href="{start_url("claim")}"') == 1
    assert "Recently started" not in html


@pytest.mark.django_db
def test_catalogue_is_a_grid_of_icons(employee: User, signin: Any, processes: None) -> None:
    """A process's icon: the one its settings name, an emoji as written, else one that fits
    its name or category; each a symbol of the page's sprite."""
    from tests.workflow.approval_helpers import settings

    deploy_process("leave", name="请假申请")
    deploy_process("seal", name="Use of the company seal")
    settings("claim", category="Finance")
    settings("seal", icon="🔖")
    settings("leave", category="Finance", icon="calendar")
    html = signin(employee).get(CATALOGUE).content.decode()
    tiles = dict(
        re.findall(
            r'<a href="/workflow/processes/(\w+)/start/"[^>]*>\s*<span class="picon[^"]*"'
            r' aria-hidden="true">(.*?)</span>',
            html,
            re.S,
        )
    )
    assert '<use href="#picon-money"/>' in tiles["claim"]  # 报销/claim is in "Finance"
    assert '<use href="#picon-calendar"/>' in tiles["leave"]
    assert tiles["seal"] == "🔖"
    assert html.count('id="picon-money"') == 1  # the sprite, once


@pytest.mark.django_db
def test_catalogue_refuses_post(employee: User, signin: Any) -> None:
    assert signin(employee).post(CATALOGUE).status_code == 405


# --- the start form, as each persona --------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", PERSONAS)
def test_start_form_per_persona(
    processes: None, persona: Callable[[str], User], signin: Any, name: str
) -> None:
    client = signin(persona(name))
    response = client.get(start_url("claim"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="reason"' in html and 'name="amount"' in html
    assert 'name="meta-idempotency_key"' in html
    assert 'value="submit"' in html and 'value="save"' in html
    budget = client.get(start_url("budget"))
    assert budget.status_code == (200 if name in MAY_START_BUDGET else 404)
    posted = post_start(client, start_url("budget"), reason="x")
    assert posted.status_code == (302 if name in MAY_START_BUDGET else 404)
    assert ProcessInstance.objects.filter(definition_key="budget").exists() is (
        name in MAY_START_BUDGET
    )


@pytest.mark.django_db
def test_unknown_process_is_404(employee: User, signin: Any, processes: None) -> None:
    assert signin(employee).get(start_url("nothing")).status_code == 404


@pytest.mark.django_db
def test_submit_valid_starts_and_opens_the_instance(
    employee: User, dept_head: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    response = post_start(client, start_url(), reason="Client visit", amount="3200")
    assert response.status_code == 302
    match = INSTANCE.match(response["Location"])
    assert match is not None
    instance = ProcessInstance.objects.get(pk=int(match.group(1)))
    assert instance.initiator == "zhangwei"
    assert instance.variables["reason"] == "Client visit"
    assert instance.variables["amount"] == 3200
    assert "csrfmiddlewaretoken" not in instance.variables
    assert "action" not in instance.variables
    assert instance.title == "张伟's Expense claim"
    assert message_texts(response) == ["Your request “Expense claim” has been submitted."]


@pytest.mark.django_db
def test_submit_with_a_title(employee: User, dept_head: User, signin: Any, processes: None) -> None:
    client = signin(employee)
    post_start(client, start_url(), reason="r", amount="5", **{"meta-title": "Shanghai trip"})
    assert ProcessInstance.objects.get().title == "Shanghai trip"


@pytest.mark.django_db
def test_submit_invalid_shows_errors_keeps_data_starts_nothing(
    employee: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    response = post_start(
        client, start_url(), reason="", amount="abc", **{"meta-title": "My typed title"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "Enter a whole number." in html
    assert 'value="abc"' in html
    assert 'value="My typed title"' in html
    assert 'value="web:one"' in html  # the same key: nothing was started with it
    assert not ProcessInstance.objects.exists()
    assert not InstanceStartKey.objects.exists()


@pytest.mark.django_db
def test_title_too_long_is_an_inline_error(employee: User, signin: Any, processes: None) -> None:
    response = post_start(
        signin(employee), start_url(), reason="r", amount="5", **{"meta-title": "t" * 300}
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 255 characters" in response.content.decode()
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_submit_without_idempotency_key_asks_again(
    employee: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    response = client.post(start_url(), {"reason": "r", "amount": "5", "action": "submit"})
    assert response.status_code == 400
    assert "The form has expired" in response.content.decode()
    assert re.search(
        r'name="meta-idempotency_key" value="web:[0-9a-f]{32}"', response.content.decode()
    )
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_unknown_action_changes_nothing(employee: User, signin: Any, processes: None) -> None:
    response = post_start(signin(employee), start_url(), action="explode", reason="r", amount="5")
    assert response.status_code == 400
    assert "Choose “Submit” or “Save draft”." in response.content.decode()
    assert not ProcessInstance.objects.exists() and not Draft.objects.exists()


@pytest.mark.django_db
def test_double_submit_starts_one_instance(
    employee: User, dept_head: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    first = post_start(client, start_url(), reason="r", amount="5")
    second = post_start(client, start_url(), reason="r", amount="5")
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert ProcessInstance.objects.count() == 1


@pytest.mark.django_db
def test_resubmitting_other_values_with_a_used_key_is_refused(
    employee: User, dept_head: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    post_start(client, start_url(), reason="r", amount="5")
    again = post_start(client, start_url(), reason="r", amount="6")
    assert again.status_code == 400
    html = again.content.decode()
    assert "already submitted with other values" in html
    assert 'value="web:one"' not in html and 'value="6"' in html
    assert ProcessInstance.objects.count() == 1


@pytest.mark.django_db
def test_start_needs_csrf(employee: User, processes: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    for action in ("submit", "save"):
        response = client.post(
            start_url(),
            {"reason": "r", "amount": "5", "action": action, "meta-idempotency_key": "k"},
        )
        assert response.status_code == 403
    assert not ProcessInstance.objects.exists() and not Draft.objects.exists()
    draft = drafts.draft_save(user=employee, key="claim", data={})
    assert client.post(delete_url(draft)).status_code == 403
    assert Draft.objects.filter(pk=draft.pk).exists()


@pytest.mark.django_db
def test_engine_refusal_is_a_message_not_a_500(
    employee: User, signin: Any, processes: None, monkeypatch: Any
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> int:
        raise EngineError("Nobody can take the first step.")

    monkeypatch.setattr(starts, "instance_start", refuse)
    response = post_start(signin(employee), start_url(), reason="r", amount="5")
    assert response.status_code == 400
    assert "Nobody can take the first step." in response.content.decode()
    assert not ProcessInstance.objects.exists()


# --- drafts from the start form ------------------------------------------------------------


@pytest.mark.django_db
def test_save_draft_with_invalid_data(employee: User, signin: Any, processes: None) -> None:
    client = signin(employee)
    response = post_start(client, start_url(), action="save", reason="", amount="abc")
    draft = Draft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == start_url("claim", draft)
    assert message_texts(response) == ["Draft saved."]
    assert (draft.owner, draft.definition_key) == (employee, "claim")
    assert draft.data == {"reason": "", "amount": "abc"}
    assert not ProcessInstance.objects.exists()
    page = client.get(start_url("claim", draft))
    html = page.content.decode()
    assert 'value="abc"' in html
    assert "You are continuing your draft" in html
    assert "This field is required." not in html  # an opened draft is not judged yet


@pytest.mark.django_db
def test_save_draft_again_updates_it(employee: User, signin: Any, processes: None) -> None:
    client = signin(employee)
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "first"})
    response = post_start(
        client, start_url("claim", draft), action="save", reason="second", **{"meta-title": "T"}
    )
    assert response["Location"] == start_url("claim", draft)
    draft.refresh_from_db()
    assert Draft.objects.count() == 1
    assert (draft.title, draft.data["reason"]) == ("T", "second")


@pytest.mark.django_db
def test_submit_from_a_draft_deletes_it(
    employee: User, dept_head: User, signin: Any, processes: None
) -> None:
    client = signin(employee)
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "half"})
    failed = post_start(client, start_url("claim", draft), reason="half", amount="")
    assert failed.status_code == 400
    assert Draft.objects.filter(pk=draft.pk).exists()
    assert f'action="{start_url("claim", draft)}"' in failed.content.decode()
    done = post_start(client, start_url("claim", draft), reason="half", amount="12")
    assert INSTANCE.match(done["Location"])
    assert not Draft.objects.exists()
    assert ProcessInstance.objects.get().variables["amount"] == 12


@pytest.mark.django_db
@pytest.mark.parametrize("name", [p for p in PERSONAS if p != "employee"])
def test_another_persons_draft_is_404(
    employee: User, processes: None, persona: Callable[[str], User], signin: Any, name: str
) -> None:
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "mine"})
    client = signin(persona(name))
    assert client.get(start_url("claim", draft)).status_code == 404
    assert post_start(client, start_url("claim", draft), action="save").status_code == 404
    assert post_start(client, start_url("claim", draft), reason="r", amount="5").status_code == 404
    assert client.post(delete_url(draft)).status_code == 404
    assert "mine" not in client.get(DRAFTS).content.decode()
    draft.refresh_from_db()
    assert draft.data == {"reason": "mine"}
    assert not ProcessInstance.objects.exists()


@pytest.mark.django_db
def test_bad_draft_ids_are_404(employee: User, signin: Any, processes: None) -> None:
    client = signin(employee)
    draft = drafts.draft_save(user=employee, key="claim", data={})
    deploy_process("leave", name="Leave request")
    assert client.get(start_url("leave", draft)).status_code == 404  # a draft of another process
    assert client.get(start_url("claim") + "?draft=abc").status_code == 404
    assert client.get(start_url("claim", 999_999)).status_code == 404


@pytest.mark.django_db
def test_draft_of_a_redeployed_process_drops_missing_fields(
    employee: User, signin: Any, processes: None
) -> None:
    draft = drafts.draft_save(user=employee, key="claim", data={"reason": "kept", "amount": "77"})
    deploy_process("claim", name="Expense claim", fields=REASON)  # v2 has no amount
    response = signin(employee).get(start_url("claim", draft))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="kept"' in html
    assert 'name="amount"' not in html
    assert "the value of amount was left out" in html


# --- the drafts page -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("name", PERSONAS)
def test_drafts_page_shows_only_mine(
    employee: User, processes: None, persona: Callable[[str], User], signin: Any, name: str
) -> None:
    user = persona(name)
    drafts.draft_save(user=employee, key="claim", title="Zhang draft", data={})
    if user != employee:
        drafts.draft_save(user=user, key="claim", title="My own draft", data={})
    response = signin(user).get(DRAFTS)
    assert response.status_code == 200
    html = response.content.decode()
    assert ("Zhang draft" in html) is (name == "employee")
    if name != "employee":
        assert "My own draft" in html
    mine = Draft.objects.get(owner=user)
    assert f'href="{start_url("claim", mine)}"' in html
    assert f'action="{delete_url(mine)}"' in html


@pytest.mark.django_db
def test_drafts_page_empty_and_not_startable(
    employee: User, colleague: User, signin: Any, processes: None
) -> None:
    assert "You have no drafts." in signin(employee).get(DRAFTS).content.decode()
    draft = drafts.draft_save(user=colleague, key="budget", data={})
    colleague.groups.clear()  # no longer in the role that may start it
    html = signin(colleague).get(DRAFTS).content.decode()
    assert "You can no longer start this process." in html
    assert start_url("budget", draft) not in html


@pytest.mark.django_db
def test_delete_draft(employee: User, signin: Any, processes: None) -> None:
    client = signin(employee)
    draft = drafts.draft_save(user=employee, key="claim", data={})
    assert client.get(delete_url(draft)).status_code == 405
    response = client.post(delete_url(draft))
    assert response.status_code == 302 and response["Location"] == DRAFTS
    assert message_texts(response) == ["Draft deleted."]
    assert not Draft.objects.exists()
    assert client.post(delete_url(draft)).status_code == 404


@pytest.mark.django_db
def test_start_form_with_a_date_and_a_choice(employee: User, dept_head: User, signin: Any) -> None:
    fields = (
        AMOUNT + '<camunda:formField id="kind" label="Kind" type="enum" defaultValue="travel">'
        '<camunda:value id="travel" name="Travel"/><camunda:value id="office" name="Office"/>'
        "</camunda:formField>"
        '<camunda:formField id="day" label="Day" type="date"/>'
        '<camunda:formField id="urgent" label="Urgent" type="boolean"/>'
    )
    deploy_process("claim", fields=fields)
    client = signin(employee)
    html = client.get(start_url()).content.decode()
    assert 'type="date"' in html and '<option value="travel" selected>' in html
    saved = post_start(client, start_url(), action="save", amount="3", kind="office", urgent="on")
    draft = Draft.objects.get()
    assert draft.data == {"amount": "3", "kind": "office", "urgent": "on"}
    reopened = client.get(saved["Location"]).content.decode()
    assert '<option value="office" selected>' in reopened
    assert re.search(r'<input type="checkbox" name="urgent"[^>]*checked', reopened)
    done = post_start(
        client, start_url("claim", draft), amount="3", kind="office", day="2025-05-31", urgent="on"
    )
    assert INSTANCE.match(done["Location"])
    variables = ProcessInstance.objects.get().variables
    assert (variables["kind"], variables["day"], variables["urgent"]) == (
        "office",
        "2025-05-31",
        True,
    )


# --- attachments with the start form -------------------------------------------------------


@pytest.fixture
def media(settings: Any, tmp_path: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.django_db
def test_submit_with_attachments(
    employee: User, dept_head: User, signin: Any, processes: None, media: Any
) -> None:
    client = signin(employee)
    assert 'enctype="multipart/form-data"' in client.get(start_url()).content.decode()
    files = [
        SimpleUploadedFile("receipt.txt", b"taxi 35 yuan", content_type="text/plain"),
        SimpleUploadedFile("hotel.txt", b"2 nights", content_type="text/plain"),
    ]
    # typed Any: a dict of files could, for mypy, also hold post_start's ``action``
    upload: dict[str, Any] = {"meta-attachments": files}
    response = post_start(client, start_url(), reason="r", amount="5", **upload)
    assert INSTANCE.match(response["Location"])
    instance = ProcessInstance.objects.get()
    names = sorted(Attachment.objects.filter(instance=instance).values_list("name", flat=True))
    assert names == ["hotel.txt", "receipt.txt"]


@pytest.mark.django_db
def test_bad_attachment_is_an_inline_error(
    employee: User, signin: Any, processes: None, media: Any
) -> None:
    fake = SimpleUploadedFile("tool.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    upload: dict[str, Any] = {"meta-attachments": fake}
    response = post_start(signin(employee), start_url(), reason="r", amount="5", **upload)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Files of this type (tool.exe) cannot be attached." in html
    assert 'value="r"' in html
    assert not ProcessInstance.objects.exists() and not Attachment.objects.exists()


@pytest.mark.django_db
def test_files_are_kept_when_the_form_is_refused(
    employee: User, signin: Any, processes: None, media: Any
) -> None:
    """More in tests/workflow/test_pending_uploads.py."""
    good = SimpleUploadedFile("receipt.txt", b"taxi", content_type="text/plain")
    upload: dict[str, Any] = {"meta-attachments": good}
    response = post_start(signin(employee), start_url(), reason="", amount="5", **upload)
    assert response.status_code == 400
    assert "Chosen: receipt.txt" in response.content.decode()
    assert not Attachment.objects.exists()


def test_a_process_an_application_starts_is_not_offered_but_may_be_started(
    employee: User, processes: None
) -> None:
    """``camunda:isStartableInTasklist="false"`` (as Camunda's Tasklist reads it): the
    catalogue and the quick starts leave it out, and the one start path still starts it for
    the application that does (the knowledge base's article review)."""
    body = '<startEvent id="s"/><userTask id="t" camunda:assignee="nobody"/><endEvent id="e"/>'
    xml = definitions(
        '<process id="app_only" isExecutable="true" camunda:isStartableInTasklist="false">'
        f"{body}{flow('s', 't')}{flow('t', 'e')}</process>"
    )
    definition_deploy(xml=xml, source_name="app_only.bpmn")
    offered = {p.key for c in catalogue.startable_processes(employee) for p in c.processes}
    assert "app_only" not in offered and "claim" in offered
    assert "app_only" not in {p.key for p in home.quick_starts(employee)[0]}
    instance_id, created = starts.request_submit(user=employee, key="app_only", data={})
    assert created and ProcessInstance.objects.filter(pk=instance_id).exists()
