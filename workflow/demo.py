"""Demo processes for the demo organization (``manage.py seed_demo``).

Four BPMN files in ``workflow/demo/`` (费用报销, 请假申请, 采购申请, 合同审批) are deployed,
each gets its process settings (the catalogue category, what a rejection does, due dates and
reminders), and a dozen instances are started and walked forward with the approval actions
people use, so that the demo logins find work waiting in their inbox: 张伟's expense claims
with his manager, a claim with the finance reviewers, a leave request that reaches 黄丽 on
behalf of 陈静 (on leave), a purchase request in countersign with one vote cast, a contract
whose legal reviewer asked finance to sign before her (加签), and an approved contract
whose archiving in the document system failed (an incident, while ``DMS_BRIDGE_URL`` is unset).

Idempotent: an unchanged file deploys nothing, settings are saved only when they differ,
and an instance whose business key (``DEMO-…``) exists is left alone, so a second run
changes nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from portal import calendar, registry
from portal.models import CalendarDay, DayKind, LeaveBalance, Role, User
from portal.selectors import person_find
from workflow import participants
from workflow.bpmn.model import BpmnError
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import EngineError
from workflow.engine.store import latest_definition
from workflow.forms import validate_step_data
from workflow.models import (
    EmptyAssigneePolicy,
    InitiatorApproverPolicy,
    ProcessInstance,
    ProcessSettings,
    RejectPolicy,
    ResubmitPolicy,
    Task,
    TaskState,
    TimeoutPolicy,
)
from workflow.selectors.inbox import tasks_todo
from workflow.services import approvals, notifications
from workflow.services.definitions import definition_deploy
from workflow.services.engine import instance_start

DEMO_DIR = Path(__file__).resolve().parent / "demo"
BUSINESS_KEY_PREFIX = "DEMO-"


class Output(Protocol):
    """Where a run reports: a text stream or a management command's ``stdout``."""

    def write(self, text: str, /) -> object: ...


class DemoSeedError(registry.DemoSeedError):
    """The demo data does not fit the processes or the organization (a bug in this file)."""


# --- the processes and their settings ------------------------------------------------------


@dataclass(frozen=True)
class DemoProcess:
    key: str  # the BPMN process id; the file is workflow/demo/<key>.bpmn
    category: str
    description: str
    reject: str
    resubmit: str
    escalation_role: str
    empty_assignee: str = EmptyAssigneePolicy.SKIP
    default_due: str = "P2D"
    remind_before: str = "PT4H"
    timeout: str = TimeoutPolicy.REMIND
    cc_at_end: str = ""

    @property
    def path(self) -> Path:
        return DEMO_DIR / f"{self.key}.bpmn"


PROCESSES: tuple[DemoProcess, ...] = (
    DemoProcess(
        "expense_claim",
        "财务",
        "差旅、招待、办公等费用的报销。直属上级审批后由财务审核；5000 元及以上的报销"
        "增加部门负责人和总经理审批。被驳回的报销退回发起人修改，重新提交后直接回到驳回的那一步。",
        reject=RejectPolicy.RETURN,
        resubmit=ResubmitPolicy.JUMP,
        escalation_role="finance_reviewer",
    ),
    DemoProcess(
        "leave_request",
        "人事",
        "年假、病假、事假和调休。工作交接人确认后由上级审批；超过 3 天的请假再经部门负责人"
        "审批并由人事备案。被驳回的请假即结束，需要时重新申请。",
        reject=RejectPolicy.END,
        resubmit=ResubmitPolicy.RESTART,
        escalation_role="hr_admin",
        default_due="P1D",
        remind_before="PT2H",
    ),
    DemoProcess(
        "purchase_request",
        "采购",
        "物资和设备的采购申请。部门负责人审批后由财务、采购等负责人会签（全部同意才通过），"
        "再由采购部执行采购。驳回由流程图决定走向（未通过即结束）。",
        reject=RejectPolicy.ROUTE,
        resubmit=ResubmitPolicy.RESTART,
        escalation_role="dept_head",
        default_due="P3D",
        remind_before="PT8H",
    ),
    DemoProcess(
        "contract_review",
        "法务",
        "对外签订的销售、采购和服务合同。法务审核条款后由部门负责人和总经理审批，"
        "结果抄送发起人的上级。被驳回的合同退回发起人修改后重新走完整个审批。",
        reject=RejectPolicy.RETURN,
        resubmit=ResubmitPolicy.RESTART,
        escalation_role="general_manager",
        default_due="P3D",
        remind_before="PT8H",
        timeout=TimeoutPolicy.ESCALATE,
    ),
)


