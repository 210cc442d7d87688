"""The Data Prep expression language: a parser and the expression tree it builds.

The syntax is the part of JEXL that Data Prep mappings use: function calls, string literals in
double or single quotes, numbers, ``true``/``false``/``null``, attribute references (bare
names, dotted paths, ``${any name}`` and backticked names), ``[a, b]`` arrays, the operators
``+ - * / %``, ``== != < <= > >=``, ``&& || !`` (and their word forms ``eq ne lt le gt ge and
or not div mod``), ``c ? a : b`` and method calls such as ``"s".equalsIgnoreCase(x)``.
Precedence, loosest first: ``?:``, ``||``, ``&&``, equality, comparison, ``+ -``,
``* / %``, unary ``! -``, then calls and primaries. Positions in errors count characters
from 1.

An expression is at most :data:`MAX_DEPTH` levels deep and has at most :data:`MAX_NODES`
parts; a number is at most :data:`MAX_NUMBER_CHARS` characters. The parser refuses anything
beyond (:class:`MappingError`) before it could recurse that deep, so every walk over a tree
that parses (evaluating, ``str``, ``references``, pickling for executors) stays far inside
Python's recursion limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

import lakefeed.mappings.functions  # noqa: F401  (registers the function library)
from lakefeed.errors import MappingError
from lakefeed.mappings import operators
from lakefeed.mappings.evaluation import Context
from lakefeed.mappings.paths import Path, format_path
from lakefeed.mappings.registry import Function, lookup

#: How many levels an expression may nest: a name or a value is one level; each operator,
#: function call, ``?:``, array or pair of parentheses around something adds one (a chain
#: ``a + b + c`` of n terms is n levels deep, as it reads ``((a + b) + c)``). Walks over the
#: tree take at most 4 Python frames a level (evaluating 3, ``copy.deepcopy`` 7), the parser 6:
#: at 100 levels the deepest needs about 610 frames of the default recursion limit of 1000,
#: leaving the caller more than 350 (a REST worker uses about 12, a flow run about 16).
MAX_DEPTH = 100
#: How many parts (values, names, operators and calls) an expression may have.
MAX_NODES = 10_000
#: The longest number literal, in characters (a long has at most 19 digits).
MAX_NUMBER_CHARS = 100

# --- the tree ---------------------------------------------------------------------------------


class Expression:
    """A parsed expression. :meth:`evaluate` computes it for every row of a batch.

    ``depth`` (levels, a leaf is 1) and ``size`` (nodes) are set when a node is built; they are
    not fields, so they do not take part in ``==`` or ``repr``."""

    position: int
    depth: int
    size: int

    def __post_init__(self) -> None:
        children = self.children()
        object.__setattr__(self, "depth", 1 + max((c.depth for c in children), default=0))
        object.__setattr__(self, "size", 1 + sum(c.size for c in children))

    def references(self) -> set[str]:
        """The source attribute paths it reads (canonical text, see ``format_path``)."""
        found: set[Path] = set()
        self._collect(found)
        return {format_path(p) for p in found}

    def paths(self) -> set[Path]:
        found: set[Path] = set()
        self._collect(found)
        return found

    def _collect(self, found: set[Path]) -> None:
        for child in self.children():
            child._collect(found)

    def children(self) -> tuple[Expression, ...]:
        return ()

    def evaluate(self, ctx: Context) -> pa.Array:
        raise NotImplementedError


@dataclass(frozen=True)
class Literal(Expression):
    value: Any
    position: int = 0

    def evaluate(self, ctx: Context) -> pa.Array:
        if isinstance(self.value, bool):
            return ctx.repeat(self.value, pa.bool_())
        if isinstance(self.value, int):
            return ctx.repeat(self.value, pa.int64())
        if isinstance(self.value, float):
            return ctx.repeat(self.value, pa.float64())
        if isinstance(self.value, str):
            return ctx.repeat(self.value, pa.string())
        return ctx.repeat(None)

    def __str__(self) -> str:
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return str(self.value).lower()
        if isinstance(self.value, str):
            return '"' + self.value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return repr(self.value)


@dataclass(frozen=True)
class Reference(Expression):
    path: Path
    position: int = 0

    def _collect(self, found: set[Path]) -> None:
        found.add(self.path)

    def evaluate(self, ctx: Context) -> pa.Array:
        return ctx.column(self.path)

    def __str__(self) -> str:
        return format_path(self.path)


#: Functions whose every call gives new values (``uuid()``): never computed once for two calls.
VOLATILE = frozenset({"uuid", "guid"})


@dataclass(frozen=True)
class Call(Expression):
    name: str
    args: tuple[Expression, ...]
    position: int = 0

    def children(self) -> tuple[Expression, ...]:
        return self.args

    def evaluate(self, ctx: Context) -> pa.Array:
        function = lookup(self.name, self.position)
        if function.name in VOLATILE:  # a new value at every call
            return self._run(function, ctx)
        key = str(self)  # positions aside: the same call anywhere in the batch
        done = ctx.evaluated.get(key)
        if done is not None:
            values, failures = done
            ctx.failures.extend(failures)
            return values
        start = len(ctx.failures)
        values = self._run(function, ctx)
        ctx.evaluated[key] = (values, ctx.failures[start:])
        return values

    def _run(self, function: Function, ctx: Context) -> pa.Array:
        if function.lazy:
            return function.run(ctx, *self.args)
        constants = function.constant_positions(len(self.args))
        values = [
            arg.value if i in constants and isinstance(arg, Literal) else arg.evaluate(ctx)
            for i, arg in enumerate(self.args)
        ]
        return function.run(ctx, *values)

    def __str__(self) -> str:
        return f"{self.name}({', '.join(str(a) for a in self.args)})"


@dataclass(frozen=True)
class Unary(Expression):
    op: str
    operand: Expression
    position: int = 0

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)

    def evaluate(self, ctx: Context) -> pa.Array:
        return operators.unary(ctx, self.op, self.operand.evaluate(ctx))

    def __str__(self) -> str:
        return f"{self.op}{self.operand}"


@dataclass(frozen=True)
class Binary(Expression):
    op: str
    left: Expression
    right: Expression
    position: int = 0

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)

    def evaluate(self, ctx: Context) -> pa.Array:
        if self.op in ("&&", "||"):
            left = self.left.evaluate(ctx)
            right, failures = ctx.scoped(self.right)
            result, evaluated = operators.logical(self.op, left, right)
            ctx.keep(failures, evaluated)  # the right side counts where it is evaluated
            return result
        return operators.binary(ctx, self.op, self.left.evaluate(ctx), self.right.evaluate(ctx))

    def __str__(self) -> str:
        return f"({self.left} {self.op} {self.right})"


# --- the parser -------------------------------------------------------------------------------

_WORD_OPERATORS = {
    "and": "&&",
    "or": "||",
    "not": "!",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "div": "/",
    "mod": "%",
}
_RESERVED = {
    "new", "break", "var", "for", "while", "continue", "else", "if", "return", "_errors",
    "do", "function", "empty", "size",
}  # fmt: skip
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>"|')
  | (?P<wrapped>\$\{)
  | (?P<backtick>`)
  | (?P<name>[^\W\d][\w$]*|\$[\w$]*)
  | (?P<op>&&|\|\||==|!=|<=|>=|=~|[-+*/%<>!(),.?:\[\]=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, quoted (a backticked or ${} name), op, end
    text: str
    value: Any
    position: int  # 1-based


def parse(text: str) -> Expression:
    """The expression tree of ``text``; :class:`MappingError` naming the position of a syntax
    error, an unknown function, a wrong number of arguments or a bad constant argument."""
    if not isinstance(text, str) or not text.strip():
        raise MappingError(
            "The expression is empty.", fix="Write an expression such as lower(email)."
        )
    parser = _Parser(text, _tokens(text))
    expression = parser.expression()
    parser.expect_end()
    return expression


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        match = _TOKEN.match(text, i)
        if match is None:
            raise _syntax(text, i + 1, f"unexpected character {text[i]!r}")
        kind = match.lastgroup or ""
        if kind == "space":
            i = match.end()
            continue
        if kind in _READERS:
            token_kind, read = _READERS[kind]
            value, end = read(text, i)
            tokens.append(_Token(token_kind, text[i:end], value, i + 1))
            i = end
            continue
        word = match.group()
        if kind == "number":
            if len(word) > MAX_NUMBER_CHARS:
                raise _syntax(
                    text,
                    i + 1,
                    f"the number here has {len(word):,} characters; a number may have at most "
                    f"{MAX_NUMBER_CHARS}",
                )
            number: float = float(word) if any(c in word for c in ".eE") else int(word)
            if isinstance(number, int) and not -(2**63) <= number < 2**63:
                raise _syntax(text, i + 1, f"the number {word} is too large for a long")
            tokens.append(_Token("number", word, number, i + 1))
        elif kind == "name" and word in _WORD_OPERATORS:
            tokens.append(_Token("op", _WORD_OPERATORS[word], None, i + 1))
        else:
            tokens.append(_Token(kind, word, word, i + 1))
        i = match.end()
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


def _string(text: str, start: int) -> tuple[str, int]:
    """A quoted string from ``start``: ``\\\\ \\" \\' \\n \\t \\r \\uXXXX`` are escapes; any
    other backslash is kept, so regular expressions such as ``"\\d+"`` read as written."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\\" and i + 1 < len(text):
            following = text[i + 1]
            if following in _ESCAPES:
                out.append(_ESCAPES[following])
                i += 2
                continue
            if following == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
        out.append(char)
        i += 1
    raise _syntax(text, start + 1, f"the string starting here has no closing {quote}")


