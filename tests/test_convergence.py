"""gdbook.convergence: the methods take the steps their formulas say, and the bounds hold on runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import convergence as cv


def random_quadratic(seed: int, d: int = 5, kappa: float = 50.0):
    """A quadratic with random eigenvectors, eigenvalues spread over [1, kappa], and a random minimizer."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    lam = np.concatenate([[1.0, kappa], rng.uniform(1.0, kappa, size=d - 2)])
    H = Q @ np.diag(lam) @ Q.T
    H = (H + H.T) / 2
    xstar = rng.normal(size=d)
    return gd.quadratic.objective(H, xstar), 1.0, kappa, xstar, xstar + 3 * rng.normal(size=d)


# ---------------------------------------------------------------------------
# Checks on sample points
# ---------------------------------------------------------------------------


def test_hessian_eigenvalues_tell_convex_from_nonconvex():
    rng = np.random.default_rng(0)
    P = rng.uniform(-3, 3, size=(40, 2))
    assert cv.hessian_eigenvalues(gd.objectives.bowl(10), P).min() == pytest.approx(2.0)
    assert cv.hessian_eigenvalues(gd.objectives.saddle(), P).min() == pytest.approx(-2.0)
    xs = np.linspace(-1, 2, 50)
    assert cv.hessian_eigenvalues(gd.objectives.risk(), xs).min() < 0      # x cos(πx) is not convex
    assert cv.hessian_eigenvalues(gd.objectives.risk(), xs).shape == (50, 1)


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "neuron_mse", "neuron_bce", "himmelblau"])
def test_hessian_eigenvalues_match_the_objectives_hessian(name):
    f = getattr(gd.objectives, name)()
    P = np.random.default_rng(2).uniform(-2, 2, size=(8, 2))
    expected = np.array([np.linalg.eigvalsh(f.hessian(p)) for p in P])
    assert np.allclose(cv.hessian_eigenvalues(f, P), expected, rtol=1e-9, atol=1e-9)


def test_chord_gaps_match_the_formula_and_tell_convex_from_nonconvex():
    rng = np.random.default_rng(1)
    a, b, th = rng.uniform(-2, 2, size=(500, 2)), rng.uniform(-2, 2, size=(500, 2)), rng.uniform(size=500)
    f = gd.objectives.bowl(3)
    gaps = cv.chord_gaps(f, a, b, th)
    # For a quadratic form the gap is exactly −θ(1−θ)·(a−b)ᵀA(a−b) with A = diag(3, 1).
    d = a - b
    assert np.allclose(gaps, -th * (1 - th) * (3 * d[:, 0] ** 2 + d[:, 1] ** 2))
    assert cv.chord_gaps(gd.objectives.saddle(), a, b, th).max() > 0


def test_pl_example_satisfies_pl_and_is_not_convex():
    f = cv.pl_example()
    xs = np.linspace(-20, 20, 40001)
    xs = xs[xs != 0]
    ratio = 0.5 * np.asarray(f.grad(xs)) ** 2 / f(xs)
    assert ratio.min() >= 1 / 32
    lam = cv.hessian_eigenvalues(f, np.linspace(-np.pi, np.pi, 401))   # holds 0 and ±π/2
    assert lam.min() == pytest.approx(-4) and lam.max() == pytest.approx(8)


def test_lessard_example_is_smooth_strongly_convex_and_traps_the_heavy_ball():
    f = cv.lessard_example()
    xs = np.linspace(-3, 4, 701)
    lam = cv.hessian_eigenvalues(f, xs)
    assert lam.min() == pytest.approx(1.0) and lam.max() == pytest.approx(25.0)
    g = np.asarray(f.grad(np.array([1 - 1e-9, 1 + 1e-9, 2 - 1e-9, 2 + 1e-9])))
    assert abs(g[0] - g[1]) < 1e-6 and abs(g[2] - g[3]) < 1e-6          # the gradient is continuous
    hb = gd.run_rule(f, gd.optim.rules.sgd, lr=1 / 9, momentum=4 / 9, start=3.3, steps=600)
    assert np.allclose(hb.path[-3:], hb.path[-6:-3]) and hb.losses[-1] > 1   # a 3-cycle, far from 0
    agd = cv.nesterov_agd(f, lr=1 / 25, mu=1.0, start=3.3, steps=300).trajectory
    assert agd.losses[-1] < 1e-12


# ---------------------------------------------------------------------------
# Backtracking
# ---------------------------------------------------------------------------


def test_backtracking_first_step_by_hand():
    # f = x², g = 2x at x = 3: η = 1 gives f(−3) = 9 > 9 − 0.5·1·36; η = 0.5 lands on 0, 0 <= 9 − 9.
    r = cv.backtracking_gd(gd.objectives.square(), start=3.0, steps=1, lr0=1.0, shrink=0.5, c=0.5)
    assert r.lrs.tolist() == [0.5]
    assert r.trajectory.path[:, 0].tolist() == [3.0, 0.0]
    assert r.f_evals == 3  # f(x₀), then two trials


