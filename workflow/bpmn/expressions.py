"""Conditions and values written in BPMN files, evaluated safely (pure Python, no Django import).

A sequence-flow condition, a ``completionCondition`` or an assignee such as ``${initiator}`` is
*compiled once* with :func:`compile_expression` into an :class:`Expression`, which the engine
then evaluates as often as it likes against a mapping of process variables. User text is never
handed to ``eval``/``exec`` nor compiled into Python code objects: a tokenizer and a
precedence-climbing parser build a small tree, and the tree is turned into nested closures.

Syntax (the JUEL subset Camunda models use, plus Python spellings):

- wrapping: bare text (``amount > 5000``) or JUEL ``${...}`` / ``#{...}`` around the whole text;
  text outside the braces (JUEL "composite" templates) is not supported;
- literals: integers, decimals (``0.6``, ``1e3``), strings in single or double quotes with the
  escapes ``\\\\ \\' \\" \\n \\r \\t`` and ``\\u`` with four hex digits,
  ``true/false/null`` and ``True/False/None``, lists ``[1, 2]``;
- variables by name; ``a.b`` and ``a['b']`` read a key of a mapping, ``a[0]`` an item of a list,
  tuple or text. Nothing else is ever looked up: no attributes of objects, no method calls
  (``execution.getVariable('x')`` is refused at compile time: name the variable directly);
- calls ``name(args)`` of the functions the engine passes to :meth:`Expression.evaluate`;
- operators, loosest first:

  ====================  ===============================================
  ``c ? a : b``         conditional (right-associative)
  ``||  or``            either (short-circuit, gives True/False)
  ``&&  and``           both (short-circuit, gives True/False)
  ``not``               Python's ``not``: ``not a == b`` is ``not (a == b)``
  comparisons           ``== != < <= > >= eq ne lt le gt ge in`` ``not in``
  ``+  -``              add (numbers), join (two texts), subtract
  ``*  /  %  div mod``  ``/`` and ``div`` are true division (3/5 == 0.6),
                        ``%``/``mod`` follow Python (the sign of the divisor)
  ``-  +  !  empty``    prefix operators: ``!`` binds as tightly as minus
                        (JUEL), ``empty x`` is True for null, "" and
                        empty collections (and for an undefined ``x``)
  ``a.b  a[i]  f(x)``   property, index, call
  ====================  ===============================================

Rules:

- comparisons do not chain: ``a < b < c`` is refused (write ``a < b && b < c``);
- truthiness (``!``, ``&&``, ``||``, ``?:``) is Python's: null, false, 0, "" and empty
  collections are false, anything else true;
- true/false values are not numbers: ``true + 1`` and ``true < 2`` are errors, ``true == 1`` is
  false; ordering compares two numbers, two texts, or two dates/date-times/durations;
- a number compared (``< <= > >= == !=``) with text that is a plain decimal numeral reads the
  text as the number, as JUEL does: a money field stores ``"12345.60"`` (exact, unlike a
  float) and ``amount >= 5000`` still compares amounts;
- there is no exponent operator (``**``) and no text repetition (``'a' * 3``);
- an undefined variable, a missing key, an index out of range, a division by zero, an unknown
  function or a comparison of unrelated types raises :class:`ExpressionError` at evaluation (the
  engine turns it into an incident) -- except inside ``empty``, where a missing value is empty;
- limits: 2,000 characters of source and 50 levels of nesting; names starting or ending with
  ``__`` are refused.

Positions in error messages count characters of the source as written, from 1.
"""

from __future__ import annotations

import datetime
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_LENGTH",
    "Expression",
    "ExpressionError",
    "compile_expression",
    "is_expression",
]

MAX_LENGTH = 2000  # characters of source
MAX_DEPTH = 50  # levels of nesting (parentheses, operators, calls ...)


class ExpressionError(Exception):
    """An expression that cannot be compiled or evaluated; the message is plain English for a
    process designer ("unexpected ')' at position 12", "unknown variable 'amount'")."""


Evaluator = Callable[[Mapping[str, Any], Mapping[str, Callable[..., Any]]], Any]

