"""/workflow/designer/: the process designer page, as each persona."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.test import Client

from portal.models import User
from tests.workflow.approval_helpers import deploy_steps, make_admin, user_task
from workflow.views import designer as designer_views

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

pytestmark = pytest.mark.django_db

URL = "/workflow/designer/"


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    """Sign in as ``user``, who reads the portal in English (the assertions' language)."""

    def _login(user: User) -> Client:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        return client

    return _login


def _designer(user: User) -> User:
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="workflow", codename="add_processdefinition")
    )
    return User.objects.get(pk=user.pk)


def _config(answer: TestResponse) -> dict[str, Any]:
    html = answer.content.decode()
    start = html.index('<script id="designer-config" type="application/json">')
    text = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(text)


def test_anonymous_is_sent_to_sign_in(client) -> None:
    answer = client.get(URL)
    assert answer.status_code == 302
    assert answer["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.parametrize("persona", ["employee", "colleague", "outsider", "dept_head", "hr_admin"])
def test_people_who_may_not_deploy_get_403(request, login, persona: str) -> None:
    answer = login(request.getfixturevalue(persona)).get(URL)
    assert answer.status_code == 403


def test_a_process_admin_may_design_without_the_deploy_permission(login, outsider) -> None:
    """Process administrators own a process's settings and may deploy its next version
    (issue 15, item 14)."""
    client = login(make_admin(outsider))
    assert client.get(URL).status_code == 200
    assert f'href="{URL}"' in client.get("/").content.decode()


def test_the_navigation_shows_the_designer_only_to_designers(login, employee, hr_admin) -> None:
    assert URL not in login(employee).get("/").content.decode()
    assert f'href="{URL}"' in login(_designer(hr_admin)).get("/").content.decode()


def test_a_designer_sees_the_modeler_and_the_deployed_processes(login, hr_admin) -> None:
    deploy_steps(user_task("Approve", assignee="${initiator}"), key="leave")
    deploy_steps(user_task("Approve", assignee="${initiator}"), key="leave")  # same: v1 stays
    deploy_steps(user_task("Check", assignee="${initiator}"), key="leave")  # v2
    deploy_steps(user_task("Pay", assignee="${initiator}"), key="expense")
    answer = login(_designer(hr_admin)).get(URL)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert 'class="wide designer-page"' in html
    assert 'id="designer-canvas"' in html
    assert 'id="designer-properties"' in html
    assert '<option value="leave" data-name="leave">leave · leave v2</option>' in html
    assert '<option value="expense" data-name="expense">expense · expense v1</option>' in html
    for button in ("designer-new", "designer-file", "designer-download", "designer-validate"):
        assert f'id="{button}"' in html
    assert 'id="designer-deploy-dialog"' in html
    config = _config(answer)
    assert config["urls"] == {
        "xml": "/api/v1/definitions/__KEY__/xml",
        "validate": "/api/v1/definitions/validate",
        "simulate": "/api/v1/definitions/simulate",
        "deploy": "/api/v1/definitions/",
        "translations": "/api/v1/definitions/__KEY__/translations",
    }
    assert config["csrfToken"]
    assert config["initialKey"] == ""
    assert config["labels"]["valid"] == "No problems found: the process can be deployed."


def test_the_superuser_may_design(login, superuser) -> None:
    answer = login(superuser).get(URL)
    assert answer.status_code == 200
    assert "<title>Process designer" in answer.content.decode()


def test_the_page_speaks_chinese_by_default(client, hr_admin) -> None:
    user = _designer(hr_admin)
    user.preferred_language = ""
    user.save()
    client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="zh-hans">' in html


def test_a_key_opens_that_process(login, hr_admin) -> None:
    deploy_steps(user_task("Approve", assignee="${initiator}"), key="leave")
    client = login(_designer(hr_admin))
    answer = client.get(URL, {"key": "leave"})
    assert _config(answer)["initialKey"] == "leave"
    assert '<option value="leave" data-name="leave" selected>' in answer.content.decode()


def test_an_unknown_key_is_said_and_nothing_opens(login, hr_admin) -> None:
    answer = login(_designer(hr_admin)).get(URL, {"key": "<nope>"})
    assert answer.status_code == 200
    assert _config(answer)["initialKey"] == ""
    assert 'No process "&lt;nope&gt;" is deployed.' in answer.content.decode()


def test_without_the_built_bundle_the_page_says_how_to_build_it(
    login, hr_admin, monkeypatch
) -> None:
    monkeypatch.setattr("workflow.views.designer.finders.find", lambda path: None)
    html = login(_designer(hr_admin)).get(URL).content.decode()
    assert 'id="designer-missing"' in html
    assert "make setup" in html
    assert "designer/designer.js" not in html


def test_with_the_bundle_the_page_loads_it(login, hr_admin) -> None:
    assert finders.find(designer_views.BUNDLE) is not None, (
        "the designer bundle is not built: run `make setup` (make test does)"
    )
    html = login(_designer(hr_admin)).get(URL).content.decode()
    assert '<script src="/static/designer/designer.js" defer></script>' in html
    assert 'href="/static/designer/designer.css"' in html


def test_only_get(login, hr_admin) -> None:
    assert login(_designer(hr_admin)).post(URL).status_code == 405
