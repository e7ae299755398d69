"""The ERP bridge's tables (docs/architecture.md: fields, constraints, clean(), small
properties; no business rule in save(), a manager or a signal), one module per area."""

from __future__ import annotations

from erp_bridge.models.calls import CallStat, InterfaceCall
from erp_bridge.models.connections import *  # noqa: F403  # the HTTP adapter's configuration
from erp_bridge.models.masterdata import (
    Customer,
    EmployeeRecord,
    OrderRecord,
    PriceList,
    PriceListLine,
    Product,
    SyncRun,
)
from erp_bridge.models.outbox import EmbeddedDocument, OutboxMessage, OutboxState
from erp_bridge.models.webhooks import WebhookReceipt, WebhookSubscription

__all__ = [
    "CallStat",
    "Customer",
    "EmbeddedDocument",
    "EmployeeRecord",
    "InterfaceCall",
    "OrderRecord",
    "OutboxMessage",
    "OutboxState",
    "PriceList",
    "PriceListLine",
    "Product",
    "SyncRun",
    "WebhookReceipt",
    "WebhookSubscription",
]
