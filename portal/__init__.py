"""The portal project package and its shell app."""

from portal.celery import app as celery_app

__all__ = ["celery_app"]
