"""gdbook.stability: full-batch gradient descent with the sharpness recorded."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from gdbook import cache
from gdbook import sharpness as sh
from gdbook import stability as st
from gdbook.nets import MLP, train_net
from gdbook.optim import SGD

F64 = torch.float64


def problem(n=24, width=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 2, generator=g, dtype=F64)
    y = torch.randn(n, 1, generator=g, dtype=F64)
    net = MLP(2, width, depth=2, out_features=1, activation="tanh", init="xavier_normal", gain=0.6, generator=seed)
    return net, X, y


def states(net, X, y, *, lr, steps, momentum=0.0):
    """The net after 0, 1, ..., steps steps of gdbook.optim.SGD, written out by hand."""
    net = copy.deepcopy(net)
    opt = SGD(net.parameters(), lr=lr, momentum=momentum)
    out = [copy.deepcopy(net)]
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(net(X), y).backward()
        opt.step()
        out.append(copy.deepcopy(net))
    return out


@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_it_reproduces_the_sharpness_of_gdbook_sharpness(momentum):
    """Every recorded sharpness is the top Hessian eigenvalue of the net at that step, as
    gdbook.sharpness finds it with a tight tolerance; the first is top_eigenvalue's own value."""
    net, X, y = problem()
    lr, steps, every = 0.3, 45, 10
    run = st.sharpness_run(net, X, y, lr=lr, steps=steps, every=every, momentum=momentum)
    assert run.measured.tolist() == [0, 10, 20, 30, 40, 45]
    nets = states(net, X, y, lr=lr, steps=steps, momentum=momentum)
    first = sh.sharpness(nets[0], X, y, seed=0, tol=1e-2)
    assert run.sharpness[0] == first.value
    for k, value in zip(run.measured, run.sharpness):
        exact = sh.sharpness(nets[k], X, y, tol=1e-10, max_iter=5000)
        assert exact.converged
        assert value == pytest.approx(exact.value, rel=1e-3)
    assert run.products > 0 and run.threshold == pytest.approx(2 * (1 + momentum) / lr, rel=1e-15)


def test_the_loss_is_train_nets_loss():
    """The steps are gdbook.optim.SGD's on the mean squared error, as in train_net."""
    net, X, y = problem(seed=1)
    run = st.sharpness_run(net, X, y, lr=0.2, steps=30, every=7, momentum=0.9)
    h = train_net(copy.deepcopy(net), X, y, lr=0.2, steps=30, momentum=0.9)
    assert np.array_equal(run.loss, np.array(h.loss)) and len(run.loss) == 31
    assert run.measured.tolist() == [0, 7, 14, 21, 28, 30]


def test_deterministic_and_the_net_is_untouched():
    net, X, y = problem(seed=2)
    before = [p.detach().clone() for p in net.parameters()]
    a = st.sharpness_run.uncached(net, X, y, lr=0.25, steps=25, every=5)
    b = st.sharpness_run.uncached(net, X, y, lr=0.25, steps=25, every=5)
    assert np.array_equal(a.loss, b.loss) and np.array_equal(a.sharpness, b.sharpness) and a.products == b.products
    assert all(torch.equal(p, q) for p, q in zip(before, net.parameters()))
    assert all(p.grad is None for p in net.parameters())
    c = st.sharpness_run.uncached(net, X, y, lr=0.25, steps=25, every=5, seed=1)
    assert np.array_equal(a.loss, c.loss)  # the seed only starts the power iteration
    assert c.sharpness[0] == pytest.approx(a.sharpness[0], rel=1e-3)
    # ... of top_eigenvalue, with the caller's seed
    assert c.sharpness[0] == sh.sharpness(net, X, y, seed=1, tol=1e-2).value != a.sharpness[0]


def test_memoized_with_the_callers_label():
    net, X, y = problem(seed=3)
    with cache.enabled():
        a = st.sharpness_run(net, X, y, lr=0.2, steps=10, every=5, label="en")
        b = st.sharpness_run(net, X, y, lr=0.2, steps=10, every=5, label="zh")
        assert cache.stats()["hits"] == 1 and cache.stats()["misses"] == 1
    assert (a.label, b.label) == ("en", "zh") and np.array_equal(a.sharpness, b.sharpness)
    assert a.sharpness is not b.sharpness


