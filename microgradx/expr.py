"""The command line's expression language: parsed by a whitelist, evaluated into a microgradx graph.

An expression is Python-like: numbers, names, ``+ - * / **``, unary ``-`` and ``+``, parentheses,
calls of the rule table's functions of one value (`FUNCTIONS`: ``exp(x)``, ``abs(x)``, ...), ``;``-separated
``name = expr`` statements whose names label intermediate nodes (``z = w*x; yhat = sigmoid(z);
0.5*(yhat - y)**2``). The text goes through `ast.parse` only to be read: every node is checked
against an explicit whitelist and copied into a small tree of our own; nothing is ever evaluated
by Python (no ``eval``, ``exec`` or ``compile``). Anything else is an `ExpressionError` whose one
line names what was found and the 1-based column where it starts.
"""

from __future__ import annotations

import ast
import functools
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from microgradx.engine import RULES, Value, apply
from microgradx.formatting import fmt

__all__ = [
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_NESTING",
    "Expression",
    "ExpressionError",
    "ParseError",
    "check_name",
    "parse",
]

FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    rule.name: functools.partial(apply, rule.op)
    for rule in RULES.values()
    if rule.is_function
}
"""The functions an expression may call (SPEC §1), each with exactly one argument."""

_LONG_DIGITS = re.compile(r"\d{4000,}")  # longer than Python's parser takes as one int literal

MAX_LENGTH = 10_000
"""The longest expression accepted, in characters (a guard against resource exhaustion)."""

MAX_NESTING = 100
"""The deepest bracket nesting accepted; checked on the raw text before Python's parser sees it."""

_ALLOWED = ", ".join(sorted(FUNCTIONS))
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}

_FORBIDDEN = {
    ast.Attribute: "attribute access is",
    ast.Subscript: "subscripts (indexing) are",
    ast.Slice: "slices are",
    ast.Starred: "starred arguments are",
    ast.JoinedStr: "f-strings are",
    ast.FormattedValue: "f-strings are",
    ast.Lambda: "lambda is",
    ast.ListComp: "comprehensions are",
    ast.SetComp: "comprehensions are",
    ast.DictComp: "comprehensions are",
    ast.GeneratorExp: "comprehensions (generator expressions) are",
    ast.NamedExpr: "the walrus operator ':=' is",
    ast.Compare: "comparisons are",
    ast.BoolOp: "'and' and 'or' are",
    ast.IfExp: "conditional expressions (a if c else b) are",
    ast.List: "lists are",
    ast.Tuple: "tuples are",
    ast.Set: "sets are",
    ast.Dict: "dicts are",
    ast.Await: "'await' is",
    ast.Yield: "'yield' is",
    ast.YieldFrom: "'yield' is",
    ast.Import: "import is",
    ast.ImportFrom: "import is",
    ast.AugAssign: "augmented assignment (+= and the like) is",
    ast.AnnAssign: "annotated assignment is",
}
"""What a rejected construct is called in an error message (with its verb), by AST node type."""

_FORBIDDEN_OPS = {
    ast.FloorDiv: "'//' is",
    ast.Mod: "'%' is",
    ast.MatMult: "'@' is",
    ast.LShift: "'<<' is",
    ast.RShift: "'>>' is",
    ast.BitOr: "'|' is",
    ast.BitXor: "'^' is not a power here (write x**2) and",
    ast.BitAnd: "'&' is",
    ast.Not: "'not' is",
    ast.Invert: "'~' is",
}


class ExpressionError(ValueError):
    """A problem with an expression or its values: bad syntax, a missing value, a domain error."""


class ParseError(ExpressionError):
    """The text is not in the expression language; ``.column`` is the 1-based offending position.

    Raised by `parse` before anything is evaluated; the message starts ``column N:`` so the command
    line can point at the character that went wrong.
    """

    def __init__(self, message: str, column: int) -> None:
        super().__init__(f"column {column}: {message}")
        self.column = column


# --- the tree we evaluate ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """One node of a parsed expression: kind 'num', 'name', 'bin', 'neg' or 'call'."""

    kind: str
    column: int
    value: float | str = ""  # the number, the name, the operator or the function
    args: tuple[_Node, ...] = ()


