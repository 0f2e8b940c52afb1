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


# ---------------------------------------------------------------------------
# Warmup, warmup + cosine, one-cycle, warm restarts: step by step against torch, random settings
# ---------------------------------------------------------------------------

import random  # noqa: E402

SEEDS = range(12)


def assert_rel(ours_, theirs, tol=1e-12, floor=0.0):
    """Every step within ``tol`` relative to torch's rate (``floor``: an absolute allowance, for
    rates that torch computes by a recursion whose exact value is 0)."""
    assert len(ours_) == len(theirs)
    bad = [(e, a, b) for e, (a, b) in enumerate(zip(ours_, theirs)) if not abs(a - b) <= tol * abs(b) + floor]
    assert not bad, f"{len(bad)} steps differ, first (epoch, ours, torch): {bad[0]}"


def test_assert_rel_fails_on_a_difference():
    with pytest.raises(AssertionError):
        assert_rel([1.0, 0.5], [1.0, 0.5 * (1 + 1e-11)])
    with pytest.raises(AssertionError):
        assert_rel([1e-20], [0.0])


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_matches_linearlr(seed):
    """Where the exact rate is 0 (``end_factor=0``), torch's recursion leaves a residue of about
    1e-17: hence the absolute floor of 1e-15 of lr0."""
    r = random.Random(seed)
    start, end, T = r.uniform(1e-3, 1.0), r.choice([1.0, 0.0, r.uniform(0, 1)]), r.randint(1, 80)
    lr0 = r.uniform(1e-4, 1.0)
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=start, end_factor=end,
                                                                       total_iters=T), lr0=lr0)
    assert_rel(ours(schedules.linear(start, end, T), lr0=lr0), expected, floor=1e-15 * lr0)


def test_linear_defaults_and_values():
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.LinearLR(o))
    assert_rel(ours(schedules.linear()), expected)
    assert [schedules.linear(0.5, 0.0, 2)(e) for e in range(4)] == [0.5, 0.25, 0.0, 0.0]
    assert schedules.linear(1.0, 1.0, 3)(7) == 1.0


def sequential_warmup_cosine(start, warmup, T_max, eta_min):
    def make(o):
        warm = torch.optim.lr_scheduler.LinearLR(o, start_factor=start, end_factor=1.0, total_iters=warmup)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min)
        return torch.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[warmup])
    return make


@pytest.mark.parametrize("seed", SEEDS)
def test_warmup_cosine_matches_sequentiallr(seed):
    """Past T_max as well: the cosine rises again in both. Where the cosine reaches exactly 0
    torch's recursion leaves a rounding residue, hence the absolute floor of 1e-15 of lr0."""
    r = random.Random(seed)
    W, T_max, start = r.randint(1, 40), r.randint(1, 150), r.uniform(1e-3, 1.0)
    min_factor = r.choice([0.0, r.uniform(0, 0.5)])
    lr0 = r.uniform(1e-4, 1.0)
    expected = torch_rates(sequential_warmup_cosine(start, W, T_max, min_factor * lr0), lr0=lr0)
    assert_rel(ours(schedules.warmup_cosine(W, T_max, start, min_factor), lr0=lr0), expected,
               floor=1e-15 * lr0)


def test_warmup_cosine_values():
    f = schedules.warmup_cosine(4, 10, start_factor=0.2, min_factor=0.1)
    assert [f(e) for e in range(4)] == pytest.approx([0.2, 0.4, 0.6, 0.8], rel=1e-15)
    assert f(4) == 1.0 and f(14) == pytest.approx(0.1, rel=1e-15) and f(9) == pytest.approx(0.55, rel=1e-15)
    assert schedules.warmup_cosine(3, 5)(0) == pytest.approx(1 / 3, rel=1e-15)  # LinearLR's default start
    assert schedules.warmup_cosine(3, 5)(8) == 0.0  # CosineAnnealingLR's default eta_min: 0
    # the cosine takes over in epoch W and starts at exactly 1, as torch's does (the warm-up's formula
    # at W would give 0.2 + 0.8 * 3 / 3 = 1.0000000000000002)
    assert schedules.warmup_cosine(3, 5, 0.2)(3) == 1.0
    assert torch_rates(sequential_warmup_cosine(0.2, 3, 5, 0.0), epochs=4, lr0=1.0)[3] == 1.0


