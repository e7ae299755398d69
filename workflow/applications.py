"""Invoked applications: the named, typed operations a service task may call.

A BPMN service task names an application (``camunda:type="notify.user"``, or
``camunda:class``/``camunda:expression`` with the same name); deploying a file that names an
unregistered one is refused. Apps register theirs in ``AppConfig.ready()``; the engine calls
``handler`` with the bound parameters when the service task's job runs.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from portal.models import User
from portal.registry import Registry
from portal.selectors import user_manager
from portal.services import notification_send


class ApplicationError(Exception):
    """A call failed; ``permanent`` says whether retrying can help (a 4xx answer cannot)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list, tuple),
    "object": (dict,),
}


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: str  # one of _TYPES
    required: bool = True
    default: Any = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise ValueError(f"parameter {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True, slots=True)
class ApplicationCall:
    """What a handler receives: the bound parameters, the instance's variables (read-only),
    and an idempotency key that is the same every time this one step is retried."""

    parameters: Mapping[str, Any]
    variables: Mapping[str, Any]
    instance_id: int | None
    idempotency_key: str


Handler = Callable[[ApplicationCall], Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Application:
    name: str
    label: str | Any
    handler: Handler
    parameters: tuple[Parameter, ...] = ()
    description: str = ""
    extra_parameters: bool = False  # accept parameters not declared (e.g. variables.set)
    # inline: run inside the engine's transaction (only for work on this database with no
    # outside side effects); otherwise the call is a job, run by a worker after commit
    inline: bool = False

    @property
    def key(self) -> str:
        return self.name

    def bind(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Check ``given`` against the declared parameters; fill defaults. Raises
        :class:`ApplicationError` (permanent) naming every wrong parameter."""
        declared = {p.name: p for p in self.parameters}
        problems = []
        bound: dict[str, Any] = {}
        for parameter in self.parameters:
            if parameter.name in given:
                value = given[parameter.name]
                ok = isinstance(value, _TYPES[parameter.type]) and not (
                    parameter.type in {"integer", "number"} and isinstance(value, bool)
                )
                if not ok:
                    problems.append(f"{parameter.name} must be of type {parameter.type}")
                bound[parameter.name] = value
            elif parameter.required:
                problems.append(f"{parameter.name} is required")
            else:
                bound[parameter.name] = parameter.default
        extra = sorted(set(given) - set(declared))
        if extra and not self.extra_parameters:
            problems.append(f"unknown parameter(s): {', '.join(extra)}")
        elif extra:
            bound.update({name: given[name] for name in extra})
        if problems:
            raise ApplicationError(f"{self.name}: " + "; ".join(problems), permanent=True)
        return bound


class ApplicationRegistry(Registry[Application]):
    """The portal's keyed registry (keys are the names), with stand-ins: inside
    :meth:`standing_in` the given applications replace the registered ones of the same name
    for the current thread or task only (a context variable), so a simulation in one
    request never swaps out the real ERP call of a job running beside it."""

    def get(self, key: str) -> Application | None:
        stand_ins = _STAND_INS.get()
        if stand_ins is not None and key in stand_ins:
            return stand_ins[key]
        return super().get(key)

    def keys(self) -> frozenset[str]:
        return super().keys() | frozenset(_STAND_INS.get() or ())

    def __contains__(self, key: object) -> bool:
        stand_ins = _STAND_INS.get()
        return (stand_ins is not None and key in stand_ins) or super().__contains__(key)

    @contextmanager
    def standing_in(self, replacements: Mapping[str, Application]) -> Iterator[None]:
        token = _STAND_INS.set({**(_STAND_INS.get() or {}), **replacements})
        try:
            yield
        finally:
            _STAND_INS.reset(token)


_STAND_INS: ContextVar[dict[str, Application] | None] = ContextVar(
    "workflow_application_stand_ins", default=None
)
applications = ApplicationRegistry("applications")


# --- the applications the engine ships -------------------------------------------------------


def set_variables(call: ApplicationCall) -> Mapping[str, Any]:
    """``variables.set``: every parameter becomes a process variable."""
    return dict(call.parameters)


def notify_user(call: ApplicationCall) -> None:
    """``notify.user``: an in-app notification (and e-mail/SMS per the person's preference),
    once per step however often the job is retried."""
    user = User.objects.filter(username=call.parameters["user"], is_active=True).first()
    if user is None:
        raise ApplicationError(
            f"notify.user: no active user {call.parameters['user']!r}", permanent=True
        )
    notification_send(
        recipient=user,
        kind="workflow",
        title=call.parameters["title"],
        body=call.parameters["body"],
        url=call.parameters["url"],
        dedup_key=f"app:{call.idempotency_key}",
    )
    return None


def remind_manager(call: ApplicationCall) -> None:
    """``mail.remind_manager``: remind the manager of the instance's initiator (the direct
    manager, else the department head) that a request waits for them; in-app always, e-mail
    or SMS per the manager's preference; once per step however often the job is retried."""
    username = call.parameters.get("user") or call.variables.get("initiator") or ""
    initiator = User.objects.filter(username=username, is_active=True).first()
    if initiator is None:
        raise ApplicationError(
            f"mail.remind_manager: no active user {username!r} (the initiator)", permanent=True
        )
    manager = user_manager(initiator)
    if manager is None:
        raise ApplicationError(
            f"mail.remind_manager: {username} has no manager or department head", permanent=True
        )
    with translation.override(manager.preferred_language or None):
        title = _("Reminder: a request from %(name)s is waiting for your approval") % {
            "name": initiator.get_full_name() or initiator.get_username()
        }
        notification_send(
            recipient=manager,
            kind="workflow",
            title=str(title),
            body=str(call.parameters.get("body") or ""),
            url=str(call.parameters.get("url") or ""),
            dedup_key=f"app:{call.idempotency_key}",
        )
    return None


HTTP_MAX_TIMEOUT = 30
HTTP_MAX_RESPONSE = 1_000_000
_HTTP_CHUNK = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class HostPolicy:
    """Where a URL written in a process may lead (``http.call``; issue 13, SSRF): its host
    must be on ``allowed_hosts`` (``HTTP_CALL_ALLOWED_HOSTS``: exact names or IP addresses,
    ``*.example.com`` for the subdomains of example.com; empty: no host), and every address
    the name resolves to must be public, unless ``allow_private`` (``HTTP_CALL_ALLOW_PRIVATE``:
    an internal service the administrator listed). Link-local addresses (169.254.0.0/16,
    where cloud metadata services answer, and fe80::/10) are refused even then."""

    allowed_hosts: tuple[str, ...] = ()
    allow_private: bool = False

    @classmethod
    def from_settings(cls) -> HostPolicy:
        return cls(
            allowed_hosts=tuple(getattr(settings, "HTTP_CALL_ALLOWED_HOSTS", ())),
            allow_private=bool(getattr(settings, "HTTP_CALL_ALLOW_PRIVATE", False)),
        )

    def allows_host(self, host: str) -> bool:
        for entry in self.allowed_hosts:
            pattern = entry.strip().lower().strip("[]").rstrip(".")
            if pattern.startswith("*.") and len(pattern) > 2:
                if host.endswith(pattern[1:]):
                    return True
            elif pattern and host == pattern:
                return True
        return False

    def refusal(self, address: Address) -> str | None:
        """Why ``address`` may not be connected to (``loopback``, ``private`` …), or None."""
        candidates: list[Address] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            # IPv4 inside IPv6 (::ffff:127.0.0.1, 6to4, Teredo) is judged as that IPv4 address
            embedded = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
            candidates = [a for a in embedded if a is not None] + candidates
        for candidate in candidates:
            if candidate.is_link_local:
                return "link-local"
            if self.allow_private:
                continue
            for reason, hit in (
                ("loopback", candidate.is_loopback),
                ("unspecified", candidate.is_unspecified),
                ("multicast", candidate.is_multicast),
                ("reserved", candidate.is_reserved),
                ("private", candidate.is_private),
                ("not public", not candidate.is_global),
            ):
                if hit:
                    return reason
        return None


SocketAddress = tuple[int, tuple[Any, ...]]  # (address family, sockaddr)


def _resolve(host: str, port: int, policy: HostPolicy | None) -> list[SocketAddress]:
    """The addresses to connect to: every address of ``host``, each checked by ``policy``
    (None: a URL an administrator configured, not checked). Any refused address refuses the
    call: which one a connection would pick is not ours to choose."""
    if policy is not None and not policy.allows_host(host):
        raise ApplicationError(
            f"http.call: the host {host} is not allowed (HTTP_CALL_ALLOWED_HOSTS)",
            permanent=True,
        )
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ApplicationError(f"http.call: the host {host} could not be resolved: {exc}") from exc
    addresses: list[SocketAddress] = []
    for family, _kind, _proto, _name, sockaddr in found:
        if policy is not None:
            address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
            reason = policy.refusal(address)
            if reason is not None:
                remedy = (
                    "never allowed"
                    if reason == "link-local"
                    else "HTTP_CALL_ALLOW_PRIVATE=1 allows it for listed hosts"
                )
                raise ApplicationError(
                    f"http.call: the host {host} resolves to {address}, which is {reason} "
                    f"({remedy})",
                    permanent=True,
                )
        addresses.append((family, tuple(sockaddr)))
    if not addresses:
        raise ApplicationError(f"http.call: the host {host} has no address")
    return addresses


def _connect(addresses: list[SocketAddress], timeout: float | None) -> socket.socket:
    """A TCP connection to the first of ``addresses`` that answers."""
    error: OSError = OSError("no address to connect to")
    for family, sockaddr in addresses:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            error = exc
        else:
            return sock
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """A connection to the addresses that were checked, naming the host in ``Host``: the name
    is not looked up again, so a DNS answer that changes between the check and the connection
    (DNS rebinding) cannot move the call elsewhere."""

    def __init__(
        self, host: str, port: int, *, addresses: list[SocketAddress], timeout: float
    ) -> None:
        super().__init__(host, port, timeout=timeout)
        self.addresses = addresses

    def connect(self) -> None:
        self.sock = _connect(self.addresses, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """:class:`_PinnedHTTPConnection` with TLS; the certificate is verified against the host
    name (SNI too), not against the address connected to."""

    def __init__(
        self, host: str, port: int, *, addresses: list[SocketAddress], timeout: float
    ) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.addresses = addresses

    def connect(self) -> None:
        sock = _connect(self.addresses, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


def _read_limited(response: http.client.HTTPResponse, deadline: float) -> bytes:
    """The body, read in chunks so that an answer over :data:`HTTP_MAX_RESPONSE` is refused
    without being held, and one trickled out slowly stops at the deadline."""
    declared = response.getheader("Content-Length") or ""
    if declared.isdigit() and int(declared) > HTTP_MAX_RESPONSE:
        raise ApplicationError("http.call: the answer is larger than 1 MB", permanent=True)
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(min(_HTTP_CHUNK, HTTP_MAX_RESPONSE + 1 - size)):
        size += len(chunk)
        if size > HTTP_MAX_RESPONSE:
            raise ApplicationError("http.call: the answer is larger than 1 MB", permanent=True)
        if time.monotonic() > deadline:
            raise TimeoutError("the answer took longer than the time-out")
        chunks.append(chunk)
    return b"".join(chunks)


def _http_json(call: ApplicationCall, *, policy: HostPolicy | None) -> Mapping[str, Any] | None:
    """The request of ``http.call`` and of the bridges: JSON with a time-out, to the addresses
    :func:`_resolve` checked, no redirects followed, at most 1 MB of answer. 4xx answers and
    redirects fail permanently, network errors and 5xx are retried."""
    params = call.parameters
    method = params["method"].upper()
    if method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
        raise ApplicationError(f"http.call: method {method} is not supported", permanent=True)
    url = params["url"]
    if not url.startswith(("http://", "https://")):
        raise ApplicationError(
            "http.call: the url must start with http:// or https://", permanent=True
        )
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ApplicationError(f"http.call: the url is not valid: {exc}", permanent=True) from exc
    if not host or not host.isascii() or parts.username is not None:
        raise ApplicationError(
            "http.call: the url needs a host name (ASCII, no user name or password)",
            permanent=True,
        )
    timeout = min(max(float(params["timeout"]), 0.1), HTTP_MAX_TIMEOUT)
    deadline = time.monotonic() + timeout
    body = None if params["json"] is None else json.dumps(params["json"]).encode()
    addresses = _resolve(host, port, policy)
    pinned = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    connection = pinned(host, port, addresses=addresses, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            method,
            target,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Idempotency-Key": call.idempotency_key,
            },
        )
        response = connection.getresponse()
        status, location = response.status, response.getheader("Location") or ""
        raw = _read_limited(response, deadline) if 200 <= status < 300 else b""
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise ApplicationError(f"http.call: {url} could not be reached: {exc}") from exc
    finally:
        connection.close()
    if 300 <= status < 400:
        # a redirect could lead anywhere (loopback, the metadata service): never followed
        raise ApplicationError(
            f"http.call: {url} answered {status} (to {location or '?'}); "
            "redirects are not followed",
            permanent=True,
        )
    if not 200 <= status < 300:
        raise ApplicationError(f"http.call: {url} answered {status}", permanent=400 <= status < 500)
    if not params["result_variable"]:
        return None
    try:
        result = json.loads(raw) if raw else None
    except ValueError as exc:
        raise ApplicationError("http.call: the answer is not JSON", permanent=True) from exc
    return {params["result_variable"]: result}


def process_http_call(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``http.call``: a JSON request with a time-out to a URL written in a process; the JSON
    answer is stored in ``result_variable``. Whoever deploys a process chooses the URL and
    its participants read the answer, so the host must pass :class:`HostPolicy` (the
    ``HTTP_CALL_*`` settings) and redirects are not followed. 4xx answers fail permanently,
    network errors and 5xx are retried. The idempotency key goes in the ``Idempotency-Key``
    header so the receiver can ignore a retried call it has already handled."""
    return _http_json(call, policy=HostPolicy.from_settings())


def bridge_http_call(call: ApplicationCall) -> Mapping[str, Any] | None:
    """The same request to a URL an administrator configured (``DMS_BRIDGE_URL`` … of
    ``erp_bridge``): no host policy, since the address is the administrator's own choice;
    redirects are still not followed and the answer is still limited. Never give it a URL
    that a process or a person supplied: that is :func:`process_http_call`."""
    return _http_json(call, policy=None)


def register_builtin_applications() -> None:
    applications.register(
        Application(
            "variables.set",
            _("Set process variables"),
            set_variables,
            extra_parameters=True,
            inline=True,
            description="Every parameter becomes a process variable of the same name.",
        )
    )
    applications.register(
        Application(
            "notify.user",
            _("Notify a person"),
            notify_user,
            (
                Parameter("user", "string", description="user name"),
                Parameter("title", "string"),
                Parameter("body", "string", required=False, default=""),
                Parameter("url", "string", required=False, default=""),
            ),
        )
    )
    applications.register(
        Application(
            "mail.remind_manager",
            _("Remind the initiator's manager"),
            remind_manager,
            (
                Parameter("user", "string", required=False, default="", description="user name"),
                Parameter("body", "string", required=False, default=""),
                Parameter("url", "string", required=False, default=""),
            ),
        )
    )
    applications.register(
        Application(
            "http.call",
            _("Call an HTTP endpoint"),
            process_http_call,
            (
                Parameter("url", "string"),
                Parameter("method", "string", required=False, default="POST"),
                Parameter("json", "object", required=False, default=None),
                Parameter("timeout", "number", required=False, default=10),
                Parameter("result_variable", "string", required=False, default=""),
            ),
        )
    )
