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


def test_root_defaults_and_stopping_rule():
    # tol = 4 eps relative to max(|x|, 1), steps = 50
    sq, dsq = (lambda x: x**2), (lambda x: 2 * x)  # a double root: Newton halves x each step
    slow = newton.newton_root(sq, dsq, 1.0, tol=0.0)
    assert slow.status == "max steps" and slow.steps == 50 and slow.root == 0.5**50
    # the 50th step is 2^-50 = 4 eps: the first within the default tolerance
    assert newton.newton_root(sq, dsq, 1.0, steps=60).steps == 50
    # on x² every step halves x, so the steps are 2^-k exactly: a step equal to
    # tol·max(|x|, 1) stops the search ("<="), relative to |x| above 1, absolute below
    assert newton.newton_root(sq, dsq, 1.0, tol=0.125).steps == 3
    assert newton.newton_root(sq, dsq, 1024.0, tol=1.0).steps == 1  # |step| = |new|: within 1·|new|
    assert newton.newton_root(sq, dsq, 1024.0, tol=0.5).steps == 11  # only at new = 0.5 <= 0.5·1
    # starting on the root: converged without a step; f(x_k) = 0 at the last allowed step too
    assert newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 2.0).status == "converged"
    last = newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, steps=1, tol=0.0)
    assert last.status == "converged" and last.steps == 1 and last.values.tolist() == [-1.0, 0.0]
    none = newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, steps=0)
    assert none.status == "max steps" and none.steps == 0 and none.reference == 1.0


def test_root_result_reports():
    r = newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, root=2.0)
    assert r.reference == 2.0 and r.errors.tolist() == [1.0, 0.0] and r.converged and not r.diverged
    # digits relative to |r|, capped at -log10(eps) for an exact iterate
    assert r.digits.tolist() == pytest.approx([-math.log10(0.5), -math.log10(EPS)], rel=1e-12)
    assert np.isnan(r.ratios()).all()  # e = 0 at the end: no ratio
    z = newton.newton_root(lambda x: x, lambda x: 1.0, 0.25, root=0.0)  # root 0: absolute errors
    assert z.digits.tolist() == pytest.approx([-math.log10(0.25), -math.log10(EPS)], rel=1e-12)
    s = newton.sqrt_newton(2.0)
    e = s.errors
    ok = (e[:-1] > 0) & (e[1:] > 0)
    np.testing.assert_allclose(s.ratios()[ok], e[1:][ok] / e[:-1][ok] ** 2, rtol=1e-15)
    assert s.ratios().shape == (s.steps,)


def test_square_and_cube_root_starts():
    assert newton.sqrt_newton(9.0).iterates[0] == 9.0 and newton.sqrt_newton(0.25).iterates[0] == 1.0
    assert newton.sqrt_newton(0.0).root == pytest.approx(0.0, abs=1e-12)  # a = 0 is allowed
    assert newton.sqrt_newton(2.0, x0=0.5).iterates[0] == 0.5
    assert newton.cbrt_newton(-8.0).iterates[0] == -8.0 and newton.cbrt_newton(-0.5).iterates[0] == -1.0
    assert newton.cbrt_newton(0.5).iterates[0] == 1.0 and newton.cbrt_newton(-8.0).root == -2.0
    assert newton.cbrt_newton(2.0, x0=-1.0).iterates[0] == -1.0
    capped = newton.sqrt_newton(2.0, steps=2, tol=0.0)
    assert capped.steps == 2 and capped.status == "max steps"
    assert newton.cbrt_newton(2.0, steps=1).steps == 1
    for call, message in [(lambda: newton.sqrt_newton(-1.0), "a must be in [0.0, inf], got -1.0"),
                          (lambda: newton.sqrt_newton(2.0, x0=0.0), "x0 must be in (0.0, inf], got 0.0"),
                          (lambda: newton.cbrt_newton(2.0, x0=0.0),
                           "x0 must be nonzero: the tangent of x³ - a is flat at 0"),
                          (lambda: newton.cbrt_newton(math.nan), "a must be in [-inf, inf], got nan"),
                          (lambda: newton.newton_root(abs, abs, math.nan), "x0 must be in [-inf, inf], got nan"),
                          (lambda: newton.newton_root(abs, abs, 1.0, steps=-1),
                           "steps must be an integer in [0, 1000000], got -1"),
                          (lambda: newton.newton_root(abs, abs, 1.0, tol=-1.0), "tol must be in [0.0, inf], got -1.0")]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message


