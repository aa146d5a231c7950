"""`custom_op`: an op of your own works like a built-in one, and a wrong derivative is caught when made.

Truths: closed forms (softplus' = σ, softplus'' = σ(1 − σ); logaddexp's partials σ(a − b), σ(b − a)),
PyTorch's softplus and logaddexp where installed (values, gradients, second derivatives), and central
differences. Each test leaves `RULES` as built (tests/conftest.py).
"""

from __future__ import annotations

import math

import pytest

import microgradx as mg
from microgradx import Value
from microgradx.engine import RULES
from microgradx.html import page_data


def sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def softplus_op(derivative=lambda a: mg.sigmoid(a), **options):
    forward = lambda a: math.log1p(math.exp(a))  # noqa: E731
    return mg.custom_op("softplus", forward, derivative, formula="σ({a})", **options)


def logaddexp_op():
    return mg.custom_op(
        "logaddexp",
        lambda a, b: max(a, b) + math.log1p(math.exp(-abs(a - b))),
        lambda a, b: (mg.sigmoid(a - b), mg.sigmoid(b - a)),
        formula=("σ({a}−{b})", "σ({b}−{a})"),
    )


def test_an_op_of_one_operand_is_one_node_with_its_derivative_and_its_second_derivative():
    softplus = softplus_op()
    x = Value(0.7, "x")
    out = softplus(x)
    assert (out.op, out.parents, out.data) == ("softplus", (x,), math.log1p(math.exp(0.7)))
    assert softplus(2.0).data == math.log1p(math.exp(2.0)) and softplus.__name__ == "softplus"
    (out * out).backward()
    assert x.grad == pytest.approx(2 * out.data * sigma(0.7), rel=1e-14)
    (first,) = mg.grad(out, [x], create_graph=True)
    (second,) = mg.grad(first, [x])
    assert first.data == pytest.approx(sigma(0.7), rel=1e-15)
    assert second == pytest.approx(sigma(0.7) * (1 - sigma(0.7)), rel=1e-14)


def test_an_op_of_two_operands_gives_both_partials_and_mixed_second_derivatives():
    logaddexp = logaddexp_op()
    a, b = Value(0.3, "a"), Value(-1.2, "b")
    out = logaddexp(a, b)
    assert out.parents == (a, b) and out.data == pytest.approx(math.log(math.exp(0.3) + math.exp(-1.2)))
    out.backward()
    assert (a.grad, b.grad) == (pytest.approx(sigma(1.5)), pytest.approx(sigma(-1.5)))
    da, _ = mg.grad(out, [a, b], create_graph=True)
    both = sigma(1.5) * sigma(-1.5)  # σ'(a − b) = σ(a − b)·σ(b − a), times ±1
    assert mg.grad(da, [a, b]) == [pytest.approx(both), pytest.approx(-both)]
    assert logaddexp(1.0, Value(2.0)).parents[0].data == 1.0  # numbers become leaves, as for built-in ops


def test_values_gradients_and_second_derivatives_match_pytorch():
    torch = pytest.importorskip("torch")
    softplus, logaddexp = softplus_op(), logaddexp_op()
    for x0 in (-3.0, -0.2, 0.0, 1.7, 15.0):  # (torch's softplus is x itself past 20)
        t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        t_out = torch.nn.functional.softplus(t)
        (t_first,) = torch.autograd.grad(t_out, t, create_graph=True)
        (t_second,) = torch.autograd.grad(t_first, t)
        x = Value(x0)
        out = softplus(x)
        (first,) = mg.grad(out, [x], create_graph=True)
        assert out.data == pytest.approx(t_out.item(), rel=1e-15)
        assert first.data == pytest.approx(t_first.item(), rel=1e-15)
        assert mg.grad(first, [x]) == [pytest.approx(t_second.item(), rel=1e-13)]
    ta = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(-1.2, dtype=torch.float64, requires_grad=True)
    torch.logaddexp(ta, tb).backward()
    a, b = Value(0.3), Value(-1.2)
    logaddexp(a, b).backward()
    assert [a.grad, b.grad] == pytest.approx([ta.grad.item(), tb.grad.item()], rel=1e-15)


