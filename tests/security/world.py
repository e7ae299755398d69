"""One shared world for the permission matrix and the CSRF tests: the personas, a deployed
process with an instance waiting for the manager, and one of every object a URL names.

``build_world()`` writes it through the services, as the portal would; the ``world`` fixture
(tests/security/conftest.py) builds it once per test module inside a transaction that is
rolled back at the end, and every test runs in a savepoint inside it, so a test that changes
something (an approval that goes through) leaves the next test the same world.

Personas (the names of tests/conftest.py):

- ``employee``  张伟 (zhangwei), 销售部/华东区: started the instance (the initiator);
- ``colleague`` 王芳 (wangfang), same sub-department, no part in the instance; holds the
  sales representatives' role with the employee (separation of duties: of the two only the
  colleague may take the step of the employee's own request offered to that role);
- ``outsider``  刘洋 (liuyang), 财务部, no relation to sales;
- ``manager``   李娜 (lina), head of 销售部 and the employee's manager: holds the open task;
- ``staff``     赵敏 (zhaomin), 人力资源部, staff with the HR role's organization permissions
  (no workflow permission): copied on the instance (抄送);
- ``admin``     the superuser;
- ``anonymous`` nobody signed in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from crm.models import Account as CrmAccount
from crm.models import Quote, QuoteLine
from knowledge import review
from knowledge import services as kb_services
from knowledge.models import SpaceRole, Visibility
from portal.models import Announcement, Department, Notification, User
from tests.factories import UserFactory, department, role
from tests.workflow.approval_helpers import deploy_steps, user_task
from tests.workflow.engine_helpers import chain, definitions, process
from workflow import links
from workflow.models import Incident, Phrase, ProcessSettings, Task
from workflow.services import approvals, drafts, engine, external
from workflow.services import definitions as deploys

PERSONAS = ("anonymous", "employee", "colleague", "outsider", "manager", "staff", "admin")
USERNAMES = {
    "employee": "zhangwei",
    "colleague": "wangfang",
    "outsider": "liuyang",
    "manager": "lina",
    "staff": "zhaomin",
    "admin": "admin",
}
LEAVE = "leave"  # everyone may start it; the instance of the world runs on it
PAYROLL = "payroll"  # only the payroll role may start it (nobody of the personas has it)
CLAIMABLE = "purchase"  # its first step is offered to the department heads' role
OWN_REQUEST = "expense"  # its first step is offered to a role the initiator holds too
EXTERNAL_SOURCE = "erp"
EXTERNAL_ID = "PO-1"
KB_SPACE = "it"  # public, publishes without review; the employee edits it
KB_HIDDEN = "board"  # members only, no members: only the administrator reads it
HR_PERMISSIONS = [
    "portal.view_user",
    "portal.change_user",
    "portal.add_user",
    "portal.view_department",
    "portal.change_department",
    "portal.add_department",
    "portal.view_announcement",
    "portal.add_announcement",
    "portal.change_announcement",
]


@dataclass
class World:
    """The ids and names that the URLs of the matrix are built from."""

    users: dict[str, User] = field(default_factory=dict)
    instance_id: int = 0  # started by the employee, its task open for the manager
    task_id: int = 0  # the manager's open task
    claim_task_id: int = 0  # a task offered to the department heads' role
    # separation of duties: the employee's own request, its step offered to the sales
    # representatives' role, which the employee and the colleague hold
    own_task_id: int = 0
    attachment_id: int = 0
    draft_id: int = 0  # the employee's
    notification_id: int = 0  # the employee's
    announcement_id: int = 0  # for 销售部
    incident_id: int = 0
    phrase_id: int = 0  # the employee's saved phrase (常用语)
    # 知识库: the public space KB_SPACE (the employee its editor) with the employee's
    # published article and draft; KB_HIDDEN a members-only space nobody but the
    # administrator reads
    kb_article_id: int = 0
    kb_draft_id: int = 0
    kb_attachment_id: int = 0  # a text file of the published article (PAGES)
    # CRM quotes: a draft quote of an account the employee owns (its department 华东区 is
    # under the manager's 销售部); no approval rule, so a submit approves it at once
    crm_quote_id: int = 0
    # CRM sales: the employee's account (华东区) with an opportunity, a lead the employee owns
    # and a follow-up; the manager (head of 销售部 above) sees them, the colleague does not
    crm_sales_account_id: int = 0
    crm_sales_opportunity_id: int = 0
    crm_sales_lead_id: int = 0
    crm_sales_activity_id: int = 0
    # CRM cases: a new case on an account the employee owns (华东区); seen like the sales'
    crm_case_id: int = 0
    crm_account_id: int = 0  # the employee's; the colleague on its team (view only)
    crm_contact_id: int = 0  # a contact of it
    # CRM campaigns: the employee's campaign with the employee's account (crm_account_id) as
    # its one member; seen by its owner and the superuser (sales administrator) only
    crm_campaign_id: int = 0
    crm_campaign_member_id: int = 0
    sessions: dict[str, str] = field(default_factory=dict)  # persona → session key

    def kwargs(self) -> dict[str, Any]:
        """The value of each URL keyword argument (as the URL patterns name them)."""
        return {
            "instance_id": self.instance_id,
            "task_id": self.task_id,
            "attachment_id": self.attachment_id,
            "draft_id": self.draft_id,
            "incident_id": self.incident_id,
            "phrase_id": self.phrase_id,
            "key": LEAVE,
            "source": EXTERNAL_SOURCE,
            "external_id": EXTERNAL_ID,
            "space_key": KB_SPACE,
            "article_id": self.kb_article_id,
            "number": 1,
            # the ERP bridge's API (tests/security/test_permission_matrix.py ERP_API)
            "code": "NO-SUCH-CODE",
            "reference": "NO-SUCH-ORDER",
            "message_id": 999_999,
            "id": 999_999,
            # the CRM's sales API (CRM_SALES)
            "lead_id": self.crm_sales_lead_id,
            "opportunity_id": self.crm_sales_opportunity_id,
            "activity_id": self.crm_sales_activity_id,
            # the CRM's accounts (CRM_ACCOUNTS)
            "account_id": self.crm_account_id,
            "contact_id": self.crm_contact_id,
            # the CRM's cases API (CRM_CASES)
            "case_id": self.crm_case_id,
            # the CRM's campaigns (CRM_CAMPAIGNS)
            "campaign_id": self.crm_campaign_id,
            "member_id": self.crm_campaign_member_id,
        }


def _people() -> dict[str, User]:
    root = department("HQ", "总经办")
    sales = department("SALES", "销售部", parent=root)
    east = department("SALES-E", "华东区", parent=sales)
    finance = department("FIN", "财务部", parent=root)
    hr = department("HR", "人力资源部", parent=root)
    manager = UserFactory.create(username="lina", first_name="娜", last_name="李", department=sales)
    sales.head = manager
    sales.save()
    manager.groups.add(role("dept_head", "部门负责人"))
    employee = UserFactory.create(
        username="zhangwei", first_name="伟", last_name="张", department=east, manager=manager
    )
    colleague = UserFactory.create(
        username="wangfang", first_name="芳", last_name="王", department=east, manager=manager
    )
    outsider = UserFactory.create(
        username="liuyang", first_name="洋", last_name="刘", department=finance
    )
    staff = UserFactory.create(
        username="zhaomin", first_name="敏", last_name="赵", department=hr, is_staff=True
    )
    staff.groups.add(role("hr_admin", "人事管理员", permissions=HR_PERMISSIONS))
    admin = UserFactory.create(
        username="admin",
        employee_no=None,
        is_staff=True,
        is_superuser=True,
        first_name="",
        last_name="",
    )
    sales_rep = role("sales_rep", "销售代表")
    employee.groups.add(sales_rep)
    colleague.groups.add(sales_rep)
    return {
        "employee": employee,
        "colleague": colleague,
        "outsider": outsider,
        "manager": manager,
        "staff": staff,
        "admin": admin,
    }


def _shape(element_id: str, x: int, width: int = 100) -> str:
    return (
        f'<bpmndi:BPMNShape id="{element_id}_di" bpmnElement="{element_id}">'
        f'<dc:Bounds x="{x}" y="80" width="{width}" height="80"/></bpmndi:BPMNShape>'
    )


def _edge(source: str, target: str, x1: int, x2: int) -> str:
    return (
        f'<bpmndi:BPMNEdge id="{source}-{target}_di" bpmnElement="{source}-{target}">'
        f'<di:waypoint x="{x1}" y="120"/><di:waypoint x="{x2}" y="120"/></bpmndi:BPMNEdge>'
    )


# start → the manager approves → the employee files it → end, with its diagram (DI)
LEAVE_XML = (
    definitions(
        process(
            LEAVE,
            '<startEvent id="start" name="Request"/>'
            + user_task("approve", assignee="lina")
            + user_task("archive", assignee="zhangwei")
            + '<endEvent id="end"/>'
            + chain("start", "approve", "archive", "end"),
        )
    )
    .replace(
        "</definitions>",
        '<bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="leave">'
        + _shape("start", 0, 36)
        + _shape("approve", 100)
        + _shape("archive", 260)
        + _shape("end", 420, 36)
        + _edge("start", "approve", 36, 100)
        + _edge("approve", "archive", 200, 260)
        + _edge("archive", "end", 360, 420)
        + "</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>",
    )
    .replace(
        "xmlns:camunda=",
        'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
        'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
        'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda=',
    )
)


def _processes() -> None:
    days = '<camunda:formField id="days" label="Days" type="long"/>'
    deploys.definition_deploy(xml=LEAVE_XML, source_name=f"{LEAVE}.bpmn")
    deploy_steps(user_task("check", assignee="lina", fields=days), key=PAYROLL)
    payroll = ProcessSettings.objects.create(key=PAYROLL)
    payroll.starter_roles.add(role("payroll", "薪资专员"))
    deploys.definition_deploy(
        xml=definitions(
            process(
                CLAIMABLE,
                '<startEvent id="start"/>'
                '<userTask id="sign" name="Sign" camunda:candidateGroups="dept_head"/>'
                '<endEvent id="end"/>' + chain("start", "sign", "end"),
            )
        ),
        source_name=f"{CLAIMABLE}.bpmn",
    )
    deploy_steps(user_task("review", groups="sales_rep"), key=OWN_REQUEST)


def _knowledge(world: World) -> None:
    """The knowledge base's objects (see :class:`World`), written through its services."""
    admin, employee = world.users["admin"], world.users["employee"]
    # the review processes deployed (with their English names) as a running portal has them,
    # so that a request answers without deploying them first
    review.ensure_deployed()
    space = kb_services.space_create(
        by=admin, key=KB_SPACE, name="IT 服务台", visibility=Visibility.PUBLIC
    )
    kb_services.space_create(by=admin, key=KB_HIDDEN, name="董事会", visibility=Visibility.MEMBERS)
    kb_services.space_member_set(by=admin, space_id=space.pk, role=SpaceRole.EDITOR, user=employee)
    article = kb_services.article_create(
        by=employee, space_id=space.pk, title="VPN 连接指南", body="先连接公司 VPN。"
    )
    kb_services.article_publish(by=employee, article_id=article.pk)
    world.kb_article_id = article.pk
    note = SimpleUploadedFile("vpn.txt", b"server: vpn.example.com\n", content_type="text/plain")
    world.kb_attachment_id = kb_services.attachment_add(
        by=employee, article_id=article.pk, upload=note
    ).pk
    world.kb_draft_id = kb_services.article_create(
        by=employee, space_id=space.pk, title="打印机驱动", body="草稿"
    ).pk


