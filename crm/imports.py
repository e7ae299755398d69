"""Customers from a spreadsheet (客户导入): read an Excel (``.xlsx``) or CSV file of accounts,
one a row with an optional first contact, and say for every row what is wrong with it and
which customers it looks like — before anything is written.

Reading (:func:`import_read`): the file is at most :data:`MAX_BYTES` and :data:`MAX_ROWS`
rows; ``.xlsx`` is read with openpyxl in read-only mode; CSV may be UTF-8 (with or without a
byte-order mark) or GB18030/GBK, as Chinese Excel saves it (tried in that order: a GBK file
is almost never valid UTF-8). The first row names the columns, in Chinese or English
(:data:`FIELDS`; the template, :func:`template_sheet`, writes them in the reader's language).

Checking (:func:`import_check`): each row gets field errors (a missing name, a credit code
whose check character is wrong, a phone that cannot be one, an industry, level or province
the customer base does not know, an owner nobody is called) and its likely duplicates — the
accounts of :func:`crm.duplicates.likely_duplicates` and the earlier rows of the same file
with the same credit code, name key, phone or e-mail. A duplicate row offers choices
(:data:`Choice`): skip it (the default), create it anyway (not when the credit code is the
same: one legal entity has one), or update the existing account — filling only the fields
that are empty there, never overwriting what someone entered — when the importer may change
it. The writing is ``crm.services.accounts.accounts_import``.

Between the preview and the confirmation the file is held on the server
(:func:`import_file_hold`, the same way the workflow holds a form's files): a signed token
names the person who uploaded it and expires after a day, and the file is read and checked
again at the confirmation, so a customer entered meanwhile is caught.
"""

from __future__ import annotations

import csv
import datetime
import io
import unicodedata
import uuid
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import URLValidator, validate_email
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from crm.duplicates import Match, email_key, likely_duplicates, name_key, phone_key
from crm.models import Account, AccountLevel, Industry
from crm.selectors.accounts import account_may_change
from crm.selectors.visibility import accounts_for, is_sales_admin
from portal.choices import CodeRuleKey
from portal.codes import code_check
from portal.exports import Column, Sheet
from portal.held_files import day_folder, held_files_cleanup
from portal.models import User, phone_validator

__all__ = [
    "CHOICES",
    "FIELDS",
    "MAX_BYTES",
    "MAX_ROWS",
    "PROVINCES",
    "Choice",
    "ImportDuplicate",
    "ImportField",
    "ImportReport",
    "ImportRow",
    "import_check",
    "import_file_held",
    "import_file_hold",
    "import_file_release",
    "import_read",
    "read_table",
    "template_sheet",
]

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
HOLD_FOLDER = "crm/imports"
HOLD_MAX_AGE_SECONDS = 24 * 3600
_SALT = "crm.account-import"

Choice = Literal["skip", "create", "update"]
CHOICES: tuple[Choice, ...] = ("skip", "create", "update")


@dataclass(frozen=True)
class ImportField:
    """A column of the import file: its ``key``, its header in English (translated for the
    template) and the other headers it is known by (Chinese, short forms)."""

    key: str
    label: Promise
    aliases: tuple[str, ...]
    width: int = 14


