"""The ERP bridge's tables (docs/architecture.md: fields, constraints, clean(), small
properties; no business rule in save(), a manager or a signal)."""

from __future__ import annotations
