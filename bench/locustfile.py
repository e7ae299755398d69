"""The simulated people of the HTTP load test; ``bench/load.py`` runs this file with locust.

Every simulated user is one person of the organisation ``bench/load_seed.py`` made (the user
names and the password come from ``$LOAD_PEOPLE``): the first ones are the managers, the
rest employees. Each signs in through the login form (its session cookie and CSRF token from
then on) and thinks ``$LOAD_THINK_MIN``-``$LOAD_THINK_MAX`` seconds between actions. The
inbox badge is fetched as the browser fetches it: after a full page whose badge loads
itself (``hx-trigger="load, ..."`` in ``base.html``; pages that read the count already,
the inbox and the 工作台, carry it), and every 30 seconds while a page stays open (those
polls are made when the person moves on).

Employees (one in ten works through the API, as a phone app would, with the session and the
``X-CSRFToken`` header; the others through the pages):

- look at 我发起的 (started by me) and open one of their requests (weight 45);
- look at 待办 (to do): a request returned to them (退回) or withdrawn is opened and
  submitted again (重新提交), with the form as the page shows it (weight 30);
- open the dashboard (weight 20);
- submit a request (weight 1, about one action in a hundred: a request every ten minutes
  or so per person, which keeps the managers' inboxes moving rather than growing): the
  catalogue, the start form (thinking while filling it in), submit, the new request's page;
  one in twenty then withdraws it (撤回) a few seconds later, which races the manager.

Managers (one in four approves through the API):

- work the 待办 list: open a task, think, approve it (80 %, with an opinion) or return it to
  the employee (退回, 20 %, with a reason) (weight 6);
- look at 已办 (done) (weight 1); open the dashboard (weight 1).

Requests are named by URL pattern (``/workflow/tasks/[id]/``). A status the step does not
expect is a failure. An action refused because someone else acted first is a race, not an
error: the page says so (the action redirects back with an error message) or the API answers
409; races are counted apart. An action that failed (no answer, or one not expected) is
counted as ``<action> <channel> failed``: it may or may not have happened. Every request
(start time, endpoint, ms, success, status) goes to ``$LOAD_OUT/requests.csv``, the
confirmed actions and races to ``$LOAD_OUT/counts.json``.
"""

from __future__ import annotations

import csv
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

PEOPLE: dict[str, Any] = json.loads(Path(os.environ["LOAD_PEOPLE"]).read_text())
OUT = Path(os.environ["LOAD_OUT"])
THINK_MIN = float(os.environ.get("LOAD_THINK_MIN", "15"))
THINK_MAX = float(os.environ.get("LOAD_THINK_MAX", "45"))
PROCESS_KEY = PEOPLE["process_key"]
APPROVE_SHARE = 0.8  # the rest are returned to the employee
WITHDRAW_SHARE = 0.05  # requests withdrawn right after submitting
API_EMPLOYEES_EVERY = 10
API_MANAGERS_EVERY = 4

BADGE_ON_LOAD = re.compile(r'id="inbox-badge"[^>]*hx-trigger="load')
BADGE_POLL_S = 30  # hx-trigger="every 30s" in base.html and the badge itself
TASK_LINK = re.compile(r'href="/workflow/tasks/(\d+)/"')
INSTANCE_LINK = re.compile(r'href="/workflow/instances/(\d+)/"')
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IDEMPOTENCY_FIELD = re.compile(r'name="meta-idempotency_key" value="([^"]*)"')
ERROR_MESSAGE = re.compile(r'class="message error"')
LEAVE_TYPES = ("annual", "sick", "personal")
REASONS = ("家中有事", "身体不适，需要休息", "回老家探亲", "孩子开家长会", "办理证件", "陪家人看病")
OPINIONS = ("同意。", "同意，注意工作交接。", "好的，同意。")
RETURN_REASONS = ("请补充请假的具体日期。", "请写明工作交接安排后再提交。")

_managers = iter(PEOPLE["managers"])
_employees = iter(PEOPLE["employees"])
_numbers = count()
requests_log: list[tuple[float, str, float, int, str, str]] = []
actions: Counter[str] = Counter()
races: Counter[str] = Counter()
last_sign_in = 0.0


@events.request.add_listener
def _log_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float,
    response: Any = None,
    **_kwargs: Any,
) -> None:
    status = getattr(response, "status_code", "") if response is not None else ""
    error = "" if exception is None else str(exception).replace("\n", " ")[:200]
    requests_log.append(
        (
            start_time,
            f"{request_type} {name}",
            response_time,
            int(exception is None),
            str(status),
            error,
        )
    )


