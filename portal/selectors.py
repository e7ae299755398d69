"""Reads of the organization that other apps reuse; the workflow resolves participants
through these functions (``${manager(initiator)}``, ``${deptHead(initiator, 2)}``,
``role:finance_reviewer`` ...)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from portal.choices import CodeRuleKey
from portal.models import (
    SEARCH_SEPARATOR,
    Announcement,
    CodeRule,
    DelegationRule,
    Department,
    Notification,
    User,
    default_code_pattern,
)

# A chain of delegations (A → B while B → C) is followed this far, then cut.
MAX_DELEGATION_CHAIN = 5


def at_most(rows: QuerySet[Any, Any], limit: int) -> list[Any] | None:
    """The rows of ``rows`` as a list when there are at most ``limit`` (one query, reading
    at most ``limit + 1``), else None: a caller names a few by value, which lets the
    database weigh its plans by their number, and keeps the subquery for many."""
    found = list(rows[: limit + 1])
    return found if len(found) <= limit else None


def _chain_of(department_id: int | None) -> list[Department]:
    """The department and the departments above it, its own first (two queries)."""
    if department_id is None:
        return []
    department = Department.objects.get(pk=department_id)
    return [department, *reversed(list(Department.objects.get_ancestors(department)))]


def department_chain(user: User) -> list[Department]:
    """``user``'s department and the departments above it, the user's own first (empty
    without a department), for what a page shows: read once and kept on the user object
    (a request's lives for that request), so the 工作台's boxes that each need it (the
    announcements' audience, the profile's department path) share it. The participant
    rules read the tree afresh (:func:`department_head`)."""
    kept: tuple[int | None, list[Department]] | None = getattr(user, "_department_chain", None)
    if kept is None or kept[0] != user.department_id:
        kept = (user.department_id, _chain_of(user.department_id))
        user._department_chain = kept  # type: ignore[attr-defined]
    return kept[1]


def user_manager(user: User) -> User | None:
    """The person ``user`` reports to: the direct manager if one is set, otherwise the head
    of the user's department (or of the nearest department above that has another head)."""
    if user.manager_id is not None:
        manager = User.objects.filter(pk=user.manager_id, is_active=True).first()
        if manager is not None:
            return manager
    return department_head(user, levels=1)


def department_head(user: User, levels: int = 1) -> User | None:
    """The ``levels``-th department head above ``user``.

    Heads are taken from the user's own department upwards; a vacant or inactive head, and
    the user themself, are skipped, so a department head's ``levels=1`` is the head one level
    higher. None when the tree runs out.
    """
    if levels < 1:
        raise ValueError("levels must be 1 or more")
    chain = _chain_of(user.department_id)  # afresh: a rule decides who acts
    head_ids = [d.head_id for d in chain if d.head_id is not None and d.head_id != user.pk]
    heads = User.objects.in_bulk(head_ids)
    found = 0
    for head_id in head_ids:
        head = heads.get(head_id)
        if head is None or not head.is_active:
            continue
        found += 1
        if found == levels:
            return head
    return None


def role_members(code: str) -> QuerySet[User]:
    """Active users holding the role with this code."""
    return User.objects.filter(is_active=True, groups__role__code=code).distinct()


def department_members(department: Department, *, include_sub: bool = True) -> QuerySet[User]:
    """Active members of a department, by default with those of its sub-departments."""
    if include_sub:
        scope = Q(department__path__startswith=department.path)
    else:
        scope = Q(department=department)
    return User.objects.filter(scope, is_active=True)


def delegate_for(
    user: User, *, process_key: str | None = None, at: datetime | None = None
) -> User | None:
    """Who receives ``user``'s new tasks of ``process_key`` at ``at`` (default now): the
    proxy of an active out-of-office rule, followed along a chain of rules (A → B → C);
    None when no rule applies. A cycle ends the chain at the last person before it."""
    at = at or timezone.now()
    current = user
    seen = {user.pk}
    for _hop in range(MAX_DELEGATION_CHAIN):
        rule = next(
            (
                r
                for r in DelegationRule.objects.filter(
                    delegator=current,
                    is_active=True,
                    starts_at__lte=at,
                    ends_at__gt=at,
                    delegate__is_active=True,
                )
                .select_related("delegate")
                .order_by("-starts_at", "-pk")
                if r.covers(process_key)
            ),
            None,
        )
        if rule is None or rule.delegate_id in seen:
            break
        seen.add(rule.delegate_id)
        current = rule.delegate
    return None if current.pk == user.pk else current


def announcements_for(user: User, *, at: datetime | None = None) -> QuerySet[Announcement]:
    """The announcements ``user`` may read now: untargeted ones, those for one of the
    user's roles, and those for the user's department or any department above it."""
    at = at or timezone.now()
    live = Announcement.objects.filter(published_at__lte=at).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=at)
    )
    audience = Q(target_departments__isnull=True, target_roles__isnull=True)
    upward = [department.pk for department in department_chain(user)]
    if upward:
        audience |= Q(target_departments__in=upward)
    audience |= Q(target_roles__in=user.groups.values("role"))
    matching = Announcement.objects.filter(audience).values("pk")
    return live.filter(pk__in=matching).select_related("author")


