"""Registries through which apps plug into the shell (filled in ``AppConfig.ready()``).

The portal knows no app: the workflow, CRM, knowledge base and ERP bridge register their
navigation entries, the top bar's search box, dashboard portlets and notification kinds
here, each with the rule that says who may see it; their REST API's URLconf (mounted under
``/api/v1/``, one OpenAPI schema); and their part of ``seed_demo``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.http import HttpRequest

    from portal.models import User

Visibility = Callable[["User"], bool]


def everyone(user: User) -> bool:
    return bool(user.is_authenticated)


def staff_only(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.is_staff)


def has_perm(permission: str) -> Visibility:
    """Visible to users holding a model permission (``app_label.codename``)."""

    def check(user: User) -> bool:
        return bool(user.is_authenticated and user.has_perm(permission))

    check.__name__ = f"has_perm({permission})"
    return check


@dataclass(frozen=True)
class NavEntry:
    """A link in the portal's navigation bar; with a ``group`` (a :class:`NavGroup`'s key)
    it is one of that group's menu, so that the bar keeps to one line."""

    key: str
    label: str | Promise
    url_name: str
    icon: str = ""
    order: int = 100
    visible: Visibility = everyone
    group: str = ""


@dataclass(frozen=True)
class NavGroup:
    """A menu of the navigation bar (客户管理, 管理): it stands at its ``order`` among the
    entries, and opens to its visible entries; with only one visible it is that link."""

    key: str
    label: str | Promise
    order: int = 100


@dataclass(frozen=True)
class NavLink:
    """A link of the bar as one person sees it on one page."""

    key: str
    label: str | Promise
    url: str
    current: bool


@dataclass(frozen=True)
class NavMenu:
    """A group of the bar as one person sees it: ``current`` when one of its links is."""

    key: str
    label: str | Promise
    links: list[NavLink]

    @property
    def current(self) -> bool:
        return any(link.current for link in self.links)


@dataclass(frozen=True)
class Portlet:
    """A dashboard box. ``render_context`` builds its template context for one request; the
    dashboard renders each visible portlet into its first response (nothing flashes
    "loading"), so a portlet keeps to a few bounded queries; ``portal:portlet`` renders one
    again for an htmx refresh. ``wide`` boxes take two of the three columns."""

    key: str
    title: str | Promise
    template: str
    render_context: Callable[[HttpRequest], dict[str, Any]]
    order: int = 100
    visible: Visibility = everyone
    wide: bool = False


@dataclass(frozen=True)
class SearchBox:
    """The search box of the top bar: Enter opens ``url_name`` with ``?q=``; as one types,
    ``suggest_url_name`` answers (htmx GET ``?q=``) a short list of links to show under it.
    The first visible one is shown."""

    key: str
    label: str | Promise
    url_name: str
    suggest_url_name: str
    order: int = 100
    visible: Visibility = everyone


@dataclass(frozen=True)
class NotificationKind:
    """A kind of notification (task assigned, urged, announcement ...)."""

    key: str
    label: str | Promise


@dataclass(frozen=True)
class ApiMount:
    """An app's REST API: its URLconf (with its own ``app_name``) mounted at
    ``/api/v1/<prefix>`` — ``prefix`` is ``"<app>/"``; the workflow's is ``""`` (its paths
    predate the other apps and stay as they are)."""

    key: str
    urlconf: str
    prefix: str
    order: int = 100


class DemoSeedError(Exception):
    """An app's demo data do not fit (a bug in its seeder): ``seed_demo`` stops with it."""


class Output(Protocol):
    def write(self, text: str) -> Any: ...


@dataclass(frozen=True)
class DemoSeeder:
    """An app's part of ``seed_demo``, run after the demo organization, by ``order``, each
    in its own transaction: ``seed()`` creates what is missing (a second run changes
    nothing) and returns what it did; ``report(stdout, result)`` tells the person who ran it
    (after every seeder ran)."""

    key: str
    seed: Callable[[], Any]
    report: Callable[[Output, Any], None]
    order: int = 100


@dataclass(frozen=True)
class ApiCallListener:
    """Told of every call to ``/api/v1/`` once it is answered (the ERP bridge's interface
    call log): ``record(request, status, duration_ms)``. It must not raise and must be cheap;
    the answer has been made already."""

    key: str
    record: Callable[[HttpRequest, int, int], None]


@dataclass(frozen=True)
class DepartmentListener:
    """Told when a department is created or changed (renamed, moved), inside the
    transaction that saved it, with the department's id: the ERP bridge writes its outbox
    message there, so the change and the message commit or roll back together."""

    key: str
    changed: Callable[[int, bool], None]  # (department id, created)


class _Keyed(Protocol):
    @property
    def key(self) -> str: ...


T = TypeVar("T", bound=_Keyed)


@dataclass
class Registry(Generic[T]):
    """Entries by key; registering a second entry under a taken key is a programming error."""

    name: str
    _entries: dict[str, T] = field(default_factory=dict)

    def register(self, entry: T) -> T:
        if entry.key in self._entries:
            raise ValueError(f"{self.name}: {entry.key!r} is registered already")
        self._entries[entry.key] = entry
        return entry

    def unregister(self, key: str) -> None:
        del self._entries[key]

    def get(self, key: str) -> T | None:
        return self._entries.get(key)

    def keys(self) -> frozenset[str]:
        return frozenset(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter(sorted(self._entries.values(), key=lambda e: (getattr(e, "order", 0), e.key)))

    def __contains__(self, key: object) -> bool:
        return key in self._entries


def visible_to(registry: Registry[Any], user: User) -> list[Any]:
    """The entries of a navigation or portlet registry that ``user`` may see, in order."""
    return [entry for entry in registry if entry.visible(user)]


def navigation_for(user: User, path: str) -> list[NavLink | NavMenu]:
    """The bar for ``user`` on the page at ``path``: the visible entries in order, those of a
    group gathered into its menu where the group stands."""
    from django.urls import reverse

    items: list[tuple[int, str, NavLink | NavMenu]] = []
    grouped: dict[NavGroup, list[NavLink]] = {}
    for entry in visible_to(navigation, user):
        url = reverse(entry.url_name)
        link = NavLink(entry.key, entry.label, url, path == url)
        group = nav_groups.get(entry.group) if entry.group else None
        if group is None:
            items.append((entry.order, entry.key, link))
        else:
            grouped.setdefault(group, []).append(link)
    for group, links in grouped.items():
        item = links[0] if len(links) == 1 else NavMenu(group.key, group.label, links)
        items.append((group.order, group.key, item))
    return [item for _order, _key, item in sorted(items, key=lambda i: (i[0], i[1]))]


navigation: Registry[NavEntry] = Registry("navigation")
nav_groups: Registry[NavGroup] = Registry("navigation groups")
portlets: Registry[Portlet] = Registry("portlets")
notification_kinds: Registry[NotificationKind] = Registry("notification kinds")
api_mounts: Registry[ApiMount] = Registry("API mounts")
search_boxes: Registry[SearchBox] = Registry("search boxes")
demo_seeders: Registry[DemoSeeder] = Registry("demo seeders")
api_call_listeners: Registry[ApiCallListener] = Registry("API call listeners")
department_listeners: Registry[DepartmentListener] = Registry("department listeners")
