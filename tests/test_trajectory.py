"""gdbook.trajectory: shapes, determinism, recorded divergence, and the closed form of GD."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import objectives, optim
from gdbook.trajectory import Trajectory, optimizer_name


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
