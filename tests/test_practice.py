"""Practice exercises: reproducible graphs, right answers accepted, and each usual slip named.

The slips are tested on graphs built here, with the numbers worked out by hand in the comments;
the right answers of hundreds of seeded exercises are compared with `mg.grad` (the engine) and,
for a sample, with central finite differences.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

import microgradx as mg
from microgradx.engine import Value, topological_order
from microgradx.formatting import node_names
from microgradx.practice import candidates, close, diagnosis, exercise, parse_number, quiz_data, uses

DATA = re.compile(r'<script type="application/json" id="mgx-data">(.*?)</script>', re.S)


def note_for(output: Value, node: Value, given: float) -> tuple[bool, str]:
    """What the practice says of `given` as d output/d node, on any graph."""
    names = node_names(output)
    expected = mg.grad(output, [node])[0]
    found = candidates(node, names[node], names[output], expected, uses(output)[node], names)
    return diagnosis(given, expected, found)


def neuron_loss():
    # L = (w·x − y)² at w = 2, x = 3, y = 1: p = 6, e = 5, L = 25;
    # dL/de = 2e = 10, dL/dp = 10, dL/dw = 10·x = 30, dL/dx = 10·w = 20
    w, x, y = Value(2.0, "w"), Value(3.0, "x"), Value(1.0, "y")
    p = w * x
    p.label = "p"
    e = p - y
    e.label = "e"
    L = e**2
    L.label = "L"
    return L, w, x, p, e


def twice():
    # f = (w·x + b)·x at w = 2, x = 3, b = 1: z = 7, f = 21; df/dx = z + x·w = 7 + 6 = 13
    # (path through f directly: 7; through z and p: grad(p) = x = 3, times ∂p/∂x = w = 2: 6)
    w, x, b = Value(2.0, "w"), Value(3.0, "x"), Value(1.0, "b")
    p = w * x
    p.label = "p"
    z = p + b
    z.label = "z"
    f = z * x
    f.label = "f"
    return f, x


def test_the_right_number_is_right_and_a_rounding_slip_too():
    L, w, *_ = neuron_loss()
    assert note_for(L, w, 30.0) == (True, "")
    ok, note = note_for(L, w, 30.05)  # rounded: within 0.5 %
    assert ok and "rounding" in note
    assert not note_for(L, w, 31.0)[0]


def test_a_flipped_sign_is_named():
    L, w, *_ = neuron_loss()
    ok, note = note_for(L, w, -30.0)
    assert not ok and "sign is flipped" in note


def test_the_upstream_gradient_alone_is_named():
    L, w, *_ = neuron_loss()
    ok, note = note_for(L, w, 10.0)  # grad(p) = 10, the multiplication by x = 3 forgotten
    assert not ok and "upstream gradient grad(p) alone" in note and "∂p/∂w = x" in note


def test_the_local_derivative_alone_is_named():
    L, w, *_ = neuron_loss()
    ok, note = note_for(L, w, 3.0)  # ∂p/∂w = x = 3, the upstream 10 forgotten
    assert not ok and "local derivative ∂p/∂w = x alone" in note


def test_the_local_derivative_alone_at_a_square():
    L, _, _, _, e = neuron_loss()
    ok, note = note_for(L, e, 5.0 * 2)  # 2e = 10 is right: dL/dL = 1
    assert ok
    ok, note = note_for(L, e, 5.0)  # e's forward value
    assert not ok and "forward value" in note


def test_the_forward_value_instead_of_the_gradient_is_named():
    L, w, *_ = neuron_loss()
    ok, note = note_for(L, w, 2.0)  # w = 2 is w's data
    assert not ok and "w's forward value" in note


@pytest.mark.parametrize(("given", "through"), [(7.0, "f"), (6.0, "p")])
def test_one_path_of_an_input_used_twice_is_named(given, through):
    f, x = twice()
    assert note_for(f, x, 13.0) == (True, "")
    ok, note = note_for(f, x, given)
    assert not ok and f"path through {through} only" in note and "used twice" in note


def test_a_value_used_twice_by_one_node_names_the_operand():
    x = Value(3.0, "x")
    f = x * x  # df/dx = 2x = 6; one operand's term alone is x = 3
    f.label = "f"
    ok, note = note_for(f, x, 3.0)
    assert not ok and "path through f (as its operand a) only" in note and "used twice" in note


def test_one_factor_alone_in_one_term_of_a_sum_is_named():
    f, x = twice()  # df/dx = 1·z + grad(p)·w = 7 + 3·2 = 13
    ok, note = note_for(f, x, 7.0 + 3.0)  # the term through p without its local w = 2
    assert not ok and "upstream gradient grad(p) alone in the term through p" in note
    ok, note = note_for(f, x, 7.0 + 2.0)  # the term through p without its upstream 3
    assert not ok and "local derivative ∂p/∂x = w alone in the term through p" in note


def test_a_number_matching_no_slip_says_so():
    L, w, *_ = neuron_loss()
    ok, note = note_for(L, w, 123.0)
    assert not ok and note.startswith("no usual slip")


def test_the_same_seed_gives_the_same_exercise_and_another_seed_another():
    for level in (1, 2, 3):
        a, b = exercise(11, level=level), exercise(11, level=level)
        assert a.question == b.question and a.answers() == b.answers()
    questions = {exercise(seed, level=2).question for seed in range(30)}
    assert len(questions) > 20


def test_a_seeded_exercise_is_pinned_across_machines():
    # random.Random(seed) is the same generator everywhere: this exercise must never change
    one = exercise(1, level=1)
    assert one.point == {"x": -1.5, "w": 0.5, "b": -1.0} and "a = tanh(w·x + b)" in one.question
    three = exercise(2, level=3)
    assert three.point == {"x": 0.5, "w": 2.0, "v": 0.5, "b": 0.5, "y": 2.0} and "relu" in three.question


@pytest.mark.parametrize("level", [1, 2, 3])
def test_right_answers_of_many_exercises_are_accepted_and_equal_the_engine(level):
    for seed in range(100):
        ex = exercise(seed, level=level)
        answers = ex.answers()
        nodes = {n.label: n for n in topological_order(ex.output) if n.label}
        assert set(answers) == set(nodes)
        assert list(answers.values()) == mg.grad(ex.output, list(nodes.values()))
        report = ex.check(answers)
        assert report and len(report.rows) == len(answers) and not report.missing
        rounded = ex.check({k: float(f"{v:.4g}") for k, v in answers.items()})
        assert rounded, str(rounded)


def test_answers_agree_with_finite_differences():
    for seed in range(20):
        ex = exercise(seed, level=3)
        answers = ex.answers()
        for name, x in ex.point.items():
            h = 1e-6
            up, _ = ex._build({**ex.point, name: x + h})
            down, _ = ex._build({**ex.point, name: x - h})
            assert answers[name] == pytest.approx((up.data - down.data) / (2 * h), rel=1e-5, abs=1e-6)


def test_levels_have_their_shapes():
    for seed in range(40):
        one, two, three = (exercise(seed, level=k) for k in (1, 2, 3))
        assert one.output.label in ("a", "L")
        used = [len(u) for u in uses(three.output).values()]
        assert max(used) >= 2  # several paths
        for ex in (one, two, three):
            for node in ex.order:
                if node.op == "relu":
                    assert node.parents[0].data >= 0.5  # far from its kink
                if node.parents or node.label:
                    assert node.label
            for x in ex.point.values():
                assert len(f"{abs(x):g}".replace(".", "")) <= 2  # friendly: two significant digits


def test_check_takes_formula_strings_and_names_what_they_miss():
    ex = exercise(3, level=2)  # two layers, the loss L = (o − y)²
    assert "two layers" in ex.question
    report = ex.check({"w2": "2*e*h", "e": "2*e", "o": "2*e"})
    assert report, str(report)
    wrong = ex.check({"w2": "2*e"})  # the local ∂q/∂w2 = h forgotten
    assert (not wrong and "local derivative" in wrong.rows[0].note) or "factor" in wrong.rows[0].note


def test_check_refuses_unknown_names_and_non_numbers():
    ex = exercise(0)
    with pytest.raises(ValueError, match="no node labelled nope"):
        ex.check({"nope": 1.0})
    with pytest.raises(TypeError, match="number or a formula"):
        ex.check({ex.output.label: [1]})
    with pytest.raises(ValueError, match="level"):
        exercise(0, level=4)


def test_report_displays_in_jupyter_and_lists_what_is_missing():
    ex = exercise(5, level=1)
    first = next(iter(ex.answers()))
    report = ex.check({first: -ex.answers()[first]})
    assert not report and report.missing
    assert "sign is flipped" in report._repr_html_() and "<table" in report._repr_html_()
    assert "| gradient |" in report._repr_markdown_()
    assert "not answered yet" in str(report)
    json.dumps(report.to_dict())


def test_parse_number_takes_a_typographic_minus_and_refuses_words():
    assert parse_number(" −0.25 ") == -0.25
    with pytest.raises(ValueError, match="not a number"):
        parse_number("abc")
    assert close(0.1041, 0.10412)


def test_quiz_data_asks_every_backward_step_with_its_notes():
    f, _x = twice()
    data = quiz_data(f, mg.html.page_data(f))
    asks = [s for s in data["steps"] if "ask" in s]
    assert len(asks) == 6  # p, b, x, z, w, x again: one per operand that is not a constant
    last_x = asks[-1]
    assert last_x["ask"]["answer"] == 13.0
    notes = dict((v, n) for v, n in last_x["ask"]["notes"])
    assert "path through" in notes[6.0] and "sign" in notes[-13.0]


def test_quiz_page_is_the_stepper_with_the_quiz_script_and_csp():
    L, _w, *_ = neuron_loss()
    page = mg.quiz(L, title="Quiz <b>")
    html = str(page)
    assert "Quiz &lt;b&gt;" in html and "stepper.hook(gate, shown)" in html
    script = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html  # the stepper's CSP covers the quiz's script
    assert "default-src 'none'" in html
    data = json.loads(DATA.search(html).group(1))
    assert data["quiz"]["rtol"] > 0 and any("ask" in s for s in data["steps"])
    assert "iframe" in page._repr_html_()
    ex = exercise(2)
    assert "Backpropagation quiz" not in ex.to_html() and "Practice" in ex.to_html()


def weighted_sum(exponents: range) -> tuple[Value, Value]:
    # t = p·2^k0 + p·2^k1 + …: p's use through p·2^k contributes grad(p·2^k) · 2^k = 1 · 2^k,
    # so every choice of some of the uses sums to a different whole number (binary digits)
    p = Value(0.5, "p")
    t = p * 2 ** exponents[0]
    for k in exponents[1:]:
        t = t + p * 2**k
    return t, p


def test_up_to_max_path_uses_every_choice_of_some_paths_is_a_note():
    from microgradx.slips import MAX_PATH_USES

    t, p = weighted_sum(range(MAX_PATH_USES))
    names = node_names(t)
    total = 2**MAX_PATH_USES - 1  # dt/dp = 1 + 2 + … + 2^(n−1)
    found = candidates(p, "p", names[t], float(total), uses(t)[p], names)
    paths = sorted(c.value for c in found if c.kind == "paths")
    assert paths == list(range(1, total))  # every proper, non-empty choice of uses: 2^n − 2 sums


def test_beyond_max_path_uses_only_the_newest_terms_slips_are_notes():
    from microgradx.slips import MAX_PATH_USES

    exponents = range(3, MAX_PATH_USES + 4)  # one use more than the bound, of 8, 16, 32, …
    t, p = weighted_sum(exponents)
    names = node_names(t)
    used = uses(t)[p]
    total = sum(2**k for k in exponents)
    newest = used[-1].contribution  # the use the backward pass reaches last: some 2^k ≥ 8
    found = candidates(p, "p", names[t], float(total), used, names)
    # that path alone and the others without it; the newest term's upstream gradient (1) or local
    # derivative (newest) alone with the others; the sign and the forward value (of two candidates
    # within rounding of each other, or of the total, the notes keep neither twice nor a right one)
    assert sorted(c.value for c in found if c.kind == "paths") == sorted([newest, total - newest])
    newest_terms = {-total, newest, total - newest, total - newest + 1, total - newest + newest, 0.5}
    assert {c.value for c in found} <= newest_terms


def test_quiz_of_a_node_used_400_times_has_a_few_notes_a_step():
    from microgradx.slips import MAX_PATH_USES

    # t = p + p·0 + p·1 + … + p·399: dt/dp = 1 + (0 + 1 + … + 399) = 1 + 400·399/2 = 79801.
    # The notes once tried every choice of some of p's uses (2^400 of them): this never finished.
    p = Value(0.5, "p")
    t = p
    for i in range(400):
        t = t + p * i
    data = json.loads(DATA.search(str(mg.quiz(t, highlight=p))).group(1))
    index = [node["name"] for node in data["nodes"]].index("p")
    asks = [s["ask"] for s in data["steps"] if "ask" in s and s["node"] == index]
    assert len(asks) == 401
    assert asks[-1]["answer"] == 1 + 400 * 399 / 2
    # the k-th ask sums k uses; past the bound: sign, 2 paths, upstream, local, forward at most
    assert all(len(ask["notes"]) <= 6 for ask in asks[MAX_PATH_USES:])


def test_quiz_data_asks_with_the_uses_summed_so_far():
    # each ask's notes are the candidates over the uses its step and the steps before went through
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b + a
    e = ((c - b) / a**2).tanh() + mg.atan2(a, b) + (a % b) + abs(b).log()
    data = quiz_data(e, mg.html.page_data(e))
    forward = topological_order(e)[::-1]
    names = node_names(e)
    all_uses = uses(e)
    done = set()
    asked = 0
    for step in data["steps"]:
        if "ask" not in step:
            continue
        node = forward[step["node"]]
        done.add((forward[step["from"]], data["edges"][step["edges"][0]]["index"]))
        used = [u for u in all_uses[node] if (u.consumer, u.index) in done]
        expected = step["ask"]["answer"]
        in_all = len(all_uses[node])
        found = candidates(node, names[node], names[e], expected, used, names, uses_in_all=in_all)
        assert step["ask"]["notes"] == [[c.value, c.note] for c in found]
        asked += 1
    # every use of a node that is not a constant is asked (nobody differentiates by the number 2)
    assert asked == sum(len(us) for node, us in all_uses.items() if node.parents or node.label)


def test_a_bad_formula_answer_is_named_as_the_learner_wrote_it():
    # check's errors speak of the learner's answers, not of compare's hand formulas or f
    ex = mg.exercise(3, level=2)
    label = next(iter(ex.answers()))
    said = rf"^answers\['{label}'\]: no value for abc \(an answer's formula may use the labels"
    with pytest.raises(ValueError, match=said):
        ex.check({label: "abc"})
    with pytest.raises(ValueError, match=rf"^answers\['{label}'\]: column 3"):  # a ParseError
        ex.check({label: "2*("})
