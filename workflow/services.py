"""The workflow's public write API. Every state change goes through a function here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from portal.models import User
from workflow.applications import applications
from workflow.bpmn.model import BpmnError, Problem
from workflow.bpmn.validate import parse_and_validate
from workflow.models import ProcessDefinition


@dataclass(frozen=True)
class Deployed:
    key: str
    version: int
    created: bool  # False: identical to the latest version, nothing deployed

    def __str__(self) -> str:
        return f"{self.key} v{self.version} {'deployed' if self.created else 'unchanged'}"


def definition_deploy(
    *, xml: bytes | str, deployed_by: User | None = None, source_name: str = ""
) -> list[Deployed]:
    """Deploy every executable process of a BPMN file, all or nothing.

    The file is parsed and validated first (registered applications, call targets in the
    file or already deployed); any problem raises :class:`BpmnError` with all of them and
    deploys nothing. A process whose latest version has the same XML is left unchanged;
    otherwise it gets the next version number.
    """
    data = xml.encode() if isinstance(xml, str) else xml
    text = data.decode("utf-8", errors="replace")
    checksum = hashlib.sha256(data).hexdigest()
    deployed_keys = set(ProcessDefinition.objects.values_list("key", flat=True).distinct())
    definitions = parse_and_validate(
        data, applications=applications.keys(), deployed_processes=deployed_keys
    )
    processes = definitions.executable_processes
    if not processes:
        raise BpmnError([Problem("", "the file has no executable process")])
    results: list[Deployed] = []
    try:
        with transaction.atomic(durable=True):
            for process in processes:
                latest = (
                    ProcessDefinition.objects.select_for_update()
                    .filter(key=process.id)
                    .order_by("-version")
                    .first()
                )
                if latest is not None and latest.checksum == checksum:
                    results.append(Deployed(process.id, latest.version, created=False))
                    continue
                version = (latest.version if latest else 0) + 1
                ProcessDefinition.objects.create(
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
                results.append(Deployed(process.id, version, created=True))
    except IntegrityError:
        # Another deployment of the same key took this version number between our read and
        # our insert (on SQLite there is no row to lock for a first version).
        raise BpmnError(
            [Problem("", "the same process is being deployed at this moment; try again")]
        ) from None
    return results
