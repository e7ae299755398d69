"""Security headers, production settings and secrets.

- Always: a page, an API answer and the login page carry X-Frame-Options DENY,
  X-Content-Type-Options nosniff, Referrer-Policy and Cross-Origin-Opener-Policy.
- With the production environment behind HTTPS (``HTTPS=1``, read by portal/settings.py in a
  fresh process): HSTS, secure session and CSRF cookies, plain http redirected to https; and
  ``check --deploy`` finds nothing without silencing more than the opt-in HSTS preload
  (tests/portal/test_settings.py runs the check itself at ``--fail-level WARNING``).
- Secrets come from the environment only: without a SECRET_KEY, or with a short one, a
  production start refuses (the missing key: tests/portal/test_settings.py); and no tracked
  source or configuration file assigns a secret, holds a private key or a database URL with
  a password, except the reasoned fakes listed here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings as django_settings
from django.test import Client

from portal.models import User
from tests.factories import PASSWORD

if TYPE_CHECKING:
    # what the test client answers (a class of django-stubs only, hence the guard)
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse

BASE_DIR = Path(django_settings.BASE_DIR)
PRODUCTION_SECRET_KEY = "production-like-secret-key-for-the-settings-test-0123456789abcdef"
SECURITY_SETTINGS = (
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SESSION_COOKIE_HTTPONLY",
    "X_FRAME_OPTIONS",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "SILENCED_SYSTEM_CHECKS",
)
DUMP = f"""
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({{name: getattr(settings, name) for name in {SECURITY_SETTINGS!r}}}))
"""


def _start(tmp_path: Path, code: str, **environment: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter with the portal's settings and ``environment``
    (nothing of the test run's own DATABASE_URL, broker, DEBUG or keys)."""
    inherited = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "HTTPS"}
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "SQLITE_PATH": str(tmp_path / "portal.sqlite3"),
        "PORTAL_VAR_DIR": str(tmp_path / "var"),
        **environment,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The security settings of a production start behind HTTPS."""
    result = _start(
        tmp_path_factory.mktemp("production"),
        DUMP,
        DEBUG="0",
        HTTPS="1",
        SECRET_KEY=PRODUCTION_SECRET_KEY,
        ALLOWED_HOSTS="testserver",
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _answers(employee: User, *, secure: bool) -> dict[str, TestResponse]:
    """The login page (anonymous), a page and an API answer (signed in)."""
    anonymous = Client()
    signed_in = Client()
    signed_in.force_login(employee, backend="portal.backends.UsernameOrEmployeeNoBackend")
    return {
        "login page": anonymous.get("/accounts/login/", secure=secure),
        "page": signed_in.get("/workflow/inbox/", secure=secure),
        "API": signed_in.get("/api/v1/tasks/", secure=secure),
    }


def _assert_always(name: str, response: TestResponse) -> None:
    assert response.status_code == 200, name
    assert response["X-Frame-Options"] == "DENY", name
    assert response["X-Content-Type-Options"] == "nosniff", name
    assert response["Referrer-Policy"] == "same-origin", name
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", name


@pytest.mark.django_db
def test_every_answer_carries_the_security_headers(employee) -> None:
    for name, response in _answers(employee, secure=False).items():
        _assert_always(name, response)
        assert "Strict-Transport-Security" not in response, f"{name}: HSTS over plain http"


def test_production_behind_https_turns_every_protection_on(production) -> None:
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["CSRF_COOKIE_SECURE"] is True
    assert production["SESSION_COOKIE_HTTPONLY"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    # check --deploy is clean without hiding anything but the opt-in preload (W021)
    assert production["SILENCED_SYSTEM_CHECKS"] == ["security.W021"]


@pytest.mark.django_db
def test_production_answers_over_https(settings, production, employee) -> None:
    for name, value in production.items():
        setattr(settings, name, value)
    for name, response in _answers(employee, secure=True).items():
        _assert_always(name, response)
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    login_page = _answers(employee, secure=True)["login page"]
    assert login_page.cookies[settings.CSRF_COOKIE_NAME]["secure"]

    browser = Client()
    redirected = browser.get("/accounts/login/")
    assert redirected.status_code == 301
    assert redirected["Location"] == "https://testserver/accounts/login/"
    signed_in = browser.post(
        "/accounts/login/", {"username": "zhangwei", "password": PASSWORD}, secure=True
    )
    assert signed_in.status_code == 302
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"]
    assert session["httponly"]
    assert session["samesite"] == "Lax"


@pytest.mark.parametrize(
    ("secret_key", "message"),
    [
        pytest.param("", "SECRET_KEY is required when DEBUG is off", id="none"),
        pytest.param("short-key", "SECRET_KEY must be at least 50 characters", id="short"),
    ],
)
def test_production_refuses_to_start_without_a_proper_secret_key(
    tmp_path, secret_key, message
) -> None:
    result = _start(tmp_path, DUMP, DEBUG="0", SECRET_KEY=secret_key)
    assert result.returncode != 0
    assert message in result.stderr


# --- no secret in the tracked sources ---------------------------------------------------------

SCANNED = ["*.py", "*.toml", "*.cfg", "*.ini", "*.yml", "*.yaml", ".ci/run", "Makefile"]
SECRET_NAME = r"[A-Za-z_]*(?:SECRET|PASSWORD|PASSWD|TOKEN|API_KEY|ACCESS_KEY)[A-Za-z_]*"
# NAME = "literal" / NAME: "literal" / "NAME": "literal" (Python, TOML, YAML); a value
# with a space in it is a sentence, not a key
QUOTED = re.compile(
    rf"""(?i)\b({SECRET_NAME})\b["']?\s*(?::\s*str\s*)?[:=]\s*[rb]?["']([^"'\s]{{6,}})["']"""
)
# NAME=literal in environment lines, the Makefile and shell scripts (in Python it is a
# keyword argument, whose literal QUOTED finds); $VARIABLES are references, not secrets
UNQUOTED = re.compile(rf"""(?i)\b({SECRET_NAME})=([^\s"'$(){{}}]{{6,}})""")
DSN_PASSWORD = re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@'\"]+:([^@\s/'\"]+)@")
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")

