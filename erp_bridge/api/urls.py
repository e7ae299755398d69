"""``/api/v1/erp_bridge/``: the ERP bridge's REST API (namespace ``erp_bridge-api``), mounted by the
portal from ``portal.registry.api_mounts`` (registered in the app's ``ready()``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from erp_bridge.api import views

app_name = "erp_bridge-api"

router = SimpleRouter(trailing_slash=True)
router.register("products", views.ProductViewSet, basename="product")
router.register("price-lists", views.PriceListViewSet, basename="price-list")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("employees", views.EmployeeRecordViewSet, basename="employee")
router.register("orders", views.OrderRecordViewSet, basename="order")
router.register("outbox", views.OutboxViewSet, basename="outbox")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    path("outbox/<int:message_id>/replay", views.OutboxReplayApi.as_view(), name="outbox-replay"),
    path(
        "outbox/<int:message_id>/discard",
        views.OutboxDiscardApi.as_view(),
        name="outbox-discard",
    ),
]
