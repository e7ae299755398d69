"""A company's two years of approvals, generated straight into the portal's tables.

Used by ``bench/inbox_scale.py`` (which creates the database, migrates it and calls
:func:`generate` with Django set up on it); not a script of its own. What it makes, with the
default :class:`Scale`:

* **Organization**: a group (集团) with 8 divisions of about 12 departments each, sizes
  Zipf-like (a few departments of hundreds, many of a dozen), 10,000 people in all. Every
  department has a head, every 8 people a team lead (their manager); heads report to their
  division's head, division heads to the CEO. Roles: 财务审核员 (finance_reviewer),
  总经理 (general_manager), 人事专员 (hr_admin), 部门负责人 (dept_head), 流程管理员
  (process_admin, with ``workflow.manage_processes``), and the groups the shared BPMN files
  name (managers, directors, finance, hr, it, admin, records). Every password is demo1234.
* **Processes**: the four demo processes (``workflow/demo/``) and three shared ones
  (``../shared/bpmn/``: onboarding, contract countersign, expense approval), deployed
  through ``services.definition_deploy``; every element id used below is checked against the
  deployed graph, and step names come from it.
* **Instances**: 200,000 started over the last two years (more lately), each walked through
  its process's steps with the people the diagram names (``manager(initiator)``,
  ``deptHead(initiator, 2)``, a candidate role or department, countersigners, the
  initiator resubmitting after a 退回). About 93 % ended (completed, some rejected,
  cancelled or terminated), 3 % running and 0.5 % suspended with their open tasks: assigned,
  or waiting for a candidate to claim them (70 % of candidate tasks), some overdue, 8 % of
  instances urgent. Running instances have their tokens (a multi-instance scope with one
  token per countersigner), reminder and time-out jobs for open tasks not yet due; some
  wait on a failed service call (an open incident and its spent job), some ended ones had an
  incident that was resolved. About 930,000 tasks with their candidate rows (kept after
  completion, as the engine keeps them), 抄送 copies (read or unread), and the history rows
  the engine writes (instance start and end, task created / claimed / completed / cancelled,
  activity rows with durations).

Managers and finance reviewers end up with thousands of tasks (a division head approves
every large claim and long leave of about a thousand people); ordinary employees with tens.

Speed: the rows are written with PostgreSQL ``COPY`` in chunks, with the big tables' secondary
indexes dropped during the load and built again afterwards, and foreign-key triggers off
(``session_replication_role = replica``; ids are assigned here, so they are consistent by
construction). Then sequences are moved past the ids used and the tables VACUUM ANALYZEd.
Deterministic for a given seed.
"""

from __future__ import annotations

import datetime
import io
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.db import connection, transaction
from django.utils import timezone

from portal.models import Department, Role
from portal.search import search_text
from workflow.demo import PROCESSES as DEMO_PROCESSES
from workflow.engine.cache import graph_for_definition
from workflow.models import ProcessDefinition, ProcessSettings
from workflow.services.definitions import definition_deploy

ROOT = Path(__file__).resolve().parent.parent
SHARED_BPMN = ROOT.parent / "shared" / "bpmn"  # checked out beside the repository
DAY = 86400.0
HOUR = 3600.0

# the tables this module fills in bulk, in load order
BULK_TABLES = (
    "portal_user",
    "portal_user_groups",
    "workflow_processinstance",
    "workflow_task",
    "workflow_taskcandidate",
    "workflow_historyevent",
    "workflow_execution",
    "workflow_job",
    "workflow_incident",
    "workflow_carboncopy",
)


@dataclass(frozen=True)
class Scale:
    users: int = 10_000
    instances: int = 200_000
    years: float = 2.0
    seed: int = 6


# --- people ----------------------------------------------------------------------------------

