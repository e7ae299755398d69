"""The CRM's part of ``seed_demo``: the sales department's customers, pipeline, quotes and
service cases, made through the CRM's own services (so every history, search entry and
approval is real). The first five customers carry the codes of the embedded ERP's customers
(C0001 …), so their quotes can be ordered in the ERP.

What it makes: 150 accounts with contacts (``crm/demo_data.py``), 20 leads (5 of them
converted into accounts of their own), 60 opportunities across the stages, activities and
follow-ups, the quote approval matrix, three quotes (one approved and ordered in the ERP,
one waiting for the sales manager's approval in 杨帆's 待办, one draft), SLA policies and
service cases in every SLA state (waiting, met, running, paused, breached)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.utils import timezone

from crm.demo_campaigns import seed_campaigns
from crm.demo_data import accounts as demo_accounts
from crm.models import Account, Case, Opportunity, Stage
from crm.services import accounts, cases, quotes, sales
from portal import registry
from portal.models import User

__all__ = ["connect", "seed_crm_demo"]

# the sales representatives who own the demo customers, round-robin
OWNERS = ["zhangwei", "wangfang", "xuming", "machao", "kongliang", "guomin", "linfeng"]
ADMIN = "admin"
# the embedded ERP's customers (erp_bridge/demo.py): the first accounts take their codes
ERP_CODES = ["C0001", "C0002", "C0003", "C0004", "C0005"]
STAGES = [Stage.QUALIFICATION, Stage.NEEDS, Stage.PROPOSAL, Stage.NEGOTIATION, Stage.WON]


def _people() -> dict[str, User]:
    return {u.username: u for u in User.objects.filter(username__in=[*OWNERS, ADMIN, "yangfan"])}


def _accounts(people: Mapping[str, User], counts: dict[str, int]) -> list[Account]:
    made = []
    for index, spec in enumerate(demo_accounts(150)):
        owner = people[OWNERS[index % len(OWNERS)]]
        account = accounts.account_create(
            by=people[ADMIN],
            owner=owner,
            name=spec.name,
            code=ERP_CODES[index] if index < len(ERP_CODES) else "",
            credit_code=spec.credit_code,
            industry=spec.industry,
            province=spec.province,
            city=spec.city,
            level=spec.level,
            phone=spec.phone,
            force=True,
        )
        for number, person in enumerate(spec.contacts):
            accounts.contact_create(
                by=owner,
                account_id=account.pk,
                values={
                    "name": person.name,
                    "title": person.title,
                    "mobile": person.mobile,
                    "email": person.email,
                    "is_primary": number == 0,
                },
            )
            counts["contacts"] += 1
        made.append(account)
    counts["accounts"] = len(made)
    return made


def _pipeline(people: Mapping[str, User], made: list[Account], counts: dict[str, int]) -> None:
    today = timezone.localdate()
    for index in range(60):
        account = made[index * 2 % len(made)]
        owner = account.owner
        opportunity = sales.opportunity_create(
            by=owner,
            account_id=account.pk,
            name=f"{account.city}项目 {index + 1:02d}：门户与流程平台",
            amount=Decimal(30_000 + (index * 7_919) % 470_000),
            expected_close=today + datetime.timedelta(days=15 + (index * 11) % 150),
        )
        stage = STAGES[index % len(STAGES)] if index % 9 else Stage.LOST
        if stage != Stage.QUALIFICATION:
            sales.opportunity_move(
                opportunity.pk,
                by=owner,
                stage=stage,
                lost_reason="价格高于竞争对手" if stage == Stage.LOST else "",
            )
        if stage in (Stage.WON, Stage.LOST):
            # a year of history, as if the CRM had been in use: the closed ones closed over
            # the past eleven months (the analysis pages show every month), opened weeks before
            closed = timezone.now() - datetime.timedelta(days=3 + 30 * (index % 11))
            Opportunity.objects.filter(pk=opportunity.pk).update(
                created_at=closed - datetime.timedelta(days=20 + index % 40),
                stage_changed_at=closed,
                closed_at=closed,
            )
        sales.activity_log(
            by=owner,
            account_id=account.pk,
            opportunity_id=opportunity.pk,
            kind=["call", "visit", "meeting", "email"][index % 4],
            subject=["电话沟通需求", "上门拜访演示", "方案评审会", "发送方案材料"][index % 4],
            at=timezone.now() - datetime.timedelta(days=index % 20, hours=index % 7),
        )
        counts["opportunities"] += 1
        counts["activities"] += 1
        if index % 4 == 0:
            due = timezone.now() + datetime.timedelta(days=1 + index % 5)
            sales.activity_log(
                by=owner,
                account_id=account.pk,
                opportunity_id=opportunity.pk,
                kind="task",
                subject="跟进报价反馈",
                due_at=due,
                remind_at=due - datetime.timedelta(hours=2),
            )
            counts["follow-ups"] += 1
    for index in range(20):
        owner = people[OWNERS[index % len(OWNERS)]]
        lead = sales.lead_create(
            by=owner,
            company=f"演示线索{index + 1:02d}号科技有限公司",
            contact_name=["周先生", "吴女士", "郑经理", "孙总"][index % 4],
            phone=f"1380000{index:04d}",
            source=["website", "exhibition", "referral", "campaign"][index % 4],
            province="上海市",
            city="上海",
            assign_to_me=True,
        )
        counts["leads"] += 1
        if index < 5:
            sales.lead_convert(
                lead.pk,
                by=owner,
                create_anyway=True,
                opportunity_name=f"{lead.company}首期项目",
                amount=Decimal(50_000 + index * 10_000),
                expected_close=today + datetime.timedelta(days=45),
            )
            counts["leads converted"] += 1


def _quotes(people: Mapping[str, User], made: list[Account], counts: dict[str, int]) -> None:
    quotes.approval_matrix_save(
        by=people[ADMIN],
        rules=[
            quotes.RuleInput(Decimal("10"), Decimal("10000"), "sales_manager"),
            quotes.RuleInput(Decimal("20"), Decimal("0"), "sales_director"),
            quotes.RuleInput(Decimal("40"), Decimal("0"), "general_manager"),
        ],
    )
    zhangwei = people["zhangwei"]
    mine = [a for a in made[: len(ERP_CODES)] if a.owner_id == zhangwei.pk] or [made[0]]
    account = mine[0]
    seller = account.owner
    # one without a discount: approved at once, accepted, ordered in the embedded ERP
    ordered = quotes.quote_create(
        by=seller,
        account_id=account.pk,
        lines=[quotes.LineInput("P0003", 10), quotes.LineInput("P0004", 10)],
        notes="年度办公设备采购",
    )
    quotes.quote_submit(by=seller, quote_id=ordered.pk)
    # the ERP order leaves after the commit, through the outbox
    quotes.quote_accept(by=seller, quote_id=ordered.pk, confirmed=True)
    # 15 % off: the sales manager's approval (the seller's department head, 杨帆)
    pending = quotes.quote_create(
        by=seller,
        account_id=account.pk,
        lines=[
            quotes.LineInput("P0006", 1, discount=15),
            quotes.LineInput("P0007", 10, discount=15),
        ],
        notes="含实施服务，客户要求年底前上线",
    )
    quotes.quote_submit(by=seller, quote_id=pending.pk)
    quotes.quote_create(
        by=seller,
        account_id=account.pk,
        lines=[quotes.LineInput("P0001", 20), quotes.LineInput("P0002", 20)],
        notes="草稿：等客户确认人数",
    )
    counts["quotes"] = 3


def _cases(people: Mapping[str, User], made: list[Account], counts: dict[str, int]) -> None:
    cases.sla_policies_save(
        by=people[ADMIN], hours={"A": (2, 16), "B": (4, 24), "C": (8, 40), "D": (16, 80)}
    )
    subjects = [
        "审批流程无法提交",
        "报表导出乱码",
        "新员工账号开通",
        "手机端登录失败",
        "合同归档延迟",
        "发票信息有误",
    ]
    for index, subject in enumerate(subjects):
        account = made[10 + index * 3]
        handler = account.owner
        case = cases.case_open(
            by=handler, account_id=account.pk, subject=subject, priority=1 + index % 3
        )
        state = index % 6
        if state == 1:  # answered and waiting for the customer: the clock stops
            cases.case_respond(by=handler, case_id=case.pk, text="已收到，正在排查。")
            cases.case_wait(by=handler, case_id=case.pk, text="请提供出错截图。")
        elif state == 2:  # resolved in time and rated
            cases.case_respond(by=handler, case_id=case.pk, text="已定位原因。")
            cases.case_resolve(by=handler, case_id=case.pk, text="已修复并验证。")
            cases.case_close(by=handler, case_id=case.pk)
            cases.case_rate(by=handler, case_id=case.pk, satisfaction=5, comment="响应很快")
        elif state in (3, 5):  # opened long ago: the first response is late (breached)
            Case.objects.filter(pk=case.pk).update(
                opened_at=case.opened_at - datetime.timedelta(days=6),
                first_response_due=case.opened_at - datetime.timedelta(days=5),
                resolution_due=case.opened_at - datetime.timedelta(days=1),
            )
        elif state == 4:  # answered, still running
            cases.case_respond(by=handler, case_id=case.pk, text="今天下午上门处理。")
        counts["cases"] += 1


def seed_crm_demo() -> dict[str, int]:
    """Create the CRM's demo data once (a second run, finding accounts, does nothing)."""
    counts: dict[str, int] = dict.fromkeys(
        [
            "accounts",
            "contacts",
            "opportunities",
            "activities",
            "follow-ups",
            "leads",
            "leads converted",
            "quotes",
            "cases",
        ],
        0,
    )
    if Account.objects.exists():
        return counts
    people = _people()
    if ADMIN not in people or not all(name in people for name in OWNERS):
        return counts  # not the demo organization
    made = _accounts(people, counts)
    _pipeline(people, made, counts)
    _quotes(people, made, counts)
    _cases(people, made, counts)
    seed_campaigns(people, counts)  # after the accounts and the pipeline: members, ROI
    return counts


def report_crm_demo(stdout: Any, counts: Mapping[str, int]) -> None:
    done = ", ".join(f"{kind} {n}" for kind, n in counts.items() if n)
    stdout.write("\nCRM is ready (客户, 销售漏斗, 报价, 服务工单).\n")
    stdout.write("  waiting for approval: a quote with 15 % off, in yangfan 杨帆's 待办\n")
    stdout.write(f"  this run: {done or 'nothing to do'}\n")


def connect() -> None:
    """Register the CRM's part of ``seed_demo``: after the ERP's master data (quotes are
    priced from them) and the workflow's demo requests (so those lead the inboxes)."""
    registry.demo_seeders.register(registry.DemoSeeder("crm", seed_crm_demo, report_crm_demo, 40))