def torch_one_cycle(total, lr0=LR0, optimizer="sgd", **kw):
    """torch's rate and momentum (SGD's momentum or Adam's beta1) in each of the ``total`` steps,
    and in the extra step torch allows after them."""
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr0, momentum=0.9) if optimizer == "sgd" else torch.optim.Adam([w], lr=lr0)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr0, total_steps=total, **kw)
    rates, moms = [], []
    for _ in range(total + 1):
        g = opt.param_groups[0]
        rates.append(g["lr"])
        moms.append(g["momentum"] if optimizer == "sgd" else g["betas"][0])
        opt.step()
        if len(rates) <= total:
            sched.step()
    with pytest.raises(ValueError, match="Tried to step"):
        sched.step()
    return rates, moms


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_one_cycle_matches_onecyclelr(strategy, three_phase, seed):
    """Rates and momenta in every step, for SGD's momentum (even seeds) and Adam's beta1 (odd
    seeds). torch's linear anneal, (end - start) * p + start, cancels where it ends near 0, with
    an absolute error of about 1e-16 of max_lr: hence the floor of 1e-15 of lr0."""
    r = random.Random(seed)
    T = r.randint(10, 400)
    high = (T + 1) / (2 * T) if three_phase else 1.0
    pct = r.uniform(1.5 / T, high - 0.5 / T)
    div, final = r.uniform(1.0, 100.0), r.uniform(1.0, 1e5)
    base, top = sorted([r.uniform(0.5, 0.99), r.uniform(0.5, 0.99)])
    lr0 = r.uniform(1e-3, 10.0)
    rates, moms = torch_one_cycle(T, lr0=lr0, optimizer="sgd" if seed % 2 == 0 else "adam", pct_start=pct,
                                  anneal_strategy=strategy, div_factor=div, final_div_factor=final,
                                  three_phase=three_phase, base_momentum=base, max_momentum=top)
    f = schedules.one_cycle(T, pct, strategy, div, final, three_phase)
    m = schedules.one_cycle_momentum(T, pct, strategy, base, top, three_phase)
    assert_rel([lr0 * f(e) for e in range(T)], rates[:T], floor=1e-15 * lr0)
    assert_rel([m(e) for e in range(T)], moms[:T])
    for g in (f, m):  # the extra step torch allows is refused
        with pytest.raises(ValueError, match=rf"epoch must be an integer in \[0, {T - 1}\], got {T}"):
            g(T)


def test_one_cycle_refuses_the_step_where_torch_extrapolates_to_a_negative_rate():
    rates, _ = torch_one_cycle(10, lr0=1.0, anneal_strategy="linear")
    assert rates[10] < 0 < min(rates[:10])
    with pytest.raises(ValueError):
        schedules.one_cycle(10, anneal_strategy="linear")(10)


def test_one_cycle_phase_boundaries_are_exact_as_in_torch():
    """Where a phase ends on a whole step, that step belongs to the phase that ends (torch's
    ``step_num <= end_step``) and takes its end value exactly: here 1/25 at the end of the
    second of three phases (the third phase's formula would give 0.04000000000000001)."""
    kw = dict(pct_start=0.3, div_factor=25.0, final_div_factor=10.0, three_phase=True)
    rates, _ = torch_one_cycle(10, lr0=1.0, **kw)
    assert rates[4] == 0.04 == schedules.one_cycle(10, **kw)(4)
    assert rates[2] == 1.0 == schedules.one_cycle(10, **kw)(2)


def test_one_cycle_defaults_match_torch():
    rates, moms = torch_one_cycle(100)
    assert_rel(ours(schedules.one_cycle(100), epochs=100), rates[:100])
    assert_rel([schedules.one_cycle_momentum(100)(e) for e in range(100)], moms[:100])


