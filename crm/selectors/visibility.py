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

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from crm.models import Account, AccountGroupObjectPermission, AccountUserObjectPermission
from portal.errors import NotFound
from portal.models import Department, User

__all__ = ["account_for", "accounts_for", "is_sales_admin", "visible_accounts"]

Viewer = User | AnonymousUser


def is_sales_admin(user: Viewer) -> bool:
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_superuser or user.has_perm("crm.administer_sales"))
    )


def visible_accounts(user: User) -> Q:
    """The accounts ``user`` (active, not a sales administrator) sees, as one condition."""
    team = AccountUserObjectPermission.objects.filter(
        content_object=OuterRef("pk"), user=user, permission__codename="view_account"
    )
    team_role = AccountGroupObjectPermission.objects.filter(
        content_object=OuterRef("pk"),
        group__user=user,
        permission__codename="view_account",
    )
    seen = Q(owner=user) | Exists(team) | Exists(team_role)
    for path in Department.objects.filter(head=user, is_active=True).values_list("path", flat=True):
        seen |= Q(department__path__startswith=path)
    return seen


def accounts_for(user: Viewer) -> QuerySet[Account]:
    """The accounts ``user`` may see (merged ones included: their page says where they
    went); one query when evaluated, plus one for the departments ``user`` heads."""
    if not user.is_authenticated or not user.is_active or not isinstance(user, User):
        return Account.objects.none()
    if is_sales_admin(user):
        return Account.objects.all()
    return Account.objects.filter(visible_accounts(user))


def account_for(user: Viewer, account_id: int) -> Account:
    """The account if ``user`` may see it, else :class:`NotFound`."""
    found = accounts_for(user).filter(pk=account_id).first()
    if found is None:
        raise NotFound(_("There is no such account, or you may not see it."))
    return found
