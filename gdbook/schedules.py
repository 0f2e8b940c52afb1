r"""Learning-rate schedules as factors of the initial rate, \(\eta_e = \eta_0 \cdot \text{factor}(e)\).

Each function returns ``factor(epoch)`` for a 0-based epoch. Passed to
``torch.optim.lr_scheduler.LambdaLR`` they give the rates of the torch schedulers named in
their docstrings, up to rounding in the last bits (torch's schedulers multiply the rate
step by step; these compute each factor from its formula);
[`train_regression`][gdbook.train.train_regression] calls them directly.

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
from typing import Callable

from ._checks import check_in_range, check_int

__all__ = ["constant", "step", "exponential", "cosine", "decay_after"]

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
    ``gamma`` from epoch ``epochs`` on (1 before).
    """
    check_int("epochs", epochs, low=0)
    check_in_range("gamma", gamma, 0.0, low_open=True)
    return lambda epoch: gamma ** max(0, epoch - epochs + 1)
