"""gdbook.compare: vectorized sweeps equal one run per rate; the grid search picks by its stated rule."""

import functools
import warnings
import math

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import compare as C
from gdbook.trajectory import Trajectory

BOOK_OPTIMIZERS = [
    (gd.optim.SGD, {}),
    (gd.optim.SGD, dict(momentum=0.9, nesterov=True)),
    (gd.optim.Adagrad, dict(lr_decay=0.01)),
    (gd.optim.RMSprop, dict(centered=True, momentum=0.5)),
    (gd.optim.Adadelta, dict(rho=0.95)),
    (gd.optim.Adam, dict(amsgrad=True)),
    (gd.optim.AdamW, {}),
]


def test_lr_grid_is_log_spaced_with_two_digits():
    assert C.lr_grid(0.01, 1.0, per_decade=2) == (0.01, 0.032, 0.1, 0.32, 1.0)
    grid = C.lr_grid(1e-4, 10.0, per_decade=3)
    assert len(grid) == 16 and grid[0] == 1e-4 and grid[-1] == 10.0
    ratios = np.diff(np.log10(grid))
    assert np.allclose(ratios, 1 / 3, atol=0.02)  # 2-digit rounding moves a point by < 5 %
    with pytest.raises(ValueError, match="low"):
        C.lr_grid(0.0, 1.0)
    with pytest.raises(ValueError, match="high"):
        C.lr_grid(1.0, 0.1)


