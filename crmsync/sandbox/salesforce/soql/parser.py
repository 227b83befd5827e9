"""Recursive-descent parser for the SOQL subset the emulator serves.

Grammar (keywords case-insensitive):
    query      := SELECT select_list FROM ident [WHERE condition] [ORDER BY order (, order)*]
                  [LIMIT n] [OFFSET n]
    select     := COUNT '(' ')' | field
    condition  := unary (AND unary)* | unary (OR unary)*     -- mixing AND/OR needs parentheses, as in SOQL
    unary      := NOT unary | '(' condition ')' | predicate
    predicate  := field op literal | field [NOT] IN '(' literal (, literal)* ')' | field LIKE string
    literal    := string | number | TRUE | FALSE | NULL | datetime | date | TODAY | LAST_N_DAYS ':' n ...
"""

from __future__ import annotations

from crmsync.sandbox.salesforce.soql.ast import (
    And,
    Comparison,
    Condition,
    CountAll,
    FieldPath,
    InList,
    Like,
    Literal,
    Not,
    Or,
    OrderItem,
    Query,
    RelativeDate,
    SelectItem,
)
from crmsync.sandbox.salesforce.soql.lexer import SoqlSyntaxError, StringValue, Token, TokenKind, tokenize

RESERVED = frozenset({
    "AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "GROUP", "HAVING", "IN", "INCLUDES", "LAST", "LIKE",
    "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH", "OFFSET", "ORDER", "BY", "TRUE", "FALSE",
})
FIXED_RELATIVE_DATES = frozenset({"TODAY", "YESTERDAY", "TOMORROW"})
COUNTED_RELATIVE_DATES = frozenset({"LAST_N_DAYS", "NEXT_N_DAYS"})
UNSUPPORTED_CLAUSES = frozenset({"GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF"})


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = tokenize(soql)
        self.index = 0

    # -- token helpers -------------------------------------------------------------------------------
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def error(self, token: Token | None = None, message: str | None = None) -> SoqlSyntaxError:
        token = token or self.current
        return SoqlSyntaxError(message or f"unexpected token: '{token.text}'", self.soql, token.position)

    def advance(self) -> Token:
        token = self.current
        if token.kind is not TokenKind.EOF:
            self.index += 1
        return token

    def at_keyword(self, *words: str) -> bool:
        return self.current.kind is TokenKind.IDENT and self.current.upper in words

    def accept_keyword(self, word: str) -> bool:
        if self.at_keyword(word):
            self.advance()
            return True
        return False

    def expect_keyword(self, word: str) -> Token:
        if not self.at_keyword(word):
            raise self.error()
        return self.advance()

    def expect(self, kind: TokenKind) -> Token:
        if self.current.kind is not kind:
            raise self.error()
        return self.advance()

    # -- grammar -------------------------------------------------------------------------------------
    def parse_query(self) -> Query:
        self.expect_keyword("SELECT")
        select = [self.parse_select_item()]
        while self.current.kind is TokenKind.COMMA:
            self.advance()
            select.append(self.parse_select_item())
        if any(isinstance(item, CountAll) for item in select) and len(select) > 1:
            raise self.error(message="COUNT() cannot be combined with other fields")
        self.expect_keyword("FROM")
        object_token = self.parse_identifier()
        where = None
        if self.accept_keyword("WHERE"):
            where = self.parse_condition()
        if self.at_keyword(*UNSUPPORTED_CLAUSES):
            raise self.error(message=f"the sandbox does not support {self.current.upper} clauses")
        order_by: list[OrderItem] = []
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            order_by.append(self.parse_order_item())
            while self.current.kind is TokenKind.COMMA:
                self.advance()
                order_by.append(self.parse_order_item())
        limit = self.parse_count_clause("LIMIT")
        offset = self.parse_count_clause("OFFSET")
        if self.current.kind is not TokenKind.EOF:
            raise self.error()
        return Query(
            select=tuple(select),
            object_name=object_token.text,
            object_position=object_token.position,
            where=where,
            order_by=tuple(order_by),
            limit=limit,
            offset=offset,
        )

    def parse_identifier(self) -> Token:
        token = self.current
        if token.kind is not TokenKind.IDENT or token.upper in RESERVED:
            raise self.error()
        return self.advance()

    def parse_field(self) -> FieldPath:
        token = self.parse_identifier()
        return FieldPath(token.text, token.position)

    def parse_select_item(self) -> SelectItem:
        if self.at_keyword("COUNT") and self.tokens[self.index + 1].kind is TokenKind.LPAREN:
            self.advance()
            self.advance()
            self.expect(TokenKind.RPAREN)
            return CountAll()
        return self.parse_field()

    def parse_count_clause(self, keyword: str) -> int | None:
        if not self.accept_keyword(keyword):
            return None
        token = self.expect(TokenKind.NUMBER)
        if not isinstance(token.value, int) or token.value < 0:
            raise self.error(token)
        return token.value

    def parse_order_item(self) -> OrderItem:
        field = self.parse_field()
        descending = False
        if self.accept_keyword("DESC"):
            descending = True
        else:
            self.accept_keyword("ASC")
        # SOQL default: nulls first ascending, nulls last descending.
        nulls_first = not descending
        if self.accept_keyword("NULLS"):
            if self.accept_keyword("FIRST"):
                nulls_first = True
            else:
                self.expect_keyword("LAST")
                nulls_first = False
        return OrderItem(field, descending, nulls_first)

    def parse_condition(self) -> Condition:
        first = self.parse_unary()
        if not self.at_keyword("AND", "OR"):
            return first
        joiner = self.current.upper
        items = [first]
        while self.at_keyword("AND", "OR"):
            if self.current.upper != joiner:
                raise self.error()  # SOQL requires parentheses to mix AND and OR
            self.advance()
            items.append(self.parse_unary())
        return And(tuple(items)) if joiner == "AND" else Or(tuple(items))

    def parse_unary(self) -> Condition:
        if self.accept_keyword("NOT"):
            return Not(self.parse_unary())
        if self.current.kind is TokenKind.LPAREN:
            self.advance()
            condition = self.parse_condition()
            self.expect(TokenKind.RPAREN)
            return condition
        return self.parse_predicate()

    def parse_predicate(self) -> Condition:
        field = self.parse_field()
        if self.current.kind is TokenKind.OPERATOR:
            operator = self.advance().text
            return Comparison(field, "!=" if operator == "<>" else operator, self.parse_literal())
        if self.accept_keyword("LIKE"):
            token = self.expect(TokenKind.STRING)
            assert isinstance(token.value, StringValue)
            return Like(field, token.value)
        negated = self.accept_keyword("NOT")
        if self.accept_keyword("IN"):
            self.expect(TokenKind.LPAREN)
            values = [self.parse_literal()]
            while self.current.kind is TokenKind.COMMA:
                self.advance()
                values.append(self.parse_literal())
            self.expect(TokenKind.RPAREN)
            return InList(field, tuple(values), negated)
        raise self.error()

    def parse_literal(self) -> Literal:
        token = self.current
        if token.kind in (TokenKind.STRING, TokenKind.NUMBER, TokenKind.DATETIME, TokenKind.DATE):
            self.advance()
            return token.value  # type: ignore[return-value]
        if token.kind is TokenKind.IDENT:
            word = token.upper
            if word in ("TRUE", "FALSE"):
                self.advance()
                return word == "TRUE"
            if word == "NULL":
                self.advance()
                return None
            if word in FIXED_RELATIVE_DATES:
                self.advance()
                return RelativeDate(word)
            if word in COUNTED_RELATIVE_DATES:
                self.advance()
                self.expect(TokenKind.COLON)
                amount = self.expect(TokenKind.NUMBER)
                if not isinstance(amount.value, int) or amount.value < 0:
                    raise self.error(amount)
                return RelativeDate(word, amount.value)
        raise self.error()


def parse_soql(soql: str) -> Query:
    """Parse `soql`; raises SoqlSyntaxError (→ MALFORMED_QUERY) on anything outside the grammar."""
    return _Parser(soql).parse_query()