# The English names of the demo processes (ProcessSettings.translations, see
# workflow.translation): what an English reader sees instead of the BPMN files' Chinese.
TRANSLATIONS: dict[str, dict[str, dict[str, str]]] = {
    "expense_claim": {
        "en": {
            "category": "Finance",
            "process": "Expense claim",
            "description": "Claims for travel, entertainment, office and other expenses. The "
            "line manager approves, then finance reviews; claims of 5,000 yuan or more also go "
            "to the department head and the general manager. A rejected claim returns to the "
            "claimant and, once resubmitted, goes straight back to the step that rejected it.",
            "Start_Claim": "Submit the claim",
            "Task_ManagerApproval": "Line manager approval",
            "Gateway_Amount": "5,000 yuan or more?",
            "Task_DeptHeadApproval": "Department head approval",
            "Gateway_Merge": "Merge",
            "Task_FinanceReview": "Finance review",
            "Gateway_NeedsGm": "General manager needed?",
            "Task_GmApproval": "General manager approval",
            "Task_PostToErp": "Post to the ERP",
            "End_Approved": "Claim approved",
            "field:reason": "Purpose",
            "field:amount": "Amount",
            "field:expense_type": "Expense type",
            "enum:expense_type:travel": "Travel",
            "enum:expense_type:entertainment": "Entertainment",
            "enum:expense_type:office": "Office",
            "enum:expense_type:other": "Other",
            "field:expense_date": "Date incurred",
            "field:approved_amount": "Approved amount",
        }
    },
    "leave_request": {
        "en": {
            "category": "HR",
            "process": "Leave request",
            "description": "Annual, sick, personal and compensatory leave. The colleague taking "
            "over confirms, then the manager approves; leave of more than 3 days also goes to "
            "the department head and is filed by HR. A rejected request ends; apply again if "
            "needed.",
            "Start_Leave": "Submit the leave request",
            "Task_HandoverConfirm": "Hand-over confirmation",
            "Task_ManagerApproval": "Manager approval",
            "Gateway_Days": "More than 3 days?",
            "Task_DeptHeadApproval": "Department head approval",
            "Task_HrFiling": "HR filing",
            "End_Approved": "Leave granted",
            "field:leave_type": "Leave type",
            "enum:leave_type:annual": "Annual leave",
            "enum:leave_type:sick": "Sick leave",
            "enum:leave_type:personal": "Personal leave",
            "enum:leave_type:compensatory": "Compensatory leave",
            "field:start_date": "Start date",
            "field:start_half": "Starting",
            "enum:start_half:am": "Morning",
            "enum:start_half:pm": "Afternoon",
            "field:end_half": "Ending",
            "enum:end_half:am": "Morning",
            "enum:end_half:pm": "Afternoon",
            "field:end_date": "End date",
            "field:days": "Days",
            "field:reason": "Reason",
            "field:handover": "Hand over to",
            "field:handover_opinion": "Hand-over notes",
            "field:hr_note": "Filing note",
        }
    },
    "purchase_request": {
        "en": {
            "category": "Purchasing",
            "process": "Purchase request",
            "description": "Requests to buy goods and equipment. The department head approves, "
            "then the heads of finance, purchasing and others countersign (all must agree), and "
            "the purchasing department buys. The diagram decides what a rejection does (it "
            "ends the request).",
            "Start_Purchase": "Submit the purchase request",
            "Task_DeptHeadApproval": "Department head approval",
            "Gateway_HeadDecision": "Approved by the department head?",
            "Task_Countersign": "Countersign",
            "Gateway_CountersignDecision": "Countersign passed?",
            "Task_Purchase": "Purchasing",
            "End_Purchased": "Purchased",
            "End_Rejected": "Not approved",
            "field:item": "Item",
            "field:approvers": "Countersigners (none chosen: the finance reviewers)",
            "field:quantity": "Quantity",
            "field:budget": "Budget",
            "field:supplier": "Supplier",
            "field:purpose": "Purpose",
            "field:po_number": "Purchase order number",
            "field:actual_amount": "Actual amount",
        }
    },
    "contract_review": {
        "en": {
            "category": "Legal",
            "process": "Contract review",
            "description": "Sales, purchase and service contracts with other companies. Legal "
            "reviews the terms, then the department head and the general manager approve; the "
            "initiator's manager is copied on the result. A rejected contract returns to the "
            "initiator and, once resubmitted, goes through every step again.",
            "Start_Contract": "Submit the contract",
            "Task_LegalReview": "Legal review",
            "Task_DeptHeadApproval": "Department head approval",
            "Task_GmApproval": "General manager approval",
            "Task_Archive": "Archive in the document system",
            "End_Approved": "Contract approved",
            "field:contract_name": "Contract name",
            "field:counterparty": "Counterparty",
            "field:contract_type": "Contract type",
            "enum:contract_type:sales": "Sales contract",
            "enum:contract_type:purchase": "Purchase contract",
            "enum:contract_type:service": "Service contract",
            "enum:contract_type:other": "Other",
            "field:contract_amount": "Contract amount",
            "field:sign_date": "Signing date",
        }
    },
}


