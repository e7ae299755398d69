"""``/api/v1/crm/``: accounts and contacts, the duplicate check and the merge.

One view per action with its input and output serializers; the view calls
``crm.services.accounts`` or a selector. Every read starts from
``crm.selectors.accounts_for``: an account (or a contact of one) the caller may not see
answers 404; a write on a visible account the caller's part does not allow answers 403.

- ``GET accounts/`` keyset pages (``cursor``, ``page_size``), newest change first, with the
  list's filters (``q`` any word of the name, code, credit code, city or contacts' names;
  ``scope``, ``owner``, ``level``, ``industry``, ``province``, ``city``);
- ``POST accounts/`` create: a likely duplicate answers 409 ``likely_duplicates`` with the
  matches unless ``force`` is true;
- ``GET|PATCH accounts/<id>`` one account, edit (the same duplicate rule);
- ``POST accounts/duplicates/`` the duplicate check alone (nothing written);
- ``POST accounts/<id>/merge`` merge another account into this one;
- ``GET|POST accounts/<id>/contacts``, ``GET|PATCH contacts/<id>``;
- ``POST accounts/import/`` accounts from an Excel or CSV file (multipart ``file``):
  ``dry_run`` (the default) answers each line's problems and duplicates; otherwise every
  line is written or none (``crm.imports``, ``accounts_import``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import URLPattern, URLResolver, path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.duplicates import likely_duplicates
from crm.imports import CHOICES, MAX_BYTES, import_read
from crm.models import Account, AccountLevel, Contact, Industry
from crm.selectors.accounts import (
    SCOPES,
    AccountFilters,
    account_list,
    account_may_change,
    duplicates_shown,
)
from crm.selectors.visibility import account_for, accounts_for
from crm.services import accounts as services
from portal.api import (
    KEYSET_PARAMETERS,
    ErrorSerializer,
    KeysetPage,
    error_responses,
    page_serializer,
)
from portal.errors import Invalid, NotFound, Problem
from portal.http import signed_in
from portal.keyset import Source
from portal.models import User

TAGS_ACCOUNTS = ["crm: accounts"]
TAGS_CONTACTS = ["crm: contacts"]

# --- serializers ---------------------------------------------------------------------------


class AccountSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    credit_code = serializers.CharField(allow_null=True)
    industry = serializers.CharField()
    level = serializers.CharField()
    province = serializers.CharField()
    city = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    address = serializers.CharField()
    website = serializers.CharField()
    owner = serializers.CharField(source="owner.username")
    department = serializers.CharField(source="department.code")
    merged_into = serializers.IntegerField(source="merged_into_id", allow_null=True)
    last_activity_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


AccountPage = page_serializer(AccountSerializer, "CrmAccountPage")


class AccountListQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    scope = serializers.ChoiceField(choices=list(SCOPES), required=False, default="all")
    owner = serializers.CharField(required=False, help_text="the owner's user name")
    level = serializers.ChoiceField(choices=AccountLevel.choices, required=False)
    industry = serializers.ChoiceField(choices=Industry.choices, required=False)
    province = serializers.CharField(required=False, max_length=20)
    city = serializers.CharField(required=False, max_length=30)
    merged = serializers.BooleanField(required=False, default=False)


class AccountWriteSerializer(serializers.Serializer[Any]):
    """The editable fields; the rules (the data dictionary's codes, the phone, duplicates)
    are the service's, answered as field errors."""

    code = serializers.CharField(required=False, allow_blank=True, max_length=40)
    name = serializers.CharField(required=False, max_length=200)
    credit_code = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, max_length=18
    )
    industry = serializers.ChoiceField(choices=Industry.choices, required=False)
    level = serializers.ChoiceField(choices=AccountLevel.choices, required=False)
    province = serializers.CharField(required=False, allow_blank=True, max_length=20)
    city = serializers.CharField(required=False, allow_blank=True, max_length=30)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    address = serializers.CharField(required=False, allow_blank=True, max_length=300)
    website = serializers.CharField(required=False, allow_blank=True, max_length=200)
    force = serializers.BooleanField(
        required=False, default=False, help_text="save even though it looks like a duplicate"
    )


class AccountCreateSerializer(AccountWriteSerializer):
    name = serializers.CharField(max_length=200)
    owner = serializers.CharField(
        required=False, help_text="the owner's user name (sales administrators); default: you"
    )


class DuplicateQuerySerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    credit_code = serializers.CharField(required=False, allow_blank=True, max_length=18, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30, default="")
    email = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")
    exclude = serializers.IntegerField(
        required=False, allow_null=True, help_text="an account not to count (the one edited)"
    )


class DuplicateSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    owner = serializers.CharField(help_text="the owner's user name")
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=["credit_code", "name", "phone", "email"])
    )
    visible = serializers.BooleanField(help_text="whether you may open the account")


class DuplicateAnswerSerializer(serializers.Serializer[Any]):
    duplicates = DuplicateSerializer(many=True)


class MergeSerializer(serializers.Serializer[Any]):
    merged = serializers.IntegerField(help_text="the account merged away into this one")


class ContactSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    account = serializers.IntegerField(source="account_id")
    name = serializers.CharField()
    title = serializers.CharField()
    phone = serializers.CharField()
    mobile = serializers.CharField()
    email = serializers.CharField()
    wechat = serializers.CharField()
    is_primary = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ContactWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, max_length=60)
    title = serializers.CharField(required=False, allow_blank=True, max_length=60)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=30)
    mobile = serializers.CharField(required=False, allow_blank=True, max_length=30)
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)
    wechat = serializers.CharField(required=False, allow_blank=True, max_length=60)
    is_primary = serializers.BooleanField(required=False)


class ContactCreateSerializer(ContactWriteSerializer):
    name = serializers.CharField(max_length=60)


DUPLICATES_409 = {
    409: OpenApiResponse(
        response=ErrorSerializer,
        description="likely_duplicates: the account looks like one already there "
        "(``error.duplicates`` lists them); send again with force=true to save anyway",
    )
}

# --- helpers -------------------------------------------------------------------------------


def _person(username: str, field: str) -> User:
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise exceptions.ValidationError({field: [_("There is no active person with this name.")]})
    return found


def _visible(user: User, account_id: int) -> Account:
    return account_for(user, account_id)


def _changeable(user: User, account: Account) -> None:
    if not account_may_change(user, account) or account.merged_into_id is not None:
        raise exceptions.PermissionDenied(
            _("Only the account's owner, its team and sales administrators may change it.")
        )


def _account_answer(account: Account, status: int = 200) -> Response:
    account = Account.objects.select_related("owner", "department").get(pk=account.pk)
    return Response(AccountSerializer(account).data, status=status)


# --- accounts ------------------------------------------------------------------------------


class AccountListApi(APIView):
    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_list",
        summary="Accounts the caller may see, filtered and searched, newest change first",
        parameters=[AccountListQuerySerializer, *KEYSET_PARAMETERS],
        responses={200: AccountPage, **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        user = signed_in(request)
        given = AccountListQuerySerializer(data=request.query_params)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        owner_id = None
        if data.get("owner"):
            owner = User.objects.filter(username=data["owner"]).first()
            owner_id = owner.pk if owner else -1
        filters = AccountFilters(
            scope=data["scope"],
            q=data.get("q", ""),
            owner_id=owner_id,
            level=data.get("level", ""),
            industry=data.get("industry", ""),
            province=data.get("province", ""),
            city=data.get("city", ""),
            merged=data["merged"],
        )
        rows = account_list(user, filters).select_related("department")
        page = KeysetPage(request)
        found = page.rows(Source(rows, field="updated_at"))
        return page.response(AccountSerializer(found, many=True).data)

    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_create",
        summary="Create an account (the duplicate check answers 409 unless force is true)",
        request=AccountCreateSerializer,
        responses={201: AccountSerializer, **error_responses(400), **DUPLICATES_409},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        given = AccountCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        force = data.pop("force", False)
        owner = _person(data.pop("owner"), "owner") if data.get("owner") else None
        account = services.account_create(by=user, owner=owner, force=force, **data)
        return _account_answer(account, status=201)


class AccountDetailApi(APIView):
    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_retrieve",
        summary="One account",
        responses={200: AccountSerializer, **error_responses(404)},
    )
    def get(self, request: Request, account_id: int) -> Response:
        return _account_answer(_visible(signed_in(request), account_id))

    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_update",
        summary="Change an account's fields (owner, team with change, sales administrators)",
        request=AccountWriteSerializer,
        responses={200: AccountSerializer, **error_responses(400, 404), **DUPLICATES_409},
    )
    def patch(self, request: Request, account_id: int) -> Response:
        user = signed_in(request)
        account = _visible(user, account_id)
        _changeable(user, account)
        given = AccountWriteSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        changes = dict(given.validated_data)
        force = changes.pop("force", False)
        account = services.account_update(
            by=user, account_id=account.pk, changes=changes, force=force
        )
        return _account_answer(account)


