"""The LaTeX the old translator wrote (tests/test_formatting.py's independent reference).

Recorded once, by running `formula_cases` on the package before #32, whose `formatting._latex_template`
re-parsed each rule's text formula character by character and whose `_latex_expression` wrote the
names. The rules now hold their LaTeX formulas (`Rule.latex_formulas`) and one writer fills them; this
table says the LaTeX is the same, byte for byte.
"""

from __future__ import annotations

from microgradx import Value
from microgradx.engine import RULES, apply
from microgradx.rules import BUILT_IN


def formula_cases():
    """(key, node) for every built-in op with operands of four kinds: labels, sums and differences,
    a negation and a power, a call and a product (each in the op's domain)."""
    cases = []
    for op in sorted(BUILT_IN):
        big = 1.0 if op == "acosh" else 0.0  # acosh needs an operand above 1
        x, y, u, v = Value(0.2 + big, "x"), Value(0.1, "y"), Value(0.9, "u"), Value(0.2, "v")
        operands = {
            "labels": (Value(0.3 + big, "a"), Value(0.7, "b")),
            "sums": (x + y, u - v),
            "negation": (-Value(-0.3 - big, "t"), Value(0.6, "s") ** 2),
            "call": (Value(0.3 + big, "z").exp() if big else Value(0.3, "z").sigmoid(), u * v),
        }
        for kind, (a, b) in operands.items():
            arity = len(RULES[op].formulas)
            out = apply(op, a, b) if arity == 2 else apply(op, a)
            out.label = "o"
            cases.append(((op, kind), out))
    return cases