# --- the instances ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    """One thing a person does on the open task of a step (the task they may handle)."""

    action: str  # approve | claim | sign_before | return
    element_id: str
    user: str
    comment: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)
    signers: tuple[str, ...] = ()  # sign_before: who signs before ``user``


@dataclass(frozen=True)
class DemoInstance:
    business_key: str
    process: str
    initiator: str
    title: str
    form: Mapping[str, Any]  # the start form, validated as if typed in
    extra: Mapping[str, Any] = field(default_factory=dict)  # variables beside the form
    acts: tuple[Act, ...] = ()


def _day(offset: int) -> str:
    return (timezone.localdate() + datetime.timedelta(days=offset)).isoformat()


def _workdays(offset: int, count: int) -> tuple[str, str]:
    """The first and last day of ``count`` workdays in a row from the first Monday at least
    ``offset`` days from today whose week has no public holiday in them (the leave forms
    count the days with the business calendar, so a demo leave of 5 days must be 5)."""
    day = timezone.localdate() + datetime.timedelta(days=offset)
    day += datetime.timedelta(days=-day.weekday() % 7)
    for _week in range(60):
        last = day + datetime.timedelta(days=count - 1)
        if calendar.leave_days(day, calendar.AM, last, calendar.PM) == count:
            return day.isoformat(), last.isoformat()
        day += datetime.timedelta(days=7)
    raise DemoSeedError(f"no {count} workdays in a row in the next year")


def _leave(start: str, end: str) -> dict[str, str]:
    """The dates of a leave of whole days; its form counts the days."""
    return {"start_date": start, "start_half": "am", "end_date": end, "end_half": "pm"}


