"""Reading records: `GET /{Module}` (fields, paging by page and page_token, If-Modified-Since, sort, ids),
`GET /{Module}/{id}` and the recycle bin `GET /{Module}/deleted`.

`page` reaches only the first 2,000 records (DISCRETE_PAGINATION_LIMIT_EXCEEDED beyond); `info.next_page_token`
continues from the last record served, so paging is stable while records change. A filter that matches
nothing answers 304 when If-Modified-Since was sent, else 204, both without a body.
"""

from __future__ import annotations

import bisect
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.zoho.errors import ZohoApiError, invalid_param
from crmsync.sandbox.zoho.modules import ModuleDef
from crmsync.sandbox.zoho.routing import (
    API_PREFIX,
    if_modified_since,
    int_param,
    list_param,
    module_or_error,
    org_of,
)
from crmsync.sandbox.zoho.store import Record, RecordStore
from crmsync.sandbox.zoho.values import format_datetime

MAX_PER_PAGE = 200
PAGE_PARAM_LIMIT = 2000  # records reachable with `page`; page_token beyond
MAX_FIELDS = 50
SORTABLE = ("id", "Created_Time", "Modified_Time")
PAGE_TOKEN_LIFETIME = timedelta(hours=24)

SortKey = tuple[Any, int]


@dataclass(frozen=True)
class PageState:
    """What a page token remembers: the query, and the sort key of the last record served."""

    module: str
    sort_by: str
    descending: bool
    modified_since: datetime | None
    ids: tuple[str, ...]
    after: SortKey
    expires_at: datetime


class PageTokens:
    def __init__(self, clock: SandboxClock) -> None:
        self.clock = clock
        self._tokens: dict[str, PageState] = {}
        self._lock = threading.Lock()

    def issue(self, state: PageState) -> str:
        token = secrets.token_hex(24)
        with self._lock:
            self._tokens[token] = state
        return token

    def take(self, token: str) -> PageState:
        with self._lock:
            state = self._tokens.get(token)
        if state is None or self.clock.now() >= state.expires_at:
            raise invalid_param("page_token", "the page token is invalid or has expired")
        return state

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()


def sort_key(record: Record, sort_by: str) -> SortKey:
    value = record.get(sort_by) if sort_by != "id" else 0
    return (value, int(record["id"]))  # ties broken by id, in the direction of the sort


def select(store: RecordStore, module: ModuleDef, modified_since: datetime | None, ids: tuple[str, ...],
           sort_by: str, descending: bool) -> list[Record]:
    with store.lock:
        rows = [store.get(module.api_name, i) for i in ids] if ids else list(store.rows(module.api_name))
    matching = [row for row in rows if row is not None and (modified_since is None
                                                            or row["Modified_Time"] > modified_since)]
    matching.sort(key=lambda row: sort_key(row, sort_by), reverse=descending)
    return matching


def _after(rows: list[Record], state: PageState) -> int:
    """Index of the first row strictly after the token's last key (rows are sorted by the same key)."""
    keys = [sort_key(row, state.sort_by) for row in rows]
    if not state.descending:
        return bisect.bisect_right(keys, state.after)
    return len(keys) - bisect.bisect_left(keys[::-1], state.after)


def _fields(request: Request, module: ModuleDef, required: bool) -> list[str] | None:
    fields = list_param(request, "fields")
    if not fields:
        if required:
            raise ZohoApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "fields"})
        return None
    if len(fields) > MAX_FIELDS:
        raise ZohoApiError(400, "LIMIT_EXCEEDED", f"at most {MAX_FIELDS} fields per request",
                           {"param_name": "fields", "limit": MAX_FIELDS})
    unknown = [name for name in fields if module.field(name) is None]
    if unknown:
        raise invalid_param("fields", f"invalid field {unknown[0]}", api_name=unknown[0])
    return fields


def _empty(modified_since: datetime | None) -> Response:
    return Response(status_code=304 if modified_since is not None else 204)


