r"""Learning-rate schedules as factors of the initial rate, \(\eta_e = \eta_0 \cdot \text{factor}(e)\).

Each function returns ``factor(epoch)`` for a 0-based epoch (or step: nothing here
assumes that one "epoch" is a pass over the data). Passed to
``torch.optim.lr_scheduler.LambdaLR`` they give the rates of the torch schedulers named in
their docstrings, up to rounding in the last bits (torch's schedulers multiply the rate
step by step; these compute each factor from its formula);
[`train_regression`][gdbook.train.train_regression] calls them directly.

[`one_cycle`][gdbook.schedules.one_cycle] is a factor of the *peak* rate (torch's
``max_lr``), and [`one_cycle_momentum`][gdbook.schedules.one_cycle_momentum] gives the
momentum (or Adam's \(\beta_1\)) that ``OneCycleLR`` cycles with it, as a value, not a factor.

Reducing the rate on a plateau reacts to a measured metric, so it cannot be a function of
the epoch alone: [`ReduceOnPlateau`][gdbook.schedules.ReduceOnPlateau] holds the settings and
computes each new [`PlateauState`][gdbook.schedules.PlateauState] from the previous state and
the metric, leaving everything it knows in plain sight.

Examples:
    >>> f = step(step_size=2, gamma=0.1)
    >>> [round(f(e), 6) for e in range(5)]
    [1.0, 1.0, 0.1, 0.1, 0.01]
    >>> g = decay_after(2, gamma=0.1)
    >>> [round(g(e), 6) for e in range(5)]
    [1.0, 1.0, 0.1, 0.01, 0.001]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

from ._checks import check_bool, check_choice, check_in_range, check_int

__all__ = [
    "constant",
    "step",
    "exponential",
    "cosine",
    "decay_after",
    "linear",
    "warmup_cosine",
    "one_cycle",
    "one_cycle_momentum",
    "cosine_warm_restarts",
    "PlateauState",
    "ReduceOnPlateau",
]

Schedule = Callable[[int], float]


def constant() -> Schedule:
    """No decay: the factor is always 1."""
    return lambda epoch: 1.0


def step(step_size: int, gamma: float = 0.1) -> Schedule:
    r"""Multiply by ``gamma`` every ``step_size`` epochs: \(\gamma^{\lfloor e / s \rfloor}\) (``StepLR``)."""
    check_int("step_size", step_size, low=1)
    check_in_range("gamma", gamma, 0.0, low_open=True)
    return lambda epoch: gamma ** (epoch // step_size)


def exponential(gamma: float) -> Schedule:
    r"""Multiply by ``gamma`` every epoch: \(\gamma^{e}\) (``ExponentialLR``)."""
    check_in_range("gamma", gamma, 0.0, low_open=True)
    return lambda epoch: gamma**epoch


def cosine(T_max: int, min_factor: float = 0.0) -> Schedule:
    r"""Cosine annealing to ``min_factor`` over ``T_max`` epochs (``CosineAnnealingLR`` with
    ``eta_min = min_factor * lr``), rising again after ``T_max`` as torch's does:

    \[ f(e) = f_{\min} + (1 - f_{\min})\,\frac{1 + \cos(\pi e / T_{\max})}{2} \]
    """
    check_int("T_max", T_max, low=1)
    check_in_range("min_factor", min_factor, 0.0, 1.0)
    return lambda epoch: min_factor + (1 - min_factor) * (1 + math.cos(math.pi * epoch / T_max)) / 2


def decay_after(epochs: int, gamma: float = 0.1) -> Schedule:
    r"""Constant for ``epochs`` epochs, then multiplied by ``gamma`` at every further epoch.

    \(f(e) = \gamma^{\max(0,\, e - \text{epochs} + 1)}\) for 0-based ``e``; this is the
    schedule of the source notes' regression experiments ("multiply the rate by 0.1 in every
    epoch after the second"), which torch expresses as ``MultiplicativeLR`` with the factor
    ``gamma`` from epoch ``epochs`` on (1 before), for ``epochs >= 1`` (with ``epochs = 0``
    this schedule starts at ``gamma``, while torch never applies a factor at epoch 0).
    """
    check_int("epochs", epochs, low=0)
    check_in_range("gamma", gamma, 0.0, low_open=True)
    return lambda epoch: gamma ** max(0, epoch - epochs + 1)


def linear(start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5) -> Schedule:
    r"""Linear change from ``start_factor`` to ``end_factor`` over ``total_iters`` epochs, then
    constant (``LinearLR``, with torch's defaults): a linear *warm-up* when
    ``start_factor < end_factor``,

    \[ f(e) = s + (s_{\text{end}} - s)\,\frac{\min(e, T)}{T}. \]

    Arguments and ranges are torch's: \(s \in (0, 1]\), \(s_{\text{end}} \in [0, 1]\);
    ``total_iters`` is an integer \(T \ge 1\) (torch does not check it).

    Examples:
        >>> [round(linear(0.25, 1.0, total_iters=3)(e), 6) for e in range(5)]
        [0.25, 0.5, 0.75, 1.0, 1.0]
    """
    check_in_range("start_factor", start_factor, 0.0, 1.0, low_open=True)
    check_in_range("end_factor", end_factor, 0.0, 1.0)
    check_int("total_iters", total_iters, low=1)
    return lambda epoch: start_factor + (end_factor - start_factor) * min(total_iters, epoch) / total_iters


def warmup_cosine(warmup: int, T_max: int, start_factor: float = 1.0 / 3, min_factor: float = 0.0) -> Schedule:
    r"""Linear warm-up from ``start_factor`` over ``warmup`` epochs, then [`cosine`][gdbook.schedules.cosine]
    annealing from 1 to ``min_factor`` over ``T_max`` epochs:

    \[ f(e) = \begin{cases} s + (1 - s)\,e/W, & e < W,\\
    f_{\min} + (1 - f_{\min})\,\dfrac{1 + \cos(\pi (e - W)/T_{\max})}{2}, & e \ge W. \end{cases} \]

    This is torch's ``SequentialLR`` of ``LinearLR(start_factor=s, end_factor=1.0,
    total_iters=W)`` and ``CosineAnnealingLR(T_max, eta_min = min_factor * lr)`` with
    ``milestones=[W]``: the warm-up ends in epoch \(W - 1\), below 1 if \(s < 1\); the cosine
    starts at 1 in epoch \(W\), and it rises again after \(W + T_{\max}\) as torch's does. The
    default ``start_factor`` is ``LinearLR``'s.

    Examples:
        >>> f = warmup_cosine(warmup=2, T_max=4, start_factor=0.5)
        >>> [round(f(e), 6) for e in range(7)]
        [0.5, 0.75, 1.0, 0.853553, 0.5, 0.146447, 0.0]
    """
    check_int("warmup", warmup, low=1)
    warm = linear(start_factor, 1.0, warmup)  # checks start_factor
    anneal = cosine(T_max, min_factor)  # checks T_max and min_factor
    return lambda epoch: warm(epoch) if epoch < warmup else anneal(epoch - warmup)


def _one_cycle_phase(epoch: int, total_steps: int, pct_start: float, three_phase: bool) -> tuple[int, float]:
    """The phase ``epoch`` is in and how far into it (0 at its start, 1 at its end), as ``OneCycleLR`` counts them."""
    ends = [float(pct_start * total_steps) - 1, total_steps - 1]
    if three_phase:
        ends.insert(1, float(2 * pct_start * total_steps) - 2)
    start = 0.0
    for i, end in enumerate(ends[:-1]):
        if epoch <= end:
            return i, (epoch - start) / (end - start)
        start = end
    return len(ends) - 1, (epoch - start) / (ends[-1] - start)


def _anneal(strategy: str, start: float, end: float, pct: float) -> float:
    """``OneCycleLR``'s two ways from ``start`` to ``end``: half a cosine, or a straight line."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


