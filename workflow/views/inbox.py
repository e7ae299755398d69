"""The inbox (待办 / 已办 / 我发起的 / 抄送我的): tabs, counts, filters, bulk approve."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
