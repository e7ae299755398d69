"""The process catalogue and drafts: the processes a person may start (their starter roles
or departments; a plain start event), by category; one of them by key (else a 404 for the
view); a person's own drafts, never anybody else's.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connections, router
from django.db.models import OuterRef, QuerySet, Subquery

from portal.models import Department, User
from workflow import translation
from workflow.bpmn.model import Element, EventTrigger
from workflow.engine.cache import graph_for_definition
from workflow.models import Draft, ProcessDefinition, ProcessSettings
from workflow.selectors.visibility import may_deploy


def _barred_sql() -> str:
    tables = {
        "settings": ProcessSettings._meta.db_table,
        "roles": ProcessSettings.starter_roles.through._meta.db_table,
        "departments": ProcessSettings.starter_departments.through._meta.db_table,
        "memberships": User.groups.through._meta.db_table,
        "department": Department._meta.db_table,
    }
    template = (
        'SELECT s."key" FROM {settings} s WHERE ('
        "EXISTS (SELECT 1 FROM {roles} r WHERE r.processsettings_id = s.id) "
        "OR EXISTS (SELECT 1 FROM {departments} d WHERE d.processsettings_id = s.id)) "
        "AND NOT EXISTS (SELECT 1 FROM {roles} r JOIN {memberships} m ON m.group_id = r.role_id "
        "WHERE r.processsettings_id = s.id AND m.user_id = %s) "
        "AND NOT EXISTS (SELECT 1 FROM {departments} d "
        "JOIN {department} starter ON starter.id = d.department_id "
        "JOIN {department} own ON own.id = %s "
        "AND SUBSTR(own.path, 1, LENGTH(starter.path)) = starter.path "
        "WHERE d.processsettings_id = s.id)"
    )
    return template.format(**tables)


_BARRED_SQL = _barred_sql()


def _barred(user: User) -> set[str]:
    """Keys of the processes an active ``user`` may not start (:func:`may_start`), in one
    query: the settings that name starter roles or departments (none: everyone may start
    it) of which ``user`` holds no role and belongs to no department or one below it. A
    department's subtree is the rows whose materialized path starts with its own. SQL of a
    fixed text: the catalogue, the 工作台's quick starts and every start ask, and the ORM
    took 4-5 ms to build and compile the five subqueries (issue 16)."""
    if user.is_superuser:
        return set()
    with connections[router.db_for_read(ProcessSettings)].cursor() as cursor:
        cursor.execute(_BARRED_SQL, [user.pk, user.department_id])
        return {key for (key,) in cursor.fetchall()}


def may_start(user: User, key: str) -> bool:
    """Who may start ``key``: everyone when its settings name no starter role and no starter
    department; else the holders of one of ``ProcessSettings.starter_roles`` and the members
    of one of ``ProcessSettings.starter_departments`` or of a department below one. A
    superuser may start anything; an inactive account nothing. The one rule the catalogue,
    the start page, drafts and the API apply (through :func:`startable_process` and
    :func:`hidden_processes`)."""
    if not user.is_active:
        return False
    return key not in _barred(user)


def hidden_processes(user: User) -> set[str]:
    """Keys of the processes ``user`` may not start (:func:`may_start`): the catalogue does
    not show them, and to the API they are as if not deployed. Process designers and
    administrators (who may read definitions) see every process."""
    if user.is_superuser or user.has_perm("workflow.view_processdefinition") or may_deploy(user):
        return set()
    return _barred(user)


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
    icon: str = ""  # ProcessSettings.icon (workflow/icons.py picks one where it is empty)


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
    barred = _barred(user)
    settings = {s.key: s for s in ProcessSettings.objects.filter(key__in=keys)}
    found: list[StartableProcess] = []
    for definition in definitions:
        if definition.key in barred or start_element(definition.pk) is None:
            continue
        row = settings.get(definition.key)
        found.append(
            StartableProcess(
                key=definition.key,
                # in the reader's language (workflow.translation)
                name=translation.process_name(definition.key, definition.name),
                description=translation.process_description(
                    definition.key, (row.description if row else "") or definition.description
                ),
                category=translation.category_name(definition.key, row.category.strip())
                if row
                else "",
                definition_id=definition.pk,
                version=definition.version,
                icon=row.icon if row else "",
            )
        )
    return found


def _offered(definition_id: int) -> bool:
    """Whether the catalogue offers the process to people: not when its BPMN says
    ``camunda:isStartableInTasklist="false"`` (an application starts it, as the knowledge
    base starts its article review, through the same :func:`startable_process` rule)."""
    try:
        return graph_for_definition(definition_id).process.startable_in_tasklist
    except (KeyError, ValueError):
        return False


def startable_processes(user: User, *, search: str = "") -> list[Category]:
    """The processes ``user`` may start, by category (categories by name, "Other" last;
    processes by name). ``search`` keeps those whose name, key or description contains it
    (case-insensitive)."""
    if not user.is_active:
        return []
    definitions = [d for d in _latest_definitions() if _offered(d.pk)]
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


# --- processes as their administrators see them ------------------------------------------


@dataclass(frozen=True)
class ManagedProcess:
    """A deployed process on the console's process list: its latest version and who may
    start it (role and department names; both empty: everyone)."""

    key: str
    name: str
    version: int
    deployed_at: datetime.datetime
    category: str
    roles: list[str]
    departments: list[str]


def managed_processes() -> list[ManagedProcess]:
    """Every deployed process (its latest version), by category then name; three queries
    whatever the number of processes."""
    latest = list(_latest_definitions().only("id", "key", "version", "name", "deployed_at"))
    rows = {
        row.key: row
        for row in ProcessSettings.objects.filter(key__in=[d.key for d in latest])
        .prefetch_related("starter_roles", "starter_departments")
        .only("id", "key", "category")
    }
    found = []
    for definition in latest:
        row = rows.get(definition.key)
        found.append(
            ManagedProcess(
                key=definition.key,
                name=translation.process_name(definition.key, definition.name),
                version=definition.version,
                deployed_at=definition.deployed_at,
                category=translation.category_name(definition.key, row.category.strip())
                if row
                else "",
                roles=sorted(r.display_name for r in row.starter_roles.all()) if row else [],
                departments=(
                    [d.display_name for d in sorted(row.starter_departments.all(), key=_path)]
                    if row
                    else []
                ),
            )
        )
    return sorted(found, key=lambda p: (p.category == "", p.category, p.name.casefold(), p.key))


def _path(department: Department) -> str:
    return str(department.path)
