"""formatting: numbers, node names and local-derivative formulas, in text and in LaTeX."""

from __future__ import annotations

import math

import pytest
from conftest import seed_neuron
from latex_reference import OLD_LATEX, formula_cases

from microgradx import Value
from microgradx.engine import RULES, apply
from microgradx.formatting import (
    ATOM,
    NEGATIVE,
    OP_GLYPH,
    derivative_name,
    expression,
    fmt,
    latex_escape,
    latex_formula,
    latex_from_text,
    latex_names,
    latex_number,
    local_formula,
    node_names,
    number_written,
    parenthesize,
    superscript,
    written_names,
)
from microgradx.rules import BUILT_IN


@pytest.mark.parametrize(
    "x, digits, text",
    [
        (0.0, 4, "0"),
        (-0.0, 4, "0"),
        (0.10399, 4, "0.104"),
        (-2.5, 4, "-2.5"),
        (1234567.0, 4, "1.235e6"),
        (1.5e-7, 4, "1.5e-7"),
        (math.inf, 4, "inf"),
        (-math.inf, 4, "-inf"),
        (math.nan, 4, "nan"),
        (math.pi, 8, "3.1415927"),
    ],
)
def test_fmt(x, digits, text):
    assert fmt(x, digits) == text


def seed():
    """The seed neuron at w = 0.5, x = 1.5, y = 1: its output and the two nodes named by label."""
    n = seed_neuron(0.5, 1.5, 1.0)
    return n.E, n.yhat, n.z


def test_node_names_use_labels_numbers_and_short_expressions():
    E, _yhat, _z = seed()
    names = node_names(E)
    assert sorted(names.values()) == sorted(["0.5", "w", "x", "z", "ŷ", "y", "ŷ − y", "2", "(ŷ − y)²", "E"])
    assert len(set(names.values())) == len(names)


def test_a_constant_whole_exponent_is_written_as_a_superscript():
    x, n = Value(3.0, "x"), Value(2.0, "n")
    cases = [  # (expression, its name, the local derivative by its base, as explain and draw write it)
        (x**2, "x²", "2·x"),
        ((x**2) ** 3, "(x²)³", "3·(x²)²"),
        (x**-1, "x⁻¹", "-1·x⁻²"),
        ((-x) ** 2, "(−x)²", "2·(−x)"),
        (x**12, "x¹²", "12·x¹¹"),
        (x**0.5, "x^0.5", "0.5·x^-0.5"),  # not a whole number
        (x**100, "x^100", "100·x⁹⁹"),  # 100 is too long for a superscript; 99 is not
        (x**n, "x^n", "n·x^(n−1)"),  # a labelled exponent is a name, not a constant
        (Value(2.0, "σ²") ** 3, "(σ²)³", "3·(σ²)²"),  # not σ²³: a label ending in a superscript
        (Value(2.5e-7) ** 2, "(2.5e-7)²", "2·2.5e-7"),  # not 2.5e-7², a power of ten
        (Value(1e20) ** 3, "(1e20)³", "3·(1e20)²"),
    ]
    for power, name, local in cases:
        names = node_names(power)
        assert names[power] == name
        assert local_formula(power, 0, names) == local
    assert superscript(-10.0) == "⁻¹⁰" and superscript(math.inf) is None and superscript(math.nan) is None


def test_node_names_are_unique_and_long_expressions_get_op_and_index():
    a = Value(1.0, "a")
    v = a
    for _ in range(6):
        v = v * a + a
    names = node_names(v)
    assert len(set(names.values())) == len(names)
    assert any(name.startswith("mul") and name[3:].isdigit() for name in names.values())
    twins = Value(1.0, "t"), Value(2.0, "t")
    names = node_names(twins[0] + twins[1])
    assert {names[twins[0]], names[twins[1]]} == {"t", "t#2"}


def test_local_formulas_come_from_the_rule_table():
    E, yhat, z = seed()
    names = node_names(E)
    assert local_formula(yhat, 0, names) == RULES["sigmoid"].formulas[0].format(a="z")
    assert local_formula(z, 0, names) == "x" and local_formula(z, 1, names) == "w"
    square = E.parents[1]
    assert local_formula(square, 0, names) == "2·(ŷ − y)"


