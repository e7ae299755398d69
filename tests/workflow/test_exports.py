"""导出 Excel (issue 15, item 4): every inbox tab, the drafts and the console's lists download
as .xlsx with the page's filters and permission, names instead of user names, local times,
money as numbers, a bold frozen header, a cap, and text kept from turning into formulas."""

from __future__ import annotations

import datetime
import io
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from portal.models import User
from tests.factories import UserFactory
from tests.workflow.approval_helpers import deploy_steps, make_admin, open_task, start, user_task
from workflow.models import Draft, Incident, Job, ProcessDefinition, ProcessInstance
from workflow.selectors import exports
from workflow.services import approvals

pytestmark = pytest.mark.django_db

FIELDS = (
    '<camunda:formField id="amount" label="Amount" type="money"/>'
    '<camunda:formField id="traveller" label="Traveller" type="person"/>'
)


@pytest.fixture
def english(employee: User, dept_head: User, colleague: User, outsider: User) -> None:
    for user in (employee, dept_head, colleague, outsider):
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])


@pytest.fixture
def requests(db: None, english: None, employee: User, dept_head: User) -> dict[str, int]:
    """Two processes; three requests of 张伟 for 李娜 to approve, one of them with a title
    that a spreadsheet would run as a formula; one approved already, one copied to 王芳."""
    deploy_steps(user_task("Approve", assignee="lina"), key="claim", start_fields=FIELDS)
    deploy_steps(user_task("Approve", assignee="lina"), key="leave")
    ProcessDefinition.objects.filter(key="claim").update(name="Expense claim")
    ProcessDefinition.objects.filter(key="leave").update(name="Leave")
    first = start(employee, "claim", amount="1234.5", traveller="wangfang")
    second = start(employee, "claim", amount="99.99", traveller="zhangwei")
    third = start(employee, "leave")
    approvals.task_approve(open_task(second).pk, user=dept_head, comment="ok")
    ProcessInstance.objects.filter(pk=first).update(title='=HYPERLINK("http://x","y")')
    approvals.instance_copy(third, user=employee, recipients=["wangfang"])
    return {"first": first, "second": second, "third": third}


