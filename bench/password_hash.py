"""What one sign-in's password check costs: the portal's hasher against Django's defaults.

    .venv/bin/python bench/password_hash.py [--repeat 20]

Prints milliseconds of one core per hash (median and p95 of --repeat runs) and the memory
each uses, for the portal's Argon2id (portal/hashers.py), Django's own Argon2 parameters and
PBKDF2 at Django 5.2's iteration count. A sign-in costs one such hash (and a re-hash once,
when an old hash is upgraded). Run on an otherwise idle machine: the figure is CPU time.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django

django.setup()

from django.contrib.auth.hashers import (  # noqa: E402
    Argon2PasswordHasher,
    PBKDF2PasswordHasher,
)

from portal.hashers import PortalArgon2PasswordHasher  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)  # what is hashed: its value does not matter


def measure(hasher: object, repeat: int) -> tuple[float, float]:
    encode = hasher.encode  # type: ignore[attr-defined]
    salt = hasher.salt()  # type: ignore[attr-defined]
    encode(PASSWORD, salt)  # warm up
    times = []
    for _ in range(repeat):
        started = time.process_time()
        encode(PASSWORD, salt)
        times.append((time.process_time() - started) * 1000)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    rows = [
        ("portal: Argon2id 19 MiB, t=3, p=1", PortalArgon2PasswordHasher(), "19 MiB"),
        ("Django default Argon2 100 MiB, t=2, p=8", Argon2PasswordHasher(), "100 MiB"),
        (
            f"Django default PBKDF2 {PBKDF2PasswordHasher.iterations:,} it.",
            PBKDF2PasswordHasher(),
            "-",
        ),
    ]
    print(f"{'hasher':44} {'median ms':>10} {'p95 ms':>8} {'memory':>8}")
    for name, hasher, memory in rows:
        median, p95 = measure(hasher, args.repeat)
        print(f"{name:44} {median:10.1f} {p95:8.1f} {memory:>8}")
    print("CPU time of this process per hash (time.process_time).")


if __name__ == "__main__":
    main()
