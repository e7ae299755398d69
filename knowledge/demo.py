"""The knowledge base's part of ``manage.py seed_demo``: the help centre and the demo company's
spaces, so that every page of the knowledge base has something to show.

Five spaces: 帮助中心 / Help (the portal's manual and FAQ for each role, in Chinese and in
English: ``knowledge/content/help/<lang>/``), and the demo company's 人力资源, 财务 (which
reviews its articles before publishing), IT 服务台 and 销售 (a department space of 销售部),
with their articles written as Markdown files under ``knowledge/content/demo/<space>/``.
The files are read with the importer's parser (``knowledge.importing``) and every article
is written through ``knowledge.services`` as an editor would write it: the finance
articles are submitted and approved in review on the engine, some articles have older
versions (the history and diff pages), readers give feedback, related articles and process
guides are linked, one article waits in review in the finance reviewers' inbox and one is
past its review date. Two things no service writes are set directly: the view counts and
that one past review date.

Idempotent: spaces are found by key and articles by space and title, and each step checks
the state it leads to before acting (a member who holds the role, a published article, a
reader's feedback, a view count reached), so a second run changes nothing. Not one
transaction: submitting an article for review starts a request through the workflow's
durable start path, which must run in a transaction of its own; a run stopped half-way is
completed by the next one.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils import timezone

from knowledge import selectors, services
from knowledge.importing import Entry, read_entries
from knowledge.models import Article, ArticleGuide, Feedback, Language, Space, SpaceRole, Visibility
from portal import registry
from portal.models import Department, Role, User
from portal.selectors import person_find
from workflow.selectors.inbox import tasks_todo
from workflow.services import approvals

__all__ = [
    "CONTENT_DIR",
    "HELP_KINDS",
    "HELP_LANGUAGES",
    "HELP_ROLES",
    "OUTDATED",
    "SPACES",
    "UNDER_REVIEW",
    "connect",
    "related_pairs",
    "report_knowledge_demo",
    "seed_help_centre",
    "seed_knowledge_demo",
]

CONTENT_DIR = Path(__file__).resolve().parent / "content"
HELP_DIR = CONTENT_DIR / "help"
DEMO_DIR = CONTENT_DIR / "demo"
ADMIN_USERNAME = "admin"
# the help centre: a manual and an FAQ for each role, in each language, as files named
# <role>-<kind>.md under help/<language>/ (and the knowledge base's own guide)
HELP_SPACE = "help"
HELP_ROLES = ("employee", "manager", "process-admin", "admin")
HELP_KINDS = ("manual", "faq")
HELP_LANGUAGES = (Language.CHINESE, Language.ENGLISH)
REVIEW_STEP = "Task_Review"  # the review's user task (knowledge/bpmn/article_review.bpmn)


class DemoSeedError(registry.DemoSeedError):
    """The demo content does not fit the services or the demo organization (a bug here or in
    a content file)."""


# --- the spaces ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSpace:
    key: str
    name: str
    name_en: str
    description: str
    visibility: str = Visibility.PUBLIC
    department: str = ""  # a department space: the department's code
    requires_review: bool = False
    # people: (user name, role); roles (portal.Role codes): (code, role)
    people: tuple[tuple[str, str], ...] = ()
    roles: tuple[tuple[str, str], ...] = ()
    writers: tuple[str, ...] = ()  # who writes (and owns) the articles, in turn
    reviewer: str = ""  # who approves the reviews of this space's demo articles
    readers: tuple[str, ...] = ()  # who reads them and gives feedback

    @property
    def folder(self) -> Path:
        return HELP_DIR if self.key == HELP_SPACE else DEMO_DIR / self.key


_EMPLOYEES = (
    "zhangwei",
    "wangfang",
    "xuming",
    "wulei",
    "lvbin",
    "yeqing",
    "caiqin",
    "dongjie",
    "panting",
    "tianye",
    "guomin",
    "shenyi",
)
_SALES_PEOPLE = ("zhangwei", "wangfang", "xuming", "machao", "guomin", "linfeng", "songjia")

HELP = DemoSpace(
    HELP_SPACE,
    "帮助中心",
    "Help",
    "门户的操作手册和常见问题：员工、审批人、流程管理员和系统管理员各一份，中英文对照。"
    "\n\nThe portal's manuals and FAQs for employees, approvers, process administrators and "
    "administrators, in Chinese and English.",
    people=(("xugang", SpaceRole.EDITOR), ("zhaomin", SpaceRole.EDITOR)),
    writers=(ADMIN_USERNAME,),
    readers=_EMPLOYEES,
)
SPACES: tuple[DemoSpace, ...] = (
    HELP,
    DemoSpace(
        "hr",
        "人力资源",
        "Human Resources",
        "考勤、假期、薪酬福利、入职离职等人事制度和办事指南。",
        people=(
            ("zhaomin", SpaceRole.ADMIN),
            ("hanxue", SpaceRole.EDITOR),
            ("caoying", SpaceRole.EDITOR),
        ),
        writers=("hanxue", "caoying", "zhaomin"),
        readers=_EMPLOYEES,
    ),
    DemoSpace(
        "finance",
        "财务",
        "Finance",
        "报销、付款、发票、预算等财务制度。文章由财务审核人员审核后发布。",
        requires_review=True,
        people=(
            ("wangxiuying", SpaceRole.ADMIN),
            ("liuyang", SpaceRole.EDITOR),
            ("wulei", SpaceRole.EDITOR),
            ("fengtao", SpaceRole.EDITOR),
        ),
        roles=(("finance_reviewer", SpaceRole.REVIEWER),),
        writers=("wulei", "fengtao"),
        reviewer="huangli",
        readers=_EMPLOYEES,
    ),
    DemoSpace(
        "it",
        "IT 服务台",
        "IT help desk",
        "账号、VPN、邮箱、打印、软件和信息安全的操作指南与常见问题。",
        people=(
            ("xugang", SpaceRole.ADMIN),
            ("dengchao", SpaceRole.EDITOR),
            ("pengliang", SpaceRole.EDITOR),
            ("zengwei", SpaceRole.EDITOR),
            ("xiaoran", SpaceRole.EDITOR),
        ),
        writers=("pengliang", "zengwei", "dengchao", "xiaoran"),
        readers=_EMPLOYEES,
    ),
    DemoSpace(
        "sales",
        "销售",
        "Sales",
        "销售部的报价、合同、客户管理和提成制度，销售部及各大区的同事可以阅读。",
        visibility=Visibility.DEPARTMENT,
        department="SALES",
        people=(
            ("lina", SpaceRole.ADMIN),
            ("yangfan", SpaceRole.EDITOR),
            ("hejun", SpaceRole.EDITOR),
            ("gaofei", SpaceRole.EDITOR),
            ("zhulin", SpaceRole.EDITOR),
        ),
        writers=("yangfan", "zhulin", "hejun", "gaofei"),
        readers=_SALES_PEOPLE,
    ),
)

# --- what happens to some articles, by title ----------------------------------------------------

# submitted for review and left there: in the finance reviewers' 待办
UNDER_REVIEW = "2027 年差旅住宿标准调整说明"
# published long ago and never confirmed: shows "may be outdated"
OUTDATED = "2024 年度员工体检安排"
OUTDATED_DAYS_AGO = 40


@dataclass(frozen=True)
class Revision:
    """An earlier version of an article: its final text with each (final, earlier) pair
    replaced back, and the note its author gave when saving it."""

    changes: tuple[tuple[str, str], ...]
    note: str


# title -> (the earlier versions, oldest first; the note of the final version)
HISTORY: dict[str, tuple[tuple[Revision, ...], str]] = {
    "差旅报销制度": (
        (
            Revision(
                (
                    ("| 800 元 | 600 元 |", "| 700 元 | 500 元 |"),
                    ("| 600 元 | 450 元 |", "| 500 元 | 400 元 |"),
                    ("每天 100 元", "每天 80 元"),
                    ("**30 天内**", "**60 天内**"),
                    ("上传电子发票 PDF 原件、行程单和住宿水单", "粘贴纸质发票并上传扫描件"),
                ),
                "首次发布",
            ),
            Revision(
                (
                    ("| 800 元 | 600 元 |", "| 700 元 | 500 元 |"),
                    ("| 600 元 | 450 元 |", "| 500 元 | 400 元 |"),
                    ("每天 100 元", "每天 80 元"),
                ),
                "报销时限改为 30 天，改用电子发票",
            ),
        ),
        "按新版《费用报销管理办法》调整住宿标准和出差补助",
    ),
    "年假与调休规定": (
        (
            Revision(
                (
                    ("最多可结转 5 天至次年 3 月 31 日", "最多可结转 3 天至次年 3 月 31 日"),
                    ("调休须在加班发生后 6 个月内使用", "调休须在加班发生后 3 个月内使用"),
                ),
                "首次发布",
            ),
        ),
        "结转天数改为 5 天，调休有效期延长到 6 个月",
    ),
    "VPN 连接指南": (
        (
            Revision(
                (
                    ("FortiClient VPN 7.2", "FortiClient VPN 6.4"),
                    (
                        "手机上的 Microsoft Authenticator 会弹出确认，点击 **批准**",
                        "输入短信验证码",
                    ),
                    ("收不到认证推送", "收不到短信验证码"),
                ),
                "首次发布",
            ),
        ),
        "客户端升级到 7.2，短信验证改为 Authenticator 推送",
    ),
    "报价审批流程": (
        (
            Revision(
                (
                    ("| 低于 85 折，或毛利率低于 20% | 总经理 |", "| 低于 85 折 | 总经理 |"),
                    ("有效期一般为 30 天，原材料价格波动较大时可缩短为 15 天", "有效期为 30 天"),
                ),
                "首次发布",
            ),
        ),
        "增加毛利率条件，报价有效期可缩短",
    ),
    "员工操作手册": (
        (Revision((("## 10. 在手机上使用", "## 10. 手机"),), "首次发布"),),
        "补充手机上的用法",
    ),
}

RELATED: dict[str, tuple[str, ...]] = {
    "差旅报销制度": (
        "费用报销操作指南",
        "电子发票报销须知",
        "备用金借支与还款",
        "Expense policy at a glance",
    ),
    "费用报销操作指南": ("差旅报销制度", "费用报销审核要点", "财务常见问题"),
    "业务招待费管理办法": ("费用报销操作指南", "差旅报销制度"),
    "年假与调休规定": (
        "员工请假管理办法",
        "加班与调休申请",
        "Employee handbook: working hours and leave",
    ),
    "员工请假管理办法": ("年假与调休规定", "考勤与打卡制度"),
    "新员工入职指南": ("新员工 IT 开通清单", "试用期与转正流程", "信息安全守则"),
    "VPN 连接指南": ("多因素认证（MFA）设置", "How to connect to the VPN", "远程办公安全指引"),
    "识别钓鱼邮件": ("信息安全守则", "密码重置与账号解锁"),
    "报价审批流程": ("产品价格体系与折扣权限", "销售合同审批指南", "投标管理流程"),
    "销售提成计算办法": ("回款管理与逾期催收",),
    "员工操作手册": ("员工常见问题", "知识库使用指南"),
    "审批人操作手册": ("审批人常见问题",),
    "流程管理员操作手册": ("流程管理员常见问题",),
    "系统管理员操作手册": ("系统管理员常见问题",),
    "Employee manual": ("Employee FAQ", "Knowledge base guide"),
    "Approver manual": ("Approver FAQ",),
    "Process administrator manual": ("Process administrator FAQ",),
    "Administrator manual": ("Administrator FAQ",),
}

# title -> the demo processes' steps it explains (workflow/demo: process key, step id; "" the
# whole process): the task page shows it as "how to do this step", the catalogue as the guide
GUIDES: dict[str, tuple[tuple[str, str], ...]] = {
    "费用报销审核要点": (("expense_claim", "Task_FinanceReview"),),
    "费用报销操作指南": (("expense_claim", ""),),
    "员工请假管理办法": (("leave_request", ""),),
    "销售合同审批指南": (("contract_review", ""),),
}


def related_pairs() -> dict[str, set[str]]:
    """:data:`RELATED` both ways: "related" is symmetric (an article is related to those that
    name it), so each article is given every link the end state has, and a second run finds
    them all in place."""
    pairs: dict[str, set[str]] = {}
    for title, related in RELATED.items():
        for name in related:
            pairs.setdefault(title, set()).add(name)
            pairs.setdefault(name, set()).add(title)
    return pairs


@dataclass(frozen=True)
class Opinion:
    reader: str
    helpful: bool
    comment: str = ""


# feedback with words; every other published article gets a few plain "helpful" votes
FEEDBACK: dict[str, tuple[Opinion, ...]] = {
    "差旅报销制度": (
        Opinion("zhangwei", True, "表格很清楚，一看就知道住宿标准。"),
        Opinion("xuming", True),
        Opinion("lvbin", False, "新一线城市（杭州、成都）的住宿标准没写，希望补充。"),
        Opinion("tianye", True, "Clear, thanks."),
    ),
    "费用报销操作指南": (
        Opinion("wangfang", True, "第一次报销就是照着这篇做的。"),
        Opinion("yeqing", True),
    ),
    "年假与调休规定": (
        Opinion("wulei", True),
        Opinion("caiqin", True, "终于搞清楚年假能结转到什么时候了。"),
        Opinion("shenyi", False, "生产部的排班调休怎么算没有说明。"),
    ),
    "VPN 连接指南": (
        Opinion("dongjie", True, "换新电脑后按这个装好了。"),
        Opinion("zhangwei", True),
        Opinion("guomin", False, "在酒店还是连不上，切换热点才行，建议把这条放在最前面。"),
    ),
    "密码重置与账号解锁": (Opinion("xuming", True, "原来等 15 分钟就自动解锁了。"),),
    "识别钓鱼邮件": (Opinion("wangfang", True, "案例很实用，已转发给组里。"),),
    "报价审批流程": (
        Opinion("zhangwei", True, "折扣权限表很清楚。"),
        Opinion("machao", False, "框架协议客户的价格调整要不要审批？没有写。"),
    ),
    "员工操作手册": (
        Opinion("zhangwei", True, "撤回和撤销的区别讲得很明白。"),
        Opinion("yeqing", True),
    ),
    "Employee manual": (Opinion("tianye", True, "Nice to have this in English."),),
    "新员工入职指南": (
        Opinion("panting", True),
        Opinion("dongjie", False, "报到当天的停车怎么办？"),
    ),
    "打印机添加与常见故障": (Opinion("caiqin", False, "彩色打印权限找谁开通写得不够具体。"),),
}

# --- reading the content -----------------------------------------------------------------------


def _entries(space: DemoSpace) -> list[Entry]:
    """The space's articles as files, parsed as ``import_articles`` parses them; a content
    file with a problem, or one naming another space, is a bug of this module's content."""
    entries, problems = read_entries(space.folder)
    if problems:
        raise DemoSeedError("; ".join(f"{p.where}: {p.message}" for p in problems))
    for entry in entries:
        if entry.space != space.key:
            raise DemoSeedError(f"{entry.source}: space {entry.space!r}, not {space.key!r}")
    return entries


