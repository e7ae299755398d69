"""The organisation and the work already in it for the HTTP load test (``bench/load.py``).

``seed_organisation`` makes a company of departments, each with a manager (the department's
head and every employee's direct manager) and employees, everyone with one known password
hashed once (bulk inserts: a few seconds for 500 people). ``deploy_leave_process`` deploys
``bench/load_leave.bpmn`` (请假审批: the employee's request goes to the manager, who approves
or returns it to the employee) with its process settings. ``seed_backlog`` starts the
requests people made before the test through the engine's services: finished ones (the
employees' 我发起的 and the managers' 已办 are not empty) and some still waiting for the
manager (the managers' 待办 has work when the test begins).

Called by ``bench/load.py`` inside ``django.setup()`` on a freshly migrated database; not a
command of its own.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction

from portal.models import Department, Role, User
from workflow import participants
from workflow.models import (
    EmptyAssigneePolicy,
    InitiatorApproverPolicy,
    ProcessSettings,
    RejectPolicy,
    ResubmitPolicy,
    Task,
    TaskState,
    TimeoutPolicy,
)
from workflow.services import approvals
from workflow.services.definitions import definition_deploy
from workflow.services.engine import instance_start

PROCESS_FILE = Path(__file__).resolve().parent / "load_leave.bpmn"
PROCESS_KEY = "load_leave"
APPROVAL_STEP = "Task_ManagerApproval"
SEED_PREFIX = "SEED-"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲建国红文斌宇浩凯"
LEAVE_TYPES = ("annual", "sick", "personal")
REASONS = ("家中有事", "身体不适，需要休息", "回老家探亲", "孩子开家长会", "办理证件", "陪家人看病")


@dataclass
class Organisation:
    """Who the simulated users are: the user names by role, and everyone's password."""

    password: str
    managers: list[str] = field(default_factory=list)
    employees: list[str] = field(default_factory=list)
    manager_of: dict[str, str] = field(default_factory=dict)


def _name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(SURNAMES), "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def seed_organisation(
    *, departments: int, employees_per_department: int, password: str, seed: int = 6
) -> Organisation:
    """``departments`` departments under one company, each with a head who is also every
    member's direct manager, and ``employees_per_department`` employees; roles ``employee``
    and ``dept_head`` as the demo company has them."""
    rng = random.Random(seed)
    hashed = make_password(password)  # once: hashing per user would take minutes
    organisation = Organisation(password=password)
    with transaction.atomic():
        company = Department.add_root(
            code="CORP", name="华夏压测科技有限公司", name_en="Load Test Co."
        )
        employee_role = Role.objects.create(code="employee", name="员工", name_en="Employee")
        head_role = Role.objects.create(
            code="dept_head", name="部门负责人", name_en="Department Head"
        )
        number = 0

        def person(username: str, department: Department, manager: User | None) -> User:
            nonlocal number
            number += 1
            last, first = _name(rng)
            return User(
                username=username,
                password=hashed,
                employee_no=f"E{number:06d}",
                last_name=last,
                first_name=first,
                email=f"{username}@example.com",
                department=department,
                manager=manager,
                is_active=True,
            )

        units = [
            company.add_child(code=f"D{d:02d}", name=f"第{d}事业部", name_en=f"Division {d}")
            for d in range(1, departments + 1)
        ]
        heads = User.objects.bulk_create(
            [person(f"mgr{d:02d}", unit, None) for d, unit in enumerate(units, start=1)]
        )
        for unit, head in zip(units, heads, strict=True):
            unit.head = head
        Department.objects.bulk_update(units, ["head"])
        members = User.objects.bulk_create(
            [
                person(f"emp{d:02d}{e:02d}", unit, head)
                for d, (unit, head) in enumerate(zip(units, heads, strict=True), start=1)
                for e in range(1, employees_per_department + 1)
            ]
        )
        membership = User.groups.through
        membership.objects.bulk_create(
            [membership(user_id=u.pk, group_id=employee_role.pk) for u in [*heads, *members]]
            + [membership(user_id=u.pk, group_id=head_role.pk) for u in heads]
        )
    organisation.managers = [u.username for u in heads]
    organisation.employees = [u.username for u in members]
    by_id = {u.pk: u.username for u in heads}
    organisation.manager_of = {u.username: by_id[u.manager_id] for u in members}
    return organisation


def deploy_leave_process() -> None:
    """Deploy 请假审批 with the settings a company would give it: returned requests go
    straight back to the manager when resubmitted, a due date of one day with a reminder."""
    definition_deploy(xml=PROCESS_FILE.read_bytes(), source_name=PROCESS_FILE.name)
    ProcessSettings(
        key=PROCESS_KEY,
        category="人事",
        description="员工请假，直属上级审批。",
        reject=RejectPolicy.RETURN,
        resubmit=ResubmitPolicy.JUMP,
        empty_assignee=EmptyAssigneePolicy.INCIDENT,
        initiator_approver=InitiatorApproverPolicy.SKIP,
        auto_pass_repeated=True,
        default_due="P1D",
        remind_before="PT2H",
        timeout=TimeoutPolicy.REMIND,
    ).save()
    participants.forget_settings()


def leave_form(rng: random.Random) -> dict[str, object]:
    """A start form as an employee fills it in."""
    return {
        "leave_type": rng.choice(LEAVE_TYPES),
        "days": rng.randint(1, 5),
        "reason": rng.choice(REASONS),
    }


def seed_backlog(
    organisation: Organisation, *, finished_each: int, waiting_share: float, seed: int = 6
) -> dict[str, int]:
    """Requests made before the test: ``finished_each`` approved ones per employee, and one
    still waiting for the manager for a ``waiting_share`` of the employees."""
    rng = random.Random(seed)
    people = User.objects.in_bulk(
        [*organisation.employees, *organisation.managers], field_name="username"
    )
    started = approved = 0
    for employee in organisation.employees:
        waiting = 1 if rng.random() < waiting_share else 0
        for n in range(finished_each + waiting):
            instance_id = instance_start(
                PROCESS_KEY,
                variables=leave_form(rng),
                initiator=people[employee],
                business_key=f"{SEED_PREFIX}{employee}-{n}",
                title=f"{people[employee].get_full_name()}的请假申请",
            )
            started += 1
            if n >= finished_each:
                continue
            manager = people[organisation.manager_of[employee]]
            task = Task.objects.get(instance_id=instance_id, state=TaskState.OPEN)
            approvals.task_approve(
                task.pk, user=manager, data={"manager_opinion": "同意"}, comment="同意。"
            )
            approved += 1
    return {"seeded_instances": started, "seeded_approved": approved}
