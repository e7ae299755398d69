"""``http.call`` cannot be turned against the portal's own network (issue 13, SSRF).

The URL of an ``http.call`` service task is chosen by whoever deploys the process and its
answer lands in a variable the participants read. So the host must be on
``HTTP_CALL_ALLOWED_HOSTS`` (empty by default: nothing is allowed), every address the name
resolves to must be public unless ``HTTP_CALL_ALLOW_PRIVATE`` (link-local never), the
connection goes to the address that was checked (no second DNS look-up to rebind), redirects
are not followed and the answer is at most 1 MB. Every refusal is permanent and names the
host and the reason. The bridges of ``erp_bridge`` (administrator-configured URLs) keep
reaching any host, without redirects or oversized answers either.

A real HTTP server on 127.0.0.1 stands in for the other end; a fake ``socket.getaddrinfo``
gives test host names the addresses a test needs.
"""

from __future__ import annotations

import datetime
import json
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.workflow.engine_helpers import chain, deploy, start, variables
from workflow.applications import (
    HTTP_MAX_RESPONSE,
    ApplicationCall,
    ApplicationError,
    HostPolicy,
    applications,
    bridge_http_call,
)
from workflow.models import Incident
from workflow.services import jobs

ANSWER = {"ok": True, "who": "张伟"}