def demo_instances() -> tuple[DemoInstance, ...]:
    """The demo instances, with dates around today."""
    return (
        # 费用报销: 张伟's claims (the one below 5000 waits for his manager 杨帆, the one
        # above went on to 李娜), a claim with the finance reviewers, one with the general
        # manager, one returned to 张伟 for a missing invoice, one done.
        DemoInstance(
            "DEMO-EXP-0001",
            "expense_claim",
            "zhangwei",
            "张伟的费用报销：上海客户拜访差旅费 3,200 元",
            {
                "reason": "上海客户拜访（高铁往返及两晚住宿）",
                "amount": 3200,
                "expense_type": "travel",
                "expense_date": _day(-6),
            },
        ),
        DemoInstance(
            "DEMO-EXP-0002",
            "expense_claim",
            "zhangwei",
            "张伟的费用报销：苏州恒通项目客户招待 8,600 元",
            {
                "reason": "苏州恒通精密机械项目签约前客户招待",
                "amount": 8600,
                "expense_type": "entertainment",
                "expense_date": _day(-4),
            },
            acts=(Act("approve", "Task_ManagerApproval", "yangfan", "项目关键节点，同意。"),),
        ),
        DemoInstance(
            "DEMO-EXP-0003",
            "expense_claim",
            "wangfang",
            "王芳的费用报销：展会宣传物料 1,280 元",
            {
                "reason": "华东区域展会宣传册印刷",
                "amount": 1280,
                "expense_type": "office",
                "expense_date": _day(-3),
            },
            acts=(Act("approve", "Task_ManagerApproval", "yangfan", "同意。"),),
        ),
        DemoInstance(
            "DEMO-EXP-0004",
            "expense_claim",
            "xuming",
            "徐明的费用报销：广州工业展差旅费 12,800 元",
            {
                "reason": "参加广州国际工业自动化展（机票、住宿、展位搭建）",
                "amount": 12800,
                "expense_type": "travel",
                "expense_date": _day(-10),
            },
            acts=(
                Act("approve", "Task_ManagerApproval", "yangfan", "同意。"),
                Act("approve", "Task_DeptHeadApproval", "lina", "展会获客效果好，同意。"),
                Act(
                    "approve",
                    "Task_FinanceReview",
                    "liuyang",
                    "票据齐全，住宿标准符合制度。",
                    {"approved_amount": 12800},
                ),
            ),
        ),
        DemoInstance(
            "DEMO-EXP-0005",
            "expense_claim",
            "zhangwei",
            "张伟的费用报销：客户资料快递费 260 元",
            {
                "reason": "寄送投标资料的快递费",
                "amount": 260,
                "expense_type": "other",
                "expense_date": _day(-8),
            },
            acts=(
                Act("return", "Task_ManagerApproval", "yangfan", "缺少快递发票，请补充后再提交。"),
            ),
        ),
        DemoInstance(
            "DEMO-EXP-0006",
            "expense_claim",
            "wangfang",
            "王芳的费用报销：杭州客户拜访交通费 860 元",
            {
                "reason": "杭州客户拜访往返交通",
                "amount": 860,
                "expense_type": "travel",
                "expense_date": _day(-15),
            },
            acts=(
                Act("approve", "Task_ManagerApproval", "yangfan", "同意。"),
                Act(
                    "approve",
                    "Task_FinanceReview",
                    "huangli",
                    "已核对。",
                    {"approved_amount": 860},
                ),
            ),
        ),
        # 请假申请: 吴磊 names 陈静 (on leave) as his hand-over, so 黄丽 confirms on her
        # behalf; 张伟 is 王芳's hand-over; longer leaves waiting for 李娜 and for HR.
        DemoInstance(
            "DEMO-LEAVE-0001",
            "leave_request",
            "wulei",
            "吴磊的请假申请：年假 5 天",
            {
                "leave_type": "annual",
                **_leave(*_workdays(7, 5)),
                "reason": "回老家探亲",
                "handover": "chenjing",
            },
        ),
        DemoInstance(
            "DEMO-LEAVE-0002",
            "leave_request",
            "wangfang",
            "王芳的请假申请：事假 2 天",
            {
                "leave_type": "personal",
                **_leave(*_workdays(3, 2)),
                "reason": "办理购房手续",
                "handover": "zhangwei",
            },
        ),
        DemoInstance(
            "DEMO-LEAVE-0003",
            "leave_request",
            "machao",
            "马超的请假申请：病假 4 天",
            {
                "leave_type": "sick",
                **_leave(*_workdays(0, 4)),
                "reason": "急性肠胃炎，遵医嘱休息（附病假条）",
                "handover": "kongliang",
            },
            acts=(
                Act("approve", "Task_HandoverConfirm", "kongliang", "客户跟进已交接。"),
                Act("approve", "Task_ManagerApproval", "yangfan", "好好休息。"),
            ),
        ),
        DemoInstance(
            "DEMO-LEAVE-0004",
            "leave_request",
            "lvbin",
            "吕斌的请假申请：年假 5 天",
            {
                "leave_type": "annual",
                **_leave(*_workdays(14, 5)),
                "reason": "家庭旅行",
                "handover": "dingyong",
            },
            acts=(
                Act("approve", "Task_HandoverConfirm", "dingyong", "工艺文件已交接。"),
                Act("approve", "Task_ManagerApproval", "weidong", "同意，注意排产交接。"),
                Act("approve", "Task_DeptHeadApproval", "sujianhua", "同意。"),
            ),
        ),
        # 采购申请: servers in countersign (杜鹏 voted, 王秀英 and 陈建国 still to vote);
        # office supplies with the buyers.
        DemoInstance(
            "DEMO-PUR-0001",
            "purchase_request",
            "xiaoran",
            "萧然的采购申请：测试环境服务器 2 台",
            {
                "item": "机架式服务器（2U，双路 CPU，256G 内存）",
                "quantity": 2,
                "budget": 86000,
                "supplier": "联想（北京）有限公司",
                "purpose": "MES 系统升级的测试与预发布环境",
                "approvers": ["dupeng", "wangxiuying", "chenjianguo"],
            },
            acts=(
                Act("approve", "Task_DeptHeadApproval", "xugang", "测试环境确有需要，同意。"),
                Act("approve", "Task_Countersign", "dupeng", "已比价三家，联想报价最低。"),
            ),
        ),
        DemoInstance(
            "DEMO-PUR-0002",
            "purchase_request",
            "caiqin",
            "蔡琴的采购申请：办公用品（A4 纸 50 箱）",
            {
                "item": "A4 复印纸（70g，每箱 5 包）",
                "quantity": 50,
                "budget": 6000,
                "supplier": "得力集团",
                "purpose": "总部第二季度办公用纸",
                "approvers": ["wangxiuying"],
            },
            acts=(
                Act("approve", "Task_DeptHeadApproval", "jianghua", "同意。"),
                Act("approve", "Task_Countersign", "wangxiuying", "在预算内。"),
            ),
        ),
        # 合同审批: 谢薇 (legal) asked 王秀英 to check the payment terms before her; another
        # contract waits for the general manager.
        DemoInstance(
            "DEMO-CON-0001",
            "contract_review",
            "yangfan",
            "杨帆的合同审批：华东区域经销合作协议",
            {
                "contract_name": "华东区域经销合作协议（2025 年度）",
                "counterparty": "苏州恒通精密机械有限公司",
                "contract_type": "sales",
                "contract_amount": 1280000,
                "sign_date": _day(10),
            },
            acts=(
                Act("claim", "Task_LegalReview", "xiewei"),
                Act(
                    "sign_before",
                    "Task_LegalReview",
                    "xiewei",
                    "付款条款为 90 天账期，请财务先确认资金风险。",
                    signers=("wangxiuying",),
                ),
            ),
        ),
        DemoInstance(
            "DEMO-CON-0002",
            "contract_review",
            "hejun",
            "何军的合同审批：设备维保服务合同",
            {
                "contract_name": "生产设备年度维保服务合同",
                "counterparty": "广州粤信设备服务有限公司",
                "contract_type": "service",
                "contract_amount": 360000,
                "sign_date": _day(5),
            },
            acts=(
                Act("approve", "Task_LegalReview", "zoukai", "违约责任条款已按我方模板修改。"),
                Act("approve", "Task_DeptHeadApproval", "lina", "同意。"),
            ),
        ),
        # approved all the way; archiving it in the document system fails while
        # DMS_BRIDGE_URL is not set: an incident for the monitoring console.
        DemoInstance(
            "DEMO-CON-0003",
            "contract_review",
            "yangfan",
            "杨帆的合同审批：办公楼物业服务合同",
            {
                "contract_name": "总部办公楼物业服务合同（2025—2026）",
                "counterparty": "上海锦华物业管理有限公司",
                "contract_type": "service",
                "contract_amount": 240000,
                "sign_date": _day(3),
            },
            acts=(
                Act("claim", "Task_LegalReview", "xiewei"),
                Act("approve", "Task_LegalReview", "xiewei", "条款无误。"),
                Act("approve", "Task_DeptHeadApproval", "lina", "同意。"),
                Act("claim", "Task_GmApproval", "chenjianguo"),
                Act("approve", "Task_GmApproval", "chenjianguo", "同意签订。"),
            ),
        ),
    )


