"""COQL: `POST /crm/v8/coql {"select_query": "..."}`, the subset integrations use.

    select Last_Name, Email, Modified_Time from Leads
    where (Modified_Time > '2024-01-01T00:00:00+00:00') or (Modified_Time = '...' and id > 5725767000000411001)
    order by Modified_Time asc, id asc limit 0, 200          -- or: limit 200 offset 0

Conditions: = != <> < <= > >=, [not] like ('%' wildcards), [not] in (...), is [not] null, between .. and ..,
combined with and/or and parentheses. LIMIT ≤ 2,000 rows, OFFSET+LIMIT ≤ 100,000. Credits by LIMIT: 1 up to
200, 2 up to 1,000, 3 up to 2,000. Errors: SYNTAX_ERROR (with `near`), INVALID_QUERY, LIMIT_EXCEEDED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from crmsync.sandbox.zoho.errors import ZohoApiError
from crmsync.sandbox.zoho.modules import ModuleDef
from crmsync.sandbox.zoho.routing import API_PREFIX, org_of, read_json
from crmsync.sandbox.zoho.store import Record, UnknownModuleError
from crmsync.sandbox.zoho.values import parse_date, parse_datetime

MAX_LIMIT, MAX_REACH, DEFAULT_LIMIT = 2000, 100_000, 200
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|[=<>(),])"
                    r"|(?P<word>[A-Za-z_$][A-Za-z0-9_$.]*))")
Predicate = Callable[[Record], bool]


def _syntax(near: str) -> ZohoApiError:
    return ZohoApiError(400, "SYNTAX_ERROR", f"error at or near '{near}'", {"near": near})


def _invalid(reason: str, **details: Any) -> ZohoApiError:
    return ZohoApiError(400, "INVALID_QUERY", reason, {"reason": reason, **details})


def tokenize(query: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    query = query.strip().rstrip(";")
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None or match.end() == position:
            raise _syntax(query[position:position + 10].strip())
        kind = match.lastgroup or ""
        text = match.group(kind)
        tokens.append((kind, text))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, query: str, resolve: Callable[[str], ModuleDef]) -> None:
        self.tokens, self.position, self.resolve = tokenize(query), 0, resolve

    def peek(self, offset: int = 0) -> str:
        index = self.position + offset
        return self.tokens[index][1] if index < len(self.tokens) else ""

    def next(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            raise _syntax("end of query")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def keyword(self, *words: str) -> bool:
        if self.peek().lower() == words[0] and all(self.peek(i).lower() == w for i, w in enumerate(words)):
            self.position += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.keyword(*words):
            raise _syntax(self.peek() or "end of query")

    def parse(self) -> tuple[ModuleDef, list[str], Predicate, list[tuple[str, bool]], int, int]:
        self.expect("select")
        names = [self.next()[1]]
        while self.keyword(","):
            names.append(self.next()[1])
        self.expect("from")
        module_name = self.next()[1]
        try:
            self.module = self.resolve(module_name)
        except UnknownModuleError:
            raise _invalid(f"invalid module {module_name}", module=module_name) from None
        for name in names:
            self.field(name)
        predicate: Predicate = self.condition() if self.keyword("where") else (lambda record: True)
        order: list[tuple[str, bool]] = []
        if self.keyword("order", "by"):
            while True:
                name = self.field(self.next()[1])
                descending = self.keyword("desc") or (self.keyword("asc") and False)
                order.append((name, descending))
                if not self.keyword(","):
                    break
        offset, limit = 0, DEFAULT_LIMIT
        if self.keyword("limit"):
            limit = self.integer()
            if self.keyword(","):
                offset, limit = limit, self.integer()
            if self.keyword("offset"):
                offset = self.integer()
        if self.position != len(self.tokens):
            raise _syntax(self.peek())
        return self.module, names, predicate, order, offset, limit

    def integer(self) -> int:
        kind, text = self.next()
        if kind != "num" or "." in text:
            raise _syntax(text)
        return int(text)

    def field(self, name: str) -> str:
        base = name.split(".")[0]
        if self.module.field(base) is None:
            raise _invalid(f"invalid column {name}", column_name=name)
        return base

    def condition(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("or"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda record: any(term(record) for term in terms))

    def conjunction(self) -> Predicate:
        factors = [self.factor()]
        while self.keyword("and"):
            factors.append(self.factor())
        return factors[0] if len(factors) == 1 else (lambda record: all(factor(record) for factor in factors))

    def factor(self) -> Predicate:
        if self.keyword("("):
            inner = self.condition()
            self.expect(")")
            return inner
        name = self.field(self.next()[1])
        if self.keyword("is", "not", "null"):
            return lambda record: record.get(name) not in (None, "")
        if self.keyword("is", "null"):
            return lambda record: record.get(name) in (None, "")
        negate = self.keyword("not")
        if self.keyword("in"):
            self.expect("(")
            values = [self.value(name)]
            while self.keyword(","):
                values.append(self.value(name))
            self.expect(")")
            return lambda record: (_key(record.get(name)) in values) != negate
        if self.keyword("like"):
            pattern = re.compile("^" + ".*".join(re.escape(p) for p in str(self.value(name)).split("%")) + "$",
                                 re.IGNORECASE)
            return lambda record: bool(pattern.match(str(record.get(name) or ""))) != negate
        if self.keyword("between"):
            low = self.value(name)
            self.expect("and")
            high = self.value(name)
            return lambda record: _between(_key(record.get(name)), low, high) != negate
        if negate:
            raise _syntax(self.peek())
        op = self.next()[1]
        if op not in _COMPARE:
            raise _syntax(op)
        value, compare = self.value(name), _COMPARE[op]
        return lambda record: _safe(compare, _key(record.get(name)), value)

    def value(self, name: str) -> Any:
        kind, text = self.next()
        definition = self.module.field(name)
        if kind == "str":
            raw = text[1:-1].replace("''", "'").replace("\\'", "'")
        elif kind == "num":
            raw = text
        elif text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text.lower()]
        else:
            raise _syntax(text)
        kind_of_field = definition.data_type if definition else "text"
        try:
            if kind_of_field == "datetime":
                return parse_datetime(raw)
            if kind_of_field == "date":
                return parse_date(raw)
            if kind_of_field in ("currency", "double"):
                return float(raw)
            if kind_of_field in ("integer", "bigint"):
                return int(raw)
        except ValueError:
            raise _invalid(f"invalid value {raw} for {name}", column_name=name) from None
        return raw.lower()


def _key(value: Any) -> Any:
    if isinstance(value, str):
        return int(value) if value.isdigit() and len(value) > 15 else value.lower()  # record ids compare as numbers
    return value


def _safe(compare: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    if isinstance(right, int) and isinstance(left, str) and left.isdigit():
        left = int(left)
    try:
        return left is not None and compare(left, right)
    except TypeError:
        return False


def _between(value: Any, low: Any, high: Any) -> bool:
    return _safe(lambda a, b: a >= b, value, low) and _safe(lambda a, b: a <= b, value, high)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _sort_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, datetime | date):
        return (1, value.isoformat() if isinstance(value, date) and not isinstance(value, datetime)
                else value.timestamp())
    return (1, _key(value))


def credits_for(limit: int) -> int:
    return 1 if limit <= 200 else 2 if limit <= 1000 else 3


def build_coql_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    @router.post("/coql")
    async def coql(request: Request) -> Response:
        org = org_of(request)
        body = await read_json(request)
        query = body.get("select_query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise ZohoApiError(400, "REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
                               {"param_name": "select_query"})
        with org.store.lock:
            module, names, predicate, order, offset, limit = Parser(query, org.store.module).parse()
            if limit < 1 or limit > MAX_LIMIT or offset + limit > MAX_REACH:
                raise ZohoApiError(400, "LIMIT_EXCEEDED", f"LIMIT must be 1 to {MAX_LIMIT} and OFFSET+LIMIT at most "
                                   f"{MAX_REACH}", {"limit": limit, "offset": offset})
            org.credits.charge(credits_for(limit) - 1)
            rows = [record for record in org.store.rows(module.api_name) if predicate(record)]
            for name, descending in reversed(order or [("id", False)]):
                rows.sort(key=lambda record, n=name: _sort_value(record.get(n)), reverse=descending)  # type: ignore[misc]
            chunk = rows[offset : offset + limit]
            data = [org.store.render(module, record, names) for record in chunk]
        if not data:
            return Response(status_code=204)
        return JSONResponse({"data": data, "info": {"count": len(data), "more_records": offset + limit < len(rows)}})

    return router
