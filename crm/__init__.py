"""Lightweight CRM: accounts, contacts, leads, opportunities, service cases."""
