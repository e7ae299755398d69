"""A real Tryton server for the Tryton adapter's tests.

``tryton_template`` builds the demo database (``erp_bridge/tryton_demo.py``: trytond-admin,
then the demo company through proteus, both in subprocesses) once per test session, cached
under ``var/tryton-test/<trytond version>-<hash of tryton_demo.py>-<year>/`` so that a rerun on the
same machine reuses it. ``tryton`` copies that file for one test module, starts ``trytond``
on a free loopback port and stops it after the module. Tryton keeps its own SQLite file
whatever ``DATABASE_URL`` says. Nothing here skips: a server that does not start fails the
test with its output.
"""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

from erp_bridge import tryton_demo
from erp_bridge.adapters.tryton import TrytonGateway

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "var" / "tryton-test"
TEMPLATE_DB = "template"
START_WAIT = 90.0  # seconds for trytond to load its pool and answer a login


@dataclass(frozen=True)
class TrytonTemplate:
    folder: Path
    database: str
    password: str

    @property
    def file(self) -> Path:
        return self.folder / f"{self.database}.sqlite"


@dataclass
class TrytonServer:
    """One running trytond: where it listens, who may log in, and a ready gateway."""

    folder: Path
    database: str
    port: int
    user: str
    password: str
    process: subprocess.Popen[bytes] | None = None
    gateway: TrytonGateway = field(init=False)

    def __post_init__(self) -> None:
        self.gateway = self.new_gateway()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db_file(self) -> Path:
        return self.folder / f"{self.database}.sqlite"

    @property
    def log(self) -> Path:
        return self.folder / "trytond.log"

    def new_gateway(self, **overrides: Any) -> TrytonGateway:
        options: dict[str, Any] = {
            "url": self.url,
            "database": self.database,
            "user": self.user,
            "password": self.password,
            "timeout": 30,
            "retries": 1,
            "backoff": 0.05,
        }
        options.update(overrides)
        return TrytonGateway(**options)

    def start(self) -> None:
        config = self.folder / tryton_demo.CONFIG_FILE
        config.write_text(tryton_demo.config_text(self.folder, self.port), encoding="utf-8")
        trytond = str(Path(sys.executable).parent / "trytond")
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603  (our own executable, no shell)
                [trytond, "-c", str(config), "-d", self.database],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.folder,
            )
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"trytond exited with {self.process.returncode}:\n{self._output()}")
            try:
                self.login()
                return
            except (requests.RequestException, ValueError, KeyError):
                time.sleep(0.25)
        self.stop()
        pytest.fail(f"trytond did not answer within {START_WAIT:.0f} s:\n{self._output()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-8000:]

    # An independent JSON-RPC client, for checking what the gateway did inside Tryton.

    def login(self) -> str:
        response = requests.post(
            f"{self.url}/{self.database}/rpc/",
            json={
                "method": "common.db.login",
                "params": [self.user, {"password": self.password}, "en"],
                "id": 1,
            },
            timeout=5,
        )
        user_id, token = response.json()["result"][:2]
        raw = f"{self.user}:{user_id}:{token}".encode()
        return "Session " + base64.b64encode(raw).decode("ascii")

    def rpc(self, method: str, *params: Any) -> Any:
        """``method(*params, context)`` as the administrator, with the company's context."""
        authorization = self.login()
        url = f"{self.url}/{self.database}/rpc/"

        def call(name: str, args: list[Any]) -> Any:
            answer = requests.post(
                url,
                data=json.dumps({"method": name, "params": args, "id": 2}, default=str),
                headers={"Authorization": authorization, "Content-Type": "application/json"},
                timeout=30,
            ).json()
            if "error" in answer:
                raise AssertionError(f"{name}: {answer['error']}")
            return answer["result"]

        context = call("model.res.user.get_preferences", [True, {}])
        context.pop("locale", None)
        return call(method, [*params, context])

    def search_read(self, model: str, domain: list[Any], fields: list[str]) -> list[Any]:
        return list(self.rpc(f"model.{model}.search_read", domain, 0, None, None, fields))


def _cache_key() -> str:
    source = Path(tryton_demo.__file__).read_bytes()
    # the year too: the demo's fiscal year is the current one
    digest = hashlib.sha256(source).hexdigest()[:12]
    return f"{metadata.version('trytond')}-{digest}-{datetime.date.today().year}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def tryton_template() -> TrytonTemplate:
    """The demo database, built once (about 45 s) and kept for later sessions."""
    folder = CACHE / _cache_key()
    folder.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.iterdir():  # the builds of an older tryton_demo.py or trytond
        if stale.is_dir() and stale != folder:
            shutil.rmtree(stale, ignore_errors=True)
    with (folder / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once build it once
        try:
            password = tryton_demo.build(folder, TEMPLATE_DB)
        except RuntimeError as exc:
            pytest.fail(f"the Tryton template database could not be built:\n{exc}")
    return TrytonTemplate(folder=folder, database=TEMPLATE_DB, password=password)


@pytest.fixture(scope="module")
def tryton(
    tryton_template: TrytonTemplate, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    """A running Tryton on a copy of the template, for one test module."""
    folder = tmp_path_factory.mktemp("tryton")
    database = "erp"
    shutil.copyfile(tryton_template.file, folder / f"{database}.sqlite")
    server = TrytonServer(
        folder=folder,
        database=database,
        port=free_port(),
        user="admin",
        password=tryton_template.password,
    )
    server.start()
    try:
        yield server
    finally:
        server.gateway.close()
        server.stop()
