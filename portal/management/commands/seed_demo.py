"""``manage.py seed_demo``: a demo organization to try the portal with.

华夏智造科技有限公司, a manufacturer: a department tree under 总经办 (HQ), about sixty
employees with pinyin user names, positions, the roles the workflow names
(``role:finance_reviewer`` ...), an administrator ``admin``, an out-of-office delegation
and a few announcements; then the demo processes (``workflow.demo``: 费用报销, 请假申请,
采购申请, 合同审批) with requests waiting in the demo logins' inboxes. Every account gets
the same demo password (``demo1234`` unless ``--password`` says otherwise).

The command is idempotent: rows are looked up by their stable codes and user names and
brought to the state below, so a second run creates nothing and changes nothing. Passwords
of accounts that already exist are kept unless ``--reset-passwords`` is given.

It creates a superuser with a known password, so it refuses to run with DEBUG off unless
``--allow-production`` is given.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from portal import registry
from portal.choices import Language
from portal.models import Announcement, DelegationRule, Department, Position, Role, User

COMPANY = "华夏智造科技有限公司"
DEFAULT_PASSWORD = "demo1234"  # published: printed after every run
ADMIN_USERNAME = "admin"

# --- the organization ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dept:
    code: str
    parent: str | None
    name: str
    name_en: str


# Parents come before their children.
DEPARTMENTS: tuple[Dept, ...] = (
    Dept("HQ", None, "总经办", "General Manager's Office"),
    Dept("FIN", "HQ", "财务部", "Finance"),
    Dept("FIN-ACC", "FIN", "会计核算组", "Accounting"),
    Dept("FIN-TRS", "FIN", "资金管理组", "Treasury"),
    Dept("SALES", "HQ", "销售部", "Sales"),
    Dept("SALES-E", "SALES", "华东大区", "East China Region"),
    Dept("SALES-S", "SALES", "华南大区", "South China Region"),
    Dept("SALES-N", "SALES", "华北大区", "North China Region"),
    Dept("HR", "HQ", "人力资源部", "Human Resources"),
    Dept("IT", "HQ", "信息技术部", "Information Technology"),
    Dept("IT-INF", "IT", "基础架构组", "Infrastructure"),
    Dept("IT-DEV", "IT", "应用开发组", "Application Development"),
    Dept("ADM", "HQ", "行政部", "Administration"),
    Dept("PUR", "HQ", "采购部", "Procurement"),
    Dept("PRD", "HQ", "生产部", "Production"),
    Dept("PRD-MFG", "PRD", "制造车间", "Manufacturing Workshop"),
    Dept("PRD-QC", "PRD", "质量管理组", "Quality Management"),
    Dept("LEGAL", "HQ", "法务部", "Legal"),
    Dept("MKT", "HQ", "市场部", "Marketing"),
)

# code, name, English name, department (None: any department)
POSITIONS: tuple[tuple[str, str, str, str | None], ...] = (
    ("GM", "总经理", "General Manager", "HQ"),
    ("GM-ASST", "总经理助理", "Assistant to the General Manager", "HQ"),
    ("DEPT-MGR", "部门经理", "Department Manager", None),
    ("TEAM-LEAD", "组长", "Team Leader", None),
    ("FIN-ACC", "会计", "Accountant", "FIN-ACC"),
    ("FIN-CASHIER", "出纳", "Cashier", "FIN-TRS"),
    ("FIN-TRS", "资金专员", "Treasury Specialist", "FIN-TRS"),
    ("SALES-RM", "大区经理", "Regional Sales Manager", "SALES"),
    ("SALES-REP", "销售代表", "Sales Representative", "SALES"),
    ("SALES-ASST", "销售助理", "Sales Assistant", "SALES"),
    ("HR-SPEC", "人事专员", "HR Specialist", "HR"),
    ("HR-PAYROLL", "薪酬专员", "Payroll Specialist", "HR"),
    ("IT-OPS", "运维工程师", "Operations Engineer", "IT-INF"),
    ("IT-DEV", "软件工程师", "Software Engineer", "IT-DEV"),
    ("ADM-SPEC", "行政专员", "Administrative Specialist", "ADM"),
    ("PUR-BUYER", "采购员", "Buyer", "PUR"),
    ("PRD-ENG", "工艺工程师", "Process Engineer", "PRD-MFG"),
    ("PRD-PLANNER", "生产计划员", "Production Planner", "PRD"),
    ("PRD-QC", "质检员", "Quality Inspector", "PRD-QC"),
    ("LEGAL-COUNSEL", "法务专员", "Legal Counsel", "LEGAL"),
    ("MKT-SPEC", "市场专员", "Marketing Specialist", "MKT"),
)


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    name_en: str
    description: str
    permissions: tuple[str, ...] = ()
    view_apps: tuple[str, ...] = ()  # also every "view_" permission of these apps


_HR_MODELS = ("user", "department", "position", "delegationrule", "announcement")
ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("general_manager", "总经理", "General Manager", "公司总经理，审批链的最后一级。"),
    RoleSpec("dept_head", "部门负责人", "Department Head", "各部门及下属组的负责人。"),
    RoleSpec(
        "sales_director",
        "销售总监",
        "Sales Director",
        "审批折扣较大的报价；查看全部营销活动。",
        permissions=("crm.view_campaign",),
    ),
    RoleSpec(
        "sales",
        "销售",
        "Sales",
        "销售部的人员：首页显示自己的销售漏斗、跟进和服务工单；可以发起营销活动。",
        permissions=("crm.view_opportunity", "crm.view_case", "crm.add_campaign"),
    ),
    RoleSpec("finance_reviewer", "财务审核", "Finance Reviewer", "审核报销、付款等财务单据。"),
    RoleSpec(
        "hr_admin",
        "人事管理员",
        "HR Administrator",
        "维护员工、部门、岗位、代理规则和公告。",
        permissions=(
            *(f"portal.{op}_{model}" for model in _HR_MODELS for op in ("add", "change", "view")),
            "portal.view_role",
        ),
    ),
    RoleSpec(
        "it_admin",
        "IT管理员",
        "IT Administrator",
        "查看组织数据，维护账号（启用、停用、重置密码）。",
        permissions=("portal.change_user",),
        view_apps=("portal",),
    ),
    RoleSpec(
        "process_admin",
        "流程管理员",
        "Process Administrator",
        "查看所有流程，处理运行中的流程：挂起、恢复、终止、改派任务、处理异常。",
        permissions=("workflow.manage_processes",),
        view_apps=("workflow",),
    ),
    RoleSpec("employee", "员工", "Employee", "全体员工。"),
)
# Roles whose holders may open Django admin.
STAFF_ROLES = frozenset({"hr_admin", "it_admin", "process_admin"})


@dataclass(frozen=True)
class Person:
    username: str
    last_name: str  # 姓
    first_name: str  # 名
    department: str
    position: str
    roles: tuple[str, ...] = ()
    head: bool = False  # heads their department (and then also holds dept_head)
    language: str = Language.ZH_HANS


# Employee numbers follow this order (E000001 ...); append new people at the end.
PEOPLE: tuple[Person, ...] = (
    # 总经办
    Person("chenjianguo", "陈", "建国", "HQ", "GM", ("general_manager",), head=True),
    Person("zhouting", "周", "婷", "HQ", "GM-ASST"),
    # 财务部
    Person("wangxiuying", "王", "秀英", "FIN", "DEPT-MGR", ("finance_reviewer",), head=True),
    Person("liuyang", "刘", "洋", "FIN-ACC", "TEAM-LEAD", ("finance_reviewer",), head=True),
    Person("chenjing", "陈", "静", "FIN-ACC", "FIN-ACC", ("finance_reviewer",)),
    Person("huangli", "黄", "丽", "FIN-ACC", "FIN-ACC", ("finance_reviewer",)),
    Person("wulei", "吴", "磊", "FIN-ACC", "FIN-ACC"),
    Person("sunqiang", "孙", "强", "FIN-TRS", "TEAM-LEAD", head=True),
    Person("zhengxue", "郑", "雪", "FIN-TRS", "FIN-CASHIER"),
    Person("fengtao", "冯", "涛", "FIN-TRS", "FIN-TRS"),
    # 销售部
    Person("lina", "李", "娜", "SALES", "DEPT-MGR", head=True),
    Person("yangfan", "杨", "帆", "SALES-E", "SALES-RM", head=True),
    Person("zhangwei", "张", "伟", "SALES-E", "SALES-REP"),
    Person("wangfang", "王", "芳", "SALES-E", "SALES-REP"),
    Person("xuming", "徐", "明", "SALES-E", "SALES-REP"),
    Person("machao", "马", "超", "SALES-E", "SALES-REP"),
    Person("kongliang", "孔", "亮", "SALES-E", "SALES-REP"),
    Person("zhulin", "朱", "琳", "SALES-E", "SALES-ASST"),
    Person("hejun", "何", "军", "SALES-S", "SALES-RM", head=True),
    Person("guomin", "郭", "敏", "SALES-S", "SALES-REP"),
    Person("linfeng", "林", "峰", "SALES-S", "SALES-REP"),
    Person("luodan", "罗", "丹", "SALES-S", "SALES-ASST"),
    Person("gaofei", "高", "飞", "SALES-N", "SALES-RM", head=True),
    Person("liangchen", "梁", "晨", "SALES-N", "SALES-REP"),
    Person("songjia", "宋", "佳", "SALES-N", "SALES-REP"),
    Person("tanglei", "唐", "磊", "SALES-N", "SALES-REP"),
    # 人力资源部
    Person("zhaomin", "赵", "敏", "HR", "DEPT-MGR", ("hr_admin",), head=True),
    Person("hanxue", "韩", "雪", "HR", "HR-SPEC", ("hr_admin",)),
    Person("caoying", "曹", "颖", "HR", "HR-PAYROLL"),
    # 信息技术部
    Person("xugang", "许", "刚", "IT", "DEPT-MGR", ("it_admin", "process_admin"), head=True),
    Person("dengchao", "邓", "超", "IT-INF", "TEAM-LEAD", ("it_admin",), head=True),
    Person("pengliang", "彭", "亮", "IT-INF", "IT-OPS"),
    Person("zengwei", "曾", "伟", "IT-INF", "IT-OPS"),
    Person("xiaoran", "萧", "然", "IT-DEV", "TEAM-LEAD", head=True),
    Person("tianye", "田", "野", "IT-DEV", "IT-DEV", language=Language.EN),
    Person("dongjie", "董", "洁", "IT-DEV", "IT-DEV"),
    Person("yuanbo", "袁", "博", "IT-DEV", "IT-DEV"),
    # 行政部
    Person("jianghua", "蒋", "华", "ADM", "DEPT-MGR", head=True),
    Person("caiqin", "蔡", "琴", "ADM", "ADM-SPEC"),
    Person("yujie", "余", "洁", "ADM", "ADM-SPEC"),
    # 采购部
    Person("dupeng", "杜", "鹏", "PUR", "DEPT-MGR", head=True),
    Person("yeqing", "叶", "青", "PUR", "PUR-BUYER"),
    Person("chenghao", "程", "浩", "PUR", "PUR-BUYER"),
    Person("xiongwei", "熊", "伟", "PUR", "PUR-BUYER"),
    # 生产部
    Person("sujianhua", "苏", "建华", "PRD", "DEPT-MGR", head=True),
    Person("weidong", "魏", "东", "PRD-MFG", "TEAM-LEAD", head=True),
    Person("lvbin", "吕", "斌", "PRD-MFG", "PRD-ENG"),
    Person("dingyong", "丁", "勇", "PRD-MFG", "PRD-ENG"),
    Person("shenyi", "沈", "毅", "PRD-MFG", "PRD-PLANNER"),
    Person("renjie", "任", "洁", "PRD-QC", "TEAM-LEAD", head=True),
    Person("yaoyuan", "姚", "远", "PRD-QC", "PRD-QC"),
    Person("lujing", "卢", "静", "PRD-QC", "PRD-QC"),
    # 法务部
    Person("zhonghua", "钟", "华", "LEGAL", "DEPT-MGR", head=True),
    Person("xiewei", "谢", "薇", "LEGAL", "LEGAL-COUNSEL"),
    Person("zoukai", "邹", "凯", "LEGAL", "LEGAL-COUNSEL"),
    # 市场部
    Person("cuiying", "崔", "颖", "MKT", "DEPT-MGR", head=True),
    Person("panting", "潘", "婷", "MKT", "MKT-SPEC", language=Language.EN),
    Person("fanwen", "范", "文", "MKT", "MKT-SPEC"),
    Person("fangyuan", "方", "圆", "MKT", "MKT-SPEC"),
    Person("baixue", "白", "雪", "HQ", "GM-ASST"),
)

PHONE_PREFIXES = ("138", "139", "136", "137", "150", "186", "158", "135")


def employee_no(index: int) -> str:
    return f"E{index + 1:06d}"


def phone(index: int) -> str:
    n = index + 1
    return f"{PHONE_PREFIXES[index % len(PHONE_PREFIXES)]}{(n * 7919) % 10000:04d}{n:04d}"


# Out of office: 陈静 (finance reviewer) is on annual leave this week; 黄丽 reviews for her.
LEAVE_DELEGATOR = "chenjing"
LEAVE_DELEGATE = "huangli"
LEAVE_REASON = "年假（休假一周）"
LEAVE_DAYS = 7


@dataclass(frozen=True)
class Notice:
    title: str
    body: str
    days_ago: int
    pinned: bool = False
    departments: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()


ANNOUNCEMENTS: tuple[Notice, ...] = (
    Notice(
        "春节放假安排",
        "各部门、全体员工：\n\n"
        "根据国务院办公厅关于节假日安排的通知，结合公司实际，春节放假安排如下：\n"
        "一、除夕至正月初七放假调休，共 8 天；节前、节后各有一个周末调休上班。\n"
        "二、生产部按排班表轮岗值守，值班安排由各组组长于节前一周报行政部。\n"
        "三、放假前请各部门做好安全检查，关闭门窗、电源，贵重物品妥善保管。\n"
        "四、需在假期内处理的审批，请提前在门户中发起，或设置代理人。\n\n"
        "祝大家新春愉快，阖家幸福！\n\n"
        f"{COMPANY} 行政部",
        days_ago=1,
        pinned=True,
    ),
    Notice(
        "报销制度更新",
        "全体员工：\n\n"
        "经总经办批准，公司《费用报销管理办法》已修订，自下月 1 日起执行，主要变化：\n"
        "1. 差旅住宿标准：一线城市每晚不超过 600 元，其他城市不超过 450 元；\n"
        "2. 报销须在费用发生后 30 天内通过门户提交，逾期需部门负责人说明原因；\n"
        "3. 单笔 5000 元以上的报销，在部门负责人审批后增加财务审核及总经理审批；\n"
        "4. 电子发票请上传 PDF 原件，不再需要打印纸质件。\n\n"
        "制度全文见知识库“财务制度”栏目，如有疑问请联系财务部会计核算组。",
        days_ago=3,
    ),
    Notice(
        "销售部第三季度冲刺动员会",
        "销售部各位同事：\n\n"
        "第三季度冲刺动员会定于本周五下午 14:00 在总部三楼大会议室召开，"
        "华东、华南、华北大区经理请准备各自区域的目标完成情况和重点客户跟进计划"
        "（每区 10 分钟）。外地同事可通过视频会议参加，会议链接另行通知。\n\n"
        "销售部",
        days_ago=2,
        departments=("SALES",),
    ),
    Notice(
        "月末结账审核安排",
        "各位财务审核人员：\n\n"
        "本月结账截止日为最后一个工作日 17:00。请在截止前处理完待办中的报销和付款审核；"
        "休假期间请在门户中设置代理人，避免单据积压。"
        "对金额异常或附件不全的单据，请直接退回并注明原因。\n\n"
        "财务部",
        days_ago=0,
        roles=("finance_reviewer",),
    ),
    Notice(
        "信息安全提醒：谨防钓鱼邮件",
        "近期发现多起冒充“财务部”“IT 服务台”的钓鱼邮件，要求点击链接重置密码或提供"
        "银行账户信息。公司不会通过邮件索要密码。收到可疑邮件请勿点击链接，"
        "直接转发至信息技术部基础架构组处理。",
        days_ago=5,
    ),
)

# username, what to try (the demo logins printed at the end)
DEMO_LOGINS: tuple[tuple[str, str], ...] = (
    (ADMIN_USERNAME, "superuser: Django admin at /admin/"),
    ("chenjianguo", "general manager (总经理), top of every approval chain"),
    ("lina", "head of 销售部: approves her department's requests"),
    ("zhangwei", "employee in 销售部 / 华东大区, reports to 杨帆 (yangfan)"),
    ("huangli", "finance reviewer, proxy for 陈静 (chenjing) on leave"),
    ("zhaomin", "HR admin: people, departments, announcements in /admin/"),
    ("xugang", "IT admin and process admin: accounts, running processes in /admin/"),
)

M = TypeVar("M", bound=models.Model)


class Command(BaseCommand):
    help = (
        f"Create or update the demo organization ({COMPANY}): departments, about sixty "
        "employees, positions, roles, an administrator, a delegation and announcements; "
        "demo processes with requests waiting for the demo logins. "
        "Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"The password of every demo account (default {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--reset-passwords",
            action="store_true",
            help="Also set the password of demo accounts that already exist.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (creates a superuser with a known password).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: seed_demo creates a superuser and accounts with a known "
                "password. Pass --allow-production if this really is a demo installation."
            )
        password = options["password"]
        if not password:
            raise CommandError("--password must not be empty.")
        self.password = password
        self.reset_passwords = bool(options["reset_passwords"])
        self._password_hash: str | None = None
        self.stats: dict[str, dict[str, int]] = {}

        with transaction.atomic():
            departments = self._seed_departments()
            positions = self._seed_positions(departments)
            roles = self._seed_roles()
            admin = self._seed_admin()
            users = self._seed_people(departments, positions, roles)
            self._seed_heads(departments, users)
            self._seed_delegation(users)
            self._seed_announcements(admin, departments, roles)

        # Each app's demo data (portal.registry.demo_seeders) in a transaction of its own,
        # after the organization's: a broken demo request leaves the organization usable.
        # Before the report: with DEBUG the console e-mail backend prints the notifications
        # of the demo tasks, which should not bury the summaries.
        results = []
        for seeder in registry.demo_seeders:
            try:
                results.append((seeder, seeder.seed()))
            except registry.DemoSeedError as exc:
                raise CommandError(f"Demo data of {seeder.key}: {exc}") from exc
        self._report()
        for seeder, result in results:
            seeder.report(self.stdout, result)

    # --- helpers --------------------------------------------------------------------

    def _count(self, kind: str, status: str) -> None:
        counts = self.stats.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        counts[status] += 1

    @property
    def password_hash(self) -> str:
        # Hashed once for the run: every demo account shares the (published) password, and
        # hashing it sixty times at Django's work factor would take half a minute.
        if self._password_hash is None:
            self._password_hash = make_password(self.password)
        return self._password_hash

    def _upsert(
        self,
        model: type[M],
        kind: str,
        lookup: dict[str, Any],
        values: dict[str, Any],
        *,
        create_values: dict[str, Any] | None = None,
        label: str = "",
    ) -> M:
        """The row matching ``lookup`` with ``values`` (``create_values`` only when it is
        new), validated with ``full_clean()`` and saved only when something differs."""
        obj = model._default_manager.filter(**lookup).first()
        created = obj is None
        if obj is None:
            obj = model(**lookup, **(create_values or {}))
        changed = created
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        self._validate(obj, label or str(lookup))
        if changed:
            obj.save()
        self._count(kind, "created" if created else "updated" if changed else "unchanged")
        return obj

    def _validate(self, obj: models.Model, label: str, **kwargs: Any) -> None:
        try:
            obj.full_clean(**kwargs)
        except ValidationError as exc:
            details = "; ".join(
                f"{name}: {' '.join(str(m) for m in messages)}"
                for name, messages in exc.message_dict.items()
            )
            raise CommandError(
                f"Demo {obj._meta.verbose_name} {label} is not valid: {details}"
            ) from None

    # --- organization -----------------------------------------------------------------

    def _seed_departments(self) -> dict[str, Department]:
        found: dict[str, Department] = {}
        tree_fields = ["path", "depth", "numchild"]
        for spec in DEPARTMENTS:
            values = {"name": spec.name, "name_en": spec.name_en, "is_active": True}
            parent = found[spec.parent] if spec.parent else None
            department = Department.objects.filter(code=spec.code).first()
            if department is None:
                kwargs = {"code": spec.code, **values}
                self._validate(Department(**kwargs), spec.code, exclude=tree_fields)
                if parent is None:
                    department = Department.objects.add_root(kwargs)
                else:
                    department = Department.objects.add_child(parent, kwargs)
                self._count("departments", "created")
            else:
                changed = False
                for name, value in values.items():
                    if getattr(department, name) != value:
                        setattr(department, name, value)
                        changed = True
                self._validate(department, spec.code)
                if changed:
                    department.save()
                self._count("departments", "updated" if changed else "unchanged")
                actual_parent = Department.objects.get_parent(department)
                if (actual_parent.pk if actual_parent else None) != (parent.pk if parent else None):
                    self.stderr.write(
                        self.style.WARNING(
                            f"Department {spec.code} exists elsewhere in the tree; left there."
                        )
                    )
            found[spec.code] = department
        return found

    def _seed_positions(self, departments: dict[str, Department]) -> dict[str, Position]:
        return {
            code: self._upsert(
                Position,
                "positions",
                {"code": code},
                {
                    "name": name,
                    "name_en": name_en,
                    "department": departments[dept] if dept else None,
                },
            )
            for code, name, name_en, dept in POSITIONS
        }

    def _seed_roles(self) -> dict[str, Role]:
        roles: dict[str, Role] = {}
        for spec in ROLES:
            roles[spec.code] = self._upsert(
                Role,
                "roles",
                {"code": spec.code},
                {"name": spec.name, "name_en": spec.name_en, "description": spec.description},
            )
            self._grant_permissions(roles[spec.code], spec)
        return roles

    def _grant_permissions(self, role: Role, spec: RoleSpec) -> None:
        wanted: list[Permission] = []
        for dotted in spec.permissions:
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise CommandError(f"Permission {dotted} does not exist; run migrate first.")
            wanted.append(permission)
        if spec.view_apps:
            wanted.extend(
                Permission.objects.filter(
                    content_type__app_label__in=spec.view_apps, codename__startswith="view_"
                )
            )
        # Adds only: permissions an administrator granted on top are kept.
        role.permissions.add(*wanted)

    def _user_password(self, user: User, created: bool) -> bool:
        """Sets the demo password on a new user (or any user with --reset-passwords)."""
        if created or self.reset_passwords:
            user.password = self.password_hash
            return True
        return False

    def _save_user(self, username: str, values: dict[str, Any]) -> User:
        user = User.objects.filter(username=username).first()
        created = user is None
        if user is None:
            user = User(username=username)
        changed = self._user_password(user, created)
        for name, value in values.items():
            if getattr(user, name) != value:
                setattr(user, name, value)
                changed = True
        self._validate(user, username)
        if changed:
            user.save()
        self._count("users", "created" if created else "updated" if changed else "unchanged")
        return user

    def _seed_admin(self) -> User:
        return self._save_user(
            ADMIN_USERNAME,
            {
                "employee_no": None,
                "first_name": "系统管理员",
                "last_name": "",
                "email": f"{ADMIN_USERNAME}@example.com",
                "is_active": True,
                "is_staff": True,
                "is_superuser": True,
            },
        )

    def _seed_people(
        self,
        departments: dict[str, Department],
        positions: dict[str, Position],
        roles: dict[str, Role],
    ) -> dict[str, User]:
        heads = {p.department: p.username for p in PEOPLE if p.head}
        parents = {d.code: d.parent for d in DEPARTMENTS}
        missing = [d.code for d in DEPARTMENTS if d.code not in heads]
        if missing or len({p.username for p in PEOPLE}) != len(PEOPLE):
            raise CommandError(f"Demo data is inconsistent (departments without head: {missing}).")

        def manager_of(person: Person) -> str | None:
            if not person.head:
                return heads[person.department]
            parent = parents[person.department]
            return heads[parent] if parent else None

        # Managers are saved before the people who report to them: heads top-down, then
        # everyone else (User.clean walks the chain of saved managers).
        by_username = {p.username: p for p in PEOPLE}
        order = [by_username[heads[d.code]] for d in DEPARTMENTS]
        order += [p for p in PEOPLE if not p.head]
        index = {p.username: i for i, p in enumerate(PEOPLE)}

        users: dict[str, User] = {}
        for person in order:
            i = index[person.username]
            manager = manager_of(person)
            role_codes = {*person.roles, "employee"} | ({"dept_head"} if person.head else set())
            if person.department.startswith("SALES"):
                role_codes.add("sales")  # the sales department's people work in the CRM
            user = self._save_user(
                person.username,
                {
                    "employee_no": employee_no(i),
                    "last_name": person.last_name,
                    "first_name": person.first_name,
                    "email": f"{person.username}@example.com",
                    "phone": phone(i),
                    "department_id": departments[person.department].pk,
                    "manager_id": users[manager].pk if manager else None,
                    "preferred_language": str(person.language),
                    "is_active": True,
                    "is_staff": bool(role_codes & STAFF_ROLES),
                    "is_superuser": False,
                },
            )
            # Adds only, so positions and roles given by an administrator are kept.
            user.positions.add(positions[person.position])
            user.groups.add(*(roles[code] for code in sorted(role_codes)))
            users[person.username] = user
        return users

    def _seed_heads(self, departments: dict[str, Department], users: dict[str, User]) -> None:
        for person in PEOPLE:
            if not person.head:
                continue
            department = departments[person.department]
            head = users[person.username]
            if department.head_id != head.pk:
                department.head = head
                self._validate(department, department.code)
                department.save(update_fields=["head"])

    # --- delegation and announcements ----------------------------------------------------

    def _seed_delegation(self, users: dict[str, User]) -> None:
        delegator = users[LEAVE_DELEGATOR]
        delegate = users[LEAVE_DELEGATE]
        now = timezone.now()
        start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        dates = {"starts_at": start, "ends_at": start + timedelta(days=LEAVE_DAYS)}
        rule = DelegationRule.objects.filter(
            delegator=delegator, delegate=delegate, reason=LEAVE_REASON
        ).first()
        if rule is None:
            rule = DelegationRule(
                delegator=delegator,
                delegate=delegate,
                reason=LEAVE_REASON,
                process_keys=[],
                **dates,
            )
            status = "created"
        elif rule.ends_at <= now or not rule.is_active:
            # An old demo database: the leave is over, so it starts again today.
            if rule.ends_at <= now:
                rule.starts_at, rule.ends_at = dates["starts_at"], dates["ends_at"]
            rule.is_active = True
            status = "updated"
        else:
            self._count("delegation rules", "unchanged")
            return
        self._validate(rule, f"{delegator.username} → {delegate.username}")
        rule.save()
        self._count("delegation rules", status)

    def _seed_announcements(
        self, admin: User, departments: dict[str, Department], roles: dict[str, Role]
    ) -> None:
        now = timezone.now()
        for notice in ANNOUNCEMENTS:
            announcement = self._upsert(
                Announcement,
                "announcements",
                {"title": notice.title},
                {
                    "body": notice.body,
                    "author_id": admin.pk,
                    "is_pinned": notice.pinned,
                    "expires_at": None,
                },
                # Kept on later runs: the date a notice was published does not move.
                create_values={"published_at": now - timedelta(days=notice.days_ago, minutes=10)},
                label=notice.title,
            )
            announcement.target_departments.set([departments[c] for c in notice.departments])
            announcement.target_roles.set([roles[c] for c in notice.roles])

    # --- output -----------------------------------------------------------------------

    def _report(self) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo organization {COMPANY} is ready."))
        totals = {
            "departments": Department.objects.count(),
            "users": User.objects.count(),
            "roles": Role.objects.count(),
            "positions": Position.objects.count(),
            "announcements": Announcement.objects.count(),
            "delegation rules": DelegationRule.objects.count(),
        }
        for kind, total in totals.items():
            counts = self.stats.get(kind, {})
            run = ", ".join(f"{status} {n}" for status, n in counts.items() if n)
            self.stdout.write(f"  {kind}: {total}" + (f" (this run: {run})" if run else ""))

        users = User.objects.in_bulk([u for u, _ in DEMO_LOGINS], field_name="username")
        # Whether a stored hash is of this run's password (one check per distinct hash).
        verified: dict[str, bool] = {}
        if self._password_hash is not None:
            verified[self._password_hash] = True
        rows = [("username", "name", "what to try", "password")]
        for username, hint in DEMO_LOGINS:
            user = users[username]
            if user.password not in verified:
                verified[user.password] = check_password(self.password, user.password)
            shown = self.password if verified[user.password] else "(kept; --reset-passwords)"
            rows.append((username, user.display_name, hint, shown))
        widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
        self.stdout.write("")
        self.stdout.write("Demo logins (sign in with the user name or the employee number):")
        for n, row in enumerate(rows):
            line = "  " + "  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True))
            self.stdout.write(line.rstrip())
            if n == 0:
                self.stdout.write("  " + "  ".join("-" * w for w in widths))


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