# --- the business calendar and leave balances (HR data the leave form reads) ----------------

# The State Council's notice on the public holidays of 2026 (国办发明电〔2025〕7号, published
# 4 November 2025): every day off of each holiday, and the weekend days worked instead (调休).
_HOLIDAYS_2026: tuple[tuple[str, str, str], ...] = (
    ("元旦", "2026-01-01", "2026-01-03"),
    ("春节", "2026-02-15", "2026-02-23"),
    ("清明节", "2026-04-04", "2026-04-06"),
    ("劳动节", "2026-05-01", "2026-05-05"),
    ("端午节", "2026-06-19", "2026-06-21"),
    ("中秋节", "2026-09-25", "2026-09-27"),
    ("国庆节", "2026-10-01", "2026-10-07"),
)
_MAKE_UP_WORKDAYS_2026: tuple[tuple[str, str], ...] = (
    ("2026-01-04", "元旦调休上班"),
    ("2026-02-14", "春节调休上班"),
    ("2026-02-28", "春节调休上班"),
    ("2026-05-09", "劳动节调休上班"),
    ("2026-09-20", "国庆节调休上班"),
    ("2026-10-10", "国庆节调休上班"),
)


def calendar_2026() -> list[tuple[datetime.date, str, str]]:
    """The 2026 calendar exceptions as (date, kind, name)."""
    days: list[tuple[datetime.date, str, str]] = []
    for name, first, last in _HOLIDAYS_2026:
        day = datetime.date.fromisoformat(first)
        while day <= datetime.date.fromisoformat(last):
            days.append((day, DayKind.HOLIDAY, name))
            day += datetime.timedelta(days=1)
    for text, name in _MAKE_UP_WORKDAYS_2026:
        days.append((datetime.date.fromisoformat(text), DayKind.WORKDAY, name))
    return days


