"""A demo Tryton ERP on this machine: the real ERP the Tryton adapter talks to, for
``make erp`` and the integration tests (``tests/erp_bridge/conftest.py``).

    python -m erp_bridge.tryton_demo --folder DIR --database NAME [--port P] [--serve]
                                     [--template FILE]

builds, once, the SQLite database ``DIR/NAME.sqlite`` with Tryton's modules
(``trytond-admin`` in a subprocess) and fills it through proteus (in a subprocess of its
own, so that Tryton's process-wide configuration and pool never enter the caller's
process): a company (人民币 CNY), a fiscal year of twelve monthly periods for the current
year, the minimal chart of accounts with the cost-centre expense accounts ``6602.<dept>``
(管理费用) and a budget per cost centre, a payment term, demo products ``P0001`` …, a price
list, customers ``C0001`` …, departments (party categories ``[CODE] 名称`` under the root
category ``Departments``) and employees ``E000001`` … (the employee's party code is the
employee number). ``--template FILE``: build into FILE once (the admin password beside it in
``FILE.password``), then copy it to ``DIR/NAME.sqlite``. ``--serve`` then runs ``trytond``
on 127.0.0.1:PORT in place of this process.

The admin password is generated with :mod:`secrets` at the build and kept in
``DIR/admin-password`` (mode 0600); it is printed with the settings that connect the portal,
never written anywhere else. Pure Python: no Django import (it runs without the portal's
settings).
"""

from __future__ import annotations

import argparse
import datetime
import os
import secrets
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "EXPENSE_ACCOUNT_CODE",
    "MODULES",
    "build",
    "config_text",
    "main",
]

# The Tryton modules the gateway maps onto (erp_bridge/adapters/tryton.py).
MODULES: tuple[str, ...] = (
    "ir",
    "res",
    "country",
    "currency",
    "party",
    "company",
    "product",
    "product_price_list",
    "stock",
    "account",
    "account_product",
    "account_invoice",
    "account_invoice_stock",
    "account_budget",
    "sale",
    "sale_price_list",
)
EXPENSE_ACCOUNT_CODE = "6602"  # 管理费用: the parent of the cost-centre expense accounts
DEPARTMENT_ROOT = "Departments"
PASSWORD_FILE = "admin-password"  # noqa: S105  (the name of the file, not a password)
CONFIG_FILE = "trytond.conf"
DONE_MARKER = "-ready"  # DIR/NAME-ready: the set-up finished (a half-built file is rebuilt)

# Tryton files the unified social credit code as the Chinese VAT identifier ("cn_uscc" is
# renamed "cn_vat" by the party module)
USCC_TYPE = "cn_vat"
COMPANY_NAME = "上海星河智造科技有限公司"
COMPANY_USCC_BODY = "91310115MA1K4B2X7"  # 17 characters; the check character is computed