def test_explain_draw_the_stepper_and_sympy_treat_it_as_a_built_in_op():
    softplus, logaddexp = softplus_op(), logaddexp_op()
    w, v = Value(0.5, "w"), Value(-0.25, "v")
    out = softplus(w) * logaddexp(w, v)
    out.backward()
    said = str(mg.explain(out, w))
    assert "∂(softplus(w))/∂w" in said and "σ(w)" in said and "σ(w−v)" in said
    assert mg.explain(out, w).total == pytest.approx(w.grad, rel=1e-14)
    text, dot = mg.to_text(out), mg.to_dot(out)
    assert "softplus" in text and "logaddexp" in text and "softplus" in dot
    assert ">a<" in dot and ">b<" in dot  # the arrows of an op of two operands say which is a, which b
    shown = {info["name"]: info["grad"] for info in page_data(out)["nodes"]}
    assert (shown["w"], shown["v"]) == (pytest.approx(w.grad, rel=1e-14), pytest.approx(v.grad, rel=1e-14))
    assert "softplus" in str(mg.stepper(out))
    sympy = pytest.importorskip("sympy")
    assert str(mg.to_sympy(softplus(w))) == "softplus(w)"
    assert isinstance(mg.to_sympy(out), sympy.Expr)


def test_trace_and_trace_batch_replay_it():
    np = pytest.importorskip("numpy")
    softplus, logaddexp = softplus_op(), logaddexp_op()

    def f(x, y):
        return softplus(x * y) + logaddexp(x, y)

    step, batch = mg.trace(f, 0.5, 1.5), mg.trace_batch(f, 0.5, 1.5)
    xs, ys = [0.5, -1.0, 2.0], [1.5, 0.25, -0.75]
    many = batch(np.array(xs), np.array(ys))
    for k, (x0, y0) in enumerate(zip(xs, ys, strict=True)):
        x, y = Value(x0), Value(y0)
        out = f(x, y)
        out.backward()
        assert step(x0, y0).value == out.data and step(x0, y0).grads == (x.grad, y.grad)
        assert many.values[k] == out.data and (many.grads[0][k], many.grads[1][k]) == (x.grad, y.grad)


@pytest.mark.parametrize(
    "derivative, said",
    [
        (lambda a: 0.5 * mg.sigmoid(a), "a constant factor 2 is missing"),
        (lambda a: 2.0 * mg.sigmoid(a), "there is an extra constant factor 2"),
        (lambda a: -mg.sigmoid(a), "a sign is flipped"),
        (lambda a: mg.exp(a), ""),  # the exponent's derivative alone: no simple relation to name
    ],
)
def test_a_wrong_derivative_is_caught_when_the_op_is_made_with_its_diagnosis(derivative, said):
    with pytest.raises(ValueError) as caught:
        softplus_op(derivative)
    message = str(caught.value)
    # the op, the point, both numbers
    assert message.startswith("custom_op 'softplus': the derivative ∂softplus/∂a looks wrong: at a = 0.35")
    given = float(derivative(0.35).data)
    assert f"it gives {mg.formatting.fmt(given, 8)}, central differences give 0.58661758" in message
    assert said in message
    assert "softplus" not in RULES  # a wrong op is not registered


def test_a_wrong_partial_of_two_operands_is_named():
    with pytest.raises(ValueError, match=r"∂hinge/∂b looks wrong: .*a sign is flipped"):
        mg.custom_op("hinge", lambda a, b: a * b + b, lambda a, b: (b, -(a + 1.0)))


def test_check_false_trusts_the_derivative_and_backward_uses_it():
    softplus = softplus_op(lambda a: 2.0 * mg.sigmoid(a), check=False)
    x = Value(0.0)
    softplus(x).backward()
    assert x.grad == 1.0  # the learner's (wrong) rule, as asked


def test_a_derivative_computed_from_plain_numbers_cannot_be_differentiated_again_silently():
    x = Value(0.4)
    softplus = softplus_op(lambda a: 1.0 / (1.0 + math.exp(-a)))  # math.exp of a Value: a float
    softplus(x).backward()
    assert x.grad == pytest.approx(sigma(0.4))  # first derivatives are fine
    with pytest.raises(TypeError, match=r"custom_op 'softplus': its derivative turned a Value into a float"):
        mg.grad(softplus(x), [x], create_graph=True)
    sneaky = softplus_op(lambda a: sigma(a.data) if type(a) is Value else sigma(a))
    with pytest.raises(TypeError, match=r"computed from plain numbers .* yet it changes with a"):
        mg.grad(sneaky(x), [x], create_graph=True)


def test_a_constant_derivative_may_be_a_plain_number():
    triple = mg.custom_op("triple", lambda a: 3.0 * a, lambda a: 3.0)
    x = Value(2.0)
    (first,) = mg.grad(triple(x) * x, [x], create_graph=True)  # 3x·x: 6x, then 6
    assert first.data == 12.0 and mg.grad(first, [x]) == [6.0]


def test_the_check_uses_points_of_the_forwards_domain():
    logit = mg.custom_op("logit", lambda p: math.log(p / (1.0 - p)), lambda p: 1.0 / (p * (1.0 - p)))
    assert logit(0.25).data == pytest.approx(math.log(1 / 3))
    with pytest.raises(ValueError, match=r"forward is not defined .* at any of the points"):
        mg.custom_op("nowhere", lambda a: math.sqrt(-1.0 - abs(a)), lambda a: 0.0)