FIELDS: tuple[ImportField, ...] = (
    ImportField("name", gettext_lazy("Customer name"), ("客户名称", "名称", "name"), 32),
    ImportField("code", gettext_lazy("Customer code"), ("客户编码", "客户代码", "code")),
    ImportField(
        "credit_code",
        gettext_lazy("Unified social credit code"),
        ("统一社会信用代码", "信用代码", "credit code", "uscc"),
        22,
    ),
    ImportField("industry", gettext_lazy("Industry"), ("行业",)),
    ImportField("level", gettext_lazy("Level"), ("级别", "等级", "客户级别")),
    ImportField("province", gettext_lazy("Province"), ("省份", "省")),
    ImportField("city", gettext_lazy("City"), ("城市", "市")),
    ImportField("phone", gettext_lazy("Phone"), ("电话", "公司电话", "手机号码", "telephone")),
    ImportField("email", gettext_lazy("E-mail"), ("邮箱", "电子邮件", "email", "e mail"), 24),
    ImportField("address", gettext_lazy("Address"), ("地址",), 32),
    ImportField("website", gettext_lazy("Website"), ("网站", "网址")),
    ImportField(
        "owner",
        gettext_lazy("Owner (user name)"),
        ("负责人", "负责人（用户名）", "owner", "user name"),
    ),
    ImportField("contact_name", gettext_lazy("Contact"), ("联系人", "contact name")),
    ImportField("contact_title", gettext_lazy("Contact title"), ("联系人职务", "职务")),
    ImportField("contact_mobile", gettext_lazy("Contact mobile"), ("联系人手机", "手机")),
    ImportField("contact_email", gettext_lazy("Contact e-mail"), ("联系人邮箱",), 24),
)

# China's provincial-level divisions: the full name (as stored) and the names a file may
# use instead (the short name, pinyin).
PROVINCES: dict[str, tuple[str, ...]] = {
    "北京市": ("北京", "beijing"),
    "天津市": ("天津", "tianjin"),
    "上海市": ("上海", "shanghai"),
    "重庆市": ("重庆", "chongqing"),
    "河北省": ("河北", "hebei"),
    "山西省": ("山西", "shanxi"),
    "辽宁省": ("辽宁", "liaoning"),
    "吉林省": ("吉林", "jilin"),
    "黑龙江省": ("黑龙江", "heilongjiang"),
    "江苏省": ("江苏", "jiangsu"),
    "浙江省": ("浙江", "zhejiang"),
    "安徽省": ("安徽", "anhui"),
    "福建省": ("福建", "fujian"),
    "江西省": ("江西", "jiangxi"),
    "山东省": ("山东", "shandong"),
    "河南省": ("河南", "henan"),
    "湖北省": ("湖北", "hubei"),
    "湖南省": ("湖南", "hunan"),
    "广东省": ("广东", "guangdong"),
    "海南省": ("海南", "hainan"),
    "四川省": ("四川", "sichuan"),
    "贵州省": ("贵州", "guizhou"),
    "云南省": ("云南", "yunnan"),
    "陕西省": ("陕西", "shaanxi"),
    "甘肃省": ("甘肃", "gansu"),
    "青海省": ("青海", "qinghai"),
    "台湾省": ("台湾", "taiwan"),
    "内蒙古自治区": ("内蒙古", "inner mongolia", "nei mongol"),
    "广西壮族自治区": ("广西", "guangxi"),
    "西藏自治区": ("西藏", "tibet", "xizang"),
    "宁夏回族自治区": ("宁夏", "ningxia"),
    "新疆维吾尔自治区": ("新疆", "xinjiang"),
    "香港特别行政区": ("香港", "hong kong", "hongkong"),
    "澳门特别行政区": ("澳门", "macau", "macao"),
}

# The Chinese labels of the choices, so that a file written in Chinese reads whatever the
# importer's language is (the English labels and the stored values come from the choices).
INDUSTRY_ALIASES = {
    "制造业": Industry.MANUFACTURING,
    "制造": Industry.MANUFACTURING,
    "贸易": Industry.TRADE,
    "贸易与分销": Industry.TRADE,
    "批发": Industry.TRADE,
    "软件和信息技术服务": Industry.IT,
    "软件与信息技术服务": Industry.IT,
    "信息技术": Industry.IT,
    "软件": Industry.IT,
    "金融": Industry.FINANCE,
    "金融保险": Industry.FINANCE,
    "金融与保险": Industry.FINANCE,
    "物流": Industry.LOGISTICS,
    "建筑": Industry.CONSTRUCTION,
    "建筑与房地产": Industry.CONSTRUCTION,
    "房地产": Industry.CONSTRUCTION,
    "医疗": Industry.HEALTHCARE,
    "医疗健康": Industry.HEALTHCARE,
    "教育": Industry.EDUCATION,
    "能源": Industry.ENERGY,
    "零售": Industry.RETAIL,
    "政府": Industry.GOVERNMENT,
    "政府与公共事业": Industry.GOVERNMENT,
    "其他": Industry.OTHER,
}
LEVEL_ALIASES = {
    "战略": AccountLevel.STRATEGIC,
    "战略客户": AccountLevel.STRATEGIC,
    "重点": AccountLevel.KEY,
    "重点客户": AccountLevel.KEY,
    "标准": AccountLevel.STANDARD,
    "普通": AccountLevel.STANDARD,
    "普通客户": AccountLevel.STANDARD,
    "小客户": AccountLevel.SMALL,
    "小型": AccountLevel.SMALL,
}