def test_a_linear_model_has_the_sharpness_of_its_quadratic():
    """For a linear model the MSE is a quadratic with Hessian 2AᵀA/n at every step; with
    lr above 2/λmax gradient descent diverges, and the run says so."""
    X = torch.linspace(-1, 1, 10, dtype=F64)[:, None]
    lin = torch.nn.Linear(1, 1, dtype=F64)
    A = torch.cat([X, torch.ones_like(X)], 1)
    lam = torch.linalg.eigvalsh(2 * A.T @ A / 10)[-1].item()
    stable = st.sharpness_run(lin, X, 3 * X, lr=0.9 * 2 / lam, steps=50, every=10)
    assert not stable.diverged and np.allclose(stable.sharpness, lam, rtol=1e-4)
    assert stable.loss[-1] < stable.loss[0]
    unstable = st.sharpness_run(lin, X, 3 * X, lr=1.1 * 2 / lam, steps=3000, every=1000)
    assert unstable.diverged and not np.isfinite(unstable.loss[-1]) and len(unstable.loss) < 3001
    assert np.isfinite(unstable.loss[:-1]).all() and unstable.measured[-1] < len(unstable.loss) - 1


@pytest.mark.parametrize("kwargs,exc,message", [
    (dict(lr=0.0), ValueError, "lr must be in (0.0, inf), got 0.0"),
    (dict(lr=-1.0), ValueError, "lr must be in (0.0, inf), got -1.0"),
    (dict(lr=float("inf")), ValueError, "lr must be in (0.0, inf), got inf"),
    (dict(steps=0), ValueError, "steps must be an integer in [1, inf], got 0"),
    (dict(steps=2.0), TypeError, "steps must be an integer, got float: 2.0"),
    (dict(every=0), ValueError, "every must be an integer in [1, inf], got 0"),
    (dict(momentum=1.0), ValueError, "momentum must be in [0.0, 1.0), got 1.0"),
    (dict(momentum=-0.1), ValueError, "momentum must be in [0.0, 1.0), got -0.1"),
    (dict(seed=-1), ValueError, "seed must be an integer in [0, inf], got -1"),
    (dict(tol=0.0), ValueError, "tol must be in (0.0, 1.0), got 0.0"),
    (dict(tol=1.0), ValueError, "tol must be in (0.0, 1.0), got 1.0"),
    (dict(max_iter=0), ValueError, "max_iter must be an integer in [1, inf], got 0"),
])
@pytest.mark.parametrize("start", ["finite", "non-finite"])
def test_bad_arguments_name_the_argument(kwargs, exc, message, start):
    net, X, y = problem()
    if start == "non-finite":  # a run that would stop before its first step: checked all the same
        y = torch.full_like(y, float("inf"))
    args = dict(lr=0.1, steps=5) | kwargs
    with pytest.raises(exc) as err:
        st.sharpness_run.uncached(net, X, y, **args)
    assert str(err.value) == message


def test_a_non_finite_loss_at_the_start_stops_before_any_measurement():
    net, X, y = problem()
    run = st.sharpness_run.uncached(net, X, torch.full_like(y, float("inf")), lr=0.1, steps=5)
    assert run.diverged and run.loss.tolist() == [float("inf")] and run.products == 0
    assert run.measured.shape == run.sharpness.shape == (0,) and run.measured.dtype.kind == "i"


def test_x_and_y_must_match():
    net, X, y = problem()
    with pytest.raises(ValueError, match="X and y must have the same number of examples, got 24 and 23"):
        st.sharpness_run.uncached(net, X, y[:-1], lr=0.1, steps=5)


def test_defaults():
    """every 10, no momentum, seed 0, tol 1e-2, max_iter 1000."""
    net, X, y = problem(seed=4)
    a = st.sharpness_run.uncached(net, X, y, lr=0.2, steps=20)
    b = st.sharpness_run.uncached(net, X, y, lr=0.2, steps=20, every=10, momentum=0.0, seed=0, tol=1e-2,
                                  max_iter=1000)
    assert a.measured.tolist() == [0, 10, 20] and a.momentum == 0.0 and a.threshold == pytest.approx(10.0)
    assert a.lr == 0.2 and a.label == ""
    assert np.array_equal(a.sharpness, b.sharpness) and a.products == b.products
    c = st.sharpness_run.uncached(net, X, y, lr=0.2, steps=20, tol=1e-3)
    assert c.products > a.products


