"""The files of ``../shared/`` the tests read: the shared BPMN processes, the MIWG reference
files and the benchmark workload, checked out beside this repository (CI always has them).

A test that needs one fails, naming what is missing, instead of skipping: in a summary a skip
reads as "nothing wrong", and these are the tests that run the real processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """``../shared/<parts>``; the test fails, saying what to do, when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(
            f"../shared/{'/'.join(parts)} is missing (looked for {path}): the tests need the "
            "shared BPMN files, in a checkout of shared/ beside this repository, as CI has it",
            pytrace=False,
        )
    return path


def shared_names(folder: str, pattern: str = "*.bpmn") -> list[str]:
    """The names (relative to ``../shared/<folder>``, sorted) of the files matching
    ``pattern``, to parametrize a test that opens each with :func:`shared_path`.

    Read at collection, where failing would stop the whole run. When nothing matches, the
    pattern itself: one test that fails in :func:`shared_path`, where an empty list would have
    pytest skip the test.
    """
    root = SHARED / folder
    return sorted(p.relative_to(root).as_posix() for p in root.glob(pattern)) or [pattern]
