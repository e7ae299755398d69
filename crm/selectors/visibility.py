"""Every read of the CRM that more than one caller needs. Selectors never import services.

**Who sees an account** (:func:`accounts_for`, the start of every page, API call, search and
export): its owner; its team — people and roles holding ``crm.view_account`` on it
(django-guardian, direct foreign keys: ``AccountUserObjectPermission``); the heads of its
department and of every department above it (the owner's managers up the tree, by the
department the account belongs to); and sales administrators (``crm.administer_sales``) and
superusers, who see every account. Contacts, opportunities, activities, quotes and cases are
seen through their account. What a person may not see answers 404.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import CharField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Length, Substr
from django.utils.translation import gettext as _

from crm.models import Account, AccountGroupObjectPermission, AccountUserObjectPermission
from portal.errors import NotFound
from portal.models import Department, User

__all__ = [
    "Reach",
    "account_for",
    "accounts_for",
    "is_sales_admin",
    "reach_of",
    "team_condition",
    "visible_accounts",
    "visible_opportunities",
]

Viewer = User | AnonymousUser


def is_sales_admin(user: Viewer) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm("crm.administer_sales"))
    )


# Up to this many team accounts are named by id in the visibility condition (each branch of
# the condition then has an index PostgreSQL can combine or walk); more: the EXISTS form.
TEAM_IDS_INLINE = 2000


@dataclass(frozen=True)
class Reach:
    """What widens a person's view beyond the accounts they own: the accounts on whose team
    they are (directly or by a role; ``team_ids`` None when there are more than
    :data:`TEAM_IDS_INLINE`) and the departments they head with those below them."""

    team_ids: list[int] | None
    department_ids: list[int]


def reach_of(user: User) -> Reach:
    """``user``'s :class:`Reach`, in one query (a union of the team rows, the team-role rows
    and the departments under those ``user`` heads)."""
    text = CharField()
    team = (
        AccountUserObjectPermission.objects.filter(user=user, permission__codename="view_account")
        .values_list(Value("t", output_field=text), "content_object_id")
        .order_by()
    )
    team_role = (
        AccountGroupObjectPermission.objects.filter(
            group__user=user, permission__codename="view_account"
        )
        .values_list(Value("t", output_field=text), "content_object_id")
        .order_by()
    )
    headed = Department.objects.filter(
        head=user, is_active=True, path=Substr(OuterRef("path"), 1, Length("path"))
    )
    below = (
        Department.objects.filter(Exists(headed))
        .values_list(Value("d", output_field=text), "pk")
        .order_by()
    )
    team_ids: set[int] = set()
    department_ids: list[int] = []
    for kind, pk in team.union(team_role, below, all=True):
        if kind == "d":
            department_ids.append(pk)
        else:
            team_ids.add(pk)
    return Reach(
        sorted(team_ids) if len(team_ids) <= TEAM_IDS_INLINE else None, sorted(department_ids)
    )


def team_condition(user: User, reach: Reach, *, account: str = "pk") -> Q:
    """The accounts on whose team ``user`` is (directly or by a role), as a condition on the
    column ``account`` names (an account's ``pk``, or another table's ``account_id``)."""
    if reach.team_ids is not None:
        return Q(**{f"{account}__in": reach.team_ids})
    team = AccountUserObjectPermission.objects.filter(
        content_object=OuterRef(account), user=user, permission__codename="view_account"
    )
    team_role = AccountGroupObjectPermission.objects.filter(
        content_object=OuterRef(account),
        group__user=user,
        permission__codename="view_account",
    )
    return Q(Exists(team)) | Q(Exists(team_role))


def visible_accounts(user: User, reach: Reach | None = None) -> Q:
    """The accounts ``user`` (active, not a sales administrator) sees, as one condition:
    owned, on the team, or of the departments ``user`` heads and below. Team accounts and
    departments are named by id (:func:`reach_of`), so that every branch is an indexed
    column: PostgreSQL combines the indexes (a salesperson's few hundred accounts) or walks
    the list's order (a director's many) as its statistics say, instead of testing every
    account. ``reach``: :func:`reach_of` ``user`` when the caller already read it."""
    reach = reach or reach_of(user)
    seen = Q(owner=user) | team_condition(user, reach)
    if reach.department_ids:
        seen |= Q(department_id__in=reach.department_ids)
    return seen


def visible_opportunities(user: User, reach: Reach | None = None) -> Q:
    """:func:`visible_accounts` as a condition on an opportunity's own row: its copies of
    the account's owner and department (``Opportunity.account_owner``,
    ``account_department``, kept by the database) and its ``account_id``, so that a board
    of 16,000 opportunities reads no account row."""
    reach = reach or reach_of(user)
    seen = Q(account_owner=user) | team_condition(user, reach, account="account_id")
    if reach.department_ids:
        seen |= Q(account_department_id__in=reach.department_ids)
    return seen


def accounts_for(user: Viewer, reach: Reach | None = None) -> QuerySet[Account]:
    """The accounts ``user`` may see (merged ones included: their page says where they
    went); one query when evaluated, plus one for ``user``'s teams and departments
    (:func:`reach_of`) unless the caller passes ``reach``."""
    if not user.is_authenticated or not user.is_active or not isinstance(user, User):
        return Account.objects.none()
    if is_sales_admin(user):
        return Account.objects.all()
    return Account.objects.filter(visible_accounts(user, reach))


def account_for(user: Viewer, account_id: int) -> Account:
    """The account if ``user`` may see it, else :class:`NotFound`."""
    found = accounts_for(user).filter(pk=account_id).first()
    if found is None:
        raise NotFound(_("There is no such account, or you may not see it."))
    return found
