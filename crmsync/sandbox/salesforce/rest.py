"""REST resources: versions, limits, query/queryAll, describe, getUpdated/getDeleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request

from crmsync.sandbox.framework.routing import route
from crmsync.sandbox.salesforce.errors import SalesforceApiError
from crmsync.sandbox.salesforce.gate import SUPPORTED_VERSIONS
from crmsync.sandbox.salesforce.query import batch_size_from
from crmsync.sandbox.salesforce.routing import API_PREFIX, org_of, sobject_or_404, version_of
from crmsync.sandbox.salesforce.values import format_datetime, parse_datetime

UPDATED_WINDOW = timedelta(days=30)
DELETED_WINDOW = timedelta(days=15)
MAX_REPLICATION_IDS = 600_000


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def build_rest_router() -> APIRouter:
    router = APIRouter()

    @router.get("/services/data")
    @router.get("/services/data/")
    async def versions(request: Request) -> list[dict[str, str]]:
        return [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in SUPPORTED_VERSIONS]

    api = APIRouter(prefix=API_PREFIX)

    @route(api, "GET", "")
    async def resources(request: Request) -> dict[str, str]:
        base = f"/services/data/v{version_of(request)}"
        names = ("sobjects", "query", "queryAll", "composite", "jobs", "limits")
        return {name: f"{base}/{name}" for name in names}

    @route(api, "GET", "/limits")
    async def limits(request: Request) -> dict[str, Any]:
        usage = org_of(request).usage
        return {"DailyApiRequests": {"Max": usage.daily_limit, "Remaining": max(0, usage.daily_limit - usage.used)}}

    def run_query(request: Request, include_deleted: bool) -> dict[str, Any]:
        soql = request.query_params.get("q")
        if not soql:
            raise SalesforceApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        batch = batch_size_from(request.headers.get("sforce-query-options"))
        return org_of(request).queries.execute(
            soql, include_deleted=include_deleted, batch_size=batch, version=version_of(request)
        )

    @route(api, "GET", "/query")
    def query(request: Request) -> dict[str, Any]:
        return run_query(request, include_deleted=False)

    @route(api, "GET", "/queryAll")
    def query_all(request: Request) -> dict[str, Any]:
        return run_query(request, include_deleted=True)

    @api.get("/query/{locator}")
    @api.get("/queryAll/{locator}")
    def query_more(request: Request, locator: str) -> dict[str, Any]:
        batch = batch_size_from(request.headers.get("sforce-query-options"))
        return org_of(request).queries.more(locator, batch_size=batch, version=version_of(request))

    @route(api, "GET", "/sobjects")
    async def describe_global(request: Request) -> dict[str, Any]:
        store = org_of(request).store
        sobjects = [_object_summary(d.name, d.label, d.label_plural, d.key_prefix) for d in store.schema.values()]
        return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects}

    @route(api, "GET", "/sobjects/{object_name}/describe")
    async def describe(request: Request, object_name: str) -> dict[str, Any]:
        sobject = sobject_or_404(org_of(request), object_name)
        summary = _object_summary(sobject.name, sobject.label, sobject.label_plural, sobject.key_prefix)
        fields = [field.describe() for field in sobject.fields.values()]
        return {**summary, "fields": fields, "childRelationships": [], "recordTypeInfos": []}

    @route(api, "GET", "/sobjects/{object_name}/updated")
    def get_updated(request: Request, object_name: str) -> dict[str, Any]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        start, latest = _replication_window(request, UPDATED_WINDOW)
        with org.store.lock:
            ids = [
                row["Id"] for row in org.store.rows(sobject.name, include_deleted=False)
                if start <= row["SystemModstamp"] < latest
            ]
        _check_id_limit(len(ids))
        return {"ids": ids, "latestDateCovered": format_datetime(latest)}

    @route(api, "GET", "/sobjects/{object_name}/deleted")
    def get_deleted(request: Request, object_name: str) -> dict[str, Any]:
        org = org_of(request)
        sobject = sobject_or_404(org, object_name)
        start, latest = _replication_window(request, DELETED_WINDOW)
        deleted: list[dict[str, str]] = []
        with org.store.lock:
            for row in org.store.rows(sobject.name, include_deleted=True):
                when = org.store.deleted_at.get(row["Id"])
                if row["IsDeleted"] and when is not None and start <= when < latest:
                    deleted.append({"id": row["Id"], "deletedDate": format_datetime(when)})
        _check_id_limit(len(deleted))
        # Salesforce: the time of the last physically deleted record; before any purge, the org's beginning.
        earliest = org.store.last_purged or min([org.store.created_at, *org.store.deleted_at.values()])
        return {
            "deletedRecords": deleted,
            "earliestDateAvailable": format_datetime(_floor_minute(earliest)),
            "latestDateCovered": format_datetime(latest),
        }

    router.include_router(api)
    return router


def _object_summary(name: str, label: str, plural: str, prefix: str) -> dict[str, Any]:
    flags = ("createable", "updateable", "deletable", "queryable", "retrieveable", "searchable", "replicateable")
    return {
        "name": name, "label": label, "labelPlural": plural, "keyPrefix": prefix, "custom": False,
        **dict.fromkeys(flags, True),
        "urls": {"sobject": f"/services/data/v59.0/sobjects/{name}",
                 "describe": f"/services/data/v59.0/sobjects/{name}/describe",
                 "rowTemplate": f"/services/data/v59.0/sobjects/{name}/{{ID}}"},
    }


def _replication_window(request: Request, max_age: timedelta) -> tuple[datetime, datetime]:
    """Parse start/end (URL-decoded, seconds ignored) and check the window like getUpdated/getDeleted."""
    values = []
    for name in ("start", "end"):
        raw = request.query_params.get(name)
        if not raw:
            raise SalesforceApiError(400, "MISSING_ARGUMENT", f"{name} parameter not specified")
        try:
            values.append(_floor_minute(parse_datetime(raw)))
        except ValueError:
            raise SalesforceApiError(400, "INVALID_REPLICATION_DATE", f"invalid {name} date: {raw}") from None
    start, end = values
    now = _floor_minute(org_of(request).clock.now())
    if end < start:
        raise SalesforceApiError(400, "INVALID_REPLICATION_DATE", "EndDate must chronologically follow StartDate")
    if start < now - max_age:
        days = max_age.days
        raise SalesforceApiError(400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago")
    return start, min(end, now)


def _check_id_limit(count: int) -> None:
    if count > MAX_REPLICATION_IDS:
        raise SalesforceApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 600000 ids")