# Days left per person and kind of leave (the leave form's enum ids); whoever has no row of a
# kind is not limited by the form.
LEAVE_BALANCES: tuple[tuple[str, str, str], ...] = (
    ("zhangwei", "annual", "5"),
    ("zhangwei", "sick", "10"),
    ("zhangwei", "compensatory", "1.5"),
    ("wangfang", "annual", "7.5"),
    ("wulei", "annual", "10"),
    ("machao", "sick", "10"),
    ("lvbin", "annual", "12"),
)


def seed_hr_data() -> int:
    """Bring the 2026 calendar and the demo leave balances to the values above; how many
    rows were created or changed."""
    changed = 0
    for day, kind, name in calendar_2026():
        row = CalendarDay.objects.filter(date=day).first()
        if row is None or (row.kind, row.name) != (kind, name):
            CalendarDay.objects.update_or_create(date=day, defaults={"kind": kind, "name": name})
            changed += 1
    for username, kind, days in LEAVE_BALANCES:
        person = _user(username)
        balance = LeaveBalance.objects.filter(user=person, leave_type=kind).first()
        if balance is None or balance.days != Decimal(days):
            LeaveBalance.objects.update_or_create(
                user=person, leave_type=kind, defaults={"days": Decimal(days)}
            )
            changed += 1
    return changed