def _crm_quotes(world: World) -> None:
    """The CRM quote matrix rows' objects (tests/security/test_permission_matrix.py
    CRM_QUOTES)."""
    now = timezone.now()
    account = CrmAccount.objects.create(
        code="C9901",
        name="矩阵报价测试有限公司",
        name_key="矩阵报价测试",
        owner=world.users["employee"],
        department=Department.objects.get(code="SALES-E"),
        created_at=now,
        updated_at=now,
    )
    quote = Quote.objects.create(
        number="Q-2026-900001",
        account=account,
        created_by=world.users["employee"],
        list_total=100,
        total=100,
        created_at=now,
        updated_at=now,
    )
    QuoteLine.objects.create(
        quote=quote,
        product_code="P0001",
        product_name="人体工学办公椅",
        quantity=1,
        list_price=100,
        unit_price=100,
        amount=100,
    )
    world.crm_quote_id = quote.pk


def _crm_cases(world: World) -> None:
    """The CRM cases matrix rows' objects (tests/security/test_permission_matrix.py
    CRM_CASES): a new case, written directly (no escalation run)."""
    from crm.models import Account, Case

    now = timezone.now()
    employee = world.users["employee"]
    account = Account.objects.create(
        code="C9903",
        name="矩阵工单测试有限公司",
        name_key="矩阵工单测试",
        owner=employee,
        department=Department.objects.get(code="SALES-E"),
        created_at=now,
        updated_at=now,
    )
    world.crm_case_id = Case.objects.create(
        number="CS-MATRIX-1", account=account, subject="矩阵工单", owner=employee, opened_at=now
    ).pk