@dataclass(frozen=True)
class Expression:
    """A parsed expression: its statements, the input names it needs and the names it assigns.

    Build one with `parse`; `evaluate` turns it into a fresh graph of Values each time it is called,
    so the same Expression serves gradients, finite differences and descent steps.
    """

    text: str
    statements: tuple[tuple[str | None, _Node], ...]
    inputs: tuple[str, ...]
    """Names used before (or without) being assigned, in order of first use: they need values."""
    assigned: tuple[str, ...]
    """Names assigned by ``name = expr`` statements, in order."""

    def evaluate(self, values: Mapping[str, Value | float], *, overflow: bool = False) -> Value:
        """The output Value, with ``values`` (name -> Value or number) bound to the input names.

        A number becomes a leaf Value labelled with its name; a Value is used as it is. Missing or
        doubly given names, domain errors (``log(-1)``) and, unless ``overflow`` is True, results
        that overflow to ±inf raise `ExpressionError`.
        """
        return self.bind(values, overflow=overflow)[0]

    def bind(
        self, values: Mapping[str, Value | float], *, overflow: bool = False
    ) -> tuple[Value, dict[str, Value]]:
        """Like `evaluate`, also returning every named Value (inputs and assigned names)."""
        missing = [name for name in self.inputs if name not in values]
        if missing:
            raise ExpressionError(f"no value for {', '.join(missing)}")
        both = [name for name in self.assigned if name in values]
        if both:
            raise ExpressionError(
                f"{', '.join(both)} is assigned in the expression and also given a value; keep one"
            )
        env: dict[str, Value] = {}
        for name in self.inputs:
            given = values[name]
            env[name] = given if type(given) is Value else Value(given, name)
        out = None
        for target, tree in self.statements:
            out = _evaluate(tree, env, overflow)
            if target is not None:
                if not out.label:  # `a = x` is an alias: x keeps its own label
                    out.label = target
                env[target] = out
        assert out is not None  # parse() never returns an empty program
        return out, env


# --- parsing -------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """Return `name` as the parser would see it (NFKC-normalised) or raise `ExpressionError`.

    Used for names given outside an expression (``--at w=0.3``), so they match the expression's.
    """
    normal = unicodedata.normalize("NFKC", name)
    if not normal.isidentifier() or keyword.iskeyword(normal):
        raise ExpressionError(f"{name!r} is not a valid name (use letters, digits and _)")
    if normal.startswith("__"):
        raise ExpressionError(f"dunder names are not allowed ({name!r})")
    if normal in FUNCTIONS:
        raise ExpressionError(f"{name!r} is a function name and cannot be a variable")
    return normal


def _precheck(text: str) -> None:
    """Refuse, before Python's parser runs, text that is too long, oddly encoded or too deep."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError("the expression is empty")
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ParseError(f"brackets are nested deeper than {MAX_NESTING} levels", i + 1)
        elif ch in ")]}":
            depth -= 1
        elif ch == "#":
            raise ParseError("'#' (a comment) is not allowed", i + 1)
        elif ch == "\n" or ch == "\r":
            raise ParseError("line breaks are not allowed; separate statements with ';'", i + 1)
        elif not ch.isprintable() and ch != "\t":
            raise ParseError(f"the character U+{ord(ch):04X} is not allowed", i + 1)


def parse(text: str) -> Expression:
    """Parse `text` into an `Expression`, or raise `ParseError` naming the offending column.

    Only the whitelisted language of this module is accepted, so the text can come from a user on
    the command line; nothing is evaluated until `Expression.evaluate` is given the inputs.

    >>> parse("z = w*x; sigmoid(z)").inputs
    ('w', 'x')
    """
    if type(text) is not str:
        raise TypeError(f"parse() needs a str, got {type(text).__name__}")
    _precheck(text)
    indent = len(text) - len(text.lstrip(" \t"))
    source = text[indent:]
    try:
        with warnings.catch_warnings():  # e.g. "invalid decimal literal": the error line says it all
            warnings.simplefilter("ignore")
            module = ast.parse(source, mode="exec")
    except SyntaxError as e:
        huge = _LONG_DIGITS.search(source)
        if huge is not None and "digits" in (e.msg or ""):  # Python's cap on int literals (4,300 digits)
            number = huge.group(0)
            raise ParseError(
                f"the number {number[:37]}... ({len(number):,} digits) is too large for a float",
                indent + huge.start() + 1,
            ) from None
        column = indent + (e.offset or 1)
        reason = (e.msg or "invalid syntax").split(" (<unknown>")[0]
        raise ParseError(f"{reason}", max(column, 1)) from None
    except (RecursionError, MemoryError):
        # Brackets are limited above, so this is a long run of operators: Python's parser reads
        # ``a + b + …`` as a tree as deep as its terms, and stops near 3,000 of them.
        operators = sum(source.count(c) for c in "+-*/")
        raise ExpressionError(
            f"the expression is nested too deeply for the parser: {operators:,} operators in one run "
            "(it stops near 3,000 terms in a row, a flat sum included); split it into steps with "
            "'name = ...;' assignments, e.g. 's1 = a + b + c; s2 = s1 + d + e; s2'"
        ) from None
    except ValueError as e:  # e.g. characters that cannot be encoded
        raise ExpressionError(f"the expression cannot be read: {e}") from None
    return _Reader(source, indent).program(module, text)


