"""gdbook.objectives: every factory's derivatives, minimizers and array genericity."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

from gdbook import objectives
from gdbook.objectives import Objective


def _factories():
    """Every factory in ``objectives.__all__`` callable without arguments, plus parameterized variants."""
    out = {}
    for name in objectives.__all__:
        fn = getattr(objectives, name)
        if fn is Objective or not callable(fn):
            continue
        required = [p for p in inspect.signature(fn).parameters.values()
                    if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if not required:
            out[name] = fn
    out["bowl(20)"] = lambda: objectives.bowl(20)
    out["bowl(0.25)"] = lambda: objectives.bowl(0.25)
    out["rosenbrock(2,50)"] = lambda: objectives.rosenbrock(2.0, 50.0)
    out["rastrigin(3)"] = lambda: objectives.rastrigin(3.0)
    out["neuron_mse(-2,1)"] = lambda: objectives.neuron_mse(-2.0, 1.0)
    out["neuron_bce(0.5,1)"] = lambda: objectives.neuron_bce(0.5, 1.0)
    if hasattr(objectives, "logistic_regression"):
        from gdbook import data

        out["logistic_regression"] = lambda: objectives.logistic_regression(
            *data.synthetic_classification(n=40, d=2, seed=0))
    return out


FACTORIES = _factories()
NAMES = sorted(FACTORIES)


def test_every_public_factory_is_covered():
    public = {n for n in objectives.__all__ if n != "Objective"}
    assert public <= set(FACTORIES), f"factories needing arguments are not tested: {public - set(FACTORIES)}"


def random_points(f: Objective, k: int, seed: int) -> np.ndarray:
    """``k`` points inside ``f.window`` (shape ``(k,)`` in 1-D, ``(k, d)`` otherwise)."""
    rng = np.random.default_rng(seed)
    if f.dim == 1:
        lo, hi = f.window
        return rng.uniform(lo, hi, size=k)
    window = f.window or [(-2.0, 2.0)] * f.dim  # objectives of data have no plot window
    lows = np.array([w[0] for w in window])
    highs = np.array([w[1] for w in window])
    return lows + (highs - lows) * rng.uniform(size=(k, f.dim))


def autograd_grad(f: Objective, pts: np.ndarray) -> np.ndarray:
    t = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
    f.value(t).sum().backward()
    return t.grad.numpy()


def autograd_hessian(f: Objective, point: np.ndarray) -> np.ndarray:
    t = torch.tensor(np.atleast_1d(point), dtype=torch.float64)
    if f.dim == 1:
        return torch.autograd.functional.hessian(lambda v: f.value(v[0]), t).numpy()
    return torch.autograd.functional.hessian(lambda v: f.value(v), t).numpy()


def central_grad(f: Objective, point: np.ndarray) -> np.ndarray:
    p = np.atleast_1d(np.asarray(point, dtype=float))
    out = np.empty(f.dim)
    for i in range(f.dim):
        h = 1e-5 * max(1.0, abs(p[i]))
        e = np.zeros(f.dim)
        e[i] = h
        lo, hi = (p - e, p + e) if f.dim > 1 else ((p - e)[0], (p + e)[0])
        out[i] = (float(f.value(hi)) - float(f.value(lo))) / (2 * h)
    return out


def grad_at(f: Objective, point) -> np.ndarray:
    return np.atleast_1d(np.asarray(f.grad(point if f.dim > 1 else float(np.atleast_1d(point)[0])), dtype=float))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_autograd(name):
    f = FACTORIES[name]()
    pts = random_points(f, 6, seed=1)
    analytic = np.asarray(f.grad(pts))
    assert analytic.shape == pts.shape
    np.testing.assert_allclose(analytic, autograd_grad(f, pts), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    """Central differences have error O(h² f''') + O(ε f / h); with h = 1e-5 that is ~1e-7 relative."""
    f = FACTORIES[name]()
    for p in random_points(f, 5, seed=2):
        g = grad_at(f, p)
        fd = central_grad(f, p)
        scale = 1.0 + abs(float(f.value(p if f.dim > 1 else float(p)))) + np.abs(g).max()
        assert np.abs(g - fd).max() <= 1e-6 * scale, f"{name} at {p}: {g} vs {fd}"


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_autograd_and_differences(name):
    f = FACTORIES[name]()
    for p in random_points(f, 4, seed=3):
        point = p if f.dim > 1 else np.array([p])
        H = np.asarray(f.hessian(point))
        assert H.shape == (f.dim, f.dim)
        np.testing.assert_allclose(H, H.T, rtol=0, atol=1e-9 * (1 + np.abs(H).max()))
        np.testing.assert_allclose(H, autograd_hessian(f, point), rtol=1e-10, atol=1e-10)
        # differences of the gradient, column by column
        fd = np.empty((f.dim, f.dim))
        for j in range(f.dim):
            h = 1e-5 * max(1.0, abs(point[j]))
            e = np.zeros(f.dim)
            e[j] = h
            fd[:, j] = (grad_at(f, point + e) - grad_at(f, point - e)) / (2 * h)
        scale = 1.0 + np.abs(H).max() + np.abs(grad_at(f, point)).max()
        assert np.abs(H - fd).max() <= 1e-5 * scale, f"{name} at {point}"


@pytest.mark.parametrize("name", NAMES)
def test_torch_and_numpy_agree(name):
    f = FACTORIES[name]()
    pts = random_points(f, 5, seed=4)
    t = torch.tensor(pts, dtype=torch.float64)
    v_np, v_t = f.value(pts), f.value(t)
    g_np, g_t = f.grad(pts), f.grad(t)
    assert isinstance(v_t, torch.Tensor) and isinstance(g_t, torch.Tensor)
    assert isinstance(g_np, np.ndarray)
    np.testing.assert_allclose(v_t.numpy(), v_np, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(g_t.numpy(), g_np, rtol=1e-14, atol=1e-14)
    p0 = pts[0] if f.dim > 1 else pts[:1]
    H_np = np.asarray(f.hessian(p0))
    H_t = f.hessian(torch.tensor(p0, dtype=torch.float64))
    assert isinstance(H_t, torch.Tensor)
    np.testing.assert_allclose(H_t.numpy(), H_np, rtol=1e-14, atol=1e-14)
    # a single point as a list of floats works too
    single = [float(v) for v in np.atleast_1d(p0)] if f.dim > 1 else float(p0[0])
    assert float(f.value(single)) == pytest.approx(float(v_np[0]), rel=1e-14, abs=1e-14)


WITH_MINIMIZERS = [n for n in NAMES if FACTORIES[n]().minimizers]
# the Hessian vanishes at the quartic's minimum (and only there): positive semidefinite only
DEGENERATE_MINIMA = {"quartic"}


def _refine(f: Objective, point: np.ndarray, iters: int = 20) -> np.ndarray:
    """Newton's method from ``point`` (the tests' own, independent of gdbook's)."""
    x = np.array(point, dtype=float)
    for _ in range(iters):
        x = x - np.linalg.solve(np.asarray(f.hessian(x)), grad_at(f, x))
    return x


@pytest.mark.parametrize("name", WITH_MINIMIZERS)
def test_minimizers(name):
    f = FACTORIES[name]()
    rng = np.random.default_rng(5)
    for m in f.minimizers:
        m = np.array(m, dtype=float)
        point = m if f.dim > 1 else float(m[0])
        g = grad_at(f, point)
        if name == "himmelblau":
            # three of its minima are known only to 6 decimals: check that Newton's method
            # moves them by less than 1e-6, to a point of zero gradient and value 0
            exact = _refine(f, m)
            assert np.abs(exact - m).max() <= 1e-6
            assert np.abs(grad_at(f, exact)).max() <= 1e-10
            assert abs(float(f.value(exact))) <= 1e-20
            assert np.abs(g).max() <= 1e-4
        else:
            assert np.abs(g).max() <= 1e-12, f"{name}: gradient {g} at {m}"
        if f.f_min is not None:
            assert float(f.value(point)) == pytest.approx(f.f_min, abs=1e-9)
        eig = np.linalg.eigvalsh(np.asarray(f.hessian(m)))
        if name in DEGENERATE_MINIMA:
            assert np.all(eig >= -1e-12)
        else:
            assert np.all(eig > 0), f"{name}: Hessian eigenvalues {eig} at {m}"
        # a local minimum: nothing nearby is lower
        for _ in range(20):
            q = m + 1e-3 * rng.normal(size=m.shape)
            assert float(f.value(q if f.dim > 1 else float(q[0]))) >= float(f.value(point)) - 1e-15


WITH_CRITICAL = [n for n in NAMES if FACTORIES[n]().critical]


@pytest.mark.parametrize("name", WITH_CRITICAL)
def test_critical_points_have_zero_gradient(name):
    f = FACTORIES[name]()
    for c in f.critical:
        c = np.array(c, dtype=float)
        assert np.abs(grad_at(f, c if f.dim > 1 else float(c[0]))).max() <= 1e-12
        # and they are no minima: some direction goes down
        eig = np.linalg.eigvalsh(np.asarray(f.hessian(c)))
        if np.all(eig > 0):
            pytest.fail(f"{name}: critical point {c} has a positive-definite Hessian (a minimum)")


def test_saddle_is_indefinite():
    eig = np.linalg.eigvalsh(objectives.saddle().hessian([0.0, 0.0]))
    assert eig.min() < 0 < eig.max()


@pytest.mark.parametrize("c", [0.5, 1.0, 5.0, 10.0, 20.0])
def test_bowl_hessian_and_condition_number(c):
    H = objectives.bowl(c).hessian([3.0, -4.0])
    np.testing.assert_array_equal(H, np.diag([2 * c, 2.0]))
    eig = np.linalg.eigvalsh(H)
    assert eig.max() / eig.min() == pytest.approx(max(c, 1 / c), rel=1e-15)


def test_neuron_losses_formulas():
    """BCE equals its textbook form where that is stable, and stays finite where it is not."""
    for x, y in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.3)]:
        bce, mse = objectives.neuron_bce(x, y), objectives.neuron_mse(x, y)
        for w, b in [(0.3, -0.2), (2.0, 1.0), (-1.5, 0.5)]:
            s = 1 / (1 + math.exp(-(w * x + b)))
            assert float(bce.value([w, b])) == pytest.approx(-y * math.log(s) - (1 - y) * math.log(1 - s), rel=1e-12)
            assert float(mse.value([w, b])) == pytest.approx((s - y) ** 2, rel=1e-12)
    far = objectives.neuron_bce(1.0, 0.0)
    assert math.isfinite(float(far.value([800.0, 0.0]))) and float(far.value([800.0, 0.0])) == pytest.approx(800.0)
    assert np.all(np.isfinite(far.grad([800.0, 0.0])))


@pytest.mark.parametrize("name", [n for n in NAMES if FACTORIES[n]().window])
def test_grid_shapes(name):
    f = FACTORIES[name]()
    if f.dim == 1:
        xs, Z = f.grid(7)
        assert xs.shape == (7,) and Z.shape == (7,)
        assert xs[0] == f.window[0] and xs[-1] == f.window[1]
        np.testing.assert_allclose(Z, np.asarray(f.value(xs), dtype=float))
    else:
        X, Y, Z = f.grid(7)
        assert X.shape == Y.shape == Z.shape == (7, 7)
        np.testing.assert_allclose(Z, np.asarray(f.value(np.stack([X, Y], axis=-1)), dtype=float))
        X2, Y2, Z2 = f.grid(5, window=((0.0, 1.0), (2.0, 3.0)))
        assert Z2.shape == (5, 5) and X2.min() == 0.0 and Y2.max() == 3.0


def test_repr_and_equality():
    assert repr(objectives.bowl(10)) == "Objective('10x² + y²', dim=2)"
    assert objectives.bowl(10).meta == {"c": 10}


@pytest.mark.parametrize("call,exc", [
    (lambda: objectives.bowl(0), ValueError),
    (lambda: objectives.bowl(-1.0), ValueError),
    (lambda: objectives.bowl("10"), TypeError),
    (lambda: objectives.bowl(float("nan")), ValueError),
    (lambda: objectives.rosenbrock(b=0.0), ValueError),
    (lambda: objectives.rosenbrock(a=None), TypeError),
    (lambda: objectives.rastrigin(-1.0), ValueError),
    (lambda: objectives.neuron_mse(y=1.5), ValueError),
    (lambda: objectives.neuron_bce(x=float("nan")), ValueError),
    (lambda: objectives.bowl(1).value([1.0, 2.0, 3.0]), ValueError),
    (lambda: objectives.bowl(1).grad(np.zeros((4, 3))), ValueError),
    (lambda: objectives.bowl(1).grid(1), ValueError),
    (lambda: objectives.bowl(1).grid(2.5), TypeError),
])
def test_invalid_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_error_messages_name_the_argument():
    with pytest.raises(ValueError, match=r"c must be in \(0.0, inf\], got 0"):
        objectives.bowl(0)
    with pytest.raises(ValueError, match="last axis of size 2"):
        objectives.bowl(1).value([1.0, 2.0, 3.0])


def test_defaults_the_pages_rely_on():
    # rosenbrock(a = 1, b = 100), rastrigin(A = 10), bowl(c = 1), neuron losses at x = 1, y = 0
    r = objectives.rosenbrock()
    assert float(r.value([0.0, 0.0])) == 1.0 and float(r.value([1.0, 0.0])) == 100.0
    assert r.minimizers == ((1.0, 1.0),) and r.latex == r"(1 - x)^2 + 100\,(y - x^2)^2"
    ra = objectives.rastrigin()
    assert float(ra.value([0.5, 0.0])) == pytest.approx(20.25, rel=1e-15)
    assert ra.latex == r"20 + \sum_i \left(x_i^2 - 10\cos 2\pi x_i\right)"
    b = objectives.bowl()
    assert b.name == "x² + y²" and float(b.value([1.0, 1.0])) == 2.0
    assert objectives.bowl(10).name == "10x² + y²"
    for loss in (objectives.neuron_mse, objectives.neuron_bce):
        assert float(loss().value([0.3, -0.2])) == float(loss(1.0, 0.0).value([0.3, -0.2]))
    X, Y, Z = b.grid()  # 60 by 60 by default
    assert X.shape == Y.shape == Z.shape == (60, 60)
    xs, zs = objectives.square().grid(n=2)  # the smallest grid, in 1-D
    assert xs.shape == zs.shape == (2,)


# What each factory publishes with its formula: the pages print the name and the formula in
# titles, legends and tables, start their runs from ``start`` and draw ``window``; the
# minimizers, critical points and minimum value are what the chapters' checks compare with.
PUBLISHED = {
    "square": ("x²", r"x^2", 10.0, (-10.0, 10.0), ((0.0,),), (), 0.0),
    "cubic": ("x³", r"x^3", 1.0, (-2.0, 2.0), (), ((0.0,),), None),
    "tanh": ("tanh x", r"\tanh x", 4.0, (-5.0, 5.0), (), (), None),
    "risk": ("x·cos(πx)", r"x\cos(\pi x)", None, (-1.0, 2.0), (), (), None),
    "empirical_risk": ("x·cos(πx) + 0.2·cos(5πx)", r"x\cos(\pi x) + 0.2\cos(5\pi x)", None, (0.5, 1.5),
                       (), (), None),
    "bowl": ("x² + y²", r"x^2 + y^2", (-70.0, 70.0), ((-100.0, 100.0), (-100.0, 100.0)), ((0.0, 0.0),), (), 0.0),
    "quartic": ("10x⁴ + y⁴", r"10x^4 + y^4", (20.0, 30.0), ((-35.0, 35.0), (-35.0, 35.0)), ((0.0, 0.0),), (),
                0.0),
    "cubic2d": ("5x³ + y³", r"5x^3 + y^3", (40.0, 50.0), ((-60.0, 60.0), (-60.0, 60.0)), (), ((0.0, 0.0),),
                None),
    "saddle": ("x² − y²", r"x^2 - y^2", (1.0, 1e-3), ((-1.5, 1.5), (-1.5, 1.5)), (), ((0.0, 0.0),), None),
    "rosenbrock": ("Rosenbrock", r"(1 - x)^2 + 100\,(y - x^2)^2", (-1.5, 2.0), ((-2.0, 2.0), (-1.0, 3.0)),
                   ((1.0, 1.0),), (), 0.0),
    "himmelblau": ("Himmelblau", r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2", (0.0, 0.0), ((-5.0, 5.0), (-5.0, 5.0)),
                   ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)), (), 0.0),
    "beale": ("Beale", r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", (1.0, 1.5),
              ((-4.5, 4.5), (-4.5, 4.5)), ((3.0, 0.5),), (), 0.0),
    "rastrigin": ("Rastrigin", r"20 + \sum_i \left(x_i^2 - 10\cos 2\pi x_i\right)", (3.2, 2.3),
                  ((-5.12, 5.12), (-5.12, 5.12)), ((0.0, 0.0),), (), 0.0),
    "neuron_mse": ("MSE", r"(\sigma(wx + b) - y)^2", (3.0, 2.0), ((-10.0, 10.0), (-10.0, 10.0)), (), (), None),
    "neuron_bce": ("BCE", r"-y\log\sigma(wx + b) - (1 - y)\log(1 - \sigma(wx + b))", (3.0, 2.0),
                   ((-10.0, 10.0), (-10.0, 10.0)), (), (), None),
}


# Which derivatives are written out ("analytic where it is short, autograd otherwise"):
# (gradient, Hessian); the others come from autograd.
ANALYTIC = {"risk": (True, False), "empirical_risk": (True, False), "himmelblau": (True, False),
            "beale": (False, False), "rastrigin": (True, False), "neuron_mse": (True, False),
            "neuron_bce": (True, False)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_names_formulas_starts_and_windows(name):
    f = getattr(objectives, name)()
    assert (f.name, f.latex, f.start, f.window, f.minimizers, f.critical, f.f_min) == PUBLISHED[name]
    assert (f.grad_fn is not None, f.hess_fn is not None) == ANALYTIC.get(name, (True, True))
    # the start and every known point are in the plot window (x² starts at its edge, 10)
    window = [f.window] if f.dim == 1 else list(f.window)
    for point in [p for p in (f.start,) if p is not None] + list(f.minimizers) + list(f.critical):
        coords = np.atleast_1d(point)
        assert all(lo <= c <= hi for c, (lo, hi) in zip(coords, window)), f"{name}: {point} outside {f.window}"


@pytest.mark.parametrize("name", [n for n in NAMES if FACTORIES[n]().grad_fn is not None])
def test_analytic_gradient_of_a_tensor_stays_differentiable(name):
    """An analytic gradient of a tensor that requires grad is part of torch's graph (the
    autograd one, Beale's, is detached): its own derivative is the Hessian's row sums."""
    f = FACTORIES[name]()
    p = random_points(f, 1, seed=6)[0]
    t = torch.tensor(np.atleast_1d(p) if f.dim > 1 else p, dtype=torch.float64, requires_grad=True)
    g = f.grad(t)
    assert isinstance(g, torch.Tensor) and g.requires_grad
    (row_sums,) = torch.autograd.grad(g.sum(), t)
    H = np.asarray(f.hessian(np.atleast_1d(p) if f.dim > 1 else np.array([p])))
    np.testing.assert_allclose(np.atleast_1d(row_sums.numpy()), H.sum(axis=0), rtol=1e-10, atol=1e-10)


def test_grid_size_limits_and_message():
    for n in (1, 2001):
        with pytest.raises(ValueError) as err:
            objectives.bowl().grid(n)
        assert str(err.value) == f"n must be an integer in [2, 2000], got {n}"
    xs, zs = objectives.square().grid(2000)  # the largest grid
    assert xs.shape == zs.shape == (2000,) and zs.dtype == np.float64


def test_integer_points_are_read_as_reals():
    # 10x⁴ at x = 10⁵ is 10²¹, beyond int64: an integer array is evaluated in float64, as a list is
    f = objectives.quartic()
    for point in ([100000, 0], np.array([100000, 0]), np.array([[100000, 0]], dtype=np.int32)):
        assert float(np.asarray(f.value(point)).reshape(-1)[0]) == 1e21
        assert np.asarray(f.grad(point)).reshape(-1).tolist() == [4e16, 0.0]
    assert float(objectives.square().value(np.int64(3))) == 9.0


@pytest.mark.parametrize("name", NAMES)
def test_hessian_of_a_tensor_that_requires_grad(name):
    """A point taken from a training loop (a tensor that requires grad) has a Hessian too."""
    f = FACTORIES[name]()
    p = np.atleast_1d(random_points(f, 1, seed=7)[0])
    H = f.hessian(torch.tensor(p, dtype=torch.float64, requires_grad=True))
    assert isinstance(H, torch.Tensor)
    np.testing.assert_allclose(H.detach().numpy(), np.asarray(f.hessian(p)), rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: objectives.rosenbrock(a=math.nan), ValueError, "a must be in [-inf, inf], got nan"),
    (lambda: objectives.rosenbrock(b=0.0), ValueError, "b must be in (0.0, inf], got 0.0"),
    (lambda: objectives.rastrigin(-1.0), ValueError, "A must be in [0.0, inf], got -1.0"),
    (lambda: objectives.neuron_mse(x=math.nan), ValueError, "x must be in [-inf, inf], got nan"),
    (lambda: objectives.neuron_mse(y=1.5), ValueError, "y must be in [0.0, 1.0], got 1.5"),
    (lambda: objectives.neuron_bce(x=math.nan), ValueError, "x must be in [-inf, inf], got nan"),
    (lambda: objectives.neuron_bce(y=-0.5), ValueError, "y must be in [0.0, 1.0], got -0.5"),
    (lambda: objectives.neuron_bce(y=1.5), ValueError, "y must be in [0.0, 1.0], got 1.5"),
    (lambda: objectives.bowl(-1.0), ValueError, "c must be in (0.0, inf], got -1.0"),
    (lambda: objectives.logistic_regression(np.zeros(3), np.zeros(3)), ValueError,
     "X must be (n, d) and y (n,), got shapes (3,) and (3,)"),
    (lambda: objectives.logistic_regression(np.zeros((3, 2)), np.zeros(2)), ValueError,
     "X must be (n, d) and y (n,), got shapes (3, 2) and (2,)"),
    (lambda: objectives.logistic_regression(np.zeros((2, 1)), np.array([0.0, 0.5])), ValueError,
     "y must hold labels 0 and 1"),
])
def test_every_factory_names_the_bad_argument(call, exc, message):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value) == message


def test_parameters_at_the_edge_of_their_ranges():
    # b > 0 (any small b: a shallow valley), A = 0 (a plain bowl), labels 0 and 1 themselves
    assert float(objectives.rosenbrock(b=0.5).value([0.0, 1.0])) == 1.5
    assert float(objectives.rastrigin(0.0).value([1.0, 2.0])) == 5.0
    for y in (0.0, 1.0):
        assert float(objectives.neuron_mse(2.0, y).value([0.0, 0.0])) == 0.25


def test_values_at_points_computed_by_hand():
    """The formulas themselves, where no analytic derivative would catch a wrong one."""
    beale = objectives.beale()
    assert float(beale.value([0.0, 0.0])) == 1.5**2 + 2.25**2 + 2.625**2
    assert float(beale.value([2.0, -1.0])) == (-2.5) ** 2 + 2.25**2 + (-1.375) ** 2
    assert float(objectives.himmelblau().value([0.0, 0.0])) == 11.0**2 + 7.0**2
    assert float(objectives.risk().value(1.0)) == -1.0
    assert float(objectives.empirical_risk().value(1.0)) == pytest.approx(-1.2, rel=1e-15)
    assert float(objectives.tanh().value(0.0)) == 0.0
    assert float(objectives.rastrigin().value([1.0, 0.5])) == pytest.approx(1.0 + 0.25 + 10.0 * 2, rel=1e-15)


def test_neuron_losses_keep_their_data():
    for loss in (objectives.neuron_mse, objectives.neuron_bce):
        assert loss(2.0, 0.5).meta == {"x": 2.0, "y": 0.5} and loss().meta == {"x": 1.0, "y": 0.0}


def test_bowl_and_logistic_regression_names_and_formulas():
    assert (objectives.bowl(10).name, objectives.bowl(10).latex) == ("10x² + y²", "10x^2 + y^2")
    assert (objectives.bowl(0.5).name, objectives.bowl(0.5).latex) == ("0.5x² + y²", "0.5x^2 + y^2")
    f = objectives.logistic_regression(np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0]))
    assert f.name == "logistic loss" and f.latex == r"\frac1n\sum_i \operatorname{softplus}(z_i) - y_i z_i"
    assert f.dim == 2 and f.start == (0.0, 0.0) and f.meta == {"n": 3}
    assert f.grad_fn is not None and f.hess_fn is not None  # the docstring's ∇L and ∇²L, written out
    # the formula takes one array (or number) per coordinate, as every objective's does
    w = [0.5, -0.25]
    assert float(f.fn(*w)) == float(f.value(w)) == pytest.approx(
        np.mean([math.log1p(math.exp(z)) - y * z for z, y in zip([-0.25, 0.25, 0.75], [0.0, 1.0, 0.0])]), rel=1e-15)


def test_derivatives_keep_the_dtype_and_the_documented_forms():
    # an autograd gradient has the array type and dtype of the point (Beale's)
    g = objectives.beale().grad(torch.tensor([1.0, 1.0], dtype=torch.float32))
    assert isinstance(g, torch.Tensor) and g.dtype == torch.float32
    # constant Hessian entries (Python numbers) come back in float64, for tensors and arrays
    assert objectives.saddle().hessian(torch.tensor([0.5, 0.5], dtype=torch.float64)).dtype == torch.float64
    # a user's 1-D objective with derivatives written as documented, a tuple of d arrays
    f = Objective("x²", "x^2", lambda x: x**2, 1, grad_fn=lambda x: (2 * x,), hess_fn=lambda x: ((2,),))
    assert float(f.grad(3.0)) == 6.0
    H = f.hessian(np.array([3.0]))
    assert H.dtype == np.float64 and H.tolist() == [[2.0]]
