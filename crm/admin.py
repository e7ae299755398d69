"""Django admin of the CRM's tables."""

from __future__ import annotations
