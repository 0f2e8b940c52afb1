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


def test_check_grad_catches_a_wrong_gradient():
    class BadSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x  # wrong: should be 2x

    r = numgrad.check_grad(lambda x: BadSquare.apply(x).sum(), torch.tensor([1.0, -2.0, 3.0]))
    assert r.max_rel_error == pytest.approx(0.5, abs=1e-6)
    assert not r.ok()


def test_check_grad_requires_scalar_output():
    with pytest.raises(ValueError, match="scalar"):
        numgrad.check_grad(lambda x: x * 2, torch.ones(3))
