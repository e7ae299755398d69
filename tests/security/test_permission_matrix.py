"""The permission matrix: every URL pattern of the project and every API operation, visited
as every persona of tests/security/world.py, against the answer each one must get.

- A page answers an anonymous visitor with the login page, the API with 401.
- An object someone may not see answers 404 (never 403: a 403 would say that it exists);
  a page or an operation that needs a permission the person lacks answers 403.
- A POST that the person may not make changes nothing (the state of the database is the
  same before and after); only the personas listed as acting on a row may change it.
- Every URL pattern of the resolver must have a row here (Django admin: a representative
  set of rows, and every registered model's list refuses people who are not staff), and
  every operation of the OpenAPI schema too: a new view cannot escape the matrix.

Requests carry a valid CSRF token (the clients enforce the check as browsers do), so an
answer is the view's, not the CSRF middleware's; tests/security/test_csrf.py proves the
other side. Each case is named ``<pattern>[<variant>]-<METHOD>-<persona>``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from drf_spectacular.generators import SchemaGenerator

from erp_bridge.models import CallStat, InterfaceCall
from knowledge.models import Article
from portal import registry
from portal.models import Notification, User
from tests.security.world import KB_HIDDEN, PAYROLL, PERSONAS, World
from workflow.models import (
    CarbonCopy,
    ExternalTask,
    Incident,
    ProcessInstance,
    Task,
)
from workflow.views.actions import INSTANCE_ACTIONS, TASK_ACTIONS

pytestmark = pytest.mark.django_db

LOGIN = "login"  # a redirect to the portal's login page
ADMIN_LOGIN = "admin-login"  # a redirect to the admin's login page
CSRF_TOKEN = "matrixcsrfsecret0123456789abcdef"  # 32 characters: a CSRF secret
SIGNED_IN = tuple(p for p in PERSONAS if p != "anonymous")
Expected = int | str

# --- expectations --------------------------------------------------------------------------


def page(default: Expected, **persona: Expected) -> dict[str, Expected]:
    """A page behind the login: anonymous → the login page, the others ``default`` unless
    named."""
    return {"anonymous": LOGIN, **dict.fromkeys(SIGNED_IN, default), **persona}


def api(default: Expected, **persona: Expected) -> dict[str, Expected]:
    """An API operation: anonymous → 401 (the bearer challenge), the others ``default``."""
    return {"anonymous": 401, **dict.fromkeys(SIGNED_IN, default), **persona}


def everyone(status: Expected, **persona: Expected) -> dict[str, Expected]:
    return {**dict.fromkeys(PERSONAS, status), **persona}


# Who sees the world's instance (its pages, its task, its attachment): the initiator, the
# manager who holds its task, the person copied on it, the process administrator.
SEE_THE_INSTANCE = ("employee", "manager", "staff", "admin")


def seen(status: Expected, **persona: Expected) -> dict[str, Expected]:
    return page(404, **{**dict.fromkeys(SEE_THE_INSTANCE, status), **persona})


def seen_api(status: Expected, **persona: Expected) -> dict[str, Expected]:
    return api(404, **{**dict.fromkeys(SEE_THE_INSTANCE, status), **persona})


def admin_page(status: Expected = 200) -> dict[str, Expected]:
    """The monitoring console and the designer: process administrators only."""
    return page(403, admin=status)


def post_only(kind: Callable[..., dict[str, Expected]] = page) -> dict[str, Expected]:
    """GET on a POST-only address: 405 once past the login."""
    return kind(405)


@dataclass(frozen=True)
class Row:
    """One address and method of the matrix and the answer each persona must get."""

    name: str  # the URL pattern's name (with its namespace), or its route when unnamed
    method: str
    expect: dict[str, Expected]
    variant: str = ""
    kwargs: Callable[[World], dict[str, Any]] | None = None
    path: str = ""  # for an unnamed pattern: the address itself
    acts: frozenset[str] = frozenset()  # personas whose (empty) POST may change the state
    json: bool = False  # send ``body`` as JSON (the API) rather than an empty form
    body: str = "{}"

    @property
    def id(self) -> str:
        variant = f"[{self.variant}]" if self.variant else ""
        return f"{self.name}{variant}-{self.method}"

    def url(self, world: World) -> str:
        if self.path:
            return self.path
        wanted = world.kwargs() if self.kwargs is None else self.kwargs(world)
        pattern = url_patterns()[self.name]
        names = set(pattern.pattern.regex.groupindex)
        return reverse(self.name, kwargs={k: v for k, v in wanted.items() if k in names})


def get(name: str, expect: dict[str, Expected], **options: Any) -> Row:
    return Row(name, "GET", expect, **options)


def post(name: str, expect: dict[str, Expected], **options: Any) -> Row:
    return Row(name, "POST", expect, **options)


def acting(*personas: str) -> frozenset[str]:
    return frozenset(personas)


def _notification(world: World) -> dict[str, Any]:
    return {"pk": world.notification_id}


def _announcement(world: World) -> dict[str, Any]:
    return {"pk": world.announcement_id}


def _claimable(world: World) -> dict[str, Any]:
    return {"task_id": world.claim_task_id}


def _own_request(world: World) -> dict[str, Any]:
    return {"task_id": world.own_task_id}


def _process(key: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"key": key}


def _no_such_rule(world: World) -> dict[str, Any]:
    return {"pk": 999_999}


def _user_change(world: World) -> dict[str, Any]:
    return {"object_id": world.users["employee"].pk}


# --- the shell -------------------------------------------------------------------------------

SHELL = [
    get("portal:dashboard", page(200)),
    *[
        get(
            "portal:portlet",
            # the CRM's boxes are for people with its permissions (the superuser here)
            page(404, admin=200) if key.startswith("crm-") else page(200),
            variant=key,
            kwargs=lambda w, key=key: {"key": key},
        )
        for key in sorted(registry.portlets.keys())
    ],
    get("portal:portlet", page(404), variant="unknown", kwargs=lambda w: {"key": "no-such"}),
    get("portal:login", everyone(302, anonymous=200)),  # signed in: on to the dashboard
    post("portal:login", everyone(302, anonymous=200)),  # no credentials: the form again
    get("portal:logout", everyone(405)),
    post("portal:logout", everyone(LOGIN)),
    get("portal:password_change", page(200)),
    post("portal:password_change", page(200)),  # the form with its errors
    get("portal:profile", page(200)),
    post("portal:profile", page(200)),
    # 代理 (out of office): one's own rules; an empty form is the page with its errors, and
    # a rule that is not one's own (here: none has this id) is not found
    get("portal:delegation_create", post_only()),
    post("portal:delegation_create", page(400)),
    get("portal:delegation_end", post_only(), kwargs=_no_such_rule),
    post("portal:delegation_end", page(404), kwargs=_no_such_rule),
    get("portal:delegation_delete", post_only(), kwargs=_no_such_rule),
    post("portal:delegation_delete", page(404), kwargs=_no_such_rule),
    get("portal:language", everyone(405)),
    post("portal:language", everyone(400)),
    get("portal:notifications", page(200)),
    get("portal:notification_badge", page(200)),
    get("portal:notifications_read_all", post_only()),
    post("portal:notifications_read_all", page(302), acts=acting(*SIGNED_IN)),  # one's own
    get("portal:notification_open", post_only(), kwargs=_notification),
    post(
        "portal:notification_open",
        page(404, employee=302),
        kwargs=_notification,
        acts=acting("employee"),
    ),
    get("portal:announcements", page(200)),
    # the data dictionary: everyone signed in reads it, on the page, printed and as a PDF
    get("portal:dictionary", page(200)),
    get("portal:dictionary_print", page(200)),
    # for 销售部: its members; the author (HR) and the administrator are not its audience
    get(
        "portal:announcement",
        page(404, employee=200, colleague=200, manager=200),
        kwargs=_announcement,
    ),
]

# --- the inbox, the task and instance pages, attachments ---------------------------------------

INBOX = [
    get("workflow:inbox", page(200)),
    get("workflow:inbox_counts", page(200)),
    get("workflow:inbox_badge", page(200)),
    # 导出 Excel: one's own lists only, so everyone signed in gets their own
    get("workflow:inbox_export", page(200)),
    get("workflow:drafts_export", page(200)),
    get("workflow:inbox_bulk_approve", post_only()),
    post("workflow:inbox_bulk_approve", page(302)),  # nothing chosen: back, with a message
    get("workflow:inbox_claim", post_only(), kwargs=_claimable),
    # offered to the department heads' role: only the manager may claim it
    post("workflow:inbox_claim", page(404, manager=302), kwargs=_claimable, acts=acting("manager")),
    # separation of duties: offered to a role the initiator holds, taken only by the colleague
    post(
        "workflow:inbox_claim",
        page(404, colleague=302),
        variant="own-request",
        kwargs=_own_request,
        acts=acting("colleague"),
    ),
]

# An empty POST of each task action by those who see the task: what the action answers.
TASK_ACTION_ANSWERS: dict[str, dict[str, Expected]] = {
    # the step's actions without "confirmed": the confirmation page (nothing done yet)
    "approve": seen(200),
    "resolve": seen(200),
    # a required field missing: the page again with the error (400)
    "reject": seen(400),
    "return": seen(400),
    "transfer": seen(400),
    "delegate": seen(400),
    "add_signers": seen(400),
    "remove_signer": seen(400),
    "copy": seen(400),
    "cancel": seen(400),
    "terminate": seen(400),
    "move": seen(400),
    "reassign": seen(400),
    "comment": seen(400),
    "attach": seen(400),
    # nothing to fill in: done, or refused with a message (back to the task page)
    "claim": seen(302),
    "unclaim": seen(302),
    "urge": seen(302),
    "withdraw": seen(302),
    "suspend": seen(302),
    "resume": seen(302),
    "no-such-action": seen(404),
}
# who may take an action that needs no input: the initiator urges and withdraws (the
# manager has not acted yet), the process administrator urges and suspends
ACTS_WITHOUT_INPUT: dict[str, frozenset[str]] = {
    "urge": frozenset({"employee", "admin"}),
    "withdraw": frozenset({"employee"}),
    "suspend": frozenset({"admin"}),
}
INSTANCE_ACTION_ANSWERS: dict[str, dict[str, Expected]] = {
    "copy": seen(400),
    "urge": seen(302),
    "withdraw": seen(302),
    "cancel": seen(400),
    "suspend": seen(302),
    "resume": seen(302),
    "terminate": seen(400),
    "move": seen(400),
    "reassign": seen(400),
    "comment": seen(400),
    "attach": seen(400),
    "no-such-action": seen(404),
}


def _action_rows(
    name: str,
    actions: list[str],
    answers: dict[str, dict[str, Expected]],
) -> list[Row]:
    # GET: one address is enough, the view refuses the method before it reads the action
    first = actions[0]
    rows = [get(name, post_only(), variant=first, kwargs=lambda w: _with_action(w, first))]
    for action in [*actions, "comment", "attach", "no-such-action"]:
        rows.append(
            post(
                name,
                answers[action],  # a new action without its row here fails at collection
                variant=action,
                kwargs=lambda w, a=action: _with_action(w, a),
                acts=ACTS_WITHOUT_INPUT.get(action, frozenset()),
            )
        )
    return rows


def _with_action(world: World, action: str) -> dict[str, Any]:
    return {**world.kwargs(), "action": action}


TASKS = [
    get("workflow:task", seen(200)),
    *_action_rows("workflow:task_action", list(TASK_ACTIONS), TASK_ACTION_ANSWERS),
    get("workflow:instance", seen(200)),
    get("workflow:instance_diagram", seen(200)),
    get("workflow:instance_print", seen(200)),
    *_action_rows(
        "workflow:instance_action",
        list(INSTANCE_ACTIONS),
        INSTANCE_ACTION_ANSWERS,
    ),
    get("workflow:people", page(200)),
    # 签名: the world's task is not decided yet, so nobody finds a signature (a signed one:
    # tests/workflow/test_signatures.py, as the initiator and as an outsider)
    get("workflow:task-signature", page(404)),
    # 常用语: one's own only; the world's phrase is the employee's
    get("workflow:phrases", page(200)),
    post("workflow:phrases", page(400)),  # no text: the page with its error
    get("workflow:phrase-delete", post_only()),
    post("workflow:phrase-delete", page(404, employee=302), acts=acting("employee")),
    get("workflow:phrase-move", post_only()),
    post("workflow:phrase-move", page(404, employee=400)),  # no direction given
    get("workflow:attachment", seen(200)),
    get("workflow:attachment_inline", seen(200)),
    get("workflow:attachment_preview", seen(302)),  # without htmx: the instance page shows it
]

# --- the catalogue, drafts, designer, console --------------------------------------------------

CATALOGUE = [
    get("workflow:catalogue", page(200)),
    get("workflow:start", page(200), variant="open"),
    post("workflow:start", page(400), variant="open"),  # neither "Submit" nor "Save draft"
    # only its role may start it (and a superuser): the others are not told that it exists
    get("workflow:start", page(404, admin=200), variant="restricted", kwargs=_process(PAYROLL)),
    post("workflow:start", page(404, admin=400), variant="restricted", kwargs=_process(PAYROLL)),
    get("workflow:start", page(404), variant="unknown", kwargs=_process("no-such-process")),
    # the approval chain beside the start form: who may start it, else 404; it writes nothing
    get("workflow:start-preview", page(200), variant="open"),
    post("workflow:start-preview", page(200), variant="open"),
    get(
        "workflow:start-preview",
        page(404, admin=200),
        variant="restricted",
        kwargs=_process(PAYROLL),
    ),
    post(
        "workflow:start-preview",
        page(404, admin=200),
        variant="restricted",
        kwargs=_process(PAYROLL),
    ),
    get("workflow:start-preview", page(404), variant="unknown", kwargs=_process("no-such-process")),
    get("workflow:drafts", page(200)),
    get("workflow:form_departments", page(200)),  # the department picker's search
    get("workflow:form_leave_days", page(200)),  # a leave's days, one's own balance
    get("workflow:draft-delete", post_only()),
    post("workflow:draft-delete", page(404, employee=302), acts=acting("employee")),
    get("workflow:designer", admin_page()),
    get("workflow:console", admin_page()),
    get("workflow:console_actions", admin_page(302)),  # nothing chosen: back to the list
    post("workflow:console_actions", admin_page(303)),
    get("workflow:console_incidents", admin_page()),
    get("workflow:console_incident_retry", page(403, admin=405)),
    post("workflow:console_incident_retry", admin_page(303)),
    get("workflow:console_jobs", admin_page()),
    # a process's settings: process administrators; an empty form is refused (400)
    get("workflow:console_processes", admin_page()),
    get("workflow:console_process", admin_page()),
    post("workflow:console_process", admin_page(400)),
    get("workflow:console_export", admin_page()),
    get("workflow:console_incidents_export", admin_page()),
    get("workflow:console_jobs_export", admin_page()),
    get("workflow:console_statistics", admin_page()),
]

# --- the API --------------------------------------------------------------------------------


def api_get(name: str, expect: dict[str, Expected], **options: Any) -> Row:
    return Row(name, "GET", expect, json=True, **options)


def api_post(name: str, expect: dict[str, Expected], **options: Any) -> Row:
    return Row(name, "POST", expect, json=True, **options)


# An empty POST of each action by those who see the instance or task: 400 when input is
# missing, 403 when only a process administrator may, 409 when the service refuses the person
# or the state, 200 when it is done.
API_INSTANCE_ANSWERS: dict[str, dict[str, Expected]] = {
    "withdraw": seen_api(409, employee=200),
    "cancel": seen_api(400),
    "urge": seen_api(409, employee=200, admin=200),
    "copy": seen_api(400),
    "read": seen_api(200),  # one's own copy marked read
    "comments": seen_api(400),
    "attachments": seen_api(400),
    "suspend": seen_api(403, admin=200),
    "resume": seen_api(403, admin=409),  # running: nothing to resume
    "terminate": seen_api(400),
    "move": seen_api(400),
    "migrate": seen_api(400),
}
API_TASK_ANSWERS: dict[str, dict[str, Expected]] = {
    "claim": seen_api(409, manager=200),  # already the manager's: nothing to do
    "unclaim": seen_api(409),
    "approve": seen_api(409, manager=200),  # the comment is optional
    "reject": seen_api(400),
    "return": seen_api(400),
    "transfer": seen_api(400),
    "delegate": seen_api(400),
    "resolve": seen_api(409),
    "add-signers": seen_api(400),
    "remove-signer": seen_api(409),
    "reassign": seen_api(400),
}
API_ACTS: dict[str, frozenset[str]] = {
    "api:instance-withdraw": frozenset({"employee"}),
    "api:instance-urge": frozenset({"employee", "admin"}),
    "api:instance-read": frozenset({"staff"}),
    "api:instance-suspend": frozenset({"admin"}),
    "api:task-approve": frozenset({"manager"}),
}
# sent as the form they take (a file upload), not as JSON
MULTIPART = {"api:instance-attachments"}


def _api_action_rows(prefix: str, answers: dict[str, dict[str, Expected]]) -> list[Row]:
    rows = []
    for action, expect in answers.items():
        name = f"api:{prefix}-{action}"
        rows.append(api_get(name, api(405)))
        rows.append(
            Row(
                name,
                "POST",
                expect,
                json=name not in MULTIPART,
                acts=API_ACTS.get(name, frozenset()),
            )
        )
    return rows


API = [
    api_get("api:definitions", api(200)),
    api_post("api:definitions", api(403, admin=400)),
    api_get("api:definitions-validate", api(405)),
    api_post("api:definitions-validate", api(403, admin=400)),
    api_get("api:definitions-simulate", api(405)),
    api_post("api:definitions-simulate", api(403, admin=400)),
    api_get("api:definition-xml", api(403, admin=200)),
    # the designer's translations panel: an empty PUT lacks the table (nothing saved)
    api_get("api:definition-translations", api(403, admin=200)),
    Row("api:definition-translations", "PUT", api(403, admin=400), json=True),
    api_get("api:instances", api(200)),
    api_post("api:instances", api(400)),
    # a process only its role may start: to the others it is as if not deployed (the unknown
    # key's field error, and GET api:definitions does not list it), as the catalogue's 404
    api_post(
        "api:instances",
        api(400, admin=201),
        variant="restricted",
        body=f'{{"process_key": "{PAYROLL}"}}',
        acts=acting("admin"),
    ),
    api_get("api:instance-detail", seen_api(200)),
    api_get("api:instance-diagram", seen_api(200)),
    *_api_action_rows("instance", API_INSTANCE_ANSWERS),
    api_get("api:tasks", api(200)),
    api_get("api:task-detail", seen_api(200)),
    api_get("api:task-return-targets", seen_api(200)),
    *_api_action_rows("task", API_TASK_ANSWERS),
    # separation of duties: nobody hands the initiator a step of their own request, and the
    # initiator does not take one offered to a role they hold
    api_post(
        "api:task-claim",
        api(404, employee=409, manager=409, admin=409, colleague=200),
        variant="own-request",
        kwargs=_own_request,
        acts=acting("colleague"),
    ),
    *[
        api_post(
            f"api:task-{action}",
            seen_api(409, manager=400),
            variant="to-the-initiator",
            body=body,
        )
        for action, body in (
            ("transfer", '{"to": "zhangwei"}'),
            ("delegate", '{"to": "zhangwei"}'),
            ("add-signers", '{"signers": ["zhangwei"], "position": "after"}'),
        )
    ],
    api_post(
        "api:task-reassign",
        seen_api(403, admin=400),
        variant="to-the-initiator",
        body='{"to": "zhangwei"}',
    ),
    api_get("api:phrases", api(200)),
    api_post("api:phrases", api(400)),  # no text
    api_get("api:phrase-detail", api(405)),
    Row("api:phrase-detail", "DELETE", api(404, employee=204), json=True, acts=acting("employee")),
    api_get("api:incidents", api(403, admin=200)),
    api_get("api:incident-retry", api(405)),
    api_post("api:incident-retry", api(403, admin=200), acts=acting("admin")),
    api_get("api:external-tasks-mine", api(200)),
    api_get("api:external-task", api(403, admin=405)),
    Row("api:external-task", "PUT", api(403, admin=400), json=True),
    Row("api:external-task", "PATCH", api(403, admin=400), json=True),  # no source_updated_at
    # a process's settings: process administrators; PUT needs every field, PATCH {} changes
    # nothing but creates the row with its defaults
    api_get("api:process-settings", api(403, admin=200)),
    Row("api:process-settings", "PUT", api(403, admin=400), json=True),
    Row("api:process-settings", "PATCH", api(403, admin=200), json=True, acts=acting("admin")),
    api_get("api:external-task-close", api(403, admin=405)),
    api_post("api:external-task-close", api(403, admin=400)),
    api_get("api:external-task-replace", api(403, admin=405)),
    api_post("api:external-task-replace", api(403, admin=400)),
    # anything else under /api/v1/ and /api/: the API's 404, whoever asks
    api_get("^api/", everyone(404), variant="v1", path="/api/v1/no-such-thing"),
    api_get("^api/", everyone(404), path="/api/no-such-thing"),
    # the data dictionary's API: its rules, and a check that changes nothing (no key: 400)
    api_get("portal-api:dictionary", api(200)),
    api_get("portal-api:dictionary-check", api(405)),
    api_post("portal-api:dictionary-check", api(400)),
    api_post(
        "portal-api:dictionary-check",
        api(200),
        variant="valid",
        body='{"key": "currency", "value": "CNY"}',
    ),
    # the schema and its documentation: for signed-in people and API clients only
    api_get("api-schema", api(200)),
    get("api-docs", page(200)),
    get("api-redoc", page(200)),
    # OAuth2: the authorization page needs a signed-in person; the token, revoke and
    # introspection endpoints authenticate the client application, never a session
    get("oauth2_provider:authorize", page(400)),
    get("oauth2_provider:token", everyone(405)),
    post("oauth2_provider:token", everyone(400)),
    get("oauth2_provider:revoke-token", everyone(405)),
    post("oauth2_provider:revoke-token", everyone(400)),
    get("oauth2_provider:introspect", everyone(403)),
    post("oauth2_provider:introspect", everyone(403)),
]

# --- the knowledge base's API (/api/v1/knowledge/) -----------------------------------------------


def _kb_draft(world: World) -> dict[str, Any]:
    return {"article_id": world.kb_draft_id}


def _kb_hidden(world: World) -> dict[str, Any]:
    return {"space_key": KB_HIDDEN}


# The employee edits the public space KB_SPACE and owns its article and draft; everyone signed
# in reads the space; only the administrator reads KB_HIDDEN; a draft is its editors'. A write
# by a reader answers 403, an empty body 400 (checked after who may write).
EDITS_KB = ("employee", "admin")
KNOWLEDGE_API = [
    api_get("knowledge-api:spaces", api(200)),
    api_get("knowledge-api:space-detail", api(200)),
    api_get("knowledge-api:space-detail", api(404, admin=200), variant="hidden", kwargs=_kb_hidden),
    api_get("knowledge-api:articles", api(200)),
    api_post("knowledge-api:articles", api(400)),  # no space, title or body
    api_get("knowledge-api:article-detail", api(200)),
    api_get(
        "knowledge-api:article-detail",
        api(404, employee=200, admin=200),
        variant="draft",
        kwargs=_kb_draft,
    ),
    Row("knowledge-api:article-detail", "PUT", api(403, employee=400, admin=400), json=True),
    Row(
        "knowledge-api:article-detail",
        "DELETE",
        api(403, employee=204, admin=204),  # its owner, a space admin
        json=True,
        acts=acting(*EDITS_KB),
    ),
    api_get("knowledge-api:article-versions", api(403, employee=200, admin=200)),
    api_get("knowledge-api:article-version", api(200)),  # version 1: the published one
    api_get("knowledge-api:article-version-restore", api(405)),
    api_post(
        "knowledge-api:article-version-restore",
        api(403, employee=201, admin=201),
        acts=acting(*EDITS_KB),
    ),
    api_get("knowledge-api:article-publish", api(405)),
    api_post("knowledge-api:article-publish", api(403, employee=200, admin=200)),  # already is
    api_post(
        "knowledge-api:article-publish",
        api(404, employee=200, admin=200),
        variant="draft",
        kwargs=_kb_draft,
        acts=acting(*EDITS_KB),
    ),
    api_get("knowledge-api:article-submit", api(405)),
    # the space publishes without review: nothing to submit
    api_post("knowledge-api:article-submit", api(403, employee=409, admin=409)),
    api_get("knowledge-api:article-feedback", api(405)),
    api_post("knowledge-api:article-feedback", api(400)),  # helpful missing
    api_post(
        "knowledge-api:article-feedback",
        api(200),
        variant="helpful",
        body='{"helpful": true}',
        acts=acting(*SIGNED_IN),
    ),
    api_get("knowledge-api:search", api(200)),
]

# --- the knowledge base's pages (/knowledge/) -----------------------------------------------------


def _kb_hidden_space(world: World) -> dict[str, Any]:
    return {"space_key": KB_HIDDEN}


def _kb_attachment(world: World) -> dict[str, Any]:
    return {"attachment_id": world.kb_attachment_id}


# The public space KB_SPACE: everyone signed in reads it, the employee edits it and owns its
# article, the administrator (a superuser) administers it; KB_HIDDEN only the administrator
# reads. What one's role in a readable space does not allow answers 403; an empty form 400.
KB_WRITERS = ("employee", "admin")
KNOWLEDGE_PAGES = [
    get("knowledge:spaces", page(200)),
    get("knowledge:space_create", page(403, admin=200)),
    post("knowledge:space_create", page(403, admin=400)),
    get("knowledge:help", page(404)),  # the world has no help centre
    get("knowledge:search", page(200)),
    get("knowledge:suggest", page(200)),
    get("knowledge:preview", post_only()),
    post("knowledge:preview", page(200)),  # renders, writes nothing
    get("knowledge:space", page(200)),
    get("knowledge:space", page(404, admin=200), variant="hidden", kwargs=_kb_hidden_space),
    get("knowledge:members", page(200)),
    get("knowledge:members", page(404, admin=200), variant="hidden", kwargs=_kb_hidden_space),
    post("knowledge:members", page(403, admin=400)),
    get("knowledge:member_remove", post_only()),
    post("knowledge:member_remove", page(403, admin=302)),  # nobody named: back, with a message
    get("knowledge:recycle_bin", page(403, admin=200)),
    get("knowledge:article_undelete", post_only()),
    post("knowledge:article_undelete", page(403, admin=404)),  # the article is not in the bin
    get("knowledge:space_settings", page(403, admin=200)),
    post("knowledge:space_settings", page(403, admin=400)),
    get("knowledge:article_new", page(403, employee=200, admin=200)),
    post("knowledge:article_new", page(403, employee=400, admin=400)),
    get("knowledge:article", page(200)),
    get("knowledge:article", page(404, employee=200, admin=200), variant="draft", kwargs=_kb_draft),
    get("knowledge:article_edit", page(403, employee=200, admin=200)),
    post("knowledge:article_edit", page(403, employee=400, admin=400)),
    get("knowledge:article_history", page(200)),
    get("knowledge:article_diff", page(302)),  # no versions chosen: back to the history
    get("knowledge:article_restore", post_only()),
    post("knowledge:article_restore", page(403, employee=302, admin=302), acts=acting(*KB_WRITERS)),
    get("knowledge:article_publish", post_only()),
    post("knowledge:article_publish", page(403, employee=302, admin=302), acts=acting(*KB_WRITERS)),
    get("knowledge:article_submit", post_only()),
    # the space publishes without review: refused with the reason
    post("knowledge:article_submit", page(403, employee=302, admin=302)),
    get("knowledge:article_delete", post_only()),
    post("knowledge:article_delete", page(403, employee=302, admin=302), acts=acting(*KB_WRITERS)),
    get("knowledge:article_confirm", post_only()),
    # its owner or a space admin
    post("knowledge:article_confirm", page(403, employee=302, admin=302), acts=acting(*KB_WRITERS)),
    get("knowledge:article_feedback", post_only()),
    post("knowledge:article_feedback", page(302)),  # neither helpful nor not: back, with a message
    get("knowledge:attachment_upload", post_only()),
    post("knowledge:attachment_upload", page(403, employee=302, admin=302)),  # no file
    get("knowledge:attachment", page(200), kwargs=_kb_attachment),
    get("knowledge:attachment_inline", page(200), kwargs=_kb_attachment),
    get("knowledge:attachment_preview", page(302), kwargs=_kb_attachment),  # without htmx
]

# --- Django admin: a representative set (every model's list: test_every_admin_list_...) ------

ADMIN = [
    get("admin:index", everyone(ADMIN_LOGIN, staff=200, admin=200)),
    get("admin:login", everyone(200, staff=302, admin=302)),
    get("admin:portal_user_changelist", everyone(ADMIN_LOGIN, staff=200, admin=200)),
    get(
        "admin:portal_user_change",
        everyone(ADMIN_LOGIN, staff=200, admin=200),
        kwargs=_user_change,
    ),
    get("admin:workflow_processinstance_changelist", everyone(ADMIN_LOGIN, staff=403, admin=200)),
    get(
        "admin:oauth2_provider_application_changelist",
        everyone(ADMIN_LOGIN, staff=403, admin=200),
    ),
]

# --- the integration console (/erp/console/): integration administrators only ---------------------


def _no_such_erp_object(world: World) -> dict[str, Any]:
    return {"pk": 999_999}  # no message nor subscription: the admin's POST is told so (303)


def integration_page(status: Expected = 200) -> dict[str, Expected]:
    """``erp_bridge.view_interfacecall`` (the superuser): anyone else signed in gets 403."""
    return page(403, admin=status)


ERP_CONSOLE = [
    # the ERP's inbound status webhooks: no login (the HMAC signature is the credential,
    # tests/erp_bridge/test_webhooks.py); with no ERP_WEBHOOK_SECRET set they are off (503)
    get("erp_bridge:webhook", everyone(405), kwargs=lambda w: {"source": "tryton"}),
    post("erp_bridge:webhook", everyone(503), kwargs=lambda w: {"source": "tryton"}, json=True),
    get("erp_bridge:console", integration_page()),
    get("erp_bridge:outbox", integration_page()),
    get("erp_bridge:outbox_replay", integration_page(405), kwargs=_no_such_erp_object),
    post("erp_bridge:outbox_replay", integration_page(303), kwargs=_no_such_erp_object),
    get("erp_bridge:outbox_discard", integration_page(405), kwargs=_no_such_erp_object),
    post("erp_bridge:outbox_discard", integration_page(303), kwargs=_no_such_erp_object),
    get("erp_bridge:masterdata", integration_page()),
    get("erp_bridge:masterdata_sync", integration_page(405)),
    post("erp_bridge:masterdata_sync", integration_page(303)),  # no kind chosen: back, told so
    get("erp_bridge:webhooks", integration_page()),
    post("erp_bridge:webhooks", integration_page(400)),  # an empty subscription is refused
    get("erp_bridge:webhook_delete", integration_page(405), kwargs=_no_such_erp_object),
    post("erp_bridge:webhook_delete", integration_page(303), kwargs=_no_such_erp_object),
    get("erp_bridge:orders", integration_page()),
]


def _no_such_code(world: World) -> dict[str, Any]:
    return {"code": "NO-SUCH-CODE"}


def _no_such_message(world: World) -> dict[str, Any]:
    return {"pk": 999_999, "message_id": 999_999, "reference": "NO-SUCH-ORDER"}


# The ERP bridge's API: the master data's read copies for everyone signed in; the ERP's
# employees and the orders need their model's view permission (the superuser); the outbox is
# for integration administrators (``change_outboxmessage``: the superuser).
ERP_API = [
    api_get("erp_bridge-api:product-list", api(200)),
    api_get("erp_bridge-api:product-detail", api(404), kwargs=_no_such_code),
    api_get("erp_bridge-api:price-list-list", api(200)),
    api_get("erp_bridge-api:price-list-detail", api(404), kwargs=_no_such_code),
    api_get("erp_bridge-api:customer-list", api(200)),
    api_get("erp_bridge-api:customer-detail", api(404), kwargs=_no_such_code),
    api_get("erp_bridge-api:employee-list", api(403, admin=200)),
    api_get("erp_bridge-api:employee-detail", api(403, admin=404), kwargs=_no_such_code),
    api_get("erp_bridge-api:order-list", api(403, admin=200)),
    api_get("erp_bridge-api:order-detail", api(403, admin=404), kwargs=_no_such_message),
    api_get("erp_bridge-api:outbox-list", api(403, admin=200)),
    api_get("erp_bridge-api:outbox-detail", api(403, admin=404), kwargs=_no_such_message),
    api_post("erp_bridge-api:outbox-replay", api(403, admin=404), kwargs=_no_such_message),
    api_post("erp_bridge-api:outbox-discard", api(403, admin=404), kwargs=_no_such_message),
]

# --- CRM quotes: a quote is seen through its account (the employee owns the world's, the
# manager heads its department's parent, the superuser is a sales admin); others get 404.
# Its owner and sales admins change it; the manager who sees it is refused (a message and
# back to the quote: 302; the API's 409). The approval matrix: read by all, changed by sales
# admins.


def _crm_quote(world: World) -> dict[str, Any]:
    return {"pk": world.crm_quote_id}


SEE_THE_QUOTE = ("employee", "manager", "admin")


def quote_page(status: Expected, **persona: Expected) -> dict[str, Expected]:
    return page(404, **{**dict.fromkeys(SEE_THE_QUOTE, status), **persona})


def quote_api(status: Expected, **persona: Expected) -> dict[str, Expected]:
    return api(404, **{**dict.fromkeys(SEE_THE_QUOTE, status), **persona})


CRM_QUOTES = [
    get("crm:quote_list", page(200)),
    get("crm:quote_create", page(404)),  # no ?account=: nothing to quote for
    post("crm:quote_create", page(404)),
    get("crm:approval_matrix", page(200)),
    post("crm:approval_matrix", page(403, admin=400)),  # an empty table is refused
    get("crm:quote_detail", quote_page(200), kwargs=_crm_quote),
    get("crm:quote_edit", quote_page(200), kwargs=_crm_quote),
    post("crm:quote_edit", quote_page(400), kwargs=_crm_quote),  # an empty form
    get("crm:quote_submit", post_only(), kwargs=_crm_quote),
    post(
        "crm:quote_submit",
        quote_page(302),
        kwargs=_crm_quote,
        acts=acting("employee", "admin"),  # approved at once: no matrix rule in the world
    ),
    get("crm:quote_accept", post_only(), kwargs=_crm_quote),
    post("crm:quote_accept", quote_page(302), kwargs=_crm_quote),  # a draft: refused
    get("crm:quote_retry", post_only(), kwargs=_crm_quote),
    post("crm:quote_retry", quote_page(302), kwargs=_crm_quote),  # no order: refused
    get("crm:quote_print", page(404), kwargs=_crm_quote),  # a draft is not printed
    api_get("crm-api:quote-list", api(200)),
    api_post("crm-api:quote-list", api(400)),
    api_get("crm-api:quote-detail", quote_api(200), kwargs=_crm_quote),
    Row("crm-api:quote-lines", "PUT", quote_api(400), kwargs=_crm_quote, json=True),
    api_post(
        "crm-api:quote-submit",
        quote_api(200, manager=409),
        kwargs=_crm_quote,
        acts=acting("employee", "admin"),
    ),
    api_post("crm-api:quote-accept", quote_api(400), kwargs=_crm_quote),
    api_post("crm-api:quote-retry", quote_api(409), kwargs=_crm_quote),
]

# CRM sales: the employee's lead, account, opportunity and follow-up (world.py _crm_sales),
# seen by the employee, the manager above 华东区 and the superuser; the colleague (same
# department, not on the account's team), the outsider and HR staff get 404. Lists, the
# board and the forecast answer everyone signed in (with what each may see).
SEE_THE_SALES = ("employee", "manager", "admin")


def sales_seen(
    status: Expected, *, kind: Callable[..., dict[str, Expected]] = page
) -> dict[str, Expected]:
    return kind(404, **dict.fromkeys(SEE_THE_SALES, status))


def _crm_lead(world: World) -> dict[str, Any]:
    return {"lead_id": world.crm_sales_lead_id}


def _crm_opportunity(world: World) -> dict[str, Any]:
    return {"opportunity_id": world.crm_sales_opportunity_id}


def _crm_account(world: World) -> dict[str, Any]:
    return {"account_id": world.crm_sales_account_id}


def _crm_activity(world: World) -> dict[str, Any]:
    return {"activity_id": world.crm_sales_activity_id}


def _crm_timeline(world: World) -> dict[str, Any]:
    return {"kind": "account", "object_id": world.crm_sales_account_id}


SALES_ACT = acting(*SEE_THE_SALES)

CRM_SALES = [
    get("crm:leads", page(200)),
    get("crm:lead_create", page(200)),
    post("crm:lead_create", page(400)),  # no company
    get("crm:lead", sales_seen(200), kwargs=_crm_lead),
    get("crm:lead_qualify", post_only(), kwargs=_crm_lead),
    post("crm:lead_qualify", sales_seen(302), kwargs=_crm_lead, acts=SALES_ACT),
    get("crm:lead_disqualify", post_only(), kwargs=_crm_lead),
    post("crm:lead_disqualify", sales_seen(400), kwargs=_crm_lead),  # no reason
    get("crm:lead_convert", sales_seen(200), kwargs=_crm_lead),
    # nothing but defaults: a new account, no duplicate in the world
    post("crm:lead_convert", sales_seen(302), kwargs=_crm_lead, acts=SALES_ACT),
    get("crm:pipeline", page(200)),
    get("crm:opportunity_create", page(200)),
    post("crm:opportunity_create", page(400)),
    get("crm:opportunity", sales_seen(200), kwargs=_crm_opportunity),
    get("crm:opportunity_edit", sales_seen(200), kwargs=_crm_opportunity),
    post("crm:opportunity_edit", sales_seen(400), kwargs=_crm_opportunity),
    get("crm:opportunity_move", post_only(), kwargs=_crm_opportunity),
    post("crm:opportunity_move", sales_seen(302), kwargs=_crm_opportunity),  # no stage: told so
    get("crm:forecast", page(200)),
    get("crm:activity_create", sales_seen(200), kwargs=_crm_account),
    post("crm:activity_create", sales_seen(400), kwargs=_crm_account),
    get("crm:activity_done", post_only(), kwargs=_crm_activity),
    post("crm:activity_done", sales_seen(302), kwargs=_crm_activity, acts=SALES_ACT),
    get("crm:followups", page(200)),
    get("crm:timeline", sales_seen(200), kwargs=_crm_timeline),
    api_get("crm-api:leads", api(200)),
    api_post("crm-api:leads", api(400)),
    api_post("crm-api:lead-convert", sales_seen(201, kind=api), kwargs=_crm_lead, acts=SALES_ACT),
    api_get("crm-api:opportunities", api(200)),
    api_post("crm-api:opportunities", api(400)),
    api_post("crm-api:opportunity-move", sales_seen(400, kind=api), kwargs=_crm_opportunity),
    api_get("crm-api:activities", api(400)),  # of which account or opportunity?
    api_post("crm-api:activities", api(400)),
    api_post(
        "crm-api:activity-done", sales_seen(200, kind=api), kwargs=_crm_activity, acts=SALES_ACT
    ),
]

# CRM cases: the employee's new case (world.py _crm_cases), seen through its account like the
# sales rows (employee, the manager above 华东区, the superuser); others get 404. The step
# "close" of a new case is refused (a message, back to the case: 302; nothing changed); an
# empty rating or API body is a field error.


def _crm_case(world: World) -> dict[str, Any]:
    return {"case_id": world.crm_case_id, "step": "close"}


CRM_CASES = [
    get("crm:case-list", page(200)),
    get("crm:sla-policies", page(200)),
    post("crm:sla-policies", page(403, admin=400)),  # an empty form is refused
    get("crm:case-new", page(200)),
    post("crm:case-new", page(200)),  # the form with its errors
    get("crm:case-intake", page(200)),
    post("crm:case-intake", page(200)),
    get("crm:case-detail", sales_seen(200), kwargs=_crm_case),
    get("crm:case-step", post_only(), kwargs=_crm_case),
    post("crm:case-step", sales_seen(302), kwargs=_crm_case),
    get("crm:case-feedback", post_only(), kwargs=_crm_case),
    post("crm:case-feedback", sales_seen(400), kwargs=_crm_case),
    api_get("crm-api:case-list", api(200)),
    api_post("crm-api:case-list", api(400)),
    api_get("crm-api:case-detail", sales_seen(200, kind=api), kwargs=_crm_case),
    api_post("crm-api:case-transition", sales_seen(400, kind=api), kwargs=_crm_case),
    api_post("crm-api:case-feedback", sales_seen(400, kind=api), kwargs=_crm_case),
]

# CRM accounts (world.py _crm_accounts): the employee owns the world's account, the
# colleague is on its team (view only), the manager heads the department above its own, the
# superuser is a sales administrator: they see it; the outsider and HR staff get 404. Its
# owner and sales administrators change it; the colleague and the manager, who only read it,
# get 403. An empty form answers 400. Removing someone not on the team changes nothing (a
# message and back: 302).
SEE_THE_ACCOUNT = ("employee", "colleague", "manager", "admin")
CHANGE_THE_ACCOUNT = ("employee", "admin")


def _crm_accounts_account(world: World) -> dict[str, Any]:
    return {"account_id": world.crm_account_id}


def _crm_accounts_contact(world: World) -> dict[str, Any]:
    return {"contact_id": world.crm_contact_id}


def _crm_accounts_not_on_team(world: World) -> dict[str, Any]:
    return {"account_id": world.crm_account_id, "user_id": world.users["outsider"].pk}


def account_seen(
    status: Expected, *, kind: Callable[..., dict[str, Expected]] = page
) -> dict[str, Expected]:
    return kind(404, **dict.fromkeys(SEE_THE_ACCOUNT, status))


def account_changed(
    status: Expected, *, kind: Callable[..., dict[str, Expected]] = page
) -> dict[str, Expected]:
    """Those who see it but may not change it: 403."""
    return kind(
        404, **{**dict.fromkeys(SEE_THE_ACCOUNT, 403), **dict.fromkeys(CHANGE_THE_ACCOUNT, status)}
    )


CRM_ACCOUNTS = [
    get("crm:accounts", page(200)),
    get("crm:account_export", page(200)),
    get("crm:account_create", page(200)),
    post("crm:account_create", page(400)),
    get("crm:account", account_seen(200), kwargs=_crm_accounts_account),
    get("crm:account_edit", account_changed(200), kwargs=_crm_accounts_account),
    post("crm:account_edit", account_changed(400), kwargs=_crm_accounts_account),
    get("crm:account_merge", account_changed(200), kwargs=_crm_accounts_account),
    post("crm:account_merge", account_changed(400), kwargs=_crm_accounts_account),
    get("crm:account_team", account_seen(200), kwargs=_crm_accounts_account),
    post("crm:account_team", account_changed(400), kwargs=_crm_accounts_account),
    get("crm:account_team_remove", post_only(), kwargs=_crm_accounts_not_on_team),
    post("crm:account_team_remove", account_changed(302), kwargs=_crm_accounts_not_on_team),
    get("crm:account_assign", post_only(), kwargs=_crm_accounts_account),
    post("crm:account_assign", account_changed(400), kwargs=_crm_accounts_account),
    get("crm:contact_create", account_changed(200), kwargs=_crm_accounts_account),
    post("crm:contact_create", account_changed(400), kwargs=_crm_accounts_account),
    get("crm:contact_edit", account_changed(200), kwargs=_crm_accounts_contact),
    post("crm:contact_edit", account_changed(400), kwargs=_crm_accounts_contact),
    api_get("crm-api:accounts", api(200)),
    api_post("crm-api:accounts", api(400)),  # no name
    api_get("crm-api:account-duplicates", api(405)),
    api_post("crm-api:account-duplicates", api(400)),  # nothing to check
    api_get("crm-api:account-detail", account_seen(200, kind=api), kwargs=_crm_accounts_account),
    Row(
        "crm-api:account-detail",
        "PATCH",
        account_changed(200, kind=api),  # no field: nothing changes
        kwargs=_crm_accounts_account,
        json=True,
    ),
    api_get("crm-api:account-merge", api(405), kwargs=_crm_accounts_account),
    # the merged account is missing: 400 for those who see this one
    api_post("crm-api:account-merge", account_seen(400, kind=api), kwargs=_crm_accounts_account),
    api_get("crm-api:account-contacts", account_seen(200, kind=api), kwargs=_crm_accounts_account),
    api_post(
        "crm-api:account-contacts", account_changed(400, kind=api), kwargs=_crm_accounts_account
    ),
    api_get("crm-api:contact-detail", account_seen(200, kind=api), kwargs=_crm_accounts_contact),
    Row(
        "crm-api:contact-detail",
        "PATCH",
        account_changed(200, kind=api),
        kwargs=_crm_accounts_contact,
        json=True,
    ),
]

# CRM campaigns (world.py _crm_campaigns): the employee owns the world's campaign, the
# superuser is a sales administrator: they see and change it; everyone else gets 404 (nobody
# else holds crm.view_campaign). Creating needs crm.add_campaign or sales administration:
# 403 for the others. Empty forms answer 400 and change nothing; an empty status step is told
# so (302); removing the member is an action of those who change the campaign.
SEE_THE_CAMPAIGN = ("employee", "admin")


def campaign_seen(
    status: Expected, *, kind: Callable[..., dict[str, Expected]] = page
) -> dict[str, Expected]:
    return kind(404, **dict.fromkeys(SEE_THE_CAMPAIGN, status))


def _crm_campaign(world: World) -> dict[str, Any]:
    return {"campaign_id": world.crm_campaign_id, "member_id": world.crm_campaign_member_id}


CRM_CAMPAIGNS = [
    get("crm:campaign-list", page(200)),
    get("crm:campaign-export", page(200)),
    get("crm:campaign-new", page(403, admin=200)),
    post("crm:campaign-new", page(403, admin=400)),
    get("crm:campaign-segment-preview", page(200)),
    get("crm:campaign-detail", campaign_seen(200), kwargs=_crm_campaign),
    get("crm:campaign-edit", campaign_seen(200), kwargs=_crm_campaign),
    post("crm:campaign-edit", campaign_seen(400), kwargs=_crm_campaign),
    get("crm:campaign-status", post_only(), kwargs=_crm_campaign),
    post("crm:campaign-status", campaign_seen(302), kwargs=_crm_campaign),
    get("crm:campaign-members", campaign_seen(200), kwargs=_crm_campaign),
    get("crm:campaign-members-export", campaign_seen(200), kwargs=_crm_campaign),
    get("crm:campaign-member-add", post_only(), kwargs=_crm_campaign),
    post("crm:campaign-member-add", campaign_seen(400), kwargs=_crm_campaign),
    get("crm:campaign-add-segment", campaign_seen(200), kwargs=_crm_campaign),
    post("crm:campaign-add-segment", campaign_seen(400), kwargs=_crm_campaign),
    get("crm:campaign-member-respond", campaign_seen(200), kwargs=_crm_campaign),
    post("crm:campaign-member-respond", campaign_seen(400), kwargs=_crm_campaign),
    get("crm:campaign-member-remove", post_only(), kwargs=_crm_campaign),
    post(
        "crm:campaign-member-remove",
        campaign_seen(302),
        kwargs=_crm_campaign,
        acts=acting(*SEE_THE_CAMPAIGN),
    ),
    api_get("crm-api:campaign-list", api(200)),
    api_post("crm-api:campaign-list", api(403, admin=400)),
    api_get("crm-api:campaign-detail", campaign_seen(200, kind=api), kwargs=_crm_campaign),
    Row(
        "crm-api:campaign-detail",
        "PATCH",
        campaign_seen(200, kind=api),  # no field: nothing changes
        kwargs=_crm_campaign,
        json=True,
    ),
    api_get("crm-api:campaign-members", campaign_seen(200, kind=api), kwargs=_crm_campaign),
    api_post("crm-api:campaign-members", campaign_seen(400, kind=api), kwargs=_crm_campaign),
    api_post(
        "crm-api:campaign-member-response", campaign_seen(400, kind=api), kwargs=_crm_campaign
    ),
]

# CRM import and the lists' exports: every signed-in person may import customers (owned by
# themselves) and export what their lists show; an empty upload answers 400 and writes nothing.
CRM_IMPORT_EXPORT = [
    get("crm:account_import", page(200)),
    post("crm:account_import", page(400)),  # no file
    get("crm:account_import_template", page(200)),
    api_get("crm-api:account-import", api(405)),
    api_post("crm-api:account-import", api(400)),  # no file
    get("crm:lead_export", page(200)),
    get("crm:quote_export", page(200)),
    get("crm:case-export", page(200)),
]

# CRM analysis: every tab and every export answers everyone signed in (over what each may
# see); an unknown analysis is 404.


def _crm_analysis(name: str) -> Callable[[World], dict[str, Any]]:
    return lambda world: {"name": name}


CRM_ANALYSIS = [
    get("crm:analysis", page(200)),
    *[
        get("crm:analysis-page", page(200), variant=name, kwargs=_crm_analysis(name))
        for name in ("sales", "pipeline", "funnel", "win-rate", "rfm", "sla")
    ],
    get("crm:analysis-page", page(404), variant="unknown", kwargs=_crm_analysis("unknown")),
    *[
        get("crm:analysis-export", page(200), variant=name, kwargs=_crm_analysis(name))
        for name in ("sales", "pipeline", "funnel", "win-rate", "rfm", "sla")
    ],
]

ROWS: list[Row] = [
    *SHELL,
    *INBOX,
    *TASKS,
    *CATALOGUE,
    *API,
    *KNOWLEDGE_API,
    *KNOWLEDGE_PAGES,
    *ERP_CONSOLE,
    *ERP_API,
    *CRM_QUOTES,
    *CRM_SALES,
    *CRM_CASES,
    *CRM_ACCOUNTS,
    *CRM_ANALYSIS,
    *CRM_IMPORT_EXPORT,
    *CRM_CAMPAIGNS,
    *ADMIN,
]

# Patterns of the resolver that the matrix does not visit, each with the reason. None today:
# with DEBUG off no static-file or development route is mounted, and every other address has
# an object in the world to name.
UNVISITED: dict[str, str] = {}


# --- the resolver and the schema ---------------------------------------------------------------


def _walk(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            route = prefix + str(entry.pattern)
            yield (f"{namespace}{entry.name}" if entry.name else route), entry


@functools.cache
def url_patterns() -> dict[str, URLPattern]:
    return dict(_walk(get_resolver().url_patterns))


# --- visiting --------------------------------------------------------------------------------


def _client(world: World, persona: str) -> Client:
    """A browser of ``persona`` (signed in with the world's session), with a CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_TOKEN
    if persona != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[persona]
    return client


def visit(client: Client, row: Row, world: World, *, method: str = "", csrf: bool = True) -> Any:
    """Send the row's request (``method``: another method to the same address, with the same
    body); ``csrf``: with the CSRF token in the header, as the portal's pages send it."""
    url = row.url(world)
    method = method or row.method
    if method == "GET":
        return client.get(url)
    headers = {"X-CSRFToken": CSRF_TOKEN} if csrf else {}
    if row.json:
        return client.generic(
            method, url, data=row.body, content_type="application/json", headers=headers
        )
    return client.generic(
        method, url, data="", content_type="application/x-www-form-urlencoded", headers=headers
    )


def _tables() -> list[str]:
    """Every table an action could write; not the interface call log, which records every
    API call (a refused one too) by design."""
    return [
        model._meta.db_table
        for label in (
            "portal",
            "workflow",
            "knowledge",
            "erp_bridge",
            "crm",
            "oauth2_provider",
            "axes",
        )
        for model in apps.get_app_config(label).get_models()
        if model not in (InterfaceCall, CallStat)
    ]


def state() -> str:
    """A digest of the database as far as an action could change it: how many rows each table
    of the portal, the workflow, OAuth2 and the lock-out holds (one query), and the columns
    that actions write in place."""
    with connection.cursor() as cursor:
        quote = connection.ops.quote_name
        counts = ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in _tables())  # noqa: S608 - our own tables
        cursor.execute(f"SELECT {counts}")
        parts: list[Any] = [cursor.fetchone()]
    written = [
        (ProcessInstance, ("state",)),
        (Task, ("state", "assignee", "owner", "delegation", "priority")),
        (Notification, ("read_at",)),
        (CarbonCopy, ("read_at",)),
        (Incident, ("resolved_at",)),
        (ExternalTask, ("state",)),
        (Article, ("deleted_at", "published_version", "latest_number")),
        (User, ("password", "is_active", "preferred_language")),
    ]
    for model, columns in written:
        parts.append(list(model._default_manager.order_by("pk").values_list("pk", *columns)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _describe(response: Any) -> Expected:
    """The answer as the matrix writes it: a status, or where a redirect leads to a login."""
    if response.status_code == 302:
        location = response["Location"]
        if location.startswith(reverse("admin:login")):
            return ADMIN_LOGIN
        if location.startswith(reverse(settings.LOGIN_URL)):
            return LOGIN
    return response.status_code


CASES = [(row, persona) for row in ROWS for persona in PERSONAS]


@pytest.mark.parametrize(("row", "persona"), CASES, ids=[f"{r.id}-{p}" for r, p in CASES])
def test_the_answer_is_the_expected_one(world: World, row: Row, persona: str) -> None:
    client = _client(world, persona)
    before = state() if row.method != "GET" else ""
    answer = _describe(visit(client, row, world))
    expected = row.expect[persona]
    assert answer == expected, (
        f"{row.method} {row.url(world)} as {persona}: {answer}, expected {expected}"
    )
    if row.method != "GET" and persona not in row.acts:
        assert state() == before, f"{row.method} {row.url(world)} as {persona} changed the database"


# --- nothing escapes the matrix --------------------------------------------------------------


def test_every_url_pattern_is_in_the_matrix() -> None:
    listed = {row.name for row in ROWS} | set(UNVISITED)
    missing = sorted(
        name
        for name in url_patterns()
        if name not in listed and not name.startswith(("admin:", "admin/"))
    )
    assert not missing, f"URL patterns without a row in the permission matrix: {missing}"


def test_every_api_operation_is_in_the_matrix(world: World) -> None:
    """Each (path, method) of the OpenAPI schema resolves to a pattern with a row for it."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    values = {k: str(v) for k, v in world.kwargs().items()}
    listed = {(row.name, row.method) for row in ROWS}
    missing = []
    for path, operations in schema["paths"].items():
        concrete = path.format(**values)
        match = resolve(concrete)
        name = f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name
        for method in operations:
            if method.upper() not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                continue
            if (name, method.upper()) not in listed:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"API operations without a row in the permission matrix: {missing}"


@pytest.mark.parametrize("persona", ["employee", "staff"])
def test_every_admin_list_refuses_who_may_not_see_it(world: World, persona: str) -> None:
    """Every model registered with Django admin: a person who is not staff is sent to the
    admin's login; staff without the model's view or change permission get 403."""
    user = world.users[persona]
    client = _client(world, persona)
    wrong = []
    for model in admin.site._registry:
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        may = user.is_staff and (
            user.has_perm(f"{meta.app_label}.view_{meta.model_name}")
            or user.has_perm(f"{meta.app_label}.change_{meta.model_name}")
        )
        expected: Expected = ADMIN_LOGIN if not user.is_staff else (200 if may else 403)
        answer = _describe(client.get(url))
        if answer != expected:
            wrong.append(f"{url}: {answer}, expected {expected}")
    assert not wrong, f"as {persona}: " + "; ".join(wrong)