def test_minimize_in_one_and_three_dimensions():
    # 1-D: f = 2(x - 1)², one Newton step to x = 1
    one = newton.newton_minimize(Objective("q1", "q1", lambda x: 2 * (x - 1) ** 2, 1), start=5.0, steps=4)
    assert one.path.shape == (2, 1) and one.path[1, 0] == 1.0 and one.eigenvalues.tolist() == [[4.0]]
    assert one.status == "critical point" and one.grad_evals == 2 and one.hessian_evals == 1
    # 3-D quadratic ½xᵀAx - bᵀx: one step to A⁻¹b
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    b = np.array([1.0, 2.0, 3.0])
    q3 = Objective("q3", "q3", lambda x, y, z: 0.5 * (4 * x * x + 3 * y * y + 2 * z * z + 2 * x * y + 2 * y * z)
                   - (x + 2 * y + 3 * z), 3)
    run = newton.newton_minimize(q3, start=(1.0, -1.0, 2.0), steps=3, tol=1e-12)
    np.testing.assert_allclose(run.path[1], np.linalg.solve(A, b), atol=1e-12)
    assert run.eigenvalues.shape == (1, 3) and run.steps == 1
    np.testing.assert_allclose(run.eigenvalues[0], np.linalg.eigvalsh(A), rtol=1e-12)


def test_minimize_defaults_and_stopping():
    f = objectives.quartic()
    assert newton.newton_minimize(f, start=(20.0, 30.0)).steps == 20  # steps = 20
    assert newton.newton_minimize(f, start=(20.0, 30.0), steps=0).path.tolist() == [[20.0, 30.0]]
    # start defaults to the objective's own
    bowl = objectives.bowl(10)
    assert newton.newton_minimize(bowl, steps=1).path[0].tolist() == list(bowl.start)
    # tol: stop when |∇f| <= tol (here |∇f(1, 0)| = 20 exactly)
    stop = newton.newton_minimize(bowl, start=(1.0, 0.0), tol=20.0)
    assert stop.status == "critical point" and stop.steps == 0 and stop.grad_evals == 1 and stop.hessian_evals == 0
    assert newton.newton_minimize(bowl, start=(1.0, 0.0), tol=19.9, steps=1).steps == 1
    assert newton.newton_minimize(bowl, start=(1.0, 0.0), steps=3).label == "Newton"


def test_minimize_records_divergence():
    # a non-finite loss at the new point stops the run as diverged, at that step
    over = Objective("over", "over", lambda x: x**2 * 1e308 * 10, 1)  # f overflows to inf
    with np.errstate(over="ignore"):
        bad = newton.newton_minimize(over, start=1.0, steps=3)
    assert bad.status == "diverged" and bad.diverged and bad.diverged_at == 1 and bad.steps == 0


