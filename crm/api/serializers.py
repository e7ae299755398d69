"""The CRM's serializers: they validate and shape, never save."""

from __future__ import annotations
