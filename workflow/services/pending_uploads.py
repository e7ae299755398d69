"""Files chosen on a form that could not be sent yet: a start form with a mistake keeps every
file already chosen, so that nobody has to choose them again.

A browser cannot put a file back into a file input, so the files of a form that failed
validation are stored once here (:func:`upload_hold`), each named on the page again by a
signed token in a hidden field ("已选择：报价单.pdf ✕"). The token names the person who chose
the file: a token of someone else's file, a forged or an expired one (after a day) is refused
(:func:`uploads_kept`). When the form is finally valid the files are attached like new ones
(and checked again by the attaching service); :func:`uploads_release` then deletes them.
Files nobody came back for are deleted by :func:`pending_uploads_cleanup`, which every hold
runs for the files older than a day.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.held_files import day_folder, held_files_cleanup
from portal.models import User
from workflow.forms import safe_filename, validate_upload

__all__ = [
    "FOLDER",
    "MAX_AGE_SECONDS",
    "KeptUpload",
    "pending_uploads_cleanup",
    "upload_hold",
    "uploads_kept",
    "uploads_release",
]

FOLDER = "workflow/pending"
MAX_AGE_SECONDS = 24 * 3600
_SALT = "workflow.pending-upload"


@dataclass(frozen=True)
class KeptUpload:
    """A file held for a form: its token (the hidden field's value), name and size."""

    token: str
    name: str
    size: int
    path: str

    def open(self) -> File[bytes]:
        """The file, to attach; its name is the one it was chosen with."""
        handle: Any = default_storage.open(self.path, "rb")
        return File(handle, name=self.name)


def _folder_of(day: datetime.date) -> str:
    return day_folder(FOLDER, day)


def upload_hold(*, user: User, upload: File[bytes]) -> KeptUpload:
    """Store ``upload`` (checked by ``validate_upload`` first: a file that could never be
    attached is not kept, ``ValidationError``) for ``user`` until the form is sent again;
    its token. Runs the cleanup of files older than a day."""
    validate_upload(upload)
    name = safe_filename(upload.name or "")
    upload.seek(0)
    path = default_storage.save(
        f"{_folder_of(timezone.localdate())}/{uuid.uuid4().hex}", File(upload, name=name)
    )
    size = default_storage.size(path)
    token = signing.dumps({"u": user.pk, "p": path, "n": name, "s": size}, salt=_SALT)
    pending_uploads_cleanup()
    return KeptUpload(token, name, size, path)


def uploads_kept(*, user: User, tokens: Iterable[str]) -> tuple[list[KeptUpload], list[str]]:
    """The files the hidden fields name, each once: ``(kept, problems)``. A token that was
    not made for ``user``, is forged or expired, or whose file is gone is left out with a
    message saying the file must be chosen again."""
    kept: list[KeptUpload] = []
    problems: list[str] = []
    seen: set[str] = set()
    for token in tokens:
        if not token or token in seen:
            continue
        seen.add(token)
        try:
            found = signing.loads(token, salt=_SALT, max_age=MAX_AGE_SECONDS)
        except signing.BadSignature:  # also SignatureExpired
            problems.append(_("A file chosen earlier is no longer available: choose it again."))
            continue
        path = str(found.get("p", ""))
        if (
            found.get("u") != user.pk
            or not path.startswith(f"{FOLDER}/")
            or not default_storage.exists(path)
        ):
            problems.append(_("A file chosen earlier is no longer available: choose it again."))
            continue
        kept.append(KeptUpload(token, str(found.get("n", "file")), int(found.get("s", 0)), path))
    return kept, list(dict.fromkeys(problems))


def uploads_release(kept: Sequence[KeptUpload]) -> None:
    """Delete the held files (they were attached, or let go)."""
    for upload in kept:
        default_storage.delete(upload.path)


def pending_uploads_cleanup(*, now: datetime.date | None = None) -> int:
    """Delete the held files of days before yesterday (a token lives a day); how many."""
    return held_files_cleanup(FOLDER, today=now)