def _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase) -> None:
    check_int("total_steps", total_steps, low=2)
    check_choice("anneal_strategy", anneal_strategy, ("cos", "linear"))
    check_bool("three_phase", three_phase)
    # every phase must have a positive length: pct_start * T - 1 > 0, and the last phase ends after the others
    high = (total_steps + 1) / (2 * total_steps) if three_phase else 1.0
    check_in_range("pct_start", pct_start, 1 / total_steps, high, low_open=True, high_open=True)


def one_cycle(total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos", div_factor: float = 25.0,
              final_div_factor: float = 1e4, three_phase: bool = False) -> Schedule:
    r"""The one-cycle policy (Smith and Topin, 2019) as a factor of the **peak** rate: ``OneCycleLR``
    with ``max_lr`` \(= \eta_0\) and torch's defaults.

    The factor starts at \(1/d\) (\(d\) = ``div_factor``), rises to 1 over the first
    ``pct_start`` of the ``total_steps`` steps, then falls to \(1/(d\,d_{\text{final}})\) by step
    ``total_steps - 1``; with ``three_phase`` it first falls back to \(1/d\) over as many steps
    as it rose, then to \(1/(d\,d_{\text{final}})\). Each phase goes from its start value \(a\)
    to its end value \(b\) along half a cosine, \(b + (a - b)\,(1 + \cos \pi p)/2\), or a line,
    \(a + (b - a)\,p\), with \(p\) the fraction of the phase done; the phases end at steps
    \(\text{pct\_start}\cdot T - 1\), (three phases: \(2\,\text{pct\_start}\cdot T - 2\)) and \(T - 1\).

    The factor is defined for the ``total_steps`` epochs 0 to ``total_steps - 1`` and raises
    ``ValueError`` outside them. torch's ``OneCycleLR`` also sets a rate in the step after the
    last (it lets ``step()`` run once more, after the last optimizer step), by extending the
    last phase past its end: there the linear strategy goes below the final rate, and gives a
    *negative* rate with the default divisions unless the last phase is very long.
    ``pct_start`` must leave every phase a positive length: \(1/T <\) ``pct_start`` \(< 1\)
    (three phases: \(< (T + 1)/(2T)\)). torch accepts shorter first phases (a
    ``pct_start`` whose first phase ends before step 0 skips it; one that ends exactly at 0
    divides by zero) and longer ones (a last phase never reached); gdbook raises ``ValueError``.

    Examples:
        >>> f = one_cycle(total_steps=12, pct_start=0.5, anneal_strategy="linear", div_factor=10, final_div_factor=1)
        >>> [round(f(e), 6) for e in range(12)]
        [0.1, 0.28, 0.46, 0.64, 0.82, 1.0, 0.85, 0.7, 0.55, 0.4, 0.25, 0.1]
    """
    _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    check_in_range("div_factor", div_factor, 0.0, low_open=True, high_open=True)
    check_in_range("final_div_factor", final_div_factor, 0.0, low_open=True, high_open=True)
    initial = 1.0 / div_factor
    low = initial / final_div_factor
    phases = [(initial, 1.0), (1.0, initial), (initial, low)] if three_phase else [(initial, 1.0), (1.0, low)]

    def factor(epoch: int) -> float:
        check_int("epoch", epoch, high=total_steps - 1)
        i, pct = _one_cycle_phase(epoch, total_steps, pct_start, three_phase)
        return _anneal(anneal_strategy, *phases[i], pct)

    return factor


