"""gdbook.init: the same draws as torch.nn.init, and sample statistics that match the formulas.

Tolerances for sample statistics come from the sample size. For N independent
entries with variance s2 and kurtosis k (3 for a normal, 9/5 for a uniform), the
sample mean has standard error sqrt(s2 / N) and the sample variance has standard
error s2 * sqrt((k - 1) / N). We allow 5 standard errors: a correct implementation
fails with probability below 1e-6, while a wrong constant (a factor 2 or 3 in the
variance, a missing square root) misses by hundreds of standard errors.
"""

import math
import os

import pytest
import torch
from torch import nn

from gdbook import init

SHAPE = (300, 500)  # fan_out = 300, fan_in = 500: 150,000 entries
N = SHAPE[0] * SHAPE[1]
KURTOSIS = {"normal": 3.0, "uniform": 9.0 / 5.0}


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def empty():
    return torch.empty(SHAPE, dtype=torch.float64)


def check_moments(w, var, family, mean=0.0):
    m, v = w.mean().item(), w.var(correction=0).item()
    assert abs(m - mean) < 5 * math.sqrt(var / N), (m, mean)
    assert abs(v - var) < 5 * var * math.sqrt((KURTOSIS[family] - 1) / N), (v, var)


def test_fans_match_torch_for_linear_and_conv_shapes():
    for shape in [(3, 5), (16, 3, 5, 5), (4, 2, 7)]:
        t = torch.empty(shape)
        assert init.fans(t) == nn.init._calculate_fan_in_and_fan_out(t)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.fans(torch.empty(5))


@pytest.mark.parametrize("name,param", [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None)])
def test_gain_matches_torch(name, param):
    assert init.calculate_gain(name, param) == pytest.approx(nn.init.calculate_gain(name, param), rel=1e-15)


def test_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        init.calculate_gain("softplus")


@pytest.mark.parametrize(
    "ours,theirs,kwargs",
    [
        (init.normal_, nn.init.normal_, dict(mean=0.5, std=0.1)),
        (init.uniform_, nn.init.uniform_, dict(a=-2.0, b=3.0)),
        (init.xavier_uniform_, nn.init.xavier_uniform_, dict(gain=1.0)),
        (init.xavier_normal_, nn.init.xavier_normal_, dict(gain=5.0 / 3)),
        (init.kaiming_uniform_, nn.init.kaiming_uniform_, dict(a=math.sqrt(5))),
        (init.kaiming_uniform_, nn.init.kaiming_uniform_, dict(mode="fan_out", nonlinearity="relu")),
        (init.kaiming_normal_, nn.init.kaiming_normal_, dict()),
        (init.kaiming_normal_, nn.init.kaiming_normal_, dict(mode="fan_out", nonlinearity="tanh")),
    ],
)
def test_same_draws_as_torch_nn_init(ours, theirs, kwargs):
    a = ours(torch.empty(30, 70, dtype=torch.float64), **kwargs, generator=gen(3))
    b = theirs(torch.empty(30, 70, dtype=torch.float64), **kwargs, generator=gen(3))
    torch.testing.assert_close(a, b, rtol=1e-13, atol=0.0)


