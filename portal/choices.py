"""Choices shared by the portal's models and forms."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH_HANS = "zh-hans", "简体中文"
    EN = "en", "English"


class CodeRuleKey(models.TextChoices):
    EMPLOYEE_NO = "employee_no", _("employee number")
    DEPARTMENT_CODE = "department_code", _("department code")
    POSITION_CODE = "position_code", _("position code")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
