"""microgradx.nn models: parameters, forward pass, seeding, state dicts, save/load, the moons demo."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import random
from contextlib import redirect_stdout

import pytest
from conftest import load_example
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.nn import MLP, Layer, Module, Neuron

ACTS = {
    "tanh": math.tanh,
    "relu": lambda z: max(z, 0.0),
    "sigmoid": lambda z: 1.0 / (1.0 + math.exp(-z)),
    None: lambda z: z,
}


def expected_count(nin: int, sizes: list[int]) -> int:
    """Each layer has (fan_in + 1) · fan_out parameters: weights plus one bias per neuron."""
    fans = [nin, *sizes]
    return sum((fans[i] + 1) * fans[i + 1] for i in range(len(sizes)))


def float_forward(model: MLP, x: list[float]) -> list[float]:
    """The MLP's output recomputed with floats from its state_dict, layer by layer."""
    state = model.state_dict()
    acts = [model.activation] * (len(model.sizes) - 1) + [model.final_activation]
    for li, (nout, act) in enumerate(zip(model.sizes, acts, strict=True)):
        x = [
            ACTS[act](
                sum(state[f"layers.{li}.neurons.{j}.w.{k}"] * xk for k, xk in enumerate(x))
                + state[f"layers.{li}.neurons.{j}.b"]
            )
            for j in range(nout)
        ]
    return x


# --- structure --------------------------------------------------------------------------------------


def test_mlp_2_16_16_1_has_337_parameters():
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.lists(st.integers(1, 5), min_size=1, max_size=3))
def test_parameter_count_is_fan_in_plus_one_times_fan_out(nin, sizes):
    model = MLP(nin, sizes, seed=0)
    params = model.parameters()
    assert len(params) == expected_count(nin, sizes)
    assert len(set(params)) == len(params)
    assert all(p.op == "" for p in params)


def test_neuron_and_layer_counts_and_names():
    assert [name for name, _ in Neuron(3).named_parameters()] == ["w.0", "w.1", "w.2", "b"]
    assert len(Layer(3, 4).parameters()) == 16
    names = list(MLP(2, [3, 1]).state_dict())
    assert names[:3] == ["layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.b"]
    assert names[-1] == "layers.1.neurons.0.b"


def test_parameters_follow_state_dict_order():
    model = MLP(3, [4, 2], seed=5)
    assert [p.data for p in model.parameters()] == list(model.state_dict().values())


def test_labels_are_readable_and_unique_in_an_mlp():
    assert [p.label for p in Neuron(2).parameters()] == ["w1", "w2", "b"]
    assert [p.label for p in Layer(2, 2).parameters()] == ["n1.w1", "n1.w2", "n1.b", "n2.w1", "n2.w2", "n2.b"]
    labels = [p.label for p in MLP(2, [16, 16, 1]).parameters()]
    assert len(set(labels)) == len(labels) == 337
    assert labels[0] == "L1.n1.w1" and labels[-1] == "L3.n1.b"


def test_an_mlps_inner_nodes_are_named_by_their_place():
    model = MLP(2, [2, 1], seed=0)
    out = model([1.0, 2.0])
    named = {}
    stack = [out]
    while stack:  # every node of the graph, by label
        node = stack.pop()
        named.setdefault(node.label, node)
        stack.extend(node.parents)
    assert out.label == "L2.n1.z"  # the last layer is linear: its output is its weighted sum
    for j in (1, 2):
        z, act = named[f"L1.n{j}.z"], named[f"L1.n{j}.out"]
        neuron = model.layers[0].neurons[j - 1]
        by_hand = neuron.b.data + neuron.w[0].data * 1.0 + neuron.w[1].data * 2.0
        assert z.data == pytest.approx(by_hand, abs=1e-15)
        assert act.op == "tanh" and act.parents == (z,) and act.data == pytest.approx(math.tanh(by_hand))
        assert named[f"L1.n{j}.z[:1]"].data == pytest.approx(neuron.b.data + neuron.w[0].data)
    assert named["L2.n1.z[:1]"].data == pytest.approx(
        model.layers[1].neurons[0].b.data + model.layers[1].neurons[0].w[0].data * named["L1.n1.out"].data
    )
    text = mg.to_text(out)
    assert "add" not in text and "tanh(" not in text
    lone = Neuron(2, activation="sigmoid", seed=0)([1.0, 2.0])
    assert lone.label == "out" and lone.parents[0].label == "z"