def one_cycle_momentum(total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                       base_momentum: float = 0.85, max_momentum: float = 0.95,
                       three_phase: bool = False) -> Callable[[int], float]:
    r"""The momentum (SGD's ``momentum``, or \(\beta_1\) of Adam-type methods) that ``OneCycleLR``
    cycles opposite to the rate (``cycle_momentum=True``, torch's default).

    It returns the *value* in epoch ``epoch``, not a factor: from ``max_momentum`` down to
    ``base_momentum`` while the rate rises, back up while it falls (three phases: up again in
    the second, then constant at ``max_momentum``), along the same curve
    (``anneal_strategy``) and phases as [`one_cycle`][gdbook.schedules.one_cycle] with the same
    arguments, for the same epochs. Both momenta must lie in \([0, 1)\) (torch does not check them).

    Examples:
        >>> m = one_cycle_momentum(total_steps=12, pct_start=0.5, anneal_strategy="linear")
        >>> [round(m(e), 6) for e in (0, 5, 11)]
        [0.95, 0.85, 0.95]
    """
    _check_one_cycle(total_steps, pct_start, anneal_strategy, three_phase)
    check_in_range("base_momentum", base_momentum, 0.0, 1.0, high_open=True)
    check_in_range("max_momentum", max_momentum, 0.0, 1.0, high_open=True)
    lo, hi = base_momentum, max_momentum
    phases = [(hi, lo), (lo, hi), (hi, hi)]  # two phases use the first two

    def momentum(epoch: int) -> float:
        check_int("epoch", epoch, high=total_steps - 1)
        i, pct = _one_cycle_phase(epoch, total_steps, pct_start, three_phase)
        return _anneal(anneal_strategy, *phases[i], pct)

    return momentum


