"""The safe expression evaluator of BPMN conditions (workflow.bpmn.expressions)."""

from __future__ import annotations

import contextlib
import datetime
import operator
import pickle
import random
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from workflow.bpmn.expressions import (
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionError,
    compile_expression,
    is_expression,
)


def ev(
    source: str, functions: dict[str, Callable[..., Any]] | None = None, **variables: Any
) -> Any:
    return compile_expression(source).evaluate(variables, functions)


def refused(source: str, **kwargs: Any) -> str:
    with pytest.raises(ExpressionError) as info:
        compile_expression(source, **kwargs)
    return str(info.value)


def fails(
    source: str, functions: dict[str, Callable[..., Any]] | None = None, **variables: Any
) -> str:
    expression = compile_expression(source)
    with pytest.raises(ExpressionError) as info:
        expression.evaluate(variables, functions)
    return str(info.value)


# --- wrapping and literals -------------------------------------------------------------------


@pytest.mark.parametrize(
    "source", ["amount > 5000", "${amount > 5000}", "#{amount > 5000}", "  ${ amount > 5000 }  "]
)
def test_bare_and_wrapped_forms_mean_the_same(source: str) -> None:
    assert ev(source, amount=6000) is True
    assert ev(source, amount=5000) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("True", True),
        ("true", True),
        ("False", False),
        ("false", False),
        ("None", None),
        ("null", None),
        ("42", 42),
        ("0.6", 0.6),
        (".5", 0.5),
        ("1e3", 1000.0),
        ("2.5E-1", 0.25),
        ("'single'", "single"),
        ('"double"', "double"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'a\\\\b'", "a\\b"),
        ("'line\\nbreak\\ttab'", "line\nbreak\ttab"),
        ("'\\u4e2d'", "中"),
        ('"it\'s"', "it's"),
        ("'say \"hi\"'", 'say "hi"'),
        ("[1, 2, 'x']", [1, 2, "x"]),
        ("[]", []),
        ("[1, [2, 3]]", [1, [2, 3]]),
        ("'审批'", "审批"),
    ],
)
def test_literals(source: str, expected: Any) -> None:
    result = ev(source)
    assert result == expected
    assert type(result) is type(expected)


def test_integer_literals_stay_integers() -> None:
    assert type(ev("7")) is int
    assert type(ev("7.0")) is float


def test_a_variable_alone_gives_its_value() -> None:
    assert ev("${initiator}", initiator="zhangwei") == "zhangwei"
    assert ev("approved", approved=False) is False
    assert ev("${金额 > 10}", 金额=11) is True  # Unicode variable names


# --- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a == b", False),
        ("a != b", True),
        ("a < b", True),
        ("a <= b", True),
        ("a > b", False),
        ("a >= b", False),
        ("a eq b", False),
        ("a ne b", True),
        ("a lt b", True),
        ("a le b", True),
        ("a gt b", False),
        ("a ge b", False),
        ("a + b", 5),
        ("a - b", -1),
        ("a * b", 6),
        ("a / b", 2 / 3),
        ("a div b", 2 / 3),
        ("b % a", 1),
        ("b mod a", 1),
        ("-a", -2),
        ("+a", 2),
        ("- -a", 2),
    ],
)
def test_operators_on_numbers(source: str, expected: Any) -> None:
    assert ev(source, a=2, b=3) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a && b", False),
        ("a || b", True),
        ("a and b", False),
        ("a or b", True),
        ("!a", False),
        ("!b", True),
        ("not a", False),
        ("not b", True),
        ("!!a", True),
        ("not not b", False),
        ("a && !b", True),
        ("${approved && x == 'a'}", True),
        ("${!approved}", False),
        ("${not approved}", False),
    ],
)
def test_boolean_operators(source: str, expected: bool) -> None:
    assert ev(source, a=True, b=False, approved=True, x="a") is expected


def test_true_division_of_ratios() -> None:
    condition = "${nrOfCompletedInstances/nrOfInstances >= 0.6}"
    assert ev(condition, nrOfCompletedInstances=3, nrOfInstances=5) is True
    assert ev(condition, nrOfCompletedInstances=2, nrOfInstances=5) is False
    assert ev("7 / 2") == 3.5
    assert ev("6 / 3") == 2.0
    assert ev("-7 % 3") == 2  # Python's modulo: the sign of the divisor


