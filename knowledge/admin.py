"""Django admin of the knowledge base's tables."""

from __future__ import annotations
