"""The one expression grammar of ``--where``, ``--fail-if`` and every gate (docs/expressions.md).

Text is parsed into an allow-listed tree before anything is evaluated: field names,
literals, comparisons, ``AND``/``OR``/``NOT``, ``IN`` lists of literals, ``LIKE``/``ILIKE``,
regular expressions (``~``), ``BETWEEN``, ``IS [NOT] NULL``, arithmetic and a few named
functions. The tree is then checked against the fields' types and compiled to a polars
expression. Nothing else can be built: there is no SQL engine behind it, so no subquery and
no table function exists, and an expression cannot read a file or reach the network.

Parsing is linear in the length of the text: one scan by a regular expression whose
quantifiers cannot backtrack, a precedence-climbing parser that keeps ``AND``/``OR`` chains
and ``IN`` lists as flat lists (compiled to one n-ary polars node, not a 3,000-deep tree),
and a bound on nesting depth. Every error is an :class:`ExpressionError` in the user's
terms, quoting the text with a caret under the problem.

Must not: call ``eval``, hand text to any SQL engine, or import anything above analysis.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from genailog.errors import ExpressionError
from genailog.textsafe import visible

#: Parentheses and function calls nest at most this deep (the parser recurses on them).
MAX_DEPTH = 64

_TOKEN = re.compile(
    r"""(?P<ws>\s++)
      | (?P<number>(?:\d++(?:\.\d*+)?|\.\d++)(?:[eE][+-]?\d++)?)
      | (?P<string>'(?:[^']++|'')*+')
      | (?P<quoted>"(?:[^"]++|"")*+")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*+(?:\.[A-Za-z_][A-Za-z0-9_]*+)*+)
      | (?P<op><=|>=|<>|!=|==|!~\*?|~\*?|[=<>+\-*/%(),])
    """,
    re.VERBOSE,
)

_KEYWORDS = frozenset({"and", "or", "not", "in", "like", "ilike", "between", "is", "null",
                       "true", "false", "regexp", "rlike"})
#: SQL words that start something this grammar deliberately lacks.
_QUERY_WORDS = frozenset({"select", "from", "with", "union", "exists", "values", "table"})
_COMPARISONS = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le",
                ">": "gt", ">=": "ge"}
_REGEX_OPS = {"~": (False, False), "~*": (False, True), "!~": (True, False),
              "!~*": (True, True)}
_INT64 = (-(2**63), 2**63 - 1)
#: Prefixes naming another source's value of a name: ``reference.cost_per_request`` is
#: the reference summary's ``cost_per_request`` (summarize --reference). A dotted name is
#: one name to the parser; the caller lists which ones exist.
NAMESPACES: dict[str, str] = {
    "reference": "the reference's value of {name}; it needs --reference (main's logs or "
                 "its summary JSON)",
}


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, quoted, name, op, end
    text: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    @property
    def word(self) -> str:
        return self.text.lower() if self.kind == "name" else ""


@dataclass(frozen=True)
class Node:
    """One node of the tree: ``kind`` says which, ``span`` is its place in the text."""

    kind: str  # field, literal, not, neg, compare, arith, and, or, in, like, regex,
    #            between, isnull, call
    span: tuple[int, int]
    value: Any = None  # field name, literal value, operator, function name
    args: tuple[Node, ...] = ()
    negated: bool = False
    flag: bool = False  # case-insensitive (ILIKE, ~*)


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its text, its tree, and the field names it refers to."""

    text: str
    tree: Node
    option: str
    names: tuple[tuple[str, tuple[int, int]], ...] = field(default=())

    def error(self, message: str, span: tuple[int, int]) -> ExpressionError:
        return ExpressionError(f"{self.option}: {message}\n{caret(self.text, span)}")


def caret(text: str, span: tuple[int, int], width: int = 72) -> str:
    """Two indented lines: (a window of) ``text`` and a caret under ``span``."""
    start, end = span
    left = max(0, min(start - 20, len(text) - width))
    right = min(len(text), max(left + width, end))
    shown = visible(text[left:right], newlines=False).replace("\\x09", " ")
    lead = "…" if left else ""
    offset = len(lead) + len(visible(text[left:start], newlines=False).replace("\\x09", " "))
    marks = max(1, len(visible(text[start:end], newlines=False).replace("\\x09", " ")))
    return (f"  {lead}{shown}{'…' if right < len(text) else ''}\n"
            f"  {' ' * offset}{'^' * min(marks, width)}")