def test_decimals_work_with_integers() -> None:
    assert ev("price * 2", price=Decimal("1.10")) == Decimal("2.20")
    assert ev("price > 1", price=Decimal("1.10")) is True
    assert "cannot combine" in fails("price + 0.5", price=Decimal("1"))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("a || b && c", True),  # a || (b && c)
        ("(a || b) && c", False),
        ("c && b || a", True),  # (c && b) || a
        ("a or b and c", True),
        ("not a == c", True),  # Python: not (a == c)
        ("!a == c", True),  # JUEL: (!a) == c
        ("-2 * 3 + 1", -5),
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 4 - 3", 3),  # left-associative
        ("24 / 4 / 2", 3.0),
        ("2 + 3 > 4", True),
        ("1 + 2 == 3 && 2 * 2 == 4", True),
        ("-x.y", -5),
        ("not a and c", False),  # (not a) and c
        ("not a or c", False),
        ("t ? 1 : f ? 2 : 3", 1),  # right-associative ternary
        ("f ? 1 : f ? 2 : 3", 3),
        ("f ? 1 : t ? 2 : 3", 2),
        ("t ? f ? 1 : 2 : 3", 2),
        ("a || b ? 'y' : 'n'", "y"),
        ("1 + 1 == 2 ? 'two' : 'other'", "two"),
    ],
)
def test_operator_precedence(source: str, expected: Any) -> None:
    variables = {"a": True, "b": True, "c": False, "x": {"y": 5}, "t": True, "f": False}
    assert compile_expression(source).evaluate(variables) == expected


def test_not_with_python_precedence_differs_from_bang_on_non_booleans() -> None:
    assert ev("not a == 5", a=5) is False  # not (5 == 5)
    assert ev("!a == 5", a=5) is False  # (!5) == 5 -> False == 5 -> False


def test_ternary_evaluates_only_the_chosen_branch() -> None:
    assert ev("ok ? 'fine' : missing", ok=True) == "fine"
    assert ev("ok ? missing : 'fine'", ok=False) == "fine"


def test_and_or_short_circuit() -> None:
    assert ev("false && missing") is False
    assert ev("true || missing") is True
    assert ev("x != null && x.total > 5", x=None) is False
    assert "unknown variable 'missing'" in fails("true && missing")


def test_and_or_give_true_or_false_not_an_operand() -> None:
    assert ev("a || b", a="", b="text") is True
    assert ev("a && b", a=1, b=[]) is False


@pytest.mark.parametrize(
    ("value", "truthy"),
    [
        (None, False),
        (False, False),
        (0, False),
        (0.0, False),
        ("", False),
        ([], False),
        ({}, False),
        (True, True),
        (1, True),
        (-1, True),
        ("no", True),
        ([0], True),
        ({"k": 0}, True),
    ],
)
def test_truthiness(value: Any, truthy: bool) -> None:
    assert ev("!!v", v=value) is truthy
    assert ev("v ? 'yes' : 'no'", v=value) == ("yes" if truthy else "no")
    assert ev("v && true", v=value) is truthy
    assert ev("not v", v=value) is (not truthy)


def test_string_concatenation_and_comparison() -> None:
    assert ev("'Hello, ' + name + '!'", name="李娜") == "Hello, 李娜!"
    assert ev("a < b", a="apple", b="banana") is True
    assert ev("x == 'a'", x="a") is True
    assert ev('x == "a"', x="b") is False


def test_equality_of_mixed_types_is_false_not_an_error() -> None:
    assert ev("x == 1", x="one") is False
    assert ev("x != 1", x="one") is True
    assert ev("x == 1", x="1.0.0") is False
    assert ev("x == null", x=None) is True
    assert ev("x == 1", x=1.0) is True
    assert ev("x == 1", x=True) is False  # true/false are not numbers
    assert ev("x == true", x=True) is True


def test_a_numeral_compared_with_a_number_is_read_as_one() -> None:
    """A money field stores "12345.60" (exact); conditions compare it as JUEL would."""
    assert ev("amount >= 5000", amount="12345.60") is True
    assert ev("amount < 5000", amount="4999.99") is True
    assert ev("5000 <= amount", amount="5000.00") is True
    assert ev("amount > 0.1", amount="0.10") is False
    assert ev("amount == 5000", amount="5000.00") is True
    assert ev("amount != 5000", amount="5000.01") is True
    assert ev("x == 1", x="1") is True
    with pytest.raises(ExpressionError, match="cannot compare text"):
        ev("amount > 5000", amount="5,000")  # only a plain numeral is read as a number
    assert ev("a < b", a="10", b="9") is True  # two texts still compare as texts