def _stable(text: str, modulo: int) -> int:
    """A number from ``text`` that stays the same from run to run (no random demo data)."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % modulo


def _user(username: str) -> User:
    user = person_find(username)
    if user is None:
        raise DemoSeedError(f"demo user {username} is missing: run seed_demo")
    return user


# --- seeding -----------------------------------------------------------------------------------


@dataclass
class Stats:
    """What one run did, by kind (a second run: all zeros)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n


def _space(spec: DemoSpace, admin: User, stats: Stats) -> Space:
    """The space with its settings and members (created by the administrator, its first
    admin)."""
    department = None
    if spec.department:
        department = Department.objects.filter(code=spec.department).first()
        if department is None:
            raise DemoSeedError(f"department {spec.department} is missing: run seed_demo")
    space = Space.objects.filter(key=spec.key).first()
    if space is None:
        space = services.space_create(
            by=admin,
            key=spec.key,
            name=spec.name,
            name_en=spec.name_en,
            description=spec.description,
            visibility=spec.visibility,
            department=department,
            requires_review=spec.requires_review,
        )
        stats.add("spaces")
    members = selectors.members_of(space)
    held_people = {(m.user.username, m.role) for m in members if m.user is not None}
    held_roles = {(m.group.pk, m.role) for m in members if m.group is not None}
    for username, role in spec.people:
        if (username, str(role)) not in held_people:
            services.space_member_set(by=admin, space_id=space.pk, role=role, user=_user(username))
            stats.add("members")
    for code, role in spec.roles:
        # django-stubs types Role's manager as the Group manager it inherits (no ``code``)
        group = Role.objects.filter(code=code).first()  # type: ignore[misc]
        if group is None:
            raise DemoSeedError(f"role {code} is missing: run seed_demo")
        if (group.pk, str(role)) not in held_roles:
            services.space_member_set(by=admin, space_id=space.pk, role=role, group=group)
            stats.add("members")
    return space