# --- seeding ---------------------------------------------------------------------------------


def seed_workflow_demo(*, stdout: Output | None = None) -> dict[str, int]:
    """Deploy the demo processes, save their settings and start the demo instances that do
    not exist yet; what this run did, by kind. Needs the demo organization (``seed_demo``).
    One transaction: on an error nothing of the run is kept."""
    stats = dict.fromkeys(
        (
            "deployed",
            "unchanged",
            "settings_saved",
            "settings_unchanged",
            "instances_started",
            "instances_existing",
            "hr_rows_saved",
        ),
        0,
    )
    with transaction.atomic():
        stats["hr_rows_saved"] = seed_hr_data()
        for process in PROCESSES:
            try:
                results = definition_deploy(
                    xml=process.path.read_bytes(), source_name=process.path.name
                )
            except BpmnError as exc:
                problems = "; ".join(f"{p.element_id}: {p.message}" for p in exc.problems)
                raise DemoSeedError(f"{process.path.name}: {problems}") from exc
            for deployed in results:
                stats["deployed" if deployed.created else "unchanged"] += 1
            saved = _save_settings(process)
            stats["settings_saved" if saved else "settings_unchanged"] += 1
        # the engine reads settings through a short cache: make it see the rows just saved
        participants.forget_settings()
        for demo in demo_instances():
            if ProcessInstance.objects.filter(business_key=demo.business_key).exists():
                stats["instances_existing"] += 1
                continue
            try:
                _start(demo)
            except (EngineError, ValidationError) as exc:
                raise DemoSeedError(f"{demo.business_key}: {exc}") from exc
            stats["instances_started"] += 1
    if stdout is not None:
        report_workflow_demo(stdout, stats)
    return stats


def _save_settings(process: DemoProcess) -> bool:
    """Bring the settings row of ``process`` to the demo values; whether it changed."""
    # django-stubs types Role's manager as the Group manager it inherits (no ``code``)
    escalation = Role.objects.filter(code=process.escalation_role).first()  # type: ignore[misc]
    if escalation is None:
        raise DemoSeedError(f"role {process.escalation_role} is missing: run seed_demo")
    values: dict[str, Any] = {
        "category": process.category,
        "description": process.description,
        "reject": process.reject,
        "resubmit": process.resubmit,
        "empty_assignee": process.empty_assignee,
        "escalation_role_id": escalation.pk,
        "initiator_approver": InitiatorApproverPolicy.SKIP,
        "auto_pass_repeated": True,
        "default_due": process.default_due,
        "remind_before": process.remind_before,
        "timeout": process.timeout,
        "cc_at_end": process.cc_at_end,
        "translations": TRANSLATIONS.get(process.key, {}),
    }
    row = ProcessSettings.objects.filter(key=process.key).first()
    changed = row is None
    if row is None:
        row = ProcessSettings(key=process.key)
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    if changed:
        row.full_clean()
        row.save()
    return changed


def _user(username: str) -> User:
    user = person_find(username)
    if user is None:
        raise DemoSeedError(f"demo user {username} is missing: run seed_demo")
    return user


def _start(demo: DemoInstance) -> int:
    """Start ``demo`` with its start form checked as the portal checks it, then act."""
    found = latest_definition(demo.process)
    if found is None:
        raise DemoSeedError(f"{demo.process} is not deployed")
    graph = graph_for_definition(found)
    variables = validate_step_data(
        graph.start_event(None), variables={}, data=demo.form, user=_user(demo.initiator)
    )
    instance_id = instance_start(
        demo.process,
        variables={**variables, **demo.extra},
        initiator=_user(demo.initiator),
        business_key=demo.business_key,
        title=demo.title,
    )
    for act in demo.acts:
        _act(demo, instance_id, act)
    return instance_id


