"""Mutation check: small deliberate bugs in a copy of the package, each of which a test must catch.

Run ``python tests/mutation_check.py`` from the repository (CI does, after pytest). For every
mutant of `MUTANTS` it copies ``microgradx/``, ``tests/`` and ``pyproject.toml`` to a temporary
folder, replaces one piece of source text (which must occur exactly once: when a refactor moves
the code, the check fails loudly instead of silently testing nothing), and runs the mutant's fast
tests there with ``pytest -x``. A mutant survives when those tests pass; the check exits 1 if any
survives, 2 on a setup error (a pattern not found, a test id that no longer exists, the
unmutated copy failing its own tests). The working tree is never modified.

Each row: (file, old text, new text, what the bug is, the tests to run — the first is expected to
catch it). Keep the rows next to the code they mutate in mind when refactoring: update `old` and
the test ids here, and run this script.

Options: ``-j N`` workers (default: the number of CPUs), ``-k WORD`` only mutants whose
description contains WORD, ``--list`` print the table.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent


class Mutant(NamedTuple):
    file: str
    old: str
    new: str
    description: str
    tests: tuple[str, ...]


# Test ids, short: the fast tests that hold the independent truths.
ORACLES = "tests/test_oracles.py"
BINARY_CLOSED = "tests/test_engine.py::test_binary_op_value_and_derivatives_match_closed_form"
UNARY_CLOSED = "tests/test_engine.py::test_unary_op_value_and_derivative_match_closed_form"
POWER_SPECIAL = f"{ORACLES}::test_power_at_its_special_points_matches_the_closed_form"
UNARY_SPECIAL = f"{ORACLES}::test_unary_ops_at_their_special_points_match_the_closed_form"
RULE_FORMULAS = f"{ORACLES}::test_every_formula_of_the_rule_table_is_the_derivative_sympy_finds"
PRINTED_FORMULAS = f"{ORACLES}::test_every_formula_explain_prints_is_the_derivative_sympy_finds"
HIGHER = "tests/test_engine.py::test_second_and_third_derivatives_match_closed_forms"
EXPLAIN = "tests/test_explain.py"
TOLERANCE = "tests/test_tolerance.py"
CHECK = "tests/test_check.py"
SGD_EQUATIONS = "tests/test_optim.py::test_sgd_follows_its_update_equations_for_25_steps"
ADAM_EQUATIONS = "tests/test_optim.py::test_adam_follows_its_update_equations_for_25_steps"
INIT = "tests/test_init.py"
MORE, CUSTOM_TESTS = "tests/test_more_ops.py", "tests/test_custom_op.py"
EDGE = f"{MORE}::test_derivatives_stay_accurate_at_the_edge_of_the_domain"
MORE_SPECIAL = f"{MORE}::test_special_points_match_the_closed_form"
CUSTOM_PLAIN = (
    f"{CUSTOM_TESTS}::test_a_derivative_computed_from_plain_numbers_cannot_be_differentiated_again_silently"
)
CUSTOM_WRONG = f"{CUSTOM_TESTS}::test_a_wrong_derivative_is_caught_when_the_op_is_made_with_its_diagnosis"
CUSTOM_ONE = (
    f"{CUSTOM_TESTS}::test_an_op_of_one_operand_is_one_node_with_its_derivative_and_its_second_derivative"
)
CUSTOM_BUILT_IN = f"{CUSTOM_TESTS}::test_a_built_in_ops_name_is_refused"

ENGINE, CHECKER, OPTIM = "microgradx/engine.py", "microgradx/check.py", "microgradx/optim.py"
RULES, REALMATH = "microgradx/rules.py", "microgradx/realmath.py"
FORMATTING, NN = "microgradx/formatting.py", "microgradx/nn.py"
CUSTOM = "microgradx/custom.py"

MUTANTS: list[Mutant] = [
    # --- each rule's local derivative (the numbers backward uses) ---
    Mutant(
        RULES,
        'Rule(op="+", forward=operator.add, local=lambda a, b, out: (1.0, 1.0)',
        'Rule(op="+", forward=operator.add, local=lambda a, b, out: (1.0, 0.0)',
        "+: ∂/∂b 1 -> 0",
        (BINARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, b, out: (1.0, -1.0)",
        "lambda a, b, out: (1.0, 1.0)",
        "-: ∂/∂b -1 -> 1",
        (BINARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, b, out: (b, a)",
        "lambda a, b, out: (a, b)",
        "*: local derivatives swapped",
        (BINARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, b, out: (1.0 / b, -out / b)",
        "lambda a, b, out: (1.0 / a, -out / b)",
        "/: ∂/∂a 1/b -> 1/a (operands swapped)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, b, out: (1.0 / b, -out / b)",
        "lambda a, b, out: (1.0 / b, out / b)",
        "/: ∂/∂b sign lost",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "power(a, b - 1.0) if a is ad",
        "power(a, b) if a is ad",
        "**: ∂/∂a b·a^b instead of b·a^(b-1) (floats)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "else a ** (b - 1.0))",
        "else a ** b)",
        "**: ∂/∂a on Values (create_graph) b·a^b",
        (HIGHER,),
    ),
    Mutant(
        REALMATH,
        "        return out * (log(a) if a is ad else a.log())\n",
        "        return (log(a) if a is ad else a.log())\n",
        "**: ∂/∂b ln a instead of a^b·ln a",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "    if bd == 0.0:\n        return 0.0\n",
        "",
        "**: the b == 0 special case removed (0**0's ∂/∂a becomes -inf)",
        (POWER_SPECIAL,),
    ),
    Mutant(
        REALMATH,
        "return _INF if bd > 0.0 else -_INF",
        "return 0.0",
        "**: ∂/∂a at a zero base with 0 < b < 1 inf -> 0",
        (POWER_SPECIAL,),
    ),
    Mutant(
        REALMATH,
        "return 0.0 if ad == 0.0 and _data(b) >= 0.0 else math.nan",
        "return 0.0",
        "**: ∂/∂b for a negative base nan -> 0",
        (POWER_SPECIAL,),
    ),
    Mutant(
        REALMATH,
        "return 0.0 if ad == 0.0 and _data(b) >= 0.0 else math.nan",
        "return math.nan",
        "**: ∂/∂b at a zero base 0 -> nan",
        (POWER_SPECIAL,),
    ),
    Mutant(
        RULES,
        'Rule(op="neg", forward=operator.neg, local=lambda a, out: (-1.0,)',
        'Rule(op="neg", forward=operator.neg, local=lambda a, out: (1.0,)',
        "neg: -1 -> 1",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "(a > 0.0) * 1.0 - (a < 0.0) * 1.0,",
        "(a > 0.0) * 1.0 + (a < 0.0) * 1.0,",
        "abs: sign(a) -> |sign(a)|",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        '_call(op="exp", forward=realmath.exp, local=lambda a, out: (out,)',
        '_call(op="exp", forward=realmath.exp, local=lambda a, out: (a,)',
        "exp: exp(a) -> a",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES, "lambda a, out: (1.0 / a,)", "lambda a, out: (-1.0 / a,)", "log: 1/a -> -1/a", (UNARY_CLOSED,)
    ),
    Mutant(
        REALMATH,
        "(0.5 / out,) if _data(out) != 0.0",
        "(1.0 / out,) if _data(out) != 0.0",
        "sqrt: 1/(2√a) -> 1/√a",
        (UNARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "(0.5 / out,) if _data(out) != 0.0 else (math.copysign(_INF, _data(out)),)",
        "(0.5 / out,) if _data(out) != 0.0 else (0.0,)",
        "sqrt: ∂ at 0 inf -> 0",
        (UNARY_SPECIAL,),
    ),
    Mutant(
        RULES,
        "lambda a, out: (1.0 - out * out,)",
        "lambda a, out: (1.0 - out,)",
        "tanh: 1 − tanh² -> 1 − tanh",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, out: (out * (1.0 - out),)",
        "lambda a, out: (out * (1.0 + out),)",
        "sigmoid: σ(1−σ) -> σ(1+σ)",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, out: (1.0 - (a <= 0.0) * 1.0,)",
        "lambda a, out: (1.0 - (a < 0.0) * 1.0,)",
        "relu: ∂ at 0 is 1 (the SPEC says 0)",
        (UNARY_CLOSED, UNARY_SPECIAL),
    ),
    Mutant(
        REALMATH,
        "    if type(a) is float:\n        return 0.0 if a <= 0.0 else a\n",
        "    if type(a) is float:\n        return a if a > 0.0 else 0.0\n",
        "relu: relu(nan) is 0 (PyTorch: nan)",
        ("tests/test_reliability.py::test_relu_of_nan_is_nan_and_passes_the_gradient_as_pytorch",),
    ),
    Mutant(
        RULES,
        "lambda a, out: (_cos(a),)",
        "lambda a, out: (_sin(a),)",
        "sin: cos -> sin",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "lambda a, out: (-_sin(a),)",
        "lambda a, out: (_sin(a),)",
        "cos: −sin -> sin",
        (UNARY_CLOSED,),
    ),
    # --- each rule's printed formula (what explain, draw and the HTML page show learners) ---
    Mutant(
        RULES,
        '(1.0, 1.0), formulas=("1", "1")',
        '(1.0, 1.0), formulas=("1", "0")',
        "formula +: ∂/∂b '1' -> '0'",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES, ' formulas=("1", "-1")', ' formulas=("1", "1")', "formula -: ∂/∂b '-1' -> '1'",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES, ' formulas=("{b}", "{a}")', ' formulas=("{a}", "{b}")', "formula *: operands swapped",
        (RULE_FORMULAS,),
    ),
    Mutant(RULES, '"−{a}/{b}²"', '"−{a}/{b}"', "formula /: −a/b² -> −a/b", (RULE_FORMULAS,)),
    Mutant(RULES, '"1/{b}", "−{a}/{b}²"', '"1/{a}", "−{a}/{b}²"', "formula /: 1/b -> 1/a", (RULE_FORMULAS,)),
    Mutant(RULES, '"{b}·{a}^({b}−1)"', '"{b}·{a}^{b}"', "formula **: b·a^(b-1) -> b·a^b", (RULE_FORMULAS,)),
    Mutant(
        RULES, '"{a}^{b}·ln({a})"', '"{b}^{a}·ln({a})"', "formula **: a^b·ln a -> b^a·ln a", (RULE_FORMULAS,)
    ),
    Mutant(RULES, ' formulas=("-1",)', ' formulas=("1",)', "formula neg: '-1' -> '1'", (RULE_FORMULAS,)),
    Mutant(
        RULES, ' formula="sign({a})",', ' formula="−sign({a})",', "formula abs: sign -> −sign",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES,
        '(out,), formula="exp({a})",',
        '(out,), formula="exp(−{a})",',
        "formula exp: exp(a) -> exp(−a)",
        (RULE_FORMULAS,),
    ),
    Mutant(RULES, ' formula="1/{a}",', ' formula="-1/{a}",', "formula log: 1/a -> -1/a", (RULE_FORMULAS,)),
    Mutant(RULES, '"1/(2·√{a})",', '"1/√{a}",', "formula sqrt: 1/(2√a) -> 1/√a", (RULE_FORMULAS,)),
    Mutant(
        RULES, '"1−tanh²({a})",', '"1−tanh({a})",', "formula tanh: 1−tanh² -> 1−tanh", (RULE_FORMULAS,)
    ),
    Mutant(
        RULES,
        '"σ({a})·(1−σ({a}))",',
        '"σ({a})·(1+σ({a}))",',
        "formula sigmoid: σ(1−σ) -> σ(1+σ)",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES, ' formula="[{a} > 0]",', ' formula="[{a} < 0]",', "formula relu: [a > 0] -> [a < 0]",
        (RULE_FORMULAS,),
    ),
    Mutant(RULES, '"cos({a})",', '"−cos({a})",', "formula sin: cos -> −cos", (RULE_FORMULAS,)),
    Mutant(RULES, '"−sin({a})",', '"sin({a})",', "formula cos: −sin -> sin", (RULE_FORMULAS,)),
    Mutant(
        FORMATTING,
        'return power if exponent == 1.0 else f"{dialect.number(exponent)}{dialect.times}{power}"',
        'return power if exponent == 1.0 else f"{dialect.number(lowered)}{dialect.times}{power}"',
        "printed formula of a constant power: k·a^(k-1) -> (k-1)·a^(k-1)",
        (PRINTED_FORMULAS,),
    ),
    # --- operands swapped where a node is made or used ---
    Mutant(
        ENGINE,
        'return apply("-", self, other)',
        'return apply("-", other, self)',
        "a − b records its operands as (b, a)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        ENGINE,
        'return apply("/", self, other)',
        'return apply("/", other, self)',
        "a / b records its operands as (b, a)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        ENGINE,
        'return apply("-", other, self)',
        'return apply("-", self, other)',
        "2 − a computed as a − 2",
        ("tests/test_engine.py::test_reflected_subtraction_keeps_the_math_order",),
    ),
    Mutant(
        ENGINE,
        'return apply("**", other, self)',
        'return apply("**", self, other)',
        "2 ** a computed as a ** 2",
        ("tests/test_engine.py::test_power_follows_real_number_rules",),
    ),
    Mutant(
        ENGINE,
        "        return RULES[node.op].local(operands[0].data, operands[1].data, node.data)\n",
        "        return RULES[node.op].local(operands[0].data, operands[1].data, node.data)[:1] * 2\n",
        "backward gives the second operand the first one's derivative",
        (BINARY_CLOSED,),
    ),
    Mutant(
        ENGINE,
        "gradients[operand] = contribution if total is None else total + contribution",
        "gradients[operand] = contribution",
        "the backward pass: a node used twice keeps only its last use's term",
        (f"{ORACLES}::test_every_use_of_a_node_adds_its_term",
         f"{EXPLAIN}::test_path_products_sum_to_the_gradient_on_random_graphs"),
    ),
    Mutant(
        ENGINE,
        "            node.grad += total\n",
        "            node.grad = total\n",
        "backward() overwrites .grad instead of adding into it",
        ("tests/test_engine.py::test_grads_accumulate_across_backward_calls_like_pytorch",),
    ),
    # --- explain's path products ---
    Mutant(
        "microgradx/explain.py",
        "        product *= e.value\n",
        "        product += e.value\n",
        "explain: a path's product adds its edges",
        (f"{EXPLAIN}::test_seed_neuron_has_one_path_with_the_three_factors_of_the_hand_derivation",),
    ),
    # --- the checkers' tolerance ---
    Mutant(
        CHECKER,
        "        tol = atol + rtol * abs(numeric)\n",
        "        tol = 10 * (atol + rtol * abs(numeric))\n",
        "gradcheck/compare: tolerance 10x looser",
        (TOLERANCE,),
    ),
    Mutant(
        CHECKER,
        '    rtol: float = 1e-5,\n    atol: float = 1e-8,\n) -> CheckReport:\n    """Compare autograd',
        '    rtol: float = 1e-4,\n    atol: float = 1e-7,\n) -> CheckReport:\n    """Compare autograd',
        "gradcheck: default rtol and atol 10x looser",
        (f"{TOLERANCE}::test_gradcheck_at_the_default_tolerance",),
    ),
    Mutant(
        CHECKER,
        '    rtol: float = 1e-5,\n    atol: float = 1e-8,\n    *,\n    seed: int | None = 0,',
        '    rtol: float = 1e-4,\n    atol: float = 1e-7,\n    *,\n    seed: int | None = 0,',
        "compare: default rtol and atol 10x looser",
        (f"{TOLERANCE}::test_compare_at_the_default_tolerance",),
    ),
    Mutant(
        CHECKER,
        "math.nan if any(math.isnan(gap) for gap in gaps) else max(gaps)",
        "math.nan if any(math.isnan(gap) for gap in gaps) else min(gaps)",
        "compare: abs_err the smallest gap, not the largest",
        (TOLERANCE, CHECK),
    ),
    Mutant(
        CHECKER,
        'return (f_up - f_down) / (up - down), ""',
        'return (f_up - f_down) / (2 * (up - down)), ""',
        "central difference divided by 4h",
        (TOLERANCE, CHECK),
    ),
    # --- the optimizers' update terms ---
    Mutant(
        OPTIM,
        "                g = g + wd * p.data\n            if momentum != 0.0:",
        "                g = g - wd * p.data\n            if momentum != 0.0:",
        "SGD: weight decay sign",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        'state["momentum_buffer"] * momentum + (1.0 - dampening) * g',
        'state["momentum_buffer"] * momentum + g',
        "SGD: dampening ignored",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        'state["momentum_buffer"] * momentum + (1.0 - dampening) * g',
        'state["momentum_buffer"] + (1.0 - dampening) * g',
        "SGD: momentum factor dropped from the buffer",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "                    buf = g\n",
        "                    buf = (1.0 - dampening) * g\n",
        "SGD: first step's buffer dampened (PyTorch: b = g)",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "g = g + momentum * buf if self.nesterov else buf",
        "g = buf",
        "SGD: nesterov ignored",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "            p.data = p.data - lr * g\n",
        "            p.data = p.data + lr * g\n",
        "SGD: steps uphill",
        (SGD_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "                g = g + wd * p.data\n            state = self.state[p]",
        "                g = g - wd * p.data\n            state = self.state[p]",
        "Adam: weight decay sign",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "step_size = lr / (1.0 - beta1**t)",
        "step_size = lr",
        "Adam: no bias correction of m",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "math.sqrt(v) / (1.0 - beta2**t) ** 0.5 + eps",
        "math.sqrt(v) + eps",
        "Adam: no bias correction of v",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "math.sqrt(v) / (1.0 - beta2**t) ** 0.5 + eps",
        "math.sqrt(v / (1.0 - beta2**t) + eps)",
        "Adam: eps inside the square root",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        '_lerp(state["exp_avg"], g, 1.0 - beta1)',
        '_lerp(state["exp_avg"], g, beta1)',
        "Adam: β1 and 1 − β1 swapped in m",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        'state["exp_avg_sq"] * beta2 + (1.0 - beta2) * g * g',
        'state["exp_avg_sq"] * beta2 + (1.0 - beta2) * abs(g)',
        "Adam: v averages |g| instead of g²",
        (ADAM_EQUATIONS,),
    ),
    Mutant(
        OPTIM,
        "        return start + weight * (end - start)\n",
        "        return start + weight * end\n",
        "Adam: m's average loses its (1 − w)·m term for small weights",
        (ADAM_EQUATIONS,),
    ),
    # --- the initialisation ---
    Mutant(
        NN,
        "bound = 1.0 / math.sqrt(self.nin)",
        "bound = 1.0 / self.nin",
        "init bound 1/√fan_in -> 1/fan_in",
        (INIT,),
    ),
    Mutant(
        NN,
        "bound = 1.0 / math.sqrt(self.nin)",
        "bound = 0.5 / math.sqrt(self.nin)",
        "init bound halved",
        (INIT,),
    ),
    Mutant(
        NN,
        'Value(rng.uniform(-bound, bound), "b")',
        'Value(rng.uniform(0.0, bound), "b")',
        "init bias only positive",
        (INIT,),
    ),
    # --- the functions of SPEC §8, `%`, and ops of your own (descriptions start "§8": -k §8) ---
    Mutant(
        RULES,
        "local=lambda a, out: (1.0 + out * out,)",
        "local=lambda a, out: (1.0 - out * out,)",
        "§8 tan: 1 + tan² -> 1 − tan²",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "local=lambda a, out: (_cosh(a),)",
        "local=lambda a, out: (_sinh(a),)",
        "§8 sinh: cosh -> sinh",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        'local=lambda a, out: (realmath.reciprocal(_sqrt((1.0 - a) * (1.0 + a))),), formula="1/',
        'local=lambda a, out: (realmath.reciprocal(_sqrt(1.0 - a * a)),), formula="1/',
        "§8 asin: (1 − a)(1 + a) -> 1 − a² (loses the digits near ±1)",
        (EDGE,),
    ),
    Mutant(
        RULES,
        "(-realmath.reciprocal(_sqrt((1.0 - a) * (1.0 + a))),)",
        "(realmath.reciprocal(_sqrt((1.0 - a) * (1.0 + a))),)",
        "§8 acos: −1/√(1−a²) sign lost",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "(1.0 / (1.0 + a * a),)",
        "(1.0 / (1.0 - a * a),)",
        "§8 atan: 1/(1+a²) -> 1/(1−a²)",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "(realmath.reciprocal(_sqrt((a - 1.0) * (a + 1.0))),)",
        "(1.0 / _sqrt((a - 1.0) * (a + 1.0)),)",
        "§8 acosh: ∂ at 1 inf -> a division by zero",
        (MORE_SPECIAL,),
    ),
    Mutant(
        RULES,
        "(1.0 / ((1.0 - a) * (1.0 + a)),)",
        "(1.0 / ((1.0 - a) * (1.0 - a)),)",
        "§8 atanh: 1/((1−a)(1+a)) -> 1/(1−a)²",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "local=lambda a, out: (1.0 / (1.0 + a),)",
        "local=lambda a, out: (1.0 / a,)",
        "§8 log1p: 1/(1+a) -> 1/a",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "local=lambda a, out: (out + 1.0,)",
        "local=lambda a, out: (out,)",
        "§8 expm1: e^a = out + 1 -> out",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "(1.0 / (a * _LN2),)",
        "(1.0 / a,)",
        "§8 log2: 1/(a·ln 2) -> 1/a",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "(out * _LN2,)",
        "(out,)",
        "§8 exp2: 2^a·ln 2 -> 2^a",
        (UNARY_CLOSED,),
    ),
    Mutant(
        RULES,
        "180.0 / math.pi\n",
        "math.pi / 180.0\n",
        "§8 degrees, radians: factors swapped",
        (UNARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "return b * inverse, -a * inverse",
        "return -b * inverse, a * inverse",
        "§8 atan2: both partials' signs flipped",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "\n    return a / out, b / out",
        "\n    return b / out, a / out",
        "§8 hypot: partials swapped",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "return -(_data(a) // _data(b))",
        "return -(_data(a) / _data(b))",
        "§8 %: ∂/∂b −floor(a/b) -> −a/b",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "    return a % b\n",
        "    return math.fmod(a, b)\n",
        "§8 %: floor modulo -> fmod (sign of a)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        ENGINE,
        'Value | Number) -> Value: return apply("%", self, other)',
        'Value | Number) -> Value: return apply("%", other, self)',
        "§8 a % b records its operands as (b, a)",
        (BINARY_CLOSED,),
    ),
    Mutant(
        REALMATH,
        "return -_INF if odd and args[0] < 0.0 else _INF",
        "return _INF",
        "§8 sinh(-1000): -inf -> inf",
        (MORE_SPECIAL,),
    ),
    Mutant(
        RULES,
        '"1+tan²({a})"',
        '"1−tan²({a})"',
        "§8 formula tan: 1+tan² -> 1−tan²",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES,
        'formula="1/√(1−{a}²)"',
        'formula="1/√(1+{a}²)"',
        "§8 formula asin: 1−a² -> 1+a²",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES,
        '"−floor({a}/{b})"',
        '"floor({a}/{b})"',
        "§8 formula %: −floor(a/b) -> floor(a/b)",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES,
        'formulas=("{b}/({a}²+{b}²)"',
        'formulas=("{a}/({a}²+{b}²)"',
        "§8 formula atan2: b/(a²+b²) -> a/…",
        (RULE_FORMULAS,),
    ),
    Mutant(
        RULES,
        'formula="1/({a}·ln(2))"',
        'formula="1/{a}"',
        "§8 formula log2: 1/(a·ln 2) -> 1/a",
        (RULE_FORMULAS,),
    ),
    Mutant(
        CUSTOM,
        "    if floats_taken:\n",
        "    if False:\n",
        "§8 custom_op: a derivative through math.exp(Value) is differentiated as a constant",
        (CUSTOM_PLAIN,),
    ),
    Mutant(
        CUSTOM,
        "if type(operand) is Value and not _reaches(d, operand):",
        "if False:",
        "§8 custom_op: a derivative from a.data is differentiated as a constant",
        (CUSTOM_PLAIN,),
    ),
    Mutant(
        CUSTOM,
        "if not abs(g[j] - n[j]) <= ATOL + RTOL * abs(n[j])]",
        "if False]",
        "§8 custom_op: a wrong derivative is not caught when made",
        (CUSTOM_WRONG,),
    ),
    Mutant(
        CUSTOM,
        "/ (12 * h)",
        "/ (6 * h)",
        "§8 custom_op: the central difference twice too large",
        (CUSTOM_ONE,),
    ),
    Mutant(
        CUSTOM,
        "    if name in BUILT_IN:\n",
        "    if False:\n",
        "§8 custom_op: a built-in op can be replaced",
        (CUSTOM_BUILT_IN,),
    ),
]


class Outcome(NamedTuple):
    mutant: Mutant | None  # None for the unmutated copy
    status: str  # "killed", "survived", "error"
    caught_by: str
    seconds: float
    output: str


# -x: the first failure kills the mutant; plain asserts: no rewriting (compiling) of the test files.
PYTEST_ARGS = ("-x", "-q", "-rf", "--assert=plain", "-p", "no:cacheprovider", "-p", "no:pytest_markdown_docs")
WRONG_PACKAGE = 97  # a child's exit status: it imported microgradx from somewhere else than its copy


def copy_project(into: Path) -> None:
    """The package, the tests and the pytest settings, compiled: a copy of this copy with its
    modification times kept (copytree does) imports from the bytecode, except the file a mutant
    rewrote."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
    shutil.copytree(ROOT / "microgradx", into / "microgradx", ignore=ignore)
    shutil.copytree(ROOT / "tests", into / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", into / "pyproject.toml")
    if (ROOT / "examples").is_dir():  # conftest's load_example reads them
        shutil.copytree(ROOT / "examples", into / "examples", ignore=ignore)
    compileall.compile_dir(into, quiet=1, workers=1)


def mutate(folder: Path, mutant: Mutant) -> None:
    path = folder / mutant.file
    path.write_text(path.read_text(encoding="utf-8").replace(mutant.old, mutant.new, 1), encoding="utf-8")
    for stale in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
        stale.unlink()


def check_patterns(mutants: list[Mutant]) -> list[str]:
    """Every mutant's text must occur exactly once in its file, and differ from its replacement."""
    problems = []
    for m in mutants:
        source = (ROOT / m.file).read_text(encoding="utf-8")
        count = source.count(m.old)
        if count != 1:
            problems.append(f"{m.description}: {m.file} has {count} copies of {m.old!r} (needs exactly 1)")
        if m.old == m.new:
            problems.append(f"{m.description}: the replacement is the original")
    return problems


def preload() -> None:
    """Import, once and before forking, what every test run needs except microgradx itself (pytest,
    its plugins, hypothesis, SymPy): each forked run then starts in milliseconds instead of the
    second and a half a fresh interpreter takes. microgradx must not be imported here."""
    from importlib.metadata import entry_points

    import pytest  # noqa: F401

    for name in ("hypothesis", "hypothesis.strategies", "sympy", "mpmath", "graphviz"):
        try:
            __import__(name)
        except ImportError:
            pass
    for plugin in entry_points(group="pytest11"):
        try:
            plugin.load()
        except Exception:  # a broken plugin fails the same way in the run itself, and is reported there
            pass
    assert "microgradx" not in sys.modules, "preloading imported microgradx: the copies would not be tested"


def run_in_child(folder: Path, tests: tuple[str, ...], log: Path) -> None:
    """In a forked child: run `tests` on the package copy in `folder`, output to `log`; never returns."""
    code = 2
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.chdir(folder)
        sys.path.insert(0, str(folder))
        os.environ["CI"] = "1"  # the conftest's derandomised hypothesis profile
        os.environ.pop("HYPOTHESIS_PROFILE", None)
        sys.dont_write_bytecode = True
        import microgradx

        if not microgradx.__file__.startswith(str(folder)):
            print(f"imported microgradx from {microgradx.__file__}, not from the copy {folder}")
            code = WRONG_PACKAGE
        else:
            import pytest

            code = int(pytest.main([*PYTEST_ARGS, *tests]))
    except BaseException as error:  # the child must exit, whatever happened
        print(f"mutation check child: {error!r}")
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_in_subprocess(folder: Path, tests: tuple[str, ...], log: Path, timeout: float) -> int:
    """Where there is no fork: the same run in a fresh interpreter (slower)."""
    env = {**os.environ, "CI": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(folder)}
    env.pop("HYPOTHESIS_PROFILE", None)
    command = [sys.executable, "-m", "pytest", *PYTEST_ARGS, *tests]
    with open(log, "w", encoding="utf-8") as out:
        try:
            return subprocess.run(
                command, cwd=folder, env=env, stdout=out, stderr=out, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            return -1


def outcome(mutant: Mutant | None, code: int, output: str, seconds: float) -> Outcome:
    failed = re.findall(r"^FAILED (\S+)", output, flags=re.M)
    if code == 1:
        return Outcome(mutant, "killed", failed[0] if failed else "(a test failed)", seconds, output)
    if code == -1:
        return Outcome(mutant, "killed", "(timed out: the tests hung)", seconds, output)
    if code == 0:
        return Outcome(mutant, "survived", "", seconds, output)
    return Outcome(mutant, "error", f"exit status {code}", seconds, output)


def run_all(jobs: list[tuple[Mutant | None, tuple[str, ...]]], workers: int, timeout: float) -> list[Outcome]:
    """Each job's tests on its own copy (mutated unless the mutant is None), `workers` at a time."""
    results: dict[int, Outcome] = {}
    with tempfile.TemporaryDirectory(prefix="microgradx-mutants-") as tmp:
        template = Path(tmp) / "unmutated"
        copy_project(template)
        folders = []
        for i, (mutant, _) in enumerate(jobs):
            folder = Path(tmp) / f"m{i}"
            shutil.copytree(template, folder)
            if mutant is not None:
                mutate(folder, mutant)
            folders.append(folder)
        logs = [Path(tmp) / f"m{i}.log" for i in range(len(jobs))]

        def finish(i: int, code: int, started: float) -> None:
            output = logs[i].read_text(encoding="utf-8", errors="replace") if logs[i].exists() else ""
            results[i] = outcome(jobs[i][0], code, output, time.perf_counter() - started)

        if not hasattr(os, "fork"):
            for i, (_, tests) in enumerate(jobs):
                started = time.perf_counter()
                finish(i, run_in_subprocess(folders[i], tests, logs[i], timeout), started)
            return [results[i] for i in range(len(jobs))]

        preload()
        waiting = list(range(len(jobs)))
        running: dict[int, tuple[int, float]] = {}  # pid -> (job, start time)
        while waiting or running:
            while waiting and len(running) < workers:
                i = waiting.pop(0)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    run_in_child(folders[i], jobs[i][1], logs[i])
                running[pid] = (i, time.perf_counter())
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                for child, (i, started) in list(running.items()):
                    if time.perf_counter() - started > timeout:
                        os.kill(child, 9)
                        os.waitpid(child, 0)
                        del running[child]
                        finish(i, -1, started)
                time.sleep(0.01)
                continue
            i, started = running.pop(pid)
            finish(i, os.waitstatus_to_exitcode(status), started)
    return [results[i] for i in range(len(jobs))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="tests run at once")
    parser.add_argument("-k", "--keyword", default="", help="only mutants whose description contains this")
    parser.add_argument("--list", action="store_true", help="print the mutants and exit")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant's test run")
    args = parser.parse_args(argv)
    mutants = [m for m in MUTANTS if args.keyword in m.description]
    if args.list:
        for m in mutants:
            print(f"{m.file:26} {m.description}  [{', '.join(m.tests)}]")
        return 0

    started = time.perf_counter()
    problems = check_patterns(mutants)
    if problems:
        print("mutation check: the source no longer has what these mutants change (update MUTANTS):")
        print("\n".join(f"  {p}" for p in problems))
        return 2

    # First the unmutated copy, which must pass every test the mutants use; then the mutants.
    all_tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    (baseline,) = run_all([(None, all_tests)], 1, args.timeout * 3)
    if baseline.status != "survived":
        print(baseline.output[-5000:])
        print("mutation check: the unmutated package fails the tests the mutants use (see above)")
        return 2
    outcomes = run_all([(m, m.tests) for m in mutants], max(1, args.jobs), args.timeout)

    width = max(len(o.mutant.description) for o in outcomes)
    for o in outcomes:
        print(f"{o.status:8}  {o.mutant.description.ljust(width)}  {o.caught_by}  ({o.seconds:.1f} s)")
    bad = [o for o in outcomes if o.status != "killed"]
    for o in bad:
        print(f"\n--- {o.status}: {o.mutant.description} ({o.mutant.file})")
        print(f"tests: {' '.join(o.mutant.tests)}")
        print(o.output[-3000:])
    total = time.perf_counter() - started
    print(
        f"\nmutation check: {len(outcomes) - len(bad)} of {len(outcomes)} mutants killed, {len(bad)} not; "
        f"{total:.0f} s (the unmutated run {baseline.seconds:.0f} s)"
    )
    if any(o.status == "error" for o in bad):
        return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