@pytest.mark.parametrize(
    "name, beside_an_operator",
    [
        ("w", "w"),
        ("2.5", "2.5"),
        ("σ(z)", "σ(z)"),  # a call is one operand
        ("|a − b|", "|a − b|"),  # so is an absolute value
        ("(ŷ − y)", "(ŷ − y)"),
        ("ŷ − y", "(ŷ − y)"),
        ("a·b", "(a·b)"),
        ("x^2", "(x^2)"),
        ("x²", "(x²)"),  # a superscript power too: (x²)³, not x²³
        ("a/b", "(a/b)"),
        ("−x", "(−x)"),  # a leading minus
        ("exp(a)·b", "(exp(a)·b)"),
        ("(a + b)·(c + d)", "((a + b)·(c + d))"),
    ],
)
def test_parenthesize_wraps_compound_names_only(name, beside_an_operator):
    assert parenthesize(name) == beside_an_operator


def test_every_op_has_a_glyph_for_pictures():
    assert set(OP_GLYPH) == set(RULES)
    assert all(OP_GLYPH[op] for op in OP_GLYPH)


@pytest.mark.parametrize(
    "label, latex",
    [
        ("w", "w"),
        ("ŷ", "\\hat{y}"),
        ("σ", "\\sigma{}"),
        ("w1", "w_{1}"),
        ("loss", "\\mathrm{loss}"),
        ("a_b", "\\mathrm{a\\_b}"),
        ("50%", "\\mathrm{50\\%}"),
        ("$&#{}", "\\mathrm{\\$\\&\\#\\{\\}}"),
        ("x^y", "\\mathrm{x\\text{\\textasciicircum}y}"),
        ("a\\b", "\\mathrm{a\\backslash{}b}"),
    ],
)
def test_latex_escape(label, latex):
    assert latex_escape(label) == latex


def test_latex_number():
    assert latex_number(-0.25) == "-0.25"
    assert latex_number(1.5e-7) == "1.5 \\times 10^{-7}"
    assert latex_number(math.inf) == "\\infty"


def test_latex_names_and_formulas_mirror_the_text_ones():
    E, yhat, _z = seed()
    tex = latex_names(E)
    assert tex[yhat] == "\\hat{y}" and tex[E.parents[1]] == "\\left(\\hat{y} - y\\right)^{2}"
    assert latex_formula(yhat, 0, tex) == "\\sigma(z) \\cdot (1 - \\sigma(z))"
    assert latex_formula(E.parents[1], 0, tex) == "2 \\cdot \\left(\\hat{y} - y\\right)"
    a, b = Value(2.0, "a"), Value(3.0, "b")
    power = a**b
    names = latex_names(power)
    assert latex_formula(power, 0, names) == "b \\cdot a^{b - 1}"
    assert latex_formula(power, 1, names) == "a^{b} \\cdot \\ln(a)"
    root = a.sqrt()
    assert latex_formula(root, 0, latex_names(root)) == "1/(2 \\cdot \\sqrt{a})"


@pytest.mark.parametrize("op", sorted(RULES))
def test_every_rule_formula_translates_to_balanced_latex(op):
    a, b = Value(1.3 if op == "acosh" else 0.7, "a"), Value(1.3, "b")  # (in each op's domain)
    if len(RULES[op].formulas) == 2:
        out = apply(op, a, b)  # a + b, a % b, atan2(a, b), ...
    else:
        out = -a if op == "neg" else abs(a) if op == "abs" else getattr(a, op)()
    names = latex_names(out)
    for index in range(len(out.parents)):
        tex = latex_formula(out, index, names)
        assert tex.count("{") == tex.count("}") and tex.count("(") == tex.count(")")
        assert not any(ch in tex for ch in "·−σ²√π")  # every text symbol became LaTeX


@pytest.mark.parametrize(
    "name, written",
    [
        ("w", "w"),
        ("ŷ", "ŷ"),
        ("w1", "w1"),
        ("ŷ − y", "(ŷ − y)"),
        ("σ(z)", "(σ(z))"),
        ("mul3", "(mul3)"),
        ("0.5", "(0.5)"),
        ("(ŷ − y)^2", "((ŷ − y)^2)"),
        ("x²", "(x²)"),  # not ∂x²/∂x, which reads as a second derivative
        ("(ŷ − y)²", "((ŷ − y)²)"),
    ],
)
def test_derivative_names_read_unambiguously_after_d(name, written):
    assert derivative_name(name) == written