@pytest.mark.parametrize("name", ["rosenbrock", "neuron_mse", "himmelblau", "beale"])
def test_backtracking_decreases_monotonically_and_satisfies_armijo(name):
    f = getattr(gd.objectives, name)()
    r = cv.backtracking_gd(f, steps=200, lr0=1.0, c=0.3)
    t = r.trajectory
    assert t.steps > 0
    assert np.all(np.diff(t.losses) < 0)
    g = np.asarray(f.grad(t.path[:-1]))
    assert np.all(t.losses[1:] <= t.losses[:-1] - 0.3 * r.lrs * (g * g).sum(axis=1) + 1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_backtracking_step_is_at_least_min_lr0_rho_over_L_and_convex_bound_holds(seed):
    f, mu, L, xstar, x0 = random_quadratic(seed)
    r = cv.backtracking_gd(f, start=x0, steps=300, lr0=1.0, shrink=0.5, c=0.5)
    eta_min = min(1.0, 0.5 / L)
    assert r.lrs.min() >= eta_min
    T = np.arange(1, r.trajectory.steps + 1)
    dist0 = np.linalg.norm(x0 - xstar)
    assert np.all(r.trajectory.losses[1:] <= cv.bound_gd_convex(T, 1 / eta_min, dist0) * (1 + 1e-9))


def test_backtracking_rejects_bad_arguments():
    with pytest.raises(ValueError):
        cv.backtracking_gd(gd.objectives.square(), shrink=1.0)
    with pytest.raises(ValueError):
        cv.backtracking_gd(gd.objectives.square(), c=0.0)


# ---------------------------------------------------------------------------
# Nesterov
# ---------------------------------------------------------------------------


def test_nesterov_schedule_and_steps_equal_a_plain_loop():
    f = gd.objectives.rosenbrock()
    lr, steps = 1e-3, 50
    r = cv.nesterov_agd(f, lr=lr, steps=steps)
    x = y = np.array(f.start, dtype=float)
    t = 1.0
    for k in range(steps):
        x_new = y - lr * f.grad(y)
        t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
        assert r.momentum[k] == (t - 1) / t_new
        assert np.array_equal(r.lookahead[k], y)
        y = x_new + (t - 1) / t_new * (x_new - x)
        x, t = x_new, t_new
        assert np.array_equal(r.trajectory.path[k + 1], x)
    assert r.momentum[0] == 0 and 0.9 < r.momentum[-1] < 1
    assert np.all(np.diff(r.momentum) > 0)


def test_constant_momentum_nesterov_takes_torch_steps():
    f = gd.objectives.bowl(10)
    mu, L = 2.0, 20.0
    r = cv.nesterov_agd(f, lr=1 / L, steps=40, mu=mu)
    beta = (math.sqrt(L) - math.sqrt(mu)) / (math.sqrt(L) + math.sqrt(mu))
    assert np.allclose(r.momentum, beta)
    ref = gd.trajectory(f, torch.optim.SGD, lr=1 / L, momentum=beta, nesterov=True, steps=40)
    assert np.abs(r.lookahead - ref.path[:-1]).max() < 1e-9


# ---------------------------------------------------------------------------
# The bounds hold on runs
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_gd_bounds_hold_on_random_quadratics(seed):
    f, mu, L, xstar, x0 = random_quadratic(seed)
    T = np.arange(1, 301)
    gap0, dist0 = float(f(x0)), np.linalg.norm(x0 - xstar)
    for c in (0.3, 1.0):
        run = gd.run_rule(f, gd.optim.rules.sgd, lr=c / L, start=x0, steps=300)
        assert np.all(run.losses[1:] <= cv.bound_gd_convex(T, L, dist0, lr=c / L) * (1 + 1e-9))
    for c in (0.3, 1.0, 1.7):
        run = gd.run_rule(f, gd.optim.rules.sgd, lr=c / L, start=x0, steps=300)
        assert np.all(run.losses[1:] <= cv.bound_gd_linear(T, mu, L, gap0, lr=c / L) * (1 + 1e-9))
        g2 = (np.asarray(f.grad(run.path[:-1])) ** 2).sum(axis=1)
        assert np.all(np.minimum.accumulate(g2) <= cv.bound_gd_nonconvex(T, L, gap0, lr=c / L) * (1 + 1e-9))


@pytest.mark.parametrize("seed", range(6))
def test_agd_bounds_hold_on_random_quadratics(seed):
    f, mu, L, xstar, x0 = random_quadratic(seed, kappa=200.0)
    T = np.arange(1, 301)
    gap0, dist0 = float(f(x0)), np.linalg.norm(x0 - xstar)
    conv = cv.nesterov_agd(f, lr=1 / L, start=x0, steps=300).trajectory
    assert np.all(conv.losses[1:] <= cv.bound_agd_convex(T, L, dist0) * (1 + 1e-9))
    strong = cv.nesterov_agd(f, lr=1 / L, start=x0, steps=300, mu=mu).trajectory
    assert np.all(strong.losses[1:] <= cv.bound_agd_linear(T, mu, L, gap0, dist0) * (1 + 1e-9))
    gd_run = gd.run_rule(f, gd.optim.rules.sgd, lr=1 / L, start=x0, steps=300)
    assert strong.losses[-1] < gd_run.losses[-1]  # acceleration: κ = 200, 300 steps


def test_bounds_at_eta_one_over_L_are_the_textbook_forms():
    L, gap0, dist0 = 8.0, 3.0, 2.0
    assert cv.bound_gd_nonconvex(5, L, gap0) == pytest.approx(2 * L * gap0 / 5)
    assert cv.bound_gd_convex(5, L, dist0) == pytest.approx(L * dist0**2 / 10)
    assert cv.bound_gd_linear(5, 2.0, L, gap0) == pytest.approx((1 - 2.0 / L) ** 5 * gap0)
    assert cv.bound_gd_convex(0, L, dist0) == math.inf
    with pytest.raises(ValueError):
        cv.bound_gd_convex(5, L, dist0, lr=1.5 / L)
    with pytest.raises(ValueError):
        cv.bound_gd_linear(5, 1.0, L, gap0, lr=2 / L)
