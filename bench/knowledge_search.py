#!/usr/bin/env python3
"""The knowledge base's search at scale: indexing speed, search time and query plans.

    .venv/bin/python bench/knowledge_search.py --db postgres             # generate 100,000, measure
    .venv/bin/python bench/knowledge_search.py --db postgres --reuse     # measure the kept database
    .venv/bin/python bench/knowledge_search.py --db sqlite --reuse -n 100000 --repeat 30

1. **Data**: ``-n`` articles (default 100,000) in 40 spaces (28 public, 6 department, 6
   members-only), published, written from a vocabulary of a company's policies, how-tos and
   FAQs (sentences built from templates and word lists: 差旅报销, 带薪年假, VPN, SAP, FIN-007
   ...; one in seven in English), 400-1,000 characters each. PostgreSQL: the database
   ``kb_bench`` on the server of ``--dsn``; SQLite: ``var/kb_bench.sqlite3``. Both are kept:
   ``--reuse`` measures them again without generating (a new migration is applied first),
   ``--reuse --reindex`` builds the index again; without ``--reuse`` an existing database is
   dropped and made again.
2. **Indexing**: ``knowledge.search.index_articles`` over every article (the bulk path an
   import or a rebuild takes: the same rows as ``index_article``), timed, in articles/s; then
   ``index_article`` one by one on 200 of them (what a publish does).
3. **Search**, through the full stack: ``knowledge.search.search(reader, q)`` for a reader who
   reads the public spaces, two department spaces and two members-only ones (32 of 40), with
   the production settings (``DEBUG=0``, persistent connections); for each kind of query
   (a common word, a rare word, a word inside a compound, an identifier, English, a prefix,
   two words, a question that falls back to any word) a warm-up then ``--repeat`` timed runs
   of each of its queries: p50 / p95 / max in ms, the hits' total, and the plan of each SQL
   statement of one run (``EXPLAIN ANALYZE`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite).

A kind whose p95 is over ``--p95-ms`` (50) prints FAIL and the exit status is 1.
Timings are noisy on a shared machine; compare runs made on the same machine alone.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "kb_bench"
SQLITE_PATH = ROOT / "var" / "kb_bench.sqlite3"
WARM_UP = 6  # psycopg prepares a statement on its 5th run on a connection

QUERIES: dict[str, tuple[str, ...]] = {
    "common word": ("管理", "申请", "报销"),
    "rare word": ("献血", "碳排放", "whistleblower"),
    "inside a compound": ("年假", "补卡"),
    "identifier": ("FIN-007", "SAP", "2024"),
    "English": ("password reset", "expense"),
    "prefix": ("reimb", "差旅报", "VP"),
    "two words": ("报销 发票", "VPN 密码"),
    "question (fallback)": ("怎么申请带薪年假",),
}

# --- the vocabulary ---------------------------------------------------------------------------

TOPICS_ZH: list[tuple[str, str, tuple[str, ...]]] = [
    # (department code, topic, words the topic's sentences use)
    ("FIN", "差旅报销", ("出差", "住宿", "交通费", "补助", "发票", "行程单", "报销单")),
    ("FIN", "日常费用报销", ("办公用品", "打车", "电子发票", "报销单", "费控系统")),
    ("FIN", "业务招待", ("招待费", "客户", "人均标准", "发票", "事前申请")),
    ("FIN", "供应商付款", ("付款申请", "合同", "验收单", "预付款", "发票")),
    ("FIN", "员工借款", ("备用金", "借款", "核销", "还款")),
    ("FIN", "固定资产", ("资产标签", "盘点", "调拨", "报废")),
    ("FIN", "增值税发票", ("专用发票", "税号", "抬头", "税率", "查验")),
    ("FIN", "预算编制", ("年度预算", "资本性支出", "费用预算", "模板")),
    ("HR", "带薪年假", ("休假", "年假天数", "结转", "休假单")),
    ("HR", "考勤打卡", ("打卡", "补卡", "迟到", "早退", "弹性工作")),
    ("HR", "加班调休", ("加班", "调休", "加班费", "法定节假日")),
    ("HR", "新员工入职", ("入职", "劳动合同", "工牌", "试用期")),
    ("HR", "离职交接", ("离职", "工作交接", "离职证明", "社保")),
    ("HR", "绩效考核", ("绩效", "自评", "校准", "年终奖")),
    ("HR", "薪酬福利", ("工资条", "个税", "公积金", "餐补", "生日礼金")),
    ("HR", "母婴室使用", ("母婴室", "哺乳期", "女职工")),
    ("IT", "VPN 远程访问", ("VPN", "客户端", "域账号", "令牌", "内网")),
    ("IT", "账号密码", ("密码", "域账号", "重置", "锁定", "MFA")),
    ("IT", "打印机", ("打印机", "扫描", "卡纸", "硒鼓", "彩色打印")),
    ("IT", "邮箱", ("Outlook", "邮箱", "签名", "邮件组", "附件")),
    ("IT", "SAP 系统", ("SAP", "事务码", "凭证", "权限", "成本中心")),
    ("IT", "信息安全", ("钓鱼邮件", "数据分级", "加密", "补丁", "ISO 27001")),
    ("ADM", "会议室", ("会议室", "预订", "投屏", "视频会议")),
    ("ADM", "用印管理", ("公章", "合同章", "用印申请", "法务")),
    ("ADM", "访客接待", ("访客", "前台", "访客证", "陪同")),
    ("ADM", "消防安全", ("灭火器", "消防栓", "疏散", "安全出口")),
    ("SAL", "CRM 商机", ("CRM", "商机", "报价单", "赢单", "输单")),
    ("SAL", "报价折扣", ("报价", "折扣", "大区总监", "有效期")),
    ("SAL", "销售提成", ("提成", "回款", "坏账", "新客户")),
    ("SAL", "投标管理", ("招标", "标书", "投标保证金", "资质文件")),
]
# words few articles hold (each in about one in 2,000)
RARE_ZH = ("无偿献血", "碳排放核算", "防汛值班", "知识产权登记", "工会会费", "长期服务奖")
RARE_EN = ("whistleblower hotline", "carbon footprint", "jury duty leave")
KINDS_ZH = ("管理办法", "操作指南", "常见问题", "申请流程", "制度", "说明", "注意事项", "规范")
WHO = ("员工", "申请人", "部门负责人", "新员工", "销售人员", "财务经理", "直属上级", "经办人")
SYSTEMS = ("OA", "费控系统", "SAP", "CRM", "HR 系统", "企业微信", "IT 服务门户", "行政门户")
APPROVERS = ("直属上级", "部门负责人", "财务总监", "总经理", "大区总监", "人力资源部")
WHEN = ("3个工作日", "15日", "30天", "每月25日", "次月10日", "一周", "当天")
PROBLEMS = ("系统报错", "无法登录", "审批超时", "金额超标", "材料缺失", "网络中断")
TEMPLATES_ZH = (
    "{who}应当在{when}内通过{system}提交{word}相关申请，由{approver}审批。",
    "{topic}的{word}标准为每次不超过{n}元，超出部分须经{approver}同意。",
    "如遇{problem}，请联系{contact}，服务电话{phone}。",
    "根据编号 {code} 的规定，{who}须在{when}前完成{word}。",
    "{system}支持{word}的在线办理，操作路径为：首页 > {topic} > {word}。",
    "{year}年起，{topic}按照新的{word}要求执行，原有规定同时废止。",
    "办理{word}时请准备好相关材料，{approver}将在{when}内给出意见。",
    "{who}对{word}有疑问的，可以查阅本{kind}或咨询{contact}。",
    "未按规定办理{word}的，{approver}有权退回，并在{system}中记录。",
    "本{kind}由{dept}负责解释，自发布之日起施行。",
)
CONTACTS = ("IT 服务台", "人力资源部", "财务共享中心", "行政部", "法务部", "销售运营")
DEPTS = ("财务部", "人力资源部", "信息技术部", "行政部", "销售运营部")

TOPICS_EN: list[tuple[str, str, tuple[str, ...]]] = [
    ("FIN", "Expense Reimbursement", ("expense report", "receipt", "invoice", "reimbursement")),
    ("FIN", "Business Travel", ("flight", "hotel", "allowance", "travel platform")),
    ("HR", "Annual Leave", ("leave request", "annual leave", "public holiday", "balance")),
    ("HR", "Onboarding", ("first day", "badge", "contract", "probation")),
    ("IT", "Password Reset", ("password", "domain account", "self-service portal", "lockout")),
    ("IT", "VPN Access", ("VPN", "client", "authenticator", "remote access")),
    ("IT", "Laptop Support", ("laptop", "replacement", "hardware", "service desk")),
    ("SAL", "Opportunity Management", ("CRM", "opportunity", "quotation", "discount")),
]
KINDS_EN = ("Policy", "Guide", "FAQ", "Checklist", "Process", "Rules")
TEMPLATES_EN = (
    "Employees must submit the {word} in {system} within {days} days, and the {approver} "
    "approves it.",
    "The {topic} limit for a {word} is {n} CNY; anything above needs the {approver}'s approval.",
    "If you see {problem}, contact the {contact} on extension {phone}.",
    "Under rule {code}, every {word} is checked before it is paid or granted.",
    "From {year} the {topic} process uses the new {word} form in {system}.",
    "Keep the {word} for audit purposes and attach it to the request.",
)
APPROVERS_EN = ("line manager", "department head", "finance director", "regional director")
PROBLEMS_EN = ("an error message", "a login failure", "a timeout", "a missing document")
CONTACTS_EN = ("IT service desk", "HR team", "finance shared service centre", "front desk")


def article_text(rng: random.Random, number: int) -> tuple[str, str, str, list[str], str]:
    """(title, summary, Markdown body, tags, language) of article ``number``."""
    english = number % 7 == 3
    if english:
        dept, topic, words = rng.choice(TOPICS_EN)
        title = f"{topic} {rng.choice(KINDS_EN)} {number % 97}"
        sentences = []
        for _n in range(rng.randint(6, 14)):
            sentences.append(
                rng.choice(TEMPLATES_EN).format(
                    word=rng.choice(words),
                    topic=topic.lower(),
                    system=rng.choice(SYSTEMS[:4]),
                    days=rng.choice((3, 15, 30, 90)),
                    approver=rng.choice(APPROVERS_EN),
                    n=rng.choice((200, 500, 5000, 20000)),
                    problem=rng.choice(PROBLEMS_EN),
                    contact=rng.choice(CONTACTS_EN),
                    phone=rng.choice(("8000", "8999", "6100")),
                    code=f"{dept}-{rng.randint(0, 999):03d}",
                    year=rng.randint(2019, 2025),
                )
            )
        if rng.random() < 0.0015 * len(RARE_EN):
            sentences.append(f"See the {rng.choice(RARE_EN)} page for special cases.")
        summary = f"The {topic.lower()} rules: {', '.join(words[:3])}."
        body = "\n\n".join(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
        return title, summary, f"## {topic}\n\n{body}", [topic.lower()], "en"
    dept, topic, words = rng.choice(TOPICS_ZH)
    kind = rng.choice(KINDS_ZH)
    title = f"{topic}{kind}（{rng.randint(2019, 2025)}版）"
    sentences = []
    for _n in range(rng.randint(10, 24)):
        sentences.append(
            rng.choice(TEMPLATES_ZH).format(
                who=rng.choice(WHO),
                when=rng.choice(WHEN),
                system=rng.choice(SYSTEMS),
                word=rng.choice(words),
                approver=rng.choice(APPROVERS),
                topic=topic,
                n=rng.choice((100, 300, 500, 2000, 5000)),
                problem=rng.choice(PROBLEMS),
                contact=rng.choice(CONTACTS),
                phone=rng.choice(("8000", "8999", "6100")),
                code=f"{dept}-{rng.randint(0, 999):03d}",
                year=rng.randint(2019, 2025),
                kind=kind,
                dept=rng.choice(DEPTS),
            )
        )
    if rng.random() < 0.0005 * len(RARE_ZH):
        sentences.append(f"{rng.choice(RARE_ZH)}相关事项另行通知。")
    summary = f"{topic}的{'、'.join(rng.sample(words, 3))}等规定。"
    parts = [f"## {topic}", "".join(sentences[: len(sentences) // 2])]
    parts += [f"## {rng.choice(words)}", "".join(sentences[len(sentences) // 2 :])]
    return title, summary, "\n\n".join(parts), [topic, rng.choice(words)], "zh-hans"


# --- the database -----------------------------------------------------------------------------


def server_url(dsn: str, name: str) -> str:
    return urlsplit(dsn)._replace(path=f"/{name}").geturl()


def configure(database_url: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["DEBUG"] = "0"
    if len(os.environ.get("SECRET_KEY", "")) < 50:
        os.environ["SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ["HTTPS"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["WORKFLOW_EMBEDDED_SWEEP"] = "0"
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


def prepare(args: argparse.Namespace) -> bool:
    """Point Django at the bench database; True when it must be generated."""
    if args.db == "postgres":
        import psycopg

        with psycopg.connect(args.dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
            ).fetchone()
            if exists and not args.reuse:
                conn.execute(f"DROP DATABASE {DATABASE}")
            if not exists or not args.reuse:
                conn.execute(f"CREATE DATABASE {DATABASE}")
        configure(server_url(args.dsn, DATABASE))
        return not (exists and args.reuse)
    kept = SQLITE_PATH.exists()
    if kept and not args.reuse:
        SQLITE_PATH.unlink()
    SQLITE_PATH.parent.mkdir(parents=True, exist_ok=True)
    configure(f"sqlite:///{SQLITE_PATH}")
    return not (kept and args.reuse)


def generate(n: int, log: Any) -> None:
    """People, departments, 40 spaces and ``n`` published articles (not indexed yet)."""
    from django.db import connection, transaction
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from knowledge.models import Article, ArticleVersion, Space, Visibility
    from portal.models import Department, User

    rng = random.Random(17)
    root = Department.objects.add_root({"code": "KBHQ", "name": "总经办"})
    departments = [
        Department.objects.add_child(root, {"code": f"KBD{i}", "name": f"事业部{i}"})
        for i in range(6)
    ]
    owners = [
        User.objects.create(username=f"owner{i}", employee_no=f"B{i:05d}", first_name=f"{i}")
        for i in range(50)
    ]
    reader = User.objects.create(
        username="reader", employee_no="B99999", first_name="读者", department=departments[0]
    )
    spaces = []
    for i in range(40):
        if i < 28:
            space = Space(key=f"s{i}", name=f"公共空间{i}", visibility=Visibility.PUBLIC)
        elif i < 34:
            space = Space(
                key=f"s{i}",
                name=f"部门空间{i}",
                visibility=Visibility.DEPARTMENT,
                department=departments[(i - 28) % 6],
            )
        else:
            space = Space(key=f"s{i}", name=f"成员空间{i}", visibility=Visibility.MEMBERS)
        space.save()
        spaces.append(space)
    for space in spaces[34:36]:
        assign_perm("knowledge.read_space", reader, space)
    now = timezone.now()
    batch = 2000
    started = time.perf_counter()
    for start in range(0, n, batch):
        articles, versions = [], []
        for number in range(start, min(n, start + batch)):
            title, summary, body, tags, lang = article_text(rng, number)
            when = now - datetime.timedelta(minutes=(n - number) * 7)
            owner = owners[number % len(owners)]
            articles.append(
                Article(
                    space=spaces[number % len(spaces)],
                    title=title,
                    summary=summary,
                    body=body,
                    lang=lang,
                    owner=owner,
                    latest_number=1,
                    published_at=when,
                    created_at=when,
                    updated_at=when,
                )
            )
            versions.append((title, summary, body, tags, owner, when))
        with transaction.atomic():
            made = Article.objects.bulk_create(articles)
            ArticleVersion.objects.bulk_create(
                ArticleVersion(
                    article=article,
                    number=1,
                    title=title,
                    summary=summary,
                    body=body,
                    tags=tags,
                    author=owner,
                    created_at=when,
                )
                for article, (title, summary, body, tags, owner, when) in zip(
                    made, versions, strict=True
                )
            )
        log(f"  {min(n, start + batch):,} articles written ({time.perf_counter() - started:.0f} s)")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_article SET published_version_id = (SELECT v.id FROM "
            "knowledge_articleversion v WHERE v.article_id = knowledge_article.id)"
        )


def index_all(log: Any) -> float:
    """Index every article through the bulk path; articles per second."""
    from knowledge import search
    from knowledge.models import Article

    ids = list(Article.objects.order_by("pk").values_list("pk", flat=True))
    started = time.perf_counter()
    done = 0
    for start in range(0, len(ids), 5000):
        done += search.index_articles(ids[start : start + 5000])
        elapsed = time.perf_counter() - started
        log(f"  {done:,} indexed ({elapsed:.0f} s, {done / elapsed:.0f} articles/s)")
    return done / (time.perf_counter() - started)


def index_one_by_one(count: int) -> float:
    """``index_article`` (what a publish does) on ``count`` articles; articles per second."""
    from knowledge import search
    from knowledge.models import Article

    ids = list(Article.objects.order_by("-pk").values_list("pk", flat=True)[:count])
    started = time.perf_counter()
    for pk in ids:
        search.index_article(pk)
    return len(ids) / (time.perf_counter() - started)


def analyze() -> None:
    """Statistics for the planner; on PostgreSQL also VACUUM, which merges the GIN indexes'
    pending lists (a bulk load leaves them long, and every search reads them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE knowledge_articleindex")
        cursor.execute("ANALYZE")
        if connection.vendor == "sqlite":
            cursor.execute(
                "INSERT INTO knowledge_article_search(knowledge_article_search) VALUES ('optimize')"
            )


# --- measuring --------------------------------------------------------------------------------


def nearest_rank(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered) + 0.5) - 1))]