def test_comparing_dates() -> None:
    early, late = datetime.date(2025, 1, 1), datetime.date(2025, 2, 1)
    assert ev("a < b", a=early, b=late) is True
    naive = datetime.datetime(2025, 1, 1)
    aware = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    assert "time zone" in fails("a < b", a=naive, b=aware)


def test_in_and_not_in() -> None:
    assert ev("x in [1, 2, 3]", x=2) is True
    assert ev("x not in [1, 2, 3]", x=2) is False
    assert ev("role in roles", role="hr", roles=("hr", "sales")) is True
    assert ev("'ab' in s", s="xaby") is True
    assert ev("'k' in m", m={"k": 1}) is True
    assert ev("'z' not in m", m={"k": 1}) is True
    assert "'in' needs" in fails("1 in 5")
    assert "cannot look for" in fails("1 in 'abc'")


# --- data access -----------------------------------------------------------------------------


def test_property_and_index_access_on_nested_data() -> None:
    order = {"customer": {"address": {"city": "上海"}}, "lines": [{"qty": 2}, {"qty": 5}]}
    assert ev("order.customer.address.city", order=order) == "上海"
    assert ev("order['customer']['address'].city", order=order) == "上海"
    assert ev('order["lines"][1].qty', order=order) == 5
    assert ev("order.lines[0].qty * 10", order=order) == 20
    assert ev("order.lines[-1].qty", order=order) == 5
    assert ev("order.lines[i].qty", order=order, i=0) == 2
    assert ev("name[0]", name="abc") == "a"
    assert ev("[10, 20][1]") == 20
    assert ev("m.k", m=MappingProxyType({"k": 1})) == 1
    assert ev("m[1]", m={1: "one"}) == "one"


def test_data_access_errors_are_clear() -> None:
    assert "'order' has no key 'total'" in fails("order.total", order={})
    assert "out of range" in fails("xs[3]", xs=[1, 2])
    assert "which is null" in fails("x.y", x=None)
    assert "whole number" in fails("xs['a']", xs=[1])
    assert "whole number" in fails("xs[true]", xs=[1])
    assert "cannot read 'real'" in fails("n.real", n=5)


def test_no_attribute_access_on_objects() -> None:
    class Secret:
        password = "hunter2"

        def __getitem__(self, key: str) -> str:
            return "nope"

    message = fails("obj.password", obj=Secret())
    assert "cannot read 'password'" in message
    assert "hunter2" not in message


def test_undefined_variable_is_a_clear_error() -> None:
    assert fails("amount > 5000") == "unknown variable 'amount'"
    assert fails("${a.b}") == "unknown variable 'a'"


def test_empty() -> None:
    assert ev("empty x", x=None) is True
    assert ev("empty x", x="") is True
    assert ev("empty x", x=[]) is True
    assert ev("empty x", x=()) is True
    assert ev("empty x", x={}) is True
    assert ev("empty x", x=set()) is True
    assert ev("empty x", x="a") is False
    assert ev("empty x", x=[0]) is False
    assert ev("empty x", x=0) is False
    assert ev("empty x", x=False) is False
    assert ev("${empty undefinedVar}") is True  # JUEL: undefined is empty
    assert ev("empty a.b.c", a={}) is True
    assert ev("empty a.b", a=None) is True
    assert ev("empty xs[5]", xs=[1]) is True
    assert ev("!empty comments", comments="ok") is True
    assert ev("not empty comments", comments="") is False
    assert ev("empty x && true", x="") is True  # empty binds tighter than &&


def test_functions_from_the_table() -> None:
    functions: dict[str, Callable[..., Any]] = {
        "manager": lambda user: f"manager-of-{user}",
        "deptHead": lambda user, level: f"head-{level}-of-{user}",
        "count": lambda: 3,
    }
    assert ev("${manager(initiator)}", functions, initiator="zw") == "manager-of-zw"
    assert ev("deptHead(initiator, 2)", functions, initiator="zw") == "head-2-of-zw"
    assert ev("count() + 1", functions) == 4
    assert ev("manager(deptHead(u, 1))", functions, u="x") == "manager-of-head-1-of-x"


