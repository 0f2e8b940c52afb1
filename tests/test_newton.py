"""Tests of gdbook.newton: root finding, square/cube roots, minimization with the Hessian."""

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest

import gdbook as gd
from gdbook import newton, objectives
from gdbook.objectives import Objective

EPS = np.finfo(np.float64).eps


def _decimal_root(f, df, x0, digits=50):
    getcontext().prec = digits
    x = Decimal(x0)
    for _ in range(100):
        x = x - f(x) / df(x)
    return x


def test_quadratic_convergence_constant():
    # Newton's own example x³ - 2x - 5; C = f''(r) / (2 f'(r)) = 6r / (2(3r² - 2)).
    f = lambda x: x**3 - 2 * x - 5
    df = lambda x: 3 * x**2 - 2
    r_dec = _decimal_root(f, df, "2")
    r = float(r_dec)
    res = newton.newton_root(f, df, 3.0, root=r)
    assert res.converged and abs(res.root - r) <= 2 * EPS * r
    C = 6 * r / (2 * (3 * r**2 - 2))
    # signed errors, measured against the 50-digit root so tiny errors are exact
    e = np.array([float(Decimal(x) - r_dec) for x in res.iterates])
    k = [i for i in range(len(e) - 1) if 1e-7 < abs(e[i]) < 1e-3]
    assert k, "some iterates must fall in the asymptotic range"
    for i in k:  # e_{k+1}/e_k² = C + O(e_k): relative deviation below 1e-2 for |e_k| < 1e-3
        assert e[i + 1] / e[i] ** 2 == pytest.approx(C, rel=1e-2)
    # the unsigned ratios of the result agree with |C| in the same range
    ratios = res.ratios()
    assert all(ratios[i] == pytest.approx(abs(C), rel=1e-2) for i in k)


@pytest.mark.parametrize("a", [2.0, 3.0, 4.0])
def test_square_and_cube_roots_to_machine_precision(a):
    s, c = newton.sqrt_newton(a), newton.cbrt_newton(a)
    for res, exact, C in ((s, math.sqrt(a), 1 / (2 * math.sqrt(a))), (c, float(np.cbrt(a)), 1 / float(np.cbrt(a)))):
        assert res.converged
        assert abs(res.root - exact) <= EPS * exact  # within one unit in the last place
        assert res.steps <= 8
        # correct digits at least ~double each step once the iterate has one digit
        d = res.digits
        for i in range(len(d) - 1):
            if 1.0 <= d[i] <= 7.0:
                assert d[i + 1] >= 1.8 * d[i]
        # e_{k+1}/e_k² -> C where the errors are well above rounding
        e = res.errors
        near = [i for i in range(len(e) - 1) if 1e-7 < e[i] / exact < 1e-3]
        assert all(e[i + 1] / e[i] ** 2 == pytest.approx(C, rel=2e-2) for i in near)


def test_root_failures_are_recorded_not_raised():
    flat = newton.newton_root(lambda x: x * x + 1, lambda x: 2 * x, 0.0)
    assert flat.status == "zero derivative" and flat.steps == 0
    # Newton on the cube root x^(1/3): x - f/f' = x - 3x = -2x, doubling until it overflows
    div = newton.newton_root(np.cbrt, lambda x: 1 / (3 * np.cbrt(x) ** 2), 1.0, steps=2000)
    assert div.diverged and div.diverged_at == 1024 and np.all(np.isfinite(div.iterates))
    np.testing.assert_allclose(div.iterates[:5], [1.0, -2.0, 4.0, -8.0, 16.0], rtol=1e-12)
    # on arctan from |x0| > 1.3918 every step overshoots further, until f' = 1/(1+x²) underflows
    atan = newton.newton_root(math.atan, lambda x: 1 / (1 + x * x), 2.0, steps=100)
    assert atan.status == "zero derivative" and np.all(np.diff(np.abs(atan.iterates)) > 0)
    capped = newton.newton_root(math.atan, lambda x: 1 / (1 + x * x), 2.0, steps=3)
    assert capped.status == "max steps" and capped.steps == 3
    with pytest.raises(ValueError, match="a must be"):
        newton.sqrt_newton(-1.0)
    with pytest.raises(ValueError, match="x0"):
        newton.cbrt_newton(2.0, x0=0.0)