def _texts(entry: Entry) -> list[tuple[str, str]]:
    """Every version's (body, note) of an article, oldest first."""
    revisions, final_note = HISTORY.get(entry.title, ((), ""))
    texts = []
    for revision in revisions:
        body = entry.body
        for final, earlier in revision.changes:
            if final not in body:
                raise DemoSeedError(f"{entry.source}: no {final!r} to make an earlier version of")
            body = body.replace(final, earlier)
        texts.append((body, revision.note))
    texts.append((entry.body, final_note))
    return texts


def _reviewed(spec: DemoSpace, article: Article, writer: User) -> None:
    """Submit the latest version for review and have the space's demo reviewer approve it:
    the review's last step publishes it."""
    instance_id = services.article_submit(by=writer, article_id=article.pk)
    reviewer = _user(spec.reviewer)
    task = tasks_todo(reviewer).filter(instance_id=instance_id, element_id=REVIEW_STEP).first()
    if task is None:
        raise DemoSeedError(f"{article.title}: {spec.reviewer} has no review task")
    approvals.task_approve(task.pk, user=reviewer, comment="内容准确，同意发布。")


def _space_admin(spec: DemoSpace) -> User:
    name = next((name for name, role in spec.people if role == SpaceRole.ADMIN), "")
    if not name:
        raise DemoSeedError(f"{spec.key}: the demo space has no admin")
    return _user(name)


