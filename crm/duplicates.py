"""The duplicate check of the customer base (查重): is the company someone is about to enter
(on a page, through the API, by import) already an account?

An account is a likely duplicate when it is not merged away and has

- the same unified social credit code (统一社会信用代码: one per legal entity);
- the same **name key** (:func:`name_key`): the name folded as a person reading it would —
  full-width and half-width alike (NFKC: ``ＡＢＣ`` is ``abc``), case, spaces and punctuation
  ignored, and the usual company-form suffix left off (有限公司, 有限责任公司, 股份有限公司,
  Co., Ltd., Inc., LLC …), so 华为技术有限公司, 华为技术 股份有限公司 and ＨＵＡＷＥＩ Co., Ltd. are
  one company to it; the city or province in front of a name is kept (上海华为 may be
  another company);
- the same phone (digits only: ``138 0013-8000`` is ``13800138000``; a leading +86 is
  China's and left off) as the account or as one of its contacts' mobiles;
- the same e-mail (lower case) as the account or as one of its contacts.

The services store phone numbers, e-mails and the name key in these forms
(:func:`phone_key`, :func:`email_key`, :func:`name_key`), so the check is two queries over
indexed columns (the contacts' ``mobile`` and ``email``, then the accounts' ``name_key``,
``credit_code``, ``phone``, ``email`` and ids), never a scan of the table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from django.db.models import Q

from crm.models import Account, Contact

__all__ = [
    "Match",
    "email_key",
    "likely_duplicates",
    "name_key",
    "phone_key",
]

MAX_MATCHES = 20

# Company-form suffixes, longest first: a Chinese one ends the last word (Chinese has no
# spaces), a Latin one is made of whole words at the end (``Costco`` keeps its ``co``).
CHINESE_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "公司",
)
LATIN_SUFFIXES: tuple[tuple[str, ...], ...] = (
    ("company", "limited"),
    ("co", "limited"),
    ("co", "ltd"),
    ("pte", "ltd"),
    ("pty", "ltd"),
    ("limited",),
    ("ltd",),
    ("incorporated",),
    ("inc",),
    ("corporation",),
    ("corp",),
    ("company",),
    ("co",),
    ("llc",),
    ("plc",),
    ("gmbh",),
    ("ag",),
    ("sa",),
)


def _words(text: str) -> list[str]:
    """The runs of letters and digits of ``text`` folded (NFKC, case): every space,
    punctuation mark or symbol separates."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    kept = "".join(char if unicodedata.category(char)[0] in "LNM" else " " for char in folded)
    return kept.split()


def _strip_suffix(words: list[str]) -> bool:
    """Take one company-form suffix off the end of ``words``; whether one was."""
    for suffix in LATIN_SUFFIXES:
        if len(words) > len(suffix) and tuple(words[-len(suffix) :]) == suffix:
            del words[-len(suffix) :]
            return True
    last = words[-1]
    for ending in CHINESE_SUFFIXES:
        if last.endswith(ending) and (len(last) > len(ending) or len(words) > 1):
            rest = last[: -len(ending)]
            if rest:
                words[-1] = rest
            else:
                words.pop()
            return True
    return False


def name_key(name: str) -> str:
    """The name as the duplicate check compares it (see the module's docstring): folded,
    without spaces or punctuation, and without its company-form suffixes (华为技术有限公司 →
    华为技术; Acme Co., Ltd. → acme). A name that is nothing but a suffix keeps it."""
    words = _words(name)
    if not words:
        return ""
    while words and _strip_suffix(words):
        pass
    key = "".join(words) or "".join(_words(name))
    return key[:200]


def phone_key(phone: str) -> str:
    """A phone number as stored and compared: digits only, China's +86 (or 0086) left off,
    another country's code kept behind a ``+`` (``+44 20 7946 0000`` → ``+442079460000``).
    Empty stays empty."""
    text = phone.strip()
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", text))
    if not digits:
        return ""
    if text.startswith("00"):
        text, digits = "+" + text[2:], digits[2:]
    if text.startswith("+"):
        if digits.startswith("86"):
            return digits[2:]
        return "+" + digits
    return digits


def email_key(email: str) -> str:
    """An e-mail address as stored and compared: trimmed, lower case."""
    return email.strip().lower()


@dataclass
class Match:
    """An account that looks like the company being entered, and why (``reasons``: any of
    ``credit_code``, ``name``, ``phone``, ``email``)."""

    account_id: int
    code: str
    name: str
    owner_id: int
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Wanted:
    key: str
    code: str
    phone: str
    email: str

    def conditions(self) -> tuple[Q, Q]:
        """(on the account, on its contacts); empty when there is nothing to compare."""
        on_account, on_contact = Q(), Q()
        if self.code:
            on_account |= Q(credit_code=self.code)
        if self.key:
            on_account |= Q(name_key=self.key)
        if self.phone:
            on_account |= Q(phone=self.phone)
            on_contact |= Q(mobile=self.phone)
        if self.email:
            on_account |= Q(email=self.email)
            on_contact |= Q(email=self.email)
        return on_account, on_contact

    def reasons(self, account: Account, by_contact: set[str]) -> list[str]:
        found = []
        if self.code and account.credit_code == self.code:
            found.append("credit_code")
        if self.key and account.name_key == self.key:
            found.append("name")
        if self.phone and (account.phone == self.phone or "phone" in by_contact):
            found.append("phone")
        if self.email and (account.email == self.email or "email" in by_contact):
            found.append("email")
        return found


REASON_ORDER = {"credit_code": 0, "name": 1, "phone": 2, "email": 3}


def likely_duplicates(
    *,
    name: str,
    credit_code: str | None = None,
    phone: str = "",
    email: str = "",
    exclude_id: int | None = None,
) -> list[Match]:
    """The accounts (not merged away) that are likely the same company as the one described,
    strongest reason first (credit code, name, phone, e-mail), at most
    :data:`MAX_MATCHES`. Two queries over indexed columns (the contacts', then the
    accounts'); who may see them is the caller's business (a person is told an account
    exists, not what it holds)."""
    wanted = _Wanted(
        key=name_key(name) if name else "",
        code=(credit_code or "").strip().upper(),
        phone=phone_key(phone),
        email=email_key(email),
    )
    on_account, on_contact = wanted.conditions()
    # the contacts first, by their own indexes: an ``account IN (subquery)`` OR'ed with the
    # account's columns would make PostgreSQL walk every account instead of combining indexes
    by_contact: dict[int, set[str]] = {}
    if on_contact:
        for account_id, mobile, mail in Contact.objects.filter(on_contact).values_list(
            "account_id", "mobile", "email"
        ):
            seen = by_contact.setdefault(account_id, set())
            if wanted.phone and mobile == wanted.phone:
                seen.add("phone")
            if wanted.email and mail == wanted.email:
                seen.add("email")
        if by_contact:
            on_account |= Q(pk__in=sorted(by_contact))
    if not on_account:
        return []
    rows = Account.objects.filter(on_account, merged_into__isnull=True)
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    fields = ("pk", "code", "name", "owner_id", "credit_code", "name_key", "phone", "email")
    found = list(rows.order_by("pk").only(*fields)[: MAX_MATCHES * 2])
    matches = [
        Match(a.pk, a.code, a.name, a.owner_id, wanted.reasons(a, by_contact.get(a.pk, set())))
        for a in found
    ]
    matches.sort(key=lambda m: (min((REASON_ORDER[r] for r in m.reasons), default=9), m.account_id))
    return matches[:MAX_MATCHES]