def test_function_errors() -> None:
    assert fails("foo(1)") == "unknown function 'foo'"
    assert fails("foo(1)", {"bar": len}) == "unknown function 'foo'"

    def broken(x: int) -> int:
        raise RuntimeError("directory unavailable")

    message = fails("f(1)", {"f": broken})
    assert "function 'f' failed" in message
    assert "directory unavailable" in message


def test_allowed_functions_are_checked_at_compile_time() -> None:
    allowed = ["manager", "deptHead"]
    compile_expression("manager(x)", allowed_functions=allowed)
    message = refused("foo(x)", allowed_functions=allowed)
    assert message.startswith("unknown function 'foo'")
    assert message.endswith("known: manager, deptHead")
    assert "no functions are available" in refused("f()", allowed_functions=())
    assert "known: a, b" in refused("f()", allowed_functions={"b", "a"})


def test_names_and_functions_sets() -> None:
    expression = compile_expression(
        "${manager(initiator) == approver && order.total > limit[0] || empty notes}"
    )
    assert expression.names == frozenset({"initiator", "approver", "order", "limit", "notes"})
    assert expression.functions == frozenset({"manager"})
    assert compile_expression("1 + 2").names == frozenset()
    assert compile_expression("f(g(x))").functions == frozenset({"f", "g"})
    assert compile_expression("f(g(x))").names == frozenset({"x"})


def test_expression_object() -> None:
    expression = compile_expression("${x > 1}")
    assert isinstance(expression, Expression)
    assert expression.source == "${x > 1}"
    assert expression == compile_expression("${x > 1}")
    with pytest.raises(AttributeError):
        expression.source = "y"  # type: ignore[misc]  # deliberately: it is read-only
    copy = pickle.loads(pickle.dumps(expression))  # noqa: S301 - our own object
    assert copy.evaluate({"x": 2}) is True
    assert expression.evaluate(MappingProxyType({"x": 0})) is False
    assert expression.evaluate({"x": 2}) is True  # compiled once, evaluated many times


def test_is_expression() -> None:
    assert is_expression("${a}")
    assert is_expression("#{a > 1}")
    assert is_expression("  ${approved}  ")
    assert not is_expression("approved")
    assert not is_expression("PT2H")
    assert not is_expression("${a")
    assert not is_expression("$a}")
    assert not is_expression("")
    assert not is_expression("{a}")


# --- refusals ----------------------------------------------------------------------------------


def test_method_calls_are_refused_at_compile_time() -> None:
    message = refused("${execution.getVariable('x')}")
    assert message == (
        "method calls are not supported: use the variable 'x' directly instead of "
        "execution.getVariable('x')"
    )
    message = refused("${x.toString()}")
    assert message.startswith("method calls are not supported")
    assert "name the variable directly" in message
    assert "method calls are not supported" in refused("a.b.c(1, 2)")
    assert "method calls are not supported" in refused("task.getAssignee()")


def test_only_named_functions_can_be_called() -> None:
    assert "only named functions" in refused("f(1)(2)")
    assert "only named functions" in refused("(f)(1)")
    assert "only named functions" in refused("a[0](1)")


@pytest.mark.parametrize(
    "source",
    ["__class__", "a.__class__", "x.__dict__", "__import__('os')", "a.b__", "__"],
)
def test_dunder_names_are_refused(source: str) -> None:
    assert "is not allowed" in refused(source)


def test_exponent_and_repetition_are_not_supported() -> None:
    assert "'**' is not supported" in refused("9**9**9")
    assert "'**' is not supported" in refused("2 ** 3")
    assert "'//'" in refused("7 // 2")
    assert "repeating text" in fails("'a' * 3")
    assert "repeating text" in fails("3 * s", s="ab")