def test_one_cycle_values():
    f = schedules.one_cycle(10, pct_start=0.5, div_factor=4.0, final_div_factor=2.0)
    assert f(0) == 0.25 and f(4) == 1.0 and f(9) == pytest.approx(0.125, rel=1e-15)
    assert f(2) == pytest.approx(0.625, rel=1e-15)  # halfway up the cosine: (0.25 + 1) / 2
    g = schedules.one_cycle(10, pct_start=0.3, div_factor=4.0, final_div_factor=2.0, three_phase=True)
    assert g(2) == 1.0 and g(4) == 0.25 and g(9) == pytest.approx(0.125, rel=1e-15)
    m = schedules.one_cycle_momentum(10, pct_start=0.3, base_momentum=0.8, max_momentum=0.9, three_phase=True)
    assert (m(0), m(2), m(4), m(7), m(9)) == pytest.approx((0.9, 0.8, 0.9, 0.9, 0.9), rel=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
def test_cosine_warm_restarts_matches_torch(seed):
    r = random.Random(seed)
    T_0, T_mult = r.randint(1, 30), r.choice([1, 1, 2, 3])
    min_factor = r.choice([0.0, r.uniform(0, 0.9)])
    lr0 = r.uniform(1e-4, 1.0)
    expected = torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=T_0, T_mult=T_mult, eta_min=min_factor * lr0), epochs=600, lr0=lr0)
    assert_rel(ours(schedules.cosine_warm_restarts(T_0, T_mult, min_factor), epochs=600, lr0=lr0), expected)


def test_cosine_warm_restarts_values():
    f = schedules.cosine_warm_restarts(3, 2, 0.2)
    restarts = [e for e in range(1, 50) if f(e) == 1.0]
    assert restarts == [3, 9, 21, 45]  # cycles of 3, 6, 12, 24 epochs
    assert f(2) == pytest.approx(0.2 + 0.8 * 0.25, rel=1e-15)
    assert [schedules.cosine_warm_restarts(2)(e) for e in range(5)] == pytest.approx([1, 0.5, 1, 0.5, 1], rel=1e-15)
    assert schedules.cosine_warm_restarts(1)(5) == 1.0  # a cycle of one epoch: always at the start


@pytest.mark.parametrize("call,exc,message", [
    (lambda: schedules.linear(0.0), ValueError, "start_factor must be in (0.0, 1.0], got 0.0"),
    (lambda: schedules.linear(0.5, 1.5), ValueError, "end_factor must be in [0.0, 1.0], got 1.5"),
    (lambda: schedules.linear(0.5, 1.0, 0), ValueError, "total_iters must be an integer in [1, inf], got 0"),
    (lambda: schedules.linear(0.5, 1.0, 2.0), TypeError, "total_iters must be an integer, got float: 2.0"),
    (lambda: schedules.warmup_cosine(0, 10), ValueError, "warmup must be an integer in [1, inf], got 0"),
    (lambda: schedules.warmup_cosine(2, 0), ValueError, "T_max must be an integer in [1, inf], got 0"),
    (lambda: schedules.warmup_cosine(2, 5, 1.5), ValueError, "start_factor must be in (0.0, 1.0], got 1.5"),
    (lambda: schedules.warmup_cosine(2, 5, 0.5, -0.1), ValueError, "min_factor must be in [0.0, 1.0], got -0.1"),
    (lambda: schedules.one_cycle(1), ValueError, "total_steps must be an integer in [2, inf], got 1"),
    (lambda: schedules.one_cycle(10, 0.1), ValueError, "pct_start must be in (0.1, 1.0), got 0.1"),
    (lambda: schedules.one_cycle(10, 1.0), ValueError, "pct_start must be in (0.1, 1.0), got 1.0"),
    (lambda: schedules.one_cycle(10, 0.6, three_phase=True), ValueError, "pct_start must be in (0.1, 0.55), got 0.6"),
    (lambda: schedules.one_cycle(10, 0.3, "cosine"), ValueError,
     "anneal_strategy must be one of ('cos', 'linear'), got 'cosine'"),
    (lambda: schedules.one_cycle(10, 0.3, three_phase=1), TypeError, "three_phase must be True or False, got int: 1"),
    (lambda: schedules.one_cycle(10, div_factor=0.0), ValueError, "div_factor must be in (0.0, inf), got 0.0"),
    (lambda: schedules.one_cycle(10, final_div_factor=math.inf), ValueError,
     "final_div_factor must be in (0.0, inf), got inf"),
    (lambda: schedules.one_cycle(10)(10), ValueError, "epoch must be an integer in [0, 9], got 10"),
    (lambda: schedules.one_cycle(10)(-1), ValueError, "epoch must be an integer in [0, 9], got -1"),
    (lambda: schedules.one_cycle_momentum(10, base_momentum=1.0), ValueError,
     "base_momentum must be in [0.0, 1.0), got 1.0"),
    (lambda: schedules.one_cycle_momentum(10, max_momentum=-0.1), ValueError,
     "max_momentum must be in [0.0, 1.0), got -0.1"),
    (lambda: schedules.one_cycle_momentum(10, 0.05), ValueError, "pct_start must be in (0.1, 1.0), got 0.05"),
    (lambda: schedules.cosine_warm_restarts(0), ValueError, "T_0 must be an integer in [1, inf], got 0"),
    (lambda: schedules.cosine_warm_restarts(5, 0), ValueError, "T_mult must be an integer in [1, inf], got 0"),
    (lambda: schedules.cosine_warm_restarts(5, 1.5), TypeError, "T_mult must be an integer, got float: 1.5"),
    (lambda: schedules.cosine_warm_restarts(5, 1, 2.0), ValueError, "min_factor must be in [0.0, 1.0], got 2.0"),
])
def test_new_schedules_reject_bad_arguments(call, exc, message):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value) == message


