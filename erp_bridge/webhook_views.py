"""The inbound webhook endpoint (``/erp/webhooks/<source>/``): the ERP tells the portal that an
order's status changed, that it shipped, that an invoice was paid. No login and no CSRF
token: the HMAC signature is the caller's credential (erp_bridge/webhooks.py). Every call,
accepted or refused, is logged as interface ``webhook-in:<source>``."""

from __future__ import annotations

import time

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from erp_bridge.calls import CallFact, digest, record
from erp_bridge.models import InterfaceCall
from erp_bridge.webhooks import HEADER_ID, webhook_receive
from portal.errors import PortalError

__all__ = ["webhook"]


@csrf_exempt  # a machine caller with a signature, not a browser with a session
@require_POST
def webhook(request: HttpRequest, source: str) -> JsonResponse:
    """Accept or refuse one delivery; the answer is JSON: ``{"outcome": ...}`` (200) or
    ``{"error": {"code", "message"}}`` (4xx/503), and a refusal changes nothing."""
    started, at = time.monotonic(), timezone.now()
    body = request.body
    event, error = "", ""
    try:
        received = webhook_receive(source=source, headers=request.headers, body=body)
    except PortalError as exc:
        response = JsonResponse({"error": exc.body()}, status=exc.status)
        error = str(exc)
    else:
        event = received.event
        response = JsonResponse({"outcome": received.outcome, "id": received.delivery_id})
    record(
        CallFact(
            interface=f"webhook-in:{source}"[:64],
            direction="in",
            operation=event or "refused",
            duration_ms=round((time.monotonic() - started) * 1000),
            outcome=str(InterfaceCall.Outcome.OK if not error else InterfaceCall.Outcome.REFUSED),
            at=at,
            status_code=response.status_code,
            error=error,
            idempotency_key=request.headers.get(HEADER_ID, "")[:64],
            payload_digest=digest(body),
        )
    )
    return response