def test_one_step_on_quadratics():
    run = newton.newton_minimize(objectives.bowl(10), start=(-70.0, 70.0), steps=5)
    assert run.path[1].tolist() == [0.0, 0.0]
    assert run.status == "critical point" and run.steps == 1
    # a non-diagonal quadratic with gradient and Hessian by autograd
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    q = Objective("q", "q", lambda x, y: 0.5 * (3 * x * x + 2 * x * y + 2 * y * y) - (x - y), 2)
    run = newton.newton_minimize(q, start=(5.0, -7.0), steps=3, tol=1e-12)
    np.testing.assert_allclose(run.path[1], np.linalg.solve(A, b), atol=1e-12)
    assert run.status == "critical point" and run.steps == 1
    assert not (run.indefinite or run.singular or run.negative_curvature)


def test_quartic_path_and_trajectory_interface():
    f = objectives.quartic()
    run = newton.newton_minimize(f, start=(20.0, 30.0), steps=20)
    # H⁻¹g = (40x³/120x², 4y³/12y²) = (x/3, y/3): each step multiplies the point by 2/3
    expected = np.array([20.0, 30.0]) * (2 / 3) ** np.arange(21)[:, None]
    np.testing.assert_allclose(run.path, expected, rtol=1e-12)
    assert isinstance(run, gd.Trajectory) and run.label == "Newton" and run.steps == 20
    assert run.grad_evals == 20 and run.hessian_evals == 20 and run.eigenvalues.shape == (20, 2)
    fig = gd.plot.contour(f, [run], lang="en")  # plots treat it like any optimizer's run
    assert len(fig.axes) >= 1


def test_saddle_flagged_indefinite():
    run = newton.newton_minimize(objectives.saddle(), start=(1.0, 1e-3), steps=10)
    assert run.indefinite and run.negative_curvature and not run.singular
    assert run.eigenvalues[0].tolist() == [-2.0, 2.0]
    np.testing.assert_allclose(run.path[1], [0.0, 0.0], atol=1e-15)  # straight to the saddle
    assert run.status == "critical point" and not run.diverged
    # with a line search Newton refuses an uphill direction (gᵀp = 2y² - 2x² > 0 for |y| > |x|)
    ls = newton.newton_minimize(objectives.saddle(), start=(0.5, 1.0), line_search=True)
    assert ls.status == "not a descent direction" and ls.steps == 0 and ls.indefinite


def test_cubic_goes_to_critical_point_that_is_not_a_minimum():
    f = objectives.cubic2d()
    run = newton.newton_minimize(f, start=(40.0, 50.0), steps=60)
    # H⁻¹g = (15x²/30x, 3y²/6y) = (x/2, y/2): each step halves the point
    np.testing.assert_allclose(run.path[-1], np.array([40.0, 50.0]) / 2**60, rtol=1e-12)
    assert np.linalg.norm(run.final) < 1e-15 and run.status == "max steps"
    # the Hessian is positive definite at every visited point (x, y > 0) and shrinks to 0
    assert not run.negative_curvature and np.all(run.eigenvalues > 0)
    assert np.all(np.diff(run.eigenvalues[:, -1]) < 0)
    # ... yet the limit is no minimum: f takes negative values arbitrarily close to it
    assert float(f.value([-1e-6, 0.0])) < 0 < float(f.value(run.final))
    # damping does not change the destination here: the Armijo condition accepts the full step
    ls = newton.newton_minimize(f, start=(40.0, 50.0), steps=60, line_search=True)
    np.testing.assert_allclose(ls.path, run.path, rtol=1e-12)


def test_singular_hessian_stops_cleanly():
    run = newton.newton_minimize(objectives.quartic(), start=(0.0, 1.0), steps=5)
    assert run.singular and run.status == "singular Hessian" and run.steps == 0
    assert run.eigenvalues.tolist() == [[0.0, 12.0]]


def test_damping_and_line_search():
    run = newton.newton_minimize(objectives.bowl(3), start=(4.0, -2.0), steps=10, lr=0.5)
    np.testing.assert_allclose(run.path[-1], np.array([4.0, -2.0]) * 0.5**10, rtol=1e-12)
    # f = sqrt(1 + x²): the pure step -x(1 + x²) overshoots when |x| > 1 and blows up
    hyp = Objective("√(1+x²)", r"\sqrt{1+x^2}", lambda x: (1 + x**2) ** 0.5, 1)
    pure = newton.newton_minimize(hyp, start=1.5, steps=50)
    # |x| grows every step until f'' = (1+x²)^(-3/2) underflows to 0: a singular Hessian, recorded
    assert np.all(np.diff(np.abs(pure.path[:, 0])) > 0) and pure.status == "singular Hessian"
    ls = newton.newton_minimize(hyp, start=1.5, steps=50, line_search=True, tol=1e-12)
    assert ls.status == "critical point" and abs(float(ls.final[0])) < 1e-12 and ls.f_evals > ls.steps
    assert np.all(np.diff(ls.losses) < 0)


