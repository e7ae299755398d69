"""Every write of the CRM, one module per area: typed functions with keyword-only arguments
named ``<entity>_<verb>``, each opening its transaction (docs/architecture.md). Views, the
API, Celery tasks and other apps call these; nothing else writes the CRM's tables."""

from __future__ import annotations
