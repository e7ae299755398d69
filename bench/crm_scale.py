#!/usr/bin/env python3
"""The CRM at scale (issue 19, "Speed"): server time and query plans of the account list,
its filters and name search, the duplicate check and the pipeline kanban.

One command:

    .venv/bin/python bench/crm_scale.py                 # generate, measure, drop: ~10 minutes
    .venv/bin/python bench/crm_scale.py --keep          # ... and keep portal_bench_crm
    .venv/bin/python bench/crm_scale.py --keep          # again: measures the kept database
    .venv/bin/python bench/crm_scale.py --accounts 5000 --contacts 15000 \
        --activities 50000 --opportunities 5000 --db portal_bench_crm_small   # a quick run

1. **Data**: a PostgreSQL database (``--db``, default ``portal_bench_crm``) on the server of
   ``--dsn``, migrated. When it is new (or ``--fresh``): a sales organization of about a
   hundred people (销售中心, six regions 大区 of three sales departments each, a head per
   department, sales operations with two sales administrators holding
   ``crm.administer_sales``, a key-account role), then by COPY 100,000 accounts named as
   Chinese companies are (city + trade name + trade + company form: 杭州远帆网络科技有限公司)
   with valid unified social credit codes, regions, industries, levels, phone numbers and
   e-mails in the duplicate check's stored forms, owned by the salespeople (some more than
   others) in their departments, 0.5 % merged into another; 300,000 contacts; 100,000
   opportunities across the stages; 1,000,000 activities; team rows (people and a role) on
   one account in ten. The ``search`` column is filled as ``crm.services.accounts`` fills it
   (``account_search_text``: name, code, credit code, city, the contacts' names); the
   PostgreSQL ``search_vector`` is a stored generated column, so COPY computes it. Secondary
   indexes are dropped for the load and built again, then VACUUM ANALYZE. With ``--keep`` the
   database stays and the next run measures it again (migrating first, so a new index
   applies).
2. **Server time**: each request goes through Django's test ``Client`` with the production
   settings (as ``bench/inbox_scale.py``: DEBUG off, every middleware, templates rendered),
   as a salesperson, a sales manager (the head of a sales department), a regional director
   (the head of a region: its three departments) and a sales administrator
   (``crm.selectors.visibility`` decides what each sees): the account list page and its API
   with the filters (region, industry, level, owner, combined), the name search by a word
   from the middle of names (远帆, 科技), two words and one character, the duplicate check
   (``crm.duplicates.likely_duplicates`` called directly, the API ``crm-api:account-
   duplicates``, and the create form posting a company that exists: 409, nothing written),
   and the pipeline kanban of a department. Warm-up requests, then ``--repeat`` timed ones
   (p50 / p95 / max), and the SQL queries of one more.
3. **Plans**: every SELECT of a request is run again with ``EXPLAIN (ANALYZE, BUFFERS)``;
   the slowest one is summarized and any ``Seq Scan`` on a big table (accounts, contacts,
   opportunities, activities, team rows of 20,000 rows or more) reported.

Targets (issue 19): the list, its filters and the search p95 <= 50 ms; the duplicate check
<= 20 ms (the check itself: ``likely_duplicates`` and the API's duplicates endpoint; the
create form that posts a duplicate and shows the warning is a page, held to the pages' 50
ms); the kanban of a department <= 100 ms. A non-zero exit on any FAIL. Timings are
noisy on a shared machine: the load average is printed with them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from inbox_scale import admin, configure, nearest_rank, server_url  # noqa: E402

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
BIG_ROWS = 20_000
BIG_TABLES = frozenset(
    {
        "crm_account",
        "crm_contact",
        "crm_opportunity",
        "crm_activity",
        "crm_accountuserobjectpermission",
        "crm_accountgroupobjectpermission",
    }
)
BULK_TABLES = (
    "crm_account",
    "crm_contact",
    "crm_opportunity",
    "crm_activity",
    "crm_accountuserobjectpermission",
    "crm_accountgroupobjectpermission",
)
WARM_UP = 6  # psycopg prepares a statement on its 5th run on a connection
LIST_MS, DUPLICATE_MS, KANBAN_MS = 50.0, 20.0, 100.0
DAY = 86400.0

# --- the words companies are named with -------------------------------------------------------

# (province, city, the region part of a credit code)
REGIONS = [
    ("上海市", "上海", "310115"),
    ("浙江省", "杭州", "330106"),
    ("浙江省", "宁波", "330212"),
    ("浙江省", "温州", "330302"),
    ("江苏省", "南京", "320115"),
    ("江苏省", "苏州", "320594"),
    ("江苏省", "无锡", "320214"),
    ("广东省", "广州", "440106"),
    ("广东省", "深圳", "440300"),
    ("广东省", "东莞", "441900"),
    ("广东省", "佛山", "440604"),
    ("北京市", "北京", "110108"),
    ("天津市", "天津", "120116"),
    ("山东省", "青岛", "370212"),
    ("山东省", "济南", "370102"),
    ("四川省", "成都", "510107"),
    ("重庆市", "重庆", "500112"),
    ("湖北省", "武汉", "420106"),
    ("湖南省", "长沙", "430104"),
    ("河南省", "郑州", "410105"),
    ("福建省", "厦门", "350206"),
    ("福建省", "福州", "350102"),
    ("安徽省", "合肥", "340104"),
    ("陕西省", "西安", "610113"),
    ("辽宁省", "大连", "210204"),
]
# trade names (字号) are two characters, one of each list: 远帆, 华通, 恒信 ...
FIRST = "华恒明云海金瑞鼎远天博宏新中东立嘉卓盛永汇创正安久锦晨智同昊泰德信凯宇振兴丰达伟"
SECOND = "通信远帆联桥丰盛航成源达锐科方诚和越世安川创泰达盛程星光联创辉鑫瑞宇邦众合力新"
# (trade words, industry)
TRADES = [
    ("精密机械制造", "manufacturing"),
    ("电子科技", "manufacturing"),
    ("机电设备", "manufacturing"),
    ("新材料科技", "manufacturing"),
    ("汽车零部件", "manufacturing"),
    ("贸易", "trade"),
    ("进出口", "trade"),
    ("国际贸易", "trade"),
    ("软件技术", "it"),
    ("信息技术", "it"),
    ("网络科技", "it"),
    ("数据科技", "it"),
    ("智能科技", "it"),
    ("融资租赁", "finance"),
    ("投资管理", "finance"),
    ("物流", "logistics"),
    ("供应链管理", "logistics"),
    ("国际货运代理", "logistics"),
    ("建设工程", "construction"),
    ("建筑装饰工程", "construction"),
    ("置业", "construction"),
    ("医疗器械", "healthcare"),
    ("生物医药", "healthcare"),
    ("教育科技", "education"),
    ("新能源科技", "energy"),
    ("光伏科技", "energy"),
    ("商贸", "retail"),
    ("连锁超市", "retail"),
    ("环境工程", "other"),
    ("文化传媒", "other"),
]
FORMS = ["有限公司"] * 6 + ["有限责任公司"] * 2 + ["股份有限公司"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓东", "思远", "雨桐", "子涵", "浩然",
    "欣怡", "志强", "海燕", "文博", "佳琪", "俊杰", "梓萱",
]  # fmt: skip
PINYIN = {"王": "wang", "李": "li", "张": "zhang", "刘": "liu", "陈": "chen", "杨": "yang"}
TITLES = ["总经理", "采购经理", "财务总监", "IT 主管", "运营总监", "行政主管", "技术负责人"]
LEVELS = ["A"] * 5 + ["B"] * 20 + ["C"] * 50 + ["D"] * 25
STAGES = [  # (stage, share, probability)
    ("qualification", 0.16, 10),
    ("needs", 0.12, 25),
    ("proposal", 0.10, 50),
    ("negotiation", 0.07, 75),
    ("won", 0.30, 100),
    ("lost", 0.25, 0),
]
ACTIVITY_KINDS = [
    ("call", "电话沟通"),
    ("visit", "上门拜访"),
    ("meeting", "方案交流会"),
    ("email", "发送报价资料"),
    ("task", "跟进回访"),
]
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class Scale:
    accounts: int = 100_000
    contacts: int = 300_000
    opportunities: int = 100_000
    activities: int = 1_000_000
    seed: int = 19


# --- the sales organization --------------------------------------------------------------------

REGION_UNITS = [
    ("S1", "华东大区", "East China"),
    ("S2", "华南大区", "South China"),
    ("S3", "华北大区", "North China"),
    ("S4", "西南大区", "Southwest"),
    ("S5", "华中大区", "Central China"),
    ("S6", "西北大区", "Northwest"),
]
TEAM_NAMES = [("一", "1"), ("二", "2"), ("三", "3")]
SALES_PER_TEAM = 4


@dataclass
class SalesOrg:
    """Who is who: user ids by what they are."""

    salespeople: list[int] = field(default_factory=list)  # owners, team heads included
    department_of: dict[int, int] = field(default_factory=dict)  # user id -> department id
    region_of: dict[int, int] = field(default_factory=dict)  # user id -> region index
    team_heads: list[int] = field(default_factory=list)
    region_heads: list[int] = field(default_factory=list)
    region_departments: list[int] = field(default_factory=list)
    team_departments: list[int] = field(default_factory=list)
    administrators: list[int] = field(default_factory=list)
    key_account_role: int = 0
    key_account_members: list[int] = field(default_factory=list)


def write_organization(rng: random.Random) -> SalesOrg:
    """Departments, people and roles through the ORM (about a hundred rows)."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Permission

    from portal.models import Department, Role, User

    password = make_password("demo1234")
    org = SalesOrg()
    taken: set[str] = set()
    counter = [0]

    def person(department: Department, region: int | None = None) -> User:
        counter[0] += 1
        while True:
            family = rng.choice(SURNAMES)
            given = rng.choice(GIVEN)
            username = f"sales{counter[0]:03d}"
            if username not in taken:
                break
        taken.add(username)
        user = User.objects.create(
            username=username,
            password=password,
            first_name=given,
            last_name=family,
            email=f"{username}@huachen.example",
            department=department,
            employee_no=f"S{counter[0]:05d}",
            preferred_language="zh-hans",
        )
        org.department_of[user.pk] = department.pk
        if region is not None:
            org.region_of[user.pk] = region
        return user

    root = Department.add_root(code="HC", name="华辰集团", name_en="Huachen Group")
    sales = root.add_child(code="SALES", name="销售中心", name_en="Sales")
    vice_president = person(sales)
    sales.head = vice_president
    sales.save(update_fields=["head"])
    operations = Department.objects.get(pk=sales.pk).add_child(
        code="SOPS", name="销售运营部", name_en="Sales operations"
    )
    administrator_role = Role.objects.create(  # type: ignore[misc]  # Role's own fields
        code="sales_admin", name="销售管理员", name_en="Sales administrator"
    )
    administrator_role.permissions.add(
        Permission.objects.get(codename="administer_sales", content_type__app_label="crm")
    )
    for _n in range(2):
        user = person(operations)
        user.groups.add(administrator_role)
        org.administrators.append(user.pk)
    key_role = Role.objects.create(  # type: ignore[misc]  # Role's own fields
        code="key_accounts", name="大客户组", name_en="Key accounts"
    )
    org.key_account_role = key_role.pk
    for index, (code, name, name_en) in enumerate(REGION_UNITS):
        region = Department.objects.get(pk=sales.pk).add_child(
            code=code, name=name, name_en=name_en
        )
        head = person(region, index)
        region.head = head
        region.save(update_fields=["head"])
        org.region_heads.append(head.pk)
        org.region_departments.append(region.pk)
        for numeral, digit in TEAM_NAMES:
            team = Department.objects.get(pk=region.pk).add_child(
                code=f"{code}{digit}",
                name=f"{name[:2]}销售{numeral}部",
                name_en=f"{name_en} sales {digit}",
            )
            team_head = person(team, index)
            team.head = team_head
            team.save(update_fields=["head"])
            org.team_heads.append(team_head.pk)
            org.team_departments.append(team.pk)
            org.salespeople.append(team_head.pk)
            for _n in range(SALES_PER_TEAM):
                org.salespeople.append(person(team, index).pk)
    members = rng.sample(org.salespeople, 6)
    for pk in members:
        User.objects.get(pk=pk).groups.add(key_role)
    org.key_account_members = members
    return org


