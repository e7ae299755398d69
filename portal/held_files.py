"""Files held for a day between two requests (an upload before its form is sent, an import
file between its preview and its confirmation), stored as ``<folder>/<YYYYMMDD>/<name>``:
:func:`day_folder` names today's folder, :func:`held_files_cleanup` deletes the days before
yesterday."""

from __future__ import annotations

import datetime

from django.core.files.storage import default_storage
from django.utils import timezone


def day_folder(folder: str, day: datetime.date) -> str:
    return f"{folder}/{day:%Y%m%d}"


def held_files_cleanup(folder: str, *, today: datetime.date | None = None) -> int:
    """Delete the held files of ``folder`` from days before yesterday (a hold lives a day);
    how many."""
    today = today or timezone.localdate()
    oldest_kept = f"{today - datetime.timedelta(days=1):%Y%m%d}"
    try:
        days, _files = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return 0
    deleted = 0
    for day in days:
        if day >= oldest_kept:
            continue
        _dirs, names = default_storage.listdir(f"{folder}/{day}")
        for name in names:
            default_storage.delete(f"{folder}/{day}/{name}")
            deleted += 1
    return deleted
