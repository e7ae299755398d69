"""Every read of the knowledge base that more than one caller needs, starting from a queryset scoped
to the person asking (docs/architecture.md). Selectors never import services."""

from __future__ import annotations
