"""The process designer: the bpmn-js modeler, validate, simulate, deploy."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