FAMILY = [
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"),
    ("杨", "yang"), ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"),
    ("徐", "xu"), ("孙", "sun"), ("马", "ma"), ("朱", "zhu"), ("胡", "hu"),
    ("郭", "guo"), ("何", "he"), ("高", "gao"), ("林", "lin"), ("罗", "luo"),
    ("郑", "zheng"), ("梁", "liang"), ("谢", "xie"), ("宋", "song"), ("唐", "tang"),
    ("许", "xu"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"),
    ("彭", "peng"), ("曾", "zeng"), ("肖", "xiao"), ("田", "tian"), ("董", "dong"),
    ("袁", "yuan"), ("潘", "pan"), ("于", "yu"), ("蒋", "jiang"), ("蔡", "cai"),
]  # fmt: skip
GIVEN = [
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"),
    ("丽", "li"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"),
    ("勇", "yong"), ("艳", "yan"), ("杰", "jie"), ("涛", "tao"), ("明", "ming"),
    ("超", "chao"), ("秀英", "xiuying"), ("霞", "xia"), ("平", "ping"), ("刚", "gang"),
    ("桂英", "guiying"), ("建国", "jianguo"), ("晓东", "xiaodong"), ("志强", "zhiqiang"),
    ("海燕", "haiyan"), ("雪梅", "xuemei"), ("建华", "jianhua"), ("文博", "wenbo"),
    ("子涵", "zihan"), ("欣怡", "xinyi"), ("浩然", "haoran"), ("思远", "siyuan"),
    ("佳琪", "jiaqi"), ("宇航", "yuhang"), ("梦瑶", "mengyao"), ("俊杰", "junjie"),
    ("晨", "chen"), ("颖", "ying"), ("帆", "fan"), ("青", "qing"),
]  # fmt: skip

# 职能中心's departments: (code, name, English name, size)
FUNCTIONS = [
    ("FIN", "财务部", "Finance", 60),
    ("HR", "人力资源部", "Human Resources", 40),
    ("LEGAL", "法务部", "Legal", 20),
    ("PUR", "采购部", "Procurement", 30),
    ("IT", "信息技术部", "IT", 80),
    ("ADM", "行政部", "Administration", 30),
    ("REC", "档案室", "Records", 10),
    ("AUD", "审计部", "Audit", 15),
    ("PR", "品牌公关部", "Public Relations", 20),
    ("STRAT", "战略发展部", "Strategy", 15),
    ("SEC", "安全环保部", "Safety", 25),
    ("QA", "质量管理部", "Quality", 45),
]
DIVISIONS = [
    ("FUNC", "职能中心", "Corporate Functions", ""),
    ("SE", "华东销售大区", "Sales East", "华东销售"),
    ("SS", "华南销售大区", "Sales South", "华南销售"),
    ("SN", "华北销售大区", "Sales North", "华北销售"),
    ("RD", "研发中心", "R&D", "研发"),
    ("MFG", "制造中心", "Manufacturing", "制造"),
    ("SCM", "供应链中心", "Supply Chain", "供应链"),
    ("CS", "市场与客户服务中心", "Marketing and Service", "客服"),
]
ORDINALS = "一二三四五六七八九十"
TEAM_SIZE = 8


def _ordinal(n: int) -> str:
    return ORDINALS[n - 1] if n <= 10 else f"十{ORDINALS[n - 11]}"


@dataclass
class Person:
    id: int
    username: str
    family: str
    given: str
    department: int  # index into Organization.departments
    manager: int | None = None  # a Person id
    roles: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return f"{self.family}{self.given}"


@dataclass
class Unit:
    code: str
    name: str
    name_en: str
    parent: int | None  # index into Organization.departments
    size: int
    members: list[int] = field(default_factory=list)  # Person ids
    head: int | None = None
    pk: int | None = None


@dataclass
class Organization:
    departments: list[Unit]
    people: dict[int, Person]
    by_code: dict[str, int]

    def chain(self, department: int) -> list[int]:
        """The department and those above it, nearest first."""
        found = [department]
        while (parent := self.departments[found[-1]].parent) is not None:
            found.append(parent)
        return found

    def dept_head(self, person: Person, levels: int) -> str:
        """``deptHead(person, levels)`` (the CEO when the tree runs out, as the escalation
        role would decide)."""
        heads = [
            self.departments[d].head
            for d in self.chain(person.department)
            if self.departments[d].head not in (None, person.id)
        ]
        if not heads:  # the CEO: nobody above
            return person.username
        chosen = heads[levels - 1] if len(heads) >= levels else heads[-1]
        return self.people[chosen].username  # type: ignore[index]

    def manager(self, person: Person) -> str:
        if person.manager is not None:
            return self.people[person.manager].username
        return self.dept_head(person, 1)

    def members(self, code: str) -> list[Person]:
        return [self.people[p] for p in self.departments[self.by_code[code]].members]

    def holders(self, role: str) -> list[Person]:
        return [p for p in self.people.values() if role in p.roles]


def _zipf_sizes(count: int, total: int, rng: random.Random) -> list[int]:
    weights = [1 / (rank**0.85) for rank in range(1, count + 1)]
    rng.shuffle(weights)
    scale = total / sum(weights)
    return [max(6, round(w * scale)) for w in weights]


def plan_organization(scale: Scale, rng: random.Random) -> Organization:
    """The tree, its people and who reports to whom (nothing written yet)."""
    units = [Unit("HC", "华辰集团", "Huachen Group", None, 3)]
    by_code = {"HC": 0}
    functional = sum(size for *_n, size in FUNCTIONS)
    divisional = len(DIVISIONS) * 3 + 3
    line_departments = (len(DIVISIONS) - 1) * 12
    line_sizes = _zipf_sizes(line_departments, scale.users - functional - divisional, rng)
    for code, name, name_en, prefix in DIVISIONS:
        units.append(Unit(code, name, name_en, 0, 3))
        division = by_code[code] = len(units) - 1
        if not prefix:
            for dcode, dname, dname_en, size in FUNCTIONS:
                units.append(Unit(dcode, dname, dname_en, division, size))
                by_code[dcode] = len(units) - 1
            continue
        for n in range(1, 13):
            dcode = f"{code}{n:02d}"
            units.append(
                Unit(
                    dcode, f"{prefix}{_ordinal(n)}部", f"{name_en} {n}", division, line_sizes.pop()
                )
            )
            by_code[dcode] = len(units) - 1
    people: dict[int, Person] = {}
    taken: dict[str, int] = {}
    next_id = 1
    for index, unit in enumerate(units):
        for _n in range(unit.size):
            family, family_py = rng.choice(FAMILY)
            given, given_py = rng.choice(GIVEN)
            base = family_py + given_py
            taken[base] = taken.get(base, 0) + 1
            username = base if taken[base] == 1 else f"{base}{taken[base]}"
            people[next_id] = Person(next_id, username, family, given, index)
            unit.members.append(next_id)
            next_id += 1
    org = Organization(units, people, by_code)
    ceo = units[0].members[0]
    for index, unit in enumerate(units):
        unit.head = unit.members[0]
        above = units[unit.parent].head if unit.parent is not None else None
        people[unit.head].manager = above
        for position, member in enumerate(unit.members[1:], start=1):
            lead = (
                unit.members[(position // TEAM_SIZE) * TEAM_SIZE]
                if position >= TEAM_SIZE
                else unit.head
            )
            if member == lead:
                lead = unit.head
            people[member].manager = lead
            if position % TEAM_SIZE == 0:
                people[member].roles.add("managers")
        people[unit.head].roles |= {"managers", "dept_head"}
        if unit.parent == 0:
            people[unit.head].roles.add("directors")
        if index == 0:
            people[unit.head].manager = None
    for member in units[0].members:
        people[member].roles.add("general_manager")
    people[ceo].roles.add("directors")
    for code, role in (
        ("FIN", "finance"),
        ("HR", "hr"),
        ("IT", "it"),
        ("ADM", "admin"),
        ("REC", "records"),
    ):
        for person in org.members(code):
            person.roles.add(role)
    for person in org.members("FIN")[1:17]:
        person.roles.add("finance_reviewer")
    for person in org.members("HR")[1:11]:
        person.roles.add("hr_admin")
    for person in org.members("IT")[1:4]:
        person.roles.add("process_admin")
    return org


ROLES = {
    "finance_reviewer": ("财务审核员", "Finance reviewer"),
    "general_manager": ("总经理", "General manager"),
    "hr_admin": ("人事专员", "HR administrator"),
    "dept_head": ("部门负责人", "Department head"),
    "process_admin": ("流程管理员", "Process administrator"),
    "managers": ("经理（共享流程）", "Managers"),
    "directors": ("总监（共享流程）", "Directors"),
    "finance": ("财务（共享流程）", "Finance"),
    "hr": ("人事（共享流程）", "HR"),
    "it": ("信息技术（共享流程）", "IT"),
    "admin": ("行政（共享流程）", "Administration"),
    "records": ("档案（共享流程）", "Records"),
}


def write_organization(org: Organization, out: Copier, now: float) -> dict[str, int]:
    """Departments and roles through the ORM (about a hundred rows), people by COPY."""
    for index, unit in enumerate(org.departments):
        values = {"code": unit.code, "name": unit.name, "name_en": unit.name_en}
        if unit.parent is None:
            unit.pk = Department.add_root(**values).pk
        else:
            parent = Department.objects.get(pk=org.departments[unit.parent].pk)
            unit.pk = parent.add_child(**values).pk
        assert unit.pk is not None, index
    roles: dict[str, int] = {}
    manage = Permission.objects.get(codename="manage_processes", content_type__app_label="workflow")
    for code, (name, name_en) in ROLES.items():
        role = Role.objects.create(code=code, name=name, name_en=name_en)  # type: ignore[misc]
        if code == "process_admin":
            role.permissions.add(manage)
        roles[code] = role.pk
    password = make_password("demo1234")
    joined = _ts(now - 3 * 365 * DAY)
    users = []
    memberships = []
    for person in org.people.values():
        department = org.departments[person.department].pk
        manager = "\\N" if person.manager is None else person.manager
        users.append(
            f"{person.id}\t{password}\tf\t{person.username}\t{person.given}\t{person.family}\t"
            f"{person.username}@huachen.example\tf\tt\t{joined}\tE{person.id:06d}\t"
            f"{department}\t{manager}\t\tzh-hans\tt\tf"
        )
        memberships.extend(f"{person.id}\t{roles[code]}" for code in sorted(person.roles))
    admin_id = max(org.people) + 1
    users.append(
        f"{admin_id}\t{password}\tt\tadmin\t\t系统管理员\tadmin@huachen.example\tt\tt\t{joined}\t"
        f"\\N\t{org.departments[org.by_code['IT']].pk}\t\\N\t\tzh-hans\tt\tf"
    )
    out.copy(
        "portal_user",
        "id, password, is_superuser, username, first_name, last_name, email, is_staff, "
        "is_active, date_joined, employee_no, department_id, manager_id, phone, "
        "preferred_language, notify_by_email, notify_by_sms",
        users,
    )
    out.copy("portal_user_groups", "user_id, group_id", memberships)
    for unit in org.departments:
        Department.objects.filter(pk=unit.pk).update(head_id=unit.head)
    return {"departments": len(org.departments), "roles": len(roles), "users": len(users)}


# --- processes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """One user task of a step: who it is for (``kind`` user: an assignee; group or dept:
    candidates) and who acts on it (claims it, if for candidates, and completes it)."""

    element: str
    kind: str
    value: str
    actor: str
    returns: bool = False  # 退回: sends the instance back to its initiator


@dataclass
class Story:
    """What one instance will be: its steps (each a list of tasks created together), the
    start form's variables and the words of its title."""

    steps: list[list[Work]]
    variables: dict[str, Any]
    title: str
    urgent: bool = False


@dataclass(frozen=True)
class ProcessPlan:
    key: str
    source: Path
    weight: float
    prefix: str
    due_days: float
    start: str  # the start event (a returned instance's resubmission task)
    end: str
    story: Callable[[Generator, Person], Story]
    service: str = ""  # a service task a running instance may be stuck on (incident)
    resubmit_jump: bool = False  # back to the returning step (else every step again)


PLACES = ["上海", "北京", "杭州", "苏州", "深圳", "成都", "武汉", "南京", "广州", "西安"]
EXPENSES = [("travel", "客户拜访差旅费"), ("entertainment", "客户招待"), ("office", "办公用品"),
            ("training", "培训费"), ("meeting", "会议费")]  # fmt: skip
ITEMS = ["笔记本电脑", "显示器", "办公椅", "服务器", "打印机", "投影仪", "测试仪器", "工业相机",
         "叉车配件", "网络交换机"]  # fmt: skip
COMPANIES = ["恒通精密机械", "锦华物业", "华信科技", "远东物流", "金桥建设", "天合电子",
             "万达广告", "青松软件", "宏图印务", "海川能源", "瑞丰包装", "星辰会展", "国泰保险",
             "嘉和餐饮", "东方律所", "立信会计", "蓝海咨询", "银河数据", "长江化工",
             "北辰设备"]  # fmt: skip
OPTIONAL_SIGNERS = ["IT", "ADM", "QA", "SEC", "AUD"]  # heads who also countersign, sometimes
CONTRACT_TYPES = ["销售", "采购", "服务", "租赁", "保密", "框架"]
LEAVES = [("annual", "年假"), ("sick", "病假"), ("personal", "事假"), ("compensatory", "调休")]
COMMENTS = [
    "同意。",
    "同意，请按流程办理。",
    "已核对。",
    "票据齐全。",
    "情况属实，同意。",
    "可以。",
]


def _expense_claim(g: Generator, who: Person) -> Story:
    amount = round(g.rng.lognormvariate(8.0, 1.0) / 10) * 10 + 50
    kind, purpose = g.rng.choice(EXPENSES)
    place = g.rng.choice(PLACES)
    reviewer = g.rng.choice(g.finance_reviewers).username
    steps = [[Work("Task_ManagerApproval", "user", g.org.manager(who), "")]]
    if amount >= 5000:
        steps.append([Work("Task_DeptHeadApproval", "user", g.org.dept_head(who, 2), "")])
    steps.append([Work("Task_FinanceReview", "group", "finance_reviewer", reviewer)])
    if amount >= 5000:
        steps.append([Work("Task_GmApproval", "group", "general_manager", g.gm())])
    return Story(
        steps,
        {
            "initiator": who.username,
            "amount": amount,
            "expense_type": kind,
            "reason": f"{place}{purpose}",
        },
        f"{who.name}的费用报销：{place}{purpose} {amount:,} 元",
    )


def _leave_request(g: Generator, who: Person) -> Story:
    kind, label = g.rng.choice(LEAVES)
    days = g.rng.choice([0.5, 1, 1, 1, 2, 2, 3, 3, 5, 7, 10])
    colleagues = g.org.departments[who.department].members
    handover = g.org.people[g.rng.choice(colleagues)].username
    steps = [
        [Work("Task_HandoverConfirm", "user", handover, "")],
        [Work("Task_ManagerApproval", "user", g.org.manager(who), "")],
    ]
    if days > 3:
        steps.append([Work("Task_DeptHeadApproval", "user", g.org.dept_head(who, 2), "")])
        steps.append([Work("Task_HrFiling", "group", "hr_admin", g.pick("hr_admin"))])
    return Story(
        steps,
        {"initiator": who.username, "leave_type": kind, "days": days, "handover": handover},
        f"{who.name}的请假申请：{label} {days:g} 天",
    )


def _purchase_request(g: Generator, who: Person) -> Story:
    item = g.rng.choice(ITEMS)
    quantity = g.rng.choice([1, 1, 2, 3, 5, 10, 20])
    signers = [g.head_of("FIN"), g.head_of("PUR"), g.org.dept_head(who, 2)]
    signers += [g.head_of(code) for code in g.rng.sample(OPTIONAL_SIGNERS, g.rng.randint(1, 3))]
    signers = list(dict.fromkeys(signers))
    buyer = g.rng.choice(g.org.members("PUR")).username
    return Story(
        [
            [Work("Task_DeptHeadApproval", "user", g.org.dept_head(who, 1), "")],
            [Work("Task_Countersign", "user", name, "") for name in signers],
            [Work("Task_Purchase", "dept", "PUR", buyer)],
        ],
        {"initiator": who.username, "item": item, "quantity": quantity},
        f"{who.name}的采购申请：{item} × {quantity}",
    )


def _contract_review(g: Generator, who: Person) -> Story:
    company = g.rng.choice(COMPANIES)
    kind = g.rng.choice(CONTRACT_TYPES)
    lawyer = g.rng.choice(g.org.members("LEGAL")).username
    return Story(
        [
            [Work("Task_LegalReview", "dept", "LEGAL", lawyer)],
            [Work("Task_DeptHeadApproval", "user", g.org.dept_head(who, 1), "")],
            [Work("Task_GmApproval", "group", "general_manager", g.gm())],
        ],
        {"initiator": who.username, "counterparty": f"{company}有限公司", "contract_type": kind},
        f"{who.name}的合同审批：{company}{kind}合同",
    )


def _expense_approval(g: Generator, who: Person) -> Story:
    amount = g.rng.choice([1000, 8000])
    place = g.rng.choice(PLACES)
    steps = [
        [Work("Activity_FillClaim", "user", who.username, "")],
        [Work("Activity_ManagerApproval", "group", "managers", g.org.manager(who))],
    ]
    if amount > 5000:
        steps.append(
            [Work("Activity_DirectorApproval", "group", "directors", g.org.dept_head(who, 2))]
        )
    steps.append([Work("Activity_FinanceReview", "group", "finance", g.pick("finance"))])
    return Story(
        steps,
        {"initiator": who.username, "amount": amount, "currency": "EUR"},
        f"{who.name}的海外费用审批：{place}客户拜访 {amount:,} EUR",
    )


def _contract_countersign(g: Generator, who: Person) -> Story:
    company = g.rng.choice(COMPANIES)
    signers = [
        g.rng.choice(g.org.members("LEGAL")).username,
        g.rng.choice(g.org.members("FIN")).username,
        g.org.dept_head(who, 1),
    ]
    if g.rng.random() < 0.6:
        signers.append(g.org.dept_head(who, 2))
    signers += [g.head_of(code) for code in g.rng.sample(OPTIONAL_SIGNERS, g.rng.randint(1, 2))]
    signers = list(dict.fromkeys(signers))
    return Story(
        [
            [Work("Activity_DraftContract", "user", who.username, "")],
            [Work("Activity_Countersign", "user", name, "") for name in signers],
            [Work("Activity_ConfirmFiling", "group", "records", g.pick("records"))],
        ],
        {"initiator": who.username, "signers": signers},
        f"{who.name}的合同会签：{company}{g.rng.choice(CONTRACT_TYPES)}合同",
    )


def _onboarding(g: Generator, who: Person) -> Story:
    department = g.rng.choice(g.line_departments)
    head = g.org.people[g.org.departments[department].head]  # type: ignore[index]
    family, _p = g.rng.choice(FAMILY)
    given, _p = g.rng.choice(GIVEN)
    return Story(
        [
            [Work("Activity_EnterNewHire", "group", "hr", who.username)],
            [
                Work("Activity_ItAccount", "group", "it", g.pick("it")),
                Work("Activity_PrepareDesk", "group", "admin", g.pick("admin")),
                Work("Activity_AssignMentor", "user", head.username, ""),
            ],
            [Work("Activity_ProbationReview", "user", head.username, "")],
        ],
        {"initiator": who.username, "manager_id": head.username},
        f"新员工入职：{family}{given}（{g.org.departments[department].name}）",
    )


PLANS = (
    ProcessPlan("expense_claim", ROOT / "workflow/demo/expense_claim.bpmn", 0.26, "EXP", 2,
                "Start_Claim", "End_Approved", _expense_claim, resubmit_jump=True),
    ProcessPlan("leave_request", ROOT / "workflow/demo/leave_request.bpmn", 0.18, "LEA", 1,
                "Start_Leave", "End_Approved", _leave_request),
    ProcessPlan("purchase_request", ROOT / "workflow/demo/purchase_request.bpmn", 0.16, "PUR", 3,
                "Start_Purchase", "End_Purchased", _purchase_request),
    ProcessPlan("contract_review", ROOT / "workflow/demo/contract_review.bpmn", 0.1, "CON", 3,
                "Start_Contract", "End_Approved", _contract_review, service="Task_Archive"),
    ProcessPlan("expense_approval", SHARED_BPMN / "expense_approval.bpmn", 0.08, "EXA", 3,
                "StartEvent_1", "Event_ClaimApproved", _expense_approval),
    ProcessPlan("contract_countersign", SHARED_BPMN / "contract_countersign.bpmn", 0.1, "CCS", 5,
                "StartEvent_1", "Event_Signed", _contract_countersign,
                service="Activity_StorePdf"),
    ProcessPlan("employee_onboarding", SHARED_BPMN / "onboarding.bpmn", 0.12, "ONB", 5,
                "StartEvent_1", "Event_Onboarded", _onboarding, service="Activity_SyncHris"),
)  # fmt: skip


@dataclass
class Deployed:
    plan: ProcessPlan
    definition_id: int
    names: dict[str, str]  # element id -> name
    kinds: dict[str, str]  # element id -> BPMN element kind (history's element_kind)
    process_name: str = ""  # the process's name (its words go into each instance's search)


def deploy_processes() -> list[Deployed]:
    """Deploy every plan's file through the service; check the elements the stories use."""
    deployed = []
    categories = {p.key: p.category for p in DEMO_PROCESSES}
    for plan in PLANS:
        definition_deploy(xml=plan.source.read_bytes(), source_name=plan.source.name)
        definition = ProcessDefinition.objects.filter(key=plan.key).order_by("-version").first()
        assert definition is not None, plan.key
        ProcessSettings.objects.get_or_create(
            key=plan.key,
            defaults={
                "category": categories.get(plan.key, "共享流程"),
                "default_due": f"P{plan.due_days:g}D",
            },
        )
        graph = graph_for_definition(definition.pk)
        names = {e.id: e.name or e.id for e in graph.elements.values()}
        kinds = {e.id: e.kind.value for e in graph.elements.values()}
        deployed.append(Deployed(plan, definition.pk, names, kinds, graph.process.name or ""))
    return deployed


# --- writing ---------------------------------------------------------------------------------


def _ts(seconds: float) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).isoformat()


def _json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\\", "\\\\")  # COPY's text format escapes backslashes


class Copier:
    """Rows in COPY's text format, sent per table."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def copy(self, table: str, columns: str, rows: Sequence[str]) -> None:
        if not rows:
            return
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
        ):
            buffer = io.StringIO()
            for start in range(0, len(rows), 50_000):
                buffer.seek(0)
                buffer.truncate()
                buffer.write("\n".join(rows[start : start + 50_000]))
                buffer.write("\n")
                copy.write(buffer.getvalue())
        self.counts[table] = self.counts.get(table, 0) + len(rows)


@contextmanager
def bulk_load(tables: Sequence[str], log: TextIO) -> Iterator[None]:
    """Secondary indexes of ``tables`` dropped and foreign-key triggers off for the load;
    the indexes built again afterwards (primary keys and unique constraints stay)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) AND NOT x.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
            [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in indexes:
                cursor.execute(definition)
        log.write(f"  {len(indexes)} indexes built in {time.monotonic() - started:.1f} s\n")


# --- instances -------------------------------------------------------------------------------

INSTANCE_COLUMNS = (
    "id, definition_id, definition_key, business_key, title, initiator, state, variables, "
    "parent_id, parent_execution, root_id, end_event, started_at, ended_at, revision, next_number, "
    "search"
)
TASK_COLUMNS = (
    "id, instance_id, execution, definition_key, element_id, name, state, assignee, priority, "
    "form_key, created_at, due_at, completed_at, completed_by, outcome, data, on_behalf_of, "
    "owner, delegation, added_by_id, signer"
)
HISTORY_COLUMNS = (
    "instance_id, definition_key, kind, element_id, element_kind, task_id, actor, "
    "on_behalf_of, outcome, started_at, at, duration_ms, data"
)
N = "\\N"
# shares of the instances: how they ended (or did not)
FATES = (
    ("completed", 0.925),
    ("rejected", 0.03),
    ("cancelled", 0.008),
    ("terminated", 0.003),
    ("suspended", 0.005),
)  # the rest (2.9 %) run
RETURNED = 0.2  # 退回 once to the initiator, who resubmits
URGENT = 0.08
COPIED = 0.10  # 抄送 to a person or three
CLAIMED = 0.3  # of the open candidate tasks, taken by someone
OUTCOME_COMMENTS = {
    "returned": "材料不全，请补充后再提交。",
    "rejected": "不符合规定，不予批准。",
}


@dataclass(frozen=True)
class TaskRow:
    """What every task of one instance shares."""

    instance_id: int
    key: str
    priority: int


class Generator:
    """Walks every instance through its story and writes its rows."""

    def __init__(
        self, scale: Scale, org: Organization, deployed: list[Deployed], now: float
    ) -> None:
        self.scale = scale
        self.rng = random.Random(scale.seed)
        self.org = org
        self.deployed = deployed
        self.now = now
        self.span = scale.years * 365 * DAY
        self.people = list(org.people.values())
        self.finance_reviewers = org.holders("finance_reviewer")
        self.role_holders = {role: org.holders(role) for role in ROLES}
        self.gms = [org.people[p].username for p in org.departments[0].members]
        self.admins = [p.username for p in org.holders("process_admin")]
        self.line_departments = [
            i
            for i, u in enumerate(org.departments)
            if u.parent not in (None, 0) and u.parent != org.by_code["FUNC"]
        ]
        self.weights = [d.plan.weight for d in deployed]
        self.task_id = 0
        self.job_id = 0
        self.incident_id = 0
        self.rows: dict[str, list[str]] = {t: [] for t in BULK_TABLES}
        self.sequence: dict[str, int] = {}

    def pick(self, role: str) -> str:
        return self.rng.choice(self.role_holders[role]).username

    def gm(self) -> str:
        return self.rng.choice(self.gms)

    def head_of(self, code: str) -> str:
        return self.org.people[self.org.departments[self.org.by_code[code]].head].username  # type: ignore[index]

    # time ----------------------------------------------------------------------------------

    def _start_time(self, running: bool) -> float:
        if running:  # running instances started lately; a few are stuck for months
            age = (
                self.rng.expovariate(1 / (5 * DAY))
                if self.rng.random() < 0.9
                else self.rng.uniform(20, 120) * DAY
            )
            return self.now - min(age, 150 * DAY) - HOUR
        # more instances lately: the density grows linearly from 1/3 to 1 over the span
        x = math.sqrt(self.rng.uniform(1 / 9, 1.0))  # inverse CDF of density ∝ x on [1/3, 1]
        return self.now - self.span * (1 - (x - 1 / 3) / (2 / 3)) - 3 * DAY

    def _delay(self) -> float:
        """How long a person takes to act: mostly hours, sometimes days."""
        if self.rng.random() < 0.04:
            return self.rng.uniform(2, 9) * DAY
        return min(self.rng.lognormvariate(math.log(3 * HOUR), 1.1), 4 * DAY) + 60

    # one instance ---------------------------------------------------------------------------

    def _fate(self) -> str:
        fate = self.rng.random()
        for state, share in FATES:
            if fate < share:
                return state
            fate -= share
        return "active"

    def instance(self, instance_id: int) -> None:
        rng = self.rng
        d = rng.choices(self.deployed, self.weights)[0]
        plan = d.plan
        who = rng.choice(self.people)
        story = plan.story(self, who)
        state = self._fate()
        running = state in ("active", "suspended")
        start = self._start_time(running)
        steps = story.steps
        if len(steps) > 1 and rng.random() < RETURNED:
            back = rng.randrange(len(steps))
            resubmit = [Work(plan.start, "user", who.username, "")]
            again = steps[back:] if plan.resubmit_jump else steps
            steps = [*steps[:back], [replace(steps[back][0], returns=True)], resubmit, *again]
        # where the story stops: the open step of a running instance, the step an ended one
        # was rejected, cancelled or terminated at; or past the last (a failed service call)
        stop = len(steps)
        stuck = running and bool(plan.service) and rng.random() < 0.12
        if state in ("rejected", "cancelled", "terminated") or (running and not stuck):
            stop = rng.randrange(len(steps))
        # every task's time to act, squeezed so that the story fits between start and now
        delays = [[self._delay() for _w in step] for step in steps[: stop + 1]]
        total = sum(max(step) for step in delays) + 60 * len(delays)
        squeeze = min(1.0, (self.now - start - 300) / total)
        year = datetime.datetime.fromtimestamp(start, datetime.UTC).year
        sequence = self.sequence[plan.prefix] = self.sequence.get(plan.prefix, 0) + 1
        business_key = f"{plan.prefix}-{year}-{sequence:06d}"
        key = plan.key
        history = self.rows["workflow_historyevent"]
        history.append(
            f"{instance_id}\t{key}\tinstance-start\t{plan.start}\tstartEvent\t{N}\t{who.username}\t\t\t"
            f"{N}\t{_ts(start)}\t{N}\t{_json({'business_key': business_key})}"
        )
        history.append(
            f"{instance_id}\t{key}\tactivity\t{plan.start}\tstartEvent\t{N}\t\t\t\t{_ts(start)}\t"
            f"{_ts(start)}\t0\t{{}}"
        )
        task = TaskRow(instance_id, key, 80 if rng.random() < URGENT else 50)
        at = start + 30
        execution = 1
        open_tasks: list[tuple[int, Work, float]] = []  # (token number, work, created)
        for index, (step, step_delays) in enumerate(zip(steps, delays, strict=False)):
            created = at
            finished = created
            scope = len(step) > 1  # a multi-instance or parallel step: a scope token first
            for position, (work, delay) in enumerate(zip(step, step_delays, strict=True)):
                number = execution + position + (1 if scope else 0)
                due_at = _ts(created + d.plan.due_days * DAY) if work.element != plan.start else N
                done = created + delay * squeeze
                if index < stop:
                    outcome = (
                        "returned" if work.returns
                        else "submitted" if work.element == plan.start
                        else "approved"
                    )  # fmt: skip
                    self._task(task, d, work, number, created, due_at, outcome, done)
                    finished = max(finished, done)
                elif running:
                    self._task(task, d, work, number, created, due_at, "", None)
                    open_tasks.append((number, work, created))
                elif state == "rejected" and position == 0:
                    self._task(task, d, work, number, created, due_at, "rejected", done)
                    finished = max(finished, done)
                else:
                    self._task(task, d, work, number, created, due_at, "cancelled", done)
                    finished = max(finished, done)
            execution += len(step) + (1 if scope else 0)
            at = finished + 60 * squeeze
        if stuck:
            self._stuck(d, instance_id, execution, at)
            execution += 1
        for number, work, created in open_tasks:
            self._waiting(d, instance_id, number, work, created, len(open_tasks) > 1)
        if len(open_tasks) > 1:
            number, work, created = open_tasks[0]
            self.rows["workflow_execution"].append(
                f"{instance_id}\t{number - 1}\t{N}\t{work.element}\tscope\t{{}}\t{_ts(created)}"
            )
        ended_at = N
        end_event = ""
        if not running:
            ended_at = _ts(at)
            if state == "completed":
                end_event = plan.end
                history.append(
                    f"{instance_id}\t{key}\tactivity\t{plan.end}\tendEvent\t{N}\t\t\t\t{ended_at}\t"
                    f"{ended_at}\t0\t{{}}"
                )
                if plan.service and rng.random() < 0.01:
                    self._resolved_incident(d, instance_id, at)
            by = {"terminated": rng.choice(self.admins), "cancelled": who.username}.get(state, "")
            history.append(
                f"{instance_id}\t{key}\tinstance-end\t{end_event}\t"
                f"{'endEvent' if end_event else ''}\t{N}\t{by}\t\t{state}\t{_ts(start)}\t"
                f"{ended_at}\t{int((at - start) * 1000)}\t{{}}"
            )
        if rng.random() < COPIED:
            self._copies(instance_id, who, self.now if running else at, start)
        self.rows["workflow_processinstance"].append(
            f"{instance_id}\t{d.definition_id}\t{key}\t{business_key}\t{story.title}\t{who.username}\t"
            f"{state}\t{_json(story.variables)}\t{N}\t{N}\t{N}\t{end_event}\t{_ts(start)}\t{ended_at}\t"
            f"{len(steps) + 1}\t{execution + 1}\t"
            f"{search_text(story.title, d.process_name, business_key)}"
        )

    def _task(
        self,
        row: TaskRow,
        d: Deployed,
        work: Work,
        number: int,
        created: float,
        due_at: str,
        outcome: str,
        done: float | None,
    ) -> None:
        """One task and its history: created, claimed (candidate tasks someone took),
        completed or cancelled, and the activity row of its element."""
        self.task_id += 1
        task_id = self.task_id
        instance_id, key = row.instance_id, row.key
        history = self.rows["workflow_historyevent"]
        name = d.names[work.element]
        actor = work.actor or work.value
        assignee = work.value if work.kind == "user" else ""
        history.append(
            f"{instance_id}\t{key}\ttask-created\t{work.element}\tuserTask\t{task_id}\t{assignee}\t\t\t"
            f"{N}\t{_ts(created)}\t{N}\t{{}}"
        )
        if work.kind != "user":
            claimed = outcome not in ("", "cancelled") or self.rng.random() < CLAIMED
            # on offer: the task is open and nobody holds it (the database's triggers keep
            # this, but they are off during the load)
            offered = "t" if done is None and not claimed else "f"
            self.rows["workflow_taskcandidate"].append(
                f"{task_id}\t{work.kind}\t{work.value}\t{offered}"
            )
            if claimed:
                assignee = actor
                at = created + ((done or self.now) - created) / 2
                history.append(
                    f"{instance_id}\t{key}\ttask-claimed\t{work.element}\tuserTask\t{task_id}\t{actor}\t"
                    f"\t\t{N}\t{_ts(at)}\t{N}\t{{}}"
                )
        if done is None:
            self.rows["workflow_task"].append(
                f"{task_id}\t{instance_id}\t{number}\t{key}\t{work.element}\t{name}\topen\t{assignee}\t"
                f"{row.priority}\t\t{_ts(created)}\t{due_at}\t{N}\t\t\t{{}}\t\t\t\t{N}\t"
            )
            return
        ms = int((done - created) * 1000)
        if outcome == "cancelled":
            self.rows["workflow_task"].append(
                f"{task_id}\t{instance_id}\t{number}\t{key}\t{work.element}\t{name}\tcancelled\t"
                f"{assignee}\t{row.priority}\t\t{_ts(created)}\t{due_at}\t{_ts(done)}\t\t\t{{}}\t\t\t\t"
                f"{N}\t"
            )
            history.append(
                f"{instance_id}\t{key}\ttask-cancelled\t{work.element}\tuserTask\t{task_id}\t\t\t"
                f"cancelled\t{_ts(created)}\t{_ts(done)}\t{ms}\t{{}}"
            )
            return
        comment = OUTCOME_COMMENTS.get(outcome) or (
            self.rng.choice(COMMENTS) if self.rng.random() < 0.4 else ""
        )
        data = _json({"comment": comment}) if comment and outcome != "submitted" else "{}"
        self.rows["workflow_task"].append(
            f"{task_id}\t{instance_id}\t{number}\t{key}\t{work.element}\t{name}\tcompleted\t"
            f"{assignee or actor}\t{row.priority}\t\t{_ts(created)}\t{due_at}\t{_ts(done)}\t"
            f"{actor}\t{outcome}\t{{}}\t\t\t\t{N}\t"
        )
        history.append(
            f"{instance_id}\t{key}\ttask-completed\t{work.element}\tuserTask\t{task_id}\t{actor}\t\t"
            f"{outcome}\t{_ts(created)}\t{_ts(done)}\t{ms}\t{data}"
        )
        history.append(
            f"{instance_id}\t{key}\tactivity\t{work.element}\tuserTask\t{N}\t\t\t\t{_ts(created)}\t"
            f"{_ts(done)}\t{ms}\t{{}}"
        )

    def _waiting(
        self, d: Deployed, instance_id: int, number: int, work: Work, created: float, child: bool
    ) -> None:
        """The token at an open task, and the task's reminder and time-out jobs that have
        not fired yet."""
        parent = number - 1 if child else N
        self.rows["workflow_execution"].append(
            f"{instance_id}\t{number}\t{parent}\t{work.element}\twaiting\t{{}}\t{_ts(created)}"
        )
        due = created + d.plan.due_days * DAY
        for kind, at, payload in (
            ("reminder", due - 4 * HOUR, "{}"),
            ("timeout", due, '{"policy":"remind"}'),
        ):
            if at > self.now:
                self._job(
                    d, instance_id, number, kind, work.element, at, 3, 0, "", payload, created
                )

    def _job(
        self,
        d: Deployed,
        instance_id: int,
        number: int,
        kind: str,
        element: str,
        due: float,
        retries: int,
        attempts: int,
        error: str,
        payload: str,
        created: float,
    ) -> int:
        self.job_id += 1
        self.rows["workflow_job"].append(
            f"{self.job_id}\t{instance_id}\t{instance_id}\t{d.definition_id}\t{number}\t{kind}\t"
            f"{element}\t{_ts(due)}\t{retries}\t{attempts}\t\t{N}\t{error}\t{payload}\t{_ts(created)}"
        )
        return self.job_id

    def _stuck(self, d: Deployed, instance_id: int, number: int, at: float) -> None:
        """A token at a service task whose call failed every retry: the spent job and an
        open incident."""
        element = d.plan.service
        message = f"{element}: the connection is not configured; set the bridge URL"
        failed = at + 15 * 60
        self.rows["workflow_execution"].append(
            f"{instance_id}\t{number}\t{N}\t{element}\twaiting\t{{}}\t{_ts(at)}"
        )
        job_id = self._job(
            d, instance_id, number, "service", element, failed, 0, 3, message, "{}", at
        )
        self.incident_id += 1
        self.rows["workflow_incident"].append(
            f"{self.incident_id}\t{instance_id}\t{job_id}\t{element}\t{message}\t{_ts(failed)}\t{N}\t"
        )
        self.rows["workflow_historyevent"].append(
            f"{instance_id}\t{d.plan.key}\tincident\t{element}\t\t{N}\t\t\t\t{N}\t{_ts(failed)}\t{N}\t"
            f"{_json({'message': message})}"
        )

    def _resolved_incident(self, d: Deployed, instance_id: int, at: float) -> None:
        element = d.plan.service
        self.incident_id += 1
        failed = at - 2 * HOUR
        self.rows["workflow_incident"].append(
            f"{self.incident_id}\t{instance_id}\t{N}\t{element}\t{element}: the remote system "
            f"answered 503\t"
            f"{_ts(failed)}\t{_ts(at - 60)}\t{self.rng.choice(self.admins)}"
        )

    def _copies(self, instance_id: int, who: Person, until: float, start: float) -> None:
        """抄送 to the initiator's manager and a colleague or two; read unless recent."""
        rng = self.rng
        colleagues = self.org.departments[who.department].members
        targets = {self.org.people[who.manager].id} if who.manager else set()
        for _n in range(rng.randint(0, 2)):
            targets.add(rng.choice(colleagues))
        targets.discard(who.id)
        for user_id in targets:
            at = rng.uniform(start, max(start, until))
            recent = self.now - at < 7 * DAY
            read = rng.random() < (0.4 if recent else 0.85)
            read_at = _ts(min(at + rng.uniform(60, 3 * DAY), self.now)) if read else N
            self.rows["workflow_carboncopy"].append(
                f"{instance_id}\t{user_id}\t{who.username}\t\t\t{_ts(at)}\t{read_at}"
            )

    def flush(self, out: Copier) -> None:
        columns = {
            "workflow_processinstance": INSTANCE_COLUMNS,
            "workflow_task": TASK_COLUMNS,
            "workflow_taskcandidate": "task_id, kind, value, offered",
            "workflow_historyevent": HISTORY_COLUMNS,
            "workflow_execution": (
                "instance_id, number, parent, element_id, state, variables, entered_at"
            ),
            "workflow_job": (
                "id, instance_id, root_instance_id, definition_id, execution, kind, "
                "element_id, due_at, retries, attempts, locked_by, locked_until, last_error, "
                "payload, created_at"
            ),
            "workflow_incident": (
                "id, instance_id, job_id, element_id, message, created_at, resolved_at, resolved_by"
            ),
            "workflow_carboncopy": (
                "instance_id, user_id, sent_by, element_id, comment, created_at, read_at"
            ),
        }
        for table, names in columns.items():
            rows = self.rows[table]
            out.copy(table, names, rows)
            rows.clear()


def _reset_sequences(tables: Sequence[str]) -> None:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - our tables
                f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            )


def generate(scale: Scale, log: TextIO) -> dict[str, int]:
    """Fill the (migrated, empty) database; the row count of each table filled."""
    rng = random.Random(scale.seed)
    now = timezone.now().timestamp()
    out = Copier()
    started = time.monotonic()
    with transaction.atomic():
        org = plan_organization(scale, rng)
        write_organization(org, out, now)
        deployed = deploy_processes()
    log.write(f"  organization and processes in {time.monotonic() - started:.1f} s\n")
    generator = Generator(scale, org, deployed, now)
    chunk = 20_000
    with bulk_load(BULK_TABLES[2:], log):
        for first in range(1, scale.instances + 1, chunk):
            with transaction.atomic():
                for instance_id in range(first, min(first + chunk, scale.instances + 1)):
                    generator.instance(instance_id)
                generator.flush(out)
            log.write(
                f"  {min(first + chunk - 1, scale.instances):,} instances "
                f"({time.monotonic() - started:.0f} s)\n"
            )
    _reset_sequences(BULK_TABLES[:1] + BULK_TABLES[2:])
    with connection.cursor() as cursor:  # as autovacuum would: statistics, visibility map
        cursor.execute("VACUUM ANALYZE")
    log.write(f"  generated and vacuumed in {time.monotonic() - started:.1f} s\n")
    return out.counts


# the invariants the pages rely on, each a count that must be 0
INVARIANTS = {
    "open tasks of ended instances": (
        "SELECT COUNT(*) FROM workflow_task t JOIN workflow_processinstance i "
        "ON i.id = t.instance_id WHERE t.state = 'open' AND i.state NOT IN ('active', 'suspended')"
    ),
    "running instances without a token": (
        "SELECT COUNT(*) FROM workflow_processinstance i WHERE i.state IN ('active', 'suspended') "
        "AND NOT EXISTS (SELECT 1 FROM workflow_execution e WHERE e.instance_id = i.id)"
    ),
    "open tasks without their token": (
        "SELECT COUNT(*) FROM workflow_task t WHERE t.state = 'open' AND NOT EXISTS (SELECT 1 "
        "FROM workflow_execution e WHERE e.instance_id = t.instance_id AND e.number = t.execution)"
    ),
    "candidate rows on offer that disagree with their task": (
        "SELECT COUNT(*) FROM workflow_taskcandidate c JOIN workflow_task t ON t.id = c.task_id "
        "WHERE c.offered <> (t.state = 'open' AND t.assignee = '')"
    ),
    "unclaimed open tasks nobody may claim": (
        "SELECT COUNT(*) FROM workflow_task t WHERE t.state = 'open' AND t.assignee = '' AND NOT "
        "EXISTS (SELECT 1 FROM workflow_taskcandidate c WHERE c.task_id = t.id)"
    ),
    "tokens or jobs of ended instances": (
        "SELECT (SELECT COUNT(*) FROM workflow_execution e JOIN workflow_processinstance i "
        "ON i.id = e.instance_id WHERE i.ended_at IS NOT NULL) + (SELECT COUNT(*) FROM "
        "workflow_job j JOIN workflow_processinstance i ON i.id = j.instance_id "
        "WHERE i.ended_at IS NOT NULL)"
    ),
    "completed tasks without who and when": (
        "SELECT COUNT(*) FROM workflow_task WHERE state = 'completed' "
        "AND (completed_by = '' OR completed_at IS NULL OR completed_at < created_at)"
    ),
    "tasks without their task-created history row": (
        "SELECT (SELECT COUNT(*) FROM workflow_task) - (SELECT COUNT(*) FROM "
        "workflow_historyevent WHERE kind = 'task-created')"
    ),
    "instances without their instance-start history row": (
        "SELECT (SELECT COUNT(*) FROM workflow_processinstance) - (SELECT COUNT(*) FROM "
        "workflow_historyevent WHERE kind = 'instance-start')"
    ),
    "open incidents without a spent job": (
        "SELECT COUNT(*) FROM workflow_incident x WHERE x.resolved_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM workflow_job j WHERE j.id = x.job_id AND j.retries = 0)"
    ),
    "things in the future": (
        "SELECT (SELECT COUNT(*) FROM workflow_task WHERE created_at > now() "
        "OR completed_at > now()) + (SELECT COUNT(*) FROM workflow_processinstance "
        "WHERE started_at > now() OR ended_at > now())"
    ),
}


def check_invariants() -> dict[str, int]:
    """Each invariant's count of rows that break it (all 0 when the data is sound)."""
    found = {}
    with connection.cursor() as cursor:
        for name, sql in INVARIANTS.items():
            cursor.execute(sql)
            (found[name],) = cursor.fetchone()
    return found
