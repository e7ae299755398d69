"""The knowledge base's API views: one per action, an input and an output serializer each; the view
calls a service or selector (docs/architecture.md)."""

from __future__ import annotations