_NO_FUNCTIONS: Mapping[str, Callable[..., Any]] = {}


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression: what it reads (``names``: variables, ``functions``: function
    names) and how to evaluate it. Build it with :func:`compile_expression`."""

    source: str  # the text as written in the file
    names: frozenset[str]  # variable names it reads (the first name of ``a.b.c``)
    functions: frozenset[str]  # function names it calls
    _run: Evaluator = field(repr=False, compare=False)

    def evaluate(
        self,
        variables: Mapping[str, Any],
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Any:
        """The value of the expression for ``variables``; ``functions`` are the only callables
        it may call. Raises :class:`ExpressionError` for every failure (undefined variable,
        type mismatch, division by zero, a failing function ...)."""
        try:
            return self._run(variables, _NO_FUNCTIONS if functions is None else functions)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, LookupError) as exc:  # safety net
            raise ExpressionError(f"cannot evaluate {self.source!r}: {exc}") from exc

    def __reduce__(self) -> tuple[Any, ...]:
        # closures do not pickle: an expression travels as its source and is compiled again
        return (compile_expression, (self.source,))


def is_expression(text: str) -> bool:
    """True for text wrapped JUEL-style as ``${...}`` or ``#{...}`` (surrounding blanks
    allowed); a bare ``approved`` or a literal such as ``PT2H`` is not."""
    stripped = text.strip()
    return len(stripped) >= 3 and stripped[:2] in ("${", "#{") and stripped[-1] == "}"


def compile_expression(
    source: str, *, allowed_functions: Collection[str] | None = None
) -> Expression:
    """Parse ``source`` (bare or wrapped in ``${...}``/``#{...}``) once into an
    :class:`Expression`. With ``allowed_functions``, calls of any other name are refused.
    Raises :class:`ExpressionError` for text that is not a valid expression."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be text, not {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(source):,} characters; the limit is {MAX_LENGTH:,})"
        )
    lo, hi = _body(source)
    tokens = _tokenize(source, lo, hi)
    if tokens[0].kind == _END:
        raise ExpressionError("empty expression")
    parser = _Parser(source, tokens)
    tree = parser.parse()
    if allowed_functions is not None:
        allowed = (
            list(allowed_functions)
            if isinstance(allowed_functions, Sequence)
            else sorted(allowed_functions)
        )
        for name, pos in parser.calls:
            if name not in allowed:
                known = f"known: {', '.join(allowed)}" if allowed else "no functions are available"
                raise ExpressionError(f"unknown function '{name}' at position {pos + 1}; {known}")
    return Expression(
        source=source,
        names=frozenset(parser.names),
        functions=frozenset(name for name, _ in parser.calls),
        _run=_compile(tree, lenient=False),
    )


# --- tokens ----------------------------------------------------------------------------------

_NUM, _STR, _CONST, _NAME, _OP, _END = "number", "text", "constant", "name", "operator", "end"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    value: Any  # number, text, constant value, name, or canonical operator
    text: str  # as written
    pos: int  # 0-based offset in the source
    end: int


_WORD_OPERATORS = {
    "and": "and",
    "or": "or",
    "not": "not",
    "in": "in",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "div": "/",
    "mod": "%",
    "empty": "empty",
}
_CONSTANTS: dict[str, Any] = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}
_SYMBOLS_2 = {"==": "==", "!=": "!=", "<=": "<=", ">=": ">=", "&&": "and", "||": "or"}
_SYMBOLS_1 = set("<>!+-*/%()[],.?:")
_REFUSED_2 = {
    "**": "the exponent operator '**' is not supported",
    "//": "the operator '//' is not supported; use '/' (or 'div') to divide",
}
_REFUSED_1 = {
    "=": "a single '=' is not an operator; use '==' to compare",
    "&": "a single '&' is not an operator; use '&&' or 'and'",
    "|": "a single '|' is not an operator; use '||' or 'or'",
}
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def _body(source: str) -> tuple[int, int]:
    """The range of the expression proper: inside ``${...}``/``#{...}``, or all of it."""
    stripped = source.strip()
    if stripped[:2] not in ("${", "#{"):
        return 0, len(source)
    start = source.index(stripped[:2])
    end = len(source.rstrip())
    if end - start < 3 or source[end - 1] != "}":
        raise ExpressionError(f"'{stripped[:2]}' at position {start + 1} is not closed by '}}'")
    return start + 2, end - 1


def _is_name_start(ch: str) -> bool:
    return ch.isalpha() or ch == "_"


