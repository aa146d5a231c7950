"""MLP.to_torch() and MLP.from_torch(): the same model in PyTorch, with torch itself as the truth.

PyTorch's float64 ``nn.Linear`` and activations, run by torch's own autograd, must give the MLP's
outputs and every parameter's gradient within 1e-12 on random architectures and inputs; the round
trip must be exact; layers an MLP cannot hold are refused by name. The tests of the message without
torch simulate its absence and run whether torch is installed or not.
"""

from __future__ import annotations

import math
import pathlib
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import microgradx as mg
from microgradx.nn import MLP
from microgradx.torch_bridge import INSTALL_TORCH, TORCH_ACTIVATIONS

TOL = 1e-12
ACTIVATIONS = ["tanh", "relu", "sigmoid", None]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def linears(module):
    return [m for m in module if type(m).__name__ == "Linear"]


def run_both(torch, mlp, batch, coefficients):
    """Forward and backward of ``Σ_samples Σ_k c[k]·out[k]`` in both; (outputs, grads) of each side."""
    module = mlp.to_torch()
    mlp.zero_grad()
    inputs = [[mg.Value(x) for x in row] for row in batch]
    outs = []
    loss = mg.Value(0.0)
    for row in inputs:
        out = mlp(row)
        out = out if isinstance(out, list) else [out]
        outs.append([o.data for o in out])
        for c, o in zip(coefficients, out, strict=True):
            loss = loss + c * o
    loss.backward()
    x = torch.tensor(batch, dtype=torch.float64, requires_grad=True)
    y = module(x)
    (y * torch.tensor(coefficients, dtype=torch.float64)).sum().backward()
    ours = {
        "out": outs,
        "x": [[v.grad for v in row] for row in inputs],
        "w": [[[w.grad for w in n.w] for n in layer.neurons] for layer in mlp.layers],
        "b": [[n.b.grad for n in layer.neurons] for layer in mlp.layers],
    }
    theirs = {
        "out": y.tolist(),
        "x": x.grad.tolist(),
        "w": [lin.weight.grad.tolist() for lin in linears(module)],
        "b": [lin.bias.grad.tolist() for lin in linears(module)],
    }
    return ours, theirs


def flat(x):
    return [z for y in x for z in flat(y)] if isinstance(x, list) else [x]


def assert_close(ours, theirs):
    for key in ours:
        a, b = flat(ours[key]), flat(theirs[key])
        assert len(a) == len(b), key
        worst = max(abs(p - q) for p, q in zip(a, b, strict=True))
        assert worst <= TOL, f"{key}: differs by {worst}"


architectures = st.tuples(
    st.integers(1, 4),  # nin
    st.lists(st.integers(1, 5), min_size=1, max_size=4),  # sizes
    st.sampled_from(ACTIVATIONS),
    st.sampled_from(ACTIVATIONS),
    st.integers(0, 10**6),  # the MLP's initialisation
)


@settings(max_examples=60, deadline=None)
@given(arch=architectures, data=st.data())
def test_outputs_and_every_gradient_equal_torchs_within_1e_12(torch, arch, data):
    nin, sizes, activation, final, seed = arch
    mlp = MLP(nin, sizes, activation=activation, final_activation=final, seed=seed)
    number = st.floats(-3, 3, allow_nan=False)
    batch = data.draw(st.lists(st.lists(number, min_size=nin, max_size=nin), min_size=1, max_size=3))
    coefficients = data.draw(st.lists(number, min_size=sizes[-1], max_size=sizes[-1]))
    ours, theirs = run_both(torch, mlp, batch, coefficients)
    assert_close(ours, theirs)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("final", ACTIVATIONS)
def test_every_pair_of_activations_gives_torchs_numbers(torch, activation, final):
    mlp = MLP(3, [5, 4, 2], activation=activation, final_activation=final, seed=7)
    ours, theirs = run_both(torch, mlp, [[0.5, -1.5, 2.0], [-0.25, 0.0, 1.0]], [1.0, -2.0])
    assert_close(ours, theirs)
    assert any(g != 0.0 for g in flat(ours["w"]))  # the comparison compared something


