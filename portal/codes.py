"""The data dictionary's rules as one check: ``code_check(key, value)`` says whether a value
is a valid employee number, department code, customer code, currency ... by the live
:class:`~portal.models.CodeRule` of that key (its pattern, then its checksum), and raises
Django's ``ValidationError`` with a message that names the rule and gives its example.

Every user of a shared code calls it: the model fields (``CodeRuleValidator``), imports, API
serializers and other apps' forms, so a rule changed by an administrator holds everywhere at
once.

Checksums (``CodeChecksum``):

- ``uscc``: the unified social credit code (统一社会信用代码, GB 32100-2015), 18 characters
  whose last is a check character computed from the first 17 (:func:`uscc_check_character`).
- ``iso4217``: a currency's alphabetic code from ISO 4217's list of current currencies
  (CNY, USD, EUR ...; :data:`ISO_4217_CODES`).

This module imports no model: ``portal.models`` imports it (the rule's ``clean()`` and the
field validator), and it finds the rule through the app registry when it checks a value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portal.choices import CodeChecksum, CodeRuleKey

__all__ = [
    "DEFAULT_RULES",
    "ISO_4217_CODES",
    "USCC_ALPHABET",
    "USED_BY",
    "DefaultRule",
    "LiveRule",
    "checksum_passes",
    "code_check",
    "live_rule",
    "live_rules",
    "uscc_check_character",
    "uscc_is_valid",
]

# --- unified social credit code (GB 32100-2015) --------------------------------------------------

# The 31 characters a USCC may use: digits and capital letters without I, O, Z, S, V (they
# read like 1, 0, 2, 5, U). A character's value is its index here.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# The weight of position i (1-based) of the first 17 is 3^(i-1) mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_USCC_SHAPE = re.compile(rf"[{USCC_ALPHABET}]{{18}}")


def uscc_check_character(first17: str) -> str:
    """The check character (18th) of a unified social credit code whose first 17 characters
    are ``first17``, by GB 32100-2015: the weighted sum of the 17 characters' values (weights
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), then ``31 - sum mod 31``
    (31 counts as 0), written as the character of that value in :data:`USCC_ALPHABET`.

    Raises ``ValueError`` when ``first17`` is not 17 characters of that alphabet.
    """
    if len(first17) != 17 or any(c not in USCC_ALPHABET for c in first17):
        raise ValueError(f"not the first 17 characters of a USCC: {first17!r}")
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def uscc_is_valid(code: str) -> bool:
    """Whether ``code`` is 18 characters of the USCC alphabet ending in the right check
    character (upper case only: the code is printed in capitals on every licence)."""
    if not _USCC_SHAPE.fullmatch(code):
        return False
    return uscc_check_character(code[:17]) == code[17]


# --- currencies (ISO 4217) -----------------------------------------------------------------------

# The alphabetic codes of ISO 4217's list of current currencies and funds (2025), without the
# codes that name no money: the testing code XTS, the "no currency" code (X followed by XX)
# and the bond-market units XBA-XBD.
# Withdrawn codes (HRK, SLL, ZWL, ANG ...) are not here: a new record takes the current one.
ISO_4217_CODES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR
    ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA
    MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK
    PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC
    SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND
    VUV WST XAF XAG XAU XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905 - a table of 170 codes reads better as text than as a list
)


def checksum_passes(kind: str, value: str) -> bool:
    """Whether ``value`` passes the checksum ``kind`` (a :class:`CodeChecksum`); ``none``
    always does."""
    if kind == CodeChecksum.USCC:
        return uscc_is_valid(value)
    if kind == CodeChecksum.ISO4217:
        return value in ISO_4217_CODES
    return True


# --- the rules -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DefaultRule:
    """A key's rule before an administrator changes it (the migration writes these)."""

    pattern: str
    example: str
    checksum: str = CodeChecksum.NONE
    is_unique: bool = True