def cosine_warm_restarts(T_0: int, T_mult: int = 1, min_factor: float = 0.0) -> Schedule:
    r"""Cosine annealing restarted at 1 after every cycle, each cycle ``T_mult`` times longer than
    the last (SGDR, Loshchilov and Hutter, 2017; ``CosineAnnealingWarmRestarts`` with
    ``eta_min = min_factor * lr``):

    \[ f(e) = f_{\min} + (1 - f_{\min})\,\frac{1 + \cos(\pi\, T_{\text{cur}} / T_i)}{2}, \]

    where cycle \(i = 0, 1, \dots\) lasts \(T_i = T_0\, T_{\text{mult}}^{\,i}\) epochs and
    \(T_{\text{cur}}\) counts the epochs since it began. The cycle is found by integer
    arithmetic, as torch's ``step()`` does, so the restarts fall exactly on the epochs
    \(T_0, T_0 + T_0 T_{\text{mult}}, \dots\) (torch's ``step(epoch)`` with an explicit epoch
    uses a logarithm instead and can miss a restart by rounding).

    Examples:
        >>> f = cosine_warm_restarts(T_0=2, T_mult=2)
        >>> [round(f(e), 6) for e in range(7)]
        [1.0, 0.5, 1.0, 0.853553, 0.5, 0.146447, 1.0]
    """
    check_int("T_0", T_0, low=1)
    check_int("T_mult", T_mult, low=1)
    check_in_range("min_factor", min_factor, 0.0, 1.0)

    def factor(epoch: int) -> float:
        T_i, T_cur = T_0, epoch
        if T_mult == 1:
            T_cur = epoch % T_0
        while T_cur >= T_i:
            T_cur -= T_i
            T_i *= T_mult
        return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * T_cur / T_i)) / 2

    return factor


@dataclass(frozen=True)
class PlateauState:
    """What [`ReduceOnPlateau`][gdbook.schedules.ReduceOnPlateau] knows after each metric: all of it.

    A frozen record: ``ReduceOnPlateau.step`` returns a new one and never changes the old,
    so a run can be kept as a list of states, replayed or branched.

    Attributes:
        lr: the learning rate to use next.
        best: the best metric so far (``inf`` for ``mode="min"``, ``-inf`` for ``"max"``
            before the first).
        num_bad_epochs: metrics in a row that did not improve on ``best`` (reset to 0 by an
            improvement, a reduction, or an epoch of cooldown).
        cooldown_counter: epochs of cooldown left after the last reduction.
        last_epoch: how many metrics have been seen.
    """

    lr: float
    best: float
    num_bad_epochs: int = 0
    cooldown_counter: int = 0
    last_epoch: int = 0


