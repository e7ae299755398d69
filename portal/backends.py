"""Authentication: people sign in with their user name or their employee number."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router
from django.http import HttpRequest

from portal.models import User
from portal.selectors import person_find


def find_account(login: str) -> User | None:
    """The account a sign-in name refers to, active or not (``person_find``)."""
    return person_find(login, active=False)


def lockout_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The name django-axes counts failed sign-ins under (``AXES_USERNAME_CALLABLE``): the
    account's user name however it was typed, so that the employee number, or another case
    of it, does not get its own allowance of attempts."""
    if credentials is not None:
        login = credentials.get("username")
    else:
        login = getattr(request, "data", request.POST).get("username")
    login = str(login or "").strip()
    user = find_account(login) if login else None
    return user.username if user is not None else login


def client_ip(request: HttpRequest) -> str | None:
    """The address a sign-in came from (``AXES_CLIENT_IP_CALLABLE``): behind the reverse proxy
    (``BEHIND_PROXY``) the last ``X-Forwarded-For`` entry, the address the proxy saw, which a
    client cannot forge; else ``REMOTE_ADDR``. Without this every sign-in behind the proxy
    would come from the proxy's address, and the lock-out would hold for a user name from
    anywhere."""
    if settings.BEHIND_PROXY:
        forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    remote: str | None = request.META.get("REMOTE_ADDR")
    return remote


class UsernameOrEmployeeNoBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        if username is None or password is None:
            return None
        user = find_account(username)
        if user is None:
            # Run the hasher anyway so a missing account takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        """Django's answer (``app_label.codename`` of the person's own and their roles'
        permissions, all of them for a superuser; none for an inactive person or an object)
        read in one query of a fixed text instead of two ORM queries: the navigation asks
        on every page, and building the query took 1.4 ms (issue 16). Kept on the user
        object for the request, as Django keeps it."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                sql, params = _ALL_PERMISSIONS, []
            else:
                sql, params = _HELD_PERMISSIONS, [user_obj.pk, user_obj.pk]
            with connections[router.db_for_read(Permission)].cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        permissions_held: set[str] = user_obj._perm_cache
        return permissions_held


def _permissions_sql() -> tuple[str, str]:
    tables = {
        "permission": Permission._meta.db_table,
        "content_type": ContentType._meta.db_table,
        "own": User.user_permissions.through._meta.db_table,
        "of_roles": Group.permissions.through._meta.db_table,
        "memberships": User.groups.through._meta.db_table,
    }
    every = (
        "SELECT t.app_label, p.codename FROM {permission} p "
        "JOIN {content_type} t ON t.id = p.content_type_id"
    )
    held = (
        " WHERE p.id IN (SELECT o.permission_id FROM {own} o WHERE o.user_id = %s)"
        " OR p.id IN (SELECT r.permission_id FROM {of_roles} r"
        " JOIN {memberships} m ON m.group_id = r.group_id WHERE m.user_id = %s)"
    )
    return every.format(**tables), (every + held).format(**tables)


_ALL_PERMISSIONS, _HELD_PERMISSIONS = _permissions_sql()