def test_the_module_is_float64_linear_layers_and_activations(torch):
    mlp = MLP(2, [3, 3, 1], activation="relu", final_activation="sigmoid", seed=0)
    module = mlp.to_torch()
    assert isinstance(module, torch.nn.Sequential)
    assert [type(m).__name__ for m in module] == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert all(p.dtype == torch.float64 and p.requires_grad and p.grad is None for p in module.parameters())
    first = module[0]
    neuron = mlp.layers[0].neurons[2]  # neuron j = 2 is row 2 of weight, bias[2]
    assert first.weight[2].tolist() == [w.data for w in neuron.w]
    assert first.bias[2].item() == neuron.b.data
    assert [type(m).__name__ for m in MLP(2, [3, 1], seed=0).to_torch()] == ["Linear", "Tanh", "Linear"]


def test_making_the_module_draws_no_random_numbers_from_torch(torch):
    before = torch.random.get_rng_state()
    MLP(4, [8, 8, 1], seed=0).to_torch()
    assert torch.equal(before, torch.random.get_rng_state())


def test_the_weights_are_copied_not_shared(torch):
    mlp = MLP(2, [2, 1], seed=3)
    module = mlp.to_torch()
    before = module[0].weight.tolist()
    mlp.layers[0].neurons[0].w[0].data += 1.0
    assert module[0].weight.tolist() == before
    with torch.no_grad():
        module[0].bias += 5.0
    assert mlp.layers[0].neurons[0].b.data == MLP(2, [2, 1], seed=3).layers[0].neurons[0].b.data


@pytest.mark.parametrize(
    ("sizes", "activation", "final"),
    [
        ([1], "tanh", None),
        ([3, 1], "relu", "sigmoid"),
        ([4, 4, 2], None, "tanh"),
        ([2, 5, 3, 1], "sigmoid", None),
    ],
)
def test_round_trip_is_exact(torch, sizes, activation, final):
    mlp = MLP(3, sizes, activation=activation, final_activation=final, seed=11)
    back = MLP.from_torch(mlp.to_torch())
    assert type(back) is MLP
    assert repr(back) == repr(mlp)
    assert back.state_dict() == mlp.state_dict()  # == on floats: bit for bit
    module = back.to_torch()
    again = MLP.from_torch(module).to_torch()
    assert str(again) == str(module)
    for p, q in zip(module.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)


def test_a_torch_model_comes_over_with_its_weights_and_outputs(torch):
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3), torch.nn.Identity()
    ).double()
    mlp = MLP.from_torch(module)
    assert repr(mlp) == "MLP(2, [4, 3], activation='tanh', final_activation=None)"
    assert [w.data for w in mlp.layers[1].neurons[2].w] == module[2].weight[2].tolist()
    x = [0.7, -0.2]
    got = [o.data for o in mlp(x)]
    want = module(torch.tensor(x, dtype=torch.float64)).tolist()
    assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= TOL
    assert all(p.grad is None for p in module.parameters())  # reading it ran nothing through it


def test_float32_weights_are_read_exactly(torch):
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid())  # float32, torch's default
    mlp = MLP.from_torch(module)
    assert [[w.data for w in n.w] for n in mlp.layers[0].neurons] == module[0].weight.double().tolist()
    assert mlp.final_activation == "sigmoid"
    assert module[0].weight.dtype == torch.float32  # left unchanged


def test_training_side_by_side_with_sgd_and_adam_gives_the_same_numbers(torch):
    xs = [[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.0, 0.5]]
    ys = [1.0, -1.0, 0.5, 0.0]
    for ours_class, theirs_class in ((mg.optim.SGD, torch.optim.SGD), (mg.optim.Adam, torch.optim.Adam)):
        mlp = MLP(2, [4, 4, 1], seed=5)
        module = mlp.to_torch()
        ours, theirs = ours_class(mlp.parameters(), lr=0.05), theirs_class(module.parameters(), lr=0.05)
        for _ in range(5):
            mlp.zero_grad()
            loss = mg.nn.mse_loss([mlp(x) for x in xs], ys)
            loss.backward()
            ours.step()
            theirs.zero_grad()
            torch_loss = torch.nn.functional.mse_loss(
                module(torch.tensor(xs, dtype=torch.float64)).squeeze(1),
                torch.tensor(ys, dtype=torch.float64),
            )
            torch_loss.backward()
            theirs.step()
            assert abs(loss.data - torch_loss.item()) <= TOL
        trained = MLP.from_torch(module).state_dict()
        assert max(abs(trained[k] - v) for k, v in mlp.state_dict().items()) <= TOL


def test_every_activation_of_an_mlp_has_its_torch_module(torch):
    assert set(TORCH_ACTIVATIONS) == set(mg.nn.ACTIVATIONS)
    for name, module in TORCH_ACTIVATIONS.items():
        assert name is None or isinstance(getattr(torch.nn, module)(), torch.nn.Module)