def _publish(space: Space, spec: DemoSpace, article: Article, writer: User) -> None:
    """Publish the latest version. In a space that reviews, the articles with a history go
    through the review on the engine (the reviewer's 已办 shows them); the others were
    brought over from the former wiki by the space admin, who may publish without review
    (``import_articles --publish``): a review on the engine costs the seeder about a second
    an article."""
    if not space.requires_review:
        services.article_publish(by=writer, article_id=article.pk)
    elif article.title in HISTORY:
        _reviewed(spec, article, writer)
    else:
        services.article_publish(by=_space_admin(spec), article_id=article.pk, skip_review=True)


def _article(space: Space, spec: DemoSpace, entry: Entry, writer: User, stats: Stats) -> Article:
    """The article of ``entry`` with its versions, published (or, the one under review,
    submitted); an existing one is completed, never rewritten."""
    article = Article.objects.filter(
        space=space, title=entry.title, deleted_at__isnull=True
    ).first()
    if article is None:
        texts = _texts(entry)
        body, note = texts[0]
        article = services.article_create(
            by=writer,
            space_id=space.pk,
            title=entry.title,
            body=body,
            summary=entry.summary,
            tags=entry.tags,
            lang=entry.lang,
            note=note,
        )
        stats.add("articles")
        for body, note in texts[1:]:
            # each earlier version was published before the next one was written
            _publish(space, spec, article, writer)
            services.article_save(
                by=writer,
                article_id=article.pk,
                title=entry.title,
                body=body,
                summary=entry.summary,
                tags=entry.tags,
                note=note,
            )
            stats.add("versions")
        article.refresh_from_db()
    if entry.title == UNDER_REVIEW:
        if selectors.review_state(article) == "none":
            services.article_submit(
                by=writer, article_id=article.pk, comment="明年起执行，请审核。"
            )
            stats.add("submitted for review")
    elif selectors.review_state(article) != "published":
        _publish(space, spec, article, writer)
        stats.add("published")
    article.refresh_from_db()
    return article


