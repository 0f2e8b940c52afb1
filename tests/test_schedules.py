"""gdbook.schedules against torch.optim.lr_scheduler, epoch by epoch."""

from __future__ import annotations

import math

import pytest
import torch

from gdbook import schedules

LR0 = 0.3
EPOCHS = 300


def torch_rates(make_scheduler, epochs: int = EPOCHS, lr0: float = LR0) -> list[float]:
    """The learning rate torch uses in each epoch ``e = 0, 1, ...`` (``scheduler.step()`` once per epoch)."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr0)
    sched = make_scheduler(opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return rates


def ours(factor, epochs: int = EPOCHS, lr0: float = LR0) -> list[float]:
    return [lr0 * factor(e) for e in range(epochs)]


def assert_close(a, b, tol=1e-12):
    """Absolute difference at most tol · lr0 (relative to the initial rate, since rates reach 0)."""
    assert len(a) == len(b)
    worst = max(abs(x - y) for x, y in zip(a, b))
    assert worst <= tol * LR0, f"max |difference| {worst:.3g}"


@pytest.mark.parametrize("step_size,gamma", [(1, 0.5), (7, 0.1), (30, 0.9), (100, 0.5)])
def test_step_matches_steplr(step_size, gamma):
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_size, gamma=gamma))
    assert_close(ours(schedules.step(step_size, gamma)), expected)


@pytest.mark.parametrize("gamma", [0.99, 0.9, 0.5, 1.0])
def test_exponential_matches_exponentiallr(gamma):
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=gamma))
    assert_close(ours(schedules.exponential(gamma)), expected)


@pytest.mark.parametrize("T_max,min_factor", [(10, 0.0), (50, 0.1), (100, 0.0), (299, 0.25), (7, 0.5)])
def test_cosine_matches_cosineannealinglr(T_max, min_factor):
    """Over several periods: torch's recursive form and the closed form agree (also past T_max)."""
    expected = torch_rates(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=min_factor * LR0))
    assert_close(ours(schedules.cosine(T_max, min_factor)), expected)


@pytest.mark.parametrize("epochs,gamma", [(1, 0.1), (2, 0.1), (5, 0.5), (40, 0.95)])
def test_decay_after_matches_multiplicativelr(epochs, gamma):
    """'Multiply by gamma in every epoch after the ``epochs``-th' is MultiplicativeLR."""
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.MultiplicativeLR(
        o, lr_lambda=lambda e: gamma if e >= epochs else 1.0))
    assert_close(ours(schedules.decay_after(epochs, gamma)), expected)


@pytest.mark.parametrize("factory", [
    lambda: schedules.constant(),
    lambda: schedules.step(3, 0.5),
    lambda: schedules.exponential(0.97),
    lambda: schedules.cosine(40, 0.1),
    lambda: schedules.decay_after(0, 0.9),
    lambda: schedules.decay_after(3, 0.9),
])
def test_every_schedule_works_as_lambdalr(factory):
    factor = factory()
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lr_lambda=factor))
    assert_close(ours(factor), expected, tol=1e-15)


def test_values_by_hand():
    assert [schedules.step(2, 0.1)(e) for e in range(5)] == pytest.approx([1, 1, 0.1, 0.1, 0.01], rel=1e-15)
    assert [schedules.decay_after(2, 0.1)(e) for e in range(5)] == pytest.approx([1, 1, 0.1, 0.01, 0.001], rel=1e-15)
    assert [schedules.decay_after(0, 0.5)(e) for e in range(3)] == [0.5, 0.25, 0.125]
    c = schedules.cosine(10, 0.2)
    assert c(0) == 1.0 and c(10) == pytest.approx(0.2, abs=1e-15) and c(5) == pytest.approx(0.6, rel=1e-15)
    assert schedules.constant()(123) == 1.0
    assert schedules.exponential(0.5)(3) == 0.125


@pytest.mark.parametrize("call,exc", [
    (lambda: schedules.step(0), ValueError),
    (lambda: schedules.step(2.0), TypeError),
    (lambda: schedules.step(2, gamma=0.0), ValueError),
    (lambda: schedules.exponential(-0.5), ValueError),
    (lambda: schedules.exponential("0.9"), TypeError),
    (lambda: schedules.cosine(0), ValueError),
    (lambda: schedules.cosine(10, min_factor=1.5), ValueError),
    (lambda: schedules.decay_after(-1), ValueError),
    (lambda: schedules.decay_after(2, gamma=math.nan), ValueError),
])
def test_invalid_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_defaults_match_torch():
    # StepLR's gamma defaults to 0.1 and CosineAnnealingLR's eta_min to 0: so do ours
    assert_close(ours(schedules.step(7)), torch_rates(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7)))
    assert_close(ours(schedules.cosine(50)), torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=50)))
    # the source notes' decay: times 0.1 in every epoch after the second
    assert [schedules.decay_after(2)(e) for e in range(4)] == pytest.approx([1, 1, 0.1, 0.01], rel=1e-15)


@pytest.mark.parametrize("call,expected", [
    (lambda: schedules.step(1, 0.5)(2), 0.25),  # the smallest step size
    (lambda: schedules.step(2, 1e-300)(2), 1e-300),  # a tiny gamma
    (lambda: schedules.exponential(1e-300)(1), 1e-300),
    (lambda: schedules.cosine(1)(1), 0.0),  # one epoch to the minimum
    (lambda: schedules.cosine(4, 0.0)(4), 0.0),  # min_factor may be 0 ...
    (lambda: schedules.cosine(4, 1.0)(2), 1.0),  # ... or 1 (no decay)
    (lambda: schedules.decay_after(0, 1e-300)(0), 1e-300),  # decay from the first epoch
])
def test_boundary_arguments_accepted(call, expected):
    assert call() == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("call,message", [
    (lambda: schedules.step(0), "step_size must be an integer in [1, inf], got 0"),
    (lambda: schedules.step(2, 0.0), "gamma must be in (0.0, inf], got 0.0"),
    (lambda: schedules.exponential(0.0), "gamma must be in (0.0, inf], got 0.0"),
    (lambda: schedules.cosine(0), "T_max must be an integer in [1, inf], got 0"),
    (lambda: schedules.cosine(5, -0.1), "min_factor must be in [0.0, 1.0], got -0.1"),
    (lambda: schedules.cosine(5, 1.5), "min_factor must be in [0.0, 1.0], got 1.5"),
    (lambda: schedules.decay_after(-1), "epochs must be an integer in [0, inf], got -1"),
    (lambda: schedules.decay_after(1, 0.0), "gamma must be in (0.0, inf], got 0.0"),
])
def test_invalid_arguments_name_the_argument_and_range(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message