@pytest.mark.parametrize("call,expected", [
    (lambda: schedules.linear(1.0, 0.0, 1)(1), 0.0),  # the closed ends of the ranges are accepted
    (lambda: schedules.one_cycle(10, 0.11)(0), 0.04),  # the shortest first phase is accepted
    (lambda: schedules.one_cycle(10, 0.99)(9), 4e-6),  # the longest first phase: the last step is at the minimum
    (lambda: schedules.one_cycle_momentum(10, base_momentum=0.0, max_momentum=0.0)(3), 0.0),
    (lambda: schedules.warmup_cosine(1, 1, 1.0, 1.0)(5), 1.0),
])
def test_new_schedules_boundary_arguments_accepted(call, expected):
    assert call() == pytest.approx(expected, rel=1e-12, abs=1e-300)


# ---------------------------------------------------------------------------
# Reduce on plateau: the state after every metric against torch's ReduceLROnPlateau
# ---------------------------------------------------------------------------


def metrics_with_plateaus(r: random.Random, n: int, mode: str) -> list[float]:
    """A noisy loss (``mode="min"``) or accuracy (``"max"``) that improves, stalls on exact
    repeats and plateaus, and now and then is NaN."""
    sign = 1.0 if mode == "min" else -1.0
    level, out = r.uniform(0.5, 5.0), []
    for _ in range(n):
        u = r.random()
        if u < 0.25:
            level *= 1 - sign * r.uniform(0, 0.2)  # improves
        elif u < 0.3:
            level *= 1 + sign * r.uniform(0, 0.1)  # gets worse
        value = level * (1 + r.choice([0.0, 0.0, r.uniform(-1e-4, 1e-4), r.uniform(-0.05, 0.05)]))
        out.append(math.nan if r.random() < 0.02 else value)
    return out


def random_plateau_settings(r: random.Random) -> dict:
    return dict(mode=r.choice(["min", "max"]), factor=r.uniform(0.05, 0.95), patience=r.randint(0, 8),
                threshold=r.choice([0.0, 1e-4, r.uniform(0, 0.05)]), threshold_mode=r.choice(["rel", "abs"]),
                cooldown=r.randint(0, 5), min_lr=r.choice([0.0, r.uniform(0, 1e-3)]),
                eps=r.choice([1e-8, 0.0, r.uniform(0, 1e-3)]))


def torch_plateau_states(lr0: float, metrics, **kw) -> list[tuple]:
    w = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append((opt.param_groups[0]["lr"], sched.best, sched.num_bad_epochs, sched.cooldown_counter,
                    sched.last_epoch))
    return out


def fields(state) -> tuple:
    return state.lr, state.best, state.num_bad_epochs, state.cooldown_counter, state.last_epoch


