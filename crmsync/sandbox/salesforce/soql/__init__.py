"""The SOQL subset the Salesforce emulator understands: tokenizer, parser, evaluator."""

from crmsync.sandbox.salesforce.soql.lexer import SoqlSyntaxError
from crmsync.sandbox.salesforce.soql.parser import parse_soql

__all__ = ["SoqlSyntaxError", "parse_soql"]
