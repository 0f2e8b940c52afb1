"""gdbook.convergence: the methods take the steps their formulas say, and the bounds hold on runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import convergence as cv
from gdbook._array import xp


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


# ---------------------------------------------------------------------------
# Records, defaults, boundaries and messages
# ---------------------------------------------------------------------------


def test_the_two_examples_record_what_their_docstrings_say():
    pl, les = cv.pl_example(), cv.lessard_example()
    assert (pl.name, pl.latex, les.name, les.latex) == (
        "x² + 3 sin² x", r"x^2 + 3\sin^2 x", "Lessard et al.", r"\text{piecewise quadratic}")
    for f, start, window in ((pl, 3.0, (-4.0, 4.0)), (les, 3.3, (-3.0, 4.0))):
        assert f.minimizers == ((0.0,),) and f.f_min == 0.0 == float(f(0.0))
        assert f.start == start and f.window == window
    # Lessard's pieces: ½x² + 24x − 12 on [1, 2), 25/2 x² − 24x + 36 from 2 on; f is continuous
    x = np.array([1.0, 1.5, 2.0, 3.0])
    assert np.asarray(les(x)).tolist() == [12.5, 0.5 * 2.25 + 36 - 12, 50 - 48 + 36, 112.5 - 72 + 36]
    assert np.allclose(np.asarray(les(np.array([1 - 1e-12, 2 - 1e-12]))), [12.5, 38.0])
    # f'' = 1 on [1, 2): at x = 1 itself; 25 from x = 2 on
    assert cv.hessian_eigenvalues(les, [1.0, 2.0])[:, 0].tolist() == [1.0, 25.0]


def test_hessian_eigenvalues_of_a_function_linear_in_a_coordinate():
    """A gradient coordinate that does not depend on the point, and a constant gradient, give
    zero rows: x² + y has Hessian diag(2, 0), a linear function the zero matrix."""
    half = gd.objectives.Objective("x² + y", "x^2 + y", lambda x, y: x**2 + y, 2,
                                   grad_fn=lambda x, y: (2 * x, torch.ones_like(x) if torch.is_tensor(x) else 1.0 + 0 * x))
    assert cv.hessian_eigenvalues(half, [[1.0, 2.0], [3.0, -1.0]]).tolist() == [[0.0, 2.0], [0.0, 2.0]]
    line = gd.objectives.Objective("x + 2y", "x + 2y", lambda x, y: x + 2 * y, 2,
                                   grad_fn=lambda x, y: (xp(x).ones_like(x), 2 * xp(y).ones_like(y)))
    assert cv.hessian_eigenvalues(line, [[1.0, 2.0]]).tolist() == [[0.0, 0.0]]


def test_sample_points_may_be_integers():
    f = gd.objectives.saddle()
    assert cv.hessian_eigenvalues(f, [[0, 0], [1, 2]]).tolist() == [[-2.0, 2.0], [-2.0, 2.0]]
    assert cv.chord_gaps(gd.objectives.square(), [0, -1], [2, 1], 0).tolist() == [0.0, 0.0]
    assert cv.chord_gaps(gd.objectives.square(), [0, -1], [2, 1], 1).tolist() == [0.0, 0.0]


def test_backtracking_defaults_record_and_messages():
    f = gd.objectives.bowl(10)
    r = cv.backtracking_gd(f)
    same = cv.backtracking_gd(f, steps=20, start=f.start, lr0=1.0, shrink=0.5, c=0.5)
    assert np.array_equal(r.trajectory.path, same.trajectory.path) and r.lrs.tolist() == same.lrs.tolist()
    assert r.trajectory.steps == 20 and r.trajectory.grad_evals == len(r.lrs) == 20
    assert r.trajectory.label == "GD + backtracking"
    assert cv.backtracking_gd(f, steps=1, label="mine").trajectory.label == "mine"
    # with c = 0.5 on 10x² + y² from (1, 1): η = 1/32 is the first accepted (see the docstring)
    assert r.lrs[0] == 0.03125
    # the first trial is lr0 = 1: on x²/4 from 2 it passes Armijo (f(1) = 1/4 ≤ 1 − ½·1·1) and is taken
    quarter = gd.quadratic.objective([[0.5]])
    assert cv.backtracking_gd(quarter, start=2.0, steps=1).lrs.tolist() == [1.0]
    none = cv.backtracking_gd(f, steps=0, start=(1.0, 1.0))
    assert none.trajectory.path.tolist() == [[1.0, 1.0]] and none.lrs.size == 0 and none.f_evals == 1
    for kwargs, message in [
        (dict(steps=-1), r"^steps must be an integer in \[0, 10000000\], got -1$"),
        (dict(steps=10**7 + 1), r"^steps must be an integer in \[0, 10000000\], got 10000001$"),
        (dict(lr0=0.0), r"^lr0 must be in \(0\.0, inf\], got 0\.0$"),
        (dict(shrink=0.0), r"^shrink must be in \(0\.0, 1\.0\), got 0\.0$"),
        (dict(shrink=1.0), r"^shrink must be in \(0\.0, 1\.0\), got 1\.0$"),
        (dict(c=0.0), r"^c must be in \(0\.0, 1\.0\), got 0\.0$"),
        (dict(c=1.0), r"^c must be in \(0\.0, 1\.0\), got 1\.0$"),
    ]:
        with pytest.raises(ValueError, match=message):
            cv.backtracking_gd(f, **kwargs)


def test_backtracking_stops_the_run_after_200_halvings():
    """A gradient that points uphill: no trial step decreases f, so after 200 halvings the run
    stops where it is (the start's value and 200 trials)."""
    wrong = gd.objectives.Objective("x²", "x^2", lambda x: x**2, 1, grad_fn=lambda x: (-2 * x,))
    r = cv.backtracking_gd(wrong, start=1.0, steps=5, shrink=0.9)  # the last trial, 0.9¹⁹⁹, still moves x
    assert r.lrs.size == 0 and r.f_evals == 201 and r.trajectory.path.tolist() == [[1.0]]


def test_nesterov_defaults_record_and_messages():
    f = gd.objectives.square()
    r = cv.nesterov_agd(f, lr=0.1)
    same = cv.nesterov_agd(f, lr=0.1, steps=20, start=f.start, mu=0.0)
    assert np.array_equal(r.trajectory.path, same.trajectory.path) and r.trajectory.steps == 20
    assert r.trajectory.label == "Nesterov" and r.trajectory.grad_evals == 20
    assert cv.nesterov_agd(f, lr=0.1, steps=1, label="mine").trajectory.label == "mine"
    started = cv.nesterov_agd(f, lr=0.1, steps=2, start=-2.0)
    assert started.trajectory.path[0].tolist() == [-2.0] and started.lookahead.shape == (2, 1)
    none = cv.nesterov_agd(f, lr=0.1, steps=0, start=1.0)
    assert none.trajectory.path.tolist() == [[1.0]] and none.lookahead.shape == (0, 1)
    for kwargs, message in [
        (dict(steps=-1), r"^steps must be an integer in \[0, 10000000\], got -1$"),
        (dict(steps=10**7 + 1), r"^steps must be an integer in \[0, 10000000\], got 10000001$"),
        (dict(lr=0.0), r"^lr must be in \(0\.0, inf\], got 0\.0$"),
        (dict(mu=-1.0), r"^mu must be in \[0\.0, inf\], got -1\.0$"),
    ]:
        with pytest.raises(ValueError, match=message):
            cv.nesterov_agd(f, **({"lr": 0.1} | kwargs))


def test_bounds_formulas_scalars_arrays_and_ranges():
    import warnings

    L, mu, gap0, dist0 = 8.0, 2.0, 3.0, 3.0
    assert cv.bound_agd_convex(3, L, dist0) == 2 * L * dist0**2 / 16
    assert cv.bound_agd_linear(3, mu, L, gap0, dist0) == pytest.approx(0.5**3 * (gap0 + mu / 2 * dist0**2))
    assert cv.bound_gd_nonconvex(4, L, gap0, lr=0.5 / L) == pytest.approx(gap0 / (0.5 / L * 0.75 * 4))
    assert cv.bound_gd_convex(4, L, dist0, lr=0.5 / L) == pytest.approx(dist0**2 / (2 * 0.5 / L * 4))
    assert cv.bound_gd_linear(4, mu, L, gap0, lr=0.5 / L) == pytest.approx((1 - mu * 0.5 / L * 1.5) ** 4 * gap0)
    T = np.array([0, 1, 2])
    calls = [lambda T: cv.bound_gd_nonconvex(T, L, gap0), lambda T: cv.bound_gd_convex(T, L, dist0),
             lambda T: cv.bound_gd_linear(T, mu, L, gap0), lambda T: cv.bound_agd_convex(T, L, dist0),
             lambda T: cv.bound_agd_linear(T, mu, L, gap0, dist0)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # T = 0 gives inf where the bound divides by T, silently
        for bound in calls:
            scalar, array = bound(2), bound(T)
            assert type(scalar) is float and isinstance(array, np.ndarray) and array[2] == scalar
            assert type(bound(0)) is float
            with pytest.raises(ValueError, match="^T must be >= 0$"):
                bound(-1)
        assert cv.bound_gd_nonconvex(0, L, gap0) == math.inf
    # an integer T far beyond int64's square: (T + 1)² in floating point
    assert cv.bound_agd_convex(np.array([10**10]), L, dist0)[0] == pytest.approx(2 * L * dist0**2 / (1e10 + 1) ** 2, rel=1e-12, abs=0)
    for bound, bad, message in [
        (lambda lr: cv.bound_gd_nonconvex(1, L, gap0, lr=lr), (0.0, 2 / L, 1.0), "^the bound needs 0 < lr < 2/L$"),
        (lambda lr: cv.bound_gd_convex(1, L, dist0, lr=lr), (0.0, 1.5 / L), "^the bound needs 0 < lr <= 1/L$"),
        (lambda lr: cv.bound_gd_linear(1, mu, L, gap0, lr=lr), (0.0, 2 / L, 1.0), "^the bound needs 0 < lr < 2/L$"),
    ]:
        for lr in bad:
            with pytest.raises(ValueError, match=message):
                bound(lr)
