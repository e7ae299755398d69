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
    CUSTOMER_CODE = "customer_code", _("customer code")
    PRODUCT_CODE = "product_code", _("product code")
    COST_CENTER = "cost_center", _("cost centre")
    CURRENCY = "currency", _("currency")
    USCC = "uscc", _("unified social credit code")


class CodeChecksum(models.TextChoices):
    """How a code's characters are checked beyond its pattern (``portal.codes``)."""

    NONE = "none", _("none")
    USCC = "uscc", _("GB 32100 check character")
    ISO4217 = "iso4217", _("ISO 4217 currency list")


class NotificationChannel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