def _outdated(article: Article, stats: Stats) -> None:
    """Move the review date of the article into the past, as if it had been published more
    than a year ago and nobody confirmed it since. No service sets a review date in the past
    (publishing sets it a year ahead, confirming too): this is the demo's only direct write."""
    if article.is_published and not article.may_be_outdated():
        past = timezone.localdate() - datetime.timedelta(days=OUTDATED_DAYS_AGO)
        Article.objects.filter(pk=article.pk).update(review_date=past)
        stats.add("outdated")


def _opinions(title: str, readers: tuple[str, ...]) -> tuple[Opinion, ...]:
    if title in FEEDBACK:
        return FEEDBACK[title]
    count = _stable(title, 4)  # 0 to 3 readers said it helped
    start = _stable(title + "/readers", len(readers))
    return tuple(Opinion(readers[(start + i) % len(readers)], True) for i in range(count))


def _feedback(article: Article, spec: DemoSpace, stats: Stats) -> None:
    given = set(Feedback.objects.filter(article=article).values_list("user__username", flat=True))
    for opinion in _opinions(article.title, spec.readers):
        if opinion.reader not in given:
            services.feedback_give(
                by=_user(opinion.reader),
                article_id=article.pk,
                helpful=opinion.helpful,
                comment=opinion.comment,
            )
            stats.add("feedback")


def _views(article: Article, stats: Stats) -> None:
    """The article's view count brought to a number of its own (5 to 124: the "most read"
    lists need differences). Set directly rather than by calling ``article_viewed`` a
    hundred times per article: each call checks the reader's permissions (tens of
    milliseconds), and the demo's thousands of views would take minutes."""
    wanted = 5 + _stable(article.title + "/views", 120)
    if article.view_count < wanted:
        Article.objects.filter(pk=article.pk).update(view_count=wanted)
        stats.add("views", wanted - article.view_count)