OLD_LATEX = {  # (op, operands) -> (the LaTeX formula of each operand's local derivative, their names)
    ("%", "labels"): (("1", "-\\operatorname{floor}(a/b)"), ("a", "b")),
    ("%", "sums"): (
        ("1", "-\\operatorname{floor}(\\left(x + y\\right)/\\left(u - v\\right))"),
        ("x + y", "u - v"),
    ),
    ("%", "negation"): (
        ("1", "-\\operatorname{floor}(\\left(-t\\right)/\\left(s^{2}\\right))"),
        ("-t", "s^{2}"),
    ),
    ("%", "call"): (
        ("1", "-\\operatorname{floor}(\\sigma(z)/\\left(u \\cdot v\\right))"),
        ("\\sigma(z)", "u \\cdot v"),
    ),
    ("*", "labels"): (("b", "a"), ("a", "b")),
    ("*", "sums"): (("u - v", "x + y"), ("x + y", "u - v")),
    ("*", "negation"): (("s^{2}", "-t"), ("-t", "s^{2}")),
    ("*", "call"): (("u \\cdot v", "\\sigma(z)"), ("\\sigma(z)", "u \\cdot v")),
    ("**", "labels"): (("b \\cdot a^{b - 1}", "a^{b} \\cdot \\ln(a)"), ("a", "b")),
    ("**", "sums"): (
        (
            "\\left(u - v\\right) \\cdot \\left(x + y\\right)^{\\left(u - v\\right) - 1}",
            "\\left(x + y\\right)^{u - v} \\cdot \\ln(x + y)",
        ),
        ("x + y", "u - v"),
    ),
    ("**", "negation"): (
        (
            "\\left(s^{2}\\right) \\cdot \\left(-t\\right)^{\\left(s^{2}\\right) - 1}",
            "\\left(-t\\right)^{s^{2}} \\cdot \\ln(-t)",
        ),
        ("-t", "s^{2}"),
    ),
    ("**", "call"): (
        (
            "\\left(u \\cdot v\\right) \\cdot \\sigma(z)^{\\left(u \\cdot v\\right) - 1}",
            "\\sigma(z)^{u \\cdot v} \\cdot \\ln(\\sigma(z))",
        ),
        ("\\sigma(z)", "u \\cdot v"),
    ),
    ("+", "labels"): (("1", "1"), ("a", "b")),
    ("+", "sums"): (("1", "1"), ("x + y", "u - v")),
    ("+", "negation"): (("1", "1"), ("-t", "s^{2}")),
    ("+", "call"): (("1", "1"), ("\\sigma(z)", "u \\cdot v")),
    ("-", "labels"): (("1", "-1"), ("a", "b")),
    ("-", "sums"): (("1", "-1"), ("x + y", "u - v")),
    ("-", "negation"): (("1", "-1"), ("-t", "s^{2}")),
    ("-", "call"): (("1", "-1"), ("\\sigma(z)", "u \\cdot v")),
    ("/", "labels"): (("1/b", "-a/b^{2}"), ("a", "b")),
    ("/", "sums"): (
        ("1/\\left(u - v\\right)", "-\\left(x + y\\right)/\\left(u - v\\right)^{2}"),
        ("x + y", "u - v"),
    ),
    ("/", "negation"): (
        ("1/\\left(s^{2}\\right)", "-\\left(-t\\right)/\\left(s^{2}\\right)^{2}"),
        ("-t", "s^{2}"),
    ),
    ("/", "call"): (
        ("1/\\left(u \\cdot v\\right)", "-\\sigma(z)/\\left(u \\cdot v\\right)^{2}"),
        ("\\sigma(z)", "u \\cdot v"),
    ),
    ("abs", "labels"): (("\\operatorname{sign}(a)",), ("a",)),
    ("abs", "sums"): (("\\operatorname{sign}(x + y)",), ("x + y",)),
    ("abs", "negation"): (("\\operatorname{sign}(-t)",), ("-t",)),
    ("abs", "call"): (("\\operatorname{sign}(\\sigma(z))",), ("\\sigma(z)",)),
    ("acos", "labels"): (("-1/\\sqrt{1 - a^{2}}",), ("a",)),
    ("acos", "sums"): (("-1/\\sqrt{1 - \\left(x + y\\right)^{2}}",), ("x + y",)),
    ("acos", "negation"): (("-1/\\sqrt{1 - \\left(-t\\right)^{2}}",), ("-t",)),
    ("acos", "call"): (("-1/\\sqrt{1 - \\sigma(z)^{2}}",), ("\\sigma(z)",)),
    ("acosh", "labels"): (("1/\\sqrt{a^{2} - 1}",), ("a",)),
    ("acosh", "sums"): (("1/\\sqrt{\\left(x + y\\right)^{2} - 1}",), ("x + y",)),
    ("acosh", "negation"): (("1/\\sqrt{\\left(-t\\right)^{2} - 1}",), ("-t",)),
    ("acosh", "call"): (("1/\\sqrt{\\exp(z)^{2} - 1}",), ("\\exp(z)",)),
    ("asin", "labels"): (("1/\\sqrt{1 - a^{2}}",), ("a",)),
    ("asin", "sums"): (("1/\\sqrt{1 - \\left(x + y\\right)^{2}}",), ("x + y",)),
    ("asin", "negation"): (("1/\\sqrt{1 - \\left(-t\\right)^{2}}",), ("-t",)),
    ("asin", "call"): (("1/\\sqrt{1 - \\sigma(z)^{2}}",), ("\\sigma(z)",)),
    ("asinh", "labels"): (("1/\\sqrt{a^{2}+1}",), ("a",)),
    ("asinh", "sums"): (("1/\\sqrt{\\left(x + y\\right)^{2}+1}",), ("x + y",)),
    ("asinh", "negation"): (("1/\\sqrt{\\left(-t\\right)^{2}+1}",), ("-t",)),
    ("asinh", "call"): (("1/\\sqrt{\\sigma(z)^{2}+1}",), ("\\sigma(z)",)),
    ("atan", "labels"): (("1/(1+a^{2})",), ("a",)),
    ("atan", "sums"): (("1/(1+\\left(x + y\\right)^{2})",), ("x + y",)),
    ("atan", "negation"): (("1/(1+\\left(-t\\right)^{2})",), ("-t",)),
    ("atan", "call"): (("1/(1+\\sigma(z)^{2})",), ("\\sigma(z)",)),
    ("atan2", "labels"): (("b/(a^{2}+b^{2})", "-a/(a^{2}+b^{2})"), ("a", "b")),
    ("atan2", "sums"): (
        (
            "\\left(u - v\\right)/(\\left(x + y\\right)^{2}+\\left(u - v\\right)^{2})",
            "-\\left(x + y\\right)/(\\left(x + y\\right)^{2}+\\left(u - v\\right)^{2})",
        ),
        ("x + y", "u - v"),
    ),
    ("atan2", "negation"): (
        (
            "\\left(s^{2}\\right)/(\\left(-t\\right)^{2}+\\left(s^{2}\\right)^{2})",
            "-\\left(-t\\right)/(\\left(-t\\right)^{2}+\\left(s^{2}\\right)^{2})",
        ),
        ("-t", "s^{2}"),
    ),
    ("atan2", "call"): (
        (
            "\\left(u \\cdot v\\right)/(\\sigma(z)^{2}+\\left(u \\cdot v\\right)^{2})",
            "-\\sigma(z)/(\\sigma(z)^{2}+\\left(u \\cdot v\\right)^{2})",
        ),
        ("\\sigma(z)", "u \\cdot v"),
    ),
    ("atanh", "labels"): (("1/(1 - a^{2})",), ("a",)),
    ("atanh", "sums"): (("1/(1 - \\left(x + y\\right)^{2})",), ("x + y",)),
    ("atanh", "negation"): (("1/(1 - \\left(-t\\right)^{2})",), ("-t",)),
    ("atanh", "call"): (("1/(1 - \\sigma(z)^{2})",), ("\\sigma(z)",)),
    ("cos", "labels"): (("-\\sin(a)",), ("a",)),
    ("cos", "sums"): (("-\\sin(x + y)",), ("x + y",)),
    ("cos", "negation"): (("-\\sin(-t)",), ("-t",)),
    ("cos", "call"): (("-\\sin(\\sigma(z))",), ("\\sigma(z)",)),
    ("cosh", "labels"): (("\\sinh(a)",), ("a",)),
    ("cosh", "sums"): (("\\sinh(x + y)",), ("x + y",)),
    ("cosh", "negation"): (("\\sinh(-t)",), ("-t",)),
    ("cosh", "call"): (("\\sinh(\\sigma(z))",), ("\\sigma(z)",)),
    ("degrees", "labels"): (("180/\\pi ",), ("a",)),
    ("degrees", "sums"): (("180/\\pi ",), ("x + y",)),
    ("degrees", "negation"): (("180/\\pi ",), ("-t",)),
    ("degrees", "call"): (("180/\\pi ",), ("\\sigma(z)",)),
    ("exp", "labels"): (("\\exp(a)",), ("a",)),
    ("exp", "sums"): (("\\exp(x + y)",), ("x + y",)),
    ("exp", "negation"): (("\\exp(-t)",), ("-t",)),
    ("exp", "call"): (("\\exp(\\sigma(z))",), ("\\sigma(z)",)),
    ("exp2", "labels"): (("2^{a} \\cdot \\ln(2)",), ("a",)),
    ("exp2", "sums"): (("2^{x + y} \\cdot \\ln(2)",), ("x + y",)),
    ("exp2", "negation"): (("2^{-t} \\cdot \\ln(2)",), ("-t",)),
    ("exp2", "call"): (("2^{\\sigma(z)} \\cdot \\ln(2)",), ("\\sigma(z)",)),
    ("expm1", "labels"): (("\\exp(a)",), ("a",)),
    ("expm1", "sums"): (("\\exp(x + y)",), ("x + y",)),
    ("expm1", "negation"): (("\\exp(-t)",), ("-t",)),
    ("expm1", "call"): (("\\exp(\\sigma(z))",), ("\\sigma(z)",)),
    ("hypot", "labels"): (("a/\\sqrt{a^{2}+b^{2}}", "b/\\sqrt{a^{2}+b^{2}}"), ("a", "b")),
    ("hypot", "sums"): (
        (
            "\\left(x + y\\right)/\\sqrt{\\left(x + y\\right)^{2}+\\left(u - v\\right)^{2}}",
            "\\left(u - v\\right)/\\sqrt{\\left(x + y\\right)^{2}+\\left(u - v\\right)^{2}}",
        ),
        ("x + y", "u - v"),
    ),
    ("hypot", "negation"): (
        (
            "\\left(-t\\right)/\\sqrt{\\left(-t\\right)^{2}+\\left(s^{2}\\right)^{2}}",
            "\\left(s^{2}\\right)/\\sqrt{\\left(-t\\right)^{2}+\\left(s^{2}\\right)^{2}}",
        ),
        ("-t", "s^{2}"),
    ),
    ("hypot", "call"): (
        (
            "\\sigma(z)/\\sqrt{\\sigma(z)^{2}+\\left(u \\cdot v\\right)^{2}}",
            "\\left(u \\cdot v\\right)/\\sqrt{\\sigma(z)^{2}+\\left(u \\cdot v\\right)^{2}}",
        ),
        ("\\sigma(z)", "u \\cdot v"),
    ),
    ("log", "labels"): (("1/a",), ("a",)),
    ("log", "sums"): (("1/\\left(x + y\\right)",), ("x + y",)),
    ("log", "negation"): (("1/\\left(-t\\right)",), ("-t",)),
    ("log", "call"): (("1/\\sigma(z)",), ("\\sigma(z)",)),
    ("log10", "labels"): (("1/(a \\cdot \\ln(10))",), ("a",)),
    ("log10", "sums"): (("1/(\\left(x + y\\right) \\cdot \\ln(10))",), ("x + y",)),
    ("log10", "negation"): (("1/(\\left(-t\\right) \\cdot \\ln(10))",), ("-t",)),
    ("log10", "call"): (("1/(\\sigma(z) \\cdot \\ln(10))",), ("\\sigma(z)",)),
    ("log1p", "labels"): (("1/(1+a)",), ("a",)),
    ("log1p", "sums"): (("1/(1+\\left(x + y\\right))",), ("x + y",)),
    ("log1p", "negation"): (("1/(1+\\left(-t\\right))",), ("-t",)),
    ("log1p", "call"): (("1/(1+\\sigma(z))",), ("\\sigma(z)",)),
    ("log2", "labels"): (("1/(a \\cdot \\ln(2))",), ("a",)),
    ("log2", "sums"): (("1/(\\left(x + y\\right) \\cdot \\ln(2))",), ("x + y",)),
    ("log2", "negation"): (("1/(\\left(-t\\right) \\cdot \\ln(2))",), ("-t",)),
    ("log2", "call"): (("1/(\\sigma(z) \\cdot \\ln(2))",), ("\\sigma(z)",)),
    ("neg", "labels"): (("-1",), ("a",)),
    ("neg", "sums"): (("-1",), ("x + y",)),
    ("neg", "negation"): (("-1",), ("-t",)),
    ("neg", "call"): (("-1",), ("\\sigma(z)",)),
    ("radians", "labels"): (("\\pi /180",), ("a",)),
    ("radians", "sums"): (("\\pi /180",), ("x + y",)),
    ("radians", "negation"): (("\\pi /180",), ("-t",)),
    ("radians", "call"): (("\\pi /180",), ("\\sigma(z)",)),
    ("relu", "labels"): (("[a > 0]",), ("a",)),
    ("relu", "sums"): (("[\\left(x + y\\right) > 0]",), ("x + y",)),
    ("relu", "negation"): (("[\\left(-t\\right) > 0]",), ("-t",)),
    ("relu", "call"): (("[\\sigma(z) > 0]",), ("\\sigma(z)",)),
    ("sigmoid", "labels"): (("\\sigma(a) \\cdot (1 - \\sigma(a))",), ("a",)),
    ("sigmoid", "sums"): (("\\sigma(x + y) \\cdot (1 - \\sigma(x + y))",), ("x + y",)),
    ("sigmoid", "negation"): (("\\sigma(-t) \\cdot (1 - \\sigma(-t))",), ("-t",)),
    ("sigmoid", "call"): (("\\sigma(\\sigma(z)) \\cdot (1 - \\sigma(\\sigma(z)))",), ("\\sigma(z)",)),
    ("sign", "labels"): (("0",), ("a",)),
    ("sign", "sums"): (("0",), ("x + y",)),
    ("sign", "negation"): (("0",), ("-t",)),
    ("sign", "call"): (("0",), ("\\sigma(z)",)),
    ("sin", "labels"): (("\\cos(a)",), ("a",)),
    ("sin", "sums"): (("\\cos(x + y)",), ("x + y",)),
    ("sin", "negation"): (("\\cos(-t)",), ("-t",)),
    ("sin", "call"): (("\\cos(\\sigma(z))",), ("\\sigma(z)",)),
    ("sinh", "labels"): (("\\cosh(a)",), ("a",)),
    ("sinh", "sums"): (("\\cosh(x + y)",), ("x + y",)),
    ("sinh", "negation"): (("\\cosh(-t)",), ("-t",)),
    ("sinh", "call"): (("\\cosh(\\sigma(z))",), ("\\sigma(z)",)),
    ("sqrt", "labels"): (("1/(2 \\cdot \\sqrt{a})",), ("a",)),
    ("sqrt", "sums"): (("1/(2 \\cdot \\sqrt{x + y})",), ("x + y",)),
    ("sqrt", "negation"): (("1/(2 \\cdot \\sqrt{-t})",), ("-t",)),
    ("sqrt", "call"): (("1/(2 \\cdot \\sqrt{\\sigma(z)})",), ("\\sigma(z)",)),
    ("tan", "labels"): (("1+\\tan^{2}(a)",), ("a",)),
    ("tan", "sums"): (("1+\\tan^{2}(x + y)",), ("x + y",)),
    ("tan", "negation"): (("1+\\tan^{2}(-t)",), ("-t",)),
    ("tan", "call"): (("1+\\tan^{2}(\\sigma(z))",), ("\\sigma(z)",)),
    ("tanh", "labels"): (("1 - \\tanh^{2}(a)",), ("a",)),
    ("tanh", "sums"): (("1 - \\tanh^{2}(x + y)",), ("x + y",)),
    ("tanh", "negation"): (("1 - \\tanh^{2}(-t)",), ("-t",)),
    ("tanh", "call"): (("1 - \\tanh^{2}(\\sigma(z))",), ("\\sigma(z)",)),
}
