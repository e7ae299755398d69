"""The portal shell as every persona sees it, and as an anonymous visitor does."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from portal import portlets as shell_portlets
from portal import registry
from portal.models import Notification, User
from tests.factories import PASSWORD, AnnouncementFactory

pytestmark = pytest.mark.django_db

PERSONAS = ["employee", "colleague", "dept_head", "hr_admin", "outsider", "superuser"]
STAFF = {"hr_admin", "superuser"}
NEW_PASSWORD = "Lantern-orbit-47-quiet"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(params=PERSONAS)
def persona(request):
    """(name, user) for each persona in turn."""
    return request.param, request.getfixturevalue(request.param)


@pytest.fixture
def notice():
    """An announcement for everyone."""
    return AnnouncementFactory.create(title="全员通知", body="国庆放假安排")


@pytest.fixture
def staff_portlet():
    """A portlet only staff may see, registered for the test only."""
    entry = registry.portlets.register(
        registry.Portlet(
            "staff-report",
            "Staff report",
            "portal/portlets/profile.html",
            shell_portlets.profile_context,
            order=30,
            visible=registry.staff_only,
        )
    )
    yield entry
    registry.portlets.unregister(entry.key)


def notify(user: User, **kwargs: object) -> Notification:
    fields: dict[str, object] = {"kind": "system", "title": "新任务"}
    fields.update(kwargs)
    return Notification.objects.create(recipient=user, **fields)


def login_redirect(path: str) -> str:
    return f"{LOGIN_URL}?{urlencode({'next': path}, safe='/')}"


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "no <html lang> in the page"
    return match.group(1)


def template_names(response) -> set[str]:
    return {t.name for t in response.templates}


# --- who may see what --------------------------------------------------------------------

GET_PAGES = [
    "/",
    "/portlets/announcements/",
    "/portlets/profile/",
    "/accounts/profile/",
    "/accounts/password/",
    "/notifications/",
    "/notifications/?unread=1",
    "/notifications/badge/",
    "/announcements/",
    "/announcements/{announcement}/",
]
POST_ONLY = ["/notifications/read-all/", "/notifications/{notification}/open/"]


@pytest.fixture
def urls(notice, colleague):
    """Fills the placeholders of GET_PAGES and POST_ONLY."""
    notification = notify(colleague)

    def fill(template: str) -> str:
        return template.format(announcement=notice.pk, notification=notification.pk)

    return fill


@pytest.mark.parametrize("page", GET_PAGES)
def test_anonymous_get_is_sent_to_login(client, urls, page):
    path = urls(page)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(path)


@pytest.mark.parametrize("page", POST_ONLY)
def test_anonymous_post_is_sent_to_login_and_changes_nothing(client, urls, page):
    path = urls(page)
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"] == login_redirect(path)
    assert not Notification.objects.filter(read_at__isnull=False).exists()


def test_anonymous_sees_the_login_page(client):
    response = client.get(LOGIN_URL)
    assert response.status_code == 200
    assert "registration/login.html" in template_names(response)
    assert 'name="password"' in response.content.decode()


@pytest.mark.parametrize("page", GET_PAGES)
def test_every_persona_sees_every_shell_page(login, persona, urls, page):
    _name, user = persona
    response = login(user).get(urls(page))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_signed_in_persona_is_sent_from_login_to_the_dashboard(login, persona):
    _name, user = persona
    response = login(user).get(LOGIN_URL)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_dashboard_greets_the_persona(login, persona):
    _name, user = persona
    content = login(user).get("/").content.decode()
    assert user.display_name in content


# the shell (session, user, permissions for the menu, the bell) and every portlet, each a
# few bounded queries whatever a person's history (tests/workflow/test_home.py counts them)
DASHBOARD_QUERIES = 21


def test_dashboard_and_portlets_are_cheap(login, persona, django_assert_max_num_queries):
    _name, user = persona
    client = login(user)
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        assert client.get("/").status_code == 200
    for key in ("announcements", "profile"):
        with django_assert_max_num_queries(12):
            assert client.get(f"/portlets/{key}/").status_code == 200


def test_dashboard_renders_each_visible_portlet_in_its_first_response(
    login, persona, staff_portlet
):
    """No box waits for a second request: each is in the page, none says "Loading…"."""
    name, user = persona
    content = login(user).get("/").content.decode()
    boxes = re.findall(r'<section class="portlet[^"]*" id="portlet-([^"]+)">', content)
    expected = ["workflow-todo", "workflow-quick-start", "workflow-requests", "workflow-copies"]
    expected += ["announcements", "profile"]
    if name in STAFF:
        expected.append("staff-report")
    if user.is_superuser:  # the CRM's boxes need its permissions, which a superuser holds
        expected += ["crm-followups", "crm-pipeline", "crm-cases-near-breach"]
    assert sorted(boxes) == sorted(expected)
    assert "Loading" not in content and 'hx-trigger="load"' not in content


def test_hidden_portlet_is_not_found(login, employee, hr_admin, staff_portlet):
    assert login(employee).get("/portlets/staff-report/").status_code == 404
    assert login(hr_admin).get("/portlets/staff-report/").status_code == 200


def test_unknown_portlet_is_not_found(login, employee):
    assert login(employee).get("/portlets/no-such-portlet/").status_code == 404


def test_navigation_shows_administration_only_to_staff(login, persona):
    name, user = persona
    user.preferred_language = "en"
    user.save()
    content = login(user).get("/").content.decode()
    found = re.search(r'<nav class="mainnav".*?</nav>', content, re.S)
    assert found is not None
    nav = found.group(0)
    assert 'href="/"' in nav
    assert 'href="/announcements/"' in nav
    assert ('href="/admin/"' in nav) is (name in STAFF)
    assert ("Administration" in nav) is (name in STAFF)


def test_grouped_entries_are_one_menu_where_the_group_stands(login, persona):
    """The bar keeps to one line: the management entries are one menu (管理) at its place;
    a group with one visible entry is that entry; the page's entry is marked in its menu."""
    name, user = persona
    items = registry.navigation_for(user, "/dictionary/")
    keys = [item.key for item in items]
    if name in STAFF:  # the data dictionary and the administration: one menu
        menu = next(item for item in items if item.key == "manage")
        assert isinstance(menu, registry.NavMenu)
        assert [link.key for link in menu.links][-2:] == ["dictionary", "admin"]
        assert menu.current and [link.key for link in menu.links if link.current] == ["dictionary"]
        assert "dictionary" not in keys and "admin" not in keys
        assert keys.index("manage") > keys.index("announcements")
    else:  # only the data dictionary: the link itself, where the group stands
        link = next(item for item in items if item.key == "dictionary")
        assert isinstance(link, registry.NavLink) and link.current
        assert "manage" not in keys and keys.index("dictionary") > keys.index("announcements")
    # one visible entry of a group: the link itself
    registry.nav_groups.register(registry.NavGroup("lonely", "Lonely", 95))
    registry.navigation.register(
        registry.NavEntry("lonely-one", "One", "portal:announcements", order=96, group="lonely")
    )
    try:
        items = registry.navigation_for(user, "/")
        lonely = next(item for item in items if item.key == "lonely-one")
        assert isinstance(lonely, registry.NavLink) and not lonely.current
    finally:
        registry.navigation.unregister("lonely-one")
        registry.nav_groups.unregister("lonely")