@pytest.mark.parametrize("seed", range(40))
def test_reduce_on_plateau_matches_torch_state_by_state(seed):
    """The rate, the best metric, both counters and the epoch after each of 400 metrics: equal
    (the rate to 1e-12 relative; it is computed by the same multiplications, so in fact exactly)."""
    r = random.Random(seed)
    kw = random_plateau_settings(r)
    lr0 = r.uniform(1e-3, 1.0)
    metrics = metrics_with_plateaus(r, 400, kw["mode"])
    expected = torch_plateau_states(lr0, metrics, **kw)
    plateau = schedules.ReduceOnPlateau(**kw)
    state, got = plateau.start(lr0), []
    for m in metrics:
        state = plateau.step(state, m)
        got.append(fields(state))
    assert_rel([g[0] for g in got], [e[0] for e in expected])
    assert [g[1:] for g in got] == [e[1:] for e in expected]
    assert len({g[0] for g in got}) > 1, "the run never reduced the rate: a weak test case"
    assert plateau.rates(lr0, metrics) == [g[0] for g in got]


def test_reduce_on_plateau_defaults_match_torch():
    r = random.Random(99)
    metrics = metrics_with_plateaus(r, 300, "min")
    expected = torch_plateau_states(0.1, metrics)
    assert schedules.ReduceOnPlateau().rates(0.1, metrics) == [e[0] for e in expected]
    assert schedules.ReduceOnPlateau() == schedules.ReduceOnPlateau(
        mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8)


def test_reduce_on_plateau_by_hand():
    p = schedules.ReduceOnPlateau(factor=0.5, patience=2, cooldown=1, min_lr=0.3, threshold_mode="abs",
                                  threshold=0.1)
    # 1.0 best; 0.95 is not better by more than 0.1: bad epochs 1, 2, 3 > patience -> 0.5, then a cooldown epoch
    rates = p.rates(1.0, [1.0, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95])
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]  # min_lr stops it at 0.3
    s0 = p.start(1.0)
    s1 = p.step(s0, torch.tensor(2.0))
    assert s0 == schedules.PlateauState(lr=1.0, best=math.inf) and s1.best == 2.0 and s1.last_epoch == 1
    assert p.step(s1, math.nan).num_bad_epochs == 1  # a NaN metric never improves
    tiny = schedules.ReduceOnPlateau(factor=0.5, patience=0, eps=0.3)
    assert tiny.rates(1.0, [1, 1, 1]) == [1.0, 0.5, 0.5]  # 0.5 -> 0.25 changes the rate by less than eps
    # a change of exactly eps is not made (torch: "old_lr - new_lr > eps")
    exact = dict(factor=0.5, patience=0, eps=0.5)
    assert schedules.ReduceOnPlateau(**exact).rates(1.0, [1, 1]) == [1.0, 1.0]
    assert [s[0] for s in torch_plateau_states(1.0, [1, 1], **exact)] == [1.0, 1.0]


def test_reduce_on_plateau_modes():
    assert schedules.ReduceOnPlateau(mode="max").improves(1.1, 1.0)
    assert not schedules.ReduceOnPlateau(mode="max").improves(1.00001, 1.0)  # threshold 1e-4, relative
    assert schedules.ReduceOnPlateau(mode="max", threshold_mode="abs", threshold=0.5).improves(1.6, 1.0)
    assert not schedules.ReduceOnPlateau(mode="min", threshold_mode="abs", threshold=0.5).improves(0.6, 1.0)
    assert schedules.ReduceOnPlateau(mode="min").improves(0.99, 1.0)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: schedules.ReduceOnPlateau(mode="minimum"), ValueError, "mode must be one of ('min', 'max'), got 'minimum'"),
    (lambda: schedules.ReduceOnPlateau(factor=1.0), ValueError, "factor must be in (0.0, 1.0), got 1.0"),
    (lambda: schedules.ReduceOnPlateau(factor=0.0), ValueError, "factor must be in (0.0, 1.0), got 0.0"),
    (lambda: schedules.ReduceOnPlateau(patience=-1), ValueError, "patience must be an integer in [0, inf], got -1"),
    (lambda: schedules.ReduceOnPlateau(patience=2.0), TypeError, "patience must be an integer, got float: 2.0"),
    (lambda: schedules.ReduceOnPlateau(threshold=-1e-4), ValueError, "threshold must be in [0.0, inf), got -0.0001"),
    (lambda: schedules.ReduceOnPlateau(threshold_mode="relative"), ValueError,
     "threshold_mode must be one of ('rel', 'abs'), got 'relative'"),
    (lambda: schedules.ReduceOnPlateau(cooldown=-1), ValueError, "cooldown must be an integer in [0, inf], got -1"),
    (lambda: schedules.ReduceOnPlateau(min_lr=-0.1), ValueError, "min_lr must be in [0.0, inf), got -0.1"),
    (lambda: schedules.ReduceOnPlateau(eps=math.nan), ValueError, "eps must be in [0.0, inf), got nan"),
    (lambda: schedules.ReduceOnPlateau().start(math.inf), ValueError, "lr must be in [0.0, inf), got inf"),
    (lambda: schedules.ReduceOnPlateau().step(0.1, 1.0), TypeError, "state must be a PlateauState, got float"),
])
def test_reduce_on_plateau_rejects_bad_arguments(call, exc, message):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value) == message


