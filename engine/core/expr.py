"""Story state: conditions like `torch and not cursed` and assignments like `courage += 1`.

Values are ints and booleans; an unset variable reads as 0 (false).
Parsed once at load time; nothing is ever passed to eval().
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

Value = int | bool

_TOKEN = re.compile(r"\s*(?:(?P<num>-?\d+)|(?P<name>[A-Za-z_]\w*)|(?P<op>==|!=|<=|>=|<|>|\(|\)))")
_COMPARE = ("==", "!=", "<=", ">=", "<", ">")
_KEYWORDS = {"and", "or", "not", "true", "false"}


class ExprError(ValueError):
    """A condition or assignment that does not parse."""


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Const:
    value: Value


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Node
    right: Node


Node = Var | Const | Not | BinOp


@dataclass(frozen=True)
class Condition:
    text: str
    node: Node

    def holds(self, state: Mapping[str, Value]) -> bool:
        return bool(_evaluate(self.node, state))

    def names(self) -> set[str]:
        return _names(self.node)


@dataclass(frozen=True)
class Assignment:
    name: str
    op: str  # "=", "+=" or "-="
    value: Value

    def apply(self, state: MutableMapping[str, Value]) -> None:
        if self.op == "=":
            state[self.name] = self.value
        elif self.op == "+=":
            state[self.name] = int(state.get(self.name, 0)) + int(self.value)
        else:
            state[self.name] = int(state.get(self.name, 0)) - int(self.value)


def parse_condition(text: str) -> Condition:
    tokens = _tokenize(text)
    parser = _Parser(tokens)
    node = parser.or_expr()
    if parser.pos != len(tokens):
        raise ExprError(f"unexpected '{tokens[parser.pos]}' in condition '{text}'")
    return Condition(text.strip(), node)


_ASSIGN = re.compile(r"^\s*([A-Za-z_]\w*)\s*(\+=|-=|=)\s*(-?\d+|true|false)\s*$")


def parse_assignment(text: str) -> Assignment:
    match = _ASSIGN.match(text)
    if not match:
        raise ExprError(f"cannot read assignment '{text.strip()}' (expected e.g. 'torch = true' or 'courage += 1')")
    name, op, raw = match.groups()
    if name in _KEYWORDS:
        raise ExprError(f"'{name}' is a reserved word and cannot be a variable")
    value: Value = raw == "true" if raw in ("true", "false") else int(raw)
    if op != "=" and isinstance(value, bool):
        raise ExprError(f"'{op}' needs a number, not '{raw}'")
    return Assignment(name, op, value)


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExprError(f"unexpected character '{text[pos:].strip()[:1]}' in condition '{text.strip()}'")
        tokens.append(match.group(match.lastgroup or "op"))
        pos = match.end()
    if not tokens:
        raise ExprError("empty condition")
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ExprError("condition ends too early")
        self.pos += 1
        return token

    def or_expr(self) -> Node:
        node = self.and_expr()
        while self.peek() == "or":
            self.take()
            node = BinOp("or", node, self.and_expr())
        return node

    def and_expr(self) -> Node:
        node = self.not_expr()
        while self.peek() == "and":
            self.take()
            node = BinOp("and", node, self.not_expr())
        return node

    def not_expr(self) -> Node:
        if self.peek() == "not":
            self.take()
            return Not(self.not_expr())
        return self.compare()

    def compare(self) -> Node:
        node = self.atom()
        if self.peek() in _COMPARE:
            op = self.take()
            node = BinOp(op, node, self.atom())
        return node

    def atom(self) -> Node:
        token = self.take()
        if token == "(":
            node = self.or_expr()
            if self.take() != ")":
                raise ExprError("missing ')' in condition")
            return node
        if token in ("true", "false"):
            return Const(token == "true")
        if token.lstrip("-").isdigit():
            return Const(int(token))
        if token in _KEYWORDS or not (token[0].isalpha() or token[0] == "_"):
            raise ExprError(f"unexpected '{token}' in condition")
        return Var(token)


def _evaluate(node: Node, state: Mapping[str, Value]) -> Value:
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Var):
        return state.get(node.name, 0)
    if isinstance(node, Not):
        return not _evaluate(node.operand, state)
    if node.op == "and":
        return bool(_evaluate(node.left, state)) and bool(_evaluate(node.right, state))
    if node.op == "or":
        return bool(_evaluate(node.left, state)) or bool(_evaluate(node.right, state))
    left, right = int(_evaluate(node.left, state)), int(_evaluate(node.right, state))
    return {
        "==": left == right,
        "!=": left != right,
        "<": left < right,
        "<=": left <= right,
        ">": left > right,
        ">=": left >= right,
    }[node.op]


def _names(node: Node) -> set[str]:
    if isinstance(node, Var):
        return {node.name}
    if isinstance(node, Not):
        return _names(node.operand)
    if isinstance(node, BinOp):
        return _names(node.left) | _names(node.right)
    return set()
