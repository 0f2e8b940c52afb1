"""Tests for gdbook.quadratic: closed forms against simulated gradient descent."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gdbook as gd
from gdbook import quadratic as q


def rotated(lams, angle):
    """A symmetric positive definite 2x2 matrix with eigenvalues ``lams``, rotated by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag(lams) @ R.T


def random_spd(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d))
    return A @ A.T + 0.1 * np.eye(d)


def test_spectrum_of_a_bowl_matches_its_formula():
    for c in (0.5, 1.0, 10.0, 20.0):
        s = q.spectrum(gd.objectives.bowl(c).hessian([0.0, 0.0]))
        assert s.lam_max == max(2 * c, 2.0) and s.lam_min == min(2 * c, 2.0)
        assert s.kappa == pytest.approx(max(c, 1 / c), rel=1e-15)
        assert s.max_stable_lr == pytest.approx(1 / max(c, 1.0), rel=1e-15)


def test_spectrum_is_invariant_under_rotation():
    a = q.spectrum(np.diag([1.0, 50.0]))
    b = q.spectrum(rotated([1.0, 50.0], 0.7))
    np.testing.assert_allclose(b.eigenvalues, a.eigenvalues, rtol=1e-13)
    assert b.kappa == pytest.approx(50.0, rel=1e-13)
    Q = b.eigenvectors
    np.testing.assert_allclose(Q.T @ Q, np.eye(2), atol=1e-14)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_closed_form_path_equals_simulated_gd(seed):
    """gd_iterates must reproduce gd.trajectory (torch SGD) step by step, for a non-diagonal H."""
    H = random_spd(2, seed)
    xstar = np.array([0.3, -1.2])
    lr = 0.9 * q.spectrum(H).max_stable_lr
    run = gd.trajectory(q.objective(H, xstar), gd.optim.SGD, lr=lr, start=(2.0, 1.5), steps=40)
    exact = q.gd_iterates(H, lr, (2.0, 1.5), 40, xstar)
    # 40 float64 steps with factors below 1 in size: errors stay near machine precision.
    np.testing.assert_allclose(exact, run.path, rtol=0, atol=1e-12)
    np.testing.assert_allclose(q.loss_gap(H, exact, xstar), run.losses, rtol=1e-10, atol=1e-13)


def test_closed_form_in_higher_dimension_equals_loop():
    H = random_spd(5, 3)
    lr = q.spectrum(H).optimal_lr
    x = np.arange(5.0)
    path = [x]
    for _ in range(30):
        x = x - lr * H @ x
        path.append(x)
    np.testing.assert_allclose(q.gd_iterates(H, lr, np.arange(5.0), 30), np.array(path), atol=1e-12)


def test_contraction_factors_are_per_coordinate_for_a_diagonal_hessian():
    lr = 0.02
    f = q.contraction_factors(np.diag([40.0, 2.0]), lr)
    np.testing.assert_allclose(f, [1 - 2 * lr, 1 - 40 * lr], rtol=1e-15)
    path = q.gd_iterates(np.diag([40.0, 2.0]), lr, (-60.0, 70.0), 1)
    np.testing.assert_allclose(path[1], [-60.0 * (1 - 40 * lr), 70.0 * (1 - 2 * lr)], rtol=1e-14)


def test_stability_threshold_separates_convergence_from_divergence():
    H = rotated([2.0, 40.0], 0.3)
    thr = q.spectrum(H).max_stable_lr
    assert thr == pytest.approx(0.05, rel=1e-13)
    below = q.gd_iterates(H, 0.98 * thr, (1.0, 1.0), 2000)
    above = q.gd_iterates(H, 1.02 * thr, (1.0, 1.0), 2000)
    assert np.linalg.norm(below[-1]) < 1e-10
    assert not np.all(np.isfinite(above[-1])) or np.linalg.norm(above[-1]) > 1e10