def test_bad_arguments():
    f = objectives.bowl(2)
    with pytest.raises(ValueError, match="lr"):
        newton.newton_minimize(f, lr=0.0)
    with pytest.raises(ValueError, match="lr"):
        newton.newton_minimize(f, lr=1.5)
    with pytest.raises(ValueError, match="start"):
        newton.newton_minimize(f, start=(1.0, 2.0, 3.0))


def _hyp():
    return Objective("√(1+x²)", r"\sqrt{1+x^2}", lambda x: (1 + x**2) ** 0.5, 1)


def _armijo_reference(x, steps, lr, c, s):
    """Backtracking Newton on √(1+x²) written out from the docstring: the first α of
    η, ηs, ηs², … with f(x + αp) ≤ f(x) + c α gᵀp (f at the *current* point)."""
    f = lambda x: math.sqrt(1 + x * x)
    path, evals = [x], 0
    for _ in range(steps):
        g = x / f(x)
        if g == 0:  # an exact critical point (tol = 0)
            break
        p = -g / (1 + x * x) ** -1.5
        alpha = lr
        for _ in range(60):
            evals += 1
            if f(x + alpha * p) <= f(x) + c * alpha * g * p:
                break
            alpha *= s
        x = x + alpha * p
        path.append(x)
    return np.array(path), evals


@pytest.mark.parametrize("lr, c, s", [(1.0, 1e-4, 0.5), (1.0, 0.45, 0.3), (0.8, 0.9, 0.7), (1.0, 0.6, 0.9)])
def test_line_search_takes_the_first_step_that_passes_armijo(lr, c, s):
    ref, evals = _armijo_reference(1.5, 6, lr, c, s)
    run = newton.newton_minimize(_hyp(), start=1.5, steps=6, lr=lr, c=c, shrink=s, line_search=True)
    np.testing.assert_allclose(run.path[:, 0], ref, rtol=1e-10, atol=1e-12)
    assert run.f_evals == evals
    assert np.all(np.diff(run.losses) <= 0)  # no accepted step raises the loss


def test_line_search_defaults_are_c_1e_4_and_shrink_one_half():
    ref, evals = _armijo_reference(1.5, 6, 1.0, 1e-4, 0.5)
    run = newton.newton_minimize(_hyp(), start=1.5, steps=6, line_search=True)
    np.testing.assert_allclose(run.path[:, 0], ref, rtol=1e-10, atol=1e-12)
    assert run.f_evals == evals
    # the first pure step from 1.5 goes to -3.375, uphill: rejected, half of it is taken
    one = newton.newton_minimize(_hyp(), start=1.5, steps=1, line_search=True)
    assert one.path[1, 0] == pytest.approx(1.5 - 0.5 * 1.5 * 3.25, rel=1e-12) and one.f_evals == 2


def test_line_search_compares_with_the_current_loss():
    # over several steps the sufficient decrease is measured from the loss at the current
    # point, not from the starting loss (which every later point is far below)
    run = newton.newton_minimize(_hyp(), start=3.0, steps=8, line_search=True, c=0.4, shrink=0.8)
    ref, evals = _armijo_reference(3.0, 8, 1.0, 0.4, 0.8)
    np.testing.assert_allclose(run.path[:, 0], ref, rtol=1e-10, atol=1e-12)
    assert np.all(np.diff(run.losses) <= 0) and run.f_evals == evals


def test_line_search_gives_up_after_60_trials():
    # f is finite only at the start: no trial passes, and after 60 of them the step
    # η s^60 (0.9^60 ≈ 0.002 here) is taken untested; its loss is not finite: diverged
    spike = Objective("spike", "spike", lambda x: (1 + x**2) ** 0.5 if x == 1.5 else x * math.nan, 1)
    run = newton.newton_minimize(spike, start=1.5, steps=3, line_search=True, shrink=0.9)
    assert run.f_evals == 60 and run.status == "diverged" and run.diverged_at == 1 and run.steps == 0
