"""Writes of the customer base: accounts and their contacts, owners and teams, merges.

Rules every function here keeps:

- One transaction per call (``atomic(durable=True)``); the account's row is locked
  (``select_for_update``) before its state changes; each change adds an ``AccountEvent``
  (its history) in the same transaction. Bad input raises Django's ``ValidationError`` with
  the field it concerns, and nothing is written.
- Only people who may see an account act on it (:func:`crm.selectors.accounts_for`; else
  ``NotFound``); editing it, its contacts and merging need
  :func:`~crm.selectors.accounts.account_may_change` (owner, team members with
  ``change_account``, sales administrators), its owner and team
  :func:`~crm.selectors.accounts.account_may_manage_team` (owner, sales administrators);
  else ``Refused``.
- The duplicate check (:mod:`crm.duplicates`) runs on create and on an edit of the name,
  credit code, phone or e-mail: a likely duplicate raises :class:`LikelyDuplicates` (409,
  with the matches) unless the caller says ``force`` (the person chose "create anyway").
- Phone numbers and e-mails are stored in the form the check compares (digits only; lower
  case), the name key and the search text are written here, never in ``save()``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from crm.duplicates import Match, email_key, likely_duplicates, name_key, phone_key
from crm.imports import ImportRow
from crm.models import (
    Account,
    AccountEvent,
    AccountLevel,
    AccountUserObjectPermission,
    Activity,
    CampaignMember,
    Case,
    Contact,
    Industry,
    Lead,
    Opportunity,
    Quote,
)
from crm.selectors.accounts import (
    account_may_change,
    account_may_manage_team,
    account_search_text,
)
from crm.selectors.visibility import accounts_for, is_sales_admin
from portal.choices import CodeRuleKey
from portal.codes import live_rule
from portal.errors import Conflict, Invalid, NotFound, Problem, Refused
from portal.models import User, phone_validator

__all__ = [
    "EDITABLE",
    "ImportFailed",
    "ImportResult",
    "LikelyDuplicates",
    "account_assign",
    "account_change",
    "account_create",
    "account_merge",
    "account_open",
    "account_reindex",
    "account_update",
    "accounts_import",
    "contact_add",
    "contact_create",
    "contact_update",
    "team_add",
    "team_remove",
]

# The fields a person edits (account_create / account_update take them by name).
EDITABLE = (
    "code",
    "name",
    "credit_code",
    "industry",
    "province",
    "city",
    "level",
    "phone",
    "email",
    "address",
    "website",
)
_T = TypeVar("_T")

CONTACT_FIELDS = ("name", "title", "phone", "mobile", "email", "wechat", "is_primary")
DUPLICATE_FIELDS = ("name", "credit_code", "phone", "email")


class LikelyDuplicates(Conflict):
    """409: the account looks like one already in the customer base (``matches``); nothing
    was written. Send it again with ``force`` to create or save it anyway."""

    code = "likely_duplicates"

    def __init__(self, matches: list[Match]) -> None:
        super().__init__(
            _(
                "This looks like a customer that is already in the customer base. Check the "
                "accounts listed, merge, or save anyway."
            )
        )
        self.matches = matches

    def body(self) -> dict[str, object]:
        return {
            **super().body(),
            "duplicates": [
                {
                    "id": m.account_id,
                    "code": m.code,
                    "name": m.name,
                    "owner_id": m.owner_id,
                    "reasons": m.reasons,
                }
                for m in self.matches
            ],
        }


# --- helpers (join the caller's transaction) ------------------------------------------------


def _event(account: Account, kind: str, by: User | None, **data: Any) -> None:
    AccountEvent.objects.create(
        account=account, kind=kind, actor=by.username if by else "", data=data, at=timezone.now()
    )


def _visible(by: User, account_id: int, *, lock: bool) -> Account:
    """The account, locked when ``lock``, if ``by`` may see it; else NotFound."""
    rows = accounts_for(by).filter(pk=account_id)
    found = (rows.select_for_update(of=("self",)) if lock else rows).first()
    if found is None:
        raise NotFound(_("There is no such account, or you may not see it."))
    return found


def _require_change(by: User, account: Account) -> None:
    if not account_may_change(by, account):
        raise Refused(
            _("Only the account's owner, its team and sales administrators may change it.")
        )
    if account.merged_into_id is not None:
        raise Refused(_("This account was merged into another one: change that one instead."))


def _clean_phone(value: str, field: str) -> str:
    """A phone number checked as typed (a field error when it cannot be one), then stored
    as the duplicate check compares it."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        phone_validator(value)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from None
    return phone_key(value)