def test_optimal_lr_minimises_the_rate_and_gives_kappa_formula():
    H = random_spd(3, 5)
    s = q.spectrum(H)
    assert q.rate(H, s.optimal_lr) == pytest.approx(s.optimal_rate, rel=1e-12)
    grid = np.linspace(1e-4, s.max_stable_lr, 2001)
    rates = np.array([q.rate(H, lr) for lr in grid])
    assert rates.min() >= s.optimal_rate - 1e-12
    # At the optimum the extreme factors are equal and opposite, so every start
    # contracts by exactly that rate: ||e_t|| = rho^t ||e_0||.
    path = q.gd_iterates(H, s.optimal_lr, (1.0, -2.0, 0.5), 25)
    ratios = np.linalg.norm(path, axis=1) / np.linalg.norm(path[0])
    # the middle eigenvalue's factor is smaller, so the norm ratio is at most rho^t
    assert np.all(ratios <= s.optimal_rate ** np.arange(26) * (1 + 1e-12))


def test_optimal_rate_is_exact_for_two_dimensions():
    H = rotated([1.0, 20.0], 1.1)
    s = q.spectrum(H)
    path = q.gd_iterates(H, s.optimal_lr, (-60.0, 70.0), 30)
    ratios = np.linalg.norm(path, axis=1) / np.linalg.norm(path[0])
    np.testing.assert_allclose(ratios, s.optimal_rate ** np.arange(31), rtol=1e-12)


@pytest.mark.parametrize("lr", [0.005, 0.03, 0.049, 0.05])
def test_steps_to_tolerance_matches_brute_force(lr):
    H = np.diag([40.0, 2.0])
    start, tol = (-60.0, 70.0), 1e-3
    got = q.steps_to_tolerance(H, lr, start, tol)
    gaps = q.loss_gap(H, q.gd_iterates(H, lr, start, 5000))
    hit = np.nonzero(gaps <= tol)[0]
    if lr == 0.05:  # factor -1 along x: the x-part of the loss never decays
        assert got is None and hit.size == 0
    else:
        assert got == int(hit[0])


def test_steps_to_tolerance_edge_cases():
    H = np.diag([4.0, 1.0])
    assert q.steps_to_tolerance(H, 0.1, (0.0, 0.0), 1e-9) == 0
    assert q.steps_to_tolerance(H, 0.51, (1.0, 1.0), 1e-9) is None  # 0.51 > 2/4
    # the unstable direction does not matter when the start has no component along it
    assert q.steps_to_tolerance(H, 0.51, (0.0, 1.0), 1e-9) is not None
    assert q.steps_to_tolerance(H, 1e-9, (1.0, 1.0), 1e-9, max_steps=100) is None
    # a count in the millions, found without taking the steps
    n = q.steps_to_tolerance(np.diag([1e6, 1.0]), 2 / (1e6 + 1), (1.0, 1.0), 1e-12)
    rho = (1e6 - 1) / (1e6 + 1)
    expected = math.ceil(math.log(2e-12 / (1e6 + 1.0)) / (2 * math.log(rho)))
    assert expected > 10**7 and abs(n - expected) <= 1  # rounding of 1 - lr*lambda may move the ceiling by one


