"""The customer import (/crm/accounts/import/, /api/v1/crm/accounts/import/): reading Excel
and CSV (UTF-8, GBK), every kind of bad row, duplicates in the file and in the customer
base, the three choices, all rows or none, the file limits, who may update what."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from crm import imports
from crm.imports import import_check, read_table
from crm.models import Account, AccountEvent, Contact
from crm.services import accounts as services
from portal.models import User
from tests.crm.accounts_fixtures import *  # noqa: F403  (the fixtures)
from tests.crm.accounts_fixtures import bad_uscc, make_account, uscc
from tests.factories import english

pytestmark = pytest.mark.django_db

HEADER_ZH = ["客户名称", "统一社会信用代码", "行业", "级别", "省份", "城市", "电话", "邮箱"]
HEADER_ZH += ["负责人", "联系人", "联系人手机"]
HEADER_EN = ["Name", "Unified social credit code", "Industry", "Level", "Province", "City"]
HEADER_EN += ["Phone", "E-mail", "Owner", "Contact", "Contact mobile"]


def xlsx(rows: Sequence[Sequence[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: Sequence[Sequence[Any]], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def state() -> tuple[int, int, int]:
    """What an import writes: accounts, contacts, history."""
    return Account.objects.count(), Contact.objects.count(), AccountEvent.objects.count()


def good_rows() -> list[list[Any]]:
    return [
        HEADER_ZH,
        [
            "杭州云帆软件有限公司",
            uscc(21),
            "软件",
            "B",
            "浙江",
            "杭州",
            "0571-8888 0001",
            "info@yunfan.cn",
            "",
            "钱明",
            "138 0013 8000",
        ],
        [
            "苏州恒信精密机械有限公司",
            "",
            "manufacturing",
            "A",
            "江苏省",
            "苏州",
            "",
            "",
            "",
            "",
            "",
        ],
    ]


def preview(client: Client, name: str, content: bytes) -> Any:
    return client.post(reverse("crm:account_import"), {"file": upload(name, content)})


def token_of(answer: Any) -> str:
    found = re.search(r'name="token" value="([^"]+)"', answer.content.decode())
    assert found, answer.content.decode()[:2000]
    return found.group(1)


def confirm(client: Client, token: str, **choices: str) -> Any:
    data = {"token": token, **{f"choice-{k.split('_')[1]}": v for k, v in choices.items()}}
    return client.post(reverse("crm:account_import"), data)


# --- the happy paths ------------------------------------------------------------------------------


def test_an_excel_file_is_previewed_then_imported(
    employee: User, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    assert client.get(reverse("crm:account_import")).status_code == 200
    shown = preview(client, "客户.xlsx", xlsx(good_rows()))
    assert shown.status_code == 200
    text = shown.content.decode()
    assert "杭州云帆软件有限公司" in text and 'data-row="3"' in text
    assert state() == (0, 0, 0)  # a preview writes nothing
    done = confirm(client, token_of(shown))
    assert done.status_code == 302 and done["Location"] == reverse("crm:accounts")
    yunfan = Account.objects.get(name="杭州云帆软件有限公司")
    assert (yunfan.industry, yunfan.level, yunfan.province) == ("it", "B", "浙江省")
    assert yunfan.phone == "057188880001" and yunfan.owner == employee
    assert yunfan.credit_code == uscc(21)
    contact = yunfan.contacts.get()
    assert (contact.name, contact.mobile, contact.is_primary) == ("钱明", "13800138000", True)
    heng = Account.objects.get(name="苏州恒信精密机械有限公司")
    assert (heng.industry, heng.level, heng.province) == ("manufacturing", "A", "江苏省")
    assert not heng.contacts.exists()
    assert AccountEvent.objects.filter(kind="created").count() == 2


def test_a_phone_typed_into_excel_as_a_number_reads_as_digits(employee: User) -> None:
    table = read_table(
        "a.xlsx", xlsx([["客户名称", "电话"], ["宁波海联贸易有限公司", 13900001111]])
    )
    report = import_check(employee, table)
    assert report.rows[0].values["phone"] == "13900001111" and report.ready


def test_a_utf8_csv_with_english_headers_and_no_bom(
    employee: User, login: Callable[[User], Client]
) -> None:
    rows = [
        HEADER_EN,
        [
            "Acme Robotics Co., Ltd.",
            "",
            "it",
            "C",
            "Shanghai",
            "上海",
            "",
            "",
            "zhangwei",
            "Tom",
            "",
        ],
    ]
    client = login(employee)
    shown = preview(client, "customers.csv", csv_bytes(rows, "utf-8"))
    assert shown.status_code == 200
    assert confirm(client, token_of(shown)).status_code == 302
    account = Account.objects.get(name="Acme Robotics Co., Ltd.")
    assert account.province == "上海市" and account.contacts.get().name == "Tom"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_as_chinese_excel_writes_it(
    encoding: str, employee: User, login: Callable[[User], Client]
) -> None:
    client = login(employee)
    shown = preview(client, "客户.csv", csv_bytes(good_rows(), encoding))
    assert shown.status_code == 200
    assert "杭州云帆软件有限公司" in shown.content.decode()
    assert confirm(client, token_of(shown)).status_code == 302
    assert set(Account.objects.values_list("name", flat=True)) == {
        "杭州云帆软件有限公司",
        "苏州恒信精密机械有限公司",
    }


def test_the_template_names_the_columns_in_the_readers_language(
    employee: User, login: Callable[[User], Client]
) -> None:
    english(employee)
    client = login(employee)
    answer = client.get(reverse("crm:account_import_template"))
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.content)).worksheets[0]
    header = [cell.value for cell in next(sheet.iter_rows(max_row=1))]
    assert header[:3] == ["Customer name", "Customer code", "Unified social credit code"]
    # the template, filled in, reads back
    rows = [header, ["Ningbo Star Ltd", *[""] * (len(header) - 1)]]
    report = import_check(employee, read_table("t.xlsx", xlsx(rows)))
    assert report.ready and report.columns[0] == "name"


def test_a_sales_administrator_imports_for_another_owner(
    sales_admin: User, employee: User, login: Callable[[User], Client]
) -> None:
    rows = [["客户名称", "负责人"], ["无锡明远电气有限公司", employee.username]]
    client = login(sales_admin)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert confirm(client, token_of(shown)).status_code == 302
    assert Account.objects.get(name="无锡明远电气有限公司").owner == employee


# --- bad rows: a clear message, nothing written ---------------------------------------------------


BAD_ROWS = {
    "missing name": (["", uscc(30)], "Customer name"),
    "credit code checksum": (["南京金桥建设有限公司", bad_uscc(31)], "check character"),
    "phone": (["南京金桥建设有限公司", "", "", "", "", "", "电话没有"], "phone number"),
    "industry": (["南京金桥建设有限公司", "", "挖矿"], "“挖矿” is not one of"),
    "level": (["南京金桥建设有限公司", "", "", "Z"], "“Z” is not one of"),
    "province": (["南京金桥建设有限公司", "", "", "", "火星"], "not a province of China"),
    "e-mail": (["南京金桥建设有限公司", "", "", "", "", "", "", "not-mail"], "e-mail address"),
    "owner unknown": (
        ["南京金桥建设有限公司", "", "", "", "", "", "", "", "nobody"],
        "no active person",
    ),
    "contact without name": (
        ["南京金桥建设有限公司", "", "", "", "", "", "", "", "", "", "13800000000"],
        "name is missing",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_ROWS))
def test_a_bad_row_is_named_and_nothing_is_imported(
    kind: str, employee: User, login: Callable[[User], Client]
) -> None:
    english(employee)
    row, message = BAD_ROWS[kind]
    rows = [HEADER_ZH, ["上海瑞丰食品有限公司"], row + [""] * (len(HEADER_ZH) - len(row))]
    client = login(employee)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert shown.status_code == 200
    text = shown.content.decode()
    assert message in text
    assert 'data-row="3" class="invalid"' in text and 'data-row="2">' in text
    refused = confirm(client, token_of(shown))
    assert refused.status_code == 400
    assert "Correct the rows in error" in refused.content.decode()
    assert state() == (0, 0, 0)


def test_only_a_sales_administrator_names_another_owner(employee: User, colleague: User) -> None:
    english(employee)
    rows = [["客户名称", "负责人"], ["无锡明远电气有限公司", colleague.username]]
    report = import_check(employee, read_table("a.csv", csv_bytes(rows)))
    assert "Only sales administrators" in report.rows[0].errors[0]
    assert not report.ready


# --- the file itself ------------------------------------------------------------------------------


def _file_refused(client: Client, name: str, content: bytes, message: str) -> None:
    answer = preview(client, name, content)
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert state() == (0, 0, 0)


def test_a_file_too_big_is_refused(employee: User, login: Callable[[User], Client]) -> None:
    english(employee)
    content = csv_bytes([["客户名称"]]) + b"a,\r\n" * (imports.MAX_BYTES // 4 + 1)
    _file_refused(login(employee), "big.csv", content, "an import file may be at most")


def test_too_many_rows_are_refused(
    employee: User, login: Callable[[User], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    english(employee)
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    rows = [["客户名称"], *[[f"公司{n}"] for n in range(4)]]
    _file_refused(login(employee), "a.csv", csv_bytes(rows), "more than 3 rows")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not an Excel workbook"),
        ("a.xlsx", b"PK\x03\x04broken zip", "not an Excel workbook"),
        ("a.csv", b"\x00\x01\x02binary\x00", "not an Excel workbook"),
        ("a.pdf", b"%PDF-1.4\n%%EOF\n", "cannot be imported"),
        ("a.csv", b"", "empty"),
        ("a.csv", "名字,电话\r\n张三,1\r\n".encode(), "The first row must name the columns"),
        ("a.csv", "客户名称\r\n".encode(), "no customers"),
    ],
)
def test_a_file_that_is_no_import_is_refused(
    name: str, content: bytes, message: str, employee: User, login: Callable[[User], Client]
) -> None:
    english(employee)
    _file_refused(login(employee), name, content, message)


def test_a_held_file_is_the_uploaders_only(
    employee: User, colleague: User, login: Callable[[User], Client]
) -> None:
    english(colleague)
    token = token_of(preview(login(employee), "a.xlsx", xlsx(good_rows())))
    answer = confirm(login(colleague), token)
    assert answer.status_code == 400
    assert "no longer available" in answer.content.decode()
    forged = confirm(login(colleague), token[:-2] + "xx")
    assert forged.status_code == 400
    assert state() == (0, 0, 0)


# --- duplicates and the choices -------------------------------------------------------------------


def test_duplicates_within_the_file_are_skipped_by_default(
    employee: User, login: Callable[[User], Client]
) -> None:
    rows = [
        ["客户名称", "电话"],
        ["广州远航物流有限公司", "020-1111 2222"],
        ["广州远航物流股份有限公司", ""],  # the same name key
        ["深圳鼎盛科技有限公司", "02011112222"],  # the same phone as line 2
    ]
    client = login(employee)
    shown = preview(client, "a.csv", csv_bytes(rows))
    report = import_check(employee, read_table("a.csv", csv_bytes(rows)))
    assert [(d.row, d.reasons) for d in report.rows[1].duplicates] == [(2, ["name"])]
    assert [(d.row, d.reasons) for d in report.rows[2].duplicates] == [(2, ["phone"])]
    assert report.rows[1].choices == ["skip", "create"]
    assert 'data-duplicate="line-2"' in shown.content.decode()
    assert confirm(client, token_of(shown)).status_code == 302
    assert list(Account.objects.values_list("name", flat=True)) == ["广州远航物流有限公司"]


def test_create_anyway_creates_a_duplicate_row(
    employee: User, login: Callable[[User], Client]
) -> None:
    rows = [["客户名称"], ["广州远航物流有限公司"], ["广州远航物流股份有限公司"]]
    client = login(employee)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert confirm(client, token_of(shown), line_3="create").status_code == 302
    assert Account.objects.count() == 2


def test_a_duplicate_of_the_customer_base_offers_update_to_who_may_change_it(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    rows = [
        ["客户名称", "统一社会信用代码", "电话", "地址", "行业", "联系人", "联系人手机"],
        [
            "上海艾克米科技股份有限公司",
            uscc(1),
            "021-0000 0000",
            "浦东新区张江路 1 号",
            "retail",
            "孙亮",
            "13700001111",
        ],
    ]
    client = login(employee)
    shown = preview(client, "a.csv", csv_bytes(rows))
    text = shown.content.decode()
    assert f'data-duplicate="{acme.pk}"' in text
    report = import_check(employee, read_table("a.csv", csv_bytes(rows)))
    row = report.rows[0]
    # the same credit code: one legal entity, no "create anyway"
    assert row.choices == ["skip", "update"] and row.update_id == acme.pk
    before = (acme.phone, acme.industry, acme.name)
    assert confirm(client, token_of(shown), line_2="update").status_code == 302
    acme.refresh_from_db()
    assert (acme.phone, acme.industry, acme.name) == before  # filled, never overwritten
    assert acme.address == "浦东新区张江路 1 号"
    assert set(acme.contacts.values_list("name", flat=True)) == {"赵磊", "孙亮"}
    assert Account.objects.count() == 1
    assert acme.events.filter(kind="updated").exists()


def test_skip_is_the_default_for_a_duplicate_of_the_customer_base(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    rows = [["客户名称", "邮箱"], ["艾克米", "info@acme.cn"], ["北京华通咨询有限公司", ""]]
    client = login(employee)
    before = state()
    assert confirm(client, token_of(preview(client, "a.csv", csv_bytes(rows)))).status_code == 302
    assert Account.objects.count() == 2 and Account.objects.filter(name="北京华通咨询有限公司")
    acme.refresh_from_db()
    assert not acme.events.filter(kind="updated").exists()
    assert state()[0] == before[0] + 1


def test_update_is_not_offered_for_an_account_the_importer_may_not_change(
    employee: User, acme: Account, east_head: User, outsider: User, login: Callable[[User], Client]
) -> None:
    english(east_head, outsider)
    rows = [["客户名称"], ["上海艾克米科技有限公司"]]
    table = read_table("a.csv", csv_bytes(rows))
    seen = import_check(east_head, table).rows[0]  # sees it (the owner's head), may not change
    assert seen.duplicates[0].visible and not seen.duplicates[0].may_change
    assert seen.choices == ["skip", "create"]
    unseen = import_check(outsider, table).rows[0]
    assert not unseen.duplicates[0].visible and unseen.choices == ["skip", "create"]
    client = login(outsider)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert reverse("crm:account", args=[acme.pk]) not in shown.content.decode()
    before = state()
    refused = confirm(client, token_of(shown), line_2="update")
    assert refused.status_code == 400
    assert "Line 2" in refused.content.decode()
    assert state() == before


def test_a_team_member_with_change_may_update(
    colleague: User, acme: Account, login: Callable[[User], Client]
) -> None:
    rows = [["客户名称", "网站"], ["上海艾克米科技有限公司", "acme.cn"]]
    client = login(colleague)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert confirm(client, token_of(shown), line_2="update").status_code == 302
    acme.refresh_from_db()
    assert acme.website == "https://acme.cn"


def test_a_failure_at_the_confirmation_writes_nothing(
    employee: User, login: Callable[[User], Client]
) -> None:
    """Two lines with the same customer code: the second fails when it is written, and the
    first, written already in the same transaction, is rolled back."""
    english(employee)
    rows = [
        ["客户名称", "客户编码"],
        ["成都云帆网络有限公司", "C900001"],
        ["重庆海联实业有限公司", "C900001"],
    ]
    client = login(employee)
    shown = preview(client, "a.csv", csv_bytes(rows))
    assert shown.status_code == 200
    failed = confirm(client, token_of(shown))
    assert failed.status_code == 400
    text = failed.content.decode()
    assert "Line 3 could not be imported" in text and "Nothing was imported" in text
    assert state() == (0, 0, 0)


def test_a_customer_entered_after_the_preview_fails_the_import(employee: User) -> None:
    rows = [["客户名称"], ["青岛瑞丰啤酒有限公司"], ["武汉明远光电有限公司"]]
    report = import_check(employee, read_table("a.csv", csv_bytes(rows)))
    assert report.ready and not any(row.duplicates for row in report.rows)
    make_account(employee, "武汉明远光电股份有限公司")
    before = state()
    with pytest.raises(services.ImportFailed) as failed:
        services.accounts_import(by=employee, rows=report.rows, choices={})
    assert failed.value.row == 3
    assert state() == before
    assert not Account.objects.filter(name="青岛瑞丰啤酒有限公司").exists()


def test_a_choice_the_row_does_not_offer_fails(employee: User, acme: Account) -> None:
    rows = [["客户名称", "统一社会信用代码"], ["艾克米", uscc(1)]]
    report = import_check(employee, read_table("a.csv", csv_bytes(rows)))
    before = state()
    with pytest.raises(services.ImportFailed):
        services.accounts_import(by=employee, rows=report.rows, choices={2: "create"})
    assert state() == before


# --- the API --------------------------------------------------------------------------------------


def _api(client: Client, content: bytes, name: str = "a.xlsx", **data: Any) -> Any:
    return client.post(reverse("crm-api:account-import"), {"file": upload(name, content), **data})


def test_the_api_dry_run_answers_the_report_and_writes_nothing(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    rows = [*good_rows(), ["艾克米科技", uscc(1)], ["", "bad"]]
    before = state()
    answer = _api(login(employee), xlsx(rows))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["dry_run"] is True and body["ready"] is False
    lines = {row["line"]: row for row in body["rows"]}
    assert lines[2]["choice"] == "create" and lines[2]["problems"] == []
    assert lines[4]["duplicates"][0]["account"] == acme.pk
    assert lines[4]["choices"] == ["skip", "update"] and lines[4]["choice"] == "skip"
    assert len(lines[5]["problems"]) == 2
    assert state() == before


def test_the_api_imports_with_choices(
    employee: User, acme: Account, login: Callable[[User], Client]
) -> None:
    rows = [*good_rows(), ["艾克米科技", uscc(1), "", "", "", "", "", "", "", "钱二", ""]]
    answer = _api(login(employee), xlsx(rows), dry_run="false", choices='{"4": "update"}')
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert len(body["created"]) == 2 and body["updated"] == [acme.pk]
    assert acme.contacts.filter(name="钱二").exists()


def test_the_api_refuses_a_file_with_a_bad_line(
    employee: User, login: Callable[[User], Client]
) -> None:
    english(employee)
    rows = [*good_rows(), ["", "bad"]]
    answer = _api(login(employee), xlsx(rows), dry_run="false")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["problems"][0]["where"] == "line 4"
    assert state() == (0, 0, 0)


def test_the_api_refuses_what_is_not_an_import(
    employee: User, login: Callable[[User], Client]
) -> None:
    english(employee)
    client = login(employee)
    answer = _api(client, b"%PDF-1.4", "a.pdf", dry_run="false")
    assert answer.status_code == 400
    assert "cannot be imported" in answer.json()["error"]["fields"]["file"][0]
    bad_choice = _api(client, xlsx(good_rows()), dry_run="false", choices='{"2": "merge"}')
    assert bad_choice.status_code == 400
    assert state() == (0, 0, 0)


def test_a_template_in_chinese_reads_back_for_an_english_reader(
    employee: User, colleague: User, login: Callable[[User], Client]
) -> None:
    """The headers are known in both languages, whoever downloaded the template."""
    answer = login(employee).get(reverse("crm:account_import_template"))  # 张伟 reads Chinese
    header = [c.value for c in next(load_workbook(io.BytesIO(answer.content)).worksheets[0].rows)]
    english(colleague)
    rows = [header, ["南通远航船舶有限公司", *[""] * (len(header) - 1)]]
    report = import_check(colleague, read_table("t.xlsx", xlsx(rows)))
    assert len(report.columns) == len(imports.FIELDS) and report.ignored == []