def unread_notifications(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def unread_notification_count(user: User) -> int:
    return unread_notifications(user).count()


def notifications_for(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def holds_more_than(person: User, actor: User) -> bool:
    """Whether ``person`` holds anything ``actor`` does not: superuser or staff status, a
    role, or a permission (their own or through a role). Such a person's account is not the
    actor's to edit, reset or deactivate: an HR administrator with "change user" could
    otherwise set the password of the process administrator and sign in as them. Everyone
    may manage accounts that hold no more than their own; a superuser holds everything."""
    if actor.is_superuser:
        return False
    if person.is_superuser or (person.is_staff and not actor.is_staff):
        return True
    if person.groups.exclude(pk__in=actor.groups.values("pk")).exists():
        return True
    return not person.get_all_permissions() <= actor.get_all_permissions()


def person_find(text: str, *, active: bool = True) -> User | None:
    """The one person a typed name refers to: a user name, or an employee number in any case
    (what the person picker fills in, what people type at sign-in). ``active``: only an
    account that can act (a transfer, an added signer); sign-in looks at every account and
    lets the backend refuse an inactive one with its own message."""
    text = text.strip()
    if not text:
        return None
    found = User.objects.filter(Q(username=text) | Q(employee_no__iexact=text))
    if active:
        found = found.filter(is_active=True)
    return found.order_by("pk").first()


def _named(text: str) -> Q:
    """Whose name in either order (张伟 is family name + given name in two columns; "Wei
    Zhang"), either part of it, user name or employee number contains ``text``, case aside:
    one LIKE on ``User.search_text``."""
    words = text.strip().replace(SEARCH_SEPARATOR, "").lower()  # a match never spans parts
    return Q(search_text__contains=words)


def people_named(text: str) -> QuerySet[User]:
    """The people whose name, user name or employee number contains ``text`` (a filter
    by person: the console's initiator); active or not."""
    return User.objects.filter(_named(text))


def people_matching(text: str) -> QuerySet[User]:
    """The people a search for ``text`` finds: as :func:`people_named`, or by their
    department's name; active or not (callers narrow it)."""
    text = text.strip()
    return User.objects.filter(
        _named(text)
        | Q(department__in=Department.objects.filter(name__icontains=text).values("pk"))
    )


def next_employee_no() -> str | None:
    """The employee number a new person gets by the code rule: the highest number that follows
    the rule, plus one in its last run of digits (E000123 → E000124, width kept); with none yet,
    the rule's example with its digits counting from 1 (E000001). None when that does not
    follow the rule either (a rule without digits): the administrator types one."""
    rule = CodeRule.objects.filter(key=CodeRuleKey.EMPLOYEE_NO).first()
    pattern = rule.pattern if rule else default_code_pattern(CodeRuleKey.EMPLOYEE_NO)
    numbers = User.objects.exclude(employee_no=None).values_list("employee_no", flat=True)
    taken = {n for n in numbers.iterator() if n and re.fullmatch(pattern, n)}
    digits = re.compile(r"(\d+)(\D*)$")
    candidates = [n for n in taken if digits.search(n)]
    if candidates:
        last = max(candidates, key=lambda n: (len(n), int(digits.search(n).group(1)), n))  # type: ignore[union-attr]
    else:
        last = rule.example if rule and rule.example else ""
        found = digits.search(last)
        if not found:
            return None
        last = f"{last[: found.start(1)]}{0:0{len(found.group(1))}d}{found.group(2)}"
    found = digits.search(last)
    if not found:
        return None
    width = len(found.group(1))
    number = int(found.group(1)) + 1
    while True:
        code = f"{last[: found.start(1)]}{number:0{width}d}{found.group(2)}"
        if not re.fullmatch(pattern, code):
            return None
        if code not in taken:
            return code
        number += 1


def delegations_given(user: User) -> QuerySet[DelegationRule]:
    """``user``'s own out-of-office rules (代理), the latest first."""
    return (
        DelegationRule.objects.filter(delegator=user)
        .select_related("delegate")
        .order_by("-starts_at", "-pk")
    )


def delegations_received(user: User, *, at: datetime | None = None) -> QuerySet[DelegationRule]:
    """The rules in force or still to come that make ``user`` someone's proxy."""
    at = at or timezone.now()
    return (
        DelegationRule.objects.filter(delegate=user, is_active=True, ends_at__gt=at)
        .select_related("delegator")
        .order_by("starts_at", "pk")
    )
