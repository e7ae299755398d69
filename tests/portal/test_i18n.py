"""The zh-Hans catalogue is complete for the code as it stands, not only as it was when
the catalogue was last regenerated: the messages are extracted afresh from a copy of the
sources and every one must have a translation."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

SOURCES = ["portal", "workflow", "crm", "erp_bridge", "knowledge", "templates", "manage.py"]
CATALOGUE = Path("portal/locale/zh_Hans/LC_MESSAGES/django.po")


def _entries(po_text: str) -> list[tuple[str, list[str], bool]]:
    """(msgid, msgstrs, fuzzy) for every entry of a .po file, header excluded."""
    entries = []
    for block in po_text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        msgid: list[str] = []
        msgstrs: list[list[str]] = []
        current: list[str] | None = None
        for line in lines:
            if line.startswith("msgid "):
                current = msgid
                current.append(line[6:].strip('"'))
            elif line.startswith("msgid_plural"):
                current = None
            elif line.startswith("msgstr"):
                current = []
                msgstrs.append(current)
                current.append(line.split(" ", 1)[1].strip('"'))
            elif line.startswith('"') and current is not None:
                current.append(line.strip('"'))
        text = "".join(msgid)
        if text:
            entries.append((text, ["".join(part) for part in msgstrs], fuzzy))
    return entries


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_every_message_in_the_sources_is_translated_to_chinese(tmp_path: Path) -> None:
    root = Path(settings.BASE_DIR)
    for name in SOURCES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("*.mo"))
        else:
            shutil.copy(source, tmp_path / name)
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env.update(DEBUG="1", PORTAL_VAR_DIR=str(tmp_path / "var"))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-obsolete", "-v", "0"],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    entries = _entries((tmp_path / CATALOGUE).read_text(encoding="utf-8"))
    assert len(entries) > 100
    untranslated = [msgid for msgid, msgstrs, fuzzy in entries if fuzzy or not all(msgstrs)]
    assert untranslated == [], "translate these in portal/locale (run `make messages`)"


def test_the_compiled_catalogue_is_used() -> None:
    with translation.override("zh-hans"):
        assert translation.gettext("Dashboard") == "工作台"
    with translation.override("en"):
        assert translation.gettext("Dashboard") == "Dashboard"