# The longest text each column may hold (the model's field lengths).
MAX_LENGTHS = {
    "name": 200,
    "code": 40,
    "city": 30,
    "address": 300,
    "website": 200,
    "contact_name": 60,
    "contact_title": 60,
}


def _fold(text: str) -> str:
    """A header or a choice as compared: NFKC, case folded, punctuation and spaces as one
    space (``E-mail`` is ``e mail``; ``客户名称（必填）`` keeps only ``客户名称 必填``)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(c if unicodedata.category(c)[0] in "LNM" else " " for c in folded)
    return " ".join(kept.split())


def _header_keys() -> dict[str, str]:
    """Every known header, folded → the field's key (English and Chinese, and the reader's
    language's translation)."""
    keys: dict[str, str] = {}
    with translation.override("en"):
        english = [str(item.label) for item in FIELDS]
    for item, in_english in zip(FIELDS, english, strict=True):
        for name in (item.key, str(item.label), in_english, *item.aliases):
            keys.setdefault(_fold(name), item.key)
        keys.setdefault(_fold(item.key.replace("_", " ")), item.key)
    return keys


def _choice_keys(choices: Iterable[tuple[str, Any]], aliases: Mapping[str, str]) -> dict[str, str]:
    """A choice by its value, its label in English or the reader's language, or a Chinese
    alias; a level's label also by its word alone ("A · strategic": "strategic")."""
    keys = {_fold(alias): str(value) for alias, value in aliases.items()}
    with translation.override("en"):
        labels = [(value, str(label)) for value, label in choices]
    labels += [(value, str(label)) for value, label in choices]
    for value, label in labels:
        keys.setdefault(_fold(value), value)
        keys.setdefault(_fold(label), value)
        keys.setdefault(_fold(label.split("·")[-1]), value)
    return keys


def _province_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for full, others in PROVINCES.items():
        for name in (full, *others):
            keys[_fold(name)] = full
    return keys


# --- the report -----------------------------------------------------------------------------------


@dataclass
class ImportDuplicate:
    """What a row looks like: an account (``account_id``; ``visible``/``may_change`` for the
    importer) or an earlier row of the file (``row``), and why (``reasons``)."""

    reasons: list[str]
    account_id: int | None = None
    code: str = ""
    name: str = ""
    owner: str = ""
    visible: bool = False
    may_change: bool = False
    row: int | None = None


@dataclass
class ImportRow:
    """One row of the file: its line ``number`` (the header is line 1), the values as the
    services take them (``values``: the account's fields; ``contact``: the first contact's,
    empty when the row has none; ``owner_id``), its ``errors`` (each a sentence naming the
    column), its ``duplicates`` and the ``choices`` it offers (``skip`` first)."""

    number: int
    values: dict[str, str] = field(default_factory=dict)
    contact: dict[str, str] = field(default_factory=dict)
    owner_id: int | None = None
    errors: list[str] = field(default_factory=list)
    duplicates: list[ImportDuplicate] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
    update_id: int | None = None

    @property
    def name(self) -> str:
        return self.values.get("name", "")

    @property
    def is_duplicate(self) -> bool:
        return bool(self.duplicates)

    def default_choice(self) -> Choice:
        """What is done with the row unless the importer chooses: a row that looks like a
        customer already there is skipped; any other is created."""
        return "skip" if self.duplicates else "create"