def _clean_text(value: Any) -> str:
    return " ".join(str(value or "").split())


def next_free_code() -> str:
    """A customer code nobody holds yet, following the example of the data dictionary's
    customer-code rule: its letters, then the next number of its width after the highest
    code so formed (C000123 → C000001, C000002 …). Empty when the rule has no such example
    (the person must then give one)."""
    example = live_rule(CodeRuleKey.CUSTOMER_CODE).example
    shape = re.fullmatch(r"([A-Z_-]*)(\d+)", example or "")
    if shape is None:
        return ""
    prefix, width = shape.group(1), len(shape.group(2))
    taken = (
        Account.objects.filter(code__startswith=prefix)
        .filter(code__regex=rf"^{re.escape(prefix)}[0-9]{{{width}}}$")
        .aggregate(top=Max("code"))["top"]
    )
    number = int(taken[len(prefix) :]) + 1 if taken else 1
    code = f"{prefix}{number:0{width}d}"
    return code if len(code) == len(prefix) + width else ""


def _prepare(values: dict[str, Any]) -> dict[str, Any]:
    """The editable values as stored: trimmed text, upper-case codes, phone and e-mail in the
    duplicate check's form; a field error for a phone that cannot be one."""
    cleaned = dict(values)
    for name in ("name", "province", "city", "address", "website"):
        if name in cleaned:
            cleaned[name] = _clean_text(cleaned[name])
    if "code" in cleaned:
        cleaned["code"] = _clean_text(cleaned["code"]).upper()
    if "credit_code" in cleaned:
        credit = _clean_text(cleaned["credit_code"]).upper()
        cleaned["credit_code"] = credit or None
    if "phone" in cleaned:
        cleaned["phone"] = _clean_phone(cleaned["phone"], "phone")
    if "email" in cleaned:
        cleaned["email"] = email_key(cleaned["email"] or "")
    return cleaned


NOT_CLEANED = ["owner", "department", "merged_into", "name_key", "search"]


def _full_clean(account: Account) -> None:
    """The model's checks (the data dictionary's validators on the code and the credit code,
    the phone, the choices), as field errors; uniqueness comes after the duplicate check
    (:func:`_check_unique`), which says more than "already exists"."""
    account.full_clean(exclude=NOT_CLEANED, validate_unique=False)


def _check_unique(account: Account) -> None:
    account.validate_unique(exclude=NOT_CLEANED)


def account_reindex(account: Account) -> None:
    """Write the account's name key and search text (its name, code, credit code, city and
    contacts' names). Joins the caller's transaction; other areas that create accounts (a
    lead's conversion) call it after writing the row."""
    names = list(account.contacts.values_list("name", flat=True)[:200])
    account.name_key = name_key(account.name)
    account.search = account_search_text(
        name=account.name,
        code=account.code,
        credit_code=account.credit_code or "",
        city=account.city,
        contact_names=names,
    )
    Account.objects.filter(pk=account.pk).update(name_key=account.name_key, search=account.search)


def _owner_department(owner: User) -> Any:
    if not owner.is_active:
        raise ValidationError({"owner": _("This person's account is not active.")})
    if owner.department_id is None:
        raise ValidationError(
            {"owner": _("This person belongs to no department: an account needs one.")}
        )
    return owner.department


# --- accounts -------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def account_create(
    *,
    by: User,
    name: str,
    code: str = "",
    credit_code: str | None = None,
    industry: str = Industry.OTHER,
    province: str = "",
    city: str = "",
    level: str = AccountLevel.STANDARD,
    phone: str = "",
    email: str = "",
    address: str = "",
    website: str = "",
    owner: User | None = None,
    force: bool = False,
) -> Account:
    """A new account owned by ``owner`` (default: its creator; someone else only by a sales
    administrator), in the owner's department. A blank ``code`` gets the next free code of
    the customer-code rule. The data dictionary checks the code and the credit code (its
    check character); a likely duplicate raises :class:`LikelyDuplicates` unless ``force``."""
    owner = owner or by
    _may_create_for(by, owner)
    return account_open(
        by=by,
        owner=owner,
        values={
            "code": code,
            "name": name,
            "credit_code": credit_code,
            "industry": industry,
            "province": province,
            "city": city,
            "level": level,
            "phone": phone,
            "email": email,
            "address": address,
            "website": website,
        },
        force=force,
    )