def _links(articles: Mapping[str, Article], owners: Mapping[str, User], stats: Stats) -> None:
    """Related articles, once every article exists."""
    for title, related in related_pairs().items():
        if not {title, *related} <= set(articles):
            continue  # the help centre seeded alone: its links to other spaces wait
        article = articles[title]
        wanted = {articles[name].pk for name in related}
        if set(article.related.values_list("pk", flat=True)) != wanted:
            services.article_related_set(
                by=owners[title], article_id=article.pk, related_ids=sorted(wanted)
            )
            stats.add("related")


def seed_knowledge_guides() -> dict[str, int]:
    """The articles that guide the demo processes and their steps: a seeder of its own,
    after the workflow's, which deploys those processes (a guide names a deployed one)."""
    stats = Stats()
    for title, guides in GUIDES.items():
        article = Article.objects.filter(title=title, deleted_at__isnull=True).first()
        if article is None:
            continue
        held = set(
            ArticleGuide.objects.filter(article=article).values_list("process_key", "step_id")
        )
        if not set(guides) <= held:
            services.article_guides_set(
                by=article.owner, article_id=article.pk, guides=sorted(held | set(guides))
            )
            stats.add("guides")
    return stats.counts


def report_knowledge_guides(stdout: Any, stats: Mapping[str, int]) -> None:
    guided = ArticleGuide.objects.values("article").distinct().count()
    stdout.write(f"  process guides: {guided} articles (this run: {stats.get('guides', 0)})\n")


def _seed_spaces(specs: Iterable[DemoSpace]) -> dict[str, int]:
    admin = _user(ADMIN_USERNAME)
    stats = Stats()
    articles: dict[str, Article] = {}
    owners: dict[str, User] = {}
    for spec in specs:
        space = _space(spec, admin, stats)
        for index, entry in enumerate(_entries(spec)):
            writer = _user(spec.writers[index % len(spec.writers)])
            article = _article(space, spec, entry, writer, stats)
            if entry.title in articles:
                raise DemoSeedError(f"{entry.source}: a second article called {entry.title}")
            articles[entry.title], owners[entry.title] = article, article.owner
            if not article.is_published:
                continue
            if entry.title == OUTDATED:
                _outdated(article, stats)
            _feedback(article, spec, stats)
            _views(article, stats)
    _links(articles, owners, stats)
    return stats.counts


def seed_help_centre() -> dict[str, int]:
    """The help centre alone (帮助中心 / Help with its manuals and FAQs); what this run did."""
    return _seed_spaces([HELP])


def seed_knowledge_demo() -> dict[str, int]:
    """The help centre and the demo company's spaces and articles; what this run did, by
    kind. Needs the demo organization and the demo processes (``seed_demo``)."""
    return _seed_spaces(SPACES)


def report_knowledge_demo(stdout: Any, stats: Mapping[str, int]) -> None:
    """What a seed run did and what the knowledge base now holds, for the person who ran it."""
    done = ", ".join(f"{kind} {n}" for kind, n in stats.items() if n)
    stdout.write("\nKnowledge base is ready (帮助中心, 人力资源, 财务, IT 服务台, 销售).\n")
    for spec in SPACES:
        space = Space.objects.filter(key=spec.key).first()
        if space is None:
            continue
        published = Article.objects.filter(
            space=space, published_version__isnull=False, deleted_at__isnull=True
        ).count()
        stdout.write(f"  {spec.key}: {published} published articles\n")
    under_review = Article.objects.filter(title=UNDER_REVIEW).first()
    if under_review is not None:
        stdout.write(f"  in review: {UNDER_REVIEW} (reviewers: finance reviewers, e.g. huangli)\n")
    stdout.write(f"  this run: {done or 'nothing to do'}\n")


def connect() -> None:
    """Register the knowledge base's part of ``seed_demo``, after the demo organization and
    BEFORE the workflow's: its reviews and review-date reminders are requests on the engine
    too, and seeded first they are the older ones, so the workflow's demo requests (the
    inbox's, the console's failed contract) lead their lists."""
    registry.demo_seeders.register(
        registry.DemoSeeder("knowledge", seed_knowledge_demo, report_knowledge_demo, 5)
    )
    registry.demo_seeders.register(
        registry.DemoSeeder("knowledge-guides", seed_knowledge_guides, report_knowledge_guides, 30)
    )