def _crm_accounts(world: World) -> None:
    """The CRM accounts matrix rows' objects (tests/security/test_permission_matrix.py
    CRM_ACCOUNTS): the employee's account, through the services, with a contact and the
    colleague on its team (view only)."""
    from crm.services import accounts as crm_accounts

    employee = world.users["employee"]
    account = crm_accounts.account_create(
        by=employee, name="矩阵客户测试有限公司", code="C9904", force=True
    )
    world.crm_account_id = account.pk
    world.crm_contact_id = crm_accounts.contact_create(
        by=employee, account_id=account.pk, values={"name": "矩阵联系人"}
    ).pk
    crm_accounts.team_add(
        by=employee, account_id=account.pk, user=world.users["colleague"], may_change=False
    )


def _crm_sales(world: World) -> None:
    """The CRM sales matrix rows' objects (tests/security/test_permission_matrix.py
    CRM_SALES)."""
    from crm.models import Account, Activity, Lead, Opportunity

    now = timezone.now()
    employee = world.users["employee"]
    account = Account.objects.create(
        code="C9902",
        name="矩阵销售测试有限公司",
        name_key="矩阵销售测试",
        owner=employee,
        department=Department.objects.get(code="SALES-E"),
        created_at=now,
        updated_at=now,
    )
    world.crm_sales_account_id = account.pk
    world.crm_sales_opportunity_id = Opportunity.objects.create(
        account=account, owner=employee, name="矩阵项目", created_at=now, stage_changed_at=now
    ).pk
    world.crm_sales_lead_id = Lead.objects.create(
        company="矩阵线索有限公司", owner=employee, created_at=now
    ).pk
    world.crm_sales_activity_id = Activity.objects.create(
        kind="task",
        subject="矩阵回访",
        account=account,
        owner=employee,
        at=now,
        due_at=now + datetime.timedelta(days=1),
        created_at=now,
    ).pk


