"""Out of office (代理) on one's own profile (issue 15, item 14 c): set a proxy for a period,
end it or delete it; the model's check refuses oneself, a disabled account, an end before
the start and an overlapping rule; the proxy is told in their language; new tasks then go
to the proxy; another person's rules are not found.

Personas (tests/conftest.py): 李娜 (dept_head) is 张伟's (employee) manager; 王芳
(colleague) and 刘洋 (outsider).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from portal.models import DelegationRule, Notification, User
from tests.workflow.approval_helpers import deploy_steps, open_task, start, user_task

pytestmark = pytest.mark.django_db

PROFILE = "/accounts/profile/"
CREATE = "/accounts/profile/delegations/"
MINUTE = "%Y-%m-%dT%H:%M"


def _at(hours: float) -> str:
    return timezone.localtime(timezone.now() + datetime.timedelta(hours=hours)).strftime(MINUTE)


def _english(*people: User) -> None:
    for person in people:
        person.preferred_language = "en"
        person.save()


def _rule(
    delegator: User, delegate: User, start: float, end: float, **extra: Any
) -> DelegationRule:
    now = timezone.now()
    return DelegationRule.objects.create(
        delegator=delegator,
        delegate=delegate,
        starts_at=now + datetime.timedelta(hours=start),
        ends_at=now + datetime.timedelta(hours=end),
        **extra,
    )


def test_a_person_sets_a_proxy_who_is_told_and_then_gets_the_tasks(
    login: Callable[[User], Client], dept_head: User, colleague: User, employee: User
) -> None:
    _english(dept_head, colleague)
    client = login(dept_head)
    assert "Out of office" in client.get(PROFILE).content.decode()
    answer = client.post(
        CREATE,
        {"delegate": "王芳", "starts_at": _at(-1), "ends_at": _at(48), "reason": "Annual leave"},
    )
    assert answer.status_code == 303, answer.content.decode()[:3000]
    rule = DelegationRule.objects.get()
    assert (rule.delegator, rule.delegate, rule.reason) == (dept_head, colleague, "Annual leave")
    note = Notification.objects.get(recipient=colleague)
    assert note.title.startswith("李娜 asked you to act for them from ")
    assert "Reason: Annual leave" in note.body
    page = client.get(PROFILE).content.decode()
    assert "王芳" in page and "in force" in page
    assert "李娜" in login(colleague).get(PROFILE).content.decode()  # 王芳 sees whom she acts for

    # the existing proxy rule: 张伟's request, for his manager 李娜, reaches 王芳 on her behalf
    deploy_steps(user_task("approve", assignee="${manager(initiator)}"))
    task = open_task(start(employee))
    assert (task.assignee, task.on_behalf_of) == ("wangfang", "lina")


def test_the_proxy_is_told_in_their_own_language(
    login: Callable[[User], Client], dept_head: User, colleague: User, outsider: User
) -> None:
    dept_head.preferred_language = "zh-hans"  # the page is in Chinese ...
    dept_head.save()
    _english(colleague)  # ... the proxy reads English
    client = login(dept_head)
    client.post(CREATE, {"delegate": "wangfang", "starts_at": _at(1), "ends_at": _at(5)})
    client.post(f"{CREATE}{DelegationRule.objects.get().pk}/delete/")
    client.post(CREATE, {"delegate": "liuyang", "starts_at": _at(1), "ends_at": _at(5)})
    rule = DelegationRule.objects.get()
    values = {
        "name": "李娜",
        "start": timezone.localtime(rule.starts_at).strftime("%Y-%m-%d %H:%M"),
        "end": timezone.localtime(rule.ends_at).strftime("%Y-%m-%d %H:%M"),
    }
    text = "%(name)s asked you to act for them from %(start)s to %(end)s"
    with translation.override("zh-hans"):
        chinese = gettext(text) % values
    english = Notification.objects.filter(recipient=colleague).order_by("pk").first()
    assert english is not None and english.title == text % values
    assert Notification.objects.get(recipient=outsider).title == chinese


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"delegate": "lina"}, "delegate", "Choose someone other than the absent person."),
        ({"delegate": "nobody"}, "delegate", "Nobody active is called “nobody”."),
        ({"delegate": "former"}, "delegate", "Nobody active is called “former”."),
        ({"ends_at": "START-1"}, "ends_at", "The end must be after the start."),
        ({"starts_at": "-5", "ends_at": "-2"}, "ends_at", "The end must be in the future."),
        ({"starts_at": "not a date"}, "starts_at", "Enter a valid date/time."),
        ({"starts_at": "30", "ends_at": "40"}, "starts_at", "This period overlaps another"),
    ],
)
def test_bad_rules_are_refused_and_nothing_is_saved(
    login: Callable[[User], Client],
    dept_head: User,
    colleague: User,
    outsider: User,
    values: dict[str, str],
    field: str,
    message: str,
) -> None:
    _english(dept_head)
    User.objects.create(username="former", first_name="X", last_name="Y", is_active=False)
    existing = _rule(dept_head, outsider, 24, 72)
    data = {"delegate": "wangfang", "starts_at": _at(1), "ends_at": _at(10), **values}
    for name in ("starts_at", "ends_at"):
        if data[name].lstrip("-").isdigit():
            data[name] = _at(float(data[name]))
    if data["ends_at"] == "START-1":
        data["ends_at"] = _at(0.5)
    answer = login(dept_head).post(CREATE, data)
    assert answer.status_code == 400
    errors = answer.context["delegation_form"].errors
    assert any(message in e for e in errors[field]), errors
    assert list(DelegationRule.objects.all()) == [existing]
    assert not Notification.objects.filter(recipient=colleague).exists()


def test_a_disabled_proxy_is_refused_by_the_model(dept_head: User, colleague: User) -> None:
    from django.core.exceptions import ValidationError

    colleague.is_active = False
    colleague.save()
    now = timezone.now()
    rule = DelegationRule(
        delegator=dept_head,
        delegate=colleague,
        starts_at=now,
        ends_at=now + datetime.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert "delegate" in raised.value.message_dict


def test_rules_for_different_processes_may_overlap(dept_head: User, colleague: User) -> None:
    _rule(dept_head, colleague, 0, 10, process_keys=["leave"])
    now = timezone.now()
    other = DelegationRule(
        delegator=dept_head,
        delegate=colleague,
        starts_at=now,
        ends_at=now + datetime.timedelta(hours=5),
        process_keys=["expense"],
    )
    other.full_clean()
    other.process_keys = []
    assert other.overlapping() is not None


def test_ending_and_deleting_ones_own_rules(
    login: Callable[[User], Client], dept_head: User, colleague: User, outsider: User
) -> None:
    _english(dept_head, colleague)
    running = _rule(dept_head, colleague, -2, 48)
    upcoming = _rule(dept_head, outsider, 72, 96)
    client = login(dept_head)
    assert client.post(f"{CREATE}{running.pk}/end/").status_code == 303
    running.refresh_from_db()
    assert running.ends_at <= timezone.now() and running.is_active
    assert Notification.objects.filter(
        recipient=colleague, title="李娜 no longer needs you to act for them"
    ).exists()
    assert client.post(f"{CREATE}{upcoming.pk}/delete/").status_code == 303
    assert not DelegationRule.objects.filter(pk=upcoming.pk).exists()
    assert Notification.objects.filter(recipient=outsider).count() == 1


def test_another_persons_rules_are_not_found(
    login: Callable[[User], Client], dept_head: User, colleague: User, outsider: User
) -> None:
    theirs = _rule(dept_head, colleague, -1, 10)
    client = login(outsider)
    assert client.post(f"{CREATE}{theirs.pk}/end/").status_code == 404
    assert client.post(f"{CREATE}{theirs.pk}/delete/").status_code == 404
    assert client.get(f"{CREATE}{theirs.pk}/delete/").status_code == 405
    assert "王芳" not in client.get(PROFILE).content.decode()
    theirs.refresh_from_db()
    assert theirs.ends_at > timezone.now()
    assert not Notification.objects.exists()
