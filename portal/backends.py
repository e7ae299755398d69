"""Authentication: people sign in with their user name or their employee number."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
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
        read in one query instead of two: the navigation asks on every page (issue 16).
        Kept on the user object for the request, as Django keeps it."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            permissions = Permission.objects.all()
            if not user_obj.is_superuser:
                own = User.user_permissions.through.objects.filter(user_id=user_obj.pk)
                of_roles = Group.permissions.through.objects.filter(group__user=user_obj)
                permissions = permissions.filter(
                    Q(pk__in=own.values("permission_id"))
                    | Q(pk__in=of_roles.values("permission_id"))
                )
            rows = permissions.values_list("content_type__app_label", "codename").order_by()
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        permissions_held: set[str] = user_obj._perm_cache
        return permissions_held