def test_minimize_bad_arguments_messages():
    f = objectives.bowl(2)
    q = Objective("nostart", "q", lambda x, y: x * x + y * y, 2)
    for call, message in [
        (lambda: newton.newton_minimize(f, lr=0.0), "lr must be in (0.0, 1.0], got 0.0"),
        (lambda: newton.newton_minimize(f, c=0.0), "c must be in (0.0, 1.0), got 0.0"),
        (lambda: newton.newton_minimize(f, c=1.0), "c must be in (0.0, 1.0), got 1.0"),
        (lambda: newton.newton_minimize(f, shrink=0.0), "shrink must be in (0.0, 1.0), got 0.0"),
        (lambda: newton.newton_minimize(f, shrink=1.0), "shrink must be in (0.0, 1.0), got 1.0"),
        (lambda: newton.newton_minimize(f, tol=-1.0), "tol must be in [0.0, inf], got -1.0"),
        (lambda: newton.newton_minimize(f, steps=-1), "steps must be an integer in [0, 1000000], got -1"),
        (lambda: newton.newton_minimize(q), "start is required: objective 'nostart' has no default start"),
        (lambda: newton.newton_minimize(f, start=(1.0, 2.0, 3.0)), "start must have 2 coordinate(s) for '2x² + y²', got 3"),
    ]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
    # the closed ends are allowed
    assert newton.newton_minimize(f, start=(1.0, 1.0), lr=1.0, steps=1, tol=0.0).steps == 1


def test_root_reference_steps_and_tolerance_are_passed_through():
    assert newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, root=2.5).reference == 2.5  # as given
    assert newton.sqrt_newton(2.0, steps=1).reference == math.sqrt(2.0)
    assert newton.cbrt_newton(2.0, steps=1).reference == float(np.cbrt(2.0))
    # a loose tolerance stops after one step: 4 -> 2.5 (sqrt), 8 -> 5.375 (cbrt)
    assert newton.sqrt_newton(4.0, tol=1.0).steps == 1 and newton.cbrt_newton(8.0, tol=1.0).steps == 1
    # steps = 50 by default: from far away Heron's rule only halves x
    far = newton.sqrt_newton(2.0, x0=1e30, tol=0.0)
    assert far.status == "max steps" and far.steps == 50
    assert newton.cbrt_newton(2.0, x0=1e30, tol=0.0).steps == 50
    assert newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, steps=10**6).converged
    with pytest.raises(ValueError) as err:
        newton.newton_root(lambda x: x - 2.0, lambda x: 1.0, 1.0, steps=10**6 + 1)
    assert str(err.value) == "steps must be an integer in [0, 1000000], got 1000001"
    with pytest.raises(ValueError) as err:
        newton.cbrt_newton(2.0, x0=math.nan)
    assert str(err.value) == "x0 must be in [-inf, inf], got nan"


def test_root_found_at_the_last_allowed_step():
    # a (wrong) derivative 2 left of 1.5 and 1 right of it: 1 -> 1.5 -> 2 = the root, at step 2 of 2
    r = newton.newton_root(lambda x: x - 2.0, lambda x: 2.0 if x < 1.5 else 1.0, 1.0, steps=2, tol=0.0)
    assert r.iterates.tolist() == [1.0, 1.5, 2.0] and r.status == "converged"


def test_non_finite_step_or_value_stops_without_recording_it():
    # the step overflows: f is not evaluated at ±inf (this f cannot be: int(inf) raises)
    f = lambda x: (x - 1.0) + 0 * int(x)
    r = newton.newton_root(f, lambda x: 1e-320, 0.0)
    assert r.status == "diverged" and r.diverged_at == 1 and r.iterates.tolist() == [0.0]
    # the step is finite but f is not there
    g = lambda x: (x - 20.0) if abs(x) < 10 else math.inf
    r = newton.newton_root(g, lambda x: 1.0, 0.0)
    assert r.status == "diverged" and r.diverged_at == 1 and r.iterates.tolist() == [0.0]


def test_ratios_are_nan_without_warnings_where_an_error_is_zero():
    import warnings

    r = newton.RootResult(np.array([1.0, 2.0, 2.0, 1.0]), np.zeros(4), 2.0, "max steps")  # errors 1, 0, 0, 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ratios = r.ratios()
    assert ratios.shape == (3,) and np.isnan(ratios).all()


