"""The ERP/HR integration facade: gateway, adapters, outbox, data dictionary, imports."""
