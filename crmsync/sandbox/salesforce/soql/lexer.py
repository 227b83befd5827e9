"""SOQL tokenizer: one pass over the text, producing typed tokens with their source position."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum, auto


class SoqlSyntaxError(ValueError):
    """Malformed SOQL; the API answers 400 MALFORMED_QUERY with this message."""

    def __init__(self, message: str, soql: str = "", position: int | None = None) -> None:
        if position is not None and soql:
            column = position + 1
            message = f"\n{soql}\n{' ' * position}^\nERROR at Row:1:Column:{column}\n{message}"
        super().__init__(message)


class TokenKind(Enum):
    IDENT = auto()  # also keywords: SOQL keywords are recognised by the parser, case-insensitively
    STRING = auto()
    NUMBER = auto()
    DATETIME = auto()
    DATE = auto()
    OPERATOR = auto()  # = != <> < <= > >=
    LPAREN = auto()
    RPAREN = auto()
    COMMA = auto()
    COLON = auto()
    EOF = auto()


@dataclass(frozen=True)
class StringValue:
    """A decoded string literal plus the regex it means as a LIKE pattern (\\% and \\_ stay literal)."""

    text: str
    like_regex: str


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the source text of the token
    position: int
    value: object = None  # decoded value for literals

    @property
    def upper(self) -> str:
        return self.text.upper()


_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})(?![\w.:])"
)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?![\w:])")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?![\w.])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")
_PUNCTUATION = {"(": TokenKind.LPAREN, ")": TokenKind.RPAREN, ",": TokenKind.COMMA, ":": TokenKind.COLON}
# SOQL escape sequences (case-insensitive letters), per the SOQL reference "Quoted String Escape Sequences".
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _parse_datetime(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(3, "0")) * 1000
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    return moment.astimezone(UTC)


def _read_string(soql: str, start: int) -> tuple[StringValue, int]:
    """Decode the quoted literal starting at `start` (the opening quote); return it and the end index."""
    text: list[str] = []
    regex: list[str] = []
    index = start + 1
    while index < len(soql):
        char = soql[index]
        if char == "'":
            return StringValue("".join(text), "".join(regex)), index + 1
        if char == "\\":
            if index + 1 >= len(soql):
                break
            escaped = soql[index + 1]
            if escaped in "%_":
                # Literal wildcard characters inside LIKE; elsewhere the backslash is kept.
                text.append("\\" + escaped)
                regex.append(re.escape(escaped))
            elif escaped.lower() in _ESCAPES:
                decoded = _ESCAPES[escaped.lower()]
                text.append(decoded)
                regex.append(re.escape(decoded))
            else:
                raise SoqlSyntaxError(
                    f"Invalid string literal '{soql[start:index + 2]}'. Illegal character sequence "
                    f"'\\{escaped}' in string literal.",
                    soql,
                    index,
                )
            index += 2
            continue
        text.append(char)
        regex.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    raise SoqlSyntaxError("unterminated string literal", soql, start)


def tokenize(soql: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(soql):
        char = soql[index]
        if char.isspace():
            index += 1
            continue
        if char == "'":
            value, end = _read_string(soql, index)
            tokens.append(Token(TokenKind.STRING, soql[index:end], index, value))
            index = end
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(_PUNCTUATION[char], char, index))
            index += 1
            continue
        operator = next((op for op in _OPERATORS if soql.startswith(op, index)), None)
        if operator is not None:
            tokens.append(Token(TokenKind.OPERATOR, operator, index))
            index += len(operator)
            continue
        if char.isdigit() or (char in "+-" and index + 1 < len(soql) and soql[index + 1].isdigit()):
            token = _read_number_or_date(soql, index)
            tokens.append(token)
            index += len(token.text)
            continue
        ident = _IDENT.match(soql, index)
        if ident is not None:
            tokens.append(Token(TokenKind.IDENT, ident.group(), index))
            index = ident.end()
            continue
        raise SoqlSyntaxError(f"unexpected token: '{char}'", soql, index)
    tokens.append(Token(TokenKind.EOF, "<EOF>", len(soql)))
    return tokens


def _read_number_or_date(soql: str, index: int) -> Token:
    if (match := _DATETIME.match(soql, index)) is not None:
        try:
            return Token(TokenKind.DATETIME, match.group(), index, _parse_datetime(match))
        except ValueError as exc:
            raise SoqlSyntaxError(f"invalid datetime literal: {match.group()}", soql, index) from exc
    if (match := _DATE.match(soql, index)) is not None:
        try:
            return Token(TokenKind.DATE, match.group(), index, date(*map(int, match.groups())))
        except ValueError as exc:
            raise SoqlSyntaxError(f"invalid date literal: {match.group()}", soql, index) from exc
    if (match := _NUMBER.match(soql, index)) is not None:
        text = match.group()
        return Token(TokenKind.NUMBER, text, index, float(text) if "." in text else int(text))
    end = index
    while end < len(soql) and not soql[end].isspace() and soql[end] not in "(),":
        end += 1
    raise SoqlSyntaxError(f"unexpected token: '{soql[index:end]}'", soql, index)
