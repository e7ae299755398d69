from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ErpBridgeConfig(AppConfig):
    name = "erp_bridge"
    verbose_name = _("ERP and HR integration")

    def ready(self) -> None:
        from erp_bridge import (  # after the app registry
            applications,
            calls,
            deliveries,
            demo,
            monitoring,
            outbox,
            tasks,
            webhooks,
        )
        from portal import registry
        from workflow.events import InstanceEndListener, instance_end_listeners

        registry.api_mounts.register(
            registry.ApiMount("erp_bridge", "erp_bridge.api.urls", "erp_bridge/", 20)
        )
        applications.register_connectors()
        outbox.WAKE.deliver = tasks.deliver_outbox.delay
        demo.connect()  # the embedded ERP's master data in seed_demo
        deliveries.connect()  # the outbox operations to the ERP, the department listener
        webhooks.connect()  # the outbox operation that delivers to subscribers
        instance_end_listeners.register(
            InstanceEndListener("erp_bridge", webhooks.instance_finished)
        )
        monitoring.connect()  # the console's navigation entry and notification kind
        registry.api_call_listeners.register(
            registry.ApiCallListener("erp_bridge", calls.api_call_recorded)
        )