class _Reader:
    """Checks a Python AST against the whitelist and copies it into `_Node`s, iteratively."""

    def __init__(self, source: str, indent: int) -> None:
        self.source = source
        self.indent = indent
        # ast columns are UTF-8 byte offsets; map them to 1-based character columns of the text.
        self.columns: dict[int, int] = {}
        offset = 0
        for i, ch in enumerate(source):
            self.columns[offset] = indent + i + 1
            offset += len(ch.encode("utf-8"))
        self.columns[offset] = indent + len(source) + 1

    def column(self, node: ast.AST) -> int:
        return self.columns.get(getattr(node, "col_offset", 0), 1)

    def snippet(self, node: ast.AST) -> str:
        text = ast.get_source_segment(self.source, node) or ""
        return text if len(text) <= 40 else text[:37] + "..."

    def reject(self, what: str, node: ast.AST) -> ParseError:
        snippet = self.snippet(node)
        shown = f" ({snippet!r})" if snippet else ""
        return ParseError(f"{what} not allowed{shown}", self.column(node))

    def operator_column(self, node: ast.BinOp) -> int:
        """The column of a binary operator's symbol (between its operands), for error messages."""
        symbol = "**" if isinstance(node.op, ast.Pow) else None
        left_end = self.columns.get(getattr(node.left, "end_col_offset", -1), self.column(node))
        right_start = self.column(node.right)
        gap = self.source[left_end - 1 - self.indent : right_start - 1 - self.indent]
        for i, ch in enumerate(gap):
            if ch not in " \t()" and (symbol is None or gap.startswith(symbol, i)):
                return left_end + i
        return self.column(node)

    def program(self, module: ast.Module, text: str) -> Expression:
        body = module.body
        if not body:
            raise ExpressionError("the expression is empty")
        statements: list[tuple[str | None, _Node]] = []
        inputs: list[str] = []
        assigned: dict[str, int] = {}
        used_first: dict[str, int] = {}
        for index, stmt in enumerate(body):
            last = index == len(body) - 1
            if isinstance(stmt, ast.Expr):
                if not last:
                    raise ParseError(
                        "only the last statement may be a bare expression; name the others with 'name = ...'",
                        self.column(stmt),
                    )
                target, value = None, stmt.value
            elif isinstance(stmt, ast.Assign):
                target, value = self.assignment_target(stmt), stmt.value
            else:
                raise self.reject(
                    _FORBIDDEN.get(type(stmt), f"{type(stmt).__name__.lower()} statements are"), stmt
                )
            tree, names = self.expression(value)
            for name, column in names:
                if name in assigned:
                    continue
                if name not in used_first:
                    used_first[name] = column
                    inputs.append(name)
            if target is not None:
                name, column = target
                if name in assigned:
                    raise ParseError(f"'{name}' is assigned twice; each name labels one node", column)
                if name in used_first:
                    raise ParseError(
                        f"'{name}' is used (column {used_first[name]}) before it is assigned", column
                    )
                assigned[name] = column
                statements.append((name, tree))
            else:
                statements.append((None, tree))
        return Expression(
            text=text,
            statements=tuple(statements),
            inputs=tuple(inputs),
            assigned=tuple(assigned),
        )

    def assignment_target(self, stmt: ast.Assign) -> tuple[str, int]:
        if len(stmt.targets) != 1:
            raise self.reject("chained assignment (a = b = ...) is", stmt)
        target = stmt.targets[0]
        if not isinstance(target, ast.Name):
            what = _FORBIDDEN.get(type(target), f"{type(target).__name__.lower()} is")
            raise self.reject(f"{what.rsplit(' ', 1)[0]} as assignment targets are", target)
        self.check_name(target)
        if target.id in FUNCTIONS:
            raise ParseError(f"cannot assign to '{target.id}': it is a function", self.column(target))
        return target.id, self.column(target)

    def check_name(self, node: ast.Name) -> None:
        if node.id.startswith("__"):
            raise self.reject("dunder names are", node)

    def expression(self, root: ast.expr) -> tuple[_Node, list[tuple[str, int]]]:
        """Check `root` and copy it into a `_Node` tree; also list the names read, in order."""
        names: list[tuple[str, int]] = []
        results: list[_Node] = []
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if not ready:
                children = self.children(node)
                stack.append((node, True))
                stack.extend((child, False) for child in reversed(children))
                continue
            if isinstance(node, ast.Constant):
                results.append(_Node("num", self.column(node), self.number(node)))
            elif isinstance(node, ast.Name):
                names.append((node.id, self.column(node)))
                results.append(_Node("name", self.column(node), node.id))
            elif isinstance(node, ast.BinOp):
                right, left = results.pop(), results.pop()
                op = _BINARY[type(node.op)]
                results.append(_Node("bin", self.operator_column(node), op, (left, right)))
            elif isinstance(node, ast.UnaryOp):
                operand = results.pop()
                if isinstance(node.op, ast.UAdd):
                    results.append(operand)
                elif operand.kind == "num" and isinstance(node.operand, ast.Constant):
                    # -3 is the number -3, not a negation node.
                    results.append(_Node("num", self.column(node), -operand.value))
                else:
                    results.append(_Node("neg", self.column(node), "neg", (operand,)))
            else:  # a whitelisted call (see children)
                assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                results.append(_Node("call", self.column(node), node.func.id, (results.pop(),)))
        return results[0], names

    def children(self, node: ast.AST) -> list[ast.AST]:
        """The sub-expressions of an allowed node; raises `ParseError` for anything not allowed."""
        if isinstance(node, ast.Constant):
            return []
        if isinstance(node, ast.Name):
            self.check_name(node)
            if node.id in FUNCTIONS:
                raise ParseError(f"'{node.id}' is a function: call it as {node.id}(...)", self.column(node))
            return []
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                column = self.operator_column(node)
                raise ParseError(f"{_FORBIDDEN_OPS[type(node.op)]} not allowed", column)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not | ast.Invert):
                raise self.reject(_FORBIDDEN_OPS[type(node.op)], node)
            return [node.operand]
        if isinstance(node, ast.Call):
            return [self.call_argument(node)]
        raise self.reject(_FORBIDDEN.get(type(node), f"'{type(node).__name__}' is"), node)

    def call_argument(self, node: ast.Call) -> ast.expr:
        func = node.func
        if not isinstance(func, ast.Name):  # name what the callee is, when we know it
            what = _FORBIDDEN.get(type(func))
            raise (
                self.reject(what, func)
                if what
                else self.reject("calling anything but a function name is", node)
            )
        if func.id.startswith("__"):
            raise self.reject("dunder names are", func)
        if func.id not in FUNCTIONS:
            raise ParseError(f"unknown function '{func.id}' (allowed: {_ALLOWED})", self.column(func))
        if node.keywords:
            raise self.reject("keyword arguments are", node.keywords[0])
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.reject("starred arguments are", arg)
        if len(node.args) != 1:
            raise ParseError(
                f"{func.id}() takes exactly one argument, got {len(node.args)}", self.column(func)
            )
        return node.args[0]

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise self.reject(f"{value!r} is", node)
        if isinstance(value, str | bytes):
            raise self.reject("strings are", node)
        if isinstance(value, complex):
            raise self.reject("complex numbers are", node)
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ParseError(f"the number {self.snippet(node)} is too large for a float", self.column(node))
        return number


