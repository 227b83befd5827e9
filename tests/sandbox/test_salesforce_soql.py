"""Pure unit tests of the SOQL tokenizer, parser and evaluator (no HTTP)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crmsync.sandbox.framework.clock import SandboxClock
from crmsync.sandbox.salesforce.query import compile_soql
from crmsync.sandbox.salesforce.soql.ast import And, Comparison, CountAll, InList, Like, Not, Or, RelativeDate
from crmsync.sandbox.salesforce.soql.evaluate import SoqlSemanticError
from crmsync.sandbox.salesforce.soql.lexer import SoqlSyntaxError, StringValue, TokenKind, tokenize
from crmsync.sandbox.salesforce.soql.parser import parse_soql
from crmsync.sandbox.salesforce.store import SObjectStore

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)


def test_string_escapes_decode_like_soql() -> None:
    token = tokenize(r"'O\'Brien \\ tab\there\nline \"q\"'")[0]
    assert token.kind is TokenKind.STRING
    assert isinstance(token.value, StringValue)
    assert token.value.text == "O'Brien \\ tab\there\nline \"q\""


def test_illegal_escape_is_malformed() -> None:
    with pytest.raises(SoqlSyntaxError, match="Illegal character sequence"):
        tokenize(r"'bad \q'")


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T05:30:00+05:30", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-01-01T12:34:56.789+0000", datetime(2024, 1, 1, 12, 34, 56, 789000, tzinfo=UTC)),
        ("2023-12-31T19:00:00-05:00", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_datetime_literals_are_unquoted_and_normalised_to_utc(literal: str, expected: datetime) -> None:
    query = parse_soql(f"SELECT Id FROM Lead WHERE SystemModstamp > {literal}")
    assert isinstance(query.where, Comparison)
    assert query.where.value == expected


def test_date_number_boolean_null_and_relative_literals() -> None:
    query = parse_soql(
        "select Id from Opportunity where (CloseDate = 2024-02-29 and Amount >= -12.5 and IsDeleted = false "
        "and Name != null and CloseDate = LAST_N_DAYS:7)"
    )
    assert isinstance(query.where, And)
    values = [item.value for item in query.where.items if isinstance(item, Comparison)]
    assert values == [date(2024, 2, 29), -12.5, False, None, RelativeDate("LAST_N_DAYS", 7)]


def test_full_grammar_shapes() -> None:
    query = parse_soql(
        "SELECT Id, Account.Name FROM Contact WHERE NOT (Email LIKE '%@x.com' OR LastName IN ('A','B')) "
        "AND FirstName NOT IN ('C') ORDER BY LastName DESC NULLS FIRST, Id LIMIT 10 OFFSET 5"
    )
    assert [item.path for item in query.select] == ["Id", "Account.Name"]  # type: ignore[union-attr]
    assert isinstance(query.where, And)
    negated, not_in = query.where.items
    assert isinstance(negated, Not) and isinstance(negated.item, Or)
    assert isinstance(negated.item.items[0], Like) and isinstance(negated.item.items[1], InList)
    assert isinstance(not_in, InList) and not_in.negated
    assert [(o.field.path, o.descending, o.nulls_first) for o in query.order_by] == [
        ("LastName", True, True),
        ("Id", False, True),
    ]
    assert (query.limit, query.offset) == (10, 5)
    assert parse_soql("SELECT COUNT() FROM Lead").select == (CountAll(),)


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT FROM Lead",
        "SELECT Id Lead",
        "SELECT Id FROM Lead WHERE",
        "SELECT Id FROM Lead WHERE Name = 'a' AND Email = 'b' OR Phone = 'c'",  # mixing needs parentheses
        "SELECT Id FROM Lead WHERE Name = 'unterminated",
        "SELECT Id FROM Lead LIMIT x",
        "SELECT Id FROM Lead ORDER Id",
        "SELECT Id, COUNT() FROM Lead",
        "SELECT Id FROM Lead WHERE Name IN ()",
        "SELECT Id FROM Lead WHERE CreatedDate > 2024-13-01T00:00:00Z",
        "SELECT Id FROM Lead trailing garbage",
    ],
)
def test_malformed_queries_raise_syntax_errors(soql: str) -> None:
    with pytest.raises(SoqlSyntaxError, match="ERROR at Row:1:Column:"):
        parse_soql(soql)


@pytest.fixture
def store() -> SObjectStore:
    clock = SandboxClock()
    clock.set(NOW, freeze=True)
    store = SObjectStore(clock, "005000000000001AAA")
    rows = [
        {"FirstName": "Ann", "LastName": "O'Brien", "Company": "Acme_1", "Email": "ann@acme.com",
         "NumberOfEmployees": 10, "AnnualRevenue": 1000.0},
        {"FirstName": None, "LastName": "zed", "Company": "100% Corp", "Email": "z@zed.io", "NumberOfEmployees": 50},
        {"FirstName": "bob", "LastName": "Brown", "Company": "Acme", "Email": None, "NumberOfEmployees": None},
    ]
    for row in rows:
        store.create("Lead", row)
        clock.advance(60)
    return store


def run(store: SObjectStore, soql: str) -> list[str | None]:
    compiled = compile_soql(soql, store, store.clock.now())
    return [row.get("LastName") for row in compiled.run(store.rows("Lead", include_deleted=False))]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("LastName = 'ZED'", ["zed"]),  # = on text is case-insensitive
        ("Email != 'ann@acme.com'", ["zed", "Brown"]),  # != keeps nulls, as SOQL does
        ("NumberOfEmployees < 50", ["O'Brien"]),
        ("NumberOfEmployees <= 50", ["O'Brien", "zed"]),
        ("NumberOfEmployees > 10", ["zed"]),
        ("NumberOfEmployees >= 10", ["O'Brien", "zed"]),
        ("Email = null", ["Brown"]),
        ("Email != null", ["O'Brien", "zed"]),
        ("LastName IN ('brown', 'zed')", ["zed", "Brown"]),
        ("LastName NOT IN ('brown')", ["O'Brien", "zed"]),
        ("FirstName IN ('ann', null)", ["O'Brien", "zed"]),
        ("Company LIKE 'acme%'", ["O'Brien", "Brown"]),
        (r"Company LIKE 'Acme\_%'", ["O'Brien"]),  # escaped underscore is literal
        ("Company LIKE 'Acm_'", ["Brown"]),
        (r"Company LIKE '100\% %'", ["zed"]),
        ("LastName = 'O\\'Brien'", ["O'Brien"]),
        ("NOT LastName = 'zed'", ["O'Brien", "Brown"]),
        ("(LastName = 'zed' OR LastName = 'Brown') AND NumberOfEmployees = null", ["Brown"]),
        ("CreatedDate > 2024-03-10T12:00:00Z", ["zed", "Brown"]),
        ("CreatedDate >= 2024-03-10T17:31:00+05:30", ["zed", "Brown"]),
        ("CreatedDate < 2024-03-10T12:01:00.000+0000", ["O'Brien"]),
        ("CreatedDate = TODAY", ["O'Brien", "zed", "Brown"]),
        ("CreatedDate = YESTERDAY", []),
        ("AnnualRevenue = 1000", ["O'Brien"]),
    ],
)
def test_where_operators(store: SObjectStore, where: str, expected: list[str]) -> None:
    assert run(store, f"SELECT Id FROM Lead WHERE {where}") == expected


def test_order_by_nulls_limit_offset(store: SObjectStore) -> None:
    assert run(store, "SELECT Id FROM Lead ORDER BY LastName") == ["Brown", "O'Brien", "zed"]
    assert run(store, "SELECT Id FROM Lead ORDER BY NumberOfEmployees DESC") == ["zed", "O'Brien", "Brown"]
    assert run(store, "SELECT Id FROM Lead ORDER BY NumberOfEmployees DESC NULLS FIRST") == ["Brown", "zed", "O'Brien"]
    assert run(store, "SELECT Id FROM Lead ORDER BY NumberOfEmployees ASC NULLS LAST") == ["O'Brien", "zed", "Brown"]
    assert run(store, "SELECT Id FROM Lead ORDER BY FirstName NULLS FIRST, LastName DESC") == [
        "zed", "O'Brien", "Brown"
    ]
    assert run(store, "SELECT Id FROM Lead ORDER BY LastName LIMIT 1 OFFSET 1") == ["O'Brien"]
    assert run(store, "SELECT Id FROM Lead LIMIT 2") == ["O'Brien", "zed"]


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Nope FROM Lead", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FROM Lead WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),  # quoted datetime
        ("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'", "INVALID_FIELD"),
        ("SELECT Id FROM Lead WHERE Email = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Contact WHERE Nope.Name = 'x'", "INVALID_FIELD"),
    ],
)
def test_semantic_errors(store: SObjectStore, soql: str, code: str) -> None:
    with pytest.raises(SoqlSemanticError) as caught:
        compile_soql(soql, store, store.clock.now())
    assert caught.value.code == code


def test_parent_relationship_fields_and_id_normalisation(store: SObjectStore) -> None:
    account = store.create("Account", {"Name": "Parent Co"})
    contact = store.create("Contact", {"LastName": "Kid", "AccountId": account["Id"][:15]})
    compiled = compile_soql(
        f"SELECT Id, Account.Name FROM Contact WHERE AccountId = '{account['Id'][:15]}'", store, NOW
    )
    rows = compiled.run(store.rows("Contact", include_deleted=False))
    assert [row["Id"] for row in rows] == [contact["Id"]]
    assert [column.get(rows[0]) for column in compiled.columns] == [contact["Id"], "Parent Co"]
    assert store.clock.now() - NOW == timedelta(minutes=3)
