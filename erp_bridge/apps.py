from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpBridgeConfig(AppConfig):
    name = "erp_bridge"
    verbose_name = _("ERP and HR integration")

    def ready(self) -> None:
        from portal import registry

        registry.api_mounts.register(
            registry.ApiMount("erp_bridge", "erp_bridge.api.urls", "erp_bridge/", 20)
        )
        from erp_bridge.applications import register_connectors

        register_connectors()