@pytest.mark.parametrize(
    "path",
    [
        "/language/",
        "/notifications/read-all/",
        "/notifications/{notification}/open/",
        "/accounts/logout/",
    ],
)
def test_get_on_post_only_views_is_refused(login, employee, path):
    notification = notify(employee)
    client = login(employee)
    response = client.get(path.format(notification=notification.pk))
    assert response.status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None
    assert client.get("/").status_code == 200, "still signed in"


@pytest.mark.parametrize(
    "path",
    ["/", "/portlets/profile/", "/notifications/", "/notifications/badge/", "/announcements/"],
)
def test_post_on_read_only_views_is_refused(login, employee, path):
    assert login(employee).post(path).status_code == 405


def test_profile_refuses_other_methods(login, employee):
    assert login(employee).put("/accounts/profile/").status_code == 405


# --- announcements -----------------------------------------------------------------------


def test_announcements_are_listed_by_audience(login, org, employee, outsider, notice):
    for_finance = AnnouncementFactory.create(title="财务部通知")
    for_finance.target_departments.add(org["finance"])
    employee_page = login(employee).get("/announcements/").content.decode()
    assert "全员通知" in employee_page
    assert "财务部通知" not in employee_page
    outsider_page = login(outsider).get("/announcements/").content.decode()
    assert "全员通知" in outsider_page
    assert "财务部通知" in outsider_page


