"""The process catalogue and drafts: the processes a person may start (their starter roles;
a plain start event), by category; one of them by key (else a 404 for the view); a person's
own drafts, never anybody else's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import OuterRef, QuerySet, Subquery

from portal.models import User
from workflow.bpmn.model import Element, EventTrigger
from workflow.engine.cache import graph_for_definition
from workflow.models import Draft, ProcessDefinition, ProcessSettings


def may_start(user: User, key: str) -> bool:
    """``ProcessSettings.starter_roles`` of ``key`` (none: every employee may start it);
    a superuser may start anything."""
    if user.is_superuser:
        return True
    roles = ProcessSettings.starter_roles.through.objects.filter(processsettings__key=key)
    if not roles.exists():
        return True
    return user.groups.filter(pk__in=roles.values("role_id")).exists()


def hidden_processes(user: User) -> set[str]:
    """Keys of the processes ``user`` may not start (their starter roles are none of the
    user's): the catalogue does not show them, and to the API they are as if not deployed.
    Process designers and administrators (who may read definitions) see every process."""
    if (
        user.is_superuser
        or user.has_perm("workflow.view_processdefinition")
        or user.has_perm("workflow.add_processdefinition")
    ):
        return set()
    restricted: dict[str, set[int]] = {}
    for key, role_id in ProcessSettings.starter_roles.through.objects.values_list(
        "processsettings__key", "role_id"
    ):
        restricted.setdefault(key, set()).add(role_id)
    if not restricted:
        return set()
    mine = set(user.groups.values_list("pk", flat=True))
    return {key for key, roles in restricted.items() if not roles & mine}


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class StartableProcess:
    """The latest version of a process key that someone may start."""

    key: str
    name: str
    description: str
    category: str
    definition_id: int
    version: int


@dataclass
class Category:
    """A heading of the catalogue and its processes ("" is the catch-all "Other")."""

    name: str
    processes: list[StartableProcess] = field(default_factory=list)


def start_element(definition_id: int) -> Element | None:
    """The plain (none) start event of a deployed version, where a person starts it by hand;
    None when its process only starts on a message, a signal or a timer."""
    try:
        graph = graph_for_definition(definition_id)
    except (KeyError, ValueError):  # no executable process under its key: nothing to start
        return None
    starts = graph.process.start_events(None)
    plain = [e for e in starts if e.trigger is EventTrigger.NONE]
    return plain[0] if plain else None


def _latest_definitions() -> QuerySet[ProcessDefinition]:
    """Each key's latest version (running instances stay on older ones; new starts never)."""
    newest = (
        ProcessDefinition.objects.filter(key=OuterRef("key"))
        .order_by("-version")
        .values("version")[:1]
    )
    return ProcessDefinition.objects.filter(version=Subquery(newest)).only(
        "id", "key", "version", "name", "description"
    )


def _startable(user: User, definitions: Iterable[ProcessDefinition]) -> list[StartableProcess]:
    keys = [d.key for d in definitions]
    settings = {s.key: s for s in ProcessSettings.objects.filter(key__in=keys)}
    found: list[StartableProcess] = []
    for definition in definitions:
        if start_element(definition.pk) is None or not may_start(user, definition.key):
            continue
        row = settings.get(definition.key)
        found.append(
            StartableProcess(
                key=definition.key,
                name=definition.name or definition.key,
                description=(row.description if row else "") or definition.description,
                category=row.category.strip() if row else "",
                definition_id=definition.pk,
                version=definition.version,
            )
        )
    return found


def startable_processes(user: User, *, search: str = "") -> list[Category]:
    """The processes ``user`` may start, by category (categories by name, "Other" last;
    processes by name). ``search`` keeps those whose name, key or description contains it
    (case-insensitive)."""
    if not user.is_active:
        return []
    definitions = list(_latest_definitions())
    needle = search.strip().casefold()
    processes = _startable(user, definitions)
    if needle:
        processes = [
            p
            for p in processes
            if needle in p.name.casefold()
            or needle in p.key.casefold()
            or needle in p.description.casefold()
        ]
    groups: dict[str, Category] = {}
    for process in sorted(processes, key=lambda p: (p.name.casefold(), p.key)):
        groups.setdefault(process.category, Category(process.category)).processes.append(process)
    return sorted(groups.values(), key=lambda c: (c.name == "", c.name))


def startable_process(user: User, key: str) -> StartableProcess | None:
    """The latest version of ``key`` if ``user`` may start it by hand, else None."""
    if not user.is_active:
        return None
    latest = ProcessDefinition.objects.filter(key=key).order_by("-version").first()
    if latest is None:
        return None
    found = _startable(user, [latest])
    return found[0] if found else None


# --- drafts: reads -------------------------------------------------------------------------


def drafts_for(user: User) -> QuerySet[Draft]:
    """草稿箱: ``user``'s own drafts, last saved first."""
    return Draft.objects.filter(owner_id=user.pk)


def draft_for(user: User, draft_id: int | str | None) -> Draft | None:
    """One of ``user``'s drafts; None for another person's draft, a missing one or an id
    that is not a number (the view answers 404)."""
    try:
        pk = int(draft_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return drafts_for(user).filter(pk=pk).first()
