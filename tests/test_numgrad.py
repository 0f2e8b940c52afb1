"""Tests of gdbook.numgrad: difference quotients, the gradient check, the step-size study."""

import math

import numpy as np
import pytest
import torch

from gdbook import numgrad


def rosen(v):
    x, y = v[0], v[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosen_grad(v):
    x, y = v
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def test_known_gradients_numpy():
    x = np.array([-1.2, 1.0])
    exact = rosen_grad(x)
    # central: error h²/6·f''' with f''' = 2400x in x: about 5e-7 at h = 1e-5 — tolerance 1e-6 is loose enough.
    assert np.max(np.abs(numgrad.central_diff(rosen, x, h=1e-5) - exact)) < 1e-6
    # forward: error h/2·f'' with f''_xx = 1330 here: about 7e-5 at h = 1e-7, plus round-off ~ 1e-7.
    assert np.max(np.abs(numgrad.forward_diff(rosen, x, h=1e-7) - exact)) < 2e-4


def test_forward_error_is_h_over_2_times_second_derivative():
    # For f = x², (f(x+h) - f(x))/h = 2x + h exactly, central = 2x exactly (up to rounding).
    for h in (1e-1, 1e-2):
        assert numgrad.forward_diff(lambda x: x**2, 3.0, h) == pytest.approx(6 + h, abs=1e-12)
        assert numgrad.central_diff(lambda x: x**2, 3.0, h) == pytest.approx(6.0, abs=1e-12)
    # For f = x³ the central error is h²·f'''/6 = h² exactly.
    assert numgrad.central_diff(lambda x: x**3, 1.0, 1e-2) == pytest.approx(3 + 1e-4, abs=1e-11)


def test_types_and_shapes_are_preserved():
    f = lambda m: (m**2).sum()
    x = np.arange(6.0).reshape(2, 3)
    g = numgrad.central_diff(f, x)
    assert isinstance(g, np.ndarray) and g.shape == (2, 3)
    np.testing.assert_allclose(g, 2 * x, atol=1e-8)
    t = torch.arange(6.0, dtype=torch.float64).reshape(3, 2)
    gt = numgrad.forward_diff(f, t, h=1e-6)
    assert isinstance(gt, torch.Tensor) and gt.shape == (3, 2) and gt.dtype == torch.float64
    assert isinstance(numgrad.central_diff(math.sin, 0.3), float)
    # integer input is computed in float64, not truncated
    assert numgrad.central_diff(lambda v: v[0] * v[1], [1, 2]).tolist() == pytest.approx([2.0, 1.0])


def test_bad_step_rejected():
    with pytest.raises(ValueError, match="h must be"):
        numgrad.central_diff(math.sin, 0.0, h=0.0)
    with pytest.raises(ValueError, match="hs must be"):
        numgrad.step_size_study(math.sin, math.cos, 0.0, [1e-3, -1e-3])


def test_step_size_slopes_in_truncation_regime():
    hs = np.logspace(-14, -1, 53)
    s = numgrad.step_size_study(np.exp, np.exp, 1.0, hs)
    fwd, cen = s.slopes(1e-5, 1e-1)
    assert fwd == pytest.approx(1.0, abs=0.05)
    cen_slope = s.slopes(1e-3, 1e-1)[1]
    assert cen_slope == pytest.approx(2.0, abs=0.05)
    # round-off regime: errors grow as h shrinks (slope near -1; noisy, so a loose band)
    fr, cr = s.slopes(1e-14, 1e-11)
    assert -1.5 < fr < -0.5 and -1.5 < cr < -0.5
    # the observed best steps lie within a factor 30 of the theory (constants with |f|, M = e)
    bf, bc = s.best()
    e = math.e
    assert 1 / 30 < bf / numgrad.best_h_forward(f_scale=e, d2=e) < 30
    assert 1 / 30 < bc / numgrad.best_h_central(f_scale=e, d3=e) < 30
    # central beats forward at its best step
    assert s.central_errors.min() < s.forward_errors.min() / 10


def test_best_h_formulas_minimize_the_bound():
    eps, F, M = 1e-16, 2.0, 5.0
    hs = np.logspace(-12, 0, 200001)
    fwd_bound = M / 2 * hs + 2 * eps * F / hs
    cen_bound = M / 6 * hs**2 + eps * F / hs
    assert numgrad.best_h_forward(eps, F, M) == pytest.approx(hs[np.argmin(fwd_bound)], rel=1e-3)
    assert numgrad.best_h_central(eps, F, M) == pytest.approx(hs[np.argmin(cen_bound)], rel=1e-3)


def test_check_grad_on_small_torch_model():
    g = torch.Generator().manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    X = torch.randn(16, 3, generator=g, dtype=torch.float64)
    y = torch.randn(16, 1, generator=g, dtype=torch.float64)
    names = [n for n, _ in net.named_parameters()]
    params = list(net.parameters())
    before = [p.detach().clone() for p in params]

    def loss(*ps):
        return ((torch.func.functional_call(net, dict(zip(names, ps)), (X,)) - y) ** 2).mean()

    r = numgrad.check_grad(loss, params)
    assert r.autograd.shape == (sum(p.numel() for p in params),)
    assert r.max_rel_error < 1e-8 and r.ok()
    # the model's own parameters are untouched
    assert all(torch.equal(a, b) for a, b in zip(before, params))


class BadSquare(torch.autograd.Function):
    """x², with a backward that returns half the gradient (x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x  # wrong: should be 2x


def test_check_grad_catches_a_wrong_gradient():
    r = numgrad.check_grad(lambda x: BadSquare.apply(x).sum(), torch.tensor([1.0, -2.0, 3.0]))
    assert r.max_rel_error == pytest.approx(0.5, abs=1e-6)
    assert not r.ok()


def test_check_grad_requires_scalar_output():
    with pytest.raises(ValueError, match="scalar"):
        numgrad.check_grad(lambda x: x * 2, torch.ones(3))


def test_default_steps_are_the_documented_ones():
    # forward_diff h = 1e-7, central_diff h = 1e-5, check_grad h = 1e-6 (their signatures)
    x = np.array([0.3, -1.1])
    f = lambda v: float(np.exp(v).sum())
    assert np.array_equal(numgrad.forward_diff(f, x), numgrad.forward_diff(f, x, h=1e-7))
    assert np.array_equal(numgrad.central_diff(f, x), numgrad.central_diff(f, x, h=1e-5))
    assert numgrad.check_grad(lambda w: w.exp().sum(), torch.tensor([0.3])).h == 1e-6


def test_costs_d_plus_1_and_2d_evaluations():
    calls = []
    f = lambda v: calls.append(1) or float((v**2).sum())
    numgrad.forward_diff(f, np.zeros(3))
    assert len(calls) == 3 + 1
    calls.clear()
    numgrad.central_diff(f, np.zeros(3))
    assert len(calls) == 2 * 3


def test_float32_tensors_are_differenced_in_float64():
    # in float32 a step of 1e-7 is below the resolution of x = 1 and the quotient is garbage
    x = torch.tensor([1.0, 2.0], dtype=torch.float32)
    g = numgrad.forward_diff(lambda v: (v**2).sum(), x, h=1e-7)
    assert g.dtype == torch.float64
    assert torch.allclose(g, torch.tensor([2.0, 4.0], dtype=torch.float64), atol=1e-6)
    r = numgrad.check_grad(lambda w: (w.sin() * w).sum(), torch.tensor([0.5, -1.0], dtype=torch.float32))
    assert r.max_rel_error < 1e-8


def test_best_h_defaults_are_unit_scales():
    # f_scale = 1 and M = 1 by default: h* = 2 sqrt(eps) and (3 eps)^(1/3)
    eps = float(np.finfo(np.float64).eps)
    assert numgrad.best_h_forward() == pytest.approx(2 * math.sqrt(eps), rel=1e-12)
    assert numgrad.best_h_central() == pytest.approx((3 * eps) ** (1 / 3), rel=1e-12)
    assert numgrad.best_h_forward(1e-16) == pytest.approx(2e-8, rel=1e-12)
    assert numgrad.best_h_central(1e-16) == pytest.approx(3e-16 ** (1 / 3), rel=1e-12)
    # scales below 1 are allowed
    assert numgrad.best_h_forward(1e-16, f_scale=0.25, d2=0.25) == pytest.approx(2e-8, rel=1e-12)
    assert numgrad.best_h_central(1e-16, f_scale=0.5, d3=0.5) == pytest.approx(3e-16 ** (1 / 3), rel=1e-12)


@pytest.mark.parametrize("fn, arg", [(numgrad.best_h_forward, "eps"), (numgrad.best_h_forward, "f_scale"),
                                     (numgrad.best_h_forward, "d2"), (numgrad.best_h_central, "eps"),
                                     (numgrad.best_h_central, "f_scale"), (numgrad.best_h_central, "d3")])
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_best_h_rejects_a_scale_that_is_not_positive(fn, arg, value):
    with pytest.raises(ValueError, match=rf"^{arg} must be in \(0\.0, inf\], got {value}$"):
        fn(**{arg: value})


def test_ok_is_max_rel_error_at_most_rtol():
    r = numgrad.GradCheck(autograd=np.ones(1), numerical=np.ones(1), max_abs_error=1e-6, max_rel_error=1e-6, h=1e-6)
    assert r.ok() and r.ok(1e-6) and not r.ok(0.9e-6)


def test_check_grad_relative_error_of_a_small_gradient():
    # a gradient of size <= 1 must still be judged relatively: a backward that returns half
    # the gradient is 50 % off whatever the size, while its absolute error is 0.25 here
    r = numgrad.check_grad(lambda x: BadSquare.apply(x).sum(), torch.tensor([0.25]))
    assert r.max_abs_error == pytest.approx(0.25, abs=1e-8)
    assert r.max_rel_error == pytest.approx(0.5, abs=1e-8)


def test_check_grad_reports_its_step_and_numerical_gradient():
    # central difference of w³ at 1: 3 + h² exactly
    r = numgrad.check_grad(lambda w: (w**3).sum(), torch.tensor([1.0]), h=0.1)
    assert r.h == 0.1
    assert r.numerical.tolist() == pytest.approx([3.01], abs=1e-12)
    assert r.autograd.tolist() == [3.0]
    assert r.max_abs_error == pytest.approx(0.01, abs=1e-12)
    assert r.max_rel_error == pytest.approx(0.01 / 3.01, abs=1e-12)


def test_check_grad_on_arrays_floats_and_integers():
    # non-tensor inputs are copied to float64 tensors, integers included
    for x in (np.array([1.0, 2.0]), np.array([1, 2]), [np.array([1, 2])]):
        r = numgrad.check_grad(lambda w: (w**2).sum(), x)
        assert r.autograd.tolist() == [2.0, 4.0] and r.ok(1e-8)
    r = numgrad.check_grad(lambda w: w**3, 2)
    assert r.autograd.tolist() == [12.0] and r.ok(1e-8)


def test_check_grad_with_several_inputs_one_unused():
    a, b, c = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0]), torch.tensor([5.0])
    r = numgrad.check_grad(lambda a, b, c: (a * b).sum(), [a, b, c])
    # f(a, b, c) is called with all three; the unused one has a zero gradient
    assert r.autograd.tolist() == [3.0, -1.0, 1.0, 2.0, 0.0]
    assert r.numerical.tolist() == pytest.approx([3.0, -1.0, 1.0, 2.0, 0.0], abs=1e-8)
    assert r.ok(1e-8)


def test_check_grad_zero_and_empty_gradients():
    # a zero gradient has no scale: the relative error falls back to the absolute one (0 here)
    r = numgrad.check_grad(lambda w: (w * 0).sum(), torch.ones(2))
    assert r.max_rel_error == 0.0 and r.ok()
    # an input with no elements: nothing to compare, no error
    r = numgrad.check_grad(lambda w: w.sum() + 1, torch.zeros(0))
    assert r.autograd.shape == (0,) and r.max_abs_error == 0.0 and r.max_rel_error == 0.0 and r.ok()


def test_check_grad_requires_scalar_output_message():
    with pytest.raises(ValueError, match=r"^f must return a scalar tensor \(one element\)$"):
        numgrad.check_grad(lambda x: x * 2, torch.ones(3))


def test_slopes_use_both_ends_and_two_steps_suffice():
    # x³ at 1: central = 3 + h² exactly for steps that are powers of 2, so its slope is exactly 2
    s = numgrad.step_size_study(lambda x: x**3, lambda x: 3 * x**2, 1.0, [0.25, 0.5])
    fwd, cen = s.slopes(0.25, 0.5)
    assert cen == pytest.approx(2.0, abs=1e-12)
    assert 1.0 < fwd < 2.0
    with pytest.raises(ValueError, match=r"^need at least two steps with nonzero error in \[0\.3, 0\.5\], got 1$"):
        s.slopes(0.3, 0.5)


def test_slopes_skip_zero_errors():
    # x² at 3: central differences are exact (error 0) and cannot be put on a log scale
    s = numgrad.step_size_study(lambda x: x**2, lambda x: 2 * x, 3.0, [0.25, 0.5])
    assert s.central_errors.tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match=r"^need at least two steps with nonzero error in \[0\.25, 0\.5\], got 0$"):
        s.slopes(0.25, 0.5)


def test_step_size_study_takes_any_shape_of_steps():
    one = numgrad.step_size_study(np.sin, np.cos, 1.0, [1e-3])  # a single step is enough
    assert one.hs.tolist() == [1e-3] and one.forward_errors.shape == (1,)
    col = numgrad.step_size_study(np.sin, np.cos, 1.0, np.array([[1e-3], [1e-2]]))  # flattened
    assert col.hs.shape == (2,) and col.central_errors.shape == (2,)
    ints = numgrad.step_size_study(lambda x: x**2, lambda x: 2 * x, 3.0, [1, 2])  # stored in float64
    assert ints.hs.dtype == np.float64 and ints.forward_errors.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^hs must be a non-empty sequence of steps > 0, got \[0\.001, 0\.0\]$"):
        numgrad.step_size_study(np.sin, np.cos, 1.0, [1e-3, 0.0])


@pytest.mark.parametrize("h", [0.0, -1e-6])
def test_check_grad_rejects_a_bad_step_before_evaluating_f(h):
    calls = []
    f = lambda w: calls.append(1) or (w**2).sum()
    with pytest.raises(ValueError, match=rf"^h must be in \(0\.0, inf\], got {h}$"):
        numgrad.check_grad(f, torch.ones(2), h=h)
    assert calls == []  # a model is not run for nothing
