"""Factories for the organization; tests build exactly the data they need with them.

Call ``UserFactory.create(...)`` rather than ``UserFactory(...)``: the two do the same, but
only ``create`` is typed (it returns a ``User``; mypy reads the call as making a factory)."""

from __future__ import annotations

from collections.abc import Sequence

import factory
from django.contrib.auth.models import Permission

from portal.models import Announcement, Department, Position, Role, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    employee_no = factory.Sequence(lambda n: f"E{900000 + n:06d}")
    first_name = "伟"
    last_name = "张"
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


def department(
    code: str, name: str, *, parent: Department | None = None, **kwargs: object
) -> Department:
    """A department under ``parent`` (a root when None), through treebeard's tree API."""
    existing = Department.objects.filter(code=code).first()
    if existing is not None:
        return existing
    if parent is None:
        return Department.objects.add_root({"code": code, "name": name, **kwargs})
    return Department.objects.add_child(parent, {"code": code, "name": name, **kwargs})


def role(code: str, name: str | None = None, *, permissions: Sequence[str] = ()) -> Role:
    # django-stubs types Role.objects as the GroupManager that Role inherits from Group: it
    # knows Group's fields only, and its rows would be Groups
    found: Role
    found, _ = Role.objects.get_or_create(code=code, defaults={"name": name or code})  # type: ignore[misc, assignment]
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        found.permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return found


class PositionFactory(factory.django.DjangoModelFactory[Position]):
    class Meta:
        model = Position

    code = factory.Sequence(lambda n: f"POS-{n}")
    name = factory.Sequence(lambda n: f"岗位{n}")


class AnnouncementFactory(factory.django.DjangoModelFactory[Announcement]):
    class Meta:
        model = Announcement

    title = factory.Sequence(lambda n: f"通知 {n}")
    body = "请各部门知悉。"


def english(*users: User) -> None:
    """These people read the portal in English (the tests that assert English words)."""
    for user in users:
        user.preferred_language = "en"
        user.save(update_fields=["preferred_language"])