def test_a_warm_start_that_does_not_converge_falls_back_to_top_eigenvalue():
    """With max_iter=1 no run meets the tolerance: the first measurement is top_eigenvalue's
    two runs (1 + 1 products), each later one the warm start (1) and then top_eigenvalue (2)."""
    net, X, y = problem(seed=5)
    run = st.sharpness_run.uncached(net, X, y, lr=0.2, steps=20, every=5, max_iter=1)
    assert run.measured.tolist() == [0, 5, 10, 15, 20]
    assert run.products == 2 + 3 * 4
    nets = states(net, X, y, lr=0.2, steps=20)
    last = sh.sharpness(nets[20], X, y, seed=0, tol=1e-2, max_iter=1)
    assert not last.converged and run.sharpness[-1] == last.value  # the fallback's value, from its seeded start


def test_the_warm_start_saves_products():
    """The module's text: each later measurement starts from the previous eigenvector, so it needs
    fewer products than top_eigenvalue from its random start at the same nets."""
    net, X, y = problem()
    run = st.sharpness_run.uncached(net, X, y, lr=0.3, steps=45, every=10)
    nets = states(net, X, y, lr=0.3, steps=45)
    cold = sum(sh.sharpness(nets[k], X, y, seed=0, tol=1e-2).iterations for k in run.measured)
    assert run.products < cold


def _bias_free_line(X):
    lin = torch.nn.Linear(X.shape[1], 1, bias=False, dtype=F64)
    with torch.no_grad():
        lin.weight.fill_(0.5)
    return lin


def test_default_max_iter_caps_each_power_iteration_run_at_1000_products():
    """Hessian diag(1, 1 − 1e-6) (a bias-free linear model): at tol 1e-9 no run converges, so
    the first measurement is top_eigenvalue's two runs of 1000 products and the second the
    warm start's 1000 and top_eigenvalue's 2000."""
    X = torch.diag(torch.tensor([1.0, (1 - 1e-6) ** 0.5], dtype=F64))
    lin = _bias_free_line(X)
    run = st.sharpness_run.uncached(lin, X, torch.zeros(2, 1, dtype=F64), lr=0.5, steps=1, tol=1e-9)
    assert run.measured.tolist() == [0, 1] and run.products == 2000 + 3000
    assert np.allclose(run.sharpness, 1.0, atol=1e-6)


@pytest.mark.parametrize("scale", [0.0, 0.3])
def test_on_a_quadratic_each_warm_start_stops_at_its_first_product(scale):
    """A linear model's Hessian 2XᵀX/n is the same at every step, so the previous eigenvector
    passes the stopping test at once: one product per later measurement, none falling back to
    top_eigenvalue, whatever λmax ≥ 0 (0 for X = 0: a flat loss is not a failed measurement)."""
    g = torch.Generator().manual_seed(7)
    X = scale * torch.randn(12, 3, generator=g, dtype=F64)
    y = torch.randn(12, 1, generator=g, dtype=F64)
    lin = _bias_free_line(X)
    lam = torch.linalg.eigvalsh(2 * X.T @ X / 12)[-1].item()
    run = st.sharpness_run.uncached(lin, X, y, lr=0.5, steps=4, every=1, tol=1e-8)
    first = sh.sharpness(lin, X, y, seed=0, tol=1e-8)
    assert first.converged and not first.shifted
    assert run.products == first.iterations + 4
    assert np.allclose(run.sharpness, lam, rtol=1e-6, atol=1e-12)


def test_a_warm_start_is_power_iteration_from_the_previous_eigenvector():
    """The module's text: a later measurement runs power iteration on the Hessian from the previous
    measurement's eigenvector, with top_eigenvalue's stopping rule (‖Hv − θv‖ ≤ tol·‖Hv‖)."""
    net, X, y = problem()
    tol = 1e-6
    run = st.sharpness_run.uncached(net, X, y, lr=0.3, steps=10, every=10, tol=tol)
    nets = states(net, X, y, lr=0.3, steps=10)
    first = sh.sharpness(nets[0], X, y, seed=0, tol=tol)
    assert first.converged and not first.shifted and run.sharpness[0] == first.value
    H = sh.hvp(torch.nn.functional.mse_loss(nets[10](X), y), list(nets[10].parameters()))
    v = first.vector / torch.linalg.vector_norm(first.vector)
    for k in range(1, 1001):
        hv = H(v)
        theta = torch.dot(v, hv)
        if torch.linalg.vector_norm(hv - theta * v) <= tol * torch.linalg.vector_norm(hv):
            break
        v = hv / torch.linalg.vector_norm(hv)
    assert 1 < k < 1000 and theta >= 0  # converged, after a few products
    assert run.products == first.iterations + k
    assert run.sharpness[1] == pytest.approx(theta.item(), rel=1e-12)