def test_linear_default_equals_nn_linear_constructor():
    with torch.random.fork_rng():
        torch.manual_seed(7)
        ref = nn.Linear(40, 25, dtype=torch.float64)
    ours = init.linear_default_(nn.Linear(40, 25, dtype=torch.float64), generator=gen(7))
    torch.testing.assert_close(ours.weight, ref.weight, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(ours.bias, ref.bias, rtol=1e-13, atol=0.0)


def test_linear_default_is_uniform_with_bound_one_over_sqrt_fan_in():
    lin = init.linear_default_(nn.Linear(SHAPE[1], SHAPE[0], dtype=torch.float64), generator=gen())
    bound = 1 / math.sqrt(SHAPE[1])
    w = lin.weight.detach()
    assert w.abs().max() <= bound
    assert w.abs().max() > bound * (1 - 1e-3)  # P(all below) = (1 - 1e-3) ** N, about 1e-65
    check_moments(w, bound**2 / 3, "uniform")


def test_normal_and_uniform_moments():
    check_moments(init.normal_(empty(), 1.5, 0.2, generator=gen()), 0.04, "normal", mean=1.5)
    check_moments(init.uniform_(empty(), -1.0, 3.0, generator=gen()), 16 / 12, "uniform", mean=1.0)


def test_xavier_moments_and_bound():
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    var = 2 / (fan_in + fan_out)
    assert init.xavier_std(fan_in, fan_out) ** 2 == pytest.approx(var, rel=1e-15)
    check_moments(init.xavier_normal_(empty(), generator=gen()), var, "normal")
    w = init.xavier_uniform_(empty(), generator=gen())
    assert w.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
    check_moments(w, var, "uniform")
    check_moments(init.xavier_normal_(empty(), gain=2.0, generator=gen()), 4 * var, "normal")


def test_kaiming_moments_for_relu_fan_in_and_fan_out():
    fan_in, fan_out = SHAPE[1], SHAPE[0]
    check_moments(init.kaiming_normal_(empty(), generator=gen()), 2 / fan_in, "normal")
    check_moments(init.kaiming_uniform_(empty(), generator=gen()), 2 / fan_in, "uniform")
    check_moments(init.kaiming_normal_(empty(), mode="fan_out", generator=gen()), 2 / fan_out, "normal")
    check_moments(init.kaiming_uniform_(empty(), nonlinearity="tanh", generator=gen()), (5 / 3) ** 2 / fan_in, "uniform")


def test_he_preserves_second_moment_through_relu():
    # E[relu(Wx)_i^2] = n_in * sigma^2 * E[x_j^2] / 2 = E[x_j^2] when sigma^2 = 2 / n_in
    n = 400
    x = torch.randn(2000, n, generator=gen(1), dtype=torch.float64)
    W = init.kaiming_normal_(torch.empty(n, n, dtype=torch.float64), generator=gen(2))
    ratio = (torch.relu(x @ W.T) ** 2).mean() / (x**2).mean()
    # Two sources of spread. The weights: given W the ratio is about sum_ij W_ij^2 / (2n),
    # n^2 entries of relative sd sqrt(2), so sqrt(2) / n = 0.0035. The inputs: 800,000 terms
    # relu(z)^2 of relative variance 5, nearly uncorrelated (the rows of W are nearly
    # orthogonal), so sqrt(5 / 800,000) = 0.0025. Together about 0.0043: 0.03 is 7 sd.
    assert abs(ratio.item() - 1) < 0.03


def test_constant_and_zeros():
    assert torch.equal(init.constant_(torch.empty(2, 3), 0.25), torch.full((2, 3), 0.25))
    assert torch.equal(init.zeros_(torch.ones(4)), torch.zeros(4))


def test_same_generator_state_gives_same_weights_and_is_independent_of_global_state():
    a = init.xavier_uniform_(empty(), generator=gen(11))
    torch.manual_seed(12345)
    _ = torch.rand(10)
    b = init.xavier_uniform_(empty(), generator=gen(11))
    assert torch.equal(a, b)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="mode must be one of"):
        init.kaiming_normal_(empty(), mode="fan_avg")
    with pytest.raises(ValueError, match="std must be in"):
        init.normal_(empty(), std=-1.0)
    with pytest.raises(ValueError, match="b must be in"):
        init.uniform_(empty(), 1.0, 0.0)
    with pytest.raises(TypeError, match="value must be a real number"):
        init.constant_(empty(), "0.5")


@pytest.mark.parametrize("ours,theirs", [
    (init.normal_, nn.init.normal_), (init.uniform_, nn.init.uniform_),
    (init.xavier_uniform_, nn.init.xavier_uniform_), (init.xavier_normal_, nn.init.xavier_normal_),
    (init.kaiming_uniform_, nn.init.kaiming_uniform_), (init.kaiming_normal_, nn.init.kaiming_normal_),
])
@pytest.mark.parametrize("shape", [(30, 70), (8, 3, 5), (6, 4, 3, 3)])
def test_defaults_and_conv_shapes_draw_as_torch(ours, theirs, shape):
    # every default (mean 0, std 1, a = 0, b = 1, gain 1, a = 0, fan_in, leaky_relu) is torch's,
    # for linear weights and for 3-D and 4-D convolution kernels (fans times the kernel size)
    a = ours(torch.empty(shape, dtype=torch.float64), generator=gen(5))
    b = theirs(torch.empty(shape, dtype=torch.float64), generator=gen(5))
    torch.testing.assert_close(a, b, rtol=1e-13, atol=0.0)