def test_plateau_state_is_explicit_and_frozen():
    p = schedules.ReduceOnPlateau(patience=0)
    s = p.start(0.1)
    with pytest.raises(AttributeError):
        s.lr = 1.0
    s2 = p.step(p.step(s, 1.0), 1.0)
    assert s.lr == 0.1 and s2.lr == pytest.approx(0.01, rel=1e-15)  # the old state is untouched
    assert p.step(s2, 0.5) == p.step(schedules.PlateauState(**vars(s2)), 0.5)  # the state is all it needs


# ---------------------------------------------------------------------------
# What torch does with the values gdbook refuses (the API page's table of differences)
# ---------------------------------------------------------------------------


def _sgd(lr=1.0):
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, momentum=0.9)


def test_torch_accepts_what_gdbook_refuses():
    torch.optim.lr_scheduler.LinearLR(_sgd(), total_iters=0)
    torch.optim.lr_scheduler.ReduceLROnPlateau(_sgd(), factor=0.0, patience=-1, cooldown=-1, threshold=-1.0,
                                               min_lr=-1.0, eps=-1.0)
    with pytest.raises(ValueError):
        schedules.linear(total_iters=0)


def test_torch_one_cycle_with_a_first_phase_at_or_before_step_0():
    with pytest.raises(ZeroDivisionError):  # pct_start * T - 1 == 0: the first phase has no length
        torch.optim.lr_scheduler.OneCycleLR(_sgd(), max_lr=1.0, total_steps=10, pct_start=0.1)
    opt = _sgd()
    torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=0.05)
    assert opt.param_groups[0]["lr"] > 0.9  # the warm-up is skipped: it starts near the peak, not at 1/25
    for pct in (0.1, 0.05):
        with pytest.raises(ValueError, match="pct_start"):
            schedules.one_cycle(10, pct)


def test_torch_warm_restarts_with_an_explicit_epoch_can_miss_a_restart():
    """math.log(243, 3) is 4.999...: step(121) puts epoch 121 (a restart for T_0=1, T_mult=3) at the
    end of the previous cycle; stepping there one epoch at a time does restart."""
    opt = _sgd()
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3)
    sched.step(121)
    assert opt.param_groups[0]["lr"] == 0.0
    assert torch_rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=1, T_mult=3),
                       epochs=122, lr0=1.0)[121] == 1.0
    assert schedules.cosine_warm_restarts(1, 3)(121) == 1.0


def test_the_cache_keys_new_schedules_by_their_arguments():
    """train_regression is memoized: a schedule passed to it must key the cache by what it computes."""
    from gdbook.cache import fingerprint as fp

    same = [(schedules.one_cycle(100), schedules.one_cycle(100)),
            (schedules.ReduceOnPlateau(), schedules.ReduceOnPlateau())]
    different = [(schedules.one_cycle(100), schedules.one_cycle(200)),
                 (schedules.one_cycle(100), schedules.one_cycle(100, three_phase=True)),
                 (schedules.one_cycle_momentum(100), schedules.one_cycle_momentum(100, max_momentum=0.9)),
                 (schedules.cosine_warm_restarts(5, 2), schedules.cosine_warm_restarts(5, 1)),
                 (schedules.warmup_cosine(5, 10), schedules.warmup_cosine(5, 11)),
                 (schedules.linear(0.1), schedules.linear(0.2)),
                 (schedules.ReduceOnPlateau(), schedules.ReduceOnPlateau(factor=0.5)),
                 (schedules.ReduceOnPlateau().start(0.1), schedules.ReduceOnPlateau().start(0.2))]
    assert all(fp(a) == fp(b) for a, b in same)
    assert all(fp(a) != fp(b) for a, b in different)