# --- the customers -----------------------------------------------------------------------------


def _credit_code(rng: random.Random, region: str) -> str:
    from portal.codes import uscc_check_character

    body = "91" + region + "".join(rng.choice(CREDIT_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def _ts(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat()


def _text(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")


N = "\\N"
ACCOUNT_COLUMNS = (
    "id, code, name, name_key, credit_code, industry, province, city, level, phone, email, "
    "address, website, owner_id, department_id, merged_into_id, last_activity_at, search, "
    "created_at, updated_at"
)
CONTACT_COLUMNS = (
    "id, account_id, name, title, phone, mobile, email, wechat, is_primary, created_at"
)
OPPORTUNITY_COLUMNS = (
    "id, account_id, contact_id, name, stage, amount, probability, expected_close, committed, "
    "competitors, lost_reason, owner_id, campaign_id, position, created_at, stage_changed_at, "
    "closed_at, account_owner_id, account_department_id"
)
ACTIVITY_COLUMNS = (
    "kind, subject, notes, account_id, contact_id, opportunity_id, owner_id, at, due_at, "
    "remind_at, reminded_at, done_at, created_at"
)


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """``total`` spread over ``parts`` unevenly (a few get many), each at least 1."""
    weights = [rng.paretovariate(1.6) for _ in range(parts)]
    scale = (total - parts) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    counts[0] += total - sum(counts)
    return counts


def generate(scale: Scale, log: Callable[[str], None]) -> dict[str, int]:
    """Fill the migrated, empty database (see the module's docstring)."""
    import scale_data
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction

    from crm.duplicates import email_key, name_key, phone_key
    from crm.selectors.accounts import account_search_text

    rng = random.Random(scale.seed)  # made-up data, repeatable on purpose
    now = time.time()
    started = time.monotonic()
    with transaction.atomic():
        org = write_organization(rng)
    log(
        f"  sales organization: {len(org.salespeople)} salespeople "
        f"({time.monotonic() - started:.1f} s)"
    )
    view = Permission.objects.get(codename="view_account", content_type__app_label="crm").pk
    change = Permission.objects.get(codename="change_account", content_type__app_label="crm").pk
    out = scale_data.Copier()
    owner_weights = [rng.paretovariate(2.5) for _ in org.salespeople]
    owners = rng.choices(org.salespeople, weights=owner_weights, k=scale.accounts)
    contact_counts = _split(scale.contacts, scale.accounts, rng)
    names: set[str] = set()
    codes: set[str] = set()
    accounts: list[str] = []
    contacts: list[str] = []
    team: list[str] = []
    team_roles: list[str] = []
    first_contact: list[int] = [0] * (scale.accounts + 1)
    contact_total: list[int] = [0] * (scale.accounts + 1)
    updated: list[float] = [0.0] * (scale.accounts + 1)
    created: list[float] = [0.0] * (scale.accounts + 1)
    contact_id = 0
    by_region: dict[int, list[int]] = {}
    for pk in org.salespeople:
        by_region.setdefault(org.region_of[pk], []).append(pk)
    with scale_data.bulk_load(BULK_TABLES, sys.stdout):
        for account_id in range(1, scale.accounts + 1):
            while True:
                province, city, region = rng.choice(REGIONS)
                trade, industry = rng.choice(TRADES)
                brand = rng.choice(FIRST) + rng.choice(SECOND)
                name = f"{city}{brand}{trade}{rng.choice(FORMS)}"
                key = name_key(name)
                if key not in names:
                    break
            names.add(key)
            while (credit := _credit_code(rng, region)) in codes:
                pass
            codes.add(credit)
            owner = owners[account_id - 1]
            created_at = now - rng.uniform(30, 4 * 365) * DAY
            updated_at = min(now - 60, created_at + rng.expovariate(1 / (200 * DAY)))
            created[account_id], updated[account_id] = created_at, updated_at
            people = []
            first_contact[account_id] = contact_id + 1
            domain = f"c{account_id:06d}.example.cn"
            for number in range(contact_counts[account_id - 1]):
                contact_id += 1
                family = rng.choice(SURNAMES)
                person = family + rng.choice(GIVEN)
                people.append(person)
                mobile = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
                email = f"{PINYIN.get(family, 'x')}{rng.randrange(10**4)}@{domain}"
                contacts.append(
                    f"{contact_id}\t{account_id}\t{person}\t{rng.choice(TITLES)}\t\t"
                    f"{phone_key(mobile)}\t{email_key(email)}\t\t{'t' if number == 0 else 'f'}\t"
                    f"{_ts(created_at + number * DAY)}"
                )
            contact_total[account_id] = len(people)
            code = f"C{account_id:06d}"
            merged = (
                str(rng.randrange(1, account_id)) if account_id > 10 and rng.random() < 0.005 else N
            )
            phone = phone_key(f"0{rng.randrange(10, 999)}-{rng.randrange(10**7, 10**8)}")
            search = account_search_text(
                name=name, code=code, credit_code=credit, city=city, contact_names=people
            )
            accounts.append(
                "\t".join(
                    [
                        str(account_id),
                        code,
                        name,
                        key,
                        credit,
                        industry,
                        province,
                        city,
                        rng.choice(LEVELS),
                        phone,
                        f"info@{domain}",
                        _text(f"{province}{city}高新区科技路{rng.randrange(1, 999)}号"),
                        f"https://www.{domain}",
                        str(owner),
                        str(org.department_of[owner]),
                        merged,
                        N,  # last_activity_at: set from the activities below
                        search,
                        _ts(created_at),
                        _ts(updated_at),
                    ]
                )
            )
            if rng.random() < 0.10:  # a team: one or two colleagues of the region
                colleagues = [p for p in by_region[org.region_of[owner]] if p != owner]
                for member in rng.sample(colleagues, rng.randint(1, 2)):
                    team.append(f"{view}\t{member}\t{account_id}")
                    if rng.random() < 0.5:
                        team.append(f"{change}\t{member}\t{account_id}")
            if rng.random() < 0.01:
                team_roles.append(f"{view}\t{org.key_account_role}\t{account_id}")
            if account_id % 20_000 == 0 or account_id == scale.accounts:
                with transaction.atomic():
                    out.copy("crm_account", ACCOUNT_COLUMNS, accounts)
                    out.copy("crm_contact", CONTACT_COLUMNS, contacts)
                accounts.clear()
                contacts.clear()
                log(f"  {account_id:,} accounts ({time.monotonic() - started:.0f} s)")
        out.copy(
            "crm_accountuserobjectpermission", "permission_id, user_id, content_object_id", team
        )
        out.copy(
            "crm_accountgroupobjectpermission",
            "permission_id, group_id, content_object_id",
            team_roles,
        )
        owner_of = {i + 1: pk for i, pk in enumerate(owners)}
        # opportunities: on random accounts (some accounts several), by the account's owner
        opportunities: list[str] = []
        opportunity_account: list[int] = [0]
        stage_names = [s for s, _share, _p in STAGES]
        stage_weights = [share for _s, share, _p in STAGES]
        probability = {s: p for s, _share, p in STAGES}
        for opportunity_id in range(1, scale.opportunities + 1):
            account_id = rng.randrange(1, scale.accounts + 1)
            opportunity_account.append(account_id)
            stage = rng.choices(stage_names, weights=stage_weights)[0]
            opened = rng.uniform(created[account_id], now - DAY)
            closed = stage in ("won", "lost")
            closed_at = rng.uniform(opened, now - 60) if closed else None
            changed = closed_at or rng.uniform(opened, now - 60)
            expected = datetime.date.fromtimestamp((closed_at or now) + rng.uniform(-30, 120) * DAY)
            contact = (
                str(first_contact[account_id] + rng.randrange(contact_total[account_id]))
                if rng.random() < 0.7
                else N
            )
            opportunities.append(
                f"{opportunity_id}\t{account_id}\t{contact}\t"
                f"{rng.choice(['ERP 升级', '年度采购', '设备更新', '系统集成', '运维服务'])}项目"
                f"{opportunity_id}\t{stage}\t{rng.randrange(5, 5000) * 1000}.00\t"
                f"{probability[stage]}\t{expected.isoformat()}\t"
                f"{'t' if stage == 'negotiation' and rng.random() < 0.5 else 'f'}\t\t"
                f"{'价格偏高' if stage == 'lost' else ''}\t{owner_of[account_id]}\t{N}\t"
                f"{rng.randrange(100_000)}\t{_ts(opened)}\t{_ts(changed)}\t"
                f"{_ts(closed_at) if closed_at else N}\t"
                # the copies of who sees it: the load runs with triggers off (bulk_load)
                f"{owner_of[account_id]}\t{org.department_of[owner_of[account_id]]}"
            )
        with transaction.atomic():
            out.copy("crm_opportunity", OPPORTUNITY_COLUMNS, opportunities)
        opportunities.clear()
        log(f"  {scale.opportunities:,} opportunities ({time.monotonic() - started:.0f} s)")
        # activities: on accounts weighted by their contacts, mostly done, some open follow-ups
        last: dict[int, float] = {}
        activities: list[str] = []
        by_account_opportunities: dict[int, list[int]] = {}
        for opportunity_id, account_id in enumerate(opportunity_account):
            if opportunity_id:
                by_account_opportunities.setdefault(account_id, []).append(opportunity_id)
        weights = [0.0] + [float(n + 1) for n in contact_total[1:]]
        chosen = rng.choices(range(scale.accounts + 1), weights=weights, k=scale.activities)
        for number, account_id in enumerate(chosen, start=1):
            kind, subject = rng.choice(ACTIVITY_KINDS)
            at = rng.uniform(created[account_id], now - 60)
            last[account_id] = max(last.get(account_id, 0.0), at)
            contact = (
                str(first_contact[account_id] + rng.randrange(contact_total[account_id]))
                if rng.random() < 0.6
                else N
            )
            deals = by_account_opportunities.get(account_id)
            deal = str(rng.choice(deals)) if deals and rng.random() < 0.5 else N
            due = remind = done = N
            if kind == "task":
                due_at = at + rng.uniform(1, 14) * DAY
                due = _ts(due_at)
                done = _ts(min(due_at, now - 60)) if due_at < now or rng.random() < 0.5 else N
                remind = _ts(due_at - DAY)
            else:
                done = _ts(at)
            activities.append(
                f"{kind}\t{subject}\t\t{account_id}\t{contact}\t{deal}\t{owner_of[account_id]}\t"
                f"{_ts(at)}\t{due}\t{remind}\t{remind if done != N else N}\t{done}\t{_ts(at)}"
            )
            if number % 200_000 == 0 or number == scale.activities:
                with transaction.atomic():
                    out.copy("crm_activity", ACTIVITY_COLUMNS, activities)
                activities.clear()
                log(f"  {number:,} activities ({time.monotonic() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_last (id integer, at timestamptz)")
        with cursor.copy("COPY bench_last (id, at) FROM STDIN") as copy:
            copy.write("\n".join(f"{pk}\t{_ts(at)}" for pk, at in last.items()) + "\n")
        cursor.execute(
            "UPDATE crm_account a SET last_activity_at = l.at FROM bench_last l WHERE l.id = a.id"
        )
        cursor.execute("DROP TABLE bench_last")
    scale_data._reset_sequences(BULK_TABLES)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    log(f"  generated and vacuumed in {time.monotonic() - started:.0f} s")
    return out.counts


# --- what is measured --------------------------------------------------------------------------


@dataclass
class Persona:
    role: str
    username: str
    note: str = ""


@dataclass
class Probe:
    """One request (or one direct call) as a persona makes it, and its target."""

    name: str
    persona: Persona
    url: str
    target_ms: float
    method: str = "GET"
    data: dict[str, Any] | None = None
    json_body: bool = False
    expect: int = 200
    call: Callable[[], Any] | None = None  # a function timed instead of a request
    durations_ms: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    queries: list[str] = field(default_factory=list)
    plan_lines: list[str] = field(default_factory=list)
    full_plans: list[str] = field(default_factory=list)
    # (table, the statement, the rows the scan kept)
    seq_scans: list[tuple[str, str, float]] = field(default_factory=list)
    sql_ms: float = 0.0


def pick_personas() -> dict[str, Persona]:
    """A salesperson with a median book, the head of the busiest sales department, the head
    of its region and a sales administrator (not timed)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT u.username, COUNT(*) FROM crm_account a "
            "JOIN portal_user u ON u.id = a.owner_id "
            "WHERE NOT EXISTS (SELECT 1 FROM portal_department d WHERE d.head_id = u.id) "
            "GROUP BY u.username ORDER BY 2, 1"
        )
        rows = cursor.fetchall()
        seller, owned = rows[len(rows) // 2]
        cursor.execute(
            "SELECT h.username, d.path, COUNT(*) FROM crm_account a "
            "JOIN portal_department d ON d.id = a.department_id "
            "JOIN portal_user h ON h.id = d.head_id "
            "WHERE d.depth = 4 GROUP BY h.username, d.path ORDER BY 3 DESC LIMIT 1"
        )
        manager, path, managed = cursor.fetchone()
        cursor.execute(
            "SELECT h.username, COUNT(*) FROM portal_department d JOIN portal_user h "
            "ON h.id = d.head_id JOIN crm_account a ON a.department_id IN "
            "(SELECT id FROM portal_department s WHERE s.path LIKE d.path || '%%') "
            "WHERE d.path = %s GROUP BY h.username",
            [path[:-4]],
        )
        director, directed = cursor.fetchone()
        cursor.execute(
            "SELECT u.username FROM portal_user u JOIN portal_user_groups g ON g.user_id = u.id "
            "JOIN portal_role r ON r.group_ptr_id = g.group_id AND r.code = 'sales_admin' "
            "ORDER BY u.username LIMIT 1"
        )
        (administrator,) = cursor.fetchone()
    return {
        "sales": Persona("salesperson", seller, f"owns {owned:,} accounts"),
        "manager": Persona("sales manager", manager, f"department of {managed:,} accounts"),
        "director": Persona("regional director", director, f"region of {directed:,} accounts"),
        "admin": Persona("sales administrator", administrator, "crm.administer_sales"),
    }


def probes_for(personas: dict[str, Persona]) -> list[Probe]:
    """Every request of the issue's targets, for each persona."""
    from django.db import connection
    from django.urls import reverse

    from crm.duplicates import likely_duplicates
    from portal.models import User

    accounts_page = reverse("crm:accounts")
    accounts_api = reverse("crm-api:accounts")
    duplicates_api = reverse("crm-api:account-duplicates")
    create_page = reverse("crm:account_create")
    pipeline_page = reverse("crm:pipeline")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, credit_code, phone, email FROM crm_account "
            "WHERE merged_into_id IS NULL ORDER BY id DESC LIMIT 1 OFFSET 777"
        )
        name, credit, phone, email = cursor.fetchone()
        cursor.execute(
            "SELECT c.mobile FROM crm_contact c JOIN crm_account a ON a.id = c.account_id "
            "WHERE a.merged_into_id IS NULL ORDER BY c.id LIMIT 1 OFFSET 4321"
        )
        (mobile,) = cursor.fetchone()
    probes: list[Probe] = []
    for short, persona in personas.items():
        user = User.objects.get(username=persona.username)
        other_owner = user.pk
        with connection.cursor() as cursor:  # an owner this persona sees, not themselves
            cursor.execute(
                "SELECT owner_id FROM crm_account WHERE department_id IN (SELECT id FROM "
                "portal_department WHERE path LIKE (SELECT path FROM portal_department "
                "WHERE id = %s) || '%%') AND owner_id <> %s "
                "GROUP BY 1 ORDER BY COUNT(*) DESC LIMIT 1",
                [user.department_id, user.pk],
            )
            row = cursor.fetchone()
        if short != "sales" and row:
            other_owner = row[0]
        owner_name = User.objects.get(pk=other_owner).username
        lists: list[tuple[str, dict[str, str]]] = [
            ("list", {}),
            ("list region", {"province": "浙江省"}),
            ("list industry", {"industry": "it"}),
            ("list level", {"level": "A"}),
            ("list owner", {"owner": str(other_owner)}),
            ("list combined", {"province": "广东省", "industry": "manufacturing", "level": "B"}),
            ("search 远帆", {"q": "远帆"}),
            ("search 科技", {"q": "科技"}),
            ("search 杭州 远帆", {"q": "杭州 远帆"}),
            ("search 1 char 鑫", {"q": "鑫"}),
            ("search + region", {"q": "科技", "province": "江苏省"}),
        ]
        for label, params in lists:
            query = f"?{urlencode(params)}" if params else ""
            probes.append(Probe(f"{short} {label}", persona, accounts_page + query, LIST_MS))
        for label, params in [
            ("api list", {}),
            ("api region+level", {"province": "浙江省", "level": "C"}),
            ("api owner", {"owner": owner_name}),
            ("api search 远帆", {"q": "远帆"}),
            ("api search 科技", {"q": "科技"}),
        ]:
            query = f"?{urlencode(params)}" if params else ""
            probes.append(Probe(f"{short} {label}", persona, accounts_api + query, LIST_MS))
        wanted = {"name": name, "credit_code": "", "phone": "", "email": ""}
        probes.append(
            Probe(
                f"{short} api duplicates name",
                persona,
                duplicates_api,
                DUPLICATE_MS,
                "POST",
                wanted,
                json_body=True,
            )
        )
        every = {"name": name, "credit_code": credit, "phone": mobile, "email": email}
        probes.append(
            Probe(
                f"{short} api duplicates all",
                persona,
                duplicates_api,
                DUPLICATE_MS,
                "POST",
                every,
                json_body=True,
            )
        )
        form = {
            "name": name.replace("有限公司", " 有限公司"),
            "industry": "it",
            "level": "C",
            "phone": phone,
        }
        # a page (the form again with the warning, after the create service's transaction):
        # the pages' target; the check itself is the API's and the function's probes
        probes.append(
            Probe(
                f"{short} create form dup", persona, create_page, LIST_MS, "POST", form,
                expect=409,
            )
        )  # fmt: skip
        department = user.department_id if short != "admin" else None
        if short == "admin":
            from portal.models import Department

            department = Department.objects.get(code="S1").pk
        if short != "sales":
            probes.append(
                Probe(
                    f"{short} kanban department",
                    persona,
                    f"{pipeline_page}?{urlencode({'department': department})}",
                    KANBAN_MS,
                )
            )
        probes.append(Probe(f"{short} kanban", persona, pipeline_page, KANBAN_MS))
    administrator = next(iter(p for p in personas.values() if p.role == "sales administrator"))
    probes.append(
        Probe(
            "likely_duplicates() all four",
            administrator,
            "crm.duplicates.likely_duplicates",
            DUPLICATE_MS,
            call=lambda: likely_duplicates(
                name=name, credit_code=credit, phone=mobile, email=email
            ),
        )
    )
    probes.append(
        Probe(
            "likely_duplicates() name",
            administrator,
            "crm.duplicates.likely_duplicates",
            DUPLICATE_MS,
            call=lambda: likely_duplicates(name=name),
        )
    )
    return probes


def _send(client: Any, probe: Probe) -> int:
    if probe.call is not None:
        probe.call()
        return probe.expect
    if probe.method == "GET":
        return int(client.get(probe.url).status_code)
    if probe.json_body:
        response = client.post(
            probe.url, data=json.dumps(probe.data), content_type="application/json"
        )
    else:
        response = client.post(probe.url, data=probe.data)
    return int(response.status_code)


def measure(probes: Sequence[Probe], repeat: int, warm_up: int, log: Callable[[str], None]) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from portal.models import User

    clients: dict[str, Client] = {}
    for probe in probes:
        client = clients.get(probe.persona.username)
        if client is None:
            client = clients[probe.persona.username] = Client()
            client.force_login(User.objects.get(username=probe.persona.username))
        for _n in range(warm_up):
            probe.statuses.add(_send(client, probe))
        for _n in range(repeat):
            started = time.perf_counter_ns()
            status = _send(client, probe)
            probe.durations_ms.append((time.perf_counter_ns() - started) / 1e6)
            probe.statuses.add(status)
        with CaptureQueriesContext(connection) as captured:
            _send(client, probe)
        probe.queries = [q["sql"] for q in captured.captured_queries if q["sql"]]
        log(f"  {probe.name:<36} p95 {nearest_rank(probe.durations_ms, 0.95):7.1f} ms")


def _walk(
    node: dict[str, Any], depth: int, lines: list[str], scans: list[tuple[str, float]]
) -> None:
    relation = node.get("Relation Name", "")
    index = node.get("Index Name", "")
    kind = node["Node Type"]
    loops = node.get("Actual Loops", 1)
    if kind == "Seq Scan" and relation in BIG_TABLES:
        scans.append((relation, node.get("Actual Rows", 0) * loops))
    target = f" on {relation}" if relation else ""
    target += f" using {index}" if index else ""
    lines.append(
        f"{'  ' * depth}{kind}{target} (rows {node.get('Actual Rows', 0):g}"
        f"{f' x{loops}' if loops > 1 else ''}, {node.get('Actual Total Time', 0):.2f} ms)"
    )
    for child in node.get("Plans", []):
        _walk(child, depth + 1, lines, scans)


def explain(probes: Sequence[Probe], full: bool) -> None:
    """EXPLAIN ANALYZE every SELECT of each probe; the slowest one's plan in brief."""
    from django.db import connection

    for probe in probes:
        slowest: tuple[float, list[str], str] = (-1.0, [], "")
        probe.sql_ms = 0.0
        for sql in probe.queries:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                (document,) = cursor.fetchone()
                if full:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
                    text = "\n".join(row[0] for row in cursor.fetchall())
                    probe.full_plans.append(f"{sql}\n{text}")
            plan = document[0] if isinstance(document, list) else json.loads(document)[0]
            lines: list[str] = []
            scans: list[tuple[str, float]] = []
            _walk(plan["Plan"], 2, lines, scans)
            probe.seq_scans += [(table, sql[:200], rows) for table, rows in scans]
            took = plan.get("Execution Time", 0.0)
            probe.sql_ms += took
            if took > slowest[0]:
                slowest = (took, lines, sql)
        if slowest[0] >= 0:
            probe.plan_lines = [
                f"    slowest query {slowest[0]:.2f} ms: {slowest[2][:300]}",
                *slowest[1],
            ]


# --- report ------------------------------------------------------------------------------------


def row_counts() -> dict[str, int]:
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in (*BULK_TABLES, "portal_user", "portal_department"):
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our table names
            (counts[table],) = cursor.fetchone()
    return counts


def stale_copies() -> int:
    """Opportunities whose copies of their account's owner and department (who sees them on
    the board) disagree with the account: each would be missing from, or wrongly on, some
    person's board, so the board's figures would measure the wrong rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM crm_opportunity o JOIN crm_account a ON a.id = o.account_id "
            "WHERE o.account_owner_id IS DISTINCT FROM a.owner_id "
            "OR o.account_department_id IS DISTINCT FROM a.department_id"
        )
        (stale,) = cursor.fetchone()
    return int(stale)


def _missed_index(scan: tuple[str, str, float], big: set[str], counts: dict[str, int]) -> bool:
    """A sequential scan of a big table that keeps less than half of its rows: an index
    would have found them. Keeping more (a sales administrator's whole-company board counts
    70 % of the opportunities) a scan is the cheapest plan, and no failure."""
    table, _sql, rows = scan
    return table in big and rows < counts.get(table, 0) / 2


def report(probes: Sequence[Probe], counts: dict[str, int], show_plans: bool) -> int:
    big = {table for table in BIG_TABLES if counts.get(table, 0) >= BIG_ROWS}
    print(f"\nbig tables (>= {BIG_ROWS:,} rows): {', '.join(sorted(big))}")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    failures = 0
    print(
        f"{'request':<36} {'n':>3} {'sql':>4} {'sql ms':>7} {'p50':>7} {'p95':>7} "
        f"{'max':>7} {'target':>6}  verdicts"
    )
    for probe in probes:
        p50 = statistics.median(probe.durations_ms)
        p95 = nearest_rank(probe.durations_ms, 0.95)
        worst = max(probe.durations_ms)
        answered = probe.statuses == {probe.expect}
        fast = p95 <= probe.target_ms
        indexed = not any(_missed_index(scan, big, counts) for scan in probe.seq_scans)
        verdicts = [
            "" if answered else f"FAIL status {sorted(probe.statuses)}",
            f"{'PASS' if fast else 'FAIL'} p95",
            "" if indexed else "FAIL seq-scan",
        ]
        failures += (not answered) + (not fast) + (not indexed)
        print(
            f"{probe.name:<36} {len(probe.durations_ms):>3} {len(probe.queries):>4} "
            f"{probe.sql_ms:>7.1f} {p50:>7.1f} {p95:>7.1f} {worst:>7.1f} {probe.target_ms:>6g}  "
            + "  ".join(v for v in verdicts if v)
        )
    print("\nPlans (the slowest query of each request; EXPLAIN ANALYZE, parameters inlined):")
    for probe in probes:
        print(f"  {probe.name} [{probe.method} {probe.url}]")
        print("\n".join(probe.plan_lines))
        for scan in probe.seq_scans:
            table, sql, rows = scan
            what = (
                "SEQ SCAN"
                if _missed_index(scan, big, counts)
                else f"note: seq scan keeping {rows:,.0f} of {counts[table]:,} rows"
            )
            print(f"    {what} {table}: {sql}")
        if show_plans:
            for text in probe.full_plans:
                print("\n".join(f"      {line}" for line in text.splitlines()))
    return failures


def _exists(dsn: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--db", default="portal_bench_crm", help="the database to use")
    parser.add_argument("--keep", action="store_true", help="keep the database (and reuse it)")
    parser.add_argument("--fresh", action="store_true", help="drop a kept database first")
    parser.add_argument("--accounts", type=int, default=Scale.accounts)
    parser.add_argument("--contacts", type=int, default=None, help="default: 3 per account")
    parser.add_argument("--opportunities", type=int, default=None, help="default: 1 per account")
    parser.add_argument("--activities", type=int, default=None, help="default: 10 per account")
    parser.add_argument("--seed", type=int, default=Scale.seed)
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per probe")
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="untimed requests first")
    parser.add_argument("--only", default="", help="probes whose name contains this")
    parser.add_argument("--plans", action="store_true", help="print every query's full plan")
    args = parser.parse_args(argv)
    scale = Scale(
        accounts=args.accounts,
        contacts=args.contacts or 3 * args.accounts,
        opportunities=args.opportunities or args.accounts,
        activities=args.activities or 10 * args.accounts,
        seed=args.seed,
    )
    name = args.db
    if args.fresh:
        admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    created = not _exists(args.dsn, name)
    if created:
        admin(args.dsn, f'CREATE DATABASE "{name}"')
    try:
        configure(server_url(args.dsn, name))
        return run(args, scale, name, created=created)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin(args.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"database {name} dropped")
        else:
            print(f"database {name} kept: the next run with --keep measures it again")


def run(args: argparse.Namespace, scale: Scale, name: str, *, created: bool) -> int:
    from django.core.management import call_command

    def log(text: str) -> None:
        print(text, flush=True)

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    if created:
        log(f"generating into {name}: {scale} ...")
        generate(scale, log)
    log(f"database {name} ready in {time.monotonic() - started:.0f} s; rows:")
    counts = row_counts()
    for table, count in counts.items():
        log(f"  {table:<34} {count:>10,}")
    stale = stale_copies()
    log(f"  opportunities whose copies of the account's owner or department disagree: {stale:,}")
    personas = pick_personas()
    for persona in personas.values():
        log(f"  persona {persona.role:<20} {persona.username:<10} {persona.note}")
    probes = probes_for(personas)
    if args.only:
        probes = [p for p in probes if args.only in p.name]
    log(f"measuring {len(probes)} requests x {args.repeat} (load {os.getloadavg()[0]:.2f}) ...")
    measure(probes, args.repeat, args.warm_up, log)
    explain(probes, args.plans)
    failures = report(probes, counts, args.plans) + (1 if stale else 0)
    checks = 3 * len(probes) + 1
    print(f"\n{'FAIL' if failures else 'PASS'}: {failures} failed checks of {checks}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