def _is_name_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _tokenize(source: str, lo: int, hi: int) -> list[_Token]:
    tokens: list[_Token] = []
    i = lo
    while i < hi:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch.isdigit() or (ch == "." and i + 1 < hi and source[i + 1].isdigit()):
            i = _number(source, i, hi, tokens)
        elif ch in "'\"":
            i = _string(source, i, hi, tokens)
        elif _is_name_start(ch):
            j = i + 1
            while j < hi and _is_name_char(source[j]):
                j += 1
            word = source[i:j]
            if word.startswith("__") or word.endswith("__"):
                raise ExpressionError(
                    f"the name '{word}' at position {i + 1} is not allowed "
                    "(names may not start or end with '__')"
                )
            if word in _WORD_OPERATORS:
                tokens.append(_Token(_OP, _WORD_OPERATORS[word], word, i, j))
            elif word in _CONSTANTS:
                tokens.append(_Token(_CONST, _CONSTANTS[word], word, i, j))
            else:
                tokens.append(_Token(_NAME, word, word, i, j))
            i = j
        else:
            pair = source[i : i + 2] if i + 2 <= hi else ""
            if pair in _REFUSED_2:
                raise ExpressionError(f"{_REFUSED_2[pair]} (position {i + 1})")
            if pair in _SYMBOLS_2:
                tokens.append(_Token(_OP, _SYMBOLS_2[pair], pair, i, i + 2))
                i += 2
            elif ch in _SYMBOLS_1:
                tokens.append(_Token(_OP, ch, ch, i, i + 1))
                i += 1
            elif ch in _REFUSED_1:
                raise ExpressionError(f"{_REFUSED_1[ch]} (position {i + 1})")
            else:
                raise ExpressionError(f"unexpected character {ch!r} at position {i + 1}")
    tokens.append(_Token(_END, None, "", hi, hi))
    return tokens


def _number(source: str, i: int, hi: int, tokens: list[_Token]) -> int:
    j = i
    while j < hi and source[j].isdigit():
        j += 1
    is_float = False
    if j + 1 < hi and source[j] == "." and source[j + 1].isdigit():
        is_float = True
        j += 1
        while j < hi and source[j].isdigit():
            j += 1
    if j < hi and source[j] in "eE":
        k = j + 1
        if k < hi and source[k] in "+-":
            k += 1
        if k < hi and source[k].isdigit():
            is_float = True
            j = k
            while j < hi and source[j].isdigit():
                j += 1
    if j < hi and _is_name_char(source[j]):
        raise ExpressionError(
            f"unexpected character {source[j]!r} after the number at position {i + 1}"
        )
    text = source[i:j]
    if not text.isascii():  # other Unicode digits are not numbers here
        raise ExpressionError(f"{text!r} at position {i + 1} is not a number")
    value: int | float = float(text) if is_float else int(text)
    tokens.append(_Token(_NUM, value, text, i, j))
    return j


def _string(source: str, i: int, hi: int, tokens: list[_Token]) -> int:
    quote = source[i]
    chars: list[str] = []
    j = i + 1
    while j < hi:
        ch = source[j]
        if ch == quote:
            tokens.append(_Token(_STR, "".join(chars), source[i : j + 1], i, j + 1))
            return j + 1
        if ch == "\\":
            nxt = source[j + 1] if j + 1 < hi else ""
            if nxt in _ESCAPES and nxt:
                chars.append(_ESCAPES[nxt])
                j += 2
                continue
            hex_digits = source[j + 2 : j + 6]
            if (
                nxt == "u"
                and len(hex_digits) == 4
                and j + 6 <= hi
                and all(c in "0123456789abcdefABCDEF" for c in hex_digits)
            ):
                chars.append(chr(int(hex_digits, 16)))
                j += 6
                continue
            raise ExpressionError(
                f"unknown escape '\\{nxt}' in the text at position {j + 1} "
                "(use \\\\ for a backslash)"
            )
        chars.append(ch)
        j += 1
    raise ExpressionError(f"unterminated text starting at position {i + 1} (missing {quote})")


# --- tree ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    depth: int


@dataclass(frozen=True, slots=True)
class _Literal(_Node):
    value: Any


@dataclass(frozen=True, slots=True)
class _Name(_Node):
    name: str