@pytest.mark.parametrize("name", ["2fast", "my-op", "", "if", "soft plus", 3])
def test_a_name_that_is_not_an_identifier_is_refused(name):
    with pytest.raises(ValueError, match="must be a Python identifier"):
        mg.custom_op(name, lambda a: a, lambda a: 1.0)


@pytest.mark.parametrize("name", ["exp", "relu", "neg", "atan2", "log1p"])
def test_a_built_in_ops_name_is_refused(name):
    with pytest.raises(ValueError, match=f"'{name}' is a built-in op's name"):
        mg.custom_op(name, lambda a: a, lambda a: 1.0)
    assert RULES[name].forward is not None and name in mg.rules.BUILT_IN


def test_making_an_op_again_replaces_it_as_rerunning_a_notebook_cell_does():
    first = mg.custom_op("bump", lambda a: a * a, lambda a: 2.0 * a)
    second = mg.custom_op("bump", lambda a: a * a * a, lambda a: 3.0 * a * a)
    x = Value(2.0)
    out = first(x)  # the name's rule now is the second one's
    out.backward()
    assert (out.data, x.grad) == (8.0, 12.0) and second(2.0).data == 8.0


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="forward must take one operand or two, it takes 3"):
        mg.custom_op("three", lambda a, b, c: a, lambda a, b, c: (1.0, 0.0, 0.0))
    with pytest.raises(TypeError, match="derivative must be a function"):
        mg.custom_op("half", lambda a: a / 2, 0.5)
    with pytest.raises(ValueError, match=r"formula '2·\{x\}' uses \{x\}; write it over \{a\}, \{out\}"):
        mg.custom_op("double", lambda a: 2 * a, lambda a: 2.0, formula="2·{x}")
    with pytest.raises(TypeError, match="formula must be two strings"):
        mg.custom_op("prod", lambda a, b: a * b, lambda a, b: (b, a), formula="{b}")
    with pytest.raises(TypeError, match=r"derivative must return a tuple \(∂out/∂a, ∂out/∂b\)"):
        mg.custom_op("prod", lambda a, b: a * b, lambda a, b: b)
    with pytest.raises(TypeError, match="forward must return a number, got str"):
        mg.custom_op("word", lambda a: "a", lambda a: 1.0)
    double = mg.custom_op("double", lambda a: 2 * a, lambda a: 2.0)
    with pytest.raises(TypeError, match=r"double\(\) takes 1 operand, got 2"):
        double(1.0, 2.0)


def test_with_a_forward_written_on_values_the_missing_factor_of_the_chain_rule_is_named():
    with pytest.raises(ValueError, match=r"at a = 0.35 .*the factor ∂\(a²\)/∂a = 2 · a is missing"):
        mg.custom_op("sinsq", lambda a: mg.sin(a**2), lambda a: mg.cos(a**2))  # cos(a²)·2a, 2a forgotten
    def forgot_b(a, b):  # ∂tanh(ab)/∂a = b·(1 − tanh²(ab)): the b forgotten
        slope = 1 - mg.tanh(a * b) ** 2
        return slope, a * slope

    with pytest.raises(ValueError, match=r"∂th/∂a .* at a = 0.7, b = 1.3 .*∂\(a·b\)/∂a = b is missing"):
        mg.custom_op("th", lambda a, b: mg.tanh(a * b), forgot_b)


def test_its_latex_formula_is_the_text_formula_spelled_as_math():
    """`custom_op` takes the formula in text only; `explain(...).to_latex()` spells it symbol by symbol,
    and without a formula writes the derivative's name, f′(a) or ∂₁f(a, b)."""
    w, v = Value(0.5, "w"), Value(-0.25, "v")
    out = logaddexp_op()(w, v)
    assert RULES["logaddexp"].latex_formulas == ("\\sigma{}({a} - {b})", "\\sigma{}({b} - {a})")
    assert "\\sigma{}(w - v)" in mg.explain(out, w).to_latex()
    assert "\\sigma{}(v - w)" in mg.explain(out, v).to_latex()
    assert "\\sigma{}(w)" in mg.explain(softplus_op()(w), w).to_latex()
    plain = mg.custom_op("softplus", lambda a: math.log1p(math.exp(a)), lambda a: mg.sigmoid(a))
    assert "\\operatorname{softplus}'(w)" in mg.explain(plain(w), w).to_latex()
    pair = mg.custom_op("pair", lambda a, b: a * b, lambda a, b: (b, a))
    said = mg.explain(pair(w, v), v).to_latex()
    assert "\\partial_{2} \\operatorname{pair}(w, v)" in said and "∂" not in said