def plans(sqls: Sequence[tuple[str, Any]]) -> list[str]:
    """Each statement's plan: EXPLAIN ANALYZE (PostgreSQL), EXPLAIN QUERY PLAN (SQLite)."""
    from django.db import connection

    lines: list[str] = []
    for sql, params in sqls:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        lines.append(f"    {' '.join(sql.split())[:220]}")
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
                lines += [f"      {row[0]}" for row in cursor.fetchall()]
            else:
                cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
                lines += [f"      {row[-1]}" for row in cursor.fetchall()]
    return lines


class Recorder:
    """The SQL statements (with their parameters) a search runs, for their plans."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append((sql, params))
        return execute(sql, params, many, context)


def measure(repeat: int, limit_ms: float, show_plans: bool, log: Any) -> int:
    from django.db import connection

    from knowledge import search, selectors
    from portal.models import User

    reader = User.objects.get(username="reader")
    readable = selectors.readable_space_ids(reader)
    log(f"reader reads {len(readable)} of 40 spaces")
    failures = 0
    rows = []
    for kind, queries in QUERIES.items():
        durations: list[float] = []
        totals = []
        plan_lines: list[str] = []
        for text in queries:
            for _n in range(WARM_UP):
                page = search.search(reader, text)
            for _n in range(repeat):
                started = time.perf_counter_ns()
                page = search.search(reader, text)
                durations.append((time.perf_counter_ns() - started) / 1e6)
            totals.append(f"{text}: {page.total:,}")
            if show_plans:
                recorder = Recorder()
                with connection.execute_wrapper(recorder):
                    search.search(reader, text)
                plan_lines.append(f"  {text!r}")
                plan_lines += plans(recorder.statements)
        p50, p95 = statistics.median(durations), nearest_rank(durations, 0.95)
        verdict = "PASS" if p95 <= limit_ms else "FAIL"
        failures += verdict == "FAIL"
        rows.append(
            f"{kind:<22} {p50:7.1f} {p95:7.1f} {max(durations):7.1f}  {verdict}  "
            f"({'; '.join(totals)})"
        )
        for line in plan_lines:
            print(line)
    print(f"\n{'kind':<22} {'p50':>7} {'p95':>7} {'max':>7}  (ms; hits per query)")
    for row in rows:
        print(row)
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--dsn", default=os.environ.get("BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("-n", type=int, default=100_000, help="articles (default 100,000)")
    parser.add_argument("--reuse", action="store_true", help="measure the kept database")
    parser.add_argument(
        "--reindex", action="store_true", help="with --reuse: empty the index and build it again"
    )
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    parser.add_argument("--p95-ms", type=float, default=50.0)
    parser.add_argument("--no-plans", action="store_true")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, flush=True)

    fresh = prepare(args)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection

    from knowledge.models import ArticleIndex

    log(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    if fresh:
        log(f"generating {args.n:,} articles")
        generate(args.n, log)
    if fresh or args.reindex:
        ArticleIndex.objects.all().delete()
        log("indexing (knowledge.search.index_articles)")
        rate = index_all(log)
        log(f"indexing: {rate:.0f} articles/s")
        analyze()
    log(f"index rows: {ArticleIndex.objects.count():,}")
    log(f"index_article one by one: {index_one_by_one(200):.0f} articles/s")
    return 1 if measure(args.repeat, args.p95_ms, not args.no_plans, log) else 0


if __name__ == "__main__":
    sys.exit(main())
