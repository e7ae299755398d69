"""Settings read from the environment, proved in fresh processes (a settings module is
imported once per process). Every subprocess gets its own SQLite file and var directory
under ``tmp_path``, so the developer's database is never touched."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys

import pytest
from django.conf import settings

BASE_DIR = settings.BASE_DIR

# Prints the settings the tests look at, as JSON, after a normal start-up.
DUMP = """
import json
import django
django.setup()
from django.conf import settings
print(json.dumps({
    "db": settings.DATABASES["default"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "debug": settings.DEBUG,
}, default=str))
"""


def _env(tmp_path, **overrides: str | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    env["SQLITE_PATH"] = str(tmp_path / "portal.sqlite3")
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _run(tmp_path, args: list[str], **overrides: str | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=_env(tmp_path, **overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _setup(tmp_path, **overrides: str | None) -> subprocess.CompletedProcess[str]:
    return _run(tmp_path, ["-c", DUMP], **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param(
            {"SECRET_KEY": None, "DEBUG": "0"},
            "SECRET_KEY is required when DEBUG is off",
            id="no-secret-key",
        ),
        pytest.param({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean", id="debug-maybe"),
        pytest.param(
            {"DB_CONN_MAX_AGE": "abc"},
            "DB_CONN_MAX_AGE='abc' is not a whole number",
            id="conn-max-age",
        ),
        pytest.param(
            {"DATABASE_URL": "mysql://x"},
            "DATABASE_URL scheme 'mysql' is not supported",
            id="mysql",
        ),
        pytest.param(
            {"CELERY_BROKER_URL": "http://x"},
            "CELERY_BROKER_URL 'http://x' must be a redis:// or amqp:// URL",
            id="broker-http",
        ),
        pytest.param(
            {"EMAIL_BACKEND": "nonsense"},
            "EMAIL_BACKEND='nonsense' is not one of",
            id="email-backend",
        ),
        pytest.param(
            {"SMS_BACKEND": "http", "SMS_HTTP_URL": None},
            "SMS_BACKEND=http needs SMS_HTTP_URL",
            id="sms-http-no-url",
        ),
    ],
)
def test_bad_environment_stops_start_up_with_a_clear_message(tmp_path, overrides, message):
    result = _setup(tmp_path, **overrides)
    assert result.returncode != 0, result.stdout
    assert "ImproperlyConfiguredEnv" in result.stderr
    assert message in result.stderr


def test_embedded_default_is_sqlite_in_wal_mode_with_eager_celery(tmp_path):
    result = _setup(tmp_path, DB_CONN_MAX_AGE=None, SQLITE_BUSY_TIMEOUT=None)
    assert result.returncode == 0, result.stderr
    dumped = json.loads(result.stdout)
    db = dumped["db"]
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "portal.sqlite3")
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] == 20
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert "foreign_keys=ON" in db["OPTIONS"]["init_command"]
    assert db["CONN_MAX_AGE"] == 600
    # No broker: every task runs in the caller's process.
    assert dumped["broker"] == ""
    assert dumped["eager"] is True


def test_no_configuration_at_all_is_a_developer_instance(tmp_path):
    result = _setup(tmp_path, DEBUG=None, SECRET_KEY=None, HTTPS=None)
    assert result.returncode == 0, result.stderr
    dumped = json.loads(result.stdout)
    assert dumped["debug"] is True
    assert dumped["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert dumped["eager"] is True


def test_postgres_url_gets_server_side_binding_and_conn_max_age(tmp_path):
    result = _setup(
        tmp_path,
        DATABASE_URL="postgresql://portal:secret@db.example.com:5432/portal",
        DB_CONN_MAX_AGE="120",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr
    dumped = json.loads(result.stdout)
    db = dumped["db"]
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "portal"
    assert db["HOST"] == "db.example.com"
    assert db["CONN_MAX_AGE"] == 120
    assert db["CONN_HEALTH_CHECKS"] is True
    assert db["OPTIONS"]["server_side_binding"] is True
    assert db["OPTIONS"]["prepare_threshold"] == 5
    assert db["OPTIONS"]["connect_timeout"] == 5
    assert "transaction_mode" not in db["OPTIONS"]
    # With a broker, tasks go to the workers.
    assert dumped["eager"] is False


def test_production_environment_passes_deploy_checks(tmp_path):
    secret_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(60))
    result = _run(
        tmp_path,
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="portal.example.com",
        HTTPS=None,
        SECURE_HSTS_PRELOAD=None,
        SECURE_SSL_REDIRECT=None,
        SECURE_HSTS_SECONDS=None,
        EMAIL_BACKEND=None,
        SMS_BACKEND=None,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


WORKER = """
import gc, json
before = gc.get_threshold()
from portal.wsgi import application
print(json.dumps({
    "before": before,
    "threshold": gc.get_threshold(),
    "frozen": gc.get_freeze_count(),
    "collected_later": len(gc.get_objects()),
}))
"""


def test_a_worker_keeps_what_it_loaded_out_of_the_collectors_sweeps(tmp_path):
    """``portal.wsgi`` (what gunicorn loads): the application and all it imported are frozen
    (not walked by every full collection: 60-190 ms pauses in one request, issue 16), and
    the youngest generation is collected less often than Python's default."""
    result = _run(tmp_path, ["-c", WORKER])
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["before"] == [700, 10, 10]
    assert found["threshold"] == [5_000, 10, 10]
    assert found["frozen"] > 50_000  # Django, the apps, their models and settings
    assert found["collected_later"] < 1_000
