"""Metadata the SDK and the connector ask for: `settings/fields`, `settings/modules`, `users`, `org`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from crmsync.sandbox.zoho.errors import ZohoApiError
from crmsync.sandbox.zoho.modules import describe_fields
from crmsync.sandbox.zoho.routing import API_PREFIX, module_or_error, org_of


def build_meta_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/settings/fields")
    def fields(request: Request) -> dict[str, Any]:
        name = request.query_params.get("module")
        if not name:
            raise ZohoApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "module"})
        return describe_fields(module_or_error(org_of(request), name))

    @router.get("/settings/modules")
    def modules(request: Request) -> dict[str, Any]:
        org = org_of(request)
        return {"modules": [
            {"api_name": module.api_name, "module_name": module.api_name, "singular_label": module.singular,
             "plural_label": module.api_name, "id": module.module_id, "api_supported": True,
             "generated_type": "default",
             "creatable": True, "editable": True, "deletable": True, "viewable": True}
            for module in org.store.modules.values()
        ]}

    @router.get("/users")
    def users(request: Request) -> dict[str, Any]:
        org = org_of(request)
        user = org.store.user
        first, _, last = user.name.partition(" ")
        return {"users": [{"id": user.id, "full_name": user.name, "first_name": first, "last_name": last,
                           "email": user.email, "status": "active", "time_zone": org.time_zone_name,
                           "role": {"name": "CEO", "id": f"{org.dc.id_prefix}000000000031"},
                           "profile": {"name": "Administrator", "id": f"{org.dc.id_prefix}000000000026"}}],
                "info": {"per_page": 200, "count": 1, "page": 1, "more_records": False}}

    @router.get("/org")
    def org_details(request: Request) -> dict[str, Any]:
        org = org_of(request)
        return {"org": [{"id": org.org_id, "company_name": org.company_name, "domain_name": f"org{org.org_id}",
                         "primary_email": org.store.user.email, "time_zone": org.time_zone_name,
                         "currency": "USD", "country_code": org.dc.code.upper(),
                         "license_details": {"paid": True, "paid_type": "enterprise",
                                             "users_license_purchased": 10}}]}

    return router
