"""``manage.py seed_demo``: the demo organization is complete, valid and idempotent."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal import selectors
from portal.models import (
    Announcement,
    CodeRule,
    DelegationRule,
    Department,
    Position,
    Role,
    User,
)
from tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("seed_without_knowledge")]

DEMO_PASSWORD = "demo1234"
DEMO_LOGINS = ("admin", "chenjianguo", "lina", "zhangwei", "huangli", "zhaomin")


def seed(**options: object) -> str:
    """Runs the command (the tests run with DEBUG off, hence the flag) and returns stdout."""
    out = io.StringIO()
    call_command("seed_demo", allow_production=True, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    """Everything the command writes, to compare two runs."""
    return {
        "departments": list(
            Department.objects.order_by("path").values_list(
                "pk", "code", "path", "depth", "numchild", "name", "name_en", "head", "is_active"
            )
        ),
        "users": list(
            User.objects.order_by("pk").values_list(
                "pk",
                "username",
                "password",
                "employee_no",
                "first_name",
                "last_name",
                "email",
                "phone",
                "department",
                "manager",
                "preferred_language",
                "is_active",
                "is_staff",
                "is_superuser",
            )
        ),
        "memberships": sorted(User.groups.through.objects.values_list("user", "group")),
        "user_positions": sorted(User.positions.through.objects.values_list("user", "position")),
        "positions": list(
            Position.objects.values_list("pk", "code", "name", "name_en", "department")
        ),
        # django-stubs types Role.objects as the GroupManager Role inherits: Group's fields only
        "roles": list(Role.objects.values_list("pk", "code", "name", "name_en", "description")),  # type: ignore[misc]
        "role_permissions": sorted(
            Role.permissions.through.objects.values_list("group", "permission")
        ),
        "announcements": list(
            Announcement.objects.order_by("pk").values_list(
                "pk", "title", "body", "author", "published_at", "expires_at", "is_pinned"
            )
        ),
        "announcement_targets": (
            sorted(Announcement.target_departments.through.objects.values_list()),
            # the django-stubs plugin leaves the through model of an M2M to Role (a Group
            # subclass) unresolved: type[Never]
            sorted(Announcement.target_roles.through.objects.values_list()),  # type: ignore[attr-defined]
        ),
        "delegations": list(
            DelegationRule.objects.values_list(
                "pk", "delegator", "delegate", "starts_at", "ends_at", "process_keys", "is_active"
            )
        ),
    }


def test_refuses_to_run_with_debug_off_unless_allowed():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not User.objects.exists()
    assert not Department.objects.exists()


def test_counts_are_in_the_expected_ranges():
    seed()
    assert Department.objects.count() >= 12
    assert 55 <= User.objects.count() <= 70
    assert Position.objects.count() >= 10
    assert Announcement.objects.count() >= 4
    assert DelegationRule.objects.filter(is_active=True).count() == 1
    # django-stubs types Role.objects as the GroupManager Role inherits: Group's fields only
    assert set(Role.objects.values_list("code", flat=True)) >= {  # type: ignore[misc]
        "dept_head",
        "finance_reviewer",
        "hr_admin",
        "it_admin",
        "general_manager",
        "employee",
    }
    assert Role.objects.get(code="finance_reviewer").name == "财务审核"  # type: ignore[misc]


def test_second_run_changes_nothing():
    seed()
    before = snapshot()
    output = seed()
    assert snapshot() == before
    assert "created" not in output
    assert "updated" not in output


def test_every_user_obeys_the_model_rules():
    seed()
    employee_rule = re.compile(CodeRule.objects.get(key="employee_no").pattern)
    for user in User.objects.all():
        user.full_clean()
        assert user.email == f"{user.username}@example.com"
        if user.username == "admin":
            assert user.employee_no is None
            assert user.is_superuser and user.is_staff
        else:
            assert user.employee_no is not None
            assert employee_rule.fullmatch(user.employee_no), user.employee_no
            assert re.fullmatch(r"1[3-9]\d{9}", user.phone), user.phone
            assert re.fullmatch(r"[a-z]+", user.username), user.username
            assert re.search(r"[\u4e00-\u9fff]", user.last_name + user.first_name)
            assert user.department_id is not None
            assert not user.is_superuser
    languages = list(User.objects.values_list("preferred_language", flat=True))
    assert 1 <= languages.count("en") < languages.count("zh-hans")


def test_departments_form_a_valid_tree_with_heads():
    seed()
    assert all(not problems for problems in Department.objects.find_problems())
    (root,) = Department.objects.filter(depth=1)
    assert (root.code, root.name) == ("HQ", "总经办")
    east = Department.objects.get(code="SALES-E")
    assert Department.objects.get_parent(east).code == "SALES"
    assert east.full_name() == "总经办 / 销售部 / 华东大区"
    for department in Department.objects.select_related("head"):
        assert re.fullmatch(r"[A-Z][A-Z0-9_-]{1,19}", department.code)
        department.full_clean()
        assert department.name_en
        assert department.head is not None, department.code
        assert department.head.department_id == department.pk
    assert root.head is not None
    assert root.head.username == "chenjianguo"
    assert root.head.groups.filter(role__code="general_manager").exists()


def test_managers_follow_the_department_heads_without_cycles():
    seed()
    general_manager = User.objects.get(username="chenjianguo")
    assert general_manager.manager is None
    employees = User.objects.exclude(employee_no=None).select_related("department")
    for user in employees:
        if user == general_manager:
            continue
        assert user.manager_id is not None, user.username
        department = user.department
        assert department is not None
        if department.head_id == user.pk:
            # A head reports to the head of the department above.
            parent = Department.objects.get_parent(department)
            assert user.manager_id == parent.head_id, user.username
        else:
            assert user.manager_id == department.head_id, user.username
        # Following the managers upwards ends at the general manager.
        seen = {user.pk}
        current = user
        while current.manager_id is not None:
            current = User.objects.get(pk=current.manager_id)
            assert current.pk not in seen, f"cycle through {user.username}"
            seen.add(current.pk)
        assert current == general_manager
    zhangwei = User.objects.get(username="zhangwei")
    manager = selectors.user_manager(zhangwei)
    assert manager is not None
    assert manager.username == "yangfan"
    head = selectors.department_head(zhangwei, levels=2)
    assert head is not None
    assert head.username == "lina"


def test_roles_have_members_and_permissions():
    seed()
    reviewers = selectors.role_members("finance_reviewer")
    assert reviewers.count() >= 2
    assert {"chenjing", "huangli"} <= set(reviewers.values_list("username", flat=True))
    assert list(selectors.role_members("general_manager").values_list("username", flat=True)) == [
        "chenjianguo"
    ]
    employees = User.objects.exclude(employee_no=None)
    assert selectors.role_members("employee").count() == employees.count()
    heads = set(Department.objects.values_list("head", flat=True))
    assert set(selectors.role_members("dept_head").values_list("pk", flat=True)) == heads

    hr = User.objects.get(username="zhaomin")
    assert hr.is_staff
    assert hr.has_perms(["portal.change_user", "portal.add_department", "portal.view_position"])
    assert not hr.has_perm("portal.delete_user")
    it = User.objects.get(username="xugang")
    assert it.is_staff
    assert it.has_perms(["portal.view_coderule", "portal.view_role", "portal.change_user"])
    assert not it.has_perm("portal.change_department")
    staff = set(User.objects.filter(is_staff=True).values_list("username", flat=True))
    holders = User.objects.filter(groups__role__code__in=["hr_admin", "it_admin"])
    assert staff == {"admin", *holders.values_list("username", flat=True)}


def test_delegation_and_announcements_reach_the_right_people():
    seed()
    chenjing = User.objects.get(username="chenjing")
    rule = DelegationRule.objects.get(delegator=chenjing)
    assert rule.process_keys == []
    assert rule.starts_at <= timezone.now() < rule.ends_at
    delegate = selectors.delegate_for(chenjing)
    assert delegate is not None
    assert delegate.username == "huangli"

    assert Announcement.objects.filter(is_pinned=True).exists()
    admin = User.objects.get(username="admin")
    assert set(Announcement.objects.values_list("author", flat=True)) == {admin.pk}

    def titles(username: str) -> set[str]:
        user = User.objects.get(username=username)
        return set(selectors.announcements_for(user).values_list("title", flat=True))

    sales_notice = Announcement.objects.get(target_departments__code="SALES").title
    finance_notice = Announcement.objects.get(target_roles__code="finance_reviewer").title
    for_everyone = {"春节放假安排", "报销制度更新"}
    assert for_everyone | {sales_notice} <= titles("zhangwei")
    assert finance_notice not in titles("zhangwei")
    assert for_everyone | {finance_notice} <= titles("huangli")
    assert sales_notice not in titles("huangli")


def test_output_names_the_demo_logins_and_counts():
    output = seed()
    for username in DEMO_LOGINS:
        assert re.search(rf"^\s+{username}\s", output, re.MULTILINE), username
    for name in ("系统管理员", "陈建国", "李娜", "张伟", "黄丽", "赵敏"):
        assert name in output
    assert DEMO_PASSWORD in output
    assert f"departments: {Department.objects.count()}" in output
    assert f"users: {User.objects.count()}" in output
    assert f"roles: {Role.objects.count()}" in output
    assert f"announcements: {Announcement.objects.count()}" in output


@pytest.mark.parametrize("username", ["zhangwei", "admin", "E000013"])
def test_demo_user_signs_in_through_the_login_page(client, username):
    seed()
    response = client.post("/accounts/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"
    assert client.get("/").status_code == 200


def test_hr_admin_can_open_django_admin(client):
    seed()
    client.post("/accounts/login/", {"username": "zhaomin", "password": DEMO_PASSWORD})
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/portal/user/").status_code == 200


def test_passwords_are_kept_on_a_second_run_unless_reset():
    seed()
    output = seed(password="another-secret")
    user = User.objects.get(username="zhangwei")
    assert user.check_password(DEMO_PASSWORD)
    assert "another-secret" not in output
    assert "--reset-passwords" in output

    output = seed(password="another-secret", reset_passwords=True)
    user.refresh_from_db()
    assert user.check_password("another-secret")
    assert User.objects.get(username="admin").check_password("another-secret")
    assert "another-secret" in output


def test_empty_password_is_refused():
    with pytest.raises(CommandError, match="password"):
        seed(password="")
    assert not User.objects.exists()


def test_an_expired_leave_starts_again():
    seed()
    rule = DelegationRule.objects.get()
    rule.starts_at = timezone.now() - timedelta(days=30)
    rule.ends_at = timezone.now() - timedelta(days=23)
    rule.save()
    seed()
    rule.refresh_from_db()
    assert rule.starts_at <= timezone.now() < rule.ends_at
    assert DelegationRule.objects.count() == 1


def test_adopts_existing_rows_without_duplicates(employee, hr_admin):
    """On a database that already has part of the organization (the test personas: 张伟
    in 华东区, 李娜 heading 销售部, 赵敏 in HR) the rows are completed, not duplicated,
    and existing passwords are kept."""
    seed()
    assert Department.objects.filter(code="SALES-E").count() == 1
    assert Department.objects.get(code="SALES-E").name == "华东大区"
    zhangwei = User.objects.get(username="zhangwei")
    assert zhangwei.check_password(PASSWORD)
    assert zhangwei.employee_no == "E000013"
    assert zhangwei.manager is not None
    assert zhangwei.manager.username == "yangfan"
    assert User.objects.get(username="zhaomin").groups.filter(role__code="hr_admin").exists()
    assert 55 <= User.objects.count() <= 70
    before = snapshot()
    seed()
    assert snapshot() == before
