"""gdbook.trajectory: shapes, determinism, recorded divergence, and the closed form of GD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import objectives, optim
from gdbook.trajectory import Trajectory, optimizer_name, start_point


def test_shapes_2d():
    run = gd.trajectory(objectives.bowl(10), optim.SGD, lr=0.01, steps=20)
    assert isinstance(run, Trajectory)
    assert run.path.shape == (21, 2) and run.losses.shape == (21,)
    assert run.steps == 20 and run.grad_evals == 20
    np.testing.assert_array_equal(run.path[0], objectives.bowl(10).start)
    np.testing.assert_array_equal(run.final, run.path[-1])
    assert run.label == "SGD" and not run.diverged and run.diverged_at is None


def test_shapes_1d_and_zero_steps():
    run = gd.trajectory(objectives.square(), optim.SGD, lr=0.1, steps=5, start=3.0)
    assert run.path.shape == (6, 1) and run.losses.shape == (6,)
    still = gd.trajectory(objectives.square(), optim.SGD, lr=0.1, steps=0, start=3.0)
    assert still.path.shape == (1, 1) and still.losses.tolist() == [9.0]


def test_losses_are_values_on_the_path():
    f = objectives.rosenbrock()
    run = gd.trajectory(f, optim.Adam, lr=0.05, steps=30)
    np.testing.assert_allclose(run.losses, f.value(run.path), rtol=1e-15)


def test_deterministic():
    a = gd.trajectory(objectives.himmelblau(), optim.Adam, lr=0.05, steps=100, start=(-1.0, 1.0))
    b = gd.trajectory(objectives.himmelblau(), optim.Adam, lr=0.05, steps=100, start=(-1.0, 1.0))
    assert np.array_equal(a.path, b.path) and np.array_equal(a.losses, b.losses)


@pytest.mark.parametrize("c,eta", [(1.0, 0.1), (10.0, 0.01), (10.0, 0.09), (20.0, 0.045), (0.5, 0.3)])
def test_gd_on_quadratic_matches_closed_form(c, eta):
    """On c x² + y², GD multiplies x by (1 − 2ηc) and y by (1 − 2η) at every step."""
    steps = 40
    start = np.array([-70.0, 70.0])
    run = gd.trajectory(objectives.bowl(c), optim.SGD, lr=eta, steps=steps, start=start)
    t = np.arange(steps + 1)
    expected = np.stack([start[0] * (1 - 2 * eta * c) ** t, start[1] * (1 - 2 * eta) ** t], axis=1)
    np.testing.assert_allclose(run.path, expected, rtol=1e-12, atol=1e-12 * 70)


def test_gd_on_square_matches_closed_form():
    run = gd.trajectory(objectives.square(), optim.SGD, lr=0.2, steps=30, start=10.0)
    np.testing.assert_allclose(run.path[:, 0], 10.0 * 0.6 ** np.arange(31), rtol=1e-13)


@pytest.mark.parametrize("objective,lr,start", [
    (objectives.square(), 1.5, 1.0),
    (objectives.bowl(10), 0.2, None),
    (objectives.cubic2d(), 0.1, None),
])
def test_divergence_is_recorded_not_raised(objective, lr, start):
    run = gd.trajectory(objective, optim.SGD, lr=lr, steps=5000, start=start)
    assert run.diverged and isinstance(run.diverged_at, int) and 1 <= run.diverged_at <= 5000
    assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.losses))
    assert run.steps == run.diverged_at - 1 and len(run.path) == run.diverged_at
    assert run.grad_evals == run.diverged_at


def test_threshold_of_divergence_on_bowl():
    """GD on c x² + y² is stable iff η < 1/c: just below |x| shrinks, just above it grows."""
    f = objectives.bowl(10)
    below = gd.trajectory(f, optim.SGD, lr=0.099, steps=300)
    above = gd.trajectory(f, optim.SGD, lr=0.101, steps=300)
    assert abs(below.final[0]) < 0.01 * 70 < 70 * 1.1 < abs(above.final[0])
    assert not below.diverged and not above.diverged  # growth by 1.02 per step takes long to overflow
    assert gd.trajectory(f, optim.SGD, lr=0.11, steps=5000).diverged


def test_steps_to():
    run = gd.trajectory(objectives.square(), optim.SGD, lr=0.25, steps=30, start=1.0)
    # x_t = 0.5^t, f = 0.25^t: f <= 1e-6 first at t = 10
    assert run.steps_to(1e-6) == 10
    assert run.steps_to(1e-30) is None
    # the first step with f - f_min <= tol, the bound included (0.25^10 is exact in binary)
    assert run.steps_to(0.25**10) == 10 and run.steps_to(0.25**10 * (1 - 1e-15)) == 11
    assert run.steps_to(1.0) == 0 and run.steps_to(1 + 0.25**10, f_min=-1.0) == 10


def test_any_torch_optimizer_and_same_result():
    f = objectives.rosenbrock()
    ours = gd.trajectory(f, optim.SGD, lr=1e-3, momentum=0.9, steps=200)
    theirs = gd.trajectory(f, torch.optim.SGD, lr=1e-3, momentum=0.9, steps=200)
    np.testing.assert_allclose(ours.path, theirs.path, rtol=1e-12, atol=1e-14)
    assert theirs.label == "SGD"
    assert gd.trajectory(f, lambda p, **k: optim.Adam(p, **k), lr=0.1, steps=3, label="mine").label == "mine"


def test_default_optimizer_is_plain_gd():
    f = objectives.bowl(2)
    a = gd.trajectory(f, lr=0.1, steps=10)
    b = gd.trajectory(f, optim.SGD, lr=0.1, steps=10)
    assert np.array_equal(a.path, b.path)


def test_autograd_objective():
    """Beale has no analytic gradient: the run uses autograd and still descends."""
    run = gd.trajectory(objectives.beale(), optim.Adam, lr=0.01, steps=50)
    assert run.losses[-1] < run.losses[0]


def test_optimizer_name():
    assert optimizer_name(optim.Adam) == "Adam"
    assert optimizer_name(torch.optim.RMSprop) == "RMSprop"


@pytest.mark.parametrize("kwargs,exc", [
    (dict(steps=-1), ValueError),
    (dict(steps=2.5), TypeError),
    (dict(start=(1.0, 2.0, 3.0)), ValueError),
    (dict(lr=-1.0), ValueError),
])
def test_invalid_arguments(kwargs, exc):
    with pytest.raises(exc):
        gd.trajectory(objectives.bowl(1), optim.SGD, **{"lr": 0.1, **kwargs})


def test_start_required_when_no_default():
    f = objectives.risk()
    assert f.start is None
    with pytest.raises(ValueError, match="start is required"):
        gd.trajectory(f, optim.SGD, lr=0.1)


# ---------------------------------------------------------------------------
# Defaults, messages and boundaries a caller relies on
# ---------------------------------------------------------------------------


def test_default_steps_and_label():
    """Twenty steps unless told; the label is the optimizer's (the rule's) name unless given."""
    f = objectives.bowl(2)
    run = gd.trajectory(f, optim.SGD, lr=0.1)
    assert run.steps == 20 and run.grad_evals == 20 and run.label == "SGD"
    rr = gd.run_rule(f, optim.rules.sgd, lr=0.1)
    assert rr.steps == 20 and rr.label == "sgd"
    assert gd.run_rule(f, optim.rules.sgd, lr=0.1, steps=1, label="mine").label == "mine"
    assert gd.run_rule(f, lambda x, g, s, **h: (x - 0.1 * g, s), steps=1).label == "<lambda>"


def test_one_step_and_steps_limits():
    """One step is one update from the start; steps are checked: 0 .. 10**7 (trajectory), 0 .. 10**8 (run_rule)."""
    f = objectives.bowl(2)
    one = gd.trajectory(f, optim.SGD, lr=0.1, steps=1, start=(1.0, 1.0))
    np.testing.assert_allclose(one.path, [[1.0, 1.0], [1 - 0.1 * 4, 1 - 0.1 * 2]], rtol=1e-15)
    rr = gd.run_rule(f, optim.rules.sgd, lr=0.1, steps=1, start=(1.0, 1.0))
    np.testing.assert_allclose(rr.path, one.path, rtol=1e-15)
    assert rr.grad_evals == 1 and rr.losses.tolist() == [f.value(np.array([1.0, 1.0])), f.value(rr.path[1])]
    for call, high in ((gd.trajectory, 10**7), (gd.run_rule, 10**8)):
        opt = optim.SGD if call is gd.trajectory else optim.rules.sgd
        with pytest.raises(ValueError, match=rf"^steps must be an integer in \[0, {high}\], got -1$"):
            call(f, opt, lr=0.1, steps=-1)
        with pytest.raises(ValueError, match=rf"^steps must be an integer in \[0, {high}\], got {high + 1}$"):
            call(f, opt, lr=0.1, steps=high + 1)
    still = gd.run_rule(f, optim.rules.sgd, lr=0.1, steps=0, start=(1.0, 2.0))
    assert still.path.tolist() == [[1.0, 2.0]] and still.grad_evals == 0 and not still.diverged


def test_run_rule_takes_the_optimizers_path():
    """The pure rule and its class take the same path (1-D and 2-D objectives), and a rule without a class runs."""
    for f, start in ((objectives.rosenbrock(), None), (objectives.square(), 3.0)):
        a = gd.trajectory(f, optim.Adam, lr=0.05, steps=40, start=start)
        b = gd.run_rule(f, optim.rules.adam, lr=0.05, steps=40, start=start)
        np.testing.assert_allclose(b.path, a.path, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b.losses, f.value(b.path if f.dim > 1 else b.path[:, 0]), rtol=1e-15)
    ema = gd.run_rule(objectives.bowl(10), optim.rules.momentum_ema, lr=0.05, momentum=0.5, steps=3)
    classic = gd.run_rule(objectives.bowl(10), optim.rules.momentum_classic, lr=0.025, momentum=0.5, steps=3)
    np.testing.assert_allclose(ema.path, classic.path, rtol=1e-12)


@pytest.mark.parametrize("objective,lr,start", [(objectives.square(), 1.5, 1.0), (objectives.bowl(10), 0.2, None)])
def test_run_rule_records_divergence(objective, lr, start):
    """As trajectory: the run stops at the first non-finite value, keeps the finite points, counts the
    gradient that produced it, and reaches the same step as the class."""
    run = gd.run_rule(objective, optim.rules.sgd, lr=lr, steps=5000, start=start)
    ref = gd.trajectory(objective, optim.SGD, lr=lr, steps=5000, start=start)
    assert run.diverged and run.diverged_at == ref.diverged_at
    assert np.all(np.isfinite(run.path)) and np.all(np.isfinite(run.losses))
    assert len(run.path) == run.diverged_at and run.grad_evals == run.diverged_at
    fine = gd.run_rule(objective, optim.rules.sgd, lr=0.01, steps=5, start=start)
    assert not fine.diverged and fine.diverged_at is None and fine.grad_evals == 5


def test_divergence_at_an_infinite_loss_with_finite_point():
    """A point still finite whose loss overflows counts as divergence: the loss is checked, not only the point."""
    f = objectives.square()
    start = 1.3e154  # f = 1.69e308, finite; one ascent step to 1.56e154 makes f overflow
    for run in (gd.trajectory(f, optim.SGD, lr=0.1, maximize=True, steps=3, start=start),
                gd.run_rule(f, optim.rules.sgd, lr=0.1, maximize=True, steps=3, start=start)):
        assert run.diverged and run.diverged_at == 1 and run.path.tolist() == [[start]]
        assert run.grad_evals == 1 and np.isfinite(run.losses).all()


def test_arguments_named_in_errors():
    f = objectives.bowl(1)
    with pytest.raises(TypeError, match=r"^optimizer must be an optimizer class or factory \(gd\.optim\.SGD\), "
                                        r"not an instance"):
        gd.trajectory(f, optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1), lr=0.1)
    with pytest.raises(TypeError, match=r"^optimizer must be an optimizer class or a callable\(params, \*\*hyper\), "
                                        r"got str: 'SGD'$"):
        gd.trajectory(f, "SGD", lr=0.1)
    with pytest.raises(TypeError, match=r"^rule must be an update rule"):
        gd.run_rule(f, optim.SGD, lr=0.1)
    with pytest.raises(TypeError, match=r"^rule must be an update rule"):
        gd.run_rule(f, "sgd", lr=0.1)
    with pytest.raises(TypeError, match=r"^objective must be a gdbook Objective"):
        gd.trajectory(lambda x: x * x, optim.SGD, lr=0.1)
    with pytest.raises(TypeError, match=r"^start must be a number or a sequence of 2 numbers, got 'a'$"):
        gd.trajectory(f, optim.SGD, lr=0.1, start="a")
    with pytest.raises(ValueError, match=r"^start must be a point \(a flat sequence of 2 coordinate\(s\)\), "
                                         r"got an array of shape \(1, 2\)$"):
        gd.trajectory(f, optim.SGD, lr=0.1, start=[[1.0, 2.0]])
    with pytest.raises(ValueError, match=r"^start must have 2 coordinate\(s\) for 'x² \+ y²', got 1$"):
        start_point(f, 1.0)
    with pytest.raises(ValueError, match=r"^start must be finite, got \[1\.0, nan\]$"):
        start_point(f, (1.0, float("nan")))
    p = start_point(objectives.square(), 3)
    assert p.dtype == np.float64 and p.tolist() == [3.0]


def test_messages_name_the_culprits_type_and_labels_without_a_name():
    """The errors name the type that was passed; a factory or rule without a ``__name__`` is
    labelled by its type (trajectory) or as "rule" (run_rule)."""
    import functools

    f = objectives.bowl(1)
    with pytest.raises(TypeError) as info:
        gd.trajectory(lambda x: x * x, optim.SGD, lr=0.1)
    assert str(info.value).startswith("objective must be a gdbook Objective") and ", got function: <function" in str(info.value)
    with pytest.raises(TypeError) as info:
        gd.trajectory(f, optim.Adam([torch.zeros(1, requires_grad=True)]), lr=0.1)
    assert str(info.value) == ("optimizer must be an optimizer class or factory (gd.optim.Adam), not an instance: "
                               "pass the class and its hyperparameters, trajectory(f, gd.optim.Adam, lr=...)")
    factory = functools.partial(optim.SGD, momentum=0.5)
    assert optimizer_name(factory) == "partial" and gd.trajectory(f, factory, lr=0.1, steps=1).label == "partial"
    assert gd.run_rule(f, functools.partial(optim.rules.sgd, lr=0.1), steps=1).label == "rule"


def test_the_optimizer_gets_a_parameter_that_requires_grad():
    """As a model's parameters do: factories that check it (or hook on it) see requires_grad=True."""
    seen = []

    def factory(params, **hyper):
        seen.append([(p.requires_grad, p.is_leaf, p.dtype) for p in params])
        return optim.SGD(params, **hyper)

    gd.trajectory(objectives.bowl(1), factory, lr=0.1, steps=1)
    assert seen == [[(True, True, torch.float64)]]


def test_run_rule_hands_the_rule_a_float64_gradient_shaped_like_x_and_stays_quiet():
    """The rule gets g with x's shape (1-D objectives included: a vector of one); a rule that
    overflows or makes NaN ends the run as a divergence, without NumPy's RuntimeWarnings."""
    import warnings

    shapes = []

    def spy(x, g, state, **hyper):
        shapes.append((x.shape, np.shape(g), np.asarray(g).dtype))
        return x - 0.1 * g, state

    gd.run_rule(objectives.square(), spy, steps=2, start=3.0)
    gd.run_rule(objectives.bowl(2), spy, steps=1, start=(1.0, 2.0))
    assert shapes == [((1,), (1,), np.float64)] * 2 + [((2,), (2,), np.float64)]

    def blow_up(x, g, state):
        big = x * 1e300 * 1e300  # overflows to inf
        return big - big, state  # inf - inf: NaN

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = gd.run_rule(objectives.bowl(2), blow_up, steps=3, start=(1.0, 2.0))
    assert run.diverged and run.diverged_at == 1 and run.path.tolist() == [[1.0, 2.0]]