@dataclass(frozen=True, slots=True)
class _Lookup(_Node):
    """``obj.key`` (key is a literal) or ``obj[index]``."""

    obj: _Node
    index: _Node
    label: str  # the source text of obj, for messages
    pos: int


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    name: str
    args: tuple[_Node, ...]
    pos: int


@dataclass(frozen=True, slots=True)
class _List(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Unary(_Node):
    op: str  # "-", "+", "not", "empty"
    operand: _Node
    text: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Binary(_Node):
    op: str  # arithmetic or comparison, canonical
    left: _Node
    right: _Node
    text: str  # as written
    pos: int


@dataclass(frozen=True, slots=True)
class _BoolOp(_Node):
    op: str  # "and" | "or"
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Conditional(_Node):
    condition: _Node
    then: _Node
    otherwise: _Node


# --- parser ----------------------------------------------------------------------------------

_TERNARY, _OR, _AND, _NOT, _COMPARE, _ADD, _MUL, _UNARY = range(1, 9)
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
_ADDITIVE = frozenset({"+", "-"})
_MULTIPLICATIVE = frozenset({"*", "/", "%"})


def _depth(*nodes: _Node) -> int:
    return 1 + max((n.depth for n in nodes), default=0)


class _Parser:
    """Precedence climbing over the token list; collects the names and calls it meets."""

    def __init__(self, source: str, tokens: list[_Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.i = 0
        self.nesting = 0
        self.names: set[str] = set()
        self.calls: list[tuple[str, int]] = []

    # helpers
    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, op: str) -> bool:
        token = self.tokens[self.i]
        return token.kind == _OP and token.value == op

    def expect(self, op: str, opened: _Token) -> _Token:
        if self.at(op):
            return self.advance()
        token = self.peek()
        raise ExpressionError(
            f"expected '{op}' to close '{opened.text}' at position {opened.pos + 1}, "
            f"but found {self.describe(token)}"
        )

    def describe(self, token: _Token) -> str:
        if token.kind == _END:
            return "the end of the expression"
        return f"'{token.text}' at position {token.pos + 1}"

    def unexpected(self, token: _Token) -> ExpressionError:
        if token.kind == _END:
            previous = self.tokens[self.i - 1] if self.i > 0 else None
            after = f" after '{previous.text}'" if previous is not None else ""
            return ExpressionError(f"unexpected end of expression{after}; a value is missing")
        return ExpressionError(f"unexpected '{token.text}' at position {token.pos + 1}")

    def node(self, node: _Node) -> _Node:
        if node.depth > MAX_DEPTH:
            raise self.too_deep()
        return node

    def too_deep(self) -> ExpressionError:
        return ExpressionError(
            f"expression is nested too deeply (more than {MAX_DEPTH} levels); split it up"
        )

    # grammar
    def parse(self) -> _Node:
        tree = self.expression(0)
        token = self.peek()
        if token.kind != _END:
            raise self.unexpected(token)
        return tree

    def expression(self, min_prec: int) -> _Node:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.too_deep()
        left = self.prefix(min_prec)
        compared = False
        while True:
            token = self.peek()
            if token.kind != _OP:
                break
            op = token.value
            if op == "not" and self.peek(1).kind == _OP and self.peek(1).value == "in":
                op = "not in"
            if op == "?" and min_prec <= _TERNARY:
                self.advance()
                then = self.expression(0)
                self.expect(":", token)
                otherwise = self.expression(_TERNARY)
                left = self.node(_Conditional(_depth(left, then, otherwise), left, then, otherwise))
            elif op in ("or", "and") and min_prec <= (_OR if op == "or" else _AND):
                operands = [left]
                while self.at(op):
                    self.advance()
                    operands.append(self.expression((_OR if op == "or" else _AND) + 1))
                left = self.node(_BoolOp(_depth(*operands), op, tuple(operands)))
            elif op in _COMPARISONS and min_prec <= _COMPARE:
                if compared:
                    raise ExpressionError(
                        f"comparisons cannot be chained ('{token.text}' at position "
                        f"{token.pos + 1}); write 'a < b && b < c' or use parentheses"
                    )
                self.advance()
                text = token.text
                if op == "not in":
                    self.advance()
                    text = "not in"
                right = self.expression(_COMPARE + 1)
                left = self.node(_Binary(_depth(left, right), op, left, right, text, token.pos))
                compared = True
            elif (op in _ADDITIVE and min_prec <= _ADD) or (
                op in _MULTIPLICATIVE and min_prec <= _MUL
            ):
                self.advance()
                right = self.expression((_ADD if op in _ADDITIVE else _MUL) + 1)
                left = self.node(
                    _Binary(_depth(left, right), op, left, right, token.text, token.pos)
                )
            else:
                break
        self.nesting -= 1
        return left

    def prefix(self, min_prec: int) -> _Node:
        token = self.advance()
        if token.kind == _OP:
            op = token.value
            if op in ("-", "+", "!", "empty"):
                operand = self.expression(_UNARY)
                if op == "empty":
                    kind = "empty"
                elif op == "!":
                    kind = "not"
                else:
                    kind = op
                return self.node(_Unary(_depth(operand), kind, operand, token.text, token.pos))
            if op == "not":
                if min_prec > _NOT:
                    raise ExpressionError(
                        f"put 'not ...' in parentheses here (position {token.pos + 1})"
                    )
                operand = self.expression(_NOT)
                return self.node(_Unary(_depth(operand), "not", operand, token.text, token.pos))
            if op == "(":
                inner = self.expression(0)
                self.expect(")", token)
                return self.postfix(inner, token)
            if op == "[":
                items: list[_Node] = []
                while not self.at("]"):
                    items.append(self.expression(0))
                    if not self.at(","):
                        break
                    self.advance()
                self.expect("]", token)
                return self.postfix(self.node(_List(_depth(*items), tuple(items))), token)
            self.i -= 1
            raise self.unexpected(token)
        if token.kind in (_NUM, _STR, _CONST):
            return self.postfix(_Literal(1, token.value), token)
        if token.kind == _NAME:
            if self.at("("):
                return self.postfix(self.call(token), token)
            self.names.add(token.value)
            return self.postfix(_Name(1, token.value), token)
        self.i -= 1
        raise self.unexpected(token)

    def call(self, name: _Token) -> _Node:
        opened = self.advance()  # "("
        args: list[_Node] = []
        while not self.at(")"):
            args.append(self.expression(0))
            if not self.at(","):
                break
            self.advance()
        self.expect(")", opened)
        self.calls.append((name.value, name.pos))
        return self.node(_Call(_depth(*args), name.value, tuple(args), name.pos))

    def postfix(self, node: _Node, first: _Token) -> _Node:
        while True:
            token = self.peek()
            if token.kind != _OP:
                return node
            label = self.source[first.pos : self.tokens[self.i - 1].end]
            if token.value == ".":
                self.advance()
                key = self.advance()
                if key.kind != _NAME:
                    self.i -= 1
                    raise ExpressionError(
                        f"expected a property name after '.' at position {token.pos + 1}"
                    )
                if self.at("("):
                    raise self.method_call(label, key)
                index: _Node = _Literal(1, key.value)
                node = self.node(_Lookup(_depth(node), node, index, label, token.pos))
            elif token.value == "[":
                self.advance()
                index = self.expression(0)
                self.expect("]", token)
                node = self.node(_Lookup(_depth(node, index), node, index, label, token.pos))
            elif token.value == "(":
                raise ExpressionError(
                    f"only named functions can be called: '{label}(' at position {token.pos + 1}"
                )
            else:
                return node

    def method_call(self, label: str, method: _Token) -> ExpressionError:
        arg, close = self.peek(1), self.peek(2)
        if arg.kind == _STR and close.kind == _OP and close.value == ")":
            written = f"{label}.{method.text}({arg.text})"
            if method.value in ("getVariable", "getVariableLocal", "get"):
                return ExpressionError(
                    f"method calls are not supported: use the variable '{arg.value}' directly "
                    f"instead of {written}"
                )
        return ExpressionError(
            f"method calls are not supported: '{label}.{method.text}(...)' at position "
            f"{method.pos + 1} calls a method on an engine object or value; name the variable "
            "directly instead (e.g. 'x' rather than execution.getVariable('x'))"
        )


# --- evaluation ------------------------------------------------------------------------------

_NUMBER_TYPES = frozenset({int, float, Decimal})
_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a true/false value ({'true' if value else 'false'})"
    if _is_number(value):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"text ({shown!r})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, datetime.datetime):
        return "a date-time"
    if isinstance(value, datetime.date):
        return "a date"
    if isinstance(value, datetime.timedelta):
        return "a duration"
    return f"a value of type {type(value).__name__}"


def _truthy(value: Any) -> bool:
    return bool(value)


_NUMERAL = r"-?[0-9]+(?:\.[0-9]+)?"  # a plain numeral (re caches the compiled pattern)


def _numerals_read(a: Any, b: Any) -> tuple[Any, Any]:
    """A number and a plain decimal numeral's text (``"12345.60"``, what a money field
    stores): both as numbers, as JUEL coerces them; anything else unchanged."""
    if _is_number(a) and isinstance(b, str) and re.fullmatch(_NUMERAL, b):
        return a, Decimal(b)
    if _is_number(b) and isinstance(a, str) and re.fullmatch(_NUMERAL, a):
        return Decimal(a), b
    return a, b


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) is not isinstance(b, bool):
        return False  # true/false values are not the numbers 1/0
    a, b = _numerals_read(a, b)
    return bool(a == b)


def _order(op: str, text: str, a: Any, b: Any) -> bool:
    compare = _ORDER[op]
    a, b = _numerals_read(a, b)
    comparable = (
        (_is_number(a) and _is_number(b))
        or (isinstance(a, str) and isinstance(b, str))
        or (isinstance(a, datetime.datetime) and isinstance(b, datetime.datetime))
        or (
            isinstance(a, datetime.date)
            and isinstance(b, datetime.date)
            and not isinstance(a, datetime.datetime)
            and not isinstance(b, datetime.datetime)
        )
        or (isinstance(a, datetime.timedelta) and isinstance(b, datetime.timedelta))
    )
    if comparable:
        try:
            return bool(compare(a, b))
        except TypeError:
            if isinstance(a, datetime.datetime):
                raise ExpressionError(
                    "cannot compare a date-time with a time zone and one without"
                ) from None
            raise  # pragma: no cover - numbers and texts always compare
    raise ExpressionError(f"cannot compare {_describe(a)} with {_describe(b)} using '{text}'")


def _contains(item: Any, container: Any) -> bool:
    if isinstance(container, str):
        if not isinstance(item, str):
            raise ExpressionError(f"cannot look for {_describe(item)} in text")
        return item in container
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            raise ExpressionError(f"{_describe(item)} cannot be a key of a mapping") from None
    if isinstance(container, list | tuple | set | frozenset):
        return any(_equal(item, member) for member in container)
    raise ExpressionError(
        f"'in' needs a list, a mapping or text on its right, not {_describe(container)}"
    )


def _arithmetic(op: str, text: str, a: Any, b: Any) -> Any:
    if _is_number(a) and _is_number(b):
        try:
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                return a / b
            return a % b
        except ZeroDivisionError:
            raise ExpressionError(f"division by zero ('{text}' with {b})") from None
        except ArithmeticError as exc:  # overflow, decimal traps
            raise ExpressionError(f"cannot compute {a} {text} {b}: {exc}") from None
        except TypeError:  # a float and a Decimal
            raise ExpressionError(
                f"cannot combine {_describe(a)} and {_describe(b)} using '{text}'"
            ) from None
    if op == "+" and isinstance(a, str) and isinstance(b, str):
        return a + b
    if op == "*" and (isinstance(a, str) or isinstance(b, str)):
        raise ExpressionError("repeating text with '*' is not supported")
    verb = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "divide"}[op]
    raise ExpressionError(f"cannot {verb} {_describe(a)} and {_describe(b)} using '{text}'")


