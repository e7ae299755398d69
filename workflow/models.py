"""Workflow tables. A process definition is one version of one process key, with the BPMN
XML it was deployed from; running instances stay on the version they started on."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ProcessDefinition(models.Model):
    """One deployed version of a process (``key`` is the BPMN process id).

    Deploying XML identical to the latest version's changes nothing; any change makes the
    next version. Rows are never edited after deployment.
    """

    key = models.CharField(_("process key"), max_length=255)
    version = models.PositiveIntegerField(_("version"))
    name = models.CharField(_("name"), max_length=255, blank=True)
    description = models.TextField(_("description"), blank=True)
    xml = models.TextField(_("BPMN XML"))
    checksum = models.CharField(_("checksum"), max_length=64)
    source_name = models.CharField(_("file name"), max_length=255, blank=True)
    history_time_to_live = models.CharField(_("history time to live"), max_length=40, blank=True)
    deployed_at = models.DateTimeField(_("deployed at"), auto_now_add=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("deployed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("process definition")
        verbose_name_plural = _("process definitions")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["key", "version"], name="definition_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.name or self.key} v{self.version}"
