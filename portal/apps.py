from __future__ import annotations

from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from oauth2_provider.apps import DOTConfig


class AxesConfig(AxesAppConfig):
    """django-axes (the sign-in lock-out) under a name staff read: its section in the admin."""

    verbose_name = _("Sign-in protection")


class OAuthConfig(DOTConfig):
    """django-oauth-toolkit (the API's OAuth2 provider), named in words in the admin."""

    verbose_name = _("Connected applications (OAuth2)")


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Organization and portal")

    def ready(self) -> None:
        from portal import (
            lookups,  # noqa: F401  # registers ``field__among`` on every field
            portlets,
            registry,
            services,
            tasks,
            vendor_strings,
        )

        vendor_strings.name_vendor_models()

        services.DELIVERY.deliver = tasks.deliver_notification.delay

        registry.navigation.register(
            registry.NavEntry("dashboard", _("Dashboard"), "portal:dashboard", "home", order=0)
        )
        registry.navigation.register(
            registry.NavEntry(
                "announcements", _("Announcements"), "portal:announcements", "megaphone", 90
            )
        )
        registry.nav_groups.register(
            registry.NavGroup("manage", pgettext_lazy("navigation", "Manage"), 800)
        )
        registry.navigation.register(
            registry.NavEntry(
                "dictionary", _("Data dictionary"), "portal:dictionary", "list", 900, group="manage"
            )
        )
        registry.navigation.register(
            registry.NavEntry(
                "admin",
                _("Administration"),
                "admin:index",
                "settings",
                1000,
                visible=registry.staff_only,
                group="manage",
            )
        )
        registry.portlets.register(
            registry.Portlet(
                "announcements",
                _("Announcements"),
                "portal/portlets/announcements.html",
                portlets.announcements_context,
                order=10,
                wide=True,
            )
        )
        registry.portlets.register(
            registry.Portlet(
                "profile",
                _("My profile"),
                "portal/portlets/profile.html",
                portlets.profile_context,
                order=20,
            )
        )
        registry.notification_kinds.register(registry.NotificationKind("system", _("System")))
