"""People lists in process settings (``ProcessSettings.cc_at_end``: 抄送 when a request
ends) and the durations beside them: what the text holds, and what is wrong with it.

The stored text is the one the engine resolves (``participants.resolve_people``): items
separated by commas, each a user name, ``role:<code>``, ``dept:<code>`` (the department
with its sub-departments) or an expression such as ``${manager(initiator)}``. People read
and type names instead (the console's settings page); this module turns one into the other
and names every item that is not somebody.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.contrib.auth.models import Group
from django.db.models import Q, QuerySet
from django.db.models.functions import Concat
from django.utils.translation import gettext as _

from portal.models import Department, User
from workflow.bpmn.expressions import ExpressionError, compile_expression, is_expression
from workflow.bpmn.timers import TimerError, parse_duration
from workflow.bpmn.validate import split_participants

__all__ = [
    "Recipients",
    "duration_problem",
    "names_to_people",
    "people_names",
    "recipients_of",
    "recipients_problems",
]

# What a person may put between names: commas and semicolons of either width, 、, blanks
# (the person picker separates them the same way).
NAME_SEPARATORS = re.compile(r"[\s,;，、；]+")


@dataclass
class Recipients:
    """The items of a stored list, by kind, in their order."""

    users: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    departments: list[str] = field(default_factory=list)
    expressions: list[str] = field(default_factory=list)

    def text(self) -> str:
        """The stored form (user names first, then expressions, roles, departments)."""
        return ", ".join(
            [
                *self.users,
                *self.expressions,
                *(f"role:{code}" for code in self.roles),
                *(f"dept:{code}" for code in self.departments),
            ]
        )


def recipients_of(text: str) -> Recipients:
    """Split a stored list into its kinds (nothing is looked up)."""
    found = Recipients()
    for item in split_participants(text or ""):
        if item.startswith("role:"):
            found.roles.append(item[5:].strip())
        elif item.startswith("dept:"):
            found.departments.append(item[5:].strip())
        elif is_expression(item):
            found.expressions.append(item)
        else:
            found.users.append(item)
    return found


def recipients_problems(text: str) -> list[str]:
    """What is wrong with a stored list, one message per item that names nobody: an
    unknown or deactivated user, an unknown role or department, an expression that does not
    parse. Empty: every item stands for somebody (or a rule that will name them)."""
    found = recipients_of(text)
    problems: list[str] = []
    active = set(
        User.objects.filter(username__in=found.users, is_active=True).values_list(
            "username", flat=True
        )
    )
    for name in found.users:
        if name not in active:
            problems.append(_("No active user has the user name “%(name)s”.") % {"name": name})
    roles = set(
        Group.objects.filter(role__code__in=found.roles).values_list("role__code", flat=True)
    )
    for code in found.roles:
        if code not in roles:
            problems.append(_("There is no role with the code “%(code)s”.") % {"code": code})
    departments = set(
        Department.objects.filter(code__in=found.departments).values_list("code", flat=True)
    )
    for code in found.departments:
        if code not in departments:
            problems.append(_("There is no department with the code “%(code)s”.") % {"code": code})
    for expression in found.expressions:
        try:
            compile_expression(expression)
        except ExpressionError:
            problems.append(
                _("“%(text)s” is not an expression the engine understands.") % {"text": expression}
            )
    return problems


def duration_problem(text: str) -> str:
    """Why ``text`` is not a duration a step can wait ("" when it is one, or empty)."""
    if not text.strip():
        return ""
    try:
        parse_duration(text)
    except TimerError:
        return _(
            "“%(value)s” is not a duration. Write it as an ISO 8601 duration: P2D (2 days), "
            "PT8H (8 hours), PT30M (30 minutes), PT45S (45 seconds), P1DT12H."
        ) % {"value": text.strip()}
    return ""


# --- names as people read them -------------------------------------------------------------


def _named(name: str) -> QuerySet[User]:
    """Active people called ``name`` (张伟: family name first, as Chinese names are written),
    or whose user name or employee number it is. A name with a blank ("Wei Zhang") is two
    items to the picker, so people with such names are written by user name."""
    return (
        User.objects.filter(is_active=True)
        .annotate(_family_first=Concat("last_name", "first_name"))
        .filter(Q(username=name) | Q(employee_no=name) | Q(_family_first=name))
    )


def names_to_people(text: str) -> tuple[list[str], list[str]]:
    """The user names a person meant by ``text`` (names, user names or employee numbers,
    separated by commas, 、 or blanks; an expression ``${...}`` is kept as it is) and one
    message for each item that is nobody or more than one person."""
    users: list[str] = []
    problems: list[str] = []
    for item in split_participants(text or ""):
        if is_expression(item):
            users.append(item)
            continue
        for name in (n for n in NAME_SEPARATORS.split(item) if n):
            exact = User.objects.filter(username=name, is_active=True).values_list(
                "username", flat=True
            )
            matches = list(exact) or list(_named(name).values_list("username", flat=True)[:2])
            if not matches:
                problems.append(_("Nobody active is called “%(name)s”.") % {"name": name})
            elif len(matches) > 1:
                problems.append(
                    _(
                        "More than one person is called “%(name)s”: choose them from the "
                        "list, or write their user name."
                    )
                    % {"name": name}
                )
            elif matches[0] not in users:
                users.append(matches[0])
    return users, problems


def people_names(usernames: list[str]) -> str:
    """User names as a person reads them: each one's name where no other active person has
    it (and it has no blank, so that it reads back as one item), else the user name."""
    people = User.objects.filter(username__in=usernames)
    by_username = {u.username: u for u in people}
    shown: list[str] = []
    for username in usernames:
        person = by_username.get(username)
        if person is None:
            shown.append(username)
            continue
        name = person.get_full_name()
        unique = bool(name) and not NAME_SEPARATORS.search(name) and _named(name).count() == 1
        shown.append(name if unique else username)
    return ", ".join(shown)
