"""Deploying BPMN files: check a file against the registered applications and the deployed
processes, deploy every executable process of it as a new version (all or nothing), and arm
its timer start events. A file that cannot be deployed raises :class:`InvalidBpmn` with
every problem, which the API answers as 400 ``invalid_bpmn``.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element as XmlElement

import defusedxml.ElementTree as SafeET
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from portal.errors import Invalid, NotFound
from portal.models import User
from workflow import participants
from workflow.applications import applications
from workflow.bpmn.model import (
    BpmnError,
    Definitions,
    Element,
    EventTrigger,
    Problem,
)
from workflow.bpmn.parser import xml_text
from workflow.bpmn.timers import next_fire
from workflow.bpmn.validate import parse_and_validate
from workflow.engine.cache import graph_for_definition
from workflow.engine.runtime import (
    Run,
)
from workflow.models import (
    Job,
    JobKind,
    ProcessDefinition,
    ProcessSettings,
)
from workflow.services.engine import current_time
from workflow.translation import CATEGORY, Entry, clean_translations, entries_of


@dataclass(frozen=True)
class Deployed:
    key: str
    version: int
    created: bool  # False: identical to the latest version, nothing deployed

    def __str__(self) -> str:
        return f"{self.key} v{self.version} {'deployed' if self.created else 'unchanged'}"


class InvalidBpmn(BpmnError, Invalid):  # type: ignore[misc]  # BPMN problems by element id
    """A BPMN file that cannot be deployed, with every problem (the API's 400
    ``invalid_bpmn`` with ``problems`` by element id)."""

    code = "invalid_bpmn"

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        BpmnError.__init__(self, problems)  # its super() is Invalid's, which resets problems
        self.problems = tuple(problems)

    def body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": _("The BPMN file cannot be deployed."),
            "problems": [{"element_id": p.element_id, "message": p.message} for p in self.problems],
        }


def definition_check(xml: bytes | str) -> Definitions:
    """What :func:`definition_deploy` would deploy now, deploying nothing: the file parsed
    and validated against the registered applications and the deployed processes (call
    targets). Raises :class:`InvalidBpmn` with every problem, or when the file has no
    executable process."""
    deployed_keys = set(ProcessDefinition.objects.values_list("key", flat=True).distinct())
    try:
        definitions = parse_and_validate(
            xml, applications=applications.keys(), deployed_processes=deployed_keys
        )
    except BpmnError as error:
        raise InvalidBpmn(error.problems) from error
    if not definitions.executable_processes:
        raise InvalidBpmn([Problem("", "the file has no executable process")])
    return definitions


# Attributes a modeler writes about itself, not about the process.
_TOOL_ATTRIBUTES = frozenset({"exporter", "exporterVersion"})
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DECLARATION = re.compile(r"\A\ufeff?\s*<\?xml[^>]*\?>")


def _number_text(value: str) -> str:
    """``152.0`` and ``152`` are the same coordinate (modelers write either)."""
    if _NUMBER.fullmatch(value):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    return value


def _feed(node: XmlElement, digest: Any, *, root: bool) -> None:
    attributes = sorted(
        (name, _number_text(value))
        for name, value in node.attrib.items()
        if not (root and name in _TOOL_ATTRIBUTES)
    )
    digest.update(json.dumps([node.tag, attributes, (node.text or "").strip()]).encode())
    # Siblings of one kind keep their order (form fields, enum values); the order between
    # kinds is the writer's habit (bpmn-js writes a field's validation before its values).
    children = sorted((child for child in node if isinstance(child.tag, str)), key=lambda c: c.tag)
    digest.update(b"[")
    for child in children:
        _feed(child, digest, root=False)
    digest.update(b"]")


def definition_checksum(xml: bytes | str) -> str:
    """A checksum of what a BPMN file says, not of how it is written: the same diagram saved
    by another modeler (the designer's bpmn-js writes every file its own way: comments
    dropped, indentation and the order of some elements changed, ``exporter`` added) has
    the same checksum, so deploying it again makes no new version. The file must be
    readable XML (it was checked before)."""
    if isinstance(xml, str):
        # decoded already: its declaration (encoding="GBK") no longer applies
        xml = _DECLARATION.sub("", xml, count=1).encode()
    digest = hashlib.sha256()
    _feed(SafeET.fromstring(xml, forbid_dtd=True), digest, root=True)
    return digest.hexdigest()


def definition_deploy(
    *, xml: bytes | str, deployed_by: User | None = None, source_name: str = ""
) -> list[Deployed]:
    """Deploy every executable process of a BPMN file, all or nothing.

    The file is parsed and validated first (registered applications, call targets in the
    file or already deployed); any problem raises :class:`InvalidBpmn` with all of them and
    deploys nothing. A process whose latest version says the same (the same
    :func:`definition_checksum`, however the file is written) is left unchanged; otherwise
    it gets the next version number.
    """
    processes = definition_check(xml).executable_processes
    data = xml.encode() if isinstance(xml, str) else xml
    text = xml if isinstance(xml, str) else xml_text(data)
    checksum = definition_checksum(text)
    results: list[Deployed] = []
    try:
        with transaction.atomic():
            for process in processes:
                latest = (
                    ProcessDefinition.objects.select_for_update()
                    .filter(key=process.id)
                    .order_by("-version")
                    .first()
                )
                # versions deployed before the checksum read what the file says had the
                # checksum of its bytes: their XML is compared again
                if latest is not None and (
                    latest.checksum == checksum or definition_checksum(latest.xml) == checksum
                ):
                    results.append(Deployed(process.id, latest.version, created=False))
                    continue
                version = (latest.version if latest else 0) + 1
                created = ProcessDefinition.objects.create(
                    key=process.id,
                    version=version,
                    name=process.name,
                    description=process.documentation,
                    xml=text,
                    checksum=checksum,
                    source_name=source_name[:255],
                    history_time_to_live=process.history_time_to_live or "",
                    deployed_by=deployed_by,
                )
                _arm_start_timers(created, process, latest)
                results.append(Deployed(process.id, version, created=True))
    except IntegrityError:
        # Another deployment of the same key took this version number between our read and
        # our insert (on SQLite there is no row to lock for a first version).
        raise InvalidBpmn(
            [Problem("", "the same process is being deployed at this moment; try again")]
        ) from None
    return results


def _arm_start_timers(definition: ProcessDefinition, process: Any, previous: Any) -> None:
    """A new version takes over the timer start events: the previous version's stop."""
    if previous is not None:
        Job.objects.filter(definition=previous, kind=JobKind.START_TIMER).delete()
    for start in process.start_events(None):
        if start.trigger is EventTrigger.TIMER and start.timer is not None:
            schedule_start_timer(definition.pk, start, current_time(), fired=0)