def test_flags_remember_any_hessian_not_only_the_last():
    # f = x⁴/4 - x²/2 + y²: f'' = 3x² - 1 < 0 at x = 0.55; the pure step jumps to x ≈ -3.6,
    # where f'' > 0, and Newton then converges to the minimum at x = -1
    f = Objective("w", "w", lambda x, y: x**4 / 4 - x**2 / 2 + y**2, 2)
    run = newton.newton_minimize(f, start=(0.55, 0.0), steps=20, tol=1e-12)
    assert run.final.tolist() == pytest.approx([-1.0, 0.0], abs=1e-12)
    assert run.eigenvalues[0, 0] < 0 < run.eigenvalues[-1, 0]
    assert run.indefinite and run.negative_curvature and run.status == "critical point"


def test_flags_at_zero_eigenvalues_and_in_three_dimensions():
    # a zero eigenvalue is neither sign: [0, 12] and [-2, 0] are singular, not indefinite
    q = newton.newton_minimize(objectives.quartic(), start=(0.0, 1.0), steps=5)
    assert q.singular and not q.indefinite and not q.negative_curvature
    f = Objective("m", "m", lambda x, y: -(x**2) + y**4, 2)
    r = newton.newton_minimize(f, start=(1.0, 0.0), steps=5)
    assert r.singular and not r.indefinite and r.negative_curvature
    # both eigenvalues positive but below 1 and above 1: definite
    b = newton.newton_minimize(objectives.bowl(0.25), start=(1.0, 1.0), steps=2)
    assert not (b.indefinite or b.negative_curvature)
    # 3-D: eigenvalues -1, -1, 2 are indefinite (the smallest and the largest differ in sign)
    s3 = Objective("s3", "s3", lambda x, y, z: -(x**2) / 2 - y**2 / 2 + z**2, 3)
    r3 = newton.newton_minimize(s3, start=(1.0, 1.0, 1.0), steps=2)
    assert r3.indefinite and r3.eigenvalues[0].tolist() == [-1.0, -1.0, 2.0]


def test_singular_threshold_is_inclusive():
    # min|λ| = 1e-12·max|λ| exactly counts as singular
    f = Objective("s", "s", lambda x, y: 0.5e-12 * x**2 + 0.5 * y**2, 2)
    run = newton.newton_minimize(f, start=(1.0, 1.0), steps=2)
    assert run.singular and run.status == "singular Hessian"


def test_line_search_refuses_a_flat_or_uphill_direction():
    # on x² - y², gᵀp = 2y² - 2x²: 0 at |x| = |y| (not downhill) and 0.22 at (0.5, 0.6)
    for start in ((1.0, 1.0), (0.5, 0.6)):
        run = newton.newton_minimize(objectives.saddle(), start=start, line_search=True)
        assert run.status == "not a descent direction" and run.steps == 0


def test_non_finite_hessian_or_step_is_divergence():
    # an infinite Hessian with a finite gradient: diverged before any eigenvalue is recorded
    inf_h = Objective("h", "h", lambda x: x**2, 1, grad_fn=lambda x: 2 * x, hess_fn=lambda x: ((math.inf,),))
    run = newton.newton_minimize(inf_h, start=1.0, steps=3)
    assert run.status == "diverged" and run.diverged_at == 1 and run.eigenvalues.shape == (0, 1)
    # the step overflows to -inf: recorded without evaluating f there (int(-inf) would raise)
    far = Objective("far", "far", lambda x: 1e-300 * x**2 + 1e10 * x + 0 * int(x), 1,
                    grad_fn=lambda x: 2e-300 * x + 1e10, hess_fn=lambda x: ((2e-300,),))
    run = newton.newton_minimize(far, start=1.0, steps=3)
    assert run.status == "diverged" and run.diverged_at == 1 and run.steps == 0


def test_integer_start_is_used_in_float64():
    q = Objective("q", "q", lambda x, y: x * x + y * y, 2)  # gradient and Hessian by autograd
    run = newton.newton_minimize(q, start=(1, 2), steps=1)
    assert run.path[1].tolist() == [0.0, 0.0] and run.path.dtype == np.float64
