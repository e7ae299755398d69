"""Django admin of the ERP bridge's tables."""

from __future__ import annotations