@dataclass
class ImportReport:
    """The whole file as checked: ``file_name``, the ``columns`` recognised (keys), the
    headers nobody knows (``ignored``) and the rows."""

    file_name: str
    columns: list[str]
    ignored: list[str]
    rows: list[ImportRow]

    @property
    def errors(self) -> int:
        return sum(1 for row in self.rows if row.errors)

    @property
    def duplicates(self) -> int:
        return sum(1 for row in self.rows if row.duplicates and not row.errors)

    @property
    def ready(self) -> bool:
        """Whether the file may be imported: it has rows and none is in error."""
        return bool(self.rows) and not self.errors


# --- reading the file -----------------------------------------------------------------------------


def _file_error(message: str, code: str, **params: Any) -> ValidationError:
    return ValidationError(message, code=code, params=params or None)


def _cell_text(value: Any) -> str:
    """A cell as text: a whole number without ``.0`` (a phone typed into Excel is a number),
    a date as ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return " ".join(str(value).split())


def _xlsx_rows(content: bytes) -> list[list[str]]:
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
        raise _file_error(
            _("This file is not an Excel workbook (.xlsx) or a CSV file."), "not_a_spreadsheet"
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            return []
        rows: list[list[str]] = []
        for values in sheet.iter_rows(values_only=True):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
        return rows
    finally:
        book.close()


def _csv_text(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")
    if b"\x00" in content[:4096]:
        encodings = ()
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error(
        _(
            "This file is not an Excel workbook (.xlsx) or a CSV file in UTF-8 or GBK: save it "
            "again as one of these."
        ),
        "not_a_spreadsheet",
    )


def _csv_rows(content: bytes) -> list[list[str]]:
    text = _csv_text(content)
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows: list[list[str]] = []
    try:
        for values in csv.reader(io.StringIO(text), dialect):
            rows.append([_cell_text(v) for v in values])
            if len(rows) > MAX_ROWS + 1:
                break
    except csv.Error:
        raise _file_error(
            _("This CSV file cannot be read: check its quotes and separators."), "bad_csv"
        ) from None
    return rows


def read_table(name: str, content: bytes) -> list[list[str]]:
    """The rows of the file (the header row first), each cell as text; blank rows left out.
    ``ValidationError`` (code ``too_large``, ``empty``, ``file_type``, ``not_a_spreadsheet``,
    ``too_many_rows``) for a file that cannot be an import."""
    if len(content) > MAX_BYTES:
        raise _file_error(
            _("The file is larger than %(limit)s: an import file may be at most that."),
            "too_large",
            limit=filesizeformat(MAX_BYTES),
        )
    if not content.strip():
        raise _file_error(_("The file is empty."), "empty")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ("xlsx", "csv", "txt"):
        raise _file_error(
            _(
                "Files of this type (%(name)s) cannot be imported: use an Excel workbook "
                "(.xlsx) or a CSV file."
            ),
            "file_type",
            name=name,
        )
    if content.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(content)
    elif extension == "xlsx":
        raise _file_error(
            _("This file is not an Excel workbook (.xlsx) or a CSV file."), "not_a_spreadsheet"
        )
    else:
        rows = _csv_rows(content)
    rows = [row for row in rows if any(cell for cell in row)]
    if len(rows) > MAX_ROWS + 1:
        raise _file_error(
            _("The file has more than %(limit)s rows: split it into smaller files."),
            "too_many_rows",
            limit=f"{MAX_ROWS:,}",
        )
    return rows


def _columns(header: Sequence[str]) -> tuple[dict[int, str], list[str]]:
    """Which column holds which field; the headers nobody knows."""
    known = _header_keys()
    found: dict[int, str] = {}
    ignored: list[str] = []
    for index, title in enumerate(header):
        key = known.get(_fold(title))
        if key is None or key in found.values():
            if title:
                ignored.append(title)
            continue
        found[index] = key
    if "name" not in found.values():
        raise _file_error(
            _(
                "The first row must name the columns, with one called “%(name)s”: download the "
                "template to see them all."
            ),
            "no_name_column",
            name=str(FIELDS[0].label),
        )
    return found, ignored


# --- checking the rows ----------------------------------------------------------------------------


_Error = Callable[[str, str], None]


class _Checker:
    """The lookups every row of one file shares (choices, provinces, owners by name)."""

    def __init__(self, user: User, rows: list[dict[str, str]]) -> None:
        self.user = user
        self.sales_admin = is_sales_admin(user)
        self.industries = _choice_keys(Industry.choices, INDUSTRY_ALIASES)
        self.levels = _choice_keys(AccountLevel.choices, LEVEL_ALIASES)
        self.provinces = _province_keys()
        wanted = {row.get("owner", "") for row in rows} - {""}
        people = User.objects.filter(is_active=True).filter(
            Q(username__in=wanted) | Q(employee_no__in=wanted)
        )
        self.owners: dict[str, User] = {}
        for person in people:
            self.owners.setdefault(person.username, person)
            if person.employee_no:
                self.owners.setdefault(person.employee_no, person)
        codes = {row.get("code", "").upper() for row in rows} - {""}
        self.taken_codes = set(
            Account.objects.filter(code__in=codes).values_list("code", flat=True)
        )

    def row(self, number: int, given: dict[str, str]) -> ImportRow:
        """The row's values as the services take them, and its field errors."""
        row = ImportRow(number=number)
        labels = {item.key: str(item.label) for item in FIELDS}

        def error(key: str, message: str) -> None:
            row.errors.append(f"{labels[key]}: {message}")

        for key, limit in MAX_LENGTHS.items():
            if len(given.get(key, "")) > limit:
                error(
                    key,
                    _("At most %(limit)s characters (it has %(count)s).")
                    % {"limit": limit, "count": len(given[key])},
                )
        row.values["name"] = given.get("name", "")
        if not row.values["name"]:
            error("name", _("The customer name is missing."))
        for key in ("city", "address"):
            if given.get(key):
                row.values[key] = given[key]
        self._codes(row, given, error)
        self._choices(row, given, error)
        self._reachable(row, given, error)
        self._owner(row, given.get("owner", ""), error)
        contact = {
            "name": given.get("contact_name", ""),
            "title": given.get("contact_title", ""),
            "mobile": given.get("contact_mobile", ""),
            "email": given.get("contact_email", ""),
        }
        if any(contact.values()):
            if not contact["name"]:
                error("contact_name", _("The contact's name is missing."))
            row.contact = {k: v for k, v in contact.items() if v}
        return row

    def _codes(self, row: ImportRow, given: dict[str, str], error: _Error) -> None:
        """The customer code (its rule; not taken) and the credit code (its check
        character)."""
        code = given.get("code", "").upper()
        if code:
            try:
                code_check(CodeRuleKey.CUSTOMER_CODE, code)
            except ValidationError as problem:
                error("code", " ".join(problem.messages))
            else:
                if code in self.taken_codes:
                    error("code", _("Another customer has this code already."))
            row.values["code"] = code
        credit = given.get("credit_code", "").upper().replace(" ", "")
        if credit:
            try:
                code_check(CodeRuleKey.USCC, credit)
            except ValidationError as problem:
                error("credit_code", " ".join(problem.messages))
            row.values["credit_code"] = credit

    def _choices(self, row: ImportRow, given: dict[str, str], error: _Error) -> None:
        """The industry and the level by value or label, the province by any of its names."""
        for key, table, choices in (
            ("industry", self.industries, Industry.choices),
            ("level", self.levels, AccountLevel.choices),
        ):
            text = given.get(key, "")
            if not text:
                continue
            value = table.get(_fold(text))
            if value is None:
                error(
                    key,
                    _("“%(value)s” is not one of: %(allowed)s.")
                    % {"value": text, "allowed": ", ".join(str(c[1]) for c in choices)},
                )
            else:
                row.values[key] = value
        province = given.get("province", "")
        if province:
            full = self.provinces.get(_fold(province))
            if full is None:
                error(
                    "province",
                    _("“%(value)s” is not a province of China (for example 浙江省 or 浙江).")
                    % {"value": province},
                )
            else:
                row.values["province"] = full

    def _reachable(self, row: ImportRow, given: dict[str, str], error: _Error) -> None:
        """Phones, e-mails and the website: each must be one."""
        for key in ("phone", "contact_mobile"):
            if given.get(key):
                try:
                    phone_validator(given[key])
                except ValidationError as problem:
                    error(key, " ".join(problem.messages))
        for key in ("email", "contact_email"):
            if given.get(key):
                try:
                    validate_email(given[key])
                except ValidationError:
                    error(key, _("“%(value)s” is not an e-mail address.") % {"value": given[key]})
        for key in ("phone", "email"):
            if given.get(key):
                row.values[key] = given[key]
        website = given.get("website", "")
        if website:
            full = website if "://" in website else "https://" + website
            try:
                URLValidator()(full)
            except ValidationError:
                error("website", _("“%(value)s” is not a web address.") % {"value": website})
            row.values["website"] = full

    def _owner(self, row: ImportRow, name: str, error: _Error) -> None:
        """The owner by user name or employee number (default: the importer)."""
        if not name:
            if self.user.department_id is None:
                error("owner", _("You belong to no department: an account needs one."))
            return
        owner = self.owners.get(name)
        if owner is None:
            error(
                "owner",
                _("There is no active person with the user name or number “%(value)s”.")
                % {"value": name},
            )
        elif owner.pk != self.user.pk and not self.sales_admin:
            error("owner", _("Only sales administrators may create accounts for someone else."))
        elif owner.department_id is None:
            error("owner", _("This person belongs to no department: an account needs one."))
        else:
            row.owner_id = owner.pk


