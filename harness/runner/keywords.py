"""``-k`` expressions like pytest's: ``and``, ``or``, ``not``, parentheses, case-insensitive substrings."""
from __future__ import annotations

import re
from typing import Callable

Matcher = Callable[[str], bool]

_TOKEN = re.compile(r"\(|\)|[^\s()]+")


class KeywordError(ValueError):
    """The expression does not parse."""


def compile_keywords(expression: str) -> Matcher:
    """A predicate on names: ``"ticket and not schema"`` keeps names containing "ticket" but not "schema".

    ``and`` binds tighter than ``or``; any other word matches as a case-insensitive substring.
    """
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise KeywordError("-k needs an expression")
    parser = _Parser(tokens, expression)
    matcher = parser.parse_or()
    if parser.pos != len(tokens):
        raise KeywordError(f"-k {expression!r}: unexpected {tokens[parser.pos]!r}")
    return matcher


class _Parser:
    def __init__(self, tokens: list[str], expression: str) -> None:
        self.tokens, self.pos, self.expression = tokens, 0, expression

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise KeywordError(f"-k {self.expression!r}: unexpected end of expression")
        self.pos += 1
        return token

    def parse_or(self) -> Matcher:
        parts = [self.parse_and()]
        while self._peek() == "or":
            self._take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda name: any(p(name) for p in parts))

    def parse_and(self) -> Matcher:
        parts = [self.parse_not()]
        while self._peek() == "and":
            self._take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda name: all(p(name) for p in parts))

    def parse_not(self) -> Matcher:
        token = self._take()
        if token == "not":
            inner = self.parse_not()
            return lambda name: not inner(name)
        if token == "(":
            inner = self.parse_or()
            if self._take() != ")":
                raise KeywordError(f"-k {self.expression!r}: expected ')'")
            return inner
        if token in (")", "and", "or"):
            raise KeywordError(f"-k {self.expression!r}: unexpected {token!r}")
        word = token.lower()
        return lambda name: word in name.lower()