def tokenize(text: str, option: str) -> list[Token]:
    """The tokens of ``text`` in one left-to-right scan, ending with an ``end`` token."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _lexical_error(text, pos, option)
        kind = match.lastgroup or "op"
        if kind != "ws":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _lexical_error(text: str, pos: int, option: str) -> ExpressionError:
    char = text[pos]
    if char in "'\"":
        what = "string" if char == "'" else "quoted field name"
        message = f"this {what} is never closed (add a closing {char})"
        return ExpressionError(f"{option}: {message}\n{caret(text, (pos, len(text)))}")
    run = len(text[pos:]) - len(text[pos:].lstrip(char)) if char in "&|:" else 1
    message = _CHARACTER_HINTS.get(char, "").replace(f"'{char}'", f"'{char * run}'", 1) \
        or f"unexpected character {visible(char, newlines=False)!r}"
    return ExpressionError(f"{option}: {message}\n{caret(text, (pos, pos + run))}")


#: What a character this grammar lacks means in the languages users bring it from.
_CHARACTER_HINTS = {
    ";": "';' is not allowed: an expression is one condition, not statements",
    "&": "'&' is not an operator here: join conditions with AND",
    "|": "'|' is not an operator here: join conditions with OR",
    "!": "'!' alone is not an operator here: negate with NOT (!= and !~ are fine)",
    ":": "':' is not allowed: there are no type casts; compare the field as it is",
    "`": "backquotes are not quotes here: a field name goes in double quotes, text in "
         "single quotes",
}


class _Parser:
    """Precedence climbing: or < and < not < predicate < additive < term < unary < primary."""

    def __init__(self, text: str, option: str) -> None:
        self.text = text
        self.option = option
        self.tokens = tokenize(text, option)
        self.pos = 0
        self.depth = 0
        self.names: list[tuple[str, tuple[int, int]]] = []

    # -- helpers ------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def at_word(self, *words: str) -> bool:
        return self.tok.word in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def fail(self, message: str, token: Token | None = None) -> ExpressionError:
        token = token or self.tok
        span = (token.start, max(token.end, token.start + 1))
        return ExpressionError(f"{self.option}: {message}\n{caret(self.text, span)}")

    def expect_op(self, op: str, context: str) -> Token:
        if not self.at_op(op):
            raise self.fail(f"expected '{op}' {context}, found {_describe(self.tok)}")
        return self.take()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"nested more than {MAX_DEPTH} levels deep")

    # -- grammar ------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise self.fail("the expression is empty")
        node = self.parse_or()
        if self.tok.kind != "end":
            raise self.fail(_trailing_message(self.tok))
        return node

    def parse_or(self) -> Node:
        return self._chain("or", self.parse_and)

    def parse_and(self) -> Node:
        return self._chain("and", self.parse_not)

    def _chain(self, word: str, operand: Callable[[], Node]) -> Node:
        items = [operand()]
        while self.at_word(word):
            self.take()
            items.append(operand())
        if len(items) == 1:
            return items[0]
        return Node(word, (items[0].span[0], items[-1].span[1]), args=tuple(items))

    def parse_not(self) -> Node:
        starts = []
        while self.at_word("not"):
            starts.append(self.take().start)
        node = self.parse_predicate()
        for start in reversed(starts):
            node = Node("not", (start, node.span[1]), args=(node,))
        return node

    def parse_predicate(self) -> Node:
        left = self.parse_additive()
        if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
            op = _COMPARISONS[self.take().text]
            right = self.parse_additive()
            return Node("compare", (left.span[0], right.span[1]), op, (left, right))
        if self.tok.kind == "op" and self.tok.text in _REGEX_OPS:
            negated, insensitive = _REGEX_OPS[self.take().text]
            return self._pattern("regex", left, negated, insensitive)
        if self.at_word("is"):
            self.take()
            negated = bool(self.at_word("not") and self.take())
            if not self.at_word("null"):
                raise self.fail(f"expected NULL after IS{' NOT' if negated else ''}, "
                                f"found {_describe(self.tok)}")
            end = self.take().end
            return Node("isnull", (left.span[0], end), args=(left,), negated=negated)
        negated = False
        if self.at_word("not") and self.tokens[self.pos + 1].word in (
                "in", "like", "ilike", "between", "regexp", "rlike"):
            self.take()
            negated = True
        return self._keyword_predicate(left, negated)

    def _keyword_predicate(self, left: Node, negated: bool) -> Node:
        word = self.tok.word
        if word == "in":
            self.take()
            return self._in_list(left, negated)
        if word in ("like", "ilike"):
            self.take()
            return self._pattern("like", left, negated, word == "ilike")
        if word in ("regexp", "rlike"):
            self.take()
            return self._pattern("regex", left, negated, False)
        if word == "between":
            self.take()
            low = self.parse_additive()
            if not self.at_word("and"):
                raise self.fail(f"expected AND in BETWEEN, found {_describe(self.tok)}")
            self.take()
            high = self.parse_additive()
            return Node("between", (left.span[0], high.span[1]), args=(left, low, high),
                        negated=negated)
        return left

    def _pattern(self, kind: str, left: Node, negated: bool, insensitive: bool) -> Node:
        token = self.tok
        if token.kind != "string":
            raise self.fail(f"a {'LIKE' if kind == 'like' else 'regular expression'} "
                            f"pattern must be a string in single quotes, found "
                            f"{_describe(token)}")
        self.take()
        pattern = Node("literal", (token.start, token.end), _unquote(token.text))
        return Node(kind, (left.span[0], token.end), args=(left, pattern), negated=negated,
                    flag=insensitive)

    def _in_list(self, left: Node, negated: bool) -> Node:
        self.expect_op("(", "after IN")
        if self.at_word(*_QUERY_WORDS):
            raise self.fail("subqueries are not allowed: IN takes a list of values, "
                            "e.g. model IN ('gpt-4.1', 'gpt-4o')")
        items = [self._in_item()]
        while self.at_op(","):
            self.take()
            items.append(self._in_item())
        end = self.expect_op(")", "to close the IN list").end
        return Node("in", (left.span[0], end), args=(left, *items), negated=negated)

    def _in_item(self) -> Node:
        item = self.parse_unary()
        if item.kind != "literal" or item.value is None:
            raise ExpressionError(
                f"{self.option}: an IN list holds values (numbers, 'strings', TRUE, FALSE), "
                f"not fields, expressions or NULL\n{caret(self.text, item.span)}")
        return item

    def parse_additive(self) -> Node:
        return self._arith(("+", "-"), self.parse_term)

    def parse_term(self) -> Node:
        return self._arith(("*", "/", "%"), self.parse_unary)

    def _arith(self, ops: tuple[str, ...], operand: Callable[[], Node]) -> Node:
        node = operand()
        while self.at_op(*ops):
            op = self.take().text
            right = operand()
            node = Node("arith", (node.span[0], right.span[1]), op, (node, right))
        return node

    def parse_unary(self) -> Node:
        starts = []
        while self.at_op("-", "+"):
            token = self.take()
            if token.text == "-":
                starts.append(token.start)
        node = self.parse_primary()
        for start in reversed(starts):
            if node.kind == "literal" and isinstance(node.value, int | float) \
                    and not isinstance(node.value, bool):
                node = Node("literal", (start, node.span[1]), -node.value)
            else:
                node = Node("neg", (start, node.span[1]), args=(node,))
        return node

    def parse_primary(self) -> Node:
        token = self.tok
        if token.kind == "number":
            self.take()
            return Node("literal", (token.start, token.end), _number(token, self))
        if token.kind == "string":
            self.take()
            return Node("literal", (token.start, token.end), _unquote(token.text))
        if token.kind == "quoted":
            self.take()
            return self._field(token.text[1:-1].replace('""', '"'), token, quoted=True)
        if token.kind == "name":
            return self._name()
        if self.at_op("("):
            return self._parenthesised()
        before = self.tokens[self.pos - 1] if self.pos else None
        if token.kind == "op" and before is not None and before.kind == "op" \
                and before.end == token.start and before.text not in "()":
            joined = Token("op", before.text + token.text, before.start)
            raise self.fail(f"{_describe(joined)} is not an operator; comparisons are "
                            "=, !=, <>, <, <=, >, >= and arithmetic is + - * / %", joined)
        raise self.fail(f"expected a field, a value or '(', found {_describe(token)}")

    def _parenthesised(self) -> Node:
        start = self.take().start
        if self.at_word(*_QUERY_WORDS):
            raise self.fail("subqueries are not allowed: an expression tests each record's "
                            "fields; it cannot run a query")
        self.nest()
        inner = self.parse_or()
        self.depth -= 1
        end = self.expect_op(")", "to close '('").end
        return Node(inner.kind, (start, end), inner.value, inner.args, inner.negated,
                    inner.flag)

    def _name(self) -> Node:
        token = self.take()
        word = token.word
        if word in ("true", "false"):
            return Node("literal", (token.start, token.end), word == "true")
        if word == "null":
            return Node("literal", (token.start, token.end), None)
        if word in _QUERY_WORDS:
            raise self.fail(f"{token.text.upper()} is not allowed: an expression tests each "
                            "record's fields; it cannot run a query", token)
        if self.at_op("("):
            return self._call(token)
        if word in _KEYWORDS:
            raise self.fail(f"expected a field or a value, found {token.text.upper()}", token)
        return self._field(token.text, token, quoted=False)

    def _field(self, name: str, token: Token, *, quoted: bool) -> Node:
        span = (token.start, token.end)
        self.names.append((name, span))
        return Node("field", span, name, flag=quoted)

    def _call(self, token: Token) -> Node:
        name = token.word
        if name not in FUNCTIONS:
            raise self.fail(
                f"unknown function {token.text}(); functions: "
                f"{', '.join(f'{n}()' for n in sorted(FUNCTIONS))}. An expression cannot "
                "read files, run queries or reach the network", token)
        self.take()
        self.nest()
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.parse_or())
            while self.at_op(","):
                self.take()
                args.append(self.parse_or())
        self.depth -= 1
        end = self.expect_op(")", f"to close {name}(").end
        low, high = FUNCTIONS[name][0]
        if not low <= len(args) <= high:
            wanted = str(low) if low == high else f"{low} or more" if high > 9 else \
                f"{low} to {high}"
            raise ExpressionError(f"{self.option}: {name}() takes {wanted} argument(s), "
                                  f"not {len(args)}\n{caret(self.text, (token.start, end))}")
        return Node("call", (token.start, end), name, tuple(args))


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    return repr(visible(token.text, newlines=False)[:40])


def _trailing_message(token: Token) -> str:
    if token.kind in ("string", "number", "name", "quoted"):
        return (f"expected AND, OR or an operator before {_describe(token)}")
    return f"unexpected {_describe(token)}"


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _number(token: Token, parser: _Parser) -> int | float:
    text = token.text
    if re.fullmatch(r"\d+", text):
        value = int(text)
        if value > _INT64[1] + 1:
            raise parser.fail("this integer does not fit in 64 bits", token)
        return value
    number = float(text)
    if not math.isfinite(number):
        raise parser.fail("this number is too large to be a finite float", token)
    return number


def parse(text: str, option: str = "--where") -> Expression:
    """Parse ``text`` (the value of ``option``) into a tree; syntax errors raise."""
    parser = _Parser(text, option)
    tree = parser.parse()
    return Expression(text, tree, option, tuple(parser.names))


# -- types and compilation ------------------------------------------------------------------
#: Kinds of value: number, string, bool, time, null (NULL or an all-null column), other
#: (lists, structs) and any (the type is not known yet, e.g. gates before any data).
Kind = str

#: name -> ((fewest, most arguments), argument kind, result kind or "same")
FUNCTIONS: dict[str, tuple[tuple[int, int], Kind, Kind]] = {
    "lower": ((1, 1), "string", "string"),
    "upper": ((1, 1), "string", "string"),
    "length": ((1, 1), "string", "number"),
    "abs": ((1, 1), "number", "number"),
    "round": ((1, 2), "number", "number"),
    "coalesce": ((2, 99), "any", "same"),
}

_KIND_WORDS = {"number": "a number", "string": "text", "bool": "true/false",
               "time": "a time", "null": "NULL", "other": "a list or object"}


def kind_of(dtype: pl.DataType | None) -> Kind:
    """The expression kind of a polars dtype (``None``: not known yet)."""
    if dtype is None:
        return "any"
    if dtype.is_numeric():
        return "number"
    if dtype == pl.Boolean:
        return "bool"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "string"
    if isinstance(dtype, pl.Datetime | pl.Date):
        return "time"
    if dtype == pl.Null:
        return "null"
    return "other"


@dataclass
class _Compiler:
    expression: Expression
    dtypes: Mapping[str, pl.DataType | None]
    parse_time: Callable[[str], datetime] | None
    kinds: dict[str, Kind] = field(init=False)

    def __post_init__(self) -> None:
        self.kinds = {name: kind_of(dtype) for name, dtype in self.dtypes.items()}

    def fail(self, message: str, node: Node) -> ExpressionError:
        return self.expression.error(message, node.span)

    def compile(self, node: Node) -> tuple[pl.Expr, Kind]:
        method = getattr(self, f"_{node.kind}")
        result: tuple[pl.Expr, Kind] = method(node)
        return result

    def condition(self, node: Node, role: str) -> pl.Expr:
        expr, kind = self.compile(node)
        if kind not in ("bool", "any", "null"):
            hint = ""
            if node.kind == "field" and kind == "number":
                hint = f"; compare it, e.g. {node.value} > 0"
            elif node.kind == "field" and kind == "string":
                hint = f"; compare it, e.g. {node.value} = 'value'"
            raise self.fail(f"{role} must be true or false, but this is "
                            f"{_KIND_WORDS[kind]}{hint}", node)
        return expr.cast(pl.Boolean) if kind == "null" else expr

    def _field(self, node: Node) -> tuple[pl.Expr, Kind]:
        return pl.col(node.value), self.kinds.get(node.value, "any")

    def _literal(self, node: Node) -> tuple[pl.Expr, Kind]:
        value = node.value
        if value is None:
            return pl.lit(None), "null"
        if isinstance(value, bool):
            return pl.lit(value), "bool"
        if isinstance(value, str):
            return pl.lit(value, dtype=pl.String), "string"
        if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            raise self.fail("this integer does not fit in 64 bits", node)
        return pl.lit(value), "number"

    def _not(self, node: Node) -> tuple[pl.Expr, Kind]:
        return ~self.condition(node.args[0], "the operand of NOT"), "bool"

    def _and(self, node: Node) -> tuple[pl.Expr, Kind]:
        return pl.all_horizontal(self._conditions(node, "AND")), "bool"

    def _or(self, node: Node) -> tuple[pl.Expr, Kind]:
        """``x = 1 OR x = 2 OR ...`` is one membership test per field (one pass over the
        column instead of one per term); the other terms are OR-ed as they are."""
        equalities: dict[str, list[Node]] = {}
        others: list[Node] = []
        for item in node.args:
            name = self._field_equal_to_literal(item)
            if name is None:
                others.append(item)
            else:
                equalities.setdefault(name, []).append(item)
        exprs = []
        for name, items in equalities.items():
            if len(items) == 1:
                others.append(items[0])
                continue
            values = [next(a.value for a in i.args if a.kind == "literal") for i in items]
            column = pl.col(name)
            exprs.append(pl.when(column.is_null()).then(None)
                         .otherwise(self.member(column, self.dtypes.get(name), values)))
        exprs += [self.condition(item, "each side of OR") for item in others]
        return (exprs[0] if len(exprs) == 1 else pl.any_horizontal(exprs)), "bool"

    def _field_equal_to_literal(self, node: Node) -> str | None:
        """The field of ``field = literal`` (either order, same kind, not a time)."""
        if node.kind != "compare" or node.value != "eq":
            return None
        kinds = {a.kind for a in node.args}
        if kinds != {"field", "literal"}:
            return None
        name = next(a.value for a in node.args if a.kind == "field")
        literal = next(a for a in node.args if a.kind == "literal")
        wanted = self.kinds.get(name)
        if wanted not in ("number", "string", "bool") or literal.value is None \
                or self._literal(literal)[1] != wanted:
            return None
        return str(name)

    def member(self, value: pl.Expr, dtype: pl.DataType | None, values: list[Any]) -> pl.Expr:
        """Whether ``value`` is one of ``values`` (of its kind). Polars compares numbers
        only within one type: whole numbers as Int64 when both sides are whole, else
        Float64."""
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            return value.is_in(values)
        whole = all(isinstance(v, int) for v in numbers)
        if whole and dtype is not None and dtype.is_integer():
            return value.cast(pl.Int64).is_in([int(v) for v in numbers])
        return value.cast(pl.Float64).is_in([float(v) for v in numbers])

    def _conditions(self, node: Node, word: str) -> list[pl.Expr]:
        return [self.condition(item, f"each side of {word}") for item in node.args]

    def _neg(self, node: Node) -> tuple[pl.Expr, Kind]:
        expr = self.operand(node.args[0], "number", "'-'")
        return -expr, "number"

    def _arith(self, node: Node) -> tuple[pl.Expr, Kind]:
        left = self.operand(node.args[0], "number", f"'{node.value}'")
        right = self.operand(node.args[1], "number", f"'{node.value}'")
        ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
            "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
            "/": lambda a, b: a / b, "%": lambda a, b: a % b}
        return ops[node.value](left, right), "number"

    def operand(self, node: Node, wanted: Kind, what: str) -> pl.Expr:
        expr, kind = self.compile(node)
        if kind not in (wanted, "any", "null"):
            raise self.fail(f"{what} needs {_KIND_WORDS[wanted]}, but this is "
                            f"{_KIND_WORDS[kind]}", node)
        return expr

    def _compare(self, node: Node) -> tuple[pl.Expr, Kind]:
        left, right = self.comparable(node.args[0], node.args[1])
        ops: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
            "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "lt": lambda a, b: a < b,
            "le": lambda a, b: a <= b, "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b}
        return ops[node.value](left, right), "bool"

    def comparable(self, a: Node, b: Node) -> tuple[pl.Expr, pl.Expr]:
        """Both sides compiled, after checking that they can be compared."""
        (left, lk), (right, rk) = self.compile(a), self.compile(b)
        if lk == "time" and rk == "string":
            return left, self.time_literal(b)
        if rk == "time" and lk == "string":
            return self.time_literal(a), right
        if lk in ("any", "null") or rk in ("any", "null") or lk == rk:
            return left, right
        hint = ""
        if "string" in (lk, rk):
            hint = "; put text in single quotes, e.g. model = 'gpt-4.1'"
        raise self.fail(f"cannot compare {_KIND_WORDS[lk]} with {_KIND_WORDS[rk]}{hint}",
                        Node("compare", (a.span[0], b.span[1])))

    def time_literal(self, node: Node) -> pl.Expr:
        if node.kind != "literal" or self.parse_time is None:
            raise self.fail("a time can be compared with a time or a date in quotes, "
                            "e.g. '2025-12-01'", node)
        try:
            return pl.lit(self.parse_time(node.value))
        except ExpressionError:
            raise
        except Exception:
            raise self.fail("not a date or time; use e.g. '2025-12-26' or "
                            "'2025-12-26T10:00:00Z'", node) from None

    def _between(self, node: Node) -> tuple[pl.Expr, Kind]:
        value, low = self.comparable(node.args[0], node.args[1])
        value, high = self.comparable(node.args[0], node.args[2])
        expr = (value >= low) & (value <= high)
        return (~expr if node.negated else expr), "bool"

    def _isnull(self, node: Node) -> tuple[pl.Expr, Kind]:
        expr, _ = self.compile(node.args[0])
        return (expr.is_not_null() if node.negated else expr.is_null()), "bool"

    def _in(self, node: Node) -> tuple[pl.Expr, Kind]:
        value, kind = self.compile(node.args[0])
        items = node.args[1:]
        values = []
        for item in items:
            _, item_kind = self.compile(item)
            if kind == "time" and item_kind == "string":
                values.append(self.time_literal(item))
                continue
            if kind not in ("any", "null") and item_kind != kind:
                raise self.fail(f"this list holds {_KIND_WORDS[item_kind]} but "
                                f"{_KIND_WORDS[kind]} is tested", item)
            values.append(pl.lit(item.value))
        dtype = self.dtypes.get(node.args[0].value) if node.args[0].kind == "field" else None
        found = pl.any_horizontal([value == v for v in values]) if kind == "time" else \
            self.member(value, dtype, [i.value for i in items])
        # SQL: a null value is neither in nor out of the list
        expr = pl.when(value.is_null()).then(None).otherwise(~found if node.negated else found)
        return expr, "bool"

    def _like(self, node: Node) -> tuple[pl.Expr, Kind]:
        return self._match(node, like_to_regex(node.args[1].value))

    def _regex(self, node: Node) -> tuple[pl.Expr, Kind]:
        return self._match(node, node.args[1].value)

    def _match(self, node: Node, pattern: str) -> tuple[pl.Expr, Kind]:
        if node.flag:
            pattern = "(?i)" + pattern
        try:  # the pattern is checked now, by the engine that will run it (linear time)
            pl.select(pl.lit("").str.contains(pattern))
        except Exception as exc:
            raise self.fail(f"invalid regular expression: {_regex_reason(exc)}",
                            node.args[1]) from None
        value = self.operand(node.args[0], "string", "LIKE or a regular expression")
        found = value.str.contains(pattern)
        return (~found if node.negated else found), "bool"

    def _call(self, node: Node) -> tuple[pl.Expr, Kind]:
        _, arg_kind, result = FUNCTIONS[node.value]
        if node.value == "coalesce":
            compiled = [self.compile(a) for a in node.args]
            kinds = {k for _, k in compiled if k not in ("any", "null")}
            if len(kinds) > 1:
                raise self.fail("coalesce() needs arguments of one type", node)
            return pl.coalesce([e for e, _ in compiled]), next(iter(kinds), "any")
        what = f"{node.value}()"
        args = [self.operand(a, arg_kind, what) for a in node.args]
        if node.value == "round":
            return self._round(node, args), result
        method: Callable[[pl.Expr], pl.Expr] = {
            "lower": lambda e: e.str.to_lowercase(), "upper": lambda e: e.str.to_uppercase(),
            "length": lambda e: e.str.len_chars(), "abs": lambda e: e.abs()}[node.value]
        return method(args[0]), result

    def _round(self, node: Node, args: list[pl.Expr]) -> pl.Expr:
        if len(node.args) == 1:
            return args[0].round(0)
        digits = node.args[1]
        if digits.kind != "literal" or not isinstance(digits.value, int) \
                or isinstance(digits.value, bool) or not 0 <= digits.value <= 15:
            raise self.fail("round()'s second argument is a whole number of decimals, "
                            "0 to 15", digits)
        return args[0].round(digits.value)


def _regex_reason(exc: Exception) -> str:
    """The regex engine's own reason (``unclosed group``), without the engine's echo of
    its internal expression."""
    found = re.search(r"^error: (.+)$", str(exc), re.MULTILINE)
    return found.group(1).strip()[:200] if found else "the engine cannot compile it"


def like_to_regex(pattern: str) -> str:
    """A SQL LIKE pattern (``%`` any run, ``_`` one character) as an anchored regex."""
    out = ["^(?s:"]
    for char in pattern:
        if char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        elif char in "\\.+*?()|[]{}^$#&-~":
            out.append("\\" + char)
        else:
            out.append(char)
    out.append(")$")
    return "".join(out)


def check_names(expression: Expression, known: Sequence[str], what: str,
                listing: str, namespaces: Mapping[str, str] = NAMESPACES) -> None:
    """Raise for the first name not in ``known``, with a suggestion and the valid names
    (``namespaces``: prefixes whose names this caller does not offer, each with why)."""
    known_set = set(known)
    for name, span in expression.names:
        if name in known_set:
            continue
        quoted = expression.text[span[0]] == '"'
        if quoted:
            raise expression.error(
                f'"{name}" in double quotes names a {what}, and there is no {what} {name}; '
                f"text goes in single quotes: {_requoted(expression, span)}", span)
        prefix, dot, rest = name.partition(".")
        if dot and prefix in namespaces and rest in known_set:
            raise expression.error(f"{name} is {namespaces[prefix].format(name=rest)}", span)
        guesses = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {guesses[0]}?)" if guesses else ""
        raise expression.error(f"unknown {what} {name}{hint}; {listing}", span)


def _requoted(expression: Expression, span: tuple[int, int]) -> str:
    """The expression with the double-quoted name at ``span`` in single quotes (the
    string escape doubled), shortened around it."""
    inner = expression.text[span[0] + 1:span[1] - 1].replace('""', '"').replace("'", "''")
    text = f"{expression.text[:span[0]]}'{inner}'{expression.text[span[1]:]}"
    return visible(text if len(text) <= 80 else f"'{inner}'", newlines=False)


def compile_expression(
    expression: Expression,
    schema: Mapping[str, pl.DataType | None],
    *,
    parse_time: Callable[[str], datetime] | None = None,
) -> pl.Expr:
    """The polars expression of a parsed condition over fields of ``schema`` (dtype None:
    not known yet). Type errors raise with a caret; nothing is evaluated."""
    compiler = _Compiler(expression, schema, parse_time)
    return compiler.condition(expression.tree, "the expression")