def test_length_and_depth_limits() -> None:
    assert "too long" in refused("1 + " * 600 + "1")
    assert len("x" * MAX_LENGTH) == MAX_LENGTH
    compile_expression("x" * MAX_LENGTH)  # exactly at the limit is fine
    assert "too long" in refused("x" * (MAX_LENGTH + 1))
    assert "nested too deeply" in refused("(" * 60 + "1" + ")" * 60)
    assert "nested too deeply" in refused("-" * 60 + "1")
    assert "nested too deeply" in refused("+".join(["1"] * 60))
    assert "nested too deeply" in refused("a" + ".b" * 60)
    assert compile_expression("(" * 20 + "1" + ")" * 20).evaluate({}) == 1
    # long && / || chains are flat, not deep
    chain = " && ".join(f"v{i}" for i in range(100))
    assert compile_expression(chain).evaluate({f"v{i}": True for i in range(100)}) is True


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("amount >", "unexpected end of expression after '>'"),
        ("${", "is not closed"),
        ("${a > 1", "is not closed"),
        ("${}", "empty expression"),
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("'abc", "unterminated text starting at position 1"),
        ('x == "abc', "unterminated text starting at position 6"),
        ("(a", "expected ')'"),
        ("a)", "unexpected ')' at position 2"),
        ("f(a, b", "expected ')'"),
        ("[1, 2", "expected ']'"),
        ("a[1", "expected ']'"),
        ("a ? b", "expected ':'"),
        ("a b", "unexpected 'b' at position 3"),
        ("1 +* 2", "unexpected '*' at position 4"),
        ("a < b < c", "cannot be chained"),
        ("a == b == c", "cannot be chained"),
        ("a == b < c", "cannot be chained"),
        ("a = 1", "use '=='"),
        ("a & b", "'&&'"),
        ("a | b", "'||'"),
        ("a; b", "unexpected character ';' at position 2"),
        ("${a} + ${b}", "unexpected character '}'"),
        ("5abc", "after the number"),
        ("a.", "expected a property name"),
        ("a.1", "unexpected '.1' at position 2"),
        ("'\\q'", "unknown escape"),
        ("1 + not x", "put 'not ...' in parentheses"),
        ("empty", "unexpected end of expression"),
        (":", "unexpected ':' at position 1"),
        ("x ? : 1", "unexpected ':'"),
    ],
)
def test_garbage_is_refused_with_a_position(source: str, fragment: str) -> None:
    assert fragment in refused(source)


def test_chained_comparisons_with_parentheses_are_fine() -> None:
    assert ev("(a < b) == true", a=1, b=2) is True
    assert ev("a < b && b < c", a=1, b=2, c=3) is True


def test_positions_count_from_one_in_the_source_as_written() -> None:
    assert refused("${a > )}") == "unexpected ')' at position 7"


@pytest.mark.parametrize(
    ("source", "variables", "fragment"),
    [
        ("'a' > 1", {}, "cannot compare text ('a') with a number (1) using '>'"),
        ("x gt 1", {"x": None}, "cannot compare null with a number (1) using 'gt'"),
        ("x < 1", {"x": True}, "cannot compare a true/false value (true)"),
        ("x < y", {"x": [1], "y": [2]}, "cannot compare a list with a list"),
        ("1 / 0", {}, "division by zero"),
        ("1 div x", {"x": 0}, "division by zero"),
        ("1 % 0", {}, "division by zero"),
        ("1.5 / 0.0", {}, "division by zero"),
        ("'a' + 1", {}, "cannot add text ('a') and a number (1)"),
        ("1 + 'a'", {}, "cannot add"),
        ("true + 1", {}, "cannot add a true/false value"),
        ("x - 1", {"x": "5"}, "cannot subtract"),
        ("-x", {"x": "5"}, "'-' needs a number"),
        ("[1] + [2]", {}, "cannot add a list and a list"),
        ("x * 2", {"x": None}, "cannot multiply null"),
    ],
)
def test_runtime_errors_are_expression_errors(
    source: str, variables: dict[str, Any], fragment: str
) -> None:
    assert fragment in fails(source, **variables)


def test_errors_are_never_raw_python_errors() -> None:
    huge = 10**400
    assert "cannot compute" in fails("x / 3", x=huge)  # float overflow
    assert "cannot be a key" in fails("m[k]", m={}, k=[1])


# --- property: agrees with plain Python --------------------------------------------------------


class _DivisionByZero(Exception):
    pass