def _keys_of(row: ImportRow) -> dict[str, str]:
    """The row's duplicate-check keys: credit code, name key, phone, e-mail."""
    values = row.values
    return {
        "credit_code": values.get("credit_code", ""),
        "name": name_key(values["name"]) if values.get("name") else "",
        "phone": phone_key(values.get("phone", "")),
        "email": email_key(values.get("email", "")),
    }


def _offer(row: ImportRow) -> None:
    """The choices of a duplicate row (see the module's docstring)."""
    row.choices = ["skip"]
    same_credit_code = any("credit_code" in d.reasons for d in row.duplicates)
    if not same_credit_code:
        row.choices.append("create")
    target = next((d for d in row.duplicates if d.account_id is not None and d.may_change), None)
    if target is not None:
        row.update_id = target.account_id
        row.choices.append("update")


def _file_duplicates(rows: list[ImportRow]) -> None:
    """Each row's earlier rows with the same credit code, name key, phone or e-mail."""
    earlier: dict[tuple[str, str], int] = {}
    for row in rows:
        if not row.name:
            continue
        keys = _keys_of(row)
        by_row: dict[int, list[str]] = {}
        for reason, key in keys.items():
            if key and (reason, key) in earlier:
                by_row.setdefault(earlier[(reason, key)], []).append(reason)
        for reason, key in keys.items():
            if key:
                earlier.setdefault((reason, key), row.number)
        row.duplicates.extend(
            ImportDuplicate(reasons=reasons, row=number) for number, reasons in by_row.items()
        )


