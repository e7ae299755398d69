"""The staff admin in the portal's look and words (issue 15, item 10): the sidebar by area,
new people numbered by the code rule, the department tree back at what was saved, roles'
permissions grouped in words, Chinese throughout, and the theme's script policy kept to the
admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.utils import translation

from portal.admin_site import permission_areas, sidebar
from portal.models import CodeRule, Department, Role, User
from portal.selectors import next_employee_no
from tests.factories import UserFactory, role

pytestmark = pytest.mark.django_db


def _sidebar_for(user: User) -> dict[str, list[str]]:
    request = RequestFactory().get("/admin/")
    request.user = user
    with translation.override("zh-hans"):
        return {str(g["title"]): [str(i["title"]) for i in g["items"]] for g in sidebar(request)}


def test_the_sidebar_puts_the_organization_first_in_words(superuser):
    groups = _sidebar_for(superuser)
    titles = list(groups)
    assert titles[0] == "组织信息"
    assert titles[-1] == "登录与接口访问"
    assert groups["组织信息"][:4] == ["用户", "部门", "岗位", "角色"]
    assert "访问令牌" in groups["登录与接口访问"]
    assert "登录尝试" in groups["登录与接口访问"]
    assert not any(t.startswith(("Axes", "Django OAuth")) for t in titles)


def test_the_sidebar_shows_only_what_a_person_may_view(hr_admin):
    groups = _sidebar_for(hr_admin)
    assert "用户" in groups["组织信息"]
    assert "编码规则" not in groups["组织信息"]
    assert "登录与接口访问" not in groups


def test_the_index_lists_sign_in_and_api_access_last(login, superuser):
    with translation.override("zh-hans"):
        apps = login(superuser).get("/admin/").context["app_list"]
    labels = [app["app_label"] for app in apps]
    assert labels[0] == "portal"
    assert set(labels[-2:]) == {"axes", "oauth2_provider"}


@pytest.mark.parametrize(
    ("pattern", "example", "taken", "expected"),
    [
        (r"E\d{6}", "E000001", [], "E000001"),
        (r"E\d{6}", "E000001", ["E000123", "E000009"], "E000124"),
        (r"EMP-\d{4}", "EMP-0001", ["EMP-0042", "X-9"], "EMP-0043"),
        (r"E\d{6}", "E000001", ["E999999"], None),  # the rule has no number left
        (r"[A-Z]+", "ABC", [], None),  # a rule without digits: typed by hand
    ],
)
def test_the_next_employee_number_follows_the_code_rule(org, pattern, example, taken, expected):
    CodeRule.objects.filter(key="employee_no").update(pattern=pattern, example=example)
    for number, code in enumerate(taken):
        User.objects.create(username=f"u{number}", employee_no=code)
    assert next_employee_no() == expected


def test_a_new_person_gets_the_next_employee_number(login, superuser, org, employee):
    User.objects.exclude(pk=employee.pk).update(employee_no=None)
    User.objects.filter(pk=employee.pk).update(employee_no="E000041")
    client = login(superuser)
    page = client.get("/admin/portal/user/add/")
    assert page.context["adminform"].form.initial["employee_no"] == "E000042"
    response = client.post(
        "/admin/portal/user/add/",
        {
            "username": "newhire",
            "employee_no": "",
            "last_name": "孙",
            "first_name": "丽",
            "department": str(org["east"].pk),
            "usable_password": "false",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="newhire").employee_no == "E000042"


def test_after_saving_a_department_the_tree_opens_at_its_branch(login, superuser, org):
    east: Department = org["east"]
    client = login(superuser)
    response = client.post(
        f"/admin/portal/department/{east.pk}/change/",
        {
            "name": "华东大区",
            "code": east.code,
            "name_en": "",
            "is_active": "on",
            "treebeard_position": "first-child",
            "treebeard_ref_node": str(org["sales"].pk),
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    sales = Department.objects.get(pk=org["sales"].pk)
    assert response["Location"].endswith(f"?path__startswith={sales.path}")
    branch = client.get(response["Location"])
    assert branch.status_code == 200
    names = [d.name for d in branch.context["cl"].result_list]
    assert "华东大区" in names
    assert "财务部" not in names


def test_role_permissions_are_grouped_by_area_in_words(login, superuser):
    approver = role("approver", "审批人", permissions=["workflow.view_processinstance"])
    hidden = Permission.objects.get(codename="view_subscription")  # an engine table
    approver.permissions.add(hidden)
    with translation.override("zh-hans"):
        page = login(superuser).get(f"/admin/portal/role/{approver.pk}/change/")
        html = page.content.decode()
    assert "Can add access token" not in html
    assert "流程中心" in html and "组织信息" in html
    # what the role holds stays on the form (saving never drops a permission unseen)
    instance_view = Permission.objects.get(codename="view_processinstance")
    checked = re.findall(r'name="permissions" value="(\d+)"[^>]* checked', html)
    assert sorted(checked) == sorted([str(hidden.pk), str(instance_view.pk)])


def test_the_permission_grid_puts_the_four_actions_in_columns(superuser):
    permissions = Permission.objects.filter(content_type__app_label="portal").select_related(
        "content_type"
    )
    with translation.override("zh-hans"):
        areas = permission_areas(permissions)
    organization = next(a for a in areas if a.title == "组织信息")
    users = next(r for r in organization.rows if r.name == "用户")
    assert [label for label, _pk in users.actions] == ["查看", "新增", "修改", "删除"]
    assert all(pk for _label, pk in users.actions)


def test_saving_a_role_keeps_its_permissions(login, superuser):
    approver = role("approver", "审批人", permissions=["workflow.view_processinstance"])
    wanted = Permission.objects.get(codename="change_processsettings")
    response = login(superuser).post(
        f"/admin/portal/role/{approver.pk}/change/",
        {
            "code": "approver",
            "name": "审批人",
            "name_en": "",
            "description": "",
            "permissions": [str(p.pk) for p in approver.permissions.all()] + [str(wanted.pk)],
        },
    )
    assert response.status_code == 302
    codes = set(Role.objects.get(pk=approver.pk).permissions.values_list("codename", flat=True))
    assert codes == {"view_processinstance", "change_processsettings"}


def test_admin_words_are_chinese(login, superuser, org):
    client = login(superuser)
    with translation.override("zh-hans"):
        user = UserFactory.create(username="someone")
        page = client.get(f"/admin/portal/user/{user.pk}/change/").content.decode()
        form = client.get(f"/admin/portal/department/{org['east'].pk}/change/").content.decode()
    assert "历史" in page and "审批记录" not in page
    assert "First child of" not in form and "作为其第一个下级" in form
    assert "Search apps and models" not in page


def test_only_the_admin_allows_the_theme_to_evaluate_scripts(login, superuser):
    client = login(superuser)
    admin_policy = client.get("/admin/")["Content-Security-Policy"]
    portal_policy = client.get("/")["Content-Security-Policy"]
    assert "'unsafe-eval'" in admin_policy
    assert "'unsafe-eval'" not in portal_policy