def test_every_built_in_rule_holds_a_latex_formula_per_operand():
    for op in BUILT_IN:
        rule = RULES[op]
        assert len(rule.latex_formulas) == len(rule.formulas), op
        for text, tex in zip(rule.formulas, rule.latex_formulas, strict=True):
            placeholders = [p for p in ("{a}", "{b}", "{out}") if p in text]
            assert [p for p in ("{a}", "{b}", "{out}") if p in tex] == placeholders, (op, text, tex)


def test_the_latex_formulas_and_names_are_those_the_old_translator_wrote():
    """Every built-in op, with operands that are labels, sums, negations, powers, calls and products:
    the rules' LaTeX filled by the one writer is byte for byte what the re-parsing translator wrote."""
    cases = formula_cases()
    assert {key for key, _ in cases} == set(OLD_LATEX)  # the table covers every built-in op
    for key, out in cases:
        tex = latex_names(out)
        formulas = tuple(latex_formula(out, i, tex) for i in range(len(out.parents)))
        assert (formulas, tuple(tex[p] for p in out.parents)) == OLD_LATEX[key], key


def test_latex_names_make_the_same_choices_as_node_names():
    a = Value(1.0, "a")
    v = a
    for _ in range(4):
        v = (v * a + a) / Value(-2.0)
    twins = Value(1.0, "ŷ"), Value(2.0, "ŷ")
    out = v + twins[0] * twins[1] + Value(3.0, "loss") ** 2
    text, tex = node_names(out), latex_names(out)
    assert text.keys() == tex.keys()
    for one in text:  # two nodes share a LaTeX name exactly when they share a name (equal constants)
        assert [tex[one] == tex[other] for other in text] == [text[one] == text[other] for other in text]
    for node, name in text.items():
        if node.label:  # a label, or a repeated one with its count
            base, _, count = name.partition("#")
            assert tex[node] == latex_escape(base) + (f"\\#{count}" if count else "")
        elif not node.parents:
            assert tex[node] == latex_number(node.data)
        elif name[:3] in ("add", "mul", "div") and name[3:].isdigit():  # too long: op and index
            assert tex[node] == f"\\mathrm{{{name}}}"
    assert {text[twins[0]], text[twins[1]]} == {"ŷ", "ŷ#2"}
    assert {tex[twins[0]], tex[twins[1]]} == {"\\hat{y}", "\\hat{y}\\#2"}
    assert {"\\mathrm{mul1}", "\\mathrm{add1}"} <= set(tex.values())


def test_written_names_carry_each_names_precedence():
    """The scale the stepper parenthesizes numbers by: (ŷ − y)² keeps its parentheses, a negative
    number binds like unary minus, so (-0.4)² but 0.5·-0.4."""
    E, yhat, _z = seed()
    written = written_names(E)
    names = node_names(E)
    assert {node: name for node, (name, _) in written.items()} == names
    difference = E.parents[1].parents[0]
    assert written[difference] == ("ŷ − y", RULES["-"].precedence)
    assert written[yhat] == ("ŷ", ATOM) and written[E.parents[0]] == ("0.5", ATOM)
    assert number_written(-0.4) == ("-0.4", NEGATIVE) and number_written(0.4) == ("0.4", ATOM)
    square = E.parents[1]
    numbers = {square.parents[0]: number_written(-0.4), square.parents[1]: number_written(2.0)}
    assert expression(square, numbers)[0] == "(-0.4)²"
    product = Value(0.5) * Value(-0.4)
    numbers = {p: number_written(p.data) for p in product.parents}
    assert expression(product, numbers)[0] == "0.5·-0.4"


@pytest.mark.parametrize(
    "text, latex",
    [
        ("σ({a})·(1−σ({a}))", "\\sigma{}({a}) \\cdot (1 - \\sigma{}({a}))"),
        ("{b}·{a}^({b}−1)", "{b} \\cdot {a}^{{b} - 1}"),
        ("2^{a}·ln(2)", "2^{{a}} \\cdot \\ln(2)"),
        ("1/√(1−{a}²)", "1/\\surd{}(1 - {a}^{2})"),
        ("−floor({a}/{b})", "-\\operatorname{floor}({a}/{b})"),
        ("1−tanh²({a})", "1 - \\tanh^{2}({a})"),
        ("{a}^(b", "{a}\\text{\\textasciicircum}(b"),  # an unclosed exponent stays a caret
        ("50%·{out}_1", "50\\% \\cdot {out}\\_1"),  # LaTeX's specials escaped
    ],
)
def test_latex_from_text_spells_a_formula_symbol_by_symbol(text, latex):
    assert latex_from_text(text) == latex


