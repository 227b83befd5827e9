"""HubSpot error bodies (`status`, `message`, `correlationId`, `category`, ...) and the app's error handlers."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmsync.sandbox.framework.admin import ADMIN_PREFIX


def error_body(category: str, message: str, *, errors: list[dict[str, Any]] | None = None,
               context: dict[str, Any] | None = None, sub_category: str | None = None,
               **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                            "category": category}
    if sub_category is not None:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    return body | extra


class HubSpotApiError(Exception):
    """Raised by handlers; answered as HubSpot's JSON error body with `status_code`."""

    def __init__(self, status_code: int, category: str, message: str, *, errors: list[dict[str, Any]] | None = None,
                 context: dict[str, Any] | None = None, sub_category: str | None = None) -> None:
        super().__init__(message)
        self.status_code, self.category, self.message = status_code, category, message
        self.errors, self.context, self.sub_category = errors, context, sub_category

    def body(self) -> dict[str, Any]:
        return error_body(self.category, self.message, errors=self.errors, context=self.context,
                          sub_category=self.sub_category)

    def batch_error(self) -> dict[str, Any]:
        """The same problem as one entry of a 207 multi-status `errors` list (StandardError shape)."""
        item: dict[str, Any] = {"status": "error", "category": self.category, "message": self.message,
                                "errors": self.errors or [], "context": self.context or {}, "links": {}}
        if self.sub_category is not None:
            item["subCategory"] = self.sub_category
        return item


def not_found(object_type: str, object_id: str) -> HubSpotApiError:
    return HubSpotApiError(404, "OBJECT_NOT_FOUND", f"resource not found: {object_type} {object_id}",
                           context={"ids": [object_id]})


def validation(message: str, *, code: str | None = None, name: str | None = None,
               context: dict[str, Any] | None = None) -> HubSpotApiError:
    errors = None
    if code is not None:
        detail: dict[str, Any] = {"message": message, "code": code}
        if name is not None:
            detail["context"] = {"propertyName": [name]}
        errors = [detail]
    return HubSpotApiError(400, "VALIDATION_ERROR", message, errors=errors, context=context)


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HubSpotApiError)
        return JSONResponse(exc.body(), status_code=exc.status_code)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(ADMIN_PREFIX):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 405:
            return JSONResponse(error_body("VALIDATION_ERROR", f"HTTP method {request.method} is not allowed here"),
                                status_code=405)
        return JSONResponse(error_body("OBJECT_NOT_FOUND", f"no route for {request.method} {request.url.path}"),
                            status_code=exc.status_code)

    async def request_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        if request.url.path.startswith(ADMIN_PREFIX):
            return JSONResponse({"error": "invalid request", "detail": exc.errors()}, status_code=422)
        return JSONResponse(error_body("VALIDATION_ERROR", f"Invalid input JSON: {exc.errors()}"), status_code=400)

    app.add_exception_handler(HubSpotApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, request_validation)