DEFAULT_RULES: dict[str, DefaultRule] = {
    CodeRuleKey.EMPLOYEE_NO: DefaultRule(r"E\d{6}", "E000001"),
    CodeRuleKey.DEPARTMENT_CODE: DefaultRule(r"[A-Z][A-Z0-9_-]{1,19}", "FIN"),
    CodeRuleKey.POSITION_CODE: DefaultRule(r"[A-Z][A-Z0-9_-]{1,29}", "FIN-ACC"),
    CodeRuleKey.CUSTOMER_CODE: DefaultRule(r"[A-Z0-9][A-Z0-9_-]{0,39}", "C000123"),
    CodeRuleKey.PRODUCT_CODE: DefaultRule(r"[A-Z0-9][A-Z0-9._-]{0,39}", "P-1001"),
    CodeRuleKey.COST_CENTER: DefaultRule(r"[A-Z0-9][A-Z0-9_-]{1,19}", "CC-1001"),
    CodeRuleKey.CURRENCY: DefaultRule(r"[A-Z]{3}", "CNY", CodeChecksum.ISO4217, is_unique=False),
    CodeRuleKey.USCC: DefaultRule(
        rf"[{USCC_ALPHABET}]{{2}}\d{{6}}[{USCC_ALPHABET}]{{10}}",
        "91350100M000100Y43",
        CodeChecksum.USCC,
    ),
}

# Which systems use each code (the dictionary page says so).
USED_BY: dict[str, Promise] = {
    CodeRuleKey.EMPLOYEE_NO: _("Portal accounts, workflow, ERP employees (HR), expense postings"),
    CodeRuleKey.DEPARTMENT_CODE: _("Portal organization, workflow participants, ERP departments"),
    CodeRuleKey.POSITION_CODE: _("Portal organization, workflow participants"),
    CodeRuleKey.CUSTOMER_CODE: _("CRM accounts, ERP customers, sales orders, invoices"),
    CodeRuleKey.PRODUCT_CODE: _("ERP products and price lists, CRM quotes, sales orders"),
    CodeRuleKey.COST_CENTER: _("Expense claims, ERP finance postings, budgets"),
    CodeRuleKey.CURRENCY: _("CRM quotes, sales orders, invoices, expense claims, budgets"),
    CodeRuleKey.USCC: _("CRM accounts, ERP customers and suppliers, invoices"),
}


# What each code is, and where a unique one is unique: shown when the row's own text is empty
# (the defaults), in the reader's language.
DESCRIPTIONS: dict[str, Promise] = {
    CodeRuleKey.EMPLOYEE_NO: _("Given once to each employee when they join; never reused."),
    CodeRuleKey.DEPARTMENT_CODE: _("Capital letters, digits, - or _; starts with a letter."),
    CodeRuleKey.POSITION_CODE: _("Capital letters, digits, - or _; starts with a letter."),
    CodeRuleKey.CUSTOMER_CODE: _("The code the ERP and CRM both know a customer by."),
    CodeRuleKey.PRODUCT_CODE: _("The product's code in the ERP (its SKU)."),
    CodeRuleKey.COST_CENTER: _("The finance cost centre that expenses and budgets are booked to."),
    CodeRuleKey.CURRENCY: _("Three capital letters from ISO 4217, e.g. CNY, USD, EUR."),
    CodeRuleKey.USCC: _(
        "18 characters on the business licence; the last one is a check character (GB 32100-2015)."
    ),
}
UNIQUE_WITHIN: dict[str, Promise] = {
    CodeRuleKey.EMPLOYEE_NO: _("all people, in the portal and the ERP"),
    CodeRuleKey.DEPARTMENT_CODE: _("all departments, in the portal and the ERP"),
    CodeRuleKey.POSITION_CODE: _("all positions"),
    CodeRuleKey.CUSTOMER_CODE: _("all customers, in CRM and the ERP"),
    CodeRuleKey.PRODUCT_CODE: _("all products, in the ERP and CRM quotes"),
    CodeRuleKey.COST_CENTER: _("all cost centres of the company"),
    CodeRuleKey.CURRENCY: _("not unique: many records share a currency"),
    CodeRuleKey.USCC: _("all legal entities (one per customer or supplier)"),
}


