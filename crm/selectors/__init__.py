"""Every read of the CRM that more than one caller needs, one module per area (selectors
never import services). Who sees what starts in :mod:`crm.selectors.visibility`."""

from __future__ import annotations

from crm.selectors.visibility import account_for, accounts_for, is_sales_admin, visible_accounts

__all__ = ["account_for", "accounts_for", "is_sales_admin", "visible_accounts"]
