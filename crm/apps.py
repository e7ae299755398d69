from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers (CRM)")

    def ready(self) -> None:
        from crm import (  # after the app registry
            applications,
            applications_cases,
            demo,
            portlets_sales,
        )
        from crm.services.sales import KIND as FOLLOWUP_KIND
        from crm.views.accounts import ACCOUNT_SECTIONS
        from crm.views.sales import OPPORTUNITY_SECTIONS
        from portal import registry

        registry.api_mounts.register(registry.ApiMount("crm", "crm.api.urls", "crm/", 30))
        # the dashboard's sales boxes for the people who sell (a role with the model permission;
        # the demo's "sales" role), not for every employee
        sales_work = registry.has_perm("crm.view_opportunity")
        # crm.quote_approve, the step form crm.quote_approval, the guide source, the end
        # listener of the quote approval
        applications.connect()
        registry.nav_groups.register(
            registry.NavGroup("crm", pgettext_lazy("navigation", "CRM"), 40)
        )
        registry.navigation.register(
            registry.NavEntry("crm_accounts", _("Customers"), "crm:accounts", "", 40, group="crm")
        )
        registry.navigation.register(
            registry.NavEntry("crm_quotes", _("Quotes"), "crm:quote_list", "file", 42, group="crm")
        )
        # the account page's sections, after its contacts, team and history
        ACCOUNT_SECTIONS.extend(
            ["crm/accounts/sections/_sales.html", "crm/accounts/sections/_quotes.html"]
        )
        OPPORTUNITY_SECTIONS.append("crm/quotes/_opportunity_quotes.html")
        registry.navigation.register(
            registry.NavEntry(
                "crm-pipeline", _("Pipeline and forecast"), "crm:pipeline", "", 41, group="crm"
            )
        )
        registry.notification_kinds.register(
            registry.NotificationKind(FOLLOWUP_KIND, _("Follow-ups (CRM)"))
        )
        registry.portlets.register(
            registry.Portlet(
                "crm-followups",
                _("My follow-ups"),
                "crm/sales/portlets/followups.html",
                portlets_sales.followups_context,
                order=20,
                visible=sales_work,
            )
        )
        registry.portlets.register(
            registry.Portlet(
                "crm-pipeline",
                _("My pipeline"),
                "crm/sales/portlets/pipeline.html",
                portlets_sales.pipeline_context,
                order=21,
                visible=sales_work,
            )
        )
        applications_cases.connect()  # crm.case_escalate and the "crm" notification kind
        registry.portlets.register(
            registry.Portlet(
                "crm-cases-near-breach",
                _("My cases near breach"),
                "crm/portlets/cases_near_breach.html",
                applications_cases.near_breach_context,
                order=40,
                visible=registry.has_perm("crm.view_case"),
            )
        )
        registry.navigation.register(
            registry.NavEntry(
                "crm-cases", _("Service cases"), "crm:case-list", "inbox", 43, group="crm"
            )
        )
        registry.navigation.register(
            registry.NavEntry(
                "crm-campaigns", _("Campaigns"), "crm:campaign-list", "", 44, group="crm"
            )
        )
        registry.navigation.register(
            registry.NavEntry(
                "crm-analysis", _("Customer analysis"), "crm:analysis", "chart", 45, group="crm"
            )
        )
        demo.connect()  # the sales department's customers in seed_demo