@dataclass
class Stub:
    """The loopback server: its port and the requests it received (path, Host header)."""

    port: int
    seen: list[tuple[str, str]] = field(default_factory=list)

    def url(self, path: str = "/echo", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


def _handler(seen: list[tuple[str, str]]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server: ThreadingHTTPServer  # a StubServer's (typeshed says any BaseServer)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen.append((self.path, self.headers.get("Host", "")))
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/echo")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big":  # declares its size
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(HTTP_MAX_RESPONSE + 1))
                self.end_headers()
                self._stream(HTTP_MAX_RESPONSE + 1)
            elif self.path == "/endless":  # no Content-Length: read until the server closes
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Connection", "close")
                self.end_headers()
                self._stream(8 * HTTP_MAX_RESPONSE)
            else:
                body = json.dumps(ANSWER).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        def _stream(self, size: int) -> None:
            chunk = b" " * 65536
            try:
                while size > 0:
                    self.wfile.write(chunk[:size])
                    size -= len(chunk)
            except OSError:
                pass  # the client stopped reading, as it should

        do_GET = do_POST = handle_any

    return Handler


class StubServer(ThreadingHTTPServer):
    """The loopback server; ``seen`` lists the requests it received (path, Host header)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _handler(self.seen))


@contextmanager
def serving(httpd: StubServer) -> Iterator[Stub]:
    """Run ``httpd`` in a thread; shut it down afterwards."""
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Stub(port=httpd.server_address[1], seen=httpd.seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[Stub]:
    with serving(StubServer()) as running:
        yield running


@pytest.fixture
def policy(settings: Any) -> Callable[..., None]:
    """Set the two settings: ``policy("a.example", private=True)``."""

    def set_policy(*hosts: str, private: bool = False) -> None:
        settings.HTTP_CALL_ALLOWED_HOSTS = list(hosts)
        settings.HTTP_CALL_ALLOW_PRIVATE = private

    set_policy()
    return set_policy


@dataclass
class FakeDns:
    """Names in ``addresses`` resolve to those addresses (look-ups counted); others as usual."""

    addresses: dict[str, list[str]] = field(default_factory=dict)
    lookups: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDns:
    fake = FakeDns()
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        if host not in fake.addresses:
            return real(host, port, *args, **kwargs)
        fake.lookups[host] += 1
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (address, port, 0, 0) if ":" in address else (address, port),
            )
            for address in fake.addresses[host]
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return fake


def http_call(url: str, **parameters: Any) -> Mapping[str, Any] | None:
    """Bind the parameters as the engine does and call the registered ``http.call``."""
    application = applications.get("http.call")
    assert application is not None
    bound = application.bind({"url": url, "result_variable": "answer", **parameters})
    return application.handler(
        ApplicationCall(parameters=bound, variables={}, instance_id=1, idempotency_key="i:1")
    )


def refused(url: str, *words: str, **parameters: Any) -> str:
    """The message of the permanent refusal of ``url``; it contains each of ``words``."""
    with pytest.raises(ApplicationError) as caught:
        http_call(url, **parameters)
    assert caught.value.permanent is True
    message = str(caught.value)
    for word in words:
        assert word in message
    return message


# --- the allow-list ---------------------------------------------------------------------------


def test_by_default_no_host_is_allowed(server: Stub, policy: Callable[..., None]) -> None:
    refused(server.url(), "127.0.0.1", "not allowed", "HTTP_CALL_ALLOWED_HOSTS")
    assert server.seen == []


def test_a_host_not_on_the_list_is_refused_before_any_look_up(
    policy: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy("api.example.com", "*.partner.example")

    def no_lookup(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a host not on the list was looked up")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    for url in (
        "https://evil.example.net/",
        "https://api.example.com.evil.net/",
        "https://partner.example/",  # the wildcard covers subdomains only
        "https://evilpartner.example/",
    ):
        with pytest.raises(ApplicationError) as caught:
            http_call(url)
        assert caught.value.permanent is True
        assert "evil" in str(caught.value) or "partner.example" in str(caught.value)
    # user information before the host (which is evil.example.net here) is refused outright
    refused("http://api.example.com@evil.example.net/", "no user name or password")


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("api.example.com", True),
        ("API.Example.COM", False),  # urlsplit lowercases; the policy sees lowercase names
        ("x.partner.example", True),
        ("a.b.partner.example", True),
        ("partner.example", False),
        ("xpartner.example", False),
        ("example.com", False),
        ("10.0.0.1", True),
        ("::1", True),
    ],
)
def test_the_list_holds_names_wildcards_and_addresses(host: str, allowed: bool) -> None:
    listed = HostPolicy(("API.example.com.", "*.partner.example", "10.0.0.1", "[::1]"))
    assert listed.allows_host(host) is allowed


# --- addresses that are not public -----------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [("127.0.0.1", "loopback"), ("localhost", "loopback"), ("[::1]", "loopback")],
)
def test_loopback_is_refused_even_when_listed(
    server: Stub, policy: Callable[..., None], host: str, reason: str
) -> None:
    policy(host)
    refused(server.url(host=host), host.strip("[]"), reason, "HTTP_CALL_ALLOW_PRIVATE=1")
    assert server.seen == []


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("100.64.0.1", "not public"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not a bind
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("fc00::1", "private"),
    ],
)
def test_private_and_other_non_public_addresses_are_refused(
    policy: Callable[..., None], address: str, reason: str
) -> None:
    host = f"[{address}]" if ":" in address else address
    policy(host)
    refused(f"http://{host}/x", address, reason)


@pytest.mark.parametrize("private", [False, True])
def test_the_metadata_service_is_refused_even_with_private_addresses_allowed(
    policy: Callable[..., None], private: bool
) -> None:
    policy("169.254.169.254", "[fe80::1]", private=private)
    refused("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "link-local", "never")
    refused("http://[fe80::1]/", "fe80::1", "link-local")


def test_a_name_that_resolves_to_a_private_address_is_refused(
    policy: Callable[..., None], dns: FakeDns
) -> None:
    policy("intranet.example.com", "*.example.org")
    dns.addresses["intranet.example.com"] = ["10.20.30.40"]
    refused("https://intranet.example.com/api", "intranet.example.com", "10.20.30.40", "private")
    dns.addresses["metadata.example.org"] = ["169.254.169.254"]
    refused("http://metadata.example.org/", "metadata.example.org", "link-local")


def test_one_private_address_among_public_ones_refuses_the_call(
    policy: Callable[..., None], dns: FakeDns
) -> None:
    policy("mixed.example.com")
    dns.addresses["mixed.example.com"] = ["93.184.216.34", "127.0.0.1"]
    refused("http://mixed.example.com/", "mixed.example.com", "127.0.0.1", "loopback")


# --- an allowed host, end to end -------------------------------------------------------------


def test_an_allowed_host_with_private_addresses_allowed_works(
    server: Stub, policy: Callable[..., None]
) -> None:
    policy("127.0.0.1", private=True)
    assert http_call(server.url()) == {"answer": ANSWER}
    assert server.seen == [("/echo", f"127.0.0.1:{server.port}")]


def test_the_connection_goes_to_the_address_checked_under_the_host_name(
    server: Stub, policy: Callable[..., None], dns: FakeDns
) -> None:
    """One look-up: the address checked is the address connected to (no DNS rebinding
    between the two), and the request names the host, not the address."""
    policy("stub.example.com", private=True)
    dns.addresses["stub.example.com"] = ["127.0.0.1"]
    assert http_call(server.url(host="stub.example.com")) == {"answer": ANSWER}
    assert dns.lookups["stub.example.com"] == 1
    assert server.seen == [("/echo", f"stub.example.com:{server.port}")]


def test_through_the_engine_the_answer_becomes_a_variable(
    db: None, server: Stub, policy: Callable[..., None]
) -> None:
    policy("127.0.0.1", private=True)
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="http.call" '
        f'camunda:param.url="{server.url()}" camunda:param.result_variable="answer"/>'
        '<endEvent id="end"/>' + chain("start", "S", "end")
    )
    iid = start()
    jobs.jobs_run_due()
    assert variables(iid)["answer"] == ANSWER
    assert not Incident.objects.filter(instance_id=iid).exists()


def test_through_the_engine_a_refusal_is_an_incident_naming_host_and_reason(
    db: None, policy: Callable[..., None]
) -> None:
    policy("169.254.169.254", private=True)
    deploy(
        '<startEvent id="start"/><serviceTask id="S" camunda:type="http.call" '
        'camunda:param.url="http://169.254.169.254/latest/meta-data/" '
        'camunda:param.result_variable="answer"/>'
        '<endEvent id="end"/>' + chain("start", "S", "end")
    )
    iid = start()
    jobs.jobs_run_due()
    incident = Incident.objects.get(instance_id=iid, element_id="S")
    assert "169.254.169.254" in incident.message
    assert "link-local" in incident.message
    assert "answer" not in variables(iid)


# --- redirects and large answers -------------------------------------------------------------


def test_a_redirect_is_not_followed(server: Stub, policy: Callable[..., None]) -> None:
    """The stub redirects to its own /echo on 127.0.0.1: following it would show a second
    request."""
    policy("127.0.0.1", private=True)
    refused(server.url("/redirect"), "302", "redirects are not followed", "/echo")
    assert [path for path, _host in server.seen] == ["/redirect"]


@pytest.mark.parametrize("path", ["/big", "/endless"])
def test_an_answer_over_1_mb_is_refused(
    server: Stub, policy: Callable[..., None], path: str
) -> None:
    policy("127.0.0.1", private=True)
    refused(server.url(path), "larger than 1 MB")


# --- https ------------------------------------------------------------------------------------


def _self_signed(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``name`` and its key (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Stub, list[str]]]:
    """An HTTPS stub on 127.0.0.1 with a certificate for ``stub.example.com`` that the
    portal's TLS context trusts; the second item lists the names clients asked for (SNI)."""
    cert_file, key_file = _self_signed(tmp_path, "stub.example.com")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_file, key_file)
    names: list[str] = []

    def remember_name(_sock: Any, name: str | None, _context: Any) -> None:
        names.append(name or "")

    server_context.sni_callback = remember_name
    trusting = ssl.create_default_context(cafile=str(cert_file))
    monkeypatch.setattr("workflow.applications.ssl.create_default_context", lambda: trusting)
    httpd = StubServer()
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    with serving(httpd) as running:
        yield running, names


