"""The CRM's pages, one module per area: parse the request, call one service or selector,
render (thin; docs/architecture.md)."""

from __future__ import annotations