def test_objective_gradient_and_hessian():
    H = rotated([1.0, 9.0], 0.4)
    f = q.objective(H, xstar=(1.0, -1.0))
    x = np.array([0.3, 0.8])
    np.testing.assert_allclose(f.grad(x), H @ (x - [1.0, -1.0]), atol=1e-14)
    np.testing.assert_allclose(f.hessian(x), H, atol=1e-15)
    assert float(f.value([1.0, -1.0])) == 0.0
    h = 1e-6
    num = [(f.value(x + h * e) - f.value(x - h * e)) / (2 * h) for e in np.eye(2)]
    np.testing.assert_allclose(num, f.grad(x), rtol=1e-8)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="symmetric"):
        q.spectrum([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        q.spectrum([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="square"):
        q.spectrum(np.ones((2, 3)))
    with pytest.raises(ValueError, match="lr"):
        q.rate(np.eye(2), 0.0)
    with pytest.raises(ValueError, match="x0"):
        q.gd_iterates(np.eye(2), 0.1, (1.0, 2.0, 3.0), 5)
    with pytest.raises(ValueError, match="tol"):
        q.steps_to_tolerance(np.eye(2), 0.1, (1.0, 1.0), 0.0)
    with pytest.raises(TypeError, match="steps"):
        q.gd_iterates(np.eye(2), 0.1, (1.0, 1.0), 2.5)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: q.spectrum("x"), TypeError, "H must be a square matrix of real numbers, got str"),
    (lambda: q.spectrum(np.ones((2, 3))), ValueError, "H must be a square (d, d) matrix, got shape (2, 3)"),
    (lambda: q.spectrum([[1.0, math.nan], [0.0, 1.0]]), ValueError, "H must have finite entries"),
    (lambda: q.spectrum([[1.0, 1.0], [0.0, 1.0]]), ValueError, "H must be symmetric, got H != H.T"),
    (lambda: q.spectrum(np.diag([1.0, -1.0])), ValueError,
     "H must be positive definite, got smallest eigenvalue -1"),
    (lambda: q.contraction_factors(np.eye(2), 0.0), ValueError, "lr must be in (0.0, inf], got 0.0"),
    (lambda: q.gd_iterates(np.eye(2), 0.1, [1.0], 3), ValueError, "x0 must have 2 coordinate(s), got 1"),
    (lambda: q.gd_iterates(np.eye(2), 0.1, [1.0, 1.0], -1), ValueError,
     "steps must be an integer in [0, inf], got -1"),
    (lambda: q.loss_gap(np.eye(2), np.ones(3)), ValueError, "x must have last axis of size 2, got shape (3,)"),
    (lambda: q.steps_to_tolerance(np.eye(2), 0.1, [1.0, 1.0], tol=0.0), ValueError,
     "tol must be in (0.0, inf], got 0.0"),
    (lambda: q.steps_to_tolerance(np.eye(2), 0.1, [1.0, 1.0], 1.0, max_steps=-1), ValueError,
     "max_steps must be an integer in [0, inf], got -1"),
])
def test_bad_arguments_name_argument_and_range(call, exc, message):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value) == message


def test_quadratic_in_one_and_three_dimensions():
    # 1-D: f = λx²/2, GD multiplies x by 1 - ηλ
    it = q.gd_iterates([[4.0]], 0.125, [2.0], 3)
    np.testing.assert_allclose(it.reshape(-1), [2.0, 1.0, 0.5, 0.25], rtol=1e-15)
    # 3-D diagonal: each coordinate contracts by its own factor; the rate is the largest
    H = np.diag([1.0, 2.0, 4.0])
    np.testing.assert_allclose(q.contraction_factors(H, 0.25), [0.75, 0.5, 0.0], atol=1e-15)
    assert q.rate(H, 0.25) == pytest.approx(0.75, rel=1e-15)
    it = q.gd_iterates(H, 0.25, [1.0, 1.0, 1.0], 2)
    np.testing.assert_allclose(it[-1], [0.5625, 0.25, 0.0], atol=1e-15)
    assert q.loss_gap(H, [1.0, 1.0, 1.0]) == pytest.approx(3.5, rel=1e-15)


def test_shifted_minimizer_everywhere():
    # f = ½(x − x*)ᵀH(x − x*) with x* = (1, -2): the same as the centred one, moved
    H, xs = np.diag([2.0, 4.0]), np.array([1.0, -2.0])
    it = q.gd_iterates(H, 0.125, xs + [1.0, 1.0], 2, xstar=xs)
    np.testing.assert_allclose(it - xs, q.gd_iterates(H, 0.125, [1.0, 1.0], 2), atol=1e-15)
    assert q.loss_gap(H, xs + [1.0, 1.0], xstar=xs) == pytest.approx(3.0, rel=1e-15)
    assert q.loss_gap(H, [[1.0, 1.0], [0.0, 0.0]]).tolist() == pytest.approx([3.0, 0.0], rel=1e-15)  # a batch
    assert q.steps_to_tolerance(H, 0.125, xs + [1.0, 1.0], 1e-3, xstar=xs) == \
        q.steps_to_tolerance(H, 0.125, [1.0, 1.0], 1e-3)
    assert q.steps_to_tolerance(H, 0.125, xs, 1e-3, xstar=xs) == 0  # starting at the minimizer