def build_records_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/{module_name}/deleted")
    def deleted_records(module_name: str, request: Request) -> Response:
        org = org_of(request)
        module = module_or_error(org, module_name)
        kind = request.query_params.get("type", "all")
        if kind not in ("all", "recycle", "permanent"):
            raise invalid_param("type", "type must be all, recycle or permanent")
        per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        page = int_param(request, "page", 1, 1, 1_000_000)
        since = if_modified_since(request)
        with org.store.lock:
            rows = [gone for gone in org.store.deleted if gone.module == module.api_name
                    and (kind == "all" or gone.type == kind) and (since is None or gone.deleted_time > since)]
        rows.sort(key=lambda gone: (gone.deleted_time, int(gone.id)), reverse=True)
        chunk = rows[(page - 1) * per_page : page * per_page]
        if not chunk:
            return _empty(since)
        info = {"per_page": per_page, "count": len(chunk), "page": page, "more_records": page * per_page < len(rows)}
        return JSONResponse({"data": [org.store.render_deleted(gone) for gone in chunk], "info": info})

    @router.get("/{module_name}/{record_id}")
    def get_record(module_name: str, record_id: str, request: Request) -> Response:
        org = org_of(request)
        module = module_or_error(org, module_name)
        fields = _fields(request, module, required=False)
        with org.store.lock:
            record = org.store.get(module.api_name, record_id)
            body = None if record is None else org.store.render(module, record, fields)
        if body is None:
            return Response(status_code=204)
        return JSONResponse({"data": [body]})

    @router.get("/{module_name}")
    def list_records(module_name: str, request: Request) -> Response:
        org = org_of(request)
        module = module_or_error(org, module_name)
        fields = _fields(request, module, required=True)
        per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        token = request.query_params.get("page_token")
        if token is not None and "page" in request.query_params:
            raise invalid_param("page", "page and page_token cannot be used together")
        if token is not None:
            state = org.page_tokens.take(token)
            if state.module != module.api_name:
                raise invalid_param("page_token", "the page token belongs to another module")
            rows = select(org.store, module, state.modified_since, state.ids, state.sort_by, state.descending)
            start, page = _after(rows, state), None
        else:
            sort_by = request.query_params.get("sort_by", "id")
            if sort_by not in SORTABLE:
                raise invalid_param("sort_by", f"sort_by must be one of {', '.join(SORTABLE)}")
            order = request.query_params.get("sort_order", "desc")
            if order not in ("asc", "desc"):
                raise invalid_param("sort_order", "sort_order must be asc or desc")
            page = int_param(request, "page", 1, 1, 1_000_000)
            if page * per_page > PAGE_PARAM_LIMIT:
                raise ZohoApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                                   f"you can fetch only the first {PAGE_PARAM_LIMIT} records with page; use "
                                   "page_token for more", {"param": "page"})
            state = PageState(module.api_name, sort_by, order == "desc", if_modified_since(request),
                              tuple(list_param(request, "ids")), (None, 0), org.store.now())
            rows = select(org.store, module, state.modified_since, state.ids, sort_by, state.descending)
            start = (page - 1) * per_page
        chunk = rows[start : start + per_page]
        if not chunk:
            return _empty(state.modified_since)
        more = start + per_page < len(rows)
        next_token, expiry = None, None
        if more:
            expires_at = org.store.now() + PAGE_TOKEN_LIFETIME
            next_token = org.page_tokens.issue(PageState(
                module.api_name, state.sort_by, state.descending, state.modified_since, state.ids,
                sort_key(chunk[-1], state.sort_by), expires_at))
            expiry = format_datetime(expires_at, org.dc.tz)
        with org.store.lock:
            data = [org.store.render(module, row, fields) for row in chunk]
        info: dict[str, Any] = {"per_page": per_page, "count": len(chunk), "sort_by": state.sort_by,
                                "sort_order": "desc" if state.descending else "asc", "more_records": more,
                                "next_page_token": next_token, "previous_page_token": None,
                                "page_token_expiry": expiry}
        if page is not None:
            info["page"] = page
        return JSONResponse({"data": data, "info": info})

    return router