def _crm_campaigns(world: World) -> None:
    """The CRM campaigns matrix rows' objects (tests/security/test_permission_matrix.py
    CRM_CAMPAIGNS): the employee's planned campaign with an empty segment and the employee's
    account (``_crm_accounts``) as its member, written directly (the employee may not create
    campaigns)."""
    from crm.models import Campaign, CampaignMember

    now = timezone.now()
    campaign = Campaign.objects.create(
        name="矩阵营销活动", owner=world.users["employee"], cost=1000, created_at=now
    )
    world.crm_campaign_id = campaign.pk
    world.crm_campaign_member_id = CampaignMember.objects.create(
        campaign=campaign, account_id=world.crm_account_id, added_at=now
    ).pk


def build_world() -> World:
    """Write the world (see the module's docstring); the caller rolls it back."""
    world = World()
    with (
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        world.users = _people()
        employee = world.users["employee"]
        _processes()
        world.instance_id = engine.instance_start(
            LEAVE, variables={}, initiator=employee, title="Leave 3 days"
        )
        world.task_id = Task.objects.get(instance_id=world.instance_id, state="open").pk
        claimable = engine.instance_start(CLAIMABLE, variables={}, initiator=employee)
        world.claim_task_id = Task.objects.get(instance_id=claimable, state="open").pk
        own = engine.instance_start(OWN_REQUEST, variables={}, initiator=employee)
        world.own_task_id = Task.objects.get(instance_id=own, state="open").pk
        approvals.comment_add(world.instance_id, user=employee, text="请尽快审批")
        world.phrase_id = Phrase.objects.create(owner=employee, text="同意。", position=0).pk
        upload = SimpleUploadedFile("note.txt", b"leave note\n", content_type="text/plain")
        world.attachment_id = approvals.attachment_add(
            world.instance_id, user=employee, upload=upload
        ).pk
        approvals.instance_copy(world.instance_id, user=employee, recipients=["zhaomin"])
        world.draft_id = drafts.draft_save(
            user=employee, key=LEAVE, title="Draft leave", data={}
        ).pk
        world.notification_id = Notification.objects.create(
            recipient=employee,
            kind="workflow",
            title="Your request is waiting",
            url=links.instance_url(world.instance_id),
        ).pk
        announcement = Announcement.objects.create(
            title="销售部通知", body="季度总结会", author=world.users["staff"]
        )
        announcement.target_departments.add(Department.objects.get(code="SALES"))
        world.announcement_id = announcement.pk
        world.incident_id = Incident.objects.create(
            instance_id=world.instance_id,
            element_id="approve",
            message="The ERP did not answer.",
            created_at=timezone.now(),
        ).pk
        external.external_task_upsert(
            source=EXTERNAL_SOURCE,
            external_id=EXTERNAL_ID,
            assignee=employee.username,
            title="Purchase order PO-1",
            url="https://erp.example.com/po/1",
            source_updated_at=timezone.now() - datetime.timedelta(hours=1),
        )
        _knowledge(world)
        _crm_quotes(world)
        _crm_sales(world)
        _crm_cases(world)
        _crm_accounts(world)
        _crm_campaigns(world)
    for persona, user in world.users.items():
        client = Client()
        client.force_login(user, backend="portal.backends.UsernameOrEmployeeNoBackend")
        session_key = client.session.session_key
        assert session_key is not None
        world.sessions[persona] = session_key
    return world