def test_dir_of_nn_lists_only_what_a_learner_uses():
    listed = dir(mg.nn)
    assert {"MLP", "Neuron", "Layer", "Module", "mse_loss", "cross_entropy", "softmax", "History"} <= set(
        listed
    )
    for name in listed:
        assert not name.startswith("_")
        assert getattr(mg.nn, name).__module__.startswith("microgradx")
    assert not {"Any", "json", "math", "os", "random", "numbers", "Callable"} & set(listed)


def test_every_name_nn_had_before_its_split_is_still_there_and_is_the_one_its_module_defines():
    # nn.py was split by job (losses.py, saved_state.py): `mg.nn.NAME` and pickles of models stay
    from microgradx import history, losses, saved_state

    moved = {history: ["History"], saved_state: ["finite_number", "short_repr"]}
    moved[losses] = ["mse_loss", "bce_loss", "hinge_loss", "softmax", "log_softmax", "cross_entropy"]
    moved[losses].append("LOG_FLOOR")
    for module, names in moved.items():
        for name in names:
            assert getattr(mg.nn, name) is getattr(module, name), name
    for cls in (Module, Neuron, Layer, MLP):  # a pickled model names its class by this path
        assert cls.__module__ == "microgradx.nn" and getattr(mg.nn, cls.__name__) is cls
    model = MLP(2, [3, 1], seed=0)
    clone = pickle.loads(pickle.dumps(model))
    assert clone.state_dict() == model.state_dict() and clone([0.5, -1.0]).data == model([0.5, -1.0]).data


def test_custom_module_finds_parameters_in_attribute_order():
    class Affine(Module):
        def __init__(self):
            self.scale = mg.Value(2.0)
            self._cache = mg.Value(99.0)  # private: not a parameter
            self.inner = Neuron(1, activation=None, seed=0)
            self.shifts = [mg.Value(1.0), self.scale]  # the shared scale is listed once
            self.name = "affine"

        def __call__(self, x):
            return self.inner(x) * self.scale + self.shifts[0]

    model = Affine()
    assert [n for n, _ in model.named_parameters()] == ["scale", "inner.w.0", "inner.b", "shifts.0"]
    assert model._cache not in model.parameters()


def test_base_module_call_says_what_to_define():
    with pytest.raises(NotImplementedError, match="__call__"):
        Module()([1.0])


# --- initialisation and seeding -------------------------------------------------------------


def test_same_seed_same_weights_and_different_seed_different_weights():
    assert MLP(2, [4, 3], seed=7).state_dict() == MLP(2, [4, 3], seed=7).state_dict()
    assert MLP(2, [4, 3], seed=7).state_dict() != MLP(2, [4, 3], seed=8).state_dict()
    assert Layer(2, 3, seed=1).state_dict() == Layer(2, 3, seed=1).state_dict()


def test_seeding_neither_uses_nor_changes_the_global_random_state():
    before = random.getstate()
    random.seed(123)
    a = MLP(2, [3, 1], seed=4).state_dict()
    random.seed(999)
    b = MLP(2, [3, 1], seed=4).state_dict()
    assert a == b
    random.seed(5)
    expected_next = random.random()
    random.seed(5)
    MLP(2, [3, 1], seed=4)
    assert random.random() == expected_next
    random.setstate(before)


def test_unseeded_models_differ():
    assert MLP(2, [8]).state_dict() != MLP(2, [8]).state_dict()


def test_initial_values_lie_within_one_over_sqrt_fan_in():
    model = MLP(4, [9, 1], seed=3)
    for name, x in model.state_dict().items():
        fan_in = 4 if name.startswith("layers.0.") else 9
        assert abs(x) <= 1 / math.sqrt(fan_in)


# --- forward pass ----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", None])
def test_neuron_computes_activation_of_weighted_sum_plus_bias(activation):
    n = Neuron(3, activation=activation, seed=2)
    n.w[0].data, n.w[1].data, n.w[2].data, n.b.data = 0.5, -1.5, 2.0, 0.25
    x = [1.0, 0.4, -0.3]
    z = 0.5 * 1.0 - 1.5 * 0.4 + 2.0 * -0.3 + 0.25
    assert n(x).data == pytest.approx(ACTS[activation](z), rel=1e-15, abs=1e-15)


@pytest.mark.parametrize(("activation", "final"), [("tanh", None), ("relu", "sigmoid"), (None, "tanh")])
def test_mlp_forward_matches_a_float_recomputation(activation, final):
    model = MLP(3, [5, 4, 2], activation=activation, final_activation=final, seed=11)
    x = [0.3, -1.2, 2.0]
    out = model(x)
    assert isinstance(out, list) and len(out) == 2
    assert [o.data for o in out] == pytest.approx(float_forward(model, x), rel=1e-12)


