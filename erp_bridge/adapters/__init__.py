"""The gateway's adapters, one module per kind of ERP (``erp_bridge/gateway.py``), and
:func:`gateway`, the one way the rest of the portal reaches the ERP: the adapter the
setting ``ERP_ADAPTER`` names, wrapped so that every call is logged."""

from __future__ import annotations

import threading

from django.conf import settings

from erp_bridge.calls import logged
from erp_bridge.gateway import Gateway

__all__ = ["gateway", "gateway_reset"]

_local = threading.local()


def _make(name: str) -> Gateway:
    if name == "tryton":
        from erp_bridge.adapters.tryton import TrytonGateway  # optional extra

        return TrytonGateway.from_settings()
    if name == "http":
        from erp_bridge.adapters.http import HttpGateway  # reads the admin's rows

        return HttpGateway.from_settings()
    from erp_bridge.adapters.embedded import EmbeddedGateway

    return EmbeddedGateway()


def gateway() -> Gateway:
    """The configured ERP, logged; one adapter object per thread and setting (a Tryton
    session or an OAuth2 token is reused across calls)."""
    name = str(settings.ERP_ADAPTER)
    cached = getattr(_local, "gateway", None)
    if cached is None or cached[0] != name:
        cached = (name, logged(_make(name)))
        _local.gateway = cached
    return cached[1]


def gateway_reset() -> None:
    """Forget this thread's adapter (after the settings or the HTTP connection changed)."""
    _local.gateway = None
