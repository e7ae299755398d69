"""Reads of the customer base: the account list with its filters and name search, who may
change an account or its team, its team, its history, and the rows of an export.

Every read starts from :func:`crm.selectors.visibility.accounts_for` (what a person may see);
what is not in it answers 404.

**Search** (:func:`accounts_matching`): the ``search`` column holds an account's name, code,
credit code, city and its contacts' names segmented by ``portal.search`` (jieba search mode,
each Chinese character and pair of characters, identifiers whole), written by
``crm.services.accounts``. A search requires every word typed: 科技 finds 深圳市腾讯计算机
科技有限公司, 腾讯 科技 too. Served by index: on PostgreSQL the stored ``search_vector``
with its GIN index, on SQLite the FTS5 table ``crm_account_search`` (migration
``0002_accounts``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Exists, Lookup, OuterRef, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from crm.duplicates import Match
from crm.models import (
    Account,
    AccountEvent,
    AccountGroupObjectPermission,
    AccountUserObjectPermission,
)
from crm.selectors.visibility import (
    Reach,
    accounts_for,
    is_sales_admin,
    reach_of,
    team_condition,
)
from portal.models import User
from portal.search import fts5_query, query_terms, search_text, tsquery

__all__ = [
    "SCOPES",
    "AccountFilters",
    "Scope",
    "TeamMember",
    "account_history",
    "account_list",
    "account_may_change",
    "account_may_manage_team",
    "account_search_text",
    "accounts_matching",
    "duplicates_shown",
    "team_of",
]

Scope = Literal["all", "mine", "team", "department"]
SCOPES: tuple[Scope, ...] = ("all", "mine", "team", "department")


def account_search_text(
    *, name: str, code: str, credit_code: str, city: str, contact_names: list[str]
) -> str:
    """What the ``search`` column of an account holds."""
    return search_text(name, code, credit_code, city, *contact_names)


class AccountSearchMatches(Lookup):
    """``search__matches="腾讯 科技"``: the account's search text holds every word, by index
    (the stored ``search_vector`` on PostgreSQL, the FTS5 table on SQLite). The words are a
    parameter, never SQL; text without a letter, digit or character matches nothing."""

    lookup_name = "matches"
    prepare_rhs = False

    def _column(self, compiler: SQLCompiler, name: str) -> str:
        alias = compiler.quote_name_unless_alias(self.lhs.alias)
        return f"{alias}.{compiler.connection.ops.quote_name(name)}"

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str, ...]]:
        terms = query_terms(str(self.rhs))
        if not terms:
            return "1 = 0", ()
        return (
            f"{self._column(compiler, 'id')} IN (SELECT rowid FROM crm_account_search "  # noqa: S608  # a quoted column; the words are a parameter
            "WHERE crm_account_search MATCH %s)",
            (fts5_query(terms),),
        )

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper
    ) -> tuple[str, tuple[str, ...]]:
        terms = query_terms(str(self.rhs))
        if not terms:
            return "1 = 0", ()
        return (
            f"{self._column(compiler, 'search_vector')} @@ to_tsquery('simple'::regconfig, %s)",
            (tsquery(terms),),
        )


Account._meta.get_field("search").register_lookup(AccountSearchMatches)


def accounts_matching(text: str) -> Q:
    """Accounts whose name, code, credit code, city or contacts' names hold every word of
    ``text`` (see the module's docstring)."""
    return Q(search__matches=text)


def _department_condition(reach: Reach) -> Q:
    return Q(department_id__in=reach.department_ids) if reach.department_ids else Q(pk__in=[])


@dataclass(frozen=True)
class AccountFilters:
    """The list's filters (each empty: not filtered). ``scope``: ``mine`` (I own),
    ``team`` (I am on its team), ``department`` (of the departments I head and below),
    ``all`` (everything I may see). ``merged``: list merged-away accounts too."""

    scope: Scope = "all"
    q: str = ""
    owner_id: int | None = None
    level: str = ""
    industry: str = ""
    province: str = ""
    city: str = ""
    merged: bool = False


def account_list(user: User, filters: AccountFilters) -> QuerySet[Account]:
    """The accounts ``user`` sees, filtered; newest change first (the keyset pages go by
    ``updated_at`` and id). Never more than the person may see: every filter narrows
    :func:`accounts_for`."""
    rows = accounts_for(user)
    if not filters.merged:
        rows = rows.filter(merged_into__isnull=True)
    if filters.scope == "mine":
        rows = rows.filter(owner=user)
    elif filters.scope == "team":
        rows = rows.filter(team_condition(user, reach_of(user)))
    elif filters.scope == "department":
        rows = rows.filter(_department_condition(reach_of(user)))
    if filters.owner_id:
        rows = rows.filter(owner_id=filters.owner_id)
    if filters.level:
        rows = rows.filter(level=filters.level)
    if filters.industry:
        rows = rows.filter(industry=filters.industry)
    if filters.province:
        rows = rows.filter(province=filters.province)
    if filters.city:
        rows = rows.filter(city=filters.city)
    if filters.q.strip():
        rows = rows.filter(accounts_matching(filters.q))
    return rows.select_related("owner").order_by("-updated_at", "-pk")


def _holds(user: User, account: Account, codename: str) -> bool:
    direct = AccountUserObjectPermission.objects.filter(
        content_object=account, user=user, permission__codename=codename
    )
    role = AccountGroupObjectPermission.objects.filter(
        content_object=account, group__user=user, permission__codename=codename
    )
    return direct.exists() or role.exists()


def account_may_change(user: User, account: Account) -> bool:
    """Who may edit an account, its contacts, and merge it: its owner, team members holding
    ``change_account`` on it, and sales administrators. Managers up the tree read it only."""
    if not user.is_authenticated or not user.is_active:
        return False
    if is_sales_admin(user) or account.owner_id == user.pk:
        return True
    return _holds(user, account, "change_account")


def account_may_manage_team(user: User, account: Account) -> bool:
    """Who may hand an account to another owner and change its team: its owner and sales
    administrators."""
    if not user.is_authenticated or not user.is_active:
        return False
    return is_sales_admin(user) or account.owner_id == user.pk


@dataclass(frozen=True)
class TeamMember:
    user: User
    may_change: bool


def team_of(account: Account) -> list[TeamMember]:
    """The people on the account's team (``view_account`` on it), with whether they may
    change it, by name."""
    rows = AccountUserObjectPermission.objects.filter(content_object=account).select_related(
        "user", "permission"
    )
    codes: dict[int, set[str]] = {}
    people: dict[int, User] = {}
    for row in rows:
        codes.setdefault(row.user_id, set()).add(row.permission.codename)
        people[row.user_id] = row.user
    members = [
        TeamMember(people[pk], "change_account" in found)
        for pk, found in codes.items()
        if "view_account" in found
    ]
    return sorted(members, key=lambda m: m.user.username)


def account_history(account: Account, *, limit: int = 100) -> list[AccountEvent]:
    """The account's history, newest first."""
    return list(account.events.order_by("-at", "-pk")[:limit])


@dataclass(frozen=True)
class ShownDuplicate:
    """A likely duplicate as the warning and the API name it: an account the person may not
    open is named by code, name and owner only (that the customer exists, not what it
    holds); ``visible`` says whether they may."""

    match: Match
    owner: User | None
    visible: bool


def duplicates_shown(user: User, matches: list[Match]) -> list[ShownDuplicate]:
    """``matches`` with their owners and whether ``user`` sees each: one query (the
    visibility's own condition asked of each account), plus ``user``'s reach."""
    if not matches:
        return []
    seen = accounts_for(user).filter(pk=OuterRef("pk"))
    found = {
        account.pk: account
        for account in Account.objects.filter(pk__in=[m.account_id for m in matches])
        .annotate(visible=Exists(seen))
        .select_related("owner")
        .only("id", "owner__username", "owner__first_name", "owner__last_name")
    }
    return [
        ShownDuplicate(
            m,
            found[m.account_id].owner if m.account_id in found else None,
            m.account_id in found and bool(found[m.account_id].visible),
        )
        for m in matches
    ]
