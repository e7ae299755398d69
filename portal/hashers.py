"""How passwords are stored: Argon2id (Django's recommended first choice), tuned for the sign-in
peak of a company's morning.

Django's own Argon2 parameters (100 MiB, 8 lanes) and its PBKDF2 (1,000,000 iterations) each
cost a quarter to half a second of one core per sign-in: 500 people signing in within a few
minutes then starve every other page (bench/RESULTS.md, the sign-in peak). Argon2id at OWASP's
minimum memory cost (19 MiB, one lane) with 3 passes instead of the minimum 2 costs about 50 ms
of one core here (``bench/password_hash.py`` prints the figures on the machine it runs on).
Older hashes (PBKDF2) keep working and are re-hashed with these parameters at the person's
next sign-in (Django does that when the first hasher of ``PASSWORD_HASHERS`` is not the one
a hash was made with, or its parameters changed).
"""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum memory cost: 19 MiB, 3 passes, 1 lane (one core)."""

    time_cost = 3
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