def test_announcement_detail_shows_the_text(login, employee, notice):
    response = login(employee).get(f"/announcements/{notice.pk}/")
    assert response.status_code == 200
    assert "国庆放假安排" in response.content.decode()


def test_announcement_not_for_the_user_is_not_found(login, org, employee, outsider):
    for_finance = AnnouncementFactory.create(title="财务部通知")
    for_finance.target_departments.add(org["finance"])
    response = login(employee).get(f"/announcements/{for_finance.pk}/")
    assert response.status_code == 404
    assert "财务部通知" not in response.content.decode()
    assert login(outsider).get(f"/announcements/{for_finance.pk}/").status_code == 200


def test_expired_or_missing_announcement_is_not_found(login, employee):
    now = timezone.now()
    expired = AnnouncementFactory.create(
        published_at=now - timedelta(days=3), expires_at=now - timedelta(days=1)
    )
    client = login(employee)
    assert client.get(f"/announcements/{expired.pk}/").status_code == 404
    assert client.get("/announcements/999999/").status_code == 404


def test_announcements_portlet_lists_the_users_announcements(login, org, employee, notice):
    AnnouncementFactory.create(title="财务部通知").target_departments.add(org["finance"])
    content = login(employee).get("/portlets/announcements/").content.decode()
    assert "全员通知" in content
    assert "财务部通知" not in content
    assert f'href="/announcements/{notice.pk}/"' in content


def test_profile_portlet_shows_the_organization(login, employee, dept_head):
    content = login(employee).get("/portlets/profile/").content.decode()
    assert employee.employee_no in content
    assert "总经办 / 销售部 / 华东区" in content
    assert dept_head.display_name in content  # the manager


# --- notifications -----------------------------------------------------------------------


def test_notification_list_shows_only_own(login, employee, colleague):
    notify(employee, title="我的未读")
    notify(employee, title="我的已读", read_at=timezone.now())
    notify(colleague, title="别人的")
    client = login(employee)
    content = client.get("/notifications/").content.decode()
    assert "我的未读" in content
    assert "我的已读" in content
    assert "别人的" not in content
    unread = client.get("/notifications/?unread=1").content.decode()
    assert "我的未读" in unread
    assert "我的已读" not in unread


def test_notification_list_is_paged(login, employee):
    Notification.objects.bulk_create(
        Notification(recipient=employee, kind="system", title=f"第{i:02d}条") for i in range(25)
    )
    client = login(employee)
    first = client.get("/notifications/")
    second = client.get("/notifications/?page=2")
    assert len(first.context["page"].object_list) == 20
    assert len(second.context["page"].object_list) == 5


def test_bell_badge_shows_the_unread_count(login, employee, colleague):
    for _ in range(3):
        notify(employee)
    notify(employee, read_at=timezone.now())
    notify(colleague)
    client = login(employee)
    response = client.get("/notifications/badge/")
    assert response.status_code == 200
    content = response.content.decode()
    assert re.search(r'data-testid="unread-count">3</span>', content)
    assert "<html" not in content, "the badge is a partial"
    dashboard = client.get("/").content.decode()
    assert re.search(r'data-testid="unread-count">3</span>', dashboard)


def test_bell_badge_without_unread_shows_no_count(login, employee):
    notify(employee, read_at=timezone.now())
    content = login(employee).get("/notifications/badge/").content.decode()
    assert 'id="bell"' in content
    assert "unread-count" not in content


def test_bell_badge_caps_the_count(login, employee):
    Notification.objects.bulk_create(
        Notification(recipient=employee, kind="system", title="x") for _ in range(120)
    )
    content = login(employee).get("/notifications/badge/").content.decode()
    assert re.search(r'data-testid="unread-count">99\+</span>', content)