def _wrapped(text: str, start: int) -> tuple[str, int]:
    """``${…}``: the text up to the closing brace (``\\}`` escapes one)."""
    i = start + 2
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 2
            continue
        if text[i] == "}":
            return text[start : i + 1], i + 1
        i += 1
    raise _syntax(text, start + 1, "the ${ starting here has no closing }")


def _backticked(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "`":
            if text[i + 1 : i + 2] == "`":
                out.append("`")
                i += 2
                continue
            if not out:
                raise _syntax(text, start + 1, "an empty name in backticks")
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise _syntax(text, start + 1, "the backtick starting here has no closing backtick")


def _syntax(text: str, position: int, problem: str) -> MappingError:
    return MappingError(
        f"Syntax error at position {position} of {_shown(text, position)}: {problem}.",
        fix="Fix the expression; docs/reference/mapping-functions.md describes the syntax.",
        position=position,
    )


def _too_large(text: str, position: int, problem: str) -> MappingError:
    return MappingError(
        f"The expression is too large at position {position} of {_shown(text, position)}: "
        f"{problem}.",
        fix="Split it into simpler expressions or several mappings; concat(a, b, c) joins many "
        "values in one level where a + b + c takes one level per term.",
        position=position,
    )


_SHOWN_CHARS = 120


def _shown(text: str, position: int) -> str:
    """The expression quoted, or for a long one its length and the text around ``position``."""
    if len(text) <= _SHOWN_CHARS:
        return repr(text)
    start = max(0, min(position - 1 - _SHOWN_CHARS // 2, len(text) - _SHOWN_CHARS))
    near = text[start : start + _SHOWN_CHARS]
    return f"an expression of {len(text):,} characters (near {near!r})"


#: Tokens read by a function of their own: the kind of token, and the reader.
_READERS: dict[str, tuple[str, Callable[[str, int], tuple[str, int]]]] = {
    "string": ("string", _string),
    "wrapped": ("wrapped", _wrapped),
    "backtick": ("quoted", _backticked),
}
_EQUALITY = ("==", "!=")
_COMPARISON = ("<", "<=", ">", ">=")
_LEVELS = (("||",), ("&&",), _EQUALITY, _COMPARISON, ("+", "-"), ("*", "/", "%"))
#: The precedence level of each binary operator, 0 the loosest.
_LEVEL = {op: level for level, ops in enumerate(_LEVELS) for op in ops}
_Node = TypeVar("_Node", bound=Expression)


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.i = 0
        self.nesting = 0  # the levels the parser is inside of (see deeper)

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def expect(self, op: str) -> _Token:
        if not self.at(op):
            raise self.error(f"expected '{op}'")
        return self.advance()

    def expect_end(self) -> None:
        if self.token.kind != "end":
            raise self.error("expected the end of the expression")

    def error(self, problem: str, token: _Token | None = None) -> MappingError:
        token = token or self.token
        found = "the end" if token.kind == "end" else f"'{token.text}'"
        return _syntax(self.text, token.position, f"{problem}, found {found}")

    # --- limits -------------------------------------------------------------------------------
    # Each recursion of the parser enters a level (deeper) and leaves it when it returns; the
    # parser takes at most 6 frames between two levels. Nodes built without recursing (a chain
    # a + b + c, method calls a.f().g()) are measured as they are built (built).

    def deeper(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.too_deep(self.token)

    def built(self, node: _Node, token: _Token) -> _Node:
        if node.depth > MAX_DEPTH:
            raise self.too_deep(token)
        if node.size > MAX_NODES:
            raise self.too_many(token)
        return node

    def too_deep(self, token: _Token) -> MappingError:
        return _too_large(
            self.text,
            token.position,
            f"it nests more than {MAX_DEPTH} levels deep (each operator, function call, ?:, "
            "array or pair of parentheses adds a level)",
        )

    def too_many(self, token: _Token) -> MappingError:
        return _too_large(
            self.text,
            token.position,
            f"it has more than {MAX_NODES:,} parts (values, names, operators and calls)",
        )

    # --- grammar, loosest first ----------------------------------------------------------------

    def expression(self) -> Expression:
        self.deeper()
        result = self.binary(0)
        if self.at("?"):
            token = self.advance()
            then = self.expression()
            self.expect(":")
            otherwise = self.expression()
            result = self.call("iif", (result, then, otherwise), token)
        self.nesting -= 1
        return result

    def binary(self, min_level: int) -> Expression:
        """Binary operators of ``min_level`` (see _LEVEL) or tighter, left-associative: an
        operator's right operand takes only tighter ones (precedence climbing)."""
        left = self.unary()
        while self.token.kind == "op" and _LEVEL.get(self.token.text, -1) >= min_level:
            token = self.advance()
            self.deeper()
            right = self.binary(_LEVEL[token.text] + 1)
            self.nesting -= 1
            left = self.built(Binary(token.text, left, right, token.position), token)
        return left

    def unary(self) -> Expression:
        if self.at("!", "-", "+"):
            token = self.advance()
            self.deeper()
            operand = self.unary()
            self.nesting -= 1
            if token.text == "+":
                return operand
            if token.text == "-" and isinstance(operand, Literal) and _is_number(operand.value):
                return Literal(-operand.value, token.position)
            return self.built(Unary(token.text, operand, token.position), token)
        return self.postfix(self.primary())

    def postfix(self, target: Expression) -> Expression:
        while self.at(".") and self.tokens[self.i + 1].kind == "name":
            self.advance()
            name = self.advance()
            if not self.at("("):
                raise self.error(f"expected '(' to call the method {name.text}()")
            self.advance()
            args = self.items(")")
            target = self.call(name.text, (target, *args), name)
        if self.at("="):
            raise self.error("'=' is not an operator (compare with ==)")
        return target

    def primary(self) -> Expression:
        token = self.token
        if token.kind == "number":
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == "string":
            self.advance()
            return Literal(token.value, token.position)
        if token.kind == "wrapped":
            self.advance()
            return Reference(_wrapped_path(self.text, token), token.position)
        if token.kind in ("name", "quoted"):
            return self.name()
        if self.at("("):
            self.advance()
            inner = self.expression()
            self.expect(")")
            return inner
        if self.at("["):
            self.advance()
            items = self.items("]")
            return self.call("to_array", (Literal(True, token.position), *items), token)
        raise self.error("expected a value")

    def name(self) -> Expression:
        first = self.advance()
        if first.kind == "name":
            if first.text in ("true", "false"):
                return Literal(first.text == "true", first.position)
            if first.text == "null":
                return Literal(None, first.position)
            if self.at("("):
                self.advance()
                return self.call(first.text, self.items(")"), first)
            if first.text in _RESERVED:
                raise _syntax(
                    self.text,
                    first.position,
                    f"'{first.text}' is a reserved word; write ${{{first.text}}} for an "
                    "attribute of that name",
                )
        path = [first.value]
        while (
            self.at(".")
            and self.tokens[self.i + 1].kind in ("name", "quoted")
            and not (
                self.tokens[self.i + 1].kind == "name"
                and self.tokens[self.i + 2].kind == "op"
                and self.tokens[self.i + 2].text == "("
            )
        ):
            self.advance()
            path.append(self.advance().value)
        return Reference(tuple(path), first.position)

    def items(self, close: str) -> tuple[Expression, ...]:
        """Expressions separated by commas up to ``close`` (the opening bracket is read)."""
        items: list[Expression] = []
        size = 0
        if self.at(close):
            self.advance()
            return ()
        while True:
            items.append(self.expression())
            size += items[-1].size
            if size > MAX_NODES:
                raise self.too_many(self.token)
            if self.at(close):
                self.advance()
                return tuple(items)
            if not self.at(","):
                raise self.error(f"expected ',' or '{close}'")
            self.advance()

    def call(self, name: str, args: tuple[Expression, ...], token: _Token) -> Call:
        function = lookup(name, token.position)
        count = len(args)
        if count < function.min_args or (
            function.max_args is not None and count > function.max_args
        ):
            raise _syntax(
                self.text,
                token.position,
                f"{name}() takes {function.arity()}, not {count}",
            )
        constants: dict[int, Any] = {}
        for position in sorted(function.constant_positions(count)):
            arg = args[position]
            if not isinstance(arg, Literal):
                raise _syntax(
                    self.text,
                    arg.position or token.position,
                    f"argument {position + 1} of {name}() must be a literal value "
                    f'(such as "yyyy-MM-dd" or 2), not {_brief(str(arg))}',
                )
            constants[position] = arg.value
        if function.check is not None:
            problem = function.check(constants)
            if problem:
                raise _syntax(self.text, token.position, f"{name}(): {problem}")
        return self.built(Call(function.name, args, token.position), token)


def _brief(text: str) -> str:
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _wrapped_path(text: str, token: _Token) -> Path:
    body = token.value[2:-1]
    segments: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current.append(body[i + 1])
            i += 2
            continue
        if body[i] == ".":
            segments.append("".join(current))
            current = []
        else:
            current.append(body[i])
        i += 1
    segments.append("".join(current))
    if not all(segments):
        raise _syntax(text, token.position, f"{token.text} has an empty name")
    return tuple(segments)