class DuplicateCheckApi(APIView):
    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_duplicates",
        summary="The accounts a company would duplicate (credit code, name, phone, e-mail)",
        description="Writes nothing. Accounts the caller may not open are listed by code, "
        "name and owner only (``visible``: false).",
        request=DuplicateQuerySerializer,
        responses={200: DuplicateAnswerSerializer, **error_responses(400)},
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        given = DuplicateQuerySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if not any(data[k] for k in ("name", "credit_code", "phone", "email")):
            raise exceptions.ValidationError(
                {"name": [_("Give a name, credit code, phone or e-mail to check.")]}
            )
        matches = likely_duplicates(
            name=data["name"],
            credit_code=data["credit_code"],
            phone=data["phone"],
            email=data["email"],
            exclude_id=data.get("exclude"),
        )
        rows = [
            {
                "id": shown.match.account_id,
                "code": shown.match.code,
                "name": shown.match.name,
                "owner": shown.owner.username if shown.owner else "",
                "reasons": shown.match.reasons,
                "visible": shown.visible,
            }
            for shown in duplicates_shown(user, matches)
        ]
        return Response(DuplicateAnswerSerializer({"duplicates": rows}).data)


class AccountMergeApi(APIView):
    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_merge",
        summary="Merge another account into this one (its contacts, activities, "
        "opportunities, cases, quotes move here)",
        request=MergeSerializer,
        responses={200: AccountSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, account_id: int) -> Response:
        user = signed_in(request)
        survivor = _visible(user, account_id)
        given = MergeSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        merged_id = given.validated_data["merged"]
        try:
            merged = _visible(user, merged_id)
        except NotFound:
            raise exceptions.ValidationError(
                {"merged": [_("There is no such account, or you may not see it.")]}
            ) from None
        if merged.pk != survivor.pk:
            _changeable(user, survivor)
            _changeable(user, merged)
        account = services.account_merge(by=user, survivor_id=survivor.pk, merged_id=merged.pk)
        return _account_answer(account)


# --- contacts ------------------------------------------------------------------------------


class AccountContactsApi(APIView):
    @extend_schema(
        tags=TAGS_CONTACTS,
        operation_id="crm_account_contacts_list",
        summary="An account's contacts (the primary one first)",
        responses={200: ContactSerializer(many=True), **error_responses(404)},
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = _visible(signed_in(request), account_id)
        rows = account.contacts.order_by("-is_primary", "name", "pk")[:500]
        return Response(ContactSerializer(rows, many=True).data)

    @extend_schema(
        tags=TAGS_CONTACTS,
        operation_id="crm_account_contacts_create",
        summary="Add a contact to an account",
        request=ContactCreateSerializer,
        responses={201: ContactSerializer, **error_responses(400, 404)},
    )
    def post(self, request: Request, account_id: int) -> Response:
        user = signed_in(request)
        account = _visible(user, account_id)
        _changeable(user, account)
        given = ContactCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        contact = services.contact_create(
            by=user, account_id=account.pk, values=dict(given.validated_data)
        )
        return Response(ContactSerializer(contact).data, status=201)


def _contact(user: User, contact_id: int) -> Contact:
    contact = Contact.objects.filter(pk=contact_id, account__in=accounts_for(user)).first()
    if contact is None:
        raise NotFound(_("There is no such contact, or you may not see it."))
    return contact


class ContactDetailApi(APIView):
    @extend_schema(
        tags=TAGS_CONTACTS,
        operation_id="crm_contacts_retrieve",
        summary="One contact",
        responses={200: ContactSerializer, **error_responses(404)},
    )
    def get(self, request: Request, contact_id: int) -> Response:
        return Response(ContactSerializer(_contact(signed_in(request), contact_id)).data)

    @extend_schema(
        tags=TAGS_CONTACTS,
        operation_id="crm_contacts_update",
        summary="Change a contact (those who may change its account)",
        request=ContactWriteSerializer,
        responses={200: ContactSerializer, **error_responses(400, 404)},
    )
    def patch(self, request: Request, contact_id: int) -> Response:
        user = signed_in(request)
        contact = _contact(user, contact_id)
        _changeable(user, contact.account)
        given = ContactWriteSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        contact = services.contact_update(
            by=user, contact_id=contact.pk, values=dict(given.validated_data)
        )
        return Response(ContactSerializer(contact).data)


# --- import ---------------------------------------------------------------------------------


class ImportQuerySerializer(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="an .xlsx or CSV file (UTF-8 or GBK), at most 5 MB")
    dry_run = serializers.BooleanField(
        required=False, default=True, help_text="check only (the default); false: import"
    )
    choices = serializers.JSONField(
        required=False,
        binary=True,
        help_text='for duplicate lines: {"<line>": "skip" | "create" | "update"}; default skip',
    )

    def validate_choices(self, value: Any) -> dict[int, str]:
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Give an object of line numbers and choices."))
        chosen: dict[int, str] = {}
        for line, choice in value.items():
            if not str(line).isdigit() or choice not in CHOICES:
                raise serializers.ValidationError(
                    _("“%(line)s”: “%(choice)s” is not a line number with skip, create or update.")
                    % {"line": line, "choice": choice}
                )
            chosen[int(line)] = str(choice)
        return chosen


class ImportDuplicateSerializer(serializers.Serializer[Any]):
    account = serializers.IntegerField(source="account_id", allow_null=True)
    line = serializers.IntegerField(source="row", allow_null=True, help_text="a line of the file")
    code = serializers.CharField()
    name = serializers.CharField()
    owner = serializers.CharField(help_text="the owner's user name")
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=["credit_code", "name", "phone", "email"])
    )
    visible = serializers.BooleanField()
    may_change = serializers.BooleanField()


class ImportRowSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField(source="number")
    name = serializers.CharField()
    # "errors" would shadow Serializer.errors
    problems = serializers.ListField(
        source="errors", child=serializers.CharField(), help_text="the line's field errors"
    )
    duplicates = ImportDuplicateSerializer(many=True)
    choices = serializers.ListField(child=serializers.ChoiceField(choices=list(CHOICES)))
    # a plain string: one enum (``choices``) per choice set keeps the schema's names stable
    choice = serializers.CharField(help_text="what is (or would be) done: one of choices")


class ImportAnswerSerializer(serializers.Serializer[Any]):
    dry_run = serializers.BooleanField()
    ready = serializers.BooleanField(help_text="no line is in error")
    rows = ImportRowSerializer(many=True)
    created = serializers.ListField(child=serializers.IntegerField(), help_text="account ids")
    updated = serializers.ListField(child=serializers.IntegerField(), help_text="account ids")
    skipped = serializers.ListField(child=serializers.IntegerField(), help_text="lines")


class AccountImportApi(APIView):
    @extend_schema(
        tags=TAGS_ACCOUNTS,
        operation_id="crm_accounts_import",
        summary="Import accounts (with a first contact each) from an Excel or CSV file",
        description="Every line's problems and likely duplicates (the customer base and the "
        "earlier lines). ``dry_run`` (the default) writes nothing; otherwise every line is "
        "written or none: a line in error, or one that fails, answers 400 with ``problems``.",
        request={"multipart/form-data": ImportQuerySerializer},
        responses={
            200: ImportAnswerSerializer,
            201: ImportAnswerSerializer,
            **error_responses(400),
        },
    )
    def post(self, request: Request) -> Response:
        user = signed_in(request)
        given = ImportQuerySerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        upload = data["file"]
        try:
            report = import_read(user, upload.name or "", upload.read(MAX_BYTES + 1))
        except ValidationError as error:
            raise exceptions.ValidationError({"file": error.messages}) from None
        chosen: dict[int, str] = data.get("choices") or {}
        result: services.ImportResult | None = None
        if not data["dry_run"]:
            if not report.ready:
                raise Invalid(
                    _("Some lines of the file are in error: nothing was imported."),
                    problems=[
                        Problem(where=_("line %(row)s") % {"row": row.number}, message=error)
                        for row in report.rows
                        for error in row.errors
                    ],
                )
            result = services.accounts_import(by=user, rows=report.rows, choices=chosen)
        answer = {
            "dry_run": data["dry_run"],
            "ready": report.ready,
            "rows": [
                {
                    "number": row.number,
                    "name": row.name,
                    "errors": row.errors,
                    "duplicates": row.duplicates,
                    "choices": row.choices,
                    "choice": chosen.get(row.number) or row.default_choice(),
                }
                for row in report.rows
            ],
            "created": result.created if result else [],
            "updated": result.updated if result else [],
            "skipped": result.skipped if result else [],
        }
        return Response(ImportAnswerSerializer(answer).data, status=201 if result else 200)


urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/", AccountListApi.as_view(), name="accounts"),
    path("accounts/duplicates/", DuplicateCheckApi.as_view(), name="account-duplicates"),
    path("accounts/import/", AccountImportApi.as_view(), name="account-import"),
    path("accounts/<int:account_id>", AccountDetailApi.as_view(), name="account-detail"),
    path("accounts/<int:account_id>/merge", AccountMergeApi.as_view(), name="account-merge"),
    path(
        "accounts/<int:account_id>/contacts",
        AccountContactsApi.as_view(),
        name="account-contacts",
    ),
    path("contacts/<int:contact_id>", ContactDetailApi.as_view(), name="contact-detail"),
]