def schedule_start_timer(
    definition_id: int, start: Element, now: datetime.datetime, *, fired: int
) -> None:
    """The job of a timer start event's next firing (none once a cycle is spent)."""
    timer = start.timer
    if timer is None:
        return
    due = next_fire(timer.kind.value, timer.source, now=now, tz=Run.local_tz(), fired=fired)
    if due is not None:
        Job.objects.create(
            definition_id=definition_id,
            kind=JobKind.START_TIMER,
            element_id=start.id,
            due_at=due,
            payload={"fired": fired},
            created_at=now,
        )


# --- names in other languages -----------------------------------------------------------------


def translation_entries(key: str) -> list[Entry]:
    """What a translation of process ``key`` may name: the texts of its latest version in
    the diagram's order, then those only older versions have (their running instances
    still show them), and its catalogue category. Empty when ``key`` is not deployed."""
    found: dict[str, Entry] = {}
    for definition_id in (
        ProcessDefinition.objects.filter(key=key).order_by("-version").values_list("id", flat=True)
    ):
        for entry in entries_of(graph_for_definition(definition_id).process):
            found.setdefault(entry.entry, entry)
    category = participants.settings_for(key).category.strip()
    if found and category:  # the catalogue's heading, from the process settings
        found[CATEGORY] = Entry(CATEGORY, "category", category)
    return list(found.values())


@transaction.atomic(durable=True)
def process_translations_save(*, key: str, translations: object) -> dict[str, dict[str, str]]:
    """Save the names of process ``key`` in other languages (``ProcessSettings.translations``,
    :mod:`workflow.translation`), replacing the table. Each entry must name a text of one of
    its versions (:func:`translation_entries`); any problem raises ``ValidationError`` and
    saves nothing. Returns the table as saved (empty texts left out)."""
    entries = translation_entries(key)
    if not entries:
        raise NotFound(_("No process with this key is deployed."))
    cleaned = clean_translations(translations, entries)
    row = ProcessSettings.objects.select_for_update().filter(key=key).first()
    if row is None:
        row = ProcessSettings(key=key)
    row.translations = cleaned
    row.save()
    participants.forget_settings()
    return cleaned