def _base_duplicates(user: User, rows: list[ImportRow]) -> None:
    """Each row's likely duplicates in the customer base; whether the importer sees and may
    change each (an account they may not see is named, not opened)."""
    matched: dict[int, list[Match]] = {}
    for row in rows:
        if not row.name:
            continue
        keys = _keys_of(row)
        matches = likely_duplicates(
            name=row.name,
            credit_code=keys["credit_code"] or None,
            phone=keys["phone"],
            email=keys["email"],
        )
        if matches:
            matched[row.number] = matches
    found = [m for matches in matched.values() for m in matches]
    visible = {a.pk: a for a in accounts_for(user).filter(pk__in={m.account_id for m in found})}
    owners = dict(
        User.objects.filter(pk__in={m.owner_id for m in found}).values_list("pk", "username")
    )
    changeable = {
        pk
        for pk, account in visible.items()
        if account.merged_into_id is None and account_may_change(user, account)
    }
    for row in rows:
        row.duplicates.extend(
            ImportDuplicate(
                reasons=m.reasons,
                account_id=m.account_id,
                code=m.code,
                name=m.name,
                owner=owners.get(m.owner_id, ""),
                visible=m.account_id in visible,
                may_change=m.account_id in changeable,
            )
            for m in matched.get(row.number, [])
        )