def test_https_verifies_the_certificate_against_the_host_name(
    tls_server: tuple[Stub, list[str]],
    policy: Callable[..., None],
    dns: FakeDns,
) -> None:
    server, names = tls_server
    policy("stub.example.com", "other.example.com", private=True)
    dns.addresses["stub.example.com"] = ["127.0.0.1"]
    dns.addresses["other.example.com"] = ["127.0.0.1"]
    url = f"https://stub.example.com:{server.port}/echo"
    assert http_call(url) == {"answer": ANSWER}
    assert names == ["stub.example.com"]
    # the same address under a name the certificate does not hold: refused by TLS, retried
    with pytest.raises(ApplicationError) as caught:
        http_call(f"https://other.example.com:{server.port}/echo")
    assert caught.value.permanent is False
    assert "could not be reached" in str(caught.value)
    assert [path for path, _host in server.seen] == ["/echo"]


# --- the bridges ------------------------------------------------------------------------------


def test_a_bridge_reaches_its_configured_host_without_the_list(
    server: Stub, policy: Callable[..., None]
) -> None:
    """DMS_BRIDGE_URL and its kin are the administrator's own addresses: no allow-list, but
    no redirects either."""
    parameters = {"method": "POST", "json": {"a": 1}, "timeout": 5, "result_variable": "r"}

    def bridge(url: str) -> Mapping[str, Any] | None:
        call = ApplicationCall(
            parameters={**parameters, "url": url}, variables={}, instance_id=1, idempotency_key="k"
        )
        return bridge_http_call(call)

    assert bridge(server.url()) == {"r": ANSWER}
    with pytest.raises(ApplicationError, match="redirects are not followed"):
        bridge(server.url("/redirect"))