def test_one_output_returns_a_value_and_several_a_list():
    assert isinstance(MLP(2, [3, 1])([1, 2]), mg.Value)
    assert isinstance(Layer(2, 1)([1, 2]), mg.Value)
    assert isinstance(Neuron(2)([1, 2]), mg.Value)
    out = Layer(2, 3)([1, 2])
    assert isinstance(out, list) and len(out) == 3


def test_model_accepts_values_and_backpropagates_into_inputs():
    model = MLP(2, [3, 1], seed=1)
    x = [mg.Value(0.5, "x1"), mg.Value(-0.2, "x2")]
    out = model(x)
    out.backward()
    h = 1e-6
    for i in range(2):
        plus = [xi.data for xi in x]
        minus = list(plus)
        plus[i] += h
        minus[i] -= h
        numeric = (model(plus).data - model(minus).data) / (2 * h)
        assert x[i].grad == pytest.approx(numeric, rel=1e-6, abs=1e-9)


def test_parameter_gradients_match_central_differences():
    model = MLP(2, [4, 1], activation="tanh", seed=9)
    x = [0.7, -0.4]
    model.zero_grad()
    model(x).backward()
    h = 1e-6
    for p in model.parameters():
        original = p.data
        p.data = original + h
        up = model(x).data
        p.data = original - h
        down = model(x).data
        p.data = original
        assert p.grad == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-9)


def test_an_input_number_is_one_leaf_shared_by_every_neuron():
    layer = Layer(1, 3, activation=None, seed=0)
    outs = layer([2.0])
    leaves = {id(node.parents[1].parents[1]) for node in outs}  # b + w·x -> x
    assert len(leaves) == 1


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], seed=0)
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


# --- bad arguments ------------------------------------------------------------------------------


def test_unknown_activation_lists_the_choices():
    with pytest.raises(ValueError, match=r"'gelu'.*'tanh', 'relu', 'sigmoid', None"):
        MLP(2, [3], activation="gelu")
    with pytest.raises(ValueError, match="'softmax'"):
        MLP(2, [3], final_activation="softmax")
    with pytest.raises(ValueError, match="'Tanh'"):
        Neuron(2, activation="Tanh")


@pytest.mark.parametrize("model", [Neuron(3), Layer(3, 2), MLP(3, [2, 1])], ids=repr)
@pytest.mark.parametrize("x", [[1.0, 2.0], [1.0, 2.0, 3.0, 4.0], []])
def test_wrong_input_length_raises_value_error(model, x):
    with pytest.raises(ValueError, match=f"expects 3 inputs, got {len(x)}"):
        model(x)


@pytest.mark.parametrize("x", [1.0, "abc", mg.Value(1.0), None])
def test_input_that_is_not_a_list_raises_type_error(x):
    with pytest.raises(TypeError, match="expects a list"):
        MLP(1, [1])(x)


def test_input_element_that_is_not_a_number_raises_type_error():
    with pytest.raises(TypeError, match="str"):
        MLP(2, [1])([1.0, "2"])


@pytest.mark.parametrize(
    ("make", "error"),
    [
        (lambda: MLP(0, [1]), ValueError),
        (lambda: MLP(2, []), ValueError),
        (lambda: MLP(2, [3, 0]), ValueError),
        (lambda: MLP(2, 3), TypeError),
        (lambda: MLP(2.5, [1]), TypeError),
        (lambda: MLP(True, [1]), TypeError),
        (lambda: Layer(2, -1), ValueError),
        (lambda: Neuron(0), ValueError),
    ],
)
def test_bad_sizes_raise(make, error):
    with pytest.raises(error):
        make()


# --- state dicts ----------------------------------------------------------------------------------


def test_state_dict_is_json_ready_and_round_trips_into_another_model():
    a, b = MLP(2, [4, 1], seed=1), MLP(2, [4, 1], seed=2)
    state = json.loads(json.dumps(a.state_dict()))
    assert all(type(v) is float for v in a.state_dict().values())
    b.load_state_dict(state)
    assert b.state_dict() == a.state_dict()
    assert b([0.3, 0.9]).data == a([0.3, 0.9]).data


def test_load_state_dict_accepts_ints_and_keeps_the_same_value_objects():
    model = Neuron(2, seed=0)
    params = model.parameters()
    model.load_state_dict({"w.0": 1, "w.1": -2, "b": 0.5})
    assert model.parameters() == params
    assert model.state_dict() == {"w.0": 1.0, "w.1": -2.0, "b": 0.5}


