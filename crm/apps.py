from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers (CRM)")

    def ready(self) -> None:
        from portal import registry

        registry.api_mounts.register(registry.ApiMount("crm", "crm.api.urls", "crm/", 30))