def _may_create_for(by: User, owner: User) -> None:
    if owner.pk != by.pk and not is_sales_admin(by):
        raise Refused(_("Only sales administrators may create accounts for someone else."))


def account_open(
    *, by: User, owner: User, values: dict[str, Any], force: bool = False, **history: Any
) -> Account:
    """Write a new account in the caller's transaction: the one step every way of making an
    account takes (:func:`account_create`, a lead's conversion, an import), after the caller
    decided that ``by`` may make it for ``owner``. ``values`` are :data:`EDITABLE` fields
    (the rest default); ``history`` is added to the history's "created" entry (the lead it
    came from)."""
    department = _owner_department(owner)
    values = _prepare({"code": "", "name": "", **values})
    if not values["code"]:
        values["code"] = next_free_code()
    now = timezone.now()
    account = Account(**values, owner=owner, department=department, created_at=now, updated_at=now)
    account.name_key = name_key(account.name)
    _full_clean(account)
    if not force:
        matches = likely_duplicates(
            name=account.name,
            credit_code=account.credit_code,
            phone=account.phone,
            email=account.email,
        )
        if matches:
            raise LikelyDuplicates(matches)
    _check_unique(account)
    try:
        with transaction.atomic():  # the savepoint for a code taken meanwhile
            account.save(force_insert=True)
    except IntegrityError:
        raise ValidationError(
            {"code": _("Someone else took this customer code just now: choose another.")}
        ) from None
    account_reindex(account)
    _event(
        account,
        "created",
        by,
        code=account.code,
        name=account.name,
        owner=owner.username,
        **history,
    )
    return account


@transaction.atomic(durable=True)
def account_update(
    *, by: User, account_id: int, changes: dict[str, Any], force: bool = False
) -> Account:
    """Change the account's editable fields (:data:`EDITABLE`; others are refused as field
    errors). The owner, its team with ``change_account`` and sales administrators may; a new
    name, credit code, phone or e-mail is checked for duplicates (other accounts) unless
    ``force``. The history records each changed field, old and new."""
    return account_change(by=by, account_id=account_id, changes=changes, force=force)