# (file, literal) → why it is not a secret. A new literal, even in one of these files, fails.
ALLOWED = {
    ("portal/admin_site.py", "autorenew"): "the admin sidebar's icon of refresh tokens",
    ("portal/admin_site.py", "fingerprint"): "the admin sidebar's icon of ID tokens",
    ("portal/settings.py", "insecure-development-key-only-for-DEBUG-"): (
        "the developer instance's key, used only with DEBUG on (settings refuse it otherwise)"
    ),
    ("portal/management/commands/seed_demo.py", "demo1234"): (
        "the demo organization's password, documented in README (make run only)"
    ),
    ("pyproject.toml", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"): (
        "the test run's SECRET_KEY (pytest-env)"
    ),
    ("bench/faults.py", "fault-drill-1234"): (
        "the password of the fault drills' users, in the throwaway database the script makes"
    ),
    ("tests/factories.py", "correct-horse-battery-staple"): "the test personas' password",
    ("tests/portal/test_admin.py", "Lantern-orbit-47-quiet"): "a test's new password",
    ("tests/portal/test_views.py", "Lantern-orbit-47-quiet"): "a test's new password",
    ("tests/portal/test_views.py", "not-it"): "a test's wrong old password",
    ("tests/portal/test_seed_demo.py", "demo1234"): "the test of the demo password",
    ("tests/portal/test_seed_demo.py", "another-secret"): "a test's changed password",
    ("tests/portal/test_settings.py", "secret"): "a fake PostgreSQL URL of a settings test",
    ("erp_bridge/tryton_demo.py", "admin-password"): (
        "the name of the file the demo Tryton's generated password is written to"
    ),
    ("tests/erp_bridge/http_fixtures.py", "ERP_HTTP_REFERENCE_SECRET"): (
        "the name of the environment variable the reference ERP's secret is put in"
    ),
    ("tests/erp_bridge/http_fixtures.py", "https://erp.example.com/oauth2/token"): (
        "the documented example connection's token endpoint (an address)"
    ),
    ("tests/erp_bridge/http_fixtures.py", "ERP_CLIENT_SECRET"): (
        "the documented example connection's variable name (never the secret)"
    ),
    ("tests/erp_bridge/reference_erp.py", "Bearer"): "the OAuth2 token type",
    ("tests/erp_bridge/test_http_adapter.py", "file:///etc/passwd"): (
        "a token URL the connection's validation must refuse"
    ),
    ("tests/erp_bridge/test_http_adapter.py", "ERP_HTTP_SECRET_NOBODY_SET"): (
        "an environment variable name the validation must find unset"
    ),
    ("tests/workflow/test_api_oauth.py", "integration-secret-0123456789"): (
        "a test OAuth2 application's secret"
    ),
    ("tests/workflow/test_expressions.py", "hunter2"): "a variable of an expression test",
    ("tests/security/test_csrf.py", "csrf-test-client-secret-0123456789"): (
        "a test OAuth2 application's secret"
    ),
    ("tests/security/test_permission_matrix.py", "matrixcsrfsecret0123456789abcdef"): (
        "the CSRF cookie of the matrix's test clients"
    ),
}
# Files not scanned, with the reason.
UNSCANNED = {
    "tests/security/test_headers_and_secrets.py": "this scan: its samples and a test's key",
}