# --- evaluation ----------------------------------------------------------------------------------


def _describe(op: str, operands: list[Value]) -> str:
    shown = [fmt(v.data, 6) for v in operands]
    if op == "neg":
        return f"−{shown[0]}"
    if len(shown) == 2:
        return f"{shown[0]} {op} {shown[1]}"
    return f"{op}({shown[0]})"


def _evaluate(tree: _Node, env: Mapping[str, Value], overflow: bool) -> Value:
    """Build the graph of `tree` over `env`, iteratively (a long chain needs no recursion)."""
    results: list[Value] = []
    stack: list[tuple[_Node, bool]] = [(tree, False)]
    while stack:
        node, ready = stack.pop()
        if not ready and node.args:
            stack.append((node, True))
            stack.extend((child, False) for child in reversed(node.args))
            continue
        if node.kind == "num":
            results.append(Value(node.value))
            continue
        if node.kind == "name":
            results.append(env[node.value])
            continue
        operands = results[len(results) - len(node.args) :]
        del results[len(results) - len(node.args) :]
        try:
            if node.kind == "call":
                out = FUNCTIONS[node.value](operands[0])
            else:  # an operator: the node its rule makes, as Value's operator does
                out = apply(node.value, *operands)  # (a neg node's value is "neg")
        except (ArithmeticError, ValueError) as e:
            raise ExpressionError(f"column {node.column}: {e}") from None
        if not overflow and not math.isfinite(out.data) and all(math.isfinite(v.data) for v in operands):
            name = node.value if node.kind != "neg" else "-"
            raise ExpressionError(
                f"column {node.column}: '{name}' overflows: {_describe(str(node.value), operands)} "
                "is too large for a float"
            )
        results.append(out)
    return results[0]