def account_change(
    *, by: User, account_id: int, changes: dict[str, Any], force: bool = False
) -> Account:
    """:func:`account_update` in the caller's transaction (an import's)."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    account = _visible(by, account_id, lock=True)
    _require_change(by, account)
    values = _prepare(changes)
    if "code" in values and not values["code"]:
        raise ValidationError({"code": _("This field cannot be blank.")})
    changed: dict[str, list[Any]] = {}
    for name, value in values.items():
        old = getattr(account, name)
        if old != value:
            changed[name] = [old, value]
            setattr(account, name, value)
    if not changed:
        return account
    account.name_key = name_key(account.name)
    account.updated_at = timezone.now()
    _full_clean(account)
    if not force and set(changed) & set(DUPLICATE_FIELDS):
        matches = likely_duplicates(
            name=account.name if "name" in changed else "",
            credit_code=account.credit_code if "credit_code" in changed else None,
            phone=account.phone if "phone" in changed else "",
            email=account.email if "email" in changed else "",
            exclude_id=account.pk,
        )
        if matches:
            raise LikelyDuplicates(matches)
    _check_unique(account)
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ValidationError(
            {"code": _("Someone else took this customer code just now: choose another.")}
        ) from None
    account_reindex(account)
    _event(account, "updated", by, changed=changed)
    return account


@transaction.atomic(durable=True)
def account_assign(*, by: User, account_id: int, owner: User) -> Account:
    """Hand the account to ``owner`` (its owner or a sales administrator may): its department
    becomes the new owner's, so the new owner's managers see it. The former owner stays on
    its team (view and change), so their work on it is not cut off."""
    account = _visible(by, account_id, lock=True)
    if not account_may_manage_team(by, account):
        raise Refused(_("Only the account's owner and sales administrators may hand it over."))
    if account.merged_into_id is not None:
        raise Refused(_("This account was merged into another one: change that one instead."))
    department = _owner_department(owner)
    if owner.pk == account.owner_id:
        return account
    former = account.owner
    account.owner = owner
    account.department = department
    account.updated_at = timezone.now()
    account.save(update_fields=["owner", "department", "updated_at"])
    assign_perm("crm.view_account", former, account)
    assign_perm("crm.change_account", former, account)
    _event(
        account,
        "assigned",
        by,
        former=former.username,
        owner=owner.username,
        department=department.code,
    )
    return account


@transaction.atomic(durable=True)
def team_add(*, by: User, account_id: int, user: User, may_change: bool = True) -> None:
    """Put ``user`` on the account's team: they see it (``view_account``) and, with
    ``may_change``, edit it (``change_account``). The owner or a sales administrator may."""
    account = _visible(by, account_id, lock=True)
    if not account_may_manage_team(by, account):
        raise Refused(_("Only the account's owner and sales administrators may change its team."))
    if not user.is_active:
        raise ValidationError({"user": _("This person's account is not active.")})
    if user.pk == account.owner_id:
        raise ValidationError({"user": _("The owner sees and changes the account already.")})
    assign_perm("crm.view_account", user, account)
    if may_change:
        assign_perm("crm.change_account", user, account)
    else:
        remove_perm("crm.change_account", user, account)
    _event(account, "team_added", by, user=user.username, may_change=may_change)


@transaction.atomic(durable=True)
def team_remove(*, by: User, account_id: int, user: User) -> None:
    """Take ``user`` off the account's team (both permissions). The owner or a sales
    administrator may."""
    account = _visible(by, account_id, lock=True)
    if not account_may_manage_team(by, account):
        raise Refused(_("Only the account's owner and sales administrators may change its team."))
    held = AccountUserObjectPermission.objects.filter(content_object=account, user=user)
    if not held.exists():
        raise ValidationError({"user": _("This person is not on the account's team.")})
    remove_perm("crm.view_account", user, account)
    remove_perm("crm.change_account", user, account)
    _event(account, "team_removed", by, user=user.username)


# --- contacts -------------------------------------------------------------------------------


def _contact_values(values: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(values) - set(CONTACT_FIELDS))
    if unknown:
        raise ValidationError({name: _("This field cannot be changed here.") for name in unknown})
    cleaned = dict(values)
    for name in ("name", "title", "wechat"):
        if name in cleaned:
            cleaned[name] = _clean_text(cleaned[name])
    for name in ("phone", "mobile"):
        if name in cleaned:
            cleaned[name] = _clean_phone(cleaned[name], name)
    if "email" in cleaned:
        cleaned["email"] = email_key(cleaned["email"] or "")
    if "is_primary" in cleaned:
        cleaned["is_primary"] = bool(cleaned["is_primary"])
    return cleaned


def _only_primary(contact: Contact) -> None:
    if contact.is_primary:
        Contact.objects.filter(account_id=contact.account_id, is_primary=True).exclude(
            pk=contact.pk
        ).update(is_primary=False)


@transaction.atomic(durable=True)
def contact_create(*, by: User, account_id: int, values: dict[str, Any]) -> Contact:
    """A new contact of the account (those who may change the account may). A primary
    contact makes the others not primary."""
    account = _visible(by, account_id, lock=True)
    _require_change(by, account)
    return contact_add(by=by, account=account, values=values)


def contact_add(*, by: User, account: Account, values: dict[str, Any]) -> Contact:
    """Write a new contact of ``account`` in the caller's transaction (the account locked by
    the caller, who decided that ``by`` may): the one step of :func:`contact_create`, a
    lead's conversion and an import."""
    contact = Contact(account=account, created_at=timezone.now(), **_contact_values(values))
    contact.full_clean(exclude=["account"])
    contact.save(force_insert=True)
    _only_primary(contact)
    account.updated_at = timezone.now()
    account.save(update_fields=["updated_at"])
    account_reindex(account)
    _event(account, "contact_added", by, contact=contact.name, contact_id=contact.pk)
    return contact