def _tracked_files() -> list[str]:
    listed = subprocess.run(  # noqa: S603 - a fixed git command
        # tracked, and new files not yet committed (but not the ignored ones)
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *SCANNED],  # noqa: S607
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        name
        for name in sorted(set(listed.stdout.splitlines()))
        if (BASE_DIR / name).is_file() and name not in UNSCANNED
    ]


def _findings(name: str, text: str) -> list[tuple[str, str]]:
    """(what, literal) of each thing that looks like a secret in ``text``."""
    found: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), 1):
        patterns = (QUOTED,) if name.endswith(".py") else (QUOTED, UNQUOTED)
        for pattern in patterns:
            for match in pattern.finditer(line):
                found.append((f"{name}:{number}: {match.group(1)} = …", match.group(2)))
        for match in DSN_PASSWORD.finditer(line):
            found.append((f"{name}:{number}: a URL with a password", match.group(1)))
        if PRIVATE_KEY.search(line):
            found.append((f"{name}:{number}: a private key", "-----BEGIN"))
    return found


def test_the_scan_finds_what_it_looks_for() -> None:
    samples = {
        'SECRET_KEY = "k8s#real-production-key"': "k8s#real-production-key",
        'EMAIL_HOST_PASSWORD: str = "mail-pass-123"': "mail-pass-123",
        '"API_KEY": "abcdef123456"': "abcdef123456",
        "SMS_HTTP_TOKEN=tok-0123456789": "tok-0123456789",
        "DATABASE_URL=postgresql://portal:s3cr3t@db/portal": "s3cr3t",
        "password: 'yaml-password'": "yaml-password",
        "-----BEGIN RSA PRIVATE KEY-----": "-----BEGIN",
    }
    for line, literal in samples.items():
        assert literal in [found for _what, found in _findings("sample.yml", line)], line
    assert not _findings("sample.py", 'SECRET_KEY = env_str("SECRET_KEY")')
    assert not _findings("sample.py", "run(SECRET_KEY=secret_key)")
    assert not _findings("Makefile", 'test -n "$$DATABASE_URL" && SECRET_KEY=$$KEY run')


def test_no_secret_is_written_into_the_sources() -> None:
    files = _tracked_files()
    assert "portal/settings.py" in files and "Makefile" in files
    unexpected = []
    used = set()
    for name in files:
        text = (BASE_DIR / name).read_text(encoding="utf-8", errors="replace")
        for what, literal in _findings(name, text):
            if (name, literal) in ALLOWED:
                used.add((name, literal))
            else:
                unexpected.append(what)
    assert not unexpected, "secrets written into tracked files: " + "; ".join(unexpected)
    stale = set(ALLOWED) - used
    assert not stale, f"allowed literals no longer found (remove them from ALLOWED): {stale}"
