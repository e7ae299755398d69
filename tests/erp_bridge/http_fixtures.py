"""A ready-made HTTP connection for the reference ERP (``reference_erp.py``): the operations,
field mappings and value tables an administrator would type into the admin for a
Kingdee-style gateway. ``REFERENCE_OPERATIONS`` is also the documented example
(``reference_definition_json()`` prints it as the JSON an administrator reads in
docs/integration.md).

- ``reference_config(server)``: the plain ``HttpConfig`` (no database; for benchmarks);
- ``reference_connection(server)``: the ``HttpConnection`` and its ``HttpOperation`` rows,
  each checked with ``full_clean()`` as the admin would (for tests).

The client secret is never written anywhere: the connection names the environment variable
``SECRET_ENV``, which the caller sets to ``server.client_secret``.
"""

from __future__ import annotations

import json
from typing import Any

from erp_bridge.adapters.http import HttpConfig, OperationConfig
from erp_bridge.models.connections import HttpConnection, HttpOperation
from tests.erp_bridge.reference_erp import ReferenceErp

__all__ = [
    "REFERENCE_OPERATIONS",
    "SECRET_ENV",
    "reference_config",
    "reference_connection",
    "reference_definition_json",
]

SECRET_ENV = "ERP_HTTP_REFERENCE_SECRET"

_ACTIVE = {"active": {"A": "true", "B": "false"}}  # Kingdee's 禁用状态: A 启用, B 禁用
_KINGDEE_STATE = {"A": "draft", "B": "quotation", "C": "confirmed"}  # 单据状态: 创建/审核中/已审核

REFERENCE_OPERATIONS: dict[str, dict[str, Any]] = {
    "products": {
        "method": "GET",
        "path": "/k3cloud/materials",
        "result_path": "data.rows",
        "response_mapping": {
            "FMaterialId": "erp_id",
            "FNumber": "code",
            "FName": "name",
            "FBaseUnitId.FNumber": "unit",
            "FPrice": "list_price",
            "FCurrencyId.FNumber": "currency",
            "FForbidStatus": "active",
        },
        "value_map": _ACTIVE,
    },
    "price_lists": {
        "method": "GET",
        "path": "/k3cloud/price-lists",
        "result_path": "data.rows",
        "response_mapping": {
            "FID": "erp_id",
            "FNumber": "code",
            "FName": "name",
            "FCurrencyId.FNumber": "currency",
            "FEntity[].FMaterialId.FNumber": "lines[].product_code",
            "FEntity[].FPrice": "lines[].price",
            "FEntity[].FFromQty": "lines[].min_quantity",
        },
    },
    "customers": {
        "method": "GET",
        "path": "/k3cloud/customers",
        "result_path": "data.rows",
        "response_mapping": {
            "FCUSTID": "erp_id",
            "FNumber": "code",
            "FName": "name",
            "FSocialCRCode": "tax_code",
            "FTel": "phone",
            "FEmail": "email",
            "FAddress": "address",
            "FForbidStatus": "active",
        },
        "value_map": _ACTIVE,
    },
    "employees": {
        "method": "GET",
        "path": "/k3cloud/employees",
        "result_path": "data.rows",
        "response_mapping": {
            "FID": "erp_id",
            "FStaffNumber": "code",
            "FName": "name",
            "FDeptId.FNumber": "department_code",
            "FEmail": "email",
            "FJoinDate": "start_date",
            "FForbidStatus": "active",
        },
        "value_map": _ACTIVE,
    },
    "departments": {
        "method": "GET",
        "path": "/k3cloud/departments",
        "result_path": "data.rows",
        "response_mapping": {
            "FDEPTID": "erp_id",
            "FNumber": "code",
            "FName": "name",
            "FParentId.FNumber": "parent_code",
        },
    },
    "customer_upsert": {
        "method": "POST",
        "path": "/k3cloud/customers",
        "request_constants": {"FormId": "BD_Customer"},
        "request_mapping": {
            "Model.FNumber": "code",
            "Model.FName": "name",
            "Model.FSocialCRCode": "tax_code",
            "Model.FTel": "phone",
            "Model.FEmail": "email",
            "Model.FAddress": "address",
        },
        "result_path": "data",
        "response_mapping": {"FCUSTID": "erp_id", "FNumber": "code", "FName": "name"},
    },
    "sales_order_create": {
        "method": "POST",
        "path": "/k3cloud/sales-orders",
        "request_constants": {"FormId": "SAL_SaleOrder"},
        "request_mapping": {
            "Model.F_PORTAL_REF": "reference",
            "Model.FCustId.FNumber": "customer_code",
            "Model.FSettleCurrId.FNumber": "currency",
            "Model.FNote": "description",
            "Model.FSaleOrderEntry[].FMaterialId.FNumber": "lines[].product_code",
            "Model.FSaleOrderEntry[].FQty": "lines[].quantity",
            "Model.FSaleOrderEntry[].FTaxPrice": "lines[].unit_price",
        },
        "result_path": "data",
        "response_mapping": {
            "FID": "erp_id",
            "F_PORTAL_REF": "reference",
            "FBillNo": "number",
            "FDocumentStatus": "state",
            "FShipped": "shipped",
            "FInvoiced": "invoiced",
            "FBillAllAmount": "total",
            "FSettleCurrId": "currency",
        },
        "value_map": {"state": _KINGDEE_STATE},
    },
    "expense_post": {
        "method": "POST",
        "path": "/k3cloud/expenses",
        "request_constants": {"FormId": "ER_ExpReimbursement"},
        "request_mapping": {
            "Model.F_PORTAL_REF": "reference",
            "Model.FProposerId.FNumber": "employee_code",
            "Model.FAmount": "amount",
            "Model.FCurrencyId.FNumber": "currency",
            "Model.FCostCenter.FNumber": "cost_centre",
            "Model.FRemark": "description",
            "Model.FDate": "date",
        },
        "result_path": "data",
        "response_mapping": {"FID": "erp_id", "FBillNo": "number", "FDocumentStatus": "state"},
        "value_map": {"state": {"A": "draft", "C": "posted"}},
    },
    "employee_create": {
        "method": "POST",
        "path": "/k3cloud/employees",
        "request_mapping": {
            "Model.FStaffNumber": "code",
            "Model.FName": "name",
            "Model.FDeptId.FNumber": "department_code",
            "Model.FEmail": "email",
            "Model.FJoinDate": "start_date",
        },
        "result_path": "data",
        "response_mapping": {"FID": "erp_id", "FStaffNumber": "code", "FName": "name"},
    },
    "department_upsert": {
        "method": "POST",
        "path": "/k3cloud/departments",
        "request_mapping": {
            "Model.FNumber": "code",
            "Model.FName": "name",
            "Model.FParentId.FNumber": "parent_code",
        },
        "result_path": "data",
        "response_mapping": {"FDEPTID": "erp_id", "FNumber": "code", "FName": "name"},
    },
    "sales_order_status": {
        "method": "GET",
        "path": "/k3cloud/sales-orders/{reference}",
        "result_path": "data",
        "response_mapping": {
            "FID": "erp_id",
            "FBillNo": "number",
            "FDocumentStatus": "state",
            "FShipped": "shipped",
            "FInvoiced": "invoiced",
            "FBillAllAmount": "total",
            "FSettleCurrId": "currency",
        },
        "value_map": {"state": _KINGDEE_STATE},
    },
    "invoices": {
        "method": "GET",
        "path": "/k3cloud/invoices",
        "request_mapping": {"FSrcBillNo": "order_reference"},
        "result_path": "data.rows",
        "response_mapping": {
            "FBillNo": "number",
            "FSrcBillNo": "order_reference",
            "FAllAmount": "amount",
            "FCurrencyId.FNumber": "currency",
            "FPayStatus": "payment_state",
            "FEndDate": "due_date",
        },
        "value_map": {"payment_state": {"A": "unpaid", "B": "partially_paid", "C": "paid"}},
    },
    "budget": {
        "method": "GET",
        "path": "/k3cloud/budgets/{cost_centre}/{year}",
        "result_path": "data",
        "response_mapping": {
            "FAmount": "amount",
            "FSpent": "spent",
            "FCurrencyId.FNumber": "currency",
        },
    },
}