def test_objective_defaults_in_one_two_and_three_dimensions():
    f = q.objective([[2.0, 0.0], [0.0, 4.0]], xstar=(1.0, -2.0))
    assert f.window == ((0.0, 2.0), (-3.0, -1.0)) and f.start == (2.0, -1.0) and f.minimizers == ((1.0, -2.0),)
    assert f.f_min == 0.0 and f.name == "½(x − x*)ᵀH(x − x*), H = [[2.0, 0.0], [0.0, 4.0]]"
    assert float(f.value([2.0, -1.0])) == 3.0 and f.grad([2.0, -1.0]).tolist() == [2.0, 4.0]
    assert q.objective(np.eye(2), name="bowl").name == "bowl"
    assert q.objective(np.eye(2), window=((-5, 5), (-5, 5))).window == ((-5, 5), (-5, 5))
    one = q.objective([[3.0]])  # 1-D: a scalar start and no default window
    assert one.dim == 1 and one.start == 1.0 and one.window == () and float(one.value(2.0)) == 6.0
    three = q.objective(np.diag([1.0, 2.0, 3.0]))
    assert three.start == (1.0, 1.0, 1.0) and three.window == () and three.hessian([0.0, 0.0, 0.0]).tolist() == \
        np.diag([1.0, 2.0, 3.0]).tolist()
    assert q.spectrum(2.0).eigenvalues.tolist() == [2.0]  # a number is a 1-by-1 Hessian