@pytest.mark.parametrize("optimizer, hyper", BOOK_OPTIMIZERS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_sweep_equals_one_trajectory_per_rate(optimizer, hyper):
    f = gd.objectives.rosenbrock()
    lrs = (1e-3, 0.05, 3.0)  # the largest rate diverges for some methods: rows must diverge on their own
    runs = C.sweep(f, optimizer, lrs, steps=40, **hyper)
    for lr, run in zip(lrs, runs):
        ref = gd.trajectory(f, optimizer, lr=lr, steps=40, **hyper)
        assert (run.diverged, run.diverged_at, run.grad_evals, run.label) == (
            ref.diverged, ref.diverged_at, ref.grad_evals, ref.label)
        assert run.path.shape == ref.path.shape
        # Same rule, same IEEE operations: equal up to the last bits.
        np.testing.assert_allclose(run.path, ref.path, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(run.losses, ref.losses, rtol=1e-12, atol=1e-14)


def test_sweep_handles_one_dimensional_objectives_and_divergence():
    f = gd.objectives.square()
    runs = C.sweep(f, gd.optim.SGD, (0.25, 1.5), steps=2000, start=1.0)
    ok, bad = runs
    assert not ok.diverged and abs(ok.final[0]) < 1e-100  # x ← (1 − 2η)x = x/2 each step
    ref = gd.trajectory(f, gd.optim.SGD, lr=1.5, steps=2000, start=1.0)
    assert bad.diverged and bad.diverged_at == ref.diverged_at and bad.path.shape == ref.path.shape


def test_sweep_falls_back_to_trajectories_for_torch_optimizers():
    f = gd.objectives.bowl(10)
    runs = C.sweep(f, torch.optim.Adam, (0.5, 5.0), steps=30)
    book = C.sweep(f, gd.optim.Adam, (0.5, 5.0), steps=30)
    for a, b in zip(runs, book):
        assert a.label == "Adam"
        np.testing.assert_allclose(a.path, b.path, rtol=1e-12, atol=1e-12)


def test_sweep_validates_like_the_optimizer_class():
    f = gd.objectives.bowl(10)
    with pytest.raises(ValueError, match="Invalid beta"):
        C.sweep(f, gd.optim.Adam, (0.1,), betas=(0.9, 1.5))
    with pytest.raises(ValueError, match="strictly increasing"):
        C.sweep(f, gd.optim.SGD, (0.1, 0.1))
    with pytest.raises(ValueError, match="lrs"):
        C.sweep(f, gd.optim.SGD, (-0.1, 0.1))
    with pytest.raises(ValueError, match="at least one"):
        C.sweep(f, gd.optim.SGD, ())


@pytest.mark.parametrize("optimizer, hyper", [(gd.optim.SGD, dict(momentum=0.9)), (gd.optim.Adam, {}),
                                              (gd.optim.Adadelta, dict(rho=0.999))],
                         ids=["momentum", "adam", "adadelta"])
def test_sweep_regression_equals_train_regression(optimizer, hyper):
    kw = dict(batch_size=10, epochs=2, schedule=gd.schedules.decay_after(1, 0.1), period=20, seed=3)
    lrs = (0.01, 0.3, 200.0)  # 200 diverges for momentum SGD within the first epoch
    hs = C.sweep_regression(optimizer, lrs, **kw, **hyper)
    for lr, h in zip(lrs, hs):
        ref = gd.train.train_regression(optimizer, lr=lr, **kw, **hyper)
        assert (h.diverged, h.diverged_epoch, h.examples, h.steps, h.epoch, h.lr, h.label) == (
            ref.diverged, ref.diverged_epoch, ref.examples, ref.steps, ref.epoch, ref.lr, ref.label)
        # autograd sums in another order than the closed-form gradient: equal to ~1e-13.
        np.testing.assert_allclose(h.loss, ref.loss, rtol=1e-10)
        if ref.w is None:
            assert h.w is None and h.b is None
        else:
            np.testing.assert_allclose(np.append(h.w, h.b), np.append(ref.w, ref.b), rtol=1e-10, atol=1e-12)
    assert any(h.diverged for h in hs) or optimizer is not gd.optim.SGD


def test_sweep_regression_needs_a_rule():
    with pytest.raises(TypeError, match="gdbook.optim"):
        C.sweep_regression(torch.optim.SGD, (0.1,))


def _run(losses, diverged=False, label="m"):
    losses = np.asarray(losses, dtype=float)
    return Trajectory(np.zeros((len(losses), 1)), losses, label, diverged)


def test_best_of_counts_a_target_only_when_the_run_stays_below_it():
    bouncing = _run([4.0, 0.01, 3.0, 2.0])  # touches the target at step 1, then leaves
    steady = _run([4.0, 1.0, 0.1, 0.05])
    s = C.best_of([bouncing, steady], [0.1, 0.2], target=0.2)
    assert s.hits == (None, 2) and s.best_lr == 0.2 and s.steps == 2 and s.reached == 1


def test_best_of_ranks_diverged_runs_last_and_breaks_ties_toward_small_rates():
    early_but_diverged = _run([4.0, 0.01], diverged=True)
    slow = _run([4.0, 3.0, 2.5])
    slower = _run([4.0, 3.5, 3.0])
    s = C.best_of([early_but_diverged, slower, slow], [0.1, 0.2, 0.4], target=1e-3)
    assert s.best_lr == 0.4 and s.steps is None and s.final_loss == 2.5  # nobody reached: lowest final loss
    assert not s.at_edge or s.best == 2
    tie = C.best_of([_run([1.0, 0.0]), _run([1.0, 0.0])], [0.1, 0.2], target=0.5)
    assert tie.best_lr == 0.1


def test_compare_on_the_round_bowl_finds_the_one_step_rate():
    # On x² + y² one GD step with η = 1/2 lands exactly on the minimum.
    res = C.compare(gd.objectives.bowl(1), {"GD": (gd.optim.SGD, {})}, C.lr_grid(0.01, 1.0, 10), target=1e-12,
                    steps=60, start=(3.0, -4.0))
    s = res["GD"]
    assert s.best_lr == 0.5 and s.steps == 1 and not s.at_edge
    assert C.steps_rows({"bowl": res}) == [["GD", "1 (η = 0.5)"]]


def test_compare_regression_is_deterministic_and_marks_grid_edges():
    task = functools.partial(C.sweep_regression, batch_size=10, epochs=1, period=100)
    methods = {"GD": (gd.optim.SGD, {}), "Adam": (gd.optim.Adam, {})}
    lrs = {"GD": (0.01, 0.1), "Adam": (0.001, 0.01)}
    a = C.compare(task, methods, lrs, target=1e-4)
    b = C.compare(task, methods, lrs, target=1e-4)
    assert list(a) == ["GD", "Adam"]
    for name in methods:
        assert a[name].best_lr == b[name].best_lr and a[name].hits == b[name].hits
        assert a[name].best_run.loss == b[name].best_run.loss
    rows = C.steps_rows({"reg": a})
    # Adam with η ≤ 0.01 cannot get from the start to the noise floor in one epoch.
    assert rows[1][1] == "– (η = 0.01*)"
    assert rows[0][1].endswith("(η = 0.1*)") and rows[0][1][0].isdigit()


def test_thin_keeps_the_ends_and_is_dense_at_the_start():
    run = C.sweep(gd.objectives.rosenbrock(), gd.optim.SGD, (1e-3,), steps=999)[0]
    short = C.thin(run, 40)
    assert len(short.path) <= 40 and np.array_equal(short.path[0], run.path[0])
    assert np.array_equal(short.path[-1], run.path[-1]) and short.losses[-1] == run.losses[-1]
    kept = [int(np.nonzero((run.path == p).all(axis=1))[0][0]) for p in short.path]
    assert kept[:5] == [0, 1, 2, 3, 4] and np.all(np.diff(kept) > 0)
    assert C.thin(short, 100) is short


# ---------------------------------------------------------------------------
# The small network (sweep_mlp)
# ---------------------------------------------------------------------------


def _task_reference(n, seed):
    """The documented task, written out: x uniform in [-2, 2]², y = sin(2x₁) cos(1.5x₂)."""
    X = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(n, 2))
    return X, np.sin(2 * X[:, :1]) * np.cos(1.5 * X[:, 1:])


def _init_reference(width, seed):
    """The documented initialization, written out: weights N(0, 1/fan-in) drawn layer by layer
    from seed + 1, biases 0."""
    rng = np.random.default_rng(seed + 1)
    W1 = rng.normal(0.0, 1 / np.sqrt(2), size=(width, 2))
    W2 = rng.normal(0.0, 1 / np.sqrt(width), size=(width, width))
    W3 = rng.normal(0.0, 1 / np.sqrt(width), size=(1, width))
    return dict(W1=W1, b1=np.zeros(width), W2=W2, b2=np.zeros(width), W3=W3, b3=np.zeros(1))


def _torch_mlp_run(lr, groups, *, width=8, steps=15, n=32, seed=0):
    """The reference: the same network in torch, trained by torch's optimizers, one rate."""
    X, y = (torch.tensor(a) for a in _task_reference(n, seed))
    p = {k: torch.tensor(v, requires_grad=True) for k, v in _init_reference(width, seed).items()}
    opts = [cls([p[k] for k in names], lr=lr, **hyper) for cls, names, hyper in groups]
    losses = []
    for _ in range(steps + 1):
        h = torch.tanh(torch.tanh(X @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"])
        loss = ((h @ p["W3"].T + p["b3"] - y) ** 2).mean()
        losses.append(loss.item())
        for o in opts:
            o.zero_grad()
        loss.backward()
        for o in opts:
            o.step()
    return np.array(losses[:steps + 1])


def test_mlp_gradients_are_autograd_s():
    X, y = C.mlp_task(16)
    params = C._mlp_init(5, 2, seed=3)
    params["b2"] = params["b2"] + 0.1  # non-zero biases too
    loss, grads = C._mlp_loss_grads(params, X, y)
    p = {k: torch.tensor(v[1], requires_grad=True) for k, v in params.items()}
    Xt, yt = torch.tensor(X), torch.tensor(y)
    h = torch.tanh(torch.tanh(Xt @ p["W1"].T + p["b1"]) @ p["W2"].T + p["b2"])
    ref = ((h @ p["W3"].T + p["b3"] - yt) ** 2).mean()
    ref.backward()
    assert loss[1] == pytest.approx(ref.item(), rel=1e-12)
    for k in p:
        np.testing.assert_allclose(grads[k][1], p[k].grad.numpy(), rtol=1e-10, atol=1e-14)


ALL = ["W1", "b1", "W2", "b2", "W3", "b3"]


@pytest.mark.parametrize("optimizer, torch_cls, hyper, rtol", [
    (gd.optim.Adam, torch.optim.Adam, {}, 1e-9),
    (gd.optim.SGD, torch.optim.SGD, dict(momentum=0.9), 1e-9),
    (gd.optim.NAdam, torch.optim.NAdam, {}, 1e-7),  # torch keeps the μ product in float32, the sweep's rule in float64
    (gd.optim.Adafactor, torch.optim.Adafactor, {}, 1e-9),
], ids=lambda v: getattr(v, "__name__", ""))
def test_sweep_mlp_equals_torch_training_per_rate(optimizer, torch_cls, hyper, rtol):
    lrs = (1e-3, 0.03, 0.3)
    hs = C.sweep_mlp(optimizer, lrs, width=8, steps=15, n=32, **hyper)
    for lr, h in zip(lrs, hs):
        ref = _torch_mlp_run(lr, [(torch_cls, ALL, hyper)])
        got = np.array(h.loss)
        assert len(got) == 16 and h.steps == 15 and h.epoch == list(range(16))
        np.testing.assert_allclose(got, ref, rtol=rtol)


def test_sweep_mlp_gives_muon_the_hidden_matrix_and_adamw_the_rest():
    lrs = (0.01, 0.1)
    hyper = dict(adjust_lr_fn="match_rms_adamw", weight_decay=0.05)
    hs = C.sweep_mlp(gd.optim.Muon, lrs, width=8, steps=10, n=32, **hyper)
    rest = [k for k in ALL if k != "W2"]
    for lr, h in zip(lrs, hs):
        ref = _torch_mlp_run(lr, [(torch.optim.Muon, ["W2"], hyper), (torch.optim.AdamW, rest, dict(weight_decay=0.05))],
                             steps=10)
        np.testing.assert_allclose(np.array(h.loss), ref, rtol=1e-6)


def test_sweep_mlp_records_divergence_per_rate_and_needs_a_rule():
    hs = C.sweep_mlp(gd.optim.SGD, (0.01, 1e10), width=4, steps=20, n=16)
    assert not hs[0].diverged and hs[1].diverged and len(hs[1].loss) < len(hs[0].loss) == 21
    with pytest.raises(TypeError, match="gdbook.optim"):
        C.sweep_mlp(torch.optim.SGD, (0.1,))


# ---------------------------------------------------------------------------
# Grids, arguments and defaults the pages rely on
# ---------------------------------------------------------------------------


def test_lr_grid_default_density_endpoints_and_the_pages_grid():
    # three points per decade by default (the docstring's example)
    assert C.lr_grid(1e-3, 0.1) == (0.001, 0.0022, 0.0046, 0.01, 0.022, 0.046, 0.1)
    # the grid of the optimizer-comparison chapters, written out
    assert C.lr_grid(1e-4, 1e3, per_decade=2) == (
        0.0001, 0.00032, 0.001, 0.0032, 0.01, 0.032, 0.1, 0.32, 1.0, 3.2, 10.0, 32.0, 100.0, 320.0, 1000.0)
    # the ends are rounded to the nearest point of the log grid; low == high is one rate
    assert C.lr_grid(0.009, 1.1, per_decade=1) == (0.01, 0.1, 1.0)
    assert C.lr_grid(0.1, 0.1) == (0.1,)
    assert len(C.lr_grid(1.0, 10.0, per_decade=100)) == 101  # the densest grid allowed


@pytest.mark.parametrize("args, message", [
    ((0.0, 1.0), "low must be in (0.0, inf], got 0.0"),
    ((1.0, 0.1), "high must be in [1.0, inf], got 0.1"),
    ((0.1, 1.0, 0), "per_decade must be an integer in [1, 100], got 0"),
    ((0.1, 1.0, 101), "per_decade must be an integer in [1, 100], got 101"),
])
def test_lr_grid_names_the_argument_and_its_range(args, message):
    with pytest.raises(ValueError) as e:
        C.lr_grid(*args)
    assert str(e.value) == message


@pytest.mark.parametrize("lrs, message", [
    ((0.0, 0.1), "lrs must be in (0.0, inf], got 0.0"),
    ((0.2, 0.1), "lrs must be strictly increasing, got (0.2, 0.1)"),
    ((0.1, 0.3, 0.2), "lrs must be strictly increasing, got (0.1, 0.3, 0.2)"),
    ((), "lrs must hold at least one learning rate"),
])
def test_every_search_checks_its_grid_with_the_same_message(lrs, message):
    calls = []
    problems = [
        lambda: C.sweep(gd.objectives.bowl(), gd.optim.SGD, lrs, steps=1),
        lambda: C.sweep_regression(gd.optim.SGD, lrs, epochs=1),
        lambda: C.sweep_mlp(gd.optim.SGD, lrs, steps=1, width=2, n=4),
        lambda: C.best_of([_run([1.0])] * len(lrs), lrs, target=0.5),
        lambda: C.grid_search(lambda lr: calls.append(lr) or _run([1.0]), lrs, target=0.5),
        lambda: C.compare(gd.objectives.bowl(), {"GD": (gd.optim.SGD, {})}, lrs, target=0.5, steps=1),
    ]
    for problem in problems:
        with pytest.raises(ValueError) as e:
            problem()
        assert str(e.value) == message
    assert calls == []  # the grid is checked before any run


def test_sweep_defaults_are_trajectory_s_with_100_steps_and_the_objective_s_start():
    f = gd.objectives.bowl(10)
    run = C.sweep(f, gd.optim.SGD, (0.02,))[0]
    ref = gd.trajectory(f, gd.optim.SGD, lr=0.02, steps=100)
    assert run.path.shape == (101, 2) and run.grad_evals == 100 and run.label == "SGD"
    np.testing.assert_array_equal(run.path[0], f.start)
    np.testing.assert_allclose(run.path, ref.path, rtol=1e-12)
    assert C.sweep(f, gd.optim.SGD, (0.02,), steps=3, label="plain GD")[0].label == "plain GD"


def test_sweep_of_zero_steps_is_the_start_alone():
    f = gd.objectives.bowl(10)
    (run,) = C.sweep(f, gd.optim.Adam, (0.1,), steps=0, start=(1.0, 2.0))
    assert run.path.tolist() == [[1.0, 2.0]] and run.losses.tolist() == [14.0]  # 10·1² + 2²
    assert (run.diverged, run.diverged_at, run.grad_evals, run.steps) == (False, None, 0, 0)


@pytest.mark.parametrize("steps, message", [(-1, "steps must be an integer in [0, 10000000], got -1"),
                                            (10**7 + 1, "steps must be an integer in [0, 10000000], got 10000001")])
def test_sweep_names_steps_and_its_range(steps, message):
    # steps are checked before anything else (here a start of the wrong size), before any step is run
    with pytest.raises(ValueError) as e:
        C.sweep(gd.objectives.bowl(), gd.optim.SGD, (0.1,), steps=steps, start=(1.0, 2.0, 3.0))
    assert str(e.value) == message


def test_sweep_in_three_dimensions_equals_one_trajectory_per_rate():
    f = gd.quadratic.objective(np.diag([1.0, 4.0, 10.0]))
    lrs = (0.03, 0.11, 0.9)  # heavy ball is stable for η < 2(1 + β)/λ = 0.3 on λ = 10: 0.9 diverges along that axis
    runs = C.sweep(f, gd.optim.SGD, lrs, steps=200, start=(1.0, -1.0, 0.7), momentum=0.5)
    for lr, run in zip(lrs, runs):
        ref = gd.trajectory(f, gd.optim.SGD, lr=lr, steps=200, start=(1.0, -1.0, 0.7), momentum=0.5)
        assert run.path.shape == ref.path.shape and run.path.shape[1] == 3
        assert (run.diverged, run.diverged_at, run.grad_evals) == (ref.diverged, ref.diverged_at, ref.grad_evals)
        np.testing.assert_allclose(run.path, ref.path, rtol=1e-12, atol=1e-14)
    assert not runs[0].diverged and runs[2].diverged


def test_sweep_in_one_dimension_follows_the_closed_form():
    # GD on x² from the objective's start x₀ = 10: x_t = 10(1 − 2η)^t, f = x_t²
    lrs = (0.1, 0.3)
    runs = C.sweep(gd.objectives.square(), gd.optim.SGD, lrs, steps=5)
    for lr, run in zip(lrs, runs):
        x = 10.0 * (1 - 2 * lr) ** np.arange(6)
        assert run.path.shape == (6, 1)
        np.testing.assert_allclose(run.path[:, 0], x, rtol=1e-12)
        np.testing.assert_allclose(run.losses, x**2, rtol=1e-12)


def test_a_diverged_row_reports_the_step_and_the_gradients_it_took():
    # GD on x² with η = 1.5: x_t = (−2)^t x₀ overflows to inf at a known step
    run = C.sweep(gd.objectives.square(), gd.optim.SGD, (1.5,), steps=5000, start=1.0)[0]
    t = 512  # |x_t| = 2^t, and f = 4^t first overflows float64 (largest ≈ 2^1024) at t = 512
    assert run.diverged and run.diverged_at == t and run.steps == t - 1
    assert run.grad_evals == t  # the gradient that produced the non-finite step counts


def test_sweep_regression_defaults_are_train_regression_s():
    # the defaults batch 10, 5 epochs, a record every 10 examples, seed 0 (the chapters' regression settings)
    (h,) = C.sweep_regression(gd.optim.SGD, (0.05,))
    ref = gd.train.train_regression(gd.optim.SGD, lr=0.05)
    assert (h.examples, h.steps, len(h.loss), h.lr, h.label) == (5000, 500, 501, [0.05] * 5, "SGD")
    assert (h.epoch, h.examples, h.steps, h.diverged) == (ref.epoch, ref.examples, ref.steps, ref.diverged)
    np.testing.assert_allclose(h.loss, ref.loss, rtol=1e-10)
    np.testing.assert_allclose(np.append(h.w, h.b), np.append(ref.w, ref.b), rtol=1e-10)


def test_sweep_regression_on_given_data_with_a_ragged_last_batch():
    # 23 examples in batches of 10 (the last holds 3), a record every 7 examples: the last
    # record comes from the end of training, not from the period
    rng = np.random.default_rng(5)
    X = torch.tensor(rng.normal(size=(23, 3)))
    y = X @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.3
    kw = dict(batch_size=10, epochs=3, period=7, data=(X, y), seed=2, label="mine")
    hs = C.sweep_regression(gd.optim.Adam, (0.01, 0.1), **kw)
    for lr, h in zip((0.01, 0.1), hs):
        ref = gd.train.train_regression(gd.optim.Adam, lr=lr, **kw)
        assert (h.epoch, h.examples, h.steps, h.lr, h.label) == (ref.epoch, ref.examples, ref.steps, ref.lr, "mine")
        assert h.epoch[-1] == 3.0 and h.examples == 69 and h.steps == 9
        np.testing.assert_allclose(h.loss, ref.loss, rtol=1e-10)
        np.testing.assert_allclose(np.append(h.w, h.b), np.append(ref.w, ref.b), rtol=1e-10)


def test_sweep_regression_stops_a_diverged_run_at_its_record():
    kw = dict(batch_size=100, epochs=3, period=100, seed=1)
    ok, bad = C.sweep_regression(gd.optim.SGD, (0.01, 1e10), **kw)
    ref = gd.train.train_regression(gd.optim.SGD, lr=1e10, **kw)
    assert bad.diverged and (bad.diverged_epoch, bad.epoch, bad.examples, bad.steps) == (
        ref.diverged_epoch, ref.epoch, ref.examples, ref.steps)
    assert not math.isfinite(bad.loss[-1]) and all(math.isfinite(v) for v in bad.loss[:-1])
    assert bad.diverged_epoch == bad.epoch[-1]
    # the loss overflows before the weights: they are still finite, and kept as training keeps them
    np.testing.assert_allclose(np.append(bad.w, bad.b), np.append(ref.w, ref.b), rtol=1e-10)
    assert not ok.diverged and ok.epoch[-1] == 3.0 and ok.w.shape == (ref.w.shape[0],)


@pytest.mark.parametrize("kw, message", [
    (dict(epochs=0), "epochs must be an integer in [1, inf], got 0"),
    (dict(period=0), "period must be an integer in [1, inf], got 0"),
    (dict(batch_size=0), "batch_size must be an integer in [1, 1000], got 0"),
    (dict(batch_size=1001), "batch_size must be an integer in [1, 1000], got 1001"),
])
def test_sweep_regression_names_the_argument_and_its_range(kw, message):
    with pytest.raises(ValueError) as e:
        C.sweep_regression(gd.optim.SGD, (0.1,), **kw)
    assert str(e.value) == message


@pytest.mark.parametrize("sweep", [C.sweep_regression, C.sweep_mlp])
def test_the_vectorized_sweeps_name_what_they_need(sweep):
    with pytest.raises(TypeError) as e:
        sweep(torch.optim.SGD, (0.1,))
    assert str(e.value) == f"{sweep.__name__} needs one of gdbook.optim's optimizers, got SGD"


def test_mlp_task_is_the_documented_function_with_default_size_and_seed():
    X, y = C.mlp_task()
    rX, ry = _task_reference(128, 0)
    assert X.shape == (128, 2) and y.shape == (128, 1)
    np.testing.assert_array_equal(X, rX)
    np.testing.assert_allclose(y, ry, rtol=1e-15)
    assert X.min() < -1.9 and X.max() > 1.9  # the whole square [-2, 2]², not a smaller one
    X7, _ = C.mlp_task(5, seed=7)
    np.testing.assert_array_equal(X7, _task_reference(5, 7)[0])
    with pytest.raises(ValueError) as e:
        C.mlp_task(0)
    assert str(e.value) == "n must be an integer in [1, inf], got 0"


def test_sweep_mlp_defaults_width_16_n_128_seed_0_and_300_steps():
    (h,) = C.sweep_mlp(gd.optim.SGD, (0.05,))
    ref = _torch_mlp_run(0.05, [(torch.optim.SGD, ALL, {})], width=16, steps=300, n=128)
    np.testing.assert_allclose(h.loss, ref, rtol=1e-9)
    assert h.label == "SGD" and h.steps == 300 and h.examples == 300 * 128 and h.lr == [0.05] * 300
    assert h.epoch == list(range(301)) and not h.diverged


def test_sweep_mlp_starts_every_rate_from_the_same_network():
    hs = C.sweep_mlp(gd.optim.Adam, (1e-3, 0.1, 1.0), width=3, steps=2, n=8, seed=4, label="A")
    p = _init_reference(3, 4)
    X, y = _task_reference(8, 4)
    out = np.tanh(np.tanh(X @ p["W1"].T) @ p["W2"].T) @ p["W3"].T
    assert all(h.loss[0] == pytest.approx(float(((out - y) ** 2).mean()), rel=1e-12) for h in hs)
    assert [h.label for h in hs] == ["A"] * 3


def test_sweep_mlp_one_step_is_one_full_batch_step():
    (h,) = C.sweep_mlp(gd.optim.SGD, (0.3,), width=4, steps=1, n=16, seed=2)
    ref = _torch_mlp_run(0.3, [(torch.optim.SGD, ALL, {})], width=4, steps=1, n=16, seed=2)
    assert len(h.loss) == 2 and h.epoch == [0, 1] and h.steps == 1 and h.examples == 16 and h.lr == [0.3]
    np.testing.assert_allclose(h.loss, ref, rtol=1e-12)


def test_sweep_mlp_muon_with_its_defaults_gives_adamw_its_weight_decay():
    # torch's Muon defaults to weight_decay 0.1; the AdamW part takes it (not AdamW's own 0.01)
    (h,) = C.sweep_mlp(gd.optim.Muon, (0.05,), width=8, steps=10, n=32)
    rest = [k for k in ALL if k != "W2"]
    ref = _torch_mlp_run(0.05, [(torch.optim.Muon, ["W2"], {}), (torch.optim.AdamW, rest, dict(weight_decay=0.1))],
                         steps=10)
    np.testing.assert_allclose(np.array(h.loss), ref, rtol=1e-6)


def test_sweep_mlp_records_where_a_rate_diverged():
    ok, bad = C.sweep_mlp(gd.optim.SGD, (0.01, 1e10), width=4, steps=20, n=16)
    t = len(bad.loss) - 1  # the step whose loss is not finite
    assert bad.diverged and not math.isfinite(bad.loss[-1]) and all(map(math.isfinite, bad.loss[:-1]))
    assert (bad.diverged_epoch, bad.steps, bad.examples, bad.epoch) == (t, t, 16 * t, list(range(t + 1)))
    assert bad.lr == [1e10] * t and ok.lr == [0.01] * 20 and ok.diverged_epoch is None


@pytest.mark.parametrize("kw, message", [(dict(steps=0), "steps must be an integer in [1, inf], got 0"),
                                         (dict(width=0), "width must be an integer in [1, inf], got 0")])
def test_sweep_mlp_names_the_argument_and_its_range(kw, message):
    with pytest.raises(ValueError) as e:
        C.sweep_mlp(gd.optim.SGD, (0.1,), **kw)
    assert str(e.value) == message


# ---------------------------------------------------------------------------
# The rule of the search (best_of) and what it reports
# ---------------------------------------------------------------------------


def _hist(losses, diverged=False, label="h"):
    return gd.train.History(epoch=list(range(len(losses))), loss=list(losses), label=label, diverged=diverged)


def test_best_of_hits_are_the_first_record_from_which_the_loss_stays_at_or_below_target():
    runs = [
        _run([0.1, 0.2, 0.05]),        # at or below from the start: hit 0 (equal to the target counts)
        _run([1.0, 0.5, 0.2]),         # reaches the target exactly at the last record
        _run([1.0, 0.1, 0.3]),         # ends above: no hit
        _run([1.0, 0.1, np.nan]),      # a NaN counts as above
    ]
    s = C.best_of(runs, [0.1, 0.2, 0.3, 0.4], target=0.2)
    assert s.hits == (0, 2, None, None) and s.best == 0 and s.steps == 0
    assert s.target == 0.2 and s.lrs == (0.1, 0.2, 0.3, 0.4) and s.runs == tuple(runs)


def test_best_of_ranks_reaching_then_fewer_steps_then_final_loss_then_smaller_rate():
    # reaching beats a lower final loss
    s = C.best_of([_run([1.0, 0.001, 0.5]), _run([1.0, 0.9, 0.4])], [0.1, 0.2], target=0.45)
    assert s.best == 1 and s.hits == (None, 2)
    # fewer steps beat a lower final loss
    s = C.best_of([_run([1.0, 0.3, 1e-9]), _run([1.0, 0.1, 0.1])], [0.1, 0.2], target=0.2)
    assert s.best == 1 and s.hits == (2, 1)
    # the same number of steps: the lower final loss wins, whichever rate it has
    s = C.best_of([_run([1.0, 0.1, 0.1]), _run([1.0, 0.1, 0.01])], [0.1, 0.2], target=0.2)
    assert s.best == 1 and s.steps == 1
    # reached at step 0 by both: a tie on steps, then on the final loss
    s = C.best_of([_run([0.1, 0.05]), _run([0.1, 0.01])], [0.1, 0.2], target=0.2)
    assert s.best == 1 and s.hits == (0, 0)
    # reached from the start beats reached after one step, whatever the final loss
    s = C.best_of([_run([1.0, 0.1, 0.01]), _run([0.2, 0.1, 0.1])], [0.1, 0.2], target=0.2)
    assert s.best == 1 and s.hits == (1, 0)
    # all equal: the smaller rate
    s = C.best_of([_run([1.0, 0.1])] * 3, [0.1, 0.2, 0.3], target=0.2)
    assert s.best == 0


def test_best_of_never_prefers_a_diverged_run():
    # the diverged run reached the target sooner and lower, before it blew up
    fast = _run([1.0, 1e-6], diverged=True)
    slow = _run([1.0, 0.9, 0.8])  # does not even reach the target
    s = C.best_of([fast, slow], [0.5, 0.6], target=0.01)
    assert s.best == 1 and s.steps is None and s.reached == 0
    # between diverged runs, the rule still applies
    s = C.best_of([_run([1.0, 0.5], diverged=True), _run([1.0, 0.01], diverged=True)], [0.1, 0.2], target=0.1)
    assert s.best == 1 and s.steps == 1 and s.reached == 0
    assert C.steps_rows({"p": {"m": s}}) == [["m", "– (η = 0.2*)"]]  # a diverged choice shows no steps


def test_best_of_reads_training_histories_and_labels():
    s = C.best_of([_hist([4.0, 2.0, 1.0], label="a"), _hist([4.0, 0.5, 0.1], label="b")], [0.1, 0.2], target=0.6)
    assert s.hits == (None, 1) and s.label == "b" and s.final_loss == 0.1
    assert C.best_of([_hist([1.0]), _hist([0.5])], [0.1, 0.2], target=0.1, label="given").label == "given"


def test_best_of_checks_its_arguments():
    with pytest.raises(ValueError) as e:
        C.best_of([_run([1.0])], [0.1, 0.2], target=0.5)
    assert str(e.value) == "runs must hold one run per learning rate (2), got 1"
    with pytest.raises(ValueError) as e:
        C.best_of([_run([1.0])], [0.1], target=float("nan"))
    assert str(e.value) == "target must be in [-inf, inf], got nan"
    # a negative target is fine (the saddle chapter's loss goes below zero)
    assert C.best_of([_run([0.0, -2.0])], [0.1], target=-1.0).steps == 1


def test_search_reports_final_loss_reached_and_grid_edges():
    s = C.best_of([_run([1.0, 0.5, np.nan]), _run([1.0, 0.1, 0.05]), _run([1.0, 0.01], diverged=True)],
                  [0.1, 0.2, 0.4], target=0.2)
    assert s.best == 1 and s.best_lr == 0.2 and s.best_run is s.runs[1]
    assert s.reached == 1  # the diverged run's hit does not count
    assert not s.at_edge and s.final_loss == 0.05
    assert C.best_of([_run([1.0, 0.5, np.nan])], [0.1], target=0.2).final_loss == 0.5  # the last finite one
    assert math.isnan(C.best_of([_run([np.nan])], [0.1], target=0.2).final_loss)     # none is finite
    one = C.best_of([_run([1.0, 0.1])], [0.3], target=0.2)
    assert not one.at_edge  # a grid of one rate has no edge to widen
    assert C.best_of([_run([0.1]), _run([0.2])], [0.1, 0.2], target=0.5).at_edge        # the smallest rate
    assert C.best_of([_run([0.2]), _run([0.1])], [0.1, 0.2], target=0.5).at_edge        # the largest rate
    assert C.best_of([_run([0.1])] * 2, [0.1, 0.2], target=0.5).reached == 2


def test_grid_search_calls_run_once_per_rate_in_order_and_chooses_by_the_rule():
    calls = []

    def run(lr):
        calls.append(lr)
        return gd.trajectory(gd.objectives.bowl(1), gd.optim.SGD, lr=lr, steps=30, start=(3.0, -4.0))

    s = C.grid_search(run, (0.1, 0.5, 0.9), target=1e-6, label="GD")
    assert calls == [0.1, 0.5, 0.9]
    assert s.best_lr == 0.5 and s.steps == 1 and s.label == "GD"
    ref = C.best_of([run(lr) for lr in (0.1, 0.5, 0.9)], (0.1, 0.5, 0.9), target=1e-6)
    assert s.hits == ref.hits and s.best == ref.best
    assert C.grid_search(run, (0.1, 0.5), target=1e-6).label == "SGD"


def test_search_lr_is_sweep_then_best_of_with_100_steps_by_default():
    f = gd.objectives.bowl(10)
    s = C.search_lr(f, gd.optim.SGD, (0.01, 0.05, 0.09), target=1e-8)
    runs = C.sweep(f, gd.optim.SGD, (0.01, 0.05, 0.09), steps=100)
    assert [len(r.path) for r in s.runs] == [101] * 3 and s.label == "SGD"
    assert s.hits == C.best_of(runs, (0.01, 0.05, 0.09), target=1e-8).hits
    s = C.search_lr(f, gd.optim.SGD, (0.05,), target=1e-8, steps=7, start=(1.0, 1.0), label="GD", momentum=0.5)
    ref = C.sweep(f, gd.optim.SGD, (0.05,), steps=7, start=(1.0, 1.0), momentum=0.5)[0]
    np.testing.assert_array_equal(s.best_run.path, ref.path)
    assert s.label == "GD" and s.best_run.label == "GD"


def test_compare_passes_grid_label_and_hyperparameters_to_the_problem():
    calls = []

    def problem(optimizer, grid, *, label, **hyper):
        calls.append((optimizer, grid, label, hyper))
        return [_run([1.0, 0.1 * lr], label="unnamed") for lr in grid]  # the search names the method itself

    methods = {"b": (gd.optim.Adam, dict(betas=(0.8, 0.9))), "a": (gd.optim.SGD, {})}
    res = C.compare(problem, methods, {"a": (0.1, 0.2), "b": [0.3]}, target=0.5)
    assert calls == [(gd.optim.Adam, (0.3,), "b", dict(betas=(0.8, 0.9))), (gd.optim.SGD, (0.1, 0.2), "a", {})]
    assert list(res) == ["b", "a"] and res["a"].label == "a" and res["a"].best_lr == 0.1 and res["b"].lrs == (0.3,)


def test_compare_on_an_objective_uses_steps_start_and_hyper():
    f = gd.objectives.bowl(10)
    res = C.compare(f, {"HB": (gd.optim.SGD, dict(momentum=0.5))}, (0.02, 0.05), target=1e-3, steps=9, start=(1.0, 2.0))
    ref = C.sweep(f, gd.optim.SGD, (0.02, 0.05), steps=9, start=(1.0, 2.0), momentum=0.5)
    for run, r in zip(res["HB"].runs, ref):
        np.testing.assert_array_equal(run.path, r.path)
        assert run.label == "HB"
    default = C.compare(f, {"GD": (gd.optim.SGD, {})}, (0.02,), target=1e-3)["GD"].best_run
    assert len(default.path) == 101 and default.path[0].tolist() == list(f.start)  # 100 steps from f.start


def test_steps_rows_has_one_row_per_method_and_blank_cells_for_absent_ones():
    reached = C.best_of([_run([1.0, 0.1, 0.1]), _run([1.0, 0.1, 0.1]), _run([1.0, 0.5])], [0.1, 0.25, 1.5],
                        target=0.2)   # tie: the smallest rate, at the edge
    inner = C.best_of([_run([1.0, 0.5]), _run([1.0, 0.1]), _run([1.0, 0.5])], [0.1, 0.25, 1.5], target=0.2)
    never = C.best_of([_run([1.0, 0.5])], [2.0], target=0.2)
    rows = C.steps_rows({"p": {"A": reached, "B": inner}, "q": {"C": never, "A": inner}})
    assert rows == [["A", "1 (η = 0.1*)", "1 (η = 0.25)"],
                    ["B", "1 (η = 0.25)", ""],
                    ["C", "", "– (η = 2)"]]
    assert C.steps_rows({}) == []


def test_thin_keeps_steps_evenly_spaced_in_log_t_plus_1_with_60_points_by_default():
    k = 1000
    run = Trajectory(np.arange(k, dtype=float)[:, None], np.arange(k, dtype=float), "m", grad_evals=k - 1)
    short = C.thin(run)
    # independent: the points 1 … k evenly spaced in log, rounded, made steps 0 … k − 1
    kept = sorted({int(round(math.exp(math.log(k) * i / 59))) - 1 for i in range(60)})
    assert short.path[:, 0].astype(int).tolist() == kept and short.losses.astype(int).tolist() == kept
    assert len(kept) <= 60 and kept[0] == 0 and kept[-1] == k - 1
    assert (short.label, short.grad_evals) == ("m", k - 1)
    assert C.thin(run, 1000) is run and len(C.thin(run, 999).path) <= 999
    assert C.thin(run, 2).path[:, 0].tolist() == [0.0, 999.0]
    with pytest.raises(ValueError) as e:
        C.thin(run, 1)
    assert str(e.value) == "max_points must be an integer in [2, inf], got 1"


def test_sweep_runs_adafactor_one_trajectory_per_rate():
    # Adafactor's step depends on the whole parameter (its RMS): the rates cannot share one array
    f = gd.objectives.bowl(10)
    lrs = (0.01, 0.1, 1.0)
    runs = C.sweep(f, gd.optim.Adafactor, lrs, steps=20, start=(1.0, -2.0), label="AF")
    for lr, run in zip(lrs, runs):
        ref = gd.trajectory(f, gd.optim.Adafactor, lr=lr, steps=20, start=(1.0, -2.0), label="AF")
        np.testing.assert_array_equal(run.path, ref.path)
        assert run.label == "AF"


def test_sweep_regression_runs_adafactor_one_training_per_rate():
    # w and b are two parameters to Adafactor, each with its own RMS, not one row of an array
    X, y = gd.data.synthetic_regression(n=200, seed=4)
    kw = dict(batch_size=20, epochs=2, period=50, seed=1, label="AF", beta2_decay=-0.5, data=(X, y),
              schedule=gd.schedules.decay_after(1, 0.1))
    hs = C.sweep_regression(gd.optim.Adafactor, (0.01, 0.1), **kw)
    for lr, h in zip((0.01, 0.1), hs):
        ref = gd.train.train_regression(gd.optim.Adafactor, lr=lr, **kw)
        assert (h.loss, h.epoch, h.lr, h.label) == (ref.loss, ref.epoch, ref.lr, "AF")
        assert h.epoch[-1] == 2.0 and h.lr == [lr, lr * 0.1] and h.examples == 400  # the given data and schedule
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        C.sweep_regression(gd.optim.Muon, (0.1,))


def _counted_square(calls):
    """x² with a gradient that records the shape of each batch it is asked for."""
    def grad(x):
        calls.append(np.shape(x))
        return 2 * x
    return gd.objectives.Objective("x²", "x^2", lambda x: x**2, 1, grad_fn=grad, start=1.0)


def test_sweep_takes_one_batched_gradient_per_step_for_all_rates():
    calls = []
    runs = C.sweep(_counted_square(calls), gd.optim.Adam, (0.01, 0.1, 0.5), steps=10)
    # one call per step for all three rates, the 1-D points as a flat batch (as for the value)
    assert calls == [(3,)] * 10 and [r.grad_evals for r in runs] == [10] * 3


def test_sweep_stops_when_every_rate_has_diverged():
    # |x_t| = 2^t (η = 1.5) and 3^t (η = 2): the losses overflow at steps 512 and 324
    calls = []
    slow, fast = C.sweep(_counted_square(calls), gd.optim.SGD, (1.5, 2.0), steps=5000)
    assert (slow.diverged_at, fast.diverged_at) == (512, 324)
    assert len(calls) == 512  # not one gradient more than the last row needed


def test_sweep_falls_back_with_its_start_label_and_hyperparameters():
    f = gd.objectives.bowl(10)
    kw = dict(steps=15, start=(0.5, -1.0), label="HB", momentum=0.5)
    for a, b in zip(C.sweep(f, torch.optim.SGD, (0.01, 0.05), **kw), C.sweep(f, gd.optim.SGD, (0.01, 0.05), **kw)):
        assert a.label == b.label == "HB"
        np.testing.assert_allclose(a.path, b.path, rtol=1e-12, atol=1e-15)


def test_the_vectorized_sweeps_check_each_rate_with_the_class_s_message():
    for sweep in (lambda lrs: C.sweep(gd.objectives.bowl(), gd.optim.Adam, lrs, steps=1),
                  lambda lrs: C.sweep_regression(gd.optim.Adam, lrs, epochs=1),
                  lambda lrs: C.sweep_mlp(gd.optim.Adam, lrs, steps=1, width=2, n=4)):
        with pytest.raises(ValueError) as e:
            sweep((0.1, math.inf))
        assert str(e.value) == "lr must be a finite number >= 0, got inf"


@pytest.mark.parametrize("sweep", [
    lambda: C.sweep(gd.objectives.square(), gd.optim.SGD, (0.1, 1.5), steps=600, start=1.0),
    lambda: C.sweep_regression(gd.optim.SGD, (0.01, 1e10), epochs=1, period=100),
    lambda: C.sweep_mlp(gd.optim.SGD, (0.01, 1e10), width=4, steps=20, n=16),
], ids=["sweep", "sweep_regression", "sweep_mlp"])
def test_a_diverging_rate_raises_no_floating_point_warning(sweep):
    # the grids include rates that overflow on purpose: the pages' output must stay clean
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        runs = sweep()
    assert runs[1].diverged and not runs[0].diverged


def test_sweep_regression_when_every_rate_diverges():
    # one record per epoch: by then the weights have overflowed too, and are dropped
    kw = dict(batch_size=10, epochs=2, period=1000)
    hs = C.sweep_regression(gd.optim.SGD, (1e10, 1e12), **kw)
    assert len(hs) == 2
    for lr, h in zip((1e10, 1e12), hs):
        ref = gd.train.train_regression(gd.optim.SGD, lr=lr, **kw)
        assert h.diverged and (h.diverged_epoch, h.epoch, h.steps) == (ref.diverged_epoch, ref.epoch, ref.steps)
        assert h.w is None and h.b is None and ref.w is None