def _bad_states():
    good = MLP(2, [2, 1], seed=0).state_dict()
    name = "layers.0.neurons.1.w.0"
    missing = {k: v for k, v in good.items() if k != name}
    yield "missing", missing, name
    yield "unknown", {**good, "layers.9.b": 1.0}, "layers.9.b"
    for label, bad in [
        ("str", "0.5"),
        ("bool", True),
        ("none", None),
        ("list", [0.5]),
        ("nan", math.nan),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("complex", 1j),
    ]:
        yield label, {**good, name: bad}, name


@pytest.mark.parametrize(("case", "state", "named"), list(_bad_states()), ids=[c for c, *_ in _bad_states()])
def test_bad_state_is_rejected_naming_the_entry_and_the_model_is_unchanged(case, state, named):
    model = MLP(2, [2, 1], seed=3)
    before = model.state_dict()
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        model.load_state_dict(state)
    assert model.state_dict() == before


def test_every_problem_is_reported_at_once_and_valid_entries_are_not_applied():
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError) as info:
        model.load_state_dict({"w.0": 5.0, "w.1": "x", "extra": 1.0})
    message = str(info.value)
    assert "'b'" in message and "'w.1'" in message and "'extra'" in message
    assert model.state_dict() == before


@pytest.mark.parametrize("state", [[1.0, 2.0], "w.0=1", None, 3.0])
def test_state_that_is_not_a_dict_is_rejected(state):
    with pytest.raises(ValueError, match="must be a dict"):
        Neuron(2).load_state_dict(state)


# --- save and load -----------------------------------------------------------------------------


def test_save_then_load_restores_the_model(tmp_path):
    a, b = MLP(2, [5, 1], seed=1), MLP(2, [5, 1], seed=2)
    path = tmp_path / "model.json"
    a.save(path)
    assert json.loads(path.read_text()) == a.state_dict()
    b.load(str(path))
    assert b.state_dict() == a.state_dict()
    assert os.listdir(tmp_path) == ["model.json"]  # no temporary file left behind


def test_save_replaces_an_existing_file_with_normal_permissions(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    model = Neuron(2, seed=0)
    model.save(path)
    assert json.loads(path.read_text()) == model.state_dict()
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_failing_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    path.write_text('{"old": 1}')

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        Neuron(2).save(path)
    assert path.read_text() == '{"old": 1}'
    assert os.listdir(tmp_path) == ["model.json"]


def test_saving_a_diverged_model_is_refused_before_writing(tmp_path):
    model = Neuron(2)
    model.b.data = math.nan
    with pytest.raises(ValueError, match="'b'"):
        model.save(tmp_path / "m.json")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"{not json", "invalid JSON"),
        (b"", "invalid JSON"),
        (b"\xff\xfe\x00", "invalid JSON"),
        (b"[1, 2]", "must be a dict"),
        (b'{"w.0": 1.0, "w.1": NaN, "b": 0.0}', r"'w\.1' is not finite"),
        (b'{"w.0": 1.0, "w.1": 2.0}', r"missing 'b'"),
    ],
)
def test_loading_a_bad_file_names_the_file_and_the_problem(tmp_path, content, match):
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    model = Neuron(2, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"broken\.json: .*" + match):
        model.load(path)
    assert model.state_dict() == before


def test_loading_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        Neuron(2).load(tmp_path / "nope.json")


# --- the two-moons example -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def moons():
    return load_example("moons")


def test_moons_data_is_two_noisy_half_circles(moons):
    X, y = moons.make_moons(100, noise=0.1, seed=4)
    assert (X, y) == moons.make_moons(100, noise=0.1, seed=4)
    assert len(X) == 100 and sorted(set(y)) == [-1, 1] and y.count(1) == 50
    for (px, py), label in zip(X, y, strict=True):
        cx, cy = (0.0, 0.0) if label == -1 else (1.0, 0.5)
        assert abs(math.hypot(px - cx, py - cy) - 1.0) < 0.6  # near its unit half circle
    X0, _ = moons.make_moons(10, noise=0.0, seed=0)
    for px, py in X0:
        assert min(abs(math.hypot(px, py) - 1), abs(math.hypot(px - 1, py - 0.5) - 1)) < 1e-12


def test_moons_main_trains_prints_each_step_and_lowers_the_loss(moons):
    out = io.StringIO()
    with redirect_stdout(out):
        assert moons.main(["--steps", "4", "--seed", "3"]) == 0
    lines = out.getvalue().splitlines()
    assert [line.split()[:2] for line in lines[:4]] == [["step", str(k)] for k in range(4)]
    assert lines[-1].startswith("final training accuracy")
    losses = [float(line.split()[3]) for line in lines[:4]]
    assert losses[-1] < losses[0]


def test_moons_plot_writes_a_png(moons, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "moons.png"
    with redirect_stdout(io.StringIO()):
        moons.main(["--steps", "2", "--plot", str(path)])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