def _sheet(answer: Any) -> Worksheet:
    assert answer.status_code == 200, answer.content[:300]
    assert answer["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(answer.content))
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    return sheet


def _values(sheet: Worksheet) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _filename(answer: Any) -> str:
    header = answer["Content-Disposition"]
    assert header.startswith("attachment; ")
    if "filename*=utf-8''" in header:
        return unquote(header.split("filename*=utf-8''", 1)[1])
    return header.split('filename="', 1)[1].rstrip('"')


def test_todo_with_names_local_times_and_a_frozen_bold_header(
    requests: dict[str, int], login: Callable[[User], Client], dept_head: User
) -> None:
    answer = login(dept_head).get("/workflow/inbox/export/?tab=todo")
    sheet = _sheet(answer)
    assert _filename(answer) == f"To do_{timezone.localdate().isoformat()}.xlsx"
    rows = _values(sheet)
    header = rows[0]
    assert header[:4] == ["Urgent", "Title", "Number", "Process"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert len(rows) == 3  # the header and two open tasks
    by_title = {row[1]: row for row in rows[1:]}
    leave = by_title["Leave 3 days"]
    assert leave[3] == "Leave" and leave[5] == "张伟" and leave[6] == "华东区"
    received = leave[header.index("Received")]
    assert isinstance(received, datetime.datetime)
    task = open_task(requests["third"])
    local = timezone.localtime(task.created_at).replace(tzinfo=None)
    assert abs(received - local) < datetime.timedelta(milliseconds=2)


def test_text_that_looks_like_a_formula_stays_text(
    requests: dict[str, int], login: Callable[[User], Client], dept_head: User
) -> None:
    sheet = _sheet(login(dept_head).get("/workflow/inbox/export/?tab=todo"))
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    formula = next(c for c in cells if str(c.value).startswith("="))
    assert formula.value == '=HYPERLINK("http://x","y")'
    assert formula.data_type == "s"
    assert formula.quotePrefix is True


def test_filtered_to_a_process_with_its_form_and_money_as_numbers(
    requests: dict[str, int], login: Callable[[User], Client], employee: User
) -> None:
    sheet = _sheet(login(employee).get("/workflow/inbox/export/?tab=started&process=claim"))
    rows = _values(sheet)
    header = rows[0]
    assert header[-2:] == ["Amount", "Traveller"]
    assert len(rows) == 3
    amounts = sorted(row[-2] for row in rows[1:])
    assert amounts == [99.99, 1234.5]
    assert {row[-1] for row in rows[1:]} == {"王芳", "张伟"}
    money = next(sheet.iter_rows(min_row=2))[len(header) - 2]
    assert money.number_format == "#,##0.00"
    words = {i.get_state_display() for i in ProcessInstance.objects.filter(definition_key="claim")}
    assert {row[header.index("Status")] for row in rows[1:]} == words


@pytest.mark.parametrize(
    ("tab", "who", "count"),
    [("done", "dept_head", 1), ("started", "employee", 3), ("copied", "colleague", 1)],
)
def test_each_tab_lists_what_the_page_lists(
    requests: dict[str, int],
    login: Callable[[User], Client],
    request: pytest.FixtureRequest,
    tab: str,
    who: str,
    count: int,
) -> None:
    user: User = request.getfixturevalue(who)
    rows = _values(_sheet(login(user).get(f"/workflow/inbox/export/?tab={tab}")))
    assert len(rows) == count + 1
    if tab == "done":
        assert rows[1][rows[0].index("Outcome")] == "approved"
    if tab == "copied":
        assert rows[1][rows[0].index("Copied by")] == "张伟"


def test_an_outsider_exports_only_their_own_empty_lists(
    requests: dict[str, int], login: Callable[[User], Client], outsider: User
) -> None:
    client = login(outsider)
    for tab in ("todo", "done", "started", "copied"):
        assert len(_values(_sheet(client.get(f"/workflow/inbox/export/?tab={tab}")))) == 1
    assert client.get("/workflow/console/export/").status_code == 403
    assert client.get("/workflow/console/incidents/export/").status_code == 403
    assert client.get("/workflow/console/jobs/export/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    for url in ("/workflow/inbox/export/", "/workflow/drafts/export/", "/workflow/console/export/"):
        answer = client.get(url)
        assert answer.status_code == 302 and "login" in answer["Location"]


def test_a_long_list_is_capped_and_says_so(
    requests: dict[str, int],
    login: Callable[[User], Client],
    employee: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(exports, "EXPORT_CAP", 2)
    monkeypatch.setattr(exports, "BATCH", 1)
    rows = _values(_sheet(login(employee).get("/workflow/inbox/export/?tab=started")))
    assert len(rows) == 4  # header, 2 rows, the note
    assert rows[-1][0].startswith("Only the first 2 rows")


def test_drafts(db: None, english: None, login: Callable[[User], Client], employee: User) -> None:
    deploy_steps(user_task("Approve", assignee="lina"), key="leave")
    Draft.objects.create(owner=employee, definition_key="leave", title="-2 days", data={})
    rows = _values(_sheet(login(employee).get("/workflow/drafts/export/")))
    assert rows[0][:2] == ["Title", "Process"]
    assert rows[1][0] == "-2 days"


def test_the_console_lists_for_an_administrator(
    requests: dict[str, int], login: Callable[[User], Client]
) -> None:
    admin = make_admin(UserFactory.create(username="xugang", preferred_language="en"))
    client = login(admin)
    rows = _values(_sheet(client.get("/workflow/console/export/?key=claim")))
    assert rows[0][0] == "ID" and rows[0][-2:] == ["Amount", "Traveller"]
    assert sorted(row[0] for row in rows[1:]) == sorted([requests["first"], requests["second"]])
    instance_id = requests["third"]
    Incident.objects.create(
        instance_id=instance_id,
        element_id="Approve",
        message="+boom",
        created_at=timezone.now(),
    )
    Job.objects.create(
        instance_id=instance_id,
        kind="timer",
        element_id="Approve",
        due_at=timezone.now() + datetime.timedelta(hours=1),
        created_at=timezone.now(),
    )
    incidents = _sheet(client.get("/workflow/console/incidents/export/?key=leave"))
    values = _values(incidents)
    assert len(values) == 2 and values[1][5] == "+boom"
    assert incidents.cell(row=2, column=6).data_type == "s"
    assert (
        _values(_sheet(client.get("/workflow/console/incidents/export/?status=resolved")))[1:] == []
    )
    jobs = _values(_sheet(client.get("/workflow/console/jobs/export/")))
    assert jobs[1][1] == "scheduled later" and jobs[1][4] == instance_id
