"""Salesforce REST error bodies: a JSON array of `{"message", "errorCode", "fields"}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from crmsync.sandbox.salesforce.soql.evaluate import SoqlSemanticError
from crmsync.sandbox.salesforce.soql.lexer import SoqlSyntaxError
from crmsync.sandbox.salesforce.validation import RecordError


class SalesforceApiError(Exception):
    def __init__(self, status_code: int, error_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.fields = fields


def error_body(error_code: str, message: str, fields: list[str] | None = None) -> list[dict[str, Any]]:
    item: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        item["fields"] = fields
    return [item]


def error_response(status_code: int, error_code: str, message: str, fields: list[str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(error_code, message, fields), status_code=status_code)


def not_found_error() -> SalesforceApiError:
    return SalesforceApiError(404, "NOT_FOUND", "The requested resource does not exist")


def install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SalesforceApiError)
        return error_response(exc.status_code, exc.error_code, exc.message, exc.fields)

    async def record_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RecordError)
        return JSONResponse(exc.rest_body(), status_code=exc.http_status)

    async def soql_syntax(_: Request, exc: Exception) -> JSONResponse:
        return error_response(400, "MALFORMED_QUERY", str(exc))

    async def soql_semantic(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SoqlSemanticError)
        return error_response(400, exc.code, str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith("/__sandbox"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        if exc.status_code == 405:
            return error_response(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed.")
        return error_response(exc.status_code, "NOT_FOUND", "The requested resource does not exist")

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        if request.url.path.startswith("/__sandbox"):
            assert isinstance(exc, RequestValidationError)
            return JSONResponse({"error": "invalid request", "detail": exc.errors()}, status_code=422)
        return error_response(400, "JSON_PARSER_ERROR", str(exc))

    app.add_exception_handler(SalesforceApiError, api_error)
    app.add_exception_handler(RecordError, record_error)
    app.add_exception_handler(SoqlSyntaxError, soql_syntax)
    app.add_exception_handler(SoqlSemanticError, soql_semantic)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