@transaction.atomic(durable=True)
def contact_update(*, by: User, contact_id: int, values: dict[str, Any]) -> Contact:
    """Change a contact (those who may change its account may); the history records the
    changed fields."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        raise NotFound(_("There is no such contact, or you may not see it."))
    account = _visible(by, contact.account_id, lock=True)
    _require_change(by, account)
    contact = Contact.objects.select_for_update().get(pk=contact_id)
    changed: dict[str, list[Any]] = {}
    for name, value in _contact_values(values).items():
        old = getattr(contact, name)
        if old != value:
            changed[name] = [old, value]
            setattr(contact, name, value)
    if not changed:
        return contact
    contact.full_clean(exclude=["account"])
    contact.save()
    _only_primary(contact)
    account.updated_at = timezone.now()
    account.save(update_fields=["updated_at"])
    account_reindex(account)
    _event(
        account, "contact_updated", by, contact=contact.name, contact_id=contact.pk, changed=changed
    )
    return contact


# --- merge ----------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def account_merge(*, by: User, survivor_id: int, merged_id: int) -> Account:
    """Merge the account ``merged_id`` into ``survivor_id``: its contacts, activities,
    opportunities, cases, quotes and campaign memberships (where the survivor is not a
    member already), and the leads converted into it, move to the survivor; its owner and
    team join the survivor's team; it keeps its row with ``merged_into`` set. The survivor's
    history records what was merged (names, codes, how many of each moved), the merged
    account's where it went.

    Field errors: merging an account into itself, or into (or from) an account merged away.
    Only someone who may change both accounts may merge them (owner or team with
    ``change_account``, sales administrators)."""
    if survivor_id == merged_id:
        raise ValidationError({"survivor": _("An account cannot be merged into itself.")})
    # lock both rows in id order: two merges of the same pair cannot deadlock
    first, second = sorted((survivor_id, merged_id))
    locked = {a.pk: a for a in (_visible(by, first, lock=True), _visible(by, second, lock=True))}
    survivor, merged = locked[survivor_id], locked[merged_id]
    if survivor.merged_into_id is not None:
        raise ValidationError(
            {"survivor": _("This account was merged into another one already: choose that one.")}
        )
    if merged.merged_into_id is not None:
        raise ValidationError({"merged": _("This account was merged into another one already.")})
    if not (account_may_change(by, survivor) and account_may_change(by, merged)):
        raise Refused(_("Only someone who may change both accounts may merge them."))
    moved = {
        "contacts": Contact.objects.filter(account=merged).update(account=survivor),
        "activities": Activity.objects.filter(account=merged).update(account=survivor),
        "opportunities": Opportunity.objects.filter(account=merged).update(account=survivor),
        "cases": Case.objects.filter(account=merged).update(account=survivor),
        "quotes": Quote.objects.filter(account=merged).update(account=survivor),
    }
    already = CampaignMember.objects.filter(account=survivor).values("campaign_id")
    CampaignMember.objects.filter(account=merged, campaign_id__in=already).delete()
    moved["campaigns"] = CampaignMember.objects.filter(account=merged).update(account=survivor)
    Lead.objects.filter(converted_account=merged).update(converted_account=survivor)
    # the merged account's people keep seeing their customer
    joined: list[str] = []
    people = {merged.owner_id} | set(
        AccountUserObjectPermission.objects.filter(
            content_object=merged, permission__codename="view_account"
        ).values_list("user_id", flat=True)
    )
    for person in User.objects.filter(pk__in=people - {survivor.owner_id}, is_active=True):
        assign_perm("crm.view_account", person, survivor)
        assign_perm("crm.change_account", person, survivor)
        joined.append(person.username)
    if Contact.objects.filter(account=survivor, is_primary=True).count() > 1:
        keep = (
            Contact.objects.filter(account=survivor, is_primary=True)
            .order_by("created_at", "pk")
            .values_list("pk", flat=True)
            .first()
        )
        if keep is not None:
            Contact.objects.filter(account=survivor, is_primary=True).exclude(pk=keep).update(
                is_primary=False
            )
    now = timezone.now()
    latest = max(
        (at for at in (survivor.last_activity_at, merged.last_activity_at) if at), default=None
    )
    survivor.last_activity_at = latest
    survivor.updated_at = now
    survivor.save(update_fields=["last_activity_at", "updated_at"])
    merged.merged_into = survivor
    merged.updated_at = now
    merged.save(update_fields=["merged_into", "updated_at"])
    account_reindex(survivor)
    _event(
        survivor,
        "merged",
        by,
        merged={
            "id": merged.pk,
            "code": merged.code,
            "name": merged.name,
            "credit_code": merged.credit_code or "",
        },
        moved=moved,
        team=joined,
    )
    _event(
        merged,
        "merged_into",
        by,
        survivor={"id": survivor.pk, "code": survivor.code, "name": survivor.name},
        moved=moved,
    )
    return survivor


# --- import ---------------------------------------------------------------------------------


class ImportFailed(Invalid):
    """400: a row of an import could not be written (``row``: its line in the file); the
    whole import was rolled back."""

    code = "import_failed"

    def __init__(self, row: int, message: str) -> None:
        super().__init__(
            _("Line %(row)s could not be imported: %(message)s Nothing was imported.")
            % {"row": row, "message": message},
            problems=[Problem(where=_("line %(row)s") % {"row": row}, message=message)],
        )
        self.row = row


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the accounts created and updated (ids), the lines skipped."""

    created: list[int]
    updated: list[int]
    skipped: list[int]


