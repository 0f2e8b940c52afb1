"""gdbook.train and gdbook.data: shapes, determinism, recorded divergence, recovery of w and b."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gdbook import data, optim, schedules
from gdbook.train import History, least_squares_loss, squared_loss, train_regression


def test_synthetic_regression():
    X, y = data.synthetic_regression(seed=0)
    assert X.shape == (1000, 2) and y.shape == (1000,) and X.dtype == torch.float64
    residual = y - X @ torch.tensor(data.TRUE_W, dtype=torch.float64) - data.TRUE_B
    # the noise has standard deviation 0.01: its sample std over 1000 draws is within ~5 %
    assert float(residual.std()) == pytest.approx(0.01, rel=0.1)
    X2, y2 = data.synthetic_regression(seed=0)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert not torch.equal(X, data.synthetic_regression(seed=1)[0])


def test_minibatches_cover_each_example_once():
    batches = list(data.minibatches(103, 10, seed=3))
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert sorted(torch.cat(batches).tolist()) == list(range(103))
    assert all(torch.equal(a, b) for a, b in zip(batches, data.minibatches(103, 10, seed=3)))


def test_history_shapes():
    h = train_regression(optim.SGD, lr=0.03, batch_size=10, epochs=3, period=100, seed=0)
    assert isinstance(h, History)
    assert len(h.epoch) == len(h.loss) == 1 + 3 * 1000 // 100
    assert h.epoch[0] == 0.0 and h.epoch[-1] == 3.0
    assert h.lr == [0.03] * 3
    assert h.examples == 3000 and h.steps == 300
    assert h.w.shape == (2,) and isinstance(h.b, float)
    assert h.label == "SGD"


def test_init_scale_sets_the_spread_of_the_initial_weights():
    """The first recorded loss is at the initial weights: scale 0 starts at w = 0, b = 0, and a
    larger scale starts from weights drawn with the same seed, scaled."""
    X, y = data.synthetic_regression(seed=0)
    zero = train_regression(optim.SGD, lr=0.03, epochs=1, seed=0, init_scale=0.0)
    assert zero.loss[0] == pytest.approx(float(squared_loss(torch.zeros_like(y), y)))
    g = torch.Generator().manual_seed(0)
    w = torch.randn(2, generator=g, dtype=X.dtype)
    one = train_regression(optim.SGD, lr=0.03, epochs=1, seed=0, init_scale=1.0)
    assert one.loss[0] == pytest.approx(float(squared_loss(X @ w, y)))
    with pytest.raises(ValueError):
        train_regression(optim.SGD, lr=0.03, epochs=1, init_scale=-1.0)


def test_recovers_true_parameters():
    """With noise 0.01 and 1000 examples the least-squares estimate is within ~1e-3 of the
    truth; minibatch SGD then ends within its own noise floor of that estimate."""
    X, y = data.synthetic_regression(seed=0)
    h = train_regression(optim.SGD, lr=0.03, batch_size=10, epochs=3, seed=0)
    assert not h.diverged
    np.testing.assert_allclose(h.w, [2.0, -3.4], atol=5e-3)
    assert h.b == pytest.approx(4.2, abs=5e-3)
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)
    exact = torch.linalg.lstsq(A, y[:, None]).solution[:, 0].numpy()
    np.testing.assert_allclose(np.append(h.w, h.b), exact, atol=2e-3)
    assert h.loss[-1] < 1e-4 and h.loss[-1] < h.loss[0] / 1e4


@pytest.mark.parametrize("opt,hyper", [
    (optim.SGD, dict(lr=0.05, momentum=0.9)),
    (optim.Adam, dict(lr=0.05)),
    (optim.RMSprop, dict(lr=0.03, alpha=0.99)),
    (optim.Adagrad, dict(lr=0.5)),
    (optim.Adadelta, dict(lr=1.0, rho=0.9, eps=1e-3)),
])
def test_every_optimizer_trains(opt, hyper):
    """Adaptive methods with a constant rate end in a band of width ~lr around the solution."""
    h = train_regression(opt, batch_size=10, epochs=3, seed=1, **hyper)
    assert not h.diverged
    np.testing.assert_allclose(h.w, [2.0, -3.4], atol=0.05)
    assert h.b == pytest.approx(4.2, abs=0.05)


def test_deterministic():
    a = train_regression(optim.Adam, lr=0.05, batch_size=20, epochs=2, seed=7)
    b = train_regression(optim.Adam, lr=0.05, batch_size=20, epochs=2, seed=7)
    assert a.loss == b.loss and np.array_equal(a.w, b.w) and a.b == b.b
    c = train_regression(optim.Adam, lr=0.05, batch_size=20, epochs=2, seed=8)
    assert c.loss != a.loss


def test_torch_optimizer_gives_same_history():
    a = train_regression(optim.SGD, lr=0.03, batch_size=10, epochs=2, momentum=0.5, seed=2)
    b = train_regression(torch.optim.SGD, lr=0.03, batch_size=10, epochs=2, momentum=0.5, seed=2)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-10)


def test_divergence_recorded_not_raised():
    h = train_regression(optim.SGD, lr=3.0, batch_size=10, epochs=5, seed=0)
    assert h.diverged and h.diverged_epoch is not None and 0 < h.diverged_epoch < 5
    # w and b are the last finite values (None only if they overflowed too)
    assert h.w is None or np.all(np.isfinite(h.w))
    assert not math.isfinite(h.loss[-1]) and all(math.isfinite(v) for v in h.loss[:-1])
    assert h.epoch[-1] == h.diverged_epoch


def test_schedule_sets_the_rate_per_epoch():
    h = train_regression(optim.SGD, lr=0.1, batch_size=50, epochs=4, schedule=schedules.decay_after(2, 0.1), seed=0)
    assert h.lr == pytest.approx([0.1, 0.1, 0.01, 0.001], rel=1e-12)


def test_full_batch_is_gradient_descent():
    """batch_size = n: each step is one GD step on the full loss, independent of the shuffle."""
    X, y = data.synthetic_regression(n=50, seed=4)
    h = train_regression(optim.SGD, lr=0.1, batch_size=50, epochs=3, period=50, data=(X, y), seed=0)
    g = torch.Generator().manual_seed(0)
    w = (0.01 * torch.randn(2, generator=g, dtype=X.dtype)).requires_grad_(True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    losses = [float(squared_loss(X @ w + b, y).detach())]
    for _ in range(3):
        loss = squared_loss(X @ w + b, y)
        gw, gb = torch.autograd.grad(loss, [w, b])
        with torch.no_grad():
            w -= 0.1 * gw
            b -= 0.1 * gb
        losses.append(float(squared_loss(X @ w + b, y).detach()))
    np.testing.assert_allclose(h.loss, losses, rtol=1e-12)


def test_squared_loss():
    assert float(squared_loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0]))) == 2.5


@pytest.mark.parametrize("kwargs,exc", [
    (dict(lr=-0.1), ValueError),
    (dict(lr=0.1, epochs=0), ValueError),
    (dict(lr=0.1, batch_size=0), ValueError),
    (dict(lr=0.1, batch_size=2000), ValueError),
    (dict(lr=0.1, period=0), ValueError),
    (dict(lr=0.1, epochs=1.5), TypeError),
])
def test_invalid_arguments(kwargs, exc):
    with pytest.raises(exc):
        train_regression(optim.SGD, **kwargs)


def test_sgd_chains_follow_the_update_rule_and_average():
    """One chain reproduces the update written out by hand with the same draws; the running
    average is the mean of the iterates from ``average_from`` on."""
    from gdbook.train import sgd_chains

    rng = np.random.default_rng(1)
    A = rng.normal(size=(20, 3))
    y = A @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=20)
    lr = np.array([0.1, 0.05, 0.02, 0.02])
    run = sgd_chains(A, y, lr, batch_size=2, chains=1, average_from=2, seed=7)
    star = np.linalg.lstsq(A, y, rcond=None)[0]
    draws = np.random.default_rng(7)
    th, path = np.zeros(3), [np.zeros(3)]
    for eta in lr:
        idx = draws.integers(0, 20, (1, 2))[0]
        th = th - eta * (A[idx] @ th - y[idx]) @ A[idx] / 2
        path.append(th)
    assert np.allclose(run.dist2, [((p - star) ** 2).sum() for p in path], rtol=1e-12)
    assert np.isnan(run.avg_dist2[:2]).all()
    for t in (2, 3, 4):
        assert run.avg_dist2[t] == pytest.approx(((np.mean(path[2:t + 1], axis=0) - star) ** 2).sum(), rel=1e-12)


def test_sgd_chains_never_move_away_on_consistent_data_with_small_steps():
    """With y = Aθ* exactly and b = 1, a step multiplies the component of θ − θ* along a_i by
    1 − η‖a_i‖², in [−1, 1] when η‖a_i‖² ≤ 2, and leaves the rest: no chain moves away, so the
    mean distance never grows; and it does shrink."""
    from gdbook.train import sgd_chains

    rng = np.random.default_rng(2)
    A = rng.normal(size=(30, 4))
    y = A @ rng.normal(size=4)
    eta = 1.0 / (A**2).sum(axis=1).max()
    run = sgd_chains(A, y, np.full(200, eta), chains=5, seed=0)
    assert np.all(np.diff(run.dist2) <= 1e-12 * run.dist2[0])
    assert run.dist2[-1] < 0.01 * run.dist2[0]
    assert run.dist2_se.shape == run.dist2.shape
    with pytest.raises(ValueError):
        sgd_chains(A, y[:5], np.full(3, eta))


def test_rule_chains_with_sgd_take_the_steps_of_sgd_chains():
    """rules.sgd in rule_chains makes the draws and steps of sgd_chains, chain by chain."""
    from gdbook.train import rule_chains, sgd_chains

    rng = np.random.default_rng(3)
    A = rng.normal(size=(25, 3))
    y = A @ np.array([0.5, 1.0, -1.0]) + rng.normal(size=25)
    lr = np.linspace(0.1, 0.01, 40)
    ref = sgd_chains(A, y, lr, batch_size=3, chains=6, seed=4)
    run = rule_chains(A, y, optim.rules.sgd, lr, batch_size=3, chains=6, seed=4)
    assert np.allclose(run.dist2, ref.dist2, rtol=1e-12)
    assert np.allclose(run.dist2_se, ref.dist2_se, rtol=1e-10)
    assert np.isnan(run.avg_dist2).all()


def test_rule_chains_run_each_chain_as_its_own_adam_and_radam():
    """Stacking chains as rows is exact for an elementwise rule: every chain equals a
    single-chain run of the rule with that chain's draws, state included (RAdam's step
    counter switches all chains at once)."""
    from gdbook.train import rule_chains

    rng = np.random.default_rng(5)
    A = rng.normal(size=(15, 2))
    y = A @ np.array([2.0, -1.0]) + 0.3 * rng.normal(size=15)
    star = np.linalg.lstsq(A, y, rcond=None)[0]
    lr = np.full(12, 0.05)
    for rule in (optim.rules.adam, optim.rules.radam):
        run = rule_chains(A, y, rule, lr, batch_size=2, chains=3, start=(1.0, 1.0), seed=9, betas=(0.8, 0.99))
        draws = np.random.default_rng(9)
        idx = [draws.integers(0, 15, (3, 2)) for _ in lr]
        per_chain = []
        for c in range(3):
            th, state, d2 = np.array([1.0, 1.0]), {}, [((np.array([1.0, 1.0]) - star) ** 2).sum()]
            for t, eta in enumerate(lr):
                rows = idx[t][c]
                th, state = rule(th, (A[rows] @ th - y[rows]) @ A[rows] / 2, state, lr=eta, betas=(0.8, 0.99))
                d2.append(((th - star) ** 2).sum())
            per_chain.append(d2)
        assert np.allclose(run.dist2, np.mean(per_chain, axis=0), rtol=1e-12)
        assert np.allclose(run.dist2_se, np.std(per_chain, axis=0, ddof=1) / np.sqrt(3), rtol=1e-9)
    with pytest.raises(ValueError):
        rule_chains(A, y[:4], optim.rules.adam, lr)


@pytest.mark.parametrize("kind, c", [("norm", 0.5), ("value", 0.05)])
def test_train_regression_clips_as_torch_does(kind, c):
    """Clipping in train_regression: the run equals a hand-written loop with torch's own
    clipping, and grad_norm holds the norm before clipping at every update."""
    X, y = data.synthetic_regression(n=60, seed=3)
    X[:2] *= 20                                            # a few large gradients to clip
    kw = {"clip_norm": c} if kind == "norm" else {"clip_value": c}
    h = train_regression(optim.SGD, lr=0.05, batch_size=6, epochs=2, data=(X, y), seed=1, **kw)
    g = torch.Generator().manual_seed(1)
    w = (0.01 * torch.randn(2, generator=g, dtype=X.dtype)).requires_grad_(True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.05)
    norms = []
    for _ in range(2):
        for idx in data.minibatches(60, 6, g):
            opt.zero_grad()
            squared_loss(X[idx] @ w + b, y[idx]).backward()
            norms.append(float(torch.cat([w.grad, b.grad.reshape(1)]).norm()))
            if kind == "norm":
                torch.nn.utils.clip_grad_norm_([w, b], c)
            else:
                torch.nn.utils.clip_grad_value_([w, b], c)
            opt.step()
    assert h.steps == len(h.grad_norm) == 20
    assert np.allclose(h.grad_norm, norms, rtol=1e-12)
    assert max(norms) > 10 * c                             # clipping did act
    assert np.allclose(h.w, w.detach().numpy(), rtol=1e-12) and h.b == pytest.approx(b.item(), rel=1e-12)
    with pytest.raises(ValueError, match="^give at most one of clip_norm and clip_value$"):
        train_regression(optim.SGD, lr=0.05, data=(X, y), clip_norm=1.0, clip_value=1.0)


def test_rule_chains_defaults_dtypes_and_argument_checks():
    """Defaults are one example per step, 100 chains and seed 0 (the draws of sgd_chains);
    every input is taken in float64; the rates are flattened; one chain has no standard
    error; bad shapes and counts are refused by name."""
    from gdbook.train import rule_chains, sgd_chains

    rng = np.random.default_rng(6)
    A = rng.normal(size=(12, 2))
    y = A @ np.array([1.0, -1.0]) + rng.normal(size=12)
    lr = np.array([[0.05, 0.04], [0.03, 0.02]])
    run = rule_chains(A, y, optim.rules.sgd, lr)
    ref = sgd_chains(A, y, lr.ravel(), batch_size=1, chains=100, seed=0)
    assert run.dist2.shape == (5,) and np.allclose(run.dist2, ref.dist2, rtol=1e-12)
    assert np.allclose(run.theta_star, np.linalg.lstsq(A, y, rcond=None)[0], rtol=1e-12)
    low = rule_chains(A.astype(np.float32), y.astype(np.float32), optim.rules.sgd, lr.astype(np.float32),
                      start=np.array([0.5, 0.25], dtype=np.float32))
    high = rule_chains(A.astype(np.float32).astype(np.float64), y.astype(np.float32).astype(np.float64),
                       optim.rules.sgd, lr.astype(np.float32).astype(np.float64), start=[0.5, 0.25])
    assert np.allclose(low.dist2, high.dist2, rtol=1e-12)          # computed in float64, not float32
    import warnings

    with warnings.catch_warnings():  # one chain has no standard error: NaN, without NumPy's ddof warning
        warnings.simplefilter("error")
        one = rule_chains(A, y, optim.rules.sgd, np.full(3, 0.01), chains=1, start=[1, 1])
    assert one.dist2_se.shape == (4,) and np.isnan(one.dist2_se).all()
    assert one.dist2[0] == pytest.approx(((np.ones(2) - run.theta_star) ** 2).sum(), rel=1e-12)
    two = rule_chains(A, y, optim.rules.sgd, np.full(3, 0.01), chains=2)
    assert np.isfinite(two.dist2_se).all()
    with pytest.raises(ValueError, match="A must be"):
        rule_chains(A[:, 0], y, optim.rules.sgd, lr)
    for kw, name in (({"batch_size": 0}, "batch_size"), ({"chains": 0}, "chains")):
        with pytest.raises(ValueError, match=name):
            rule_chains(A, y, optim.rules.sgd, lr, **kw)


# ---------------------------------------------------------------------------
# gdbook.data: defaults, dimensions, seeds and the errors' messages
# ---------------------------------------------------------------------------


def test_synthetic_regression_defaults_dimensions_and_noise():
    """The defaults are the book's w = (2, −3.4), b = 4.2, 1000 examples, noise 0.01, seed 0; with
    noise 0 the targets are exactly Xw + b, in any dimension."""
    X, y = data.synthetic_regression()
    X0, y0 = data.synthetic_regression(w=(2.0, -3.4), b=4.2, n=1000, noise=0.01, seed=0)
    assert torch.equal(X, X0) and torch.equal(y, y0)
    assert data.TRUE_W == (2.0, -3.4) and data.TRUE_B == 4.2
    w = (1.0, -2.0, 0.5)
    X3, y3 = data.synthetic_regression(w=w, b=-1.0, n=7, noise=0.0, seed=3)
    assert X3.shape == (7, 3) and y3.dtype == torch.float64
    assert torch.equal(y3, X3 @ torch.tensor(w, dtype=torch.float64) - 1.0)
    X1, y1 = data.synthetic_regression(w=(3.0,), b=0.0, n=1, noise=0.0)
    assert X1.shape == (1, 1) and float(y1[0]) == 3.0 * float(X1[0, 0])
    # the noise scales with its standard deviation, the same draws underneath
    _, y_big = data.synthetic_regression(noise=1.0)
    clean = X0 @ torch.tensor(data.TRUE_W, dtype=torch.float64) + 4.2
    np.testing.assert_allclose((y_big - clean).numpy(), 100 * (y0 - clean).numpy(), rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match=r"^n must be an integer in \[1, inf\], got 0$"):
        data.synthetic_regression(n=0)
    with pytest.raises(ValueError, match=r"^noise must be in \[0.0, inf\], got -0.1$"):
        data.synthetic_regression(noise=-0.1)


def test_synthetic_classification_classes_and_means():
    """Half the examples (rounded down) are class 1, the first ones; the class means sit at
    ±(s/2)·1/√d, a distance s apart, in any dimension; the defaults are n = 200, d = 2, s = 1.5, seed 0."""
    X, y = data.synthetic_classification(n=11, d=3, seed=1)
    assert X.shape == (11, 3) and X.dtype == np.float64 and y.dtype == np.float64
    assert y.tolist() == [1.0] * 5 + [0.0] * 6
    Xd, yd = data.synthetic_classification()
    Xe, ye = data.synthetic_classification(n=200, d=2, separation=1.5, seed=0)
    assert Xd.shape == (200, 2) and np.array_equal(Xd, Xe) and np.array_equal(yd, ye)
    assert not np.array_equal(Xd, data.synthetic_classification(seed=1)[0])
    for d, s in ((1, 2.0), (4, 3.0)):
        X, y = data.synthetic_classification(n=40_000, d=d, separation=s, seed=2)
        one, zero = X[y == 1].mean(axis=0), X[y == 0].mean(axis=0)
        np.testing.assert_allclose(one, np.full(d, s / 2 / np.sqrt(d)), atol=0.03)
        np.testing.assert_allclose(zero, np.full(d, -s / 2 / np.sqrt(d)), atol=0.03)
        assert np.linalg.norm(one - zero) == pytest.approx(s, abs=0.05)
        assert X[y == 1].std(axis=0) == pytest.approx(np.ones(d), abs=0.03)  # identity covariance
    # the draws are float64, not float32 numbers promoted: hardly any offset from its class mean is a float32
    X, y = data.synthetic_classification(n=500, d=3, seed=4)
    noise = X - (2 * y[:, None] - 1) * 1.5 / 2 / np.sqrt(3)
    assert np.mean(noise.astype(np.float32).astype(np.float64) == noise) < 0.01
    with pytest.raises(ValueError, match=r"^n must be an integer in \[2, inf\], got 1$"):
        data.synthetic_classification(n=1)
    with pytest.raises(ValueError, match=r"^d must be an integer in \[1, inf\], got 0$"):
        data.synthetic_classification(d=0)
    with pytest.raises(ValueError, match=r"^separation must be in \[0.0, inf\], got -1.0$"):
        data.synthetic_classification(separation=-1.0)
    assert data.synthetic_classification(n=2, d=1, separation=0.0)[1].tolist() == [1.0, 0.0]


def test_minibatches_seed_generator_and_limits():
    """Seed 0 by default; a torch.Generator continues its sequence from one pass to the next;
    a batch of n is one batch of everything; batch_size out of [1, n] or n < 1 is named."""
    assert all(torch.equal(a, b) for a, b in zip(data.minibatches(10, 3), data.minibatches(10, 3, seed=0)))
    assert not all(torch.equal(a, b) for a, b in zip(data.minibatches(10, 3), data.minibatches(10, 3, seed=1)))
    g = torch.Generator().manual_seed(5)
    first, second = torch.cat(list(data.minibatches(10, 3, g))), torch.cat(list(data.minibatches(10, 3, g)))
    ref = torch.Generator().manual_seed(5)
    assert torch.equal(first, torch.randperm(10, generator=ref)) and torch.equal(second, torch.randperm(10, generator=ref))
    whole = list(data.minibatches(10, 10, seed=2))
    assert len(whole) == 1 and sorted(whole[0].tolist()) == list(range(10))
    assert [b.tolist() for b in data.minibatches(1, 1)] == [[0]]
    with pytest.raises(ValueError, match=r"^batch_size must be an integer in \[1, 10\], got 11$"):
        list(data.minibatches(10, 11))
    with pytest.raises(ValueError, match=r"^batch_size must be an integer in \[1, 10\], got 0$"):
        list(data.minibatches(10, 0))
    with pytest.raises(ValueError, match=r"^n must be an integer in \[1, inf\], got 0$"):
        list(data.minibatches(0, 1))


# ---------------------------------------------------------------------------
# train_regression: defaults, when it records, what a divergence leaves
# ---------------------------------------------------------------------------


def test_train_regression_defaults():
    """batch_size 10, 5 epochs, a record every 10 examples, seed 0, init_scale 0.01, a constant rate."""
    h = train_regression(optim.SGD, lr=0.01)
    ref = train_regression(optim.SGD, lr=0.01, batch_size=10, epochs=5, period=10, seed=0, init_scale=0.01,
                           schedule=schedules.constant())
    assert h.loss == ref.loss and h.epoch == ref.epoch and np.array_equal(h.w, ref.w) and h.b == ref.b
    assert h.steps == 500 and h.examples == 5000 and len(h.loss) == 1 + 500 and h.lr == [0.01] * 5
    assert h.label == "SGD" and train_regression(optim.SGD, lr=0.01, epochs=1, label="mine").label == "mine"


def test_records_at_the_first_batch_boundary_past_each_period_and_at_the_end():
    """n = 50, batches of 20, 20, 10, a record every 30 examples: at 0, then at 40 (past 30), 70
    (past 60), 90 (past 90) and at the end, 100; never twice for one multiple."""
    X, y = data.synthetic_regression(n=50, seed=1)
    h = train_regression(optim.SGD, lr=0.05, batch_size=20, epochs=2, period=30, data=(X, y), seed=0)
    assert h.epoch == [0.0, 0.8, 1.4, 1.8, 2.0]
    assert h.steps == 6 and h.examples == 100 and len(h.lr) == 2


def test_zero_rate_leaves_the_initial_weights():
    """lr = 0 is allowed (the bound is inclusive): the weights stay at their seeded start, the loss flat."""
    h = train_regression(optim.SGD, lr=0.0, epochs=1, period=500, seed=3)
    w0 = 0.01 * torch.randn(2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert np.array_equal(h.w, w0.numpy()) and h.b == 0.0 and len(set(h.loss)) == 1 and len(h.loss) == 3


def test_divergence_stops_at_once_and_keeps_finite_weights_only():
    """The first non-finite record stops the run (no further step); w and b are kept when finite,
    None when they overflowed too."""
    y = torch.zeros(20, dtype=torch.float64)
    big = train_regression(optim.SGD, lr=1.0, batch_size=10, epochs=2, period=10, seed=0,
                           data=(torch.full((20, 2), 1e100, dtype=torch.float64), y))
    assert big.diverged and big.diverged_epoch == 0.5 and big.steps == 1 and big.examples == 10
    assert math.isfinite(big.loss[0]) and big.loss[1] == math.inf and big.epoch == [0.0, 0.5]
    assert big.w is not None and np.all(np.isfinite(big.w)) and math.isfinite(big.b)
    huge = train_regression(optim.SGD, lr=1.0, batch_size=10, epochs=2, period=10, seed=0,
                            data=(torch.full((20, 2), 1e160, dtype=torch.float64), y))
    assert huge.diverged and huge.steps == 1 and huge.w is None and huge.b is None
    ok = train_regression(optim.SGD, lr=0.01, epochs=1, period=1000)
    assert not ok.diverged and ok.diverged_epoch is None


def test_train_regression_messages():
    for kwargs, exc, message in [
        (dict(lr=-0.1), ValueError, r"^lr must be in \[0.0, inf\], got -0.1$"),
        (dict(lr=0.1, epochs=0), ValueError, r"^epochs must be an integer in \[1, inf\], got 0$"),
        (dict(lr=0.1, period=0), ValueError, r"^period must be an integer in \[1, inf\], got 0$"),
        (dict(lr=0.1, batch_size=1001), ValueError, r"^batch_size must be an integer in \[1, 1000\], got 1001$"),
        (dict(lr=0.1, batch_size=0), ValueError, r"^batch_size must be an integer in \[1, 1000\], got 0$"),
        (dict(lr=0.1, init_scale=-1.0), ValueError, r"^init_scale must be in \[0.0, inf\], got -1.0$"),
    ]:
        with pytest.raises(exc, match=message):
            train_regression(optim.SGD, **kwargs)
    h = train_regression(optim.SGD, lr=0.1, batch_size=1000, epochs=1, period=1)  # batch_size = n: allowed
    assert h.steps == 1 and h.epoch == [0.0, 1.0]


# ---------------------------------------------------------------------------
# sgd_chains: defaults, start, one chain, averaging from the start
# ---------------------------------------------------------------------------


def test_sgd_chains_defaults_start_and_standard_error():
    """100 chains of batch 1 from θ = 0, seed 0; a given start; one chain has no standard error;
    average_from = 0 averages from θ₀; a single rate is one step."""
    from gdbook.train import sgd_chains

    rng = np.random.default_rng(4)
    A = rng.normal(size=(15, 2))
    y = A @ np.array([1.0, 2.0]) + 0.1 * rng.normal(size=15)
    lr = np.full(6, 0.1)
    run = sgd_chains(A, y, lr)
    same = sgd_chains(A, y, lr, batch_size=1, chains=100, start=np.zeros(2), average_from=0, seed=0)
    assert np.array_equal(run.dist2, same.dist2) and np.array_equal(run.avg_dist2, same.avg_dist2)
    star = np.linalg.lstsq(A, y, rcond=None)[0]
    assert run.dist2[0] == pytest.approx((star**2).sum(), rel=1e-12) and run.avg_dist2[0] == run.dist2[0]
    assert run.dist2.shape == run.dist2_se.shape == run.avg_dist2.shape == (7,)
    from_star = sgd_chains(A, y, lr, start=star, chains=3)
    assert from_star.dist2[0] == 0.0
    one = sgd_chains(A, y, 0.1, chains=1, seed=1)
    assert one.dist2.shape == (2,) and np.isnan(one.dist2_se).all()
    assert run.dist2_se[0] == 0.0 and np.all(run.dist2_se[1:] > 0)  # a shared start, then differing draws
    for kwargs, message in [
        (dict(batch_size=0), r"^batch_size must be an integer in \[1, inf\], got 0$"),
        (dict(chains=0), r"^chains must be an integer in \[1, inf\], got 0$"),
        (dict(average_from=-1), r"^average_from must be an integer in \[0, inf\], got -1$"),
    ]:
        with pytest.raises(ValueError, match=message):
            sgd_chains(A, y, lr, **kwargs)
    with pytest.raises(ValueError, match=r"^A must be \(n, d\) and y \(n,\), got \(15,\) and \(15,\)$"):
        sgd_chains(A[:, 0], y, lr)


def test_sgd_chains_mean_standard_error_and_late_average_over_several_chains():
    """Three chains written out by hand with the same draws: dist2 is their mean, dist2_se the
    standard error (ddof 1) over them, theta_star the least-squares solution, and an average
    that starts at the last step is the last iterate (its distance averaged over the chains)."""
    from gdbook.train import sgd_chains

    rng = np.random.default_rng(6)
    A = rng.normal(size=(12, 2))
    y = A @ np.array([0.5, -1.0]) + 0.3 * rng.normal(size=12)
    lr, chains, b = np.array([0.2, 0.1, 0.1]), 3, 2
    for k in (3, 2):
        run = sgd_chains(A, y, lr, batch_size=b, chains=k, average_from=3, seed=9)
        star = np.linalg.lstsq(A, y, rcond=None)[0]
        np.testing.assert_allclose(run.theta_star, star, rtol=1e-12)
        draws, th = np.random.default_rng(9), np.zeros((k, 2))
        per_chain = [((th - star) ** 2).sum(axis=1)]
        for eta in lr:
            idx = draws.integers(0, 12, (k, b))
            th = np.stack([th[c] - eta * (A[idx[c]] @ th[c] - y[idx[c]]) @ A[idx[c]] / b for c in range(k)])
            per_chain.append(((th - star) ** 2).sum(axis=1))
        per_chain = np.array(per_chain)
        np.testing.assert_allclose(run.dist2, per_chain.mean(axis=1), rtol=1e-12)
        np.testing.assert_allclose(run.dist2_se[1:], per_chain[1:].std(axis=1, ddof=1) / np.sqrt(k), rtol=1e-9)
        assert np.isnan(run.avg_dist2[:3]).all() and run.avg_dist2[3] == pytest.approx(run.dist2[3], rel=1e-12)
    import warnings

    with warnings.catch_warnings():  # one chain has no standard error: NaN, without NumPy's ddof warning
        warnings.simplefilter("error")
        one = sgd_chains(A, y, lr, chains=1)
    assert one.dist2_se.shape == (4,) and np.isnan(one.dist2_se).all()


def test_the_schedule_sets_the_rate_the_optimizer_uses():
    """The rate of each epoch is the one the optimizer steps with (a schedule of 0 freezes the
    weights whatever lr is), and the optimizer is built with lr (a factory may require it)."""
    frozen = train_regression(optim.SGD, lr=0.5, epochs=2, period=1000, seed=2, schedule=lambda epoch: 0.0)
    w0 = 0.01 * torch.randn(2, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert np.array_equal(frozen.w, w0.numpy()) and frozen.b == 0.0 and frozen.lr == [0.0, 0.0]
    seen = []

    def needs_lr(params, lr):
        seen.append(lr)
        return optim.SGD(params, lr=lr)

    h = train_regression(needs_lr, lr=0.03, epochs=1, period=1000)
    assert seen == [0.03] and not h.diverged


def test_least_squares_loss_is_the_lowest_loss_of_the_task():
    X, y = data.synthetic_regression(seed=3)
    floor = least_squares_loss((X, y))
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
    best = torch.linalg.lstsq(A, y[:, None]).solution[:, 0]
    assert floor == pytest.approx(squared_loss(A @ best, y).item(), rel=1e-12)
    for delta in (1e-3, -1e-3):                          # any other (w, b) does worse
        assert squared_loss(A @ (best + delta), y).item() > floor
    assert least_squares_loss() == pytest.approx(least_squares_loss(data.synthetic_regression(seed=0)), rel=1e-12)
    with pytest.raises(ValueError, match="data must be"):
        least_squares_loss((X, y[:-1]))
