from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from portal import registry

        registry.api_mounts.register(
            registry.ApiMount("knowledge", "knowledge.api.urls", "knowledge/", 40)
        )
