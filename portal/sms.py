"""SMS backends, chosen by the ``SMS_BACKEND`` setting (like Django's e-mail backends).

``console`` prints, ``locmem`` keeps messages in ``portal.sms.outbox`` (tests), ``dummy``
drops them, ``http`` posts JSON to a gateway (``SMS_HTTP_URL``) with a time-out; a dotted
path names a company's own backend class with the same ``send`` method.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    phone: str
    text: str


class SmsError(Exception):
    """Sending failed; ``permanent`` says whether trying again can help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsBackend(Protocol):
    def send(self, message: SmsMessage) -> None: ...


outbox: list[SmsMessage] = []


class ConsoleBackend:
    def send(self, message: SmsMessage) -> None:
        sys.stdout.write(f"SMS to {message.phone}: {message.text}\n")
        sys.stdout.flush()


class LocmemBackend:
    def send(self, message: SmsMessage) -> None:
        outbox.append(message)


class DummyBackend:
    def send(self, message: SmsMessage) -> None:
        return None


class HttpBackend:
    """Posts ``{"phone": ..., "text": ...}`` to ``SMS_HTTP_URL`` with a bearer token."""

    def send(self, message: SmsMessage) -> None:
        body = json.dumps({"phone": message.phone, "text": message.text}).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the operator's setting
            settings.SMS_HTTP_URL,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.SMS_HTTP_TOKEN}",
            },
        )
        try:
            with urllib.request.urlopen(  # noqa: S310
                request, timeout=settings.SMS_HTTP_TIMEOUT
            ) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SmsError(f"SMS gateway answered {exc.code}", permanent=exc.code < 500) from exc
        except OSError as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc
        if status >= 300:
            raise SmsError(f"SMS gateway answered {status}", permanent=status < 500)


def get_backend() -> SmsBackend:
    backend: SmsBackend = import_string(settings.SMS_BACKEND)()
    return backend


def is_enabled() -> bool:
    """Whether SMS goes anywhere: with the ``dummy`` backend (no gateway configured) the SMS
    channel is off, so nothing is recorded as texted that nobody received."""
    return import_string(settings.SMS_BACKEND) is not DummyBackend


def send_sms(phone: str, text: str) -> None:
    get_backend().send(SmsMessage(phone=phone, text=text))