def import_check(
    user: User, table: Sequence[Sequence[str]], *, file_name: str = ""
) -> ImportReport:
    """Check the rows of ``table`` (its header row first) as ``user`` would import them:
    field errors, likely duplicates (the earlier rows, then the customer base), the choices
    of each duplicate row. Reads only."""
    if not table:
        raise _file_error(_("The file is empty."), "empty")
    columns, ignored = _columns(table[0])
    given_rows: list[dict[str, str]] = []
    for values in table[1:]:
        given = dict.fromkeys(columns.values(), "")
        for index, key in columns.items():
            if index < len(values):
                given[key] = values[index].strip()
        given_rows.append(given)
    if not given_rows:
        raise _file_error(_("The file has a header row but no customers."), "no_rows")
    checker = _Checker(user, given_rows)
    rows = [checker.row(number, given) for number, given in enumerate(given_rows, start=2)]
    _file_duplicates(rows)
    _base_duplicates(user, rows)
    for row in rows:
        if row.duplicates:
            _offer(row)
        else:
            row.choices = ["create"]
    return ImportReport(
        file_name=file_name, columns=list(columns.values()), ignored=ignored, rows=rows
    )


def import_read(user: User, name: str, content: bytes) -> ImportReport:
    """Read and check a whole file (:func:`read_table`, then :func:`import_check`)."""
    return import_check(user, read_table(name, content), file_name=name)


# --- holding the file between the preview and the confirmation -----------------------------------


def _folder_of(day: datetime.date) -> str:
    return day_folder(HOLD_FOLDER, day)


def import_file_hold(*, user: User, name: str, content: bytes) -> str:
    """Keep the uploaded file until the importer confirms; the signed token that names it
    (for ``user`` only, a day). Files of days before yesterday are deleted here."""
    path = default_storage.save(
        f"{_folder_of(timezone.localdate())}/{uuid.uuid4().hex}", ContentFile(content)
    )
    held_files_cleanup(HOLD_FOLDER)
    return signing.dumps({"u": user.pk, "p": path, "n": name[:200]}, salt=_SALT)


def import_file_held(*, user: User, token: str) -> tuple[str, bytes]:
    """The file the token names, ``(name, content)``; ``ValidationError`` when the token is
    someone else's, forged or expired, or the file is gone."""
    gone = ValidationError(
        _("The uploaded file is no longer available: upload it again."), code="gone"
    )
    try:
        found = signing.loads(token, salt=_SALT, max_age=HOLD_MAX_AGE_SECONDS)
    except signing.BadSignature:  # also SignatureExpired
        raise gone from None
    path = str(found.get("p", ""))
    if (
        found.get("u") != user.pk
        or not path.startswith(f"{HOLD_FOLDER}/")
        or not default_storage.exists(path)
    ):
        raise gone
    with default_storage.open(path, "rb") as handle:
        content = handle.read()
    return str(found.get("n", "")), content


def import_file_release(*, user: User, token: str) -> None:
    """Delete the held file (it was imported)."""
    try:
        found = signing.loads(token, salt=_SALT, max_age=HOLD_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return
    path = str(found.get("p", ""))
    if found.get("u") == user.pk and path.startswith(f"{HOLD_FOLDER}/"):
        default_storage.delete(path)


# --- the template ---------------------------------------------------------------------------------


def template_sheet() -> Sheet:
    """The import template: the header row in the reader's language, no rows."""
    columns = [Column(str(item.label), width=item.width) for item in FIELDS]
    return Sheet(_("Customer import"), columns, [])