@pytest.mark.parametrize("call,message", [
    (lambda: q.gd_iterates(np.eye(2), 0.0, [1.0, 1.0], 3), "lr must be in (0.0, inf], got 0.0"),
    (lambda: q.gd_iterates(np.eye(2), 0.1, [1.0, 1.0], 3, xstar=[0.0]), "xstar must have 2 coordinate(s), got 1"),
    (lambda: q.loss_gap(np.eye(2), [1.0, 1.0], xstar=[0.0, 0.0, 0.0]), "xstar must have 2 coordinate(s), got 3"),
    (lambda: q.steps_to_tolerance(np.eye(2), 0.0, [1.0, 1.0], 1.0), "lr must be in (0.0, inf], got 0.0"),
    (lambda: q.steps_to_tolerance(np.eye(2), 0.1, [1.0], 1.0), "x0 must have 2 coordinate(s), got 1"),
    (lambda: q.steps_to_tolerance(np.eye(2), 0.1, [1.0, 1.0], 1.0, xstar=[1.0]),
     "xstar must have 2 coordinate(s), got 1"),
    (lambda: q.objective(np.eye(2), xstar=[1.0, 2.0, 3.0]), "xstar must have 2 coordinate(s), got 3"),
    (lambda: q.spectrum(np.diag([0.0, 1.0])), "H must be positive definite, got smallest eigenvalue 0"),
])
def test_every_function_names_the_bad_argument(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_symmetry_tolerance_is_relative_to_the_largest_entry():
    # an asymmetry of exactly 1e-12 of the largest entry is accepted, as documented
    assert q.spectrum([[1.0, 1e-12], [0.0, 1.0]]).eigenvalues.size == 2
    # large entries: a rounding-size asymmetry is accepted ...
    big = np.array([[2e6, 1e6], [1e6 + 1e-8, 2e6]])
    assert q.spectrum(big).lam_min == pytest.approx(1e6, rel=1e-12)
    # ... and small ones are held to the same relative standard
    with pytest.raises(ValueError, match="symmetric"):
        q.spectrum([[1e-6, 1e-14], [0.0, 1e-6]])


def test_a_start_of_any_shape_with_d_numbers():
    H = np.diag([2.0, 4.0])
    col = q.gd_iterates(H, 0.125, np.array([[1.0], [1.0]]), 2)
    np.testing.assert_array_equal(col, q.gd_iterates(H, 0.125, [1.0, 1.0], 2))


def test_divergent_path_overflows_quietly_and_only_where_it_diverges():
    # factors -3 along x and 0 along y: x reaches inf, y is 0 from the first step on
    with np.errstate(all="raise"):  # no floating-point warning escapes, even where the caller raises them
        path = q.gd_iterates(np.diag([4.0, 1.0]), 1.0, (1.0, 1.0), 800)
    assert path[-1, 0] == math.inf and np.all(path[1:, 1] == 0.0)
    assert path[3].tolist() == [-27.0, 0.0]
    # two divergent directions meeting with opposite signs: inf - inf is nan, still quietly
    with np.errstate(all="raise"):
        path = q.gd_iterates([[4.5, 0.5], [0.5, 4.5]], 1.0, (1.0, 0.3), 800)
    assert not np.all(np.isfinite(path[-1]))


def test_steps_to_tolerance_counts_exactly_at_every_boundary():
    # 1-D, f = x², η = 1/4: the excess loss is 4·(1/4)^t at x0 = 2, exact in binary
    H, lr, x0 = [[2.0]], 0.25, [2.0]
    for k in range(7):
        n = q.steps_to_tolerance(H, lr, x0, tol=4.0 * 0.25**k)
        assert n == k and type(n) is int  # tol is reached (≤) at step k exactly, not one later
    assert type(q.steps_to_tolerance(H, lr, x0, tol=1e-9)) is int
    # one step can be enough: η = 1/λ lands on the minimizer
    assert q.steps_to_tolerance([[4.0]], 0.25, [1.0], 1e-12) == 1
    # a small start below 1 in loss still needs its steps (0.005 > tol)
    small = q.steps_to_tolerance([[1.0]], 0.5, [0.1], 1e-4)
    gaps = q.loss_gap([[1.0]], q.gd_iterates([[1.0]], 0.5, [0.1], 20))
    assert small == int(np.nonzero(gaps <= 1e-4)[0][0]) > 0


def test_steps_to_tolerance_with_a_direction_that_does_not_decay():
    H = np.diag([4.0, 1.0])
    # diverging along x from a tiny component: the loss dips below tol on the way, still None
    gaps = q.loss_gap(H, q.gd_iterates(H, 0.51, (1e-3, 1.0), 200))
    assert gaps.min() <= 1e-3 and q.steps_to_tolerance(H, 0.51, (1e-3, 1.0), 1e-3) is None
    # a bounce (factor -1 along x) whose part of the loss is below tol does not stop the count
    n = q.steps_to_tolerance(H, 0.5, (0.01, 1.0), 1e-3)
    gaps = q.loss_gap(H, q.gd_iterates(H, 0.5, (0.01, 1.0), 50))
    assert n == int(np.nonzero(gaps <= 1e-3)[0][0])
    # a bounce holding exactly tol: the loss stays above tol for ever
    assert q.steps_to_tolerance(H, 0.5, (0.5, 1.0), 0.5) is None


def test_objective_is_analytic_and_keeps_its_parameters():
    H = rotated([1.0, 9.0], 0.4)
    f = q.objective(H, xstar=(1.0, -1.0))
    assert f.grad_fn is not None and f.hess_fn is not None  # analytic, as documented
    assert f.latex == r"\tfrac12(\mathbf x - \mathbf x^*)^\top \mathbf H (\mathbf x - \mathbf x^*)"
    assert sorted(f.meta) == ["H", "xstar"]
    np.testing.assert_array_equal(f.meta["H"], (H + H.T) / 2)
    assert f.meta["xstar"].tolist() == [1.0, -1.0]
    assert q.objective(np.eye(2)).meta["xstar"].tolist() == [0.0, 0.0]
    assert q.objective(np.eye(2), xstar=(1, 2)).meta["xstar"].dtype == np.float64  # integers read as reals


def test_steps_to_tolerance_where_a_fast_direction_underflows():
    # the fast direction's part of the loss underflows long before the slow one reaches tol;
    # no floating-point warning escapes, even where the caller raises them
    H = np.diag([4.0, 1e-3])
    with np.errstate(all="raise"):
        n = q.steps_to_tolerance(H, 0.2, (1.0, 1.0), 1e-6)
    # the slow part alone decides: ½·1e-3·(1 - 2e-4)^(2t) <= 1e-6
    assert n == math.ceil(math.log(1e-6 / 5e-4) / (2 * math.log(1 - 0.2 * 1e-3)))