@dataclass(frozen=True)
class LiveRule:
    """A key's rule as it holds now: its row, or the default when the row is missing."""

    key: str
    label: str
    pattern: str
    example: str
    checksum: str
    is_unique: bool
    unique_scope: str
    description: str


def _live(key: str, row: Any) -> LiveRule:
    label = str(CodeRuleKey(key).label)
    if row is not None:
        return LiveRule(
            key=key,
            label=label,
            pattern=row.pattern,
            example=row.example,
            checksum=row.checksum,
            is_unique=row.is_unique,
            unique_scope=row.unique_scope or (str(UNIQUE_WITHIN[key]) if row.is_unique else ""),
            description=row.description or str(DESCRIPTIONS[key]),
        )
    default = DEFAULT_RULES[key]
    pattern = default.pattern
    if key == CodeRuleKey.EMPLOYEE_NO:
        pattern = str(settings.EMPLOYEE_NO_PATTERN)
    return LiveRule(
        key=key,
        label=label,
        pattern=pattern,
        example=default.example if re.fullmatch(pattern, default.example) else "",
        checksum=default.checksum,
        is_unique=default.is_unique,
        unique_scope=str(UNIQUE_WITHIN[key]) if default.is_unique else "",
        description=str(DESCRIPTIONS[key]),
    )


def live_rule(key: str) -> LiveRule:
    """The rule of ``key`` in force: the administrator's row, else :data:`DEFAULT_RULES`
    (the employee number's pattern then from ``EMPLOYEE_NO_PATTERN``). Raises ``KeyError``
    for a key the dictionary does not know."""
    if key not in CodeRuleKey.values:
        raise KeyError(key)
    return _live(key, apps.get_model("portal", "CodeRule").objects.filter(key=key).first())


def live_rules() -> list[LiveRule]:
    """Every code of the dictionary with its rule in force, in the order of ``CodeRuleKey``
    (one query)."""
    rows = {row.key: row for row in apps.get_model("portal", "CodeRule").objects.all()}
    return [_live(key, rows.get(key)) for key in CodeRuleKey.values]


def rule_error(rule: LiveRule, value: str) -> ValidationError | None:
    """Why ``value`` breaks ``rule`` (None when it does not): the pattern first (the whole
    value must match), then the checksum."""
    params = {
        "value": value,
        "rule": rule.label,
        "pattern": rule.pattern,
        "example": rule.example,
    }
    try:
        matches = re.fullmatch(rule.pattern, value) is not None
    except re.error:
        matches = False  # a broken pattern (saved without clean()) lets nothing through
    if not matches:
        if rule.example:
            message = _(
                "“%(value)s” is not a valid %(rule)s: it must follow the code rule "
                "%(pattern)s (for example %(example)s)."
            )
        else:
            message = _(
                "“%(value)s” is not a valid %(rule)s: it must follow the code rule %(pattern)s."
            )
        return ValidationError(message, code="code_rule", params=params)
    if checksum_passes(rule.checksum, value):
        return None
    if rule.checksum == CodeChecksum.ISO4217:
        message = _(
            "“%(value)s” is not a valid %(rule)s: it is not a current ISO 4217 currency code "
            "(for example %(example)s)."
        )
    else:
        message = _(
            "“%(value)s” is not a valid %(rule)s: its check character is wrong "
            "(for example %(example)s)."
        )
    return ValidationError(message, code="code_checksum", params=params)


def code_check(key: str, value: str) -> None:
    """Raises ``ValidationError`` (code ``code_rule`` for the pattern, ``code_checksum`` for
    the checksum, ``unknown_code_rule`` for a key the dictionary does not know) unless
    ``value`` is a valid code of ``key`` by the rule in force. Uniqueness is not checked here:
    where a code must be unique, the table that holds it says so with a unique constraint."""
    try:
        rule = live_rule(key)
    except KeyError:
        raise ValidationError(
            _("“%(key)s” is not a code of the data dictionary."),
            code="unknown_code_rule",
            params={"key": key},
        ) from None
    error = rule_error(rule, value or "")
    if error is not None:
        raise error
