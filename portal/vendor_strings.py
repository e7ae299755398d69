"""Words of the packages the portal shows staff that ship no Simplified Chinese: django-unfold
(the admin theme), django-treebeard (the department tree's move form), django-axes and
django-oauth-toolkit (their records' names). Listed here so that ``make messages`` keeps them
in the portal's catalogue, which translates them; and the names of the OAuth2 toolkit's
records, which it leaves untranslatable, given in words (:func:`name_vendor_models`).
"""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

VENDOR_MSGIDS = (
    # django-unfold
    gettext_noop("Search apps and models..."),
    gettext_noop("All applications"),
    gettext_noop("Apply Filters"),
    gettext_noop("Reset filters"),
    gettext_noop("Return to site"),
    gettext_noop("Go back"),
    gettext_noop("More actions"),
    gettext_noop("Select action"),
    gettext_noop("Select action to run"),
    gettext_noop("Select all rows"),
    gettext_noop("Select record"),
    gettext_noop("Select value"),
    gettext_noop("Run"),
    gettext_noop("No results found"),
    gettext_noop("No results matching your query"),
    gettext_noop("No recent searches"),
    gettext_noop("Recent searches"),
    gettext_noop("Type to search"),
    gettext_noop("Loading more results..."),
    gettext_noop("No data"),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("This item will be deleted."),
    gettext_noop("Add row"),
    gettext_noop("Expand row"),
    gettext_noop("Choose file to upload"),
    gettext_noop("Click to download"),
    gettext_noop("Click to cancel"),
    gettext_noop("Image preview"),
    gettext_noop("Toggle password visibility"),
    gettext_noop("You do not have permission to change this object."),
    gettext_noop("You have been successfully logged out from the administration"),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    gettext_noop("Invalid form data provided"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Dark"),
    gettext_noop("Light"),
    gettext_noop("General"),
    gettext_noop("True"),
    gettext_noop("False"),
    # django-treebeard: the department form's position in the tree
    gettext_noop("-- root --"),
    gettext_noop("Position"),
    gettext_noop("Relative to"),
    gettext_noop("First child of"),
    gettext_noop("Child of"),
    gettext_noop("Sibling of"),
    gettext_noop("Before"),
    gettext_noop("After"),
    # django-oauth-toolkit's fields
    gettext_noop("client ID"),
    gettext_noop("client secret"),
    gettext_noop("client type"),
    gettext_noop("authorization grant type"),
    gettext_noop("redirect URIs"),
    gettext_noop("redirect URI"),
    gettext_noop("post logout redirect URIs"),
    gettext_noop("allowed origins"),
    gettext_noop("hash client secret"),
    gettext_noop("skip authorization"),
    gettext_noop("registration source"),
    gettext_noop("CIMD expires at"),
    gettext_noop("created"),
    gettext_noop("updated"),
    gettext_noop("expires"),
    gettext_noop("scope"),
    gettext_noop("revoked"),
    gettext_noop("token checksum"),
    gettext_noop("token family"),
    gettext_noop("source refresh token"),
    gettext_noop("code challenge"),
    gettext_noop("code challenge method"),
    gettext_noop("nonce"),
    gettext_noop("claims"),
    gettext_noop("JWT Token ID"),
    gettext_noop("device code"),
    gettext_noop("user code"),
    gettext_noop("interval"),
    gettext_noop("last checked"),
    gettext_noop("status"),
    gettext_noop("resource"),
    # django-axes
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
)

# django-oauth-toolkit's records are named after their classes, untranslatable: in words.
OAUTH_NAMES = {
    "application": (_("OAuth2 application"), _("OAuth2 applications")),
    "grant": (_("authorization code"), _("authorization codes")),
    "accesstoken": (_("access token"), _("access tokens")),
    "refreshtoken": (_("refresh token"), _("refresh tokens")),
    "idtoken": (_("ID token"), _("ID tokens")),
    "devicegrant": (_("device authorization"), _("device authorizations")),
}


def name_vendor_models() -> None:
    """Give django-oauth-toolkit's models their names in words (run once, at start-up)."""
    for model in apps.get_app_config("oauth2_provider").get_models():
        names = OAUTH_NAMES.get(model._meta.model_name or "")
        if names:
            model._meta.verbose_name, model._meta.verbose_name_plural = names