# (code, name, list price, kind)
PRODUCTS: tuple[tuple[str, str, str, str], ...] = (
    ("P0001", "工业传感器 S100", "1280.00", "goods"),
    ("P0002", "可编程控制器 PLC-20", "4580.00", "goods"),
    ("P0003", "触摸屏 HMI-7寸", "2350.00", "goods"),
    ("P0004", "伺服电机 750W", "3260.00", "goods"),
    ("P0005", "工业网关 GW-4G", "1990.00", "goods"),
    ("P0006", "安装调试服务（人天）", "1500.00", "service"),
    ("P0007", "年度维保服务", "12000.00", "service"),
    ("P0008", "操作培训（每期）", "3800.00", "service"),
)
# (code, name, {product code: price})
PRICE_LISTS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("PL01", "经销商价格", {"P0001": "1150.00", "P0002": "4120.00", "P0003": "2110.00"}),
    ("PL02", "大客户价格", {"P0001": "1080.00", "P0004": "2990.00", "P0007": "10800.00"}),
)
# (code, name, USCC body (17 characters), phone, email, street, city)
CUSTOMERS: tuple[tuple[str, str, str, str, str, str, str], ...] = (
    (
        "C0001",
        "杭州云帆机械制造有限公司",
        "91330106MA2B3C4D5",
        "0571-88123456",
        "purchase@yunfan.example.cn",
        "西湖区文三路 90 号",
        "杭州",
    ),
    (
        "C0002",
        "苏州恒达精密电子有限公司",
        "91320505MA1N2P3Q4",
        "0512-66881234",
        "caigou@hengda.example.cn",
        "高新区科灵路 18 号",
        "苏州",
    ),
    (
        "C0003",
        "深圳前海盛世物流有限公司",
        "91440300MA5E6F7G8",
        "0755-26601234",
        "it@shengshi.example.cn",
        "前海深港合作区前湾一路 1 号",
        "深圳",
    ),
    (
        "C0004",
        "北京中关村智联信息技术有限公司",
        "91110108MA0H1J2K3",
        "010-62581234",
        "office@zhilian.example.cn",
        "海淀区中关村大街 27 号",
        "北京",
    ),
    (
        "C0005",
        "成都天府新能源汽车零部件有限公司",
        "91510100MA6L7M8N9",
        "028-85321234",
        "supply@tianfu.example.cn",
        "高新区天府大道中段 1268 号",
        "成都",
    ),
    (
        "C0006",
        "武汉光谷生物医药有限公司",
        "91420100MA4R5T6U7",
        "027-87661234",
        "purchase@guanggu.example.cn",
        "东湖高新区高新大道 666 号",
        "武汉",
    ),
)
# the customers who buy at a price list's prices (module sale_price_list)
CUSTOMER_PRICE_LISTS = {"C0001": "PL01", "C0004": "PL02"}
# (code, parent code, name): the portal's demo organization (portal seed_demo)
DEPARTMENTS: tuple[tuple[str, str, str], ...] = (
    ("HQ", "", "总经办"),
    ("FIN", "HQ", "财务部"),
    ("FIN-ACC", "FIN", "会计核算组"),
    ("FIN-TRS", "FIN", "资金管理组"),
    ("SALES", "HQ", "销售部"),
    ("SALES-E", "SALES", "华东大区"),
    ("SALES-S", "SALES", "华南大区"),
    ("SALES-N", "SALES", "华北大区"),
    ("HR", "HQ", "人力资源部"),
    ("IT", "HQ", "信息技术部"),
    ("IT-INF", "IT", "基础架构组"),
    ("IT-DEV", "IT", "应用开发组"),
    ("ADM", "HQ", "行政部"),
    ("PUR", "HQ", "采购部"),
    ("PRD", "HQ", "生产部"),
    ("PRD-MFG", "PRD", "制造车间"),
    ("PRD-QC", "PRD", "质量管理组"),
    ("LEGAL", "HQ", "法务部"),
    ("MKT", "HQ", "市场部"),
)
# (employee number, name, department, email, start date)
EMPLOYEES: tuple[tuple[str, str, str, str, str], ...] = (
    ("E000001", "王秀英", "FIN", "wangxiuying@example.cn", "2018-03-01"),
    ("E000002", "李娜", "SALES", "lina@example.cn", "2019-07-15"),
    ("E000003", "张伟", "SALES-E", "zhangwei@example.cn", "2020-02-10"),
    ("E000004", "赵敏", "HR", "zhaomin@example.cn", "2017-09-01"),
    ("E000005", "许刚", "IT", "xugang@example.cn", "2016-05-20"),
    ("E000006", "刘洋", "IT-DEV", "liuyang@example.cn", "2021-11-01"),
    ("E000007", "陈静", "FIN-ACC", "chenjing@example.cn", "2022-04-06"),
    ("E000008", "杨帆", "PUR", "yangfan@example.cn", "2023-08-14"),
)
# Tryton budgets follow the balance sign (credit - debit): an expense budget is negative.
BUDGET_PER_COST_CENTRE = Decimal("-200000.00")


def config_text(folder: Path, port: int) -> str:
    """trytond's configuration: the SQLite files in ``folder``, the web server on loopback."""
    return f"[database]\nuri = sqlite://\npath = {folder}\n[web]\nlisten = 127.0.0.1:{port}\n"