def _act(demo: DemoInstance, instance_id: int, act: Act) -> None:
    user = _user(act.user)
    task = _task_for(user, instance_id, act.element_id)
    if task is None:
        raise DemoSeedError(f"{demo.business_key}: {act.user} has no open task at {act.element_id}")
    if act.action == "approve":
        approvals.task_approve(task.pk, user=user, data=act.data, comment=act.comment)
    elif act.action == "claim":
        approvals.task_claim(task.pk, user=user)
    elif act.action == "sign_before":
        approvals.task_add_signers(
            task.pk, user=user, signers=act.signers, position="before", comment=act.comment
        )
    elif act.action == "return":
        approvals.task_return(task.pk, user=user, target="initiator", comment=act.comment)
    else:
        raise DemoSeedError(f"{demo.business_key}: unknown action {act.action}")


def _task_for(user: User, instance_id: int, element_id: str) -> Task | None:
    """The open task at ``element_id`` in ``user``'s inbox: assigned to them, else a group
    task they may claim."""
    tasks = tasks_todo(user).filter(instance_id=instance_id, element_id=element_id)
    return tasks.filter(assignee=user.username).first() or tasks.order_by("pk").first()


def open_demo_tasks() -> dict[str, list[Task]]:
    """The open tasks of the demo instances by who may handle them (assignee, else each
    candidate), for the summary a seed run prints."""
    found: dict[str, list[Task]] = {}
    tasks = (
        Task.objects.filter(
            state=TaskState.OPEN, instance__business_key__startswith=BUSINESS_KEY_PREFIX
        )
        .select_related("instance__definition")
        .order_by("pk")
    )
    for task in tasks:
        for name in [task.assignee] if task.assignee else notifications.handlers_of(task):
            found.setdefault(name, []).append(task)
    return found


def report_workflow_demo(stdout: Output, stats: Mapping[str, int]) -> None:
    """What a seed run did (``stats`` from :func:`seed_workflow_demo`) and who has work
    waiting, for the person who runs it."""

    def line(kind: str, total: int, counts: Mapping[str, int]) -> str:
        run = ", ".join(f"{status} {n}" for status, n in counts.items() if n)
        return f"  {kind}: {total}" + (f" (this run: {run})" if run else "")

    stdout.write("\nDemo processes are ready (费用报销, 请假申请, 采购申请, 合同审批).\n")
    keys = [p.key for p in PROCESSES]
    stdout.write(
        line(
            "demo processes",
            sum(1 for key in keys if latest_definition(key) is not None),
            {"deployed": stats["deployed"], "unchanged": stats["unchanged"]},
        )
        + "\n"
    )
    stdout.write(
        line(
            "process settings",
            ProcessSettings.objects.filter(key__in=keys).count(),
            {"saved": stats["settings_saved"], "unchanged": stats["settings_unchanged"]},
        )
        + "\n"
    )
    stdout.write(
        line(
            "demo instances",
            ProcessInstance.objects.filter(business_key__startswith=BUSINESS_KEY_PREFIX).count(),
            {"started": stats["instances_started"], "existing": stats["instances_existing"]},
        )
        + "\n"
    )
    stdout.write(
        line(
            "business calendar days and leave balances",
            CalendarDay.objects.count() + LeaveBalance.objects.count(),
            {"saved": stats.get("hr_rows_saved", 0)},
        )
        + "\n"
    )
    waiting = open_demo_tasks()
    if not waiting:
        return
    stdout.write("\nWaiting in the demo inboxes (process / step):\n")
    people = User.objects.in_bulk(list(waiting), field_name="username")
    for username in sorted(waiting, key=lambda name: (-len(waiting[name]), name)):
        person = people.get(username)
        name = person.get_full_name() if person is not None else ""
        steps = ", ".join(
            f"{task.instance.definition.name}/{task.name}"
            + (f" (for {task.on_behalf_of})" if task.on_behalf_of else "")
            for task in waiting[username]
        )
        stdout.write(f"  {username} {name}: {steps}\n")