@events.quitting.add_listener
def _write_results(**_kwargs: Any) -> None:
    with (OUT / "requests.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["start", "endpoint", "ms", "ok", "status", "error"])
        writer.writerows(requests_log)
    counts = {"actions": dict(actions), "races": dict(races), "last_sign_in": last_sign_in}
    (OUT / "counts.json").write_text(json.dumps(counts, ensure_ascii=False, indent=1))


class StepForm(HTMLParser):
    """The fields of one form of a page with the values the browser would send."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "option" and self._select is not None:
            if "selected" in a or self._select not in self.fields:
                self.fields[self._select] = a.get("value", "")
        elif "name" not in a:
            return
        elif tag == "input" and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_fields(html: str, form_id: str) -> dict[str, str]:
    parser = StepForm(form_id)
    parser.feed(html)
    return {name: unescape(value) for name, value in parser.fields.items()}


class Person(FastHttpUser):
    """A person of the organisation, signed in through the login form."""

    abstract = True
    wait_time = between(THINK_MIN, THINK_MAX)
    people: Iterator[str]  # the user names this kind of person signs in as, one each
    username = ""
    uses_api = False
    page_opened: float | None = None  # when the full page now open arrived (its badge polls)

    def think(self) -> None:
        time.sleep(random.uniform(THINK_MIN, THINK_MAX))

    def on_start(self) -> None:
        global last_sign_in
        self.username = next(self.people)
        self.number = next(_numbers)
        page = self.page("/accounts/login/", "/accounts/login/", badge=False) or ""
        token = self.page_token(page)
        data = {
            "csrfmiddlewaretoken": token,
            "username": self.username,
            "password": PEOPLE["password"],
        }
        location = self.post_form("/accounts/login/", "/accounts/login/", data, expect="/")
        if location is None:
            self.stop()  # nothing to do without a session; the failure is in the stats
            return
        self.page("/", "/")
        last_sign_in = max(last_sign_in, time.time())

    # --- requests ------------------------------------------------------------------------

    def page(self, url: str, name: str, *, badge: bool = True, gone_ok: bool = False) -> str | None:
        """GET a full page (then its inbox badge where the page loads it, as the browser
        does); its HTML, "" on a failure. The page open until now polled its badge every
        :data:`BADGE_POLL_S` seconds: those polls first. With ``gone_ok`` a 404 (no longer
        visible: withdrawn meanwhile) is the answer of a race: None."""
        if self.page_opened is not None:
            for _poll in range(int((time.time() - self.page_opened) // BADGE_POLL_S)):
                self.badge()
        self.page_opened = None
        with self.client.get(
            url, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if gone_ok and response.status_code == 404:
                response.success()
                return None
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
                return ""
            text = response.text or ""
        if badge:
            if BADGE_ON_LOAD.search(text):
                self.badge()
            self.page_opened = time.time()
        return text

    def badge(self) -> None:
        with self.client.get(
            "/workflow/inbox/badge/",
            name="/workflow/inbox/badge/",
            headers={"HX-Request": "true"},
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")

    @staticmethod
    def page_token(html: str) -> str:
        found = CSRF_FIELD.search(html)
        return found.group(1) if found else ""

    def cookie_token(self) -> str:
        for cookie in self.client.cookiejar:
            if cookie.name == "csrftoken":
                return cookie.value or ""
        return ""

    def post_form(
        self, url: str, name: str, data: dict[str, str], *, expect: str | None = None
    ) -> str | None:
        """POST a form as the browser does; the redirect's location (None: not a redirect,
        a failure). ``expect``: the location a success redirects to (another one fails)."""
        with self.client.post(
            url,
            name=name,
            data=urlencode(data),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "") if response.headers else ""
            if response.status_code != 302:
                response.failure(f"status {response.status_code}")
                return None
            if expect is not None and location != expect:
                response.failure(f"redirected to {location}")
                return None
            return location

    def api(
        self, method: str, url: str, name: str, body: Any = None, *, race_ok: bool = False
    ) -> tuple[int, Any]:
        """An API call with the session and the CSRF header; (status, JSON). With
        ``race_ok`` a 409 (already handled, refused now) or 404 (no longer yours) is the
        answer of a race, not a failure."""
        headers = {"X-CSRFToken": self.cookie_token(), "Accept": "application/json"}
        if method == "POST":
            headers["Content-Type"] = "application/json"
            if url == "/api/v1/instances/":
                headers["Idempotency-Key"] = uuid.uuid4().hex
        with self.client.request(
            method,
            url,
            name=name,
            data=json.dumps(body) if body is not None else None,
            headers=headers,
            catch_response=True,
        ) as response:
            status = response.status_code
            try:
                payload = json.loads(response.text or "null")
            except ValueError:
                payload = None
            if status < 300 or (race_ok and status in (404, 409)):
                response.success()
            else:
                response.failure(f"status {status}: {(response.text or '')[:120]}")
            return status, payload

    # --- the actions both kinds of people take ---------------------------------------------

    def open_task(self, task_id: str) -> str | None:
        return self.page(f"/workflow/tasks/{task_id}/", "/workflow/tasks/[id]/", gone_ok=True)

    def act_on_task(
        self, task_id: str, action: str, data: dict[str, str], html: str
    ) -> bool | None:
        """POST an action of the task page; True done, False refused (a race: the page comes
        back with the service's message), None a failure."""
        url = f"/workflow/tasks/{task_id}/{action}/"
        form = {**data, "csrfmiddlewaretoken": self.page_token(html)}
        location = self.post_form(url, f"/workflow/tasks/[id]/{action}/", form)
        if location is None:
            return None
        if location.startswith("/workflow/inbox/"):
            self.page(location, "/workflow/inbox/?tab=todo")
            return True
        followed = self.page(location, "/workflow/tasks/[id]/") or ""
        return False if ERROR_MESSAGE.search(followed) else None


class Employee(Person):
    """Submits leave requests, follows them, resubmits what comes back."""

    weight = 10
    people = _employees

    def on_start(self) -> None:
        super().on_start()
        self.uses_api = self.number % API_EMPLOYEES_EVERY == 0

    @task(20)
    def dashboard(self) -> None:
        self.page("/", "/")

    @task(45)
    def my_requests(self) -> None:
        if self.uses_api:
            status, body = self.api(
                "GET", "/api/v1/tasks/?tab=started", "/api/v1/tasks/?tab=started"
            )
            items = (body or {}).get("results", []) if status == 200 else []
            if items:
                self.think()
                item = random.choice(items)
                self.api("GET", f"/api/v1/instances/{item['id']}", "/api/v1/instances/[id]")
            return
        html = self.page("/workflow/inbox/?tab=started", "/workflow/inbox/?tab=started") or ""
        found = INSTANCE_LINK.findall(html)
        if found and random.random() < 0.5:
            self.think()
            self.page(f"/workflow/instances/{random.choice(found)}/", "/workflow/instances/[id]/")

    @task(30)
    def to_do(self) -> None:
        """A returned (or withdrawn) request waits in 待办: open it and submit it again."""
        if self.uses_api:
            status, body = self.api("GET", "/api/v1/tasks/?tab=todo", "/api/v1/tasks/?tab=todo")
            items = [i for i in (body or {}).get("results", []) if i.get("kind") == "task"]
            if status != 200 or not items:
                return
            self.think()
            item = items[0]
            status, detail = self.api("GET", f"/api/v1/tasks/{item['id']}", "/api/v1/tasks/[id]")
            if status != 200:
                return
            self.think()
            values = {f["id"]: f["value"] for f in detail.get("form_fields", [])}
            values["reason"] = f"{values.get('reason') or random.choice(REASONS)}（已补充）"
            status, _ = self.api(
                "POST",
                f"/api/v1/tasks/{item['id']}/approve",
                "/api/v1/tasks/[id]/approve",
                {"data": values, "comment": "已修改，请审批。"},
            )
            actions["resubmit api" if status == 200 else "resubmit api failed"] += 1
            return
        html = self.page("/workflow/inbox/?tab=todo", "/workflow/inbox/?tab=todo") or ""
        found = TASK_LINK.findall(html)
        if not found:
            return
        self.think()
        task_id = found[0]
        page = self.open_task(task_id)
        if not page or 'action="/workflow/tasks/' not in page:
            return
        self.think()
        fields = form_fields(page, "stepform")
        fields["reason"] = f"{fields.get('reason') or random.choice(REASONS)}（已补充）"
        fields.update({"approve-comment": "已修改，请审批。", "confirmed": "1"})
        done = self.act_on_task(task_id, "approve", fields, page)
        actions["resubmit web" if done else "resubmit web failed"] += 1

    @task(1)
    def submit_request(self) -> None:
        values = {
            "leave_type": random.choice(LEAVE_TYPES),
            "days": str(random.randint(1, 5)),
            "reason": random.choice(REASONS),
        }
        if self.uses_api:
            status, body = self.api(
                "POST",
                "/api/v1/instances/",
                "/api/v1/instances/",
                {"process_key": PROCESS_KEY, "title": "请假申请", "variables": values},
            )
            if status != 201:
                actions["submit api failed"] += 1
                return
            actions["submit api"] += 1
            instance_id = body["id"]
            if random.random() < WITHDRAW_SHARE:
                time.sleep(random.uniform(1, THINK_MIN))
                status, _ = self.api(
                    "POST",
                    f"/api/v1/instances/{instance_id}/withdraw",
                    "/api/v1/instances/[id]/withdraw",
                    race_ok=True,
                )
                if status == 200:
                    actions["withdraw api"] += 1
                elif status in (404, 409):
                    races[f"withdraw api refused ({status}): the manager had acted"] += 1
                else:
                    actions["withdraw api failed"] += 1
            return
        self.page("/workflow/processes/", "/workflow/processes/")
        self.think()
        start = f"/workflow/processes/{PROCESS_KEY}/start/"
        form = self.page(start, "/workflow/processes/[key]/start/") or ""
        key = IDEMPOTENCY_FIELD.search(form)
        if not form or key is None:
            return
        self.think()  # filling in the form
        data = {
            "csrfmiddlewaretoken": self.page_token(form),
            "meta-title": "",
            "meta-idempotency_key": key.group(1),
            "action": "submit",
            **values,
        }
        location = self.post_form(start, "/workflow/processes/[key]/start/", data)
        found = INSTANCE_LINK.search(f'href="{location}"') if location else None
        if found is None:
            actions["submit web failed"] += 1
            return
        actions["submit web"] += 1
        self.page(location or "", "/workflow/instances/[id]/")
        if random.random() < WITHDRAW_SHARE:
            time.sleep(random.uniform(1, THINK_MIN))  # "wrong dates": take it back at once
            instance_page = f"/workflow/instances/{found.group(1)}/"
            back = self.post_form(
                f"{instance_page}withdraw/",
                "/workflow/instances/[id]/withdraw/",
                {"csrfmiddlewaretoken": self.cookie_token()},
                expect=instance_page,
            )
            if back is None:
                actions["withdraw web failed"] += 1
                return
            followed = self.page(back, "/workflow/instances/[id]/") or ""
            if ERROR_MESSAGE.search(followed):
                races["withdraw web refused: the manager had acted"] += 1
            else:
                actions["withdraw web"] += 1


class Manager(Person):
    """Works through the to-do list: approves most, returns some to the employee."""

    fixed_count = len(PEOPLE["managers"])
    people = _managers

    def on_start(self) -> None:
        super().on_start()
        self.uses_api = self.number % API_MANAGERS_EVERY == 0

    @task(6)
    def work_inbox(self) -> None:
        if self.uses_api:
            self.work_inbox_api()
            return
        html = self.page("/workflow/inbox/?tab=todo", "/workflow/inbox/?tab=todo") or ""
        found = TASK_LINK.findall(html)
        if not found:
            return
        self.think()
        task_id = random.choice(found)
        page = self.open_task(task_id)
        if page is None or (page and 'action="/workflow/tasks/' not in page):
            races["task gone before the manager opened it (withdrawn)"] += 1
            return
        if not page:
            return
        self.think()
        if random.random() < APPROVE_SHARE:
            action = "approve"
            data = {
                "manager_opinion": random.choice(OPINIONS),
                "approve-comment": "",
                "confirmed": "1",
            }
        else:
            action = "return"
            data = {"return-target": "initiator", "return-comment": random.choice(RETURN_REASONS)}
        done = self.act_on_task(task_id, action, data, page)
        if done:
            actions[f"{action} web"] += 1
        elif done is False:
            races[f"{action} web refused: the employee had withdrawn it"] += 1
        else:
            actions[f"{action} web failed"] += 1

    def work_inbox_api(self) -> None:
        status, body = self.api("GET", "/api/v1/tasks/?tab=todo", "/api/v1/tasks/?tab=todo")
        items = [i for i in (body or {}).get("results", []) if i.get("kind") == "task"]
        if status != 200 or not items:
            return
        self.think()
        task_id = random.choice(items)["id"]
        status, _ = self.api("GET", f"/api/v1/tasks/{task_id}", "/api/v1/tasks/[id]", race_ok=True)
        if status == 404:
            races["task gone before the manager opened it (withdrawn)"] += 1
        if status != 200:
            return
        self.think()
        if random.random() < APPROVE_SHARE:
            action, body = "approve", {"data": {"manager_opinion": random.choice(OPINIONS)}}
        else:
            action, body = (
                "return",
                {"target": "initiator", "comment": random.choice(RETURN_REASONS)},
            )
        status, _ = self.api(
            "POST",
            f"/api/v1/tasks/{task_id}/{action}",
            f"/api/v1/tasks/[id]/{action}",
            body,
            race_ok=True,
        )
        if status == 200:
            actions[f"{action} api"] += 1
        elif status in (404, 409):
            races[f"{action} api refused ({status}): the employee had withdrawn it"] += 1
        else:
            actions[f"{action} api failed"] += 1

    @task(1)
    def dashboard(self) -> None:
        self.page("/", "/")

    @task(1)
    def done_list(self) -> None:
        if self.uses_api:
            self.api("GET", "/api/v1/tasks/?tab=done", "/api/v1/tasks/?tab=done")
        else:
            self.page("/workflow/inbox/?tab=done", "/workflow/inbox/?tab=done")
