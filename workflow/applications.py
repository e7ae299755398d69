"""Invoked applications: the named, typed operations a service task may call.

A BPMN service task names an application (``camunda:type="notify.user"``, or
``camunda:class``/``camunda:expression`` with the same name); deploying a file that names an
unregistered one is refused. Apps register theirs in ``AppConfig.ready()``; the engine calls
``handler`` with the bound parameters when the service task's job runs.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from portal.registry import Registry


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
    from portal.models import User
    from portal.services import notification_send

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
    from django.utils import translation

    from portal.models import User
    from portal.selectors import user_manager
    from portal.services import notification_send

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


def http_call(call: ApplicationCall) -> Mapping[str, Any] | None:
    """``http.call``: a JSON request with a time-out; the JSON answer is stored in
    ``result_variable``. 4xx answers fail permanently, network errors and 5xx are retried.
    The idempotency key goes in the ``Idempotency-Key`` header so the receiver can ignore a
    retried call it has already handled."""
    params = call.parameters
    method = params["method"].upper()
    if method not in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
        raise ApplicationError(f"http.call: method {method} is not supported", permanent=True)
    url = params["url"]
    if not url.startswith(("http://", "https://")):
        raise ApplicationError(
            "http.call: the url must start with http:// or https://", permanent=True
        )
    timeout = min(max(float(params["timeout"]), 0.1), HTTP_MAX_TIMEOUT)
    body = None if params["json"] is None else json.dumps(params["json"]).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method=method,
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Idempotency-Key": call.idempotency_key,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(HTTP_MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise ApplicationError(
            f"http.call: {url} answered {exc.code}", permanent=400 <= exc.code < 500
        ) from exc
    except (OSError, ValueError) as exc:
        raise ApplicationError(f"http.call: {url} could not be reached: {exc}") from exc
    if len(raw) > HTTP_MAX_RESPONSE:
        raise ApplicationError("http.call: the answer is larger than 1 MB", permanent=True)
    if not params["result_variable"]:
        return None
    try:
        result = json.loads(raw) if raw else None
    except ValueError as exc:
        raise ApplicationError("http.call: the answer is not JSON", permanent=True) from exc
    return {params["result_variable"]: result}


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
            http_call,
            (
                Parameter("url", "string"),
                Parameter("method", "string", required=False, default="POST"),
                Parameter("json", "object", required=False, default=None),
                Parameter("timeout", "number", required=False, default=10),
                Parameter("result_variable", "string", required=False, default=""),
            ),
        )
    )