@dataclass(frozen=True)
class ReduceOnPlateau:
    r"""Reduce the rate by ``factor`` when a metric has stopped improving: ``ReduceLROnPlateau``
    (one parameter group) with torch's arguments and defaults, as explicit state.

    The settings live in this frozen object; the state in a
    [`PlateauState`][gdbook.schedules.PlateauState] that ``start``
    makes and ``step`` replaces after each metric.
    Nothing is hidden: ``state.lr`` is the rate to use, and the counters say why.

    A metric \(m\) **improves** on the best \(m^*\) when (``mode``, ``threshold_mode``) is
    ``("min", "rel")``: \(m < m^*(1 - \tau)\); ``("min", "abs")``: \(m < m^* - \tau\);
    ``("max", "rel")``: \(m > m^*(1 + \tau)\); ``("max", "abs")``: \(m > m^* + \tau\)
    (\(\tau\) = ``threshold``; a NaN metric never improves). After more than ``patience``
    metrics in a row without improvement the rate becomes
    \(\max(\eta\cdot\text{factor}, \eta_{\min})\), unless that changes it by at most ``eps``;
    then ``cooldown`` epochs follow during which bad epochs are not counted.

    Ranges (torch checks only ``factor < 1``, ``mode`` and ``threshold_mode``): ``factor`` in \((0, 1)\),
    ``patience`` and ``cooldown`` integers \(\ge 0\), ``threshold``, ``min_lr`` and ``eps``
    finite and \(\ge 0\).

    Examples:
        >>> plateau = ReduceOnPlateau(factor=0.5, patience=1)
        >>> state = plateau.start(lr=0.1)
        >>> for loss in [3.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0]:
        ...     state = plateau.step(state, loss)
        ...     print(state.lr, state.num_bad_epochs)
        0.1 0
        0.1 0
        0.1 1
        0.05 0
        0.05 0
        0.05 1
        0.025 0
    """

    mode: str = "min"
    factor: float = 0.1
    patience: int = 10
    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    min_lr: float = 0.0
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, ("min", "max"))
        check_in_range("factor", self.factor, 0.0, 1.0, low_open=True, high_open=True)
        check_int("patience", self.patience)
        check_in_range("threshold", self.threshold, 0.0, high_open=True)
        check_choice("threshold_mode", self.threshold_mode, ("rel", "abs"))
        check_int("cooldown", self.cooldown)
        check_in_range("min_lr", self.min_lr, 0.0, high_open=True)
        check_in_range("eps", self.eps, 0.0, high_open=True)

    def start(self, lr: float) -> PlateauState:
        r"""The state before the first metric: rate ``lr`` (finite, \(\ge 0\)), no best yet."""
        check_in_range("lr", lr, 0.0, high_open=True)
        return PlateauState(lr=float(lr), best=math.inf if self.mode == "min" else -math.inf)

    def improves(self, metric: float, best: float) -> bool:
        """Whether ``metric`` counts as better than ``best`` (the rule above)."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return metric < best * (1.0 - self.threshold)
        if self.mode == "min":
            return metric < best - self.threshold
        if self.threshold_mode == "rel":
            return metric > best * (self.threshold + 1.0)
        return metric > best + self.threshold

    def step(self, state: PlateauState, metric: float) -> PlateauState:
        """The state after one more ``metric`` (a number or a one-element tensor); ``state`` is unchanged."""
        if not isinstance(state, PlateauState):
            raise TypeError(f"state must be a PlateauState, got {type(state).__name__}")
        current = float(metric)
        best, bad, cooldown, lr = state.best, state.num_bad_epochs, state.cooldown_counter, state.lr
        if self.improves(current, best):
            best, bad = current, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown -= 1
            bad = 0
        if bad > self.patience:
            new_lr = max(lr * self.factor, self.min_lr)
            if lr - new_lr > self.eps:
                lr = new_lr
            cooldown, bad = self.cooldown, 0
        return replace(state, lr=lr, best=best, num_bad_epochs=bad, cooldown_counter=cooldown,
                       last_epoch=state.last_epoch + 1)

    def rates(self, lr: float, metrics) -> list[float]:
        """The rate after each of ``metrics``, starting from ``lr``: ``state.lr`` along a run.

        >>> ReduceOnPlateau(factor=0.5, patience=0).rates(1.0, [3, 2, 2, 2])
        [1.0, 1.0, 0.5, 0.25]
        """
        state, out = self.start(lr), []
        for m in metrics:
            state = self.step(state, m)
            out.append(state.lr)
        return out