def _failure_text(error: Exception) -> str:
    if isinstance(error, ValidationError):
        if hasattr(error, "error_dict"):
            return " ".join(
                f"{name}: {' '.join(messages)}" if name != "__all__" else " ".join(messages)
                for name, messages in error.message_dict.items()
            )
        return " ".join(error.messages)
    return str(error)


# The fields an import's "update" fills when they are empty on the account (the industry
# when it is "other"); the code and the level are never changed by an import.
IMPORT_FILLS = ("credit_code", "province", "city", "phone", "email", "address", "website")


def _import_update(by: User, row: ImportRow) -> int:
    """Fill the fields of the row's existing account that are empty there (never overwrite
    what someone entered), and add its contact unless one of that name is there."""
    if row.update_id is None:
        raise Refused(_("This row looks like no account you may change."))
    account = _visible(by, row.update_id, lock=False)
    changes = {
        name: value
        for name, value in row.values.items()
        if name in IMPORT_FILLS and value and not getattr(account, name)
    }
    if row.values.get("industry") and account.industry == Industry.OTHER:
        changes["industry"] = row.values["industry"]
    if changes:
        account = account_change(by=by, account_id=account.pk, changes=changes, force=True)
    else:
        _require_change(by, account)
    if row.contact and not account.contacts.filter(name=row.contact.get("name", "")).exists():
        contact_add(by=by, account=account, values=dict(row.contact))
    return account.pk


def _import_create(by: User, row: ImportRow, *, force: bool) -> int:
    owner = User.objects.get(pk=row.owner_id) if row.owner_id else by
    _may_create_for(by, owner)
    account = account_open(by=by, owner=owner, values=dict(row.values), force=force)
    if row.contact:
        contact_add(by=by, account=account, values={**row.contact, "is_primary": True})
    return account.pk


@transaction.atomic(durable=True)
def accounts_import(
    *, by: User, rows: Sequence[ImportRow], choices: Mapping[int, str]
) -> ImportResult:
    """Write the rows of a checked import file (``crm.imports.import_check``) in one
    transaction: all of them or, if one fails, none (:class:`ImportFailed` names its line).

    ``choices`` maps a line to ``skip``, ``create`` or ``update``; a line not in it gets the
    row's default (a likely duplicate is skipped, any other row created). A row that is not a
    duplicate is created with the duplicate check on (an account entered since the preview
    fails the import); ``create`` on a duplicate creates it anyway; ``update`` fills only the
    empty fields of the existing account the preview named (which the importer must still be
    allowed to change) and adds the row's contact. A row with errors, or a choice the row
    does not offer, fails the import."""
    created: list[int] = []
    updated: list[int] = []
    skipped: list[int] = []
    for row in rows:
        if row.errors:
            raise ImportFailed(row.number, " ".join(row.errors))
        choice = choices.get(row.number) or row.default_choice()
        if choice != "skip" and choice not in row.choices:
            raise ImportFailed(row.number, _("This choice is not possible for this row."))
        try:
            if choice == "skip":
                skipped.append(row.number)
            elif choice == "update":
                updated.append(_import_update(by, row))
            else:
                created.append(_import_create(by, row, force=bool(row.duplicates)))
        except LikelyDuplicates:
            raise ImportFailed(
                row.number,
                _("It now looks like a customer entered since the preview: check the file again."),
            ) from None
        except (ValidationError, NotFound, Refused) as error:
            raise ImportFailed(row.number, _failure_text(error)) from None
    return ImportResult(created=created, updated=updated, skipped=skipped)
