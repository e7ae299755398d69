"""Django admin of the ERP bridge's tables.

The generic HTTP adapter's connections are kept here: an ``HttpConnection`` with its
``HttpOperation`` rows inline (``erp_bridge/models/connections.py`` explains the mappings).
Each row is checked by its ``clean()`` at save, so a wrong address, mapping or secret
variable is refused with a message on its field. The "test connection" action fetches a
token and makes one read through the adapter, reporting the outcome as a message; it saves
nothing.
"""

from __future__ import annotations

import time

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin, StackedInline

from erp_bridge.adapters.http import HttpGateway
from erp_bridge.gateway import ErpError
from erp_bridge.models.connections import PLAIN_READS, HttpConnection, HttpOperation


# django-unfold ships no type information: its ModelAdmin and inlines are Any to mypy (the
# portal's and the workflow's admin modules are exempt in pyproject.toml for the same reason).
class HttpOperationInline(StackedInline):  # type: ignore[misc]
    model = HttpOperation
    extra = 0
    fields = (
        ("operation", "method"),
        "path",
        "request_constants",
        "request_mapping",
        "result_path",
        "response_mapping",
        "value_map",
        ("error_field", "error_ok_value", "error_message_field"),
        "decimal_format",
    )


@admin.register(HttpConnection)
class HttpConnectionAdmin(ModelAdmin):  # type: ignore[misc]
    list_display = ("name", "base_url", "active", "timeout_seconds", "read_retries", "updated_at")
    list_filter = ("active",)
    search_fields = ("name", "base_url")
    fields = (
        "name",
        "base_url",
        ("token_url", "scope"),
        ("client_id", "client_secret_env"),
        ("timeout_seconds", "read_retries"),
        "extra_headers",
        "error_codes",
        "active",
        "updated_at",
    )
    readonly_fields = ("updated_at",)
    inlines = [HttpOperationInline]
    actions = ["test_connection"]

    def save_model(
        self, request: HttpRequest, obj: HttpConnection, form: object, change: bool
    ) -> None:
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Test the selected connections (one read each)"))
    def test_connection(self, request: HttpRequest, queryset: QuerySet[HttpConnection]) -> None:
        """Fetch a token and make one read of master data through each selected connection;
        the outcome is a message, nothing is saved."""
        for connection in queryset.prefetch_related("operations"):
            configured = {op.operation for op in connection.operations.all()}
            read = next((name for name in PLAIN_READS if name in configured), None)
            if read is None:
                messages.warning(
                    request,
                    _("%(name)s: no master-data read is configured to test with.")
                    % {"name": connection.name},
                )
                continue
            started = time.monotonic()
            with HttpGateway.from_connection(connection) as gateway:
                try:
                    records = getattr(gateway, read)()
                except ErpError as error:
                    messages.error(
                        request,
                        _("%(name)s: %(operation)s failed: %(error)s")
                        % {"name": connection.name, "operation": read, "error": error.message},
                    )
                    continue
            messages.success(
                request,
                _("%(name)s: %(operation)s answered %(count)d records in %(ms)d ms.")
                % {
                    "name": connection.name,
                    "operation": read,
                    "count": len(records),
                    "ms": round((time.monotonic() - started) * 1000),
                },
            )