def _connection_fields(server: ReferenceErp, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "金蝶参考网关",
        "base_url": server.url,
        "token_url": server.token_url,
        "client_id": server.client_id,
        "client_secret_env": SECRET_ENV,
        "timeout_seconds": 2.0,
        "read_retries": 2,
        "extra_headers": {"X-Acct-Id": "1001"},
        **overrides,
    }


def reference_config(server: ReferenceErp, **overrides: Any) -> HttpConfig:
    """The reference connection as plain data (no database), e.g. for a benchmark."""
    fields = _connection_fields(server, **overrides)
    fields.pop("active", None)
    return HttpConfig(
        name=fields["name"],
        base_url=fields["base_url"],
        token_url=fields["token_url"],
        client_id=fields["client_id"],
        client_secret_env=fields["client_secret_env"],
        timeout=fields["timeout_seconds"],
        read_retries=fields["read_retries"],
        extra_headers=fields["extra_headers"],
        operations={
            name: OperationConfig(operation=name, **definition)
            for name, definition in REFERENCE_OPERATIONS.items()
        },
    )


def reference_connection(server: ReferenceErp, **overrides: Any) -> HttpConnection:
    """The reference connection and all its operations in the database, each row checked
    with ``full_clean()`` first (the secret's variable ``SECRET_ENV`` must be set)."""
    connection = HttpConnection(**{"active": True, **_connection_fields(server, **overrides)})
    connection.full_clean()
    connection.save()
    for name, definition in REFERENCE_OPERATIONS.items():
        operation = HttpOperation(connection=connection, operation=name, **definition)
        operation.full_clean()
        operation.save()
    return connection


def reference_definition_json() -> str:
    """The documented example: one connection and its operations as JSON."""
    example = {
        "connection": {
            "name": "金蝶云星空",
            "base_url": "https://erp.example.com",
            "token_url": "https://erp.example.com/oauth2/token",
            "client_id": "portal",
            "client_secret_env": "ERP_CLIENT_SECRET",
            "scope": "",
            "timeout_seconds": 10,
            "read_retries": 2,
            "extra_headers": {"X-Acct-Id": "1001"},
            "error_codes": {"MATERIAL_NOT_EXIST": "unknown_product"},
            "active": True,
        },
        "operations": REFERENCE_OPERATIONS,
    }
    return json.dumps(example, ensure_ascii=False, indent=2)


if __name__ == "__main__":
    print(reference_definition_json())