def test_a_rule_without_latex_formulas_is_spelled_from_its_text(monkeypatch):
    cube = RULES["tanh"]._replace(op="cube", formulas=("3·{a}²",), latex_formulas=())
    monkeypatch.setitem(RULES, "cube", cube)
    x = Value(0.5, "x")
    y = apply("cube", x - Value(1.0, "c"))
    assert local_formula(y, 0, node_names(y)) == "3·(x − c)²"
    assert latex_formula(y, 0, latex_names(y)) == "3 \\cdot \\left(x - c\\right)^{2}"


def test_a_number_written_as_a_power_of_ten_is_parenthesised_where_latex_needs_it() -> None:
    # 1 \times 10^{20} is a product in LaTeX: as a power's base it needs \left( \right) (a second
    # ^ would be a "Double superscript" error in TeX), as a divisor too; as a factor it does not.
    from microgradx.formatting import latex_names

    x, big = Value(2.0, "x"), Value(1e20)
    cases = {
        big**x: r"\left(1 \times 10^{20}\right)^{x}",
        big**2: r"\left(1 \times 10^{20}\right)^{2}",
        x / big: r"x / \left(1 \times 10^{20}\right)",
        big * x: r"1 \times 10^{20} \cdot x",
        x**big: r"x^{1 \times 10^{20}}",
    }
    for node, expected in cases.items():
        assert latex_names(node)[node] == expected


def test_a_negative_factor_is_parenthesised_as_the_pages_write_it() -> None:
    from microgradx.formatting import factor

    assert [factor(fmt(x)) for x in (-0.25, 0.25, 0.0, -1e-9)] == ["(-0.25)", "0.25", "0", "(-1e-9)"]


@pytest.mark.parametrize(
    ("formula", "latex"),
    [
        ("{a}^0.5", "{a}^{0.5}"),  # a decimal exponent is one exponent (was x^{0}.5)
        ("-1.5·{a}^-2.5", "-1.5 \\cdot {a}^{-2.5}"),  # a signed exponent (was x^{-}2.5)
        ("2^-{a}", "2^{-{a}}"),
        ("{a}⁻²", "{a}^{-2}"),  # superscript digits (was x⁻^{2}: a double superscript)
        ("3·{a}²", "3 \\cdot {a}^{2}"),
        ("1e20·{a}", "1 \\times 10^{20} \\cdot {a}"),  # as the built-in writer writes 1e20
        ("{a}^(b−1)", "{a}^{b - 1}"),
    ],
)
def test_an_own_ops_formula_becomes_the_same_math_in_latex(formula, latex) -> None:
    from microgradx.formatting import latex_from_text

    assert latex_from_text(formula) == latex


def test_a_label_with_a_superscript_is_a_power_base_in_parentheses() -> None:
    # a variance labelled σ²: its square root is (σ²)^0.5, never σ²^0.5 or a stacked σ^{2}^{0.5}
    from microgradx.formatting import latex_formula, latex_names, local_formula, node_names

    v = Value(4.0, "σ²")
    root = v**0.5
    names = node_names(root)
    assert names[root] == "(σ²)^0.5" and local_formula(root, 0, names) == "0.5·(σ²)^-0.5"
    tex = latex_names(root)
    assert tex[root] == r"\left(\mathrm{\sigma{}^{2}}\right)^{0.5}"
    assert latex_formula(root, 0, tex) == r"0.5 \cdot \left(\mathrm{\sigma{}^{2}}\right)^{-0.5}"
    power = v ** Value(0.5, "b")  # an exponent of its own: the rule's template writes the base
    expected = r"b \cdot \left(\mathrm{\sigma{}^{2}}\right)^{b - 1}"
    assert latex_formula(power, 0, latex_names(power)) == expected
    product = v * 3.0
    assert node_names(product)[product] == "σ²·3"  # as a factor it needs nothing


def test_a_labels_own_brace_does_not_hide_a_sum_from_latex_operand() -> None:
    from microgradx.formatting import latex_operand

    # \{ in a label ("a{b") is a character, not a group: the sum still gets its parentheses
    assert latex_operand(r"\mathrm{a\{b} \cdot y + \mathrm{a\{b}^{2}") == (
        r"\left(\mathrm{a\{b} \cdot y + \mathrm{a\{b}^{2}\right)"
    )
    assert latex_operand(r"\mathrm{a\}b}") == r"\mathrm{a\}b}"  # one name alone needs none