# --- refusals ------------------------------------------------------------------------------------------


def refusals(torch):
    nn = torch.nn
    return [
        (nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Linear(3, 1)), r"layer 1 \(GELU\) is not a layer"),
        (nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Conv1d(1, 1, 1)), r"layer 2 \(Conv1d\)"),
        (nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Tanh())), r"layer 1 \(Sequential\)"),
        (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), r"layer 1 \(Linear\) reads 4 inputs, but layer 0"),
        (nn.Sequential(nn.Linear(2, 3, bias=False)), r"layer 0 \(Linear\) has no bias"),
        (nn.Sequential(), r"empty"),
        (nn.Sequential(nn.Tanh(), nn.Linear(2, 1)), r"layer 0 \(Tanh\) comes before any Linear"),
        (
            nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.ReLU()),
            r"layer 2 \(ReLU\) follows another activation",
        ),
        (
            nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1)),
            r"layer 2 \(Linear\) is followed by ReLU\(\), but layer 0 \(Linear\) by Tanh\(\)",
        ),
        (nn.Linear(2, 1), r"reads a torch.nn.Sequential .*got Linear"),
        ([nn.Linear(2, 1)], r"got list"),
        (nn.Sequential(nn.Linear(2, 2, dtype=torch.complex128)), r"layer 0 \(Linear\) weight has dtype"),
    ]


def test_layers_an_mlp_cannot_hold_are_refused_by_name(torch):
    for module, message in refusals(torch):
        with pytest.raises(ValueError, match=message):
            MLP.from_torch(module)


def test_named_layers_are_named_by_their_names(torch):
    from collections import OrderedDict

    module = torch.nn.Sequential(OrderedDict(hidden=torch.nn.Linear(2, 2), act=torch.nn.SiLU()))
    with pytest.raises(ValueError, match=r"layer act \(SiLU\)"):
        MLP.from_torch(module)


def test_a_weight_that_is_not_finite_is_refused_where_it_is(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        module[2].weight[0, 1] = math.inf
        module[0].bias[2] = math.nan
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\) bias\[2\] is nan"):
        MLP.from_torch(module)
    with torch.no_grad():
        module[0].bias[2] = 0.0
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\) weight\[0, 1\] is inf"):
        MLP.from_torch(module)


def test_a_weight_of_the_wrong_shape_is_refused(torch):
    module = torch.nn.Sequential(torch.nn.Linear(2, 3))
    module[0].weight = torch.nn.Parameter(torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\) has weight of shape \(3, 5\)"):
        MLP.from_torch(module)


# --- without torch ---------------------------------------------------------------------------------------


def test_without_torch_both_directions_say_how_to_install_a_cpu_build(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"MLP.to_torch\(\) needs PyTorch") as raised:
        MLP(2, [1], seed=0).to_torch()
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in str(raised.value)
    with pytest.raises(ImportError, match=r"MLP.from_torch\(\) needs PyTorch.*download.pytorch.org/whl/cpu"):
        MLP.from_torch(object())


def test_the_install_command_is_the_one_running_the_tests_gives():
    # The README links "Running the tests" on the docs' first page, which says how to install torch.
    page = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "index.md").read_text("utf-8")
    words = " ".join(page.split())
    for command in (
        "pip install torch --index-url https://download.pytorch.org/whl/cpu",
        "pip install torch==2.13.0",
    ):
        assert command in INSTALL_TORCH and command in words


def test_importing_microgradx_does_not_import_torch():
    code = "import sys, microgradx, microgradx.nn, microgradx.torch_bridge; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_page_needs_torch_and_is_skipped_without_it(tmp_path, monkeypatch):
    from conftest import missing_requirement

    page = pathlib.Path(__file__).resolve().parents[1] / "docs" / "to-pytorch.md"
    assert page.read_text("utf-8").startswith("<!-- needs torch -->\n")
    monkeypatch.setitem(sys.modules, "torch", None)
    assert missing_requirement(page) == "to-pytorch.md needs torch, which is not installed"
    other = tmp_path / "other.md"
    other.write_text("# A page\n\n<!-- needs no_such_module_here -->\n", "utf-8")
    assert missing_requirement(other) == "other.md needs no_such_module_here, which is not installed"
    other.write_text("# A page that needs nothing\n", "utf-8")
    assert missing_requirement(other) is None
