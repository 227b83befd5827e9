"""Zoho's whole-request error envelope `{"code", "details", "message", "status": "error"}` and its handlers.

Row-level failures of a batch are not errors here: they travel inside `data[]` (see validation.RowError).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmsync.sandbox.framework.admin import ADMIN_PREFIX


class ZohoApiError(Exception):
    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message, self.details = status_code, code, message, details or {}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def invalid_module(name: str) -> ZohoApiError:
    return ZohoApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                        {"resource_path_index": 0, "module": name})


def invalid_url() -> ZohoApiError:
    return ZohoApiError(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one")


def invalid_param(name: str, message: str, **details: Any) -> ZohoApiError:
    return ZohoApiError(400, "INVALID_DATA", message, {"param_name": name, **details})


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ZohoApiError)
        return JSONResponse(error_body(exc.code, exc.message, exc.details), status_code=exc.status_code)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(ADMIN_PREFIX):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 405:
            return JSONResponse(error_body("INVALID_REQUEST_METHOD", "The http request method type is not a valid "
                                           "one"), status_code=400)
        return JSONResponse(error_body("INVALID_URL_PATTERN", "Please check if the URL trying to access is a "
                                       "correct one"), status_code=404)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(ADMIN_PREFIX):
            return JSONResponse({"error": "invalid request", "detail": exc.errors()}, status_code=422)
        return JSONResponse(error_body("INVALID_DATA", "invalid data", {"errors": str(exc.errors())[:300]}),
                            status_code=400)

    app.add_exception_handler(ZohoApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