def test_opening_a_notification_marks_it_read_and_follows_its_link(login, persona):
    _name, user = persona
    notification = notify(user, url="/announcements/")
    response = login(user).post(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/announcements/"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize(
    "url", ["https://evil.example.com/phish", "//evil.example.com/", "javascript:alert(1)", ""]
)
def test_opening_a_notification_never_leaves_the_portal(login, employee, url):
    notification = notify(employee, url=url)
    response = login(employee).post(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_someone_elses_notification_is_not_found(login, employee, colleague):
    theirs = notify(colleague, url="/announcements/")
    response = login(employee).post(f"/notifications/{theirs.pk}/open/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(login, persona, colleague):
    _name, user = persona
    for _ in range(2):
        notify(user)
    other = notify(colleague) if user != colleague else None
    client = login(user)
    response = client.post("/notifications/read-all/")
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    assert not Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
    if other is not None:
        other.refresh_from_db()
        assert other.read_at is None
    page = client.get("/notifications/")
    assert [str(m) for m in page.context["messages"]], "a confirmation is shown"


# --- language ----------------------------------------------------------------------------


def test_signed_in_language_switch_is_saved_on_the_account(login, persona):
    _name, user = persona
    client = login(user)
    assert client.get("/").headers["Content-Language"] == "zh-hans"

    response = client.post("/language/", {"language": "en", "next": "/notifications/"})
    assert response.status_code == 302
    assert response["Location"] == "/notifications/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    user.refresh_from_db()
    assert user.preferred_language == "en"

    page = client.get("/notifications/")
    assert page.headers["Content-Language"] == "en"
    assert html_lang(page) == "en"


def test_saved_language_wins_over_the_browser_and_a_new_session(employee):
    employee.preferred_language = "en"
    employee.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    page = client.get("/")
    assert page.headers["Content-Language"] == "en"
    assert html_lang(page) == "en"
    assert "Hello, " in page.content.decode()


def test_switching_back_to_chinese(login, employee):
    employee.preferred_language = "en"
    employee.save()
    client = login(employee)
    client.post("/language/", {"language": "zh-hans"})
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"
    page = client.get("/")
    assert html_lang(page) == "zh-hans"


def test_anonymous_language_switch_sets_the_cookie(client):
    assert html_lang(client.get(LOGIN_URL)) == "zh-hans"
    response = client.post("/language/", {"language": "en", "next": LOGIN_URL})
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en"
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    page = client.get(LOGIN_URL)
    assert page.headers["Content-Language"] == "en"
    assert html_lang(page) == "en"


def test_language_switch_without_next_goes_to_the_dashboard(client):
    response = client.post("/language/", {"language": "en"})
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/path",
        "http://evil.example.com",
        "javascript:alert(1)",
        "https:/\\evil.example.com",
    ],
)
def test_language_switch_ignores_a_next_on_another_host(login, employee, target):
    response = login(employee).post("/language/", {"language": "en", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_unknown_language_is_refused(login, employee):
    response = login(employee).post("/language/", {"language": "fr"})
    assert response.status_code == 400
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


# --- signing in and out ------------------------------------------------------------------


def sign_in(client: Client, username: str, password: str, **extra: str):
    return client.post(LOGIN_URL, {"username": username, "password": password, **extra})


def signed_in_as(client: Client) -> int | None:
    value = client.session.get("_auth_user_id")
    return None if value is None else int(value)


def test_login_with_user_name(client, employee):
    response = sign_in(client, "zhangwei", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_as(client) == employee.pk


def test_login_with_employee_number(client, employee):
    response = sign_in(client, employee.employee_no, PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == employee.pk


def test_login_with_employee_number_ignores_case_and_spaces(client, employee):
    response = sign_in(client, f"  {employee.employee_no.lower()} ", PASSWORD)
    assert response.status_code == 302
    assert signed_in_as(client) == employee.pk


def test_login_follows_a_local_next_only(client, employee):
    response = sign_in(client, "zhangwei", PASSWORD, next="/announcements/")
    assert response["Location"] == "/announcements/"
    client.post("/accounts/logout/")
    response = sign_in(client, "zhangwei", PASSWORD, next="https://evil.example.com/")
    assert response["Location"] == "/"


def test_login_of_a_disabled_account_fails(client, employee):
    employee.is_active = False
    employee.save()
    response = sign_in(client, "zhangwei", PASSWORD)
    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_wrong_password_shows_an_error(client, employee):
    response = sign_in(client, "zhangwei", "wrong-password")
    assert response.status_code == 200
    assert signed_in_as(client) is None
    form = response.context["form"]
    assert [e.code for e in form.errors.as_data()["__all__"]] == ["invalid_login"]
    assert 'class="errors" role="alert"' in response.content.decode()


def test_wrong_password_error_is_in_chinese(client, employee):
    response = sign_in(client, "nobody-here", "wrong-password")
    content = response.content.decode()
    assert "用户名或密码错误" in content
    assert f"{settings.AXES_FAILURE_LIMIT} 次" in content
    assert html_lang(response) == "zh-hans"


def test_too_many_failures_lock_the_account_out(client, employee, colleague):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    statuses = [sign_in(client, "zhangwei", f"wrong-{i}").status_code for i in range(limit - 1)]
    assert statuses == [200] * (limit - 1)
    # The failure that reaches the limit already answers with the lock-out page.
    assert sign_in(client, "zhangwei", "wrong-last").status_code == 429

    response = sign_in(client, "zhangwei", PASSWORD)  # the right password, too late
    assert response.status_code == 429
    assert "registration/locked_out.html" in template_names(response)
    assert "15" in response.content.decode(), "the page says how long the lock lasts"
    assert signed_in_as(client) is None
    # Someone else from the same address may still sign in.
    assert sign_in(client, "wangfang", PASSWORD).status_code == 302
    assert signed_in_as(client) == colleague.pk


def test_successful_login_resets_the_failure_count(client, employee):
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "zhangwei", f"wrong-{i}")
    assert sign_in(client, "zhangwei", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "zhangwei", f"again-{i}").status_code == 200
    assert sign_in(client, "zhangwei", PASSWORD).status_code == 302


def test_login_of_an_english_speaker_shows_an_english_dashboard(client, employee):
    employee.preferred_language = "en"
    employee.save()
    response = sign_in(client, "zhangwei", PASSWORD)
    dashboard = client.get(response["Location"])
    assert dashboard.status_code == 200
    assert dashboard.headers["Content-Language"] == "en"
    assert html_lang(dashboard) == "en"
    assert "Hello, 张伟" in dashboard.content.decode()


def test_login_of_a_chinese_speaker_shows_a_chinese_dashboard(client, employee):
    response = sign_in(client, "zhangwei", PASSWORD)
    dashboard = client.get(response["Location"])
    assert html_lang(dashboard) == "zh-hans"
    assert "您好，张伟" in dashboard.content.decode()


def test_logout(login, persona):
    _name, user = persona
    client = login(user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert signed_in_as(client) is None
    assert client.get("/")["Location"] == login_redirect("/")


# --- profile and password ----------------------------------------------------------------


def test_profile_shows_the_current_preferences(login, employee):
    response = login(employee).get("/accounts/profile/")
    form = response.context["form"]
    assert form.initial == {
        "preferred_language": "zh-hans",
        "phone": "13800000001",
        "notify_by_email": True,
        "notify_by_sms": False,
    }


def test_profile_saves_preferences(login, persona):
    _name, user = persona
    client = login(user)
    response = client.post(
        "/accounts/profile/",
        {"preferred_language": "en", "phone": "13900000002", "notify_by_sms": "on"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    user.refresh_from_db()
    assert (user.preferred_language, user.phone) == ("en", "13900000002")
    assert (user.notify_by_email, user.notify_by_sms) == (False, True)
    page = client.get("/accounts/profile/")
    assert html_lang(page) == "en"
    assert "Your preferences have been saved." in page.content.decode()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"preferred_language": "zh-hans", "phone": "", "notify_by_sms": "on"}, "phone"),
        ({"preferred_language": "zh-hans", "phone": "not a phone"}, "phone"),
        ({"preferred_language": "klingon", "phone": ""}, "preferred_language"),
    ],
)
def test_profile_refuses_bad_preferences(login, employee, data, field):
    response = login(employee).post("/accounts/profile/", data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="error" role="alert"' in response.content.decode()
    employee.refresh_from_db()
    assert employee.phone == "13800000001"
    assert employee.preferred_language == "zh-hans"
    assert employee.notify_by_sms is False


def test_password_change_with_wrong_old_password(login, employee):
    response = login(employee).post(
        "/accounts/password/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    employee.refresh_from_db()
    assert employee.check_password(PASSWORD)
    assert not employee.check_password(NEW_PASSWORD)


def test_password_change_refuses_a_weak_or_mismatched_password(login, employee):
    client = login(employee)
    for new1, new2 in [("12345678", "12345678"), (NEW_PASSWORD, NEW_PASSWORD + "x")]:
        response = client.post(
            "/accounts/password/",
            {"old_password": PASSWORD, "new_password1": new1, "new_password2": new2},
        )
        assert response.status_code == 200
        assert "new_password2" in response.context["form"].errors
    employee.refresh_from_db()
    assert employee.check_password(PASSWORD)


def test_password_change_keeps_the_session(login, persona):
    _name, user = persona
    client = login(user)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert client.get("/").status_code == 200, "still signed in"
    assert signed_in_as(client) == user.pk
    # The new password signs in; the old one no longer does.
    fresh = Client()
    assert sign_in(fresh, user.username, PASSWORD).status_code == 200
    assert sign_in(fresh, user.username, NEW_PASSWORD).status_code == 302


# --- CSRF --------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(employee):
    client = Client(enforce_csrf_checks=True)
    client.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return client


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/language/", {"language": "en"}),
        ("/notifications/read-all/", {}),
        ("/notifications/{notification}/open/", {}),
        ("/accounts/profile/", {"preferred_language": "en", "phone": ""}),
        (
            "/accounts/password/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        ),
        ("/accounts/logout/", {}),
    ],
)
def test_state_changing_views_need_a_csrf_token(csrf_client, employee, path, data):
    notification = notify(employee)
    response = csrf_client.post(path.format(notification=notification.pk), data)
    assert response.status_code == 403
    employee.refresh_from_db()
    assert employee.preferred_language == "zh-hans"
    assert employee.check_password(PASSWORD)
    notification.refresh_from_db()
    assert notification.read_at is None
    assert csrf_client.get("/").status_code == 200, "still signed in"


def test_login_needs_a_csrf_token(employee):
    client = Client(enforce_csrf_checks=True)
    assert sign_in(client, "zhangwei", PASSWORD).status_code == 403
    assert signed_in_as(client) is None


def test_state_changing_views_accept_the_csrf_token(csrf_client, employee):
    notify(employee)
    csrf_client.get("/")
    token = csrf_client.cookies[settings.CSRF_COOKIE_NAME].value
    response = csrf_client.post("/language/", {"language": "en", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    # htmx sends the token in a header (see base.html's hx-headers).
    response = csrf_client.post("/notifications/read-all/", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 302
    employee.refresh_from_db()
    assert employee.preferred_language == "en"
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_pages_carry_the_csrf_token_for_htmx(login, employee):
    content = login(employee).get("/").content.decode()
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[^\"]+\"\}'", content)


def test_unknown_user_is_as_unknown_as_a_wrong_password(client, employee):
    unknown = sign_in(client, "no-such-user", "whatever")
    wrong = sign_in(client, "zhangwei", "whatever")
    assert unknown.status_code == wrong.status_code == 200
    assert unknown.context["form"].errors == wrong.context["form"].errors
    assert not User.objects.filter(username="no-such-user").exists()


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda user: user.employee_no, id="employee-no"),
        pytest.param(lambda user: user.employee_no.lower(), id="lower-case"),
        pytest.param(lambda user: f" {user.username} ", id="spaces"),
    ],
)
def test_lock_out_holds_for_every_spelling_of_the_account(client, employee, spelling):
    """The backend accepts the user name or the employee number in any case, with spaces
    around it; the lock-out must hold for the account, not for one way of typing it."""
    for i in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "zhangwei", f"wrong-{i}")
    response = sign_in(client, spelling(employee), PASSWORD)
    assert response.status_code == 429
    assert signed_in_as(client) is None