def _lookup(container: Any, key: Any, label: str, lenient: bool) -> Any:
    if isinstance(container, Mapping):
        try:
            return container[key]
        except KeyError:
            if lenient:
                return None
            raise ExpressionError(f"'{label}' has no key {key!r}") from None
        except TypeError:
            raise ExpressionError(f"{_describe(key)} cannot be a key of '{label}'") from None
    if isinstance(container, list | tuple | str):
        if not isinstance(key, int) or isinstance(key, bool):
            raise ExpressionError(
                f"'{label}' is {_describe(container)}: index it with a whole number, "
                f"not {_describe(key)}"
            )
        try:
            return container[key]
        except IndexError:
            if lenient:
                return None
            raise ExpressionError(
                f"index {key} is out of range for '{label}' ({len(container)} items)"
            ) from None
    if container is None:
        if lenient:
            return None
        raise ExpressionError(f"cannot read {key!r} of '{label}', which is null")
    raise ExpressionError(f"cannot read {key!r} of '{label}', which is {_describe(container)}")


def _empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str | list | tuple | set | frozenset | Mapping):
        return len(value) == 0
    return False


def _compile(node: _Node, *, lenient: bool) -> Evaluator:
    """Turn a tree into a closure ``(variables, functions) -> value``. ``lenient`` (under
    ``empty``) makes undefined variables, missing keys and null containers read as None."""
    if isinstance(node, _Literal):
        value = node.value

        def literal(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return value

        return literal

    if isinstance(node, _Name):
        name = node.name
        if lenient:

            def lenient_name(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
                return v.get(name)

            return lenient_name

        def variable(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            try:
                return v[name]
            except KeyError:
                raise ExpressionError(f"unknown variable '{name}'") from None

        return variable

    if isinstance(node, _Lookup):
        obj, index = _compile(node.obj, lenient=lenient), _compile(node.index, lenient=False)
        label = node.label

        def lookup(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return _lookup(obj(v, f), index(v, f), label, lenient)

        return lookup

    if isinstance(node, _List):
        items = tuple(_compile(item, lenient=False) for item in node.items)

        def make_list(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return [item(v, f) for item in items]

        return make_list

    if isinstance(node, _Call):
        return _compile_call(node)

    if isinstance(node, _Unary):
        return _compile_unary(node, lenient=lenient)

    if isinstance(node, _BoolOp):
        operands = tuple(_compile(o, lenient=False) for o in node.operands)
        if node.op == "and":

            def both(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
                return all(_truthy(o(v, f)) for o in operands)

            return both

        def either(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return any(_truthy(o(v, f)) for o in operands)

        return either

    if isinstance(node, _Conditional):
        condition = _compile(node.condition, lenient=False)
        then = _compile(node.then, lenient=False)
        otherwise = _compile(node.otherwise, lenient=False)

        def conditional(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return then(v, f) if _truthy(condition(v, f)) else otherwise(v, f)

        return conditional

    if isinstance(node, _Binary):
        return _compile_binary(node)

    raise AssertionError(f"unknown node {node!r}")  # pragma: no cover


def _compile_call(node: _Call) -> Evaluator:
    name = node.name
    args = tuple(_compile(a, lenient=False) for a in node.args)

    def call(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
        function = f.get(name)
        if function is None:
            raise ExpressionError(f"unknown function '{name}'")
        values = [a(v, f) for a in args]
        try:
            return function(*values)
        except ExpressionError:
            raise
        except Exception as exc:
            raise ExpressionError(f"function '{name}' failed: {exc}") from exc

    return call


def _compile_unary(node: _Unary, *, lenient: bool) -> Evaluator:
    if node.op == "empty":
        inner = _compile(node.operand, lenient=True)

        def empty(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return _empty(inner(v, f))

        return empty

    operand = _compile(node.operand, lenient=lenient)
    if node.op == "not":

        def negation(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return not _truthy(operand(v, f))

        return negation

    sign = node.op
    text = node.text

    def signed(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
        value = operand(v, f)
        if not _is_number(value):
            raise ExpressionError(f"'{text}' needs a number, not {_describe(value)}")
        return -value if sign == "-" else +value

    return signed


def _compile_binary(node: _Binary) -> Evaluator:
    op, text = node.op, node.text
    left = _compile(node.left, lenient=False)
    right = _compile(node.right, lenient=False)
    numbers = _NUMBER_TYPES

    if op in _ORDER:
        compare = _ORDER[op]

        def ordered(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            a, b = left(v, f), right(v, f)
            if type(a) in numbers and type(b) in numbers:
                return compare(a, b)  # the hot path: amount > 5000
            return _order(op, text, a, b)

        return ordered

    if op in ("==", "!="):
        negate = op == "!="

        def equality(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            a, b = left(v, f), right(v, f)
            same = a == b if type(a) is type(b) else _equal(a, b)
            return bool(same) is not negate

        return equality

    if op in ("in", "not in"):
        negate = op == "not in"

        def membership(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
            return _contains(left(v, f), right(v, f)) is not negate

        return membership

    def arithmetic(v: Mapping[str, Any], f: Mapping[str, Callable[..., Any]]) -> Any:
        return _arithmetic(op, text, left(v, f), right(v, f))

    return arithmetic
