from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    verbose_name = _("Knowledge base")

    def ready(self) -> None:
        from knowledge import applications, demo, links
        from portal import registry

        links.connect()  # navigation, the top bar's search box, the task page's guides (PAGES)
        applications.connect()  # the review's and reminder's engine steps, notices (CORE)
        demo.connect()  # the knowledge base's part of seed_demo (CONTENT)

        registry.api_mounts.register(
            registry.ApiMount("knowledge", "knowledge.api.urls", "knowledge/", 40)
        )