def test_gain_defaults_and_closed_forms():
    assert init.calculate_gain() == 1.0 == nn.init.calculate_gain("linear")
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)), rel=1e-15)
    assert init.calculate_gain("leaky_relu", 0.0) == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert init.calculate_gain("leaky_relu", 1.0) == pytest.approx(1.0, rel=1e-15)
    assert init.calculate_gain("identity") == 1.0
    for name in ("conv1d", "conv2d", "conv3d"):
        assert init.calculate_gain(name) == 1.0 == nn.init.calculate_gain(name)
    assert init.xavier_std(2, 6) == pytest.approx(0.5, rel=1e-15)  # gain 1 by default
    assert init.kaiming_std(8) == pytest.approx(0.5, rel=1e-15)  # gain √2 by default: √(2/8)
    with pytest.raises(TypeError, match="^param must be a real number"):
        init.calculate_gain("leaky_relu", "0.2")
    for call, message in [(lambda: init.xavier_std(0, 0), "fan_in + fan_out must be in (0, inf], got 0"),
                          (lambda: init.kaiming_std(0), "fan must be in (0, inf], got 0"),
                          (lambda: init.fans(torch.empty(5)),
                           "tensor must have at least 2 dimensions to have fans, got shape (5,)")]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message


def test_closed_ends_of_the_ranges_are_allowed():
    assert torch.equal(init.uniform_(torch.empty(3), 2.0, 2.0, generator=gen(0)), torch.full((3,), 2.0))
    assert torch.equal(init.normal_(torch.empty(3), 1.5, 0.0, generator=gen(0)), torch.full((3,), 1.5))
    assert init.xavier_std(1, 0) == pytest.approx(math.sqrt(2.0), rel=1e-15)
    assert init.kaiming_std(1, gain=3.0) == 3.0


def test_linear_default_without_bias():
    lin = init.linear_default_(nn.Linear(4, 3, bias=False, dtype=torch.float64), generator=gen(1))
    ref = nn.init.kaiming_uniform_(torch.empty(3, 4, dtype=torch.float64), a=math.sqrt(5), generator=gen(1))
    assert lin.bias is None and torch.equal(lin.weight.data, ref)


def test_xavier_uniform_gain_and_number_checks():
    a = init.xavier_uniform_(torch.empty(6, 9, dtype=torch.float64), gain=2.5, generator=gen(4))
    b = nn.init.xavier_uniform_(torch.empty(6, 9, dtype=torch.float64), gain=2.5, generator=gen(4))
    torch.testing.assert_close(a, b, rtol=1e-13, atol=0.0)
    assert init.xavier_std(0, 2) == 1.0  # only the sum of the fans must be positive
    for call, message in [(lambda: init.uniform_(empty(), "0"), "a must be a real number, got str: '0'"),
                          (lambda: init.normal_(empty(), "0"), "mean must be a real number, got str: '0'")]:
        with pytest.raises(TypeError) as err:
            call()
        assert str(err.value) == message


def test_linear_default_with_one_input_equals_torch():
    # fan_in = 1: weight and bias are U(-1, 1)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        ref = nn.Linear(1, 4, dtype=torch.float64)
    ours = init.linear_default_(nn.Linear(1, 4, dtype=torch.float64), generator=gen(3))
    torch.testing.assert_close(ours.weight.data, ref.weight.data, rtol=1e-13, atol=0.0)
    torch.testing.assert_close(ours.bias.data, ref.bias.data, rtol=1e-13, atol=0.0)


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_linear_default_on_an_empty_layer_does_what_torch_does(shape):
    """nn.Linear(0, n) is legal: torch warns that initializing an empty weight is a no-op and
    draws the bias from U(0, 0); gdbook does the same instead of raising."""
    torch.manual_seed(5)
    with pytest.warns(UserWarning, match="zero-element") as theirs:
        ref = torch.nn.Linear(*shape, dtype=torch.float64)
    with pytest.warns(UserWarning, match="zero-element"):
        mine = torch.nn.Linear(*shape, dtype=torch.float64)
    with pytest.warns(UserWarning, match="zero-element") as ours:
        init.linear_default_(mine, generator=torch.Generator().manual_seed(5))
    assert mine.weight.shape == ref.weight.shape and torch.equal(mine.bias, ref.bias)
    # torch's words, and the warning points at the line that called linear_default_ (this file)
    (w,) = [w for w in ours if "zero-element" in str(w.message)]
    assert str(w.message) in {str(t.message) for t in theirs}
    if "MUTANT_UNDER_TEST" not in os.environ:  # mutmut's trampoline adds frames between the test and gdbook
        assert w.filename == __file__