def _num(rng: random.Random, depth: int, variables: dict[str, Any]) -> tuple[str, Any]:
    """A random numeric expression and its value, computed by plain Python."""
    if depth == 0 or rng.random() < 0.25:
        value = rng.randint(-9, 9)
        if rng.random() < 0.4:
            name = f"v{len(variables)}"
            variables[name] = value
            return name, value
        return (f"({value})" if value < 0 else str(value)), value
    if rng.random() < 0.1:
        text, value = _num(rng, depth - 1, variables)
        return f"(-{text})", -value
    if rng.random() < 0.1:
        cond_text, cond = _bool(rng, depth - 1, variables)
        a_text, a = _num(rng, depth - 1, variables)
        b_text, b = _num(rng, depth - 1, variables)
        return f"({cond_text} ? {a_text} : {b_text})", (a if cond else b)
    a_text, a = _num(rng, depth - 1, variables)
    b_text, b = _num(rng, depth - 1, variables)
    spelling, op = rng.choice(
        [
            ("+", operator.add),
            ("-", operator.sub),
            ("*", operator.mul),
            ("/", operator.truediv),
            ("div", operator.truediv),
            ("%", operator.mod),
            ("mod", operator.mod),
        ]
    )
    if op in (operator.truediv, operator.mod) and b == 0:
        raise _DivisionByZero
    return f"({a_text} {spelling} {b_text})", op(a, b)


def _bool(rng: random.Random, depth: int, variables: dict[str, Any]) -> tuple[str, bool]:
    """A random boolean expression and its value, computed by plain Python."""
    roll = rng.random()
    if depth == 0 or roll < 0.15:
        value = rng.random() < 0.5
        if rng.random() < 0.5:
            name = f"v{len(variables)}"
            variables[name] = value
            return name, value
        return rng.choice(["true", "True"] if value else ["false", "False"]), value
    if roll < 0.5:
        a_text, a = _num(rng, depth - 1, variables)
        b_text, b = _num(rng, depth - 1, variables)
        spelling, op = rng.choice(
            [
                ("==", operator.eq),
                ("!=", operator.ne),
                ("<", operator.lt),
                ("<=", operator.le),
                (">", operator.gt),
                (">=", operator.ge),
                ("eq", operator.eq),
                ("ne", operator.ne),
                ("lt", operator.lt),
                ("le", operator.le),
                ("gt", operator.gt),
                ("ge", operator.ge),
            ]
        )
        return f"({a_text} {spelling} {b_text})", op(a, b)
    if roll < 0.6:
        text, value = _bool(rng, depth - 1, variables)
        return f"{rng.choice(['!', 'not '])}({text})", not value
    a_text, a = _bool(rng, depth - 1, variables)
    b_text, b = _bool(rng, depth - 1, variables)
    if rng.random() < 0.5:
        return f"({a_text} {rng.choice(['&&', 'and'])} {b_text})", a and b
    return f"({a_text} {rng.choice(['||', 'or'])} {b_text})", a or b


@pytest.mark.parametrize("seed", range(6))
def test_random_expressions_agree_with_python(seed: int) -> None:
    rng = random.Random(seed)
    checked = 0
    while checked < 60:
        variables: dict[str, Any] = {}
        generate = _num if rng.random() < 0.5 else _bool
        try:
            text, expected = generate(rng, rng.randint(1, 4), variables)
        except _DivisionByZero:
            continue
        expression = compile_expression(rng.choice(["{}", "${{{}}}", "#{{{}}}"]).format(text))
        result = expression.evaluate(variables)
        assert result == expected, text
        assert type(result) is type(expected), text
        assert expression.names == frozenset(variables), text
        checked += 1


@pytest.mark.parametrize("seed", range(3))
def test_random_division_by_zero_is_an_expression_error(seed: int) -> None:
    rng = random.Random(1000 + seed)
    for _ in range(30):
        a = rng.randint(-9, 9)
        spelling = rng.choice(["/", "%", "div", "mod"])
        assert "division by zero" in fails(f"x {spelling} (y - y)", x=a, y=rng.randint(-9, 9))


def test_depth_limit_constant_is_what_the_docs_say() -> None:
    assert MAX_DEPTH == 50
    assert MAX_LENGTH == 2000


def test_random_garbage_only_ever_raises_expression_error() -> None:
    rng = random.Random(7)
    alphabet = [*"ab1 .()[]{}$#'\"!&|=<>+-*/%?:,_\\", "and", "or", "not", "empty", "in", " x"]
    alphabet += ["f(", "true", "null", "__", "${", "}", "div"]
    compiled = 0
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 15)))
        try:
            expression = compile_expression(text)
        except ExpressionError:
            continue
        compiled += 1
        with contextlib.suppress(ExpressionError):
            expression.evaluate({"a": 1, "b": [1, 2], "x": {"y": "z"}}, {"f": lambda *a: 1})
    assert compiled > 50  # the generator does produce valid expressions too