def _bin(name: str) -> str:
    """A console script of the running Python environment (trytond, trytond-admin)."""
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found: install the 'erp' extra (pip install -e '.[erp]')")
    return found


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _uscc(body: str) -> str:
    """A unified social credit code with its check character (python-stdnum, a trytond
    dependency: Tryton refuses a wrong check character)."""
    from stdnum.cn import uscc  # trytond's dependency, only for the build

    return body + uscc.calc_check_digit(body)


def build(folder: Path, database: str, *, port: int = 8000) -> str:
    """Create and fill ``folder/database.sqlite`` unless a finished one is there; return the
    admin password. Both steps run in subprocesses; a failure raises with their output."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / CONFIG_FILE
    config.write_text(config_text(folder, port), encoding="utf-8")
    password_file = folder / PASSWORD_FILE
    db_file = folder / f"{database}.sqlite"
    marker = folder / f"{database}{DONE_MARKER}"
    if marker.exists() and db_file.exists() and password_file.exists():
        return password_file.read_text(encoding="utf-8").strip()
    marker.unlink(missing_ok=True)
    db_file.unlink(missing_ok=True)
    password = secrets.token_urlsafe(18)
    _write_private(password_file, password + "\n")
    db_file.touch()
    env = {**os.environ, "TRYTONPASSFILE": str(password_file)}
    _run(
        [
            _bin("trytond-admin"),
            "-c",
            str(config),
            "-d",
            database,
            "--all",
            "-u",
            *MODULES,
            "--email",
            "admin@example.com",
        ],
        env=env,
    )
    _run(
        [
            sys.executable,
            "-m",
            "erp_bridge.tryton_demo",
            "--folder",
            str(folder),
            "--database",
            database,
            "--populate",
        ],
        env=env,
    )
    marker.touch()
    return password


def _run(command: list[str], *, env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603  (our own executables, no shell)
        command, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{Path(command[0]).name} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
        )


def from_template(folder: Path, database: str, template: Path, *, port: int) -> str:
    """Build ``template`` once (in its own folder), then copy it to ``folder/database``."""
    stem = template.name.removesuffix(".sqlite")
    password = build(template.parent, stem)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template.parent / f"{stem}.sqlite", folder / f"{database}.sqlite")
    _write_private(folder / PASSWORD_FILE, password + "\n")
    (folder / CONFIG_FILE).write_text(config_text(folder, port), encoding="utf-8")
    return password


# --- the data, through proteus (runs in its own process: --populate) --------------------------


def populate(folder: Path, database: str) -> None:  # noqa: PLR0915  (one script, step by step)
    """Fill a freshly initialized database with the demo company and its master data."""
    os.environ["TRYTOND_DATABASE__PATH"] = str(folder)
    from proteus import Model, Wizard  # the erp extra, only when building
    from proteus import config as proteus_config

    config = proteus_config.set_trytond(
        database, user="admin", config_file=str(folder / CONFIG_FILE)
    )
    today = datetime.date.today()

    currency = _currency(Model)
    party_model = Model.get("party.party")
    company_party = party_model(name=COMPANY_NAME, code="COMPANY")
    company_party.identifiers.new(type=USCC_TYPE, code=_uscc(COMPANY_USCC_BODY))
    company_party.save()
    company_config = Wizard("company.company.config")
    company_config.execute("company")
    company_config.form.party = company_party
    company_config.form.currency = currency
    company_config.execute("add")
    company = Model.get("company.company").find()[0]
    user_model = Model.get("res.user")
    config._context = user_model.get_preferences(True, {})

    _chart(Model, Wizard, company)
    accounts = _accounts(Model, company)
    fiscalyear = _fiscalyear(Model, company, today.year)
    cost_centres = _cost_centres(Model, company, accounts["expense"])
    _budget(Model, company, fiscalyear, cost_centres)

    term_model = Model.get("account.invoice.payment_term")
    term = term_model(name="月结30天")
    term_line = term.lines.new(type="remainder")
    term_line.relativedeltas.new(days=30)
    term.save()

    category = Model.get("product.category")(name="产品与服务")
    category.accounting = True
    category.account_expense = accounts["expense"]
    category.account_revenue = accounts["revenue"]
    category.save()
    products = _products(Model, category)
    price_lists = _price_lists(Model, company, products)

    for code, name, body, phone, email, street, city in CUSTOMERS:
        party = party_model(name=name, code=code)
        party.identifiers.new(type=USCC_TYPE, code=_uscc(body))
        party.contact_mechanisms.new(type="phone", value=phone)
        party.contact_mechanisms.new(type="email", value=email)
        party.addresses[0].street_unstructured = street
        party.addresses[0].city = city
        party.customer_payment_term = term
        if code in CUSTOMER_PRICE_LISTS:
            party.sale_price_list = price_lists[CUSTOMER_PRICE_LISTS[code]]
        party.save()

    categories = _departments(Model)
    employee_model = Model.get("company.employee")
    for number, name, department, email, start in EMPLOYEES:
        party = party_model(name=name, code=number)
        party.contact_mechanisms.new(type="email", value=email)
        party.categories.append(categories[department])
        party.save()
        employee_model(
            party=party, company=company, start_date=datetime.date.fromisoformat(start)
        ).save()
    print(f"populated {database}: {len(PRODUCTS)} products, {len(CUSTOMERS)} customers")


def _currency(model: Any) -> Any:
    currency_model = model.get("currency.currency")
    found = currency_model.find([("code", "=", "CNY")])
    if found:
        return found[0]
    currency = currency_model(
        name="人民币", symbol="¥", code="CNY", rounding=Decimal("0.01"), digits=2
    )
    currency.save()
    model.get("currency.currency.rate")(
        date=datetime.date(2000, 1, 1), rate=Decimal("1"), currency=currency
    ).save()
    return currency


def _chart(model: Any, wizard: Any, company: Any) -> None:
    """The minimal chart of accounts (Tryton's template), as Tryton's own tests make it."""
    template_model = model.get("account.account.template")
    data_model = model.get("ir.model.data")
    chart_id = data_model.get_id("account.account_template_root_en", {})
    create_chart = wizard("account.create_chart")
    create_chart.execute("account")
    create_chart.form.account_template = template_model(chart_id)
    create_chart.form.company = company
    create_chart.execute("create_account")
    accounts = _accounts(model, company)
    create_chart.form.account_receivable = accounts["receivable"]
    create_chart.form.account_payable = accounts["payable"]
    create_chart.form.category_account_expense = accounts["expense"]
    create_chart.form.category_account_revenue = accounts["revenue"]
    create_chart.execute("create_properties")


def _accounts(model: Any, company: Any) -> dict[str, Any]:
    account_model = model.get("account.account")
    accounts = {}
    for kind in ("receivable", "payable", "revenue", "expense"):
        accounts[kind] = account_model.find(
            [(f"type.{kind}", "=", True), ("company", "=", company.id), ("closed", "!=", True)],
            limit=1,
        )[0]
    return accounts


def _fiscalyear(model: Any, company: Any, year: int) -> Any:
    """The calendar year, with monthly periods and its move and invoice sequences."""
    sequence_model = model.get("ir.sequence.strict")
    type_model = model.get("ir.sequence.type")
    move_type = type_model.find([("name", "=", "Account Move")], limit=1)[0]
    invoice_type = type_model.find([("name", "=", "Invoice")], limit=1)[0]
    fiscalyear = model.get("account.fiscalyear")(name=str(year), company=company)
    fiscalyear.start_date = datetime.date(year, 1, 1)
    fiscalyear.end_date = datetime.date(year, 12, 31)
    fiscalyear.move_sequence = sequence_model(
        name=f"{year} 凭证", sequence_type=move_type, company=company, prefix=f"JZ{year}-"
    )
    fiscalyear.move_sequence.save()
    invoice_sequence = sequence_model(
        name=f"{year} 发票", sequence_type=invoice_type, company=company, prefix=f"FP{year}-"
    )
    invoice_sequence.save()
    sequences = fiscalyear.invoice_sequences[0]
    sequences.out_invoice_sequence = invoice_sequence
    sequences.in_invoice_sequence = invoice_sequence
    sequences.out_credit_note_sequence = invoice_sequence
    sequences.in_credit_note_sequence = invoice_sequence
    fiscalyear.save()
    fiscalyear.click("create_period")
    return fiscalyear


def _cost_centres(model: Any, company: Any, expense: Any) -> dict[str, Any]:
    """``6602`` 管理费用 and one child expense account ``6602.<dept>`` per department."""
    account_model = model.get("account.account")
    parent = account_model(
        name="管理费用",
        code=EXPENSE_ACCOUNT_CODE,
        company=company,
        parent=expense.parent,
        type=expense.type,
    )
    parent.save()
    centres = {}
    for code, _parent, name in DEPARTMENTS:
        account = account_model(
            name=f"管理费用-{name}",
            code=f"{EXPENSE_ACCOUNT_CODE}.{code}",
            company=company,
            parent=parent,
            type=expense.type,
        )
        account.save()
        centres[code] = account
    return centres


def _budget(model: Any, company: Any, fiscalyear: Any, cost_centres: dict[str, Any]) -> None:
    budget = model.get("account.budget")(
        name=f"{fiscalyear.name} 费用预算", company=company, fiscalyear=fiscalyear
    )
    for account in cost_centres.values():
        budget.lines.new(account=account, amount=BUDGET_PER_COST_CENTRE)
    budget.save()


def _products(model: Any, category: Any) -> dict[str, Any]:
    uom_model = model.get("product.uom")
    unit = uom_model.find([("name", "=", "Unit")])[0]
    template_model = model.get("product.template")
    products = {}
    for code, name, price, kind in PRODUCTS:
        template = template_model(name=name, code=code, default_uom=unit, type=kind)
        template.salable = True
        template.list_price = Decimal(price)
        template.account_category = category
        template.save()
        products[code] = template.products[0]
    return products


def _price_lists(model: Any, company: Any, products: dict[str, Any]) -> dict[str, Any]:
    price_list_model = model.get("product.price_list")
    price_lists = {}
    for code, name, prices in PRICE_LISTS:
        price_list = price_list_model(name=f"[{code}] {name}", company=company)
        for product_code, price in prices.items():
            price_list.lines.new(product=products[product_code], formula=price)
        price_list.save()
        price_lists[code] = price_list
    return price_lists


def _departments(model: Any) -> dict[str, Any]:
    category_model = model.get("party.category")
    root = category_model(name=DEPARTMENT_ROOT)
    root.save()
    categories: dict[str, Any] = {}
    for code, parent, name in DEPARTMENTS:
        category = category_model(
            name=f"[{code}] {name}", parent=categories[parent] if parent else root
        )
        category.save()
        categories[code] = category
    return categories


# --- command line ---------------------------------------------------------------------------


def settings_lines(*, port: int, database: str, password: str) -> list[str]:
    return [
        "ERP_ADAPTER=tryton",
        f"ERP_URL=http://127.0.0.1:{port}/",
        f"ERP_DATABASE={database}",
        "ERP_USER=admin",
        f"ERP_PASSWORD={password}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m erp_bridge.tryton_demo", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--port", type=int, default=8300)
    parser.add_argument("--serve", action="store_true", help="then run trytond on the port")
    parser.add_argument("--template", type=Path, help="build this file once and copy it")
    parser.add_argument("--populate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder: Path = args.folder.resolve()
    if args.populate:
        populate(folder, args.database)
        return 0
    if args.template:
        password = from_template(folder, args.database, args.template.resolve(), port=args.port)
    else:
        password = build(folder, args.database, port=args.port)
    (folder / CONFIG_FILE).write_text(config_text(folder, args.port), encoding="utf-8")
    print("Tryton demo ready. Connect the portal with:")
    for line in settings_lines(port=args.port, database=args.database, password=password):
        print(f"  export {line}")
    sys.stdout.flush()
    if args.serve:
        print(f"Serving Tryton on http://127.0.0.1:{args.port}/ (Ctrl-C to stop)", flush=True)
        trytond = _bin("trytond")
        os.execv(trytond, [trytond, "-c", str(folder / CONFIG_FILE), "-d", args.database])  # noqa: S606
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
