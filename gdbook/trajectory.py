"""Run any optimizer on any objective and record the path.

Examples:
    >>> from gdbook import objectives, optim
    >>> run = trajectory(objectives.bowl(10), optim.SGD, lr=0.01, start=(-70.0, 70.0), steps=20)
    >>> run.path.shape, run.diverged
    ((21, 2), False)
    >>> bad = trajectory(objectives.square(), optim.SGD, lr=1.5, start=1.0, steps=2000)
    >>> bad.diverged, bad.diverged_at is not None
    (True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ._array import as_tensor
from ._checks import check_int
from .cache import memoize
from .objectives import Objective

__all__ = ["Trajectory", "start_point", "trajectory", "run_rule", "optimizer_name"]


@dataclass(frozen=True)
class Trajectory:
    """The record of one run.

    Attributes:
        path: points visited, shape ``(k + 1, d)``: the start and one row per finite step.
        losses: ``f`` at each point of ``path``.
        label: a name for legends (the optimizer's by default).
        diverged: whether the run produced a non-finite value and stopped.
        diverged_at: the step at which it did, else ``None``.
        grad_evals: gradients evaluated.
    """

    path: np.ndarray
    losses: np.ndarray
    label: str
    diverged: bool = False
    diverged_at: int | None = None
    grad_evals: int = 0

    @property
    def final(self) -> np.ndarray:
        """The last finite point."""
        return self.path[-1]

    @property
    def steps(self) -> int:
        """Finite steps taken."""
        return len(self.path) - 1

    def steps_to(self, tol: float, f_min: float = 0.0) -> int | None:
        """First step at which ``f - f_min <= tol``, or ``None`` if never."""
        hit = np.nonzero(self.losses - f_min <= tol)[0]
        return int(hit[0]) if hit.size else None


def optimizer_name(optimizer) -> str:
    """A short label for an optimizer class or factory (``"SGD"``, ``"Adam"``)."""
    return getattr(optimizer, "__name__", type(optimizer).__name__)


def _check_objective(objective) -> None:
    if not isinstance(objective, Objective):
        raise TypeError("objective must be a gdbook Objective (gd.objectives.bowl(10), gd.objectives.rosenbrock(), ...), "
                        f"got {type(objective).__name__}: {objective!r}")


def start_point(objective: Objective, start=None) -> np.ndarray:
    """The starting point as a float64 vector of ``objective.dim`` coordinates.

    ``start=None`` takes ``objective.start``. A number or a flat sequence of
    ``objective.dim`` finite numbers is accepted.

    Raises:
        TypeError: ``objective`` is not an [`Objective`][gdbook.objectives.Objective], or
            ``start`` is not numeric.
        ValueError: no start (none given and no default), a start that is not flat
            (a 2-D array), the wrong number of coordinates, or a non-finite coordinate.

    Examples:
        >>> from gdbook import objectives
        >>> start_point(objectives.bowl(10)).tolist()
        [-70.0, 70.0]
    """
    _check_objective(objective)
    start = objective.start if start is None else start
    if start is None:
        raise ValueError(f"start is required: objective {objective.name!r} has no default start")
    try:
        x = np.array(start, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"start must be a number or a sequence of {objective.dim} numbers, got {start!r}") from None
    if x.ndim > 1:
        raise ValueError(f"start must be a point (a flat sequence of {objective.dim} coordinate(s)), "
                         f"got an array of shape {x.shape}")
    x = x.reshape(-1)
    if x.size != objective.dim:
        raise ValueError(f"start must have {objective.dim} coordinate(s) for {objective.name!r}, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"start must be finite, got {x.tolist()}")
    return x


def _check_optimizer(optimizer) -> None:
    if isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be an optimizer class or factory (gd.optim.{type(optimizer).__name__}), "
                        f"not an instance: pass the class and its hyperparameters, "
                        f"trajectory(f, gd.optim.{type(optimizer).__name__}, lr=...)")
    if not callable(optimizer):
        raise TypeError(f"optimizer must be an optimizer class or a callable(params, **hyper), "
                        f"got {type(optimizer).__name__}: {optimizer!r}")


@memoize
def trajectory(
    objective: Objective,
    optimizer: Callable = None,
    *,
    steps: int = 20,
    start: "Sequence[float] | float | None" = None,
    label: str | None = None,
    **hyper: object,
) -> Trajectory:
    """Minimize ``objective`` from ``start`` for ``steps`` steps and return the path.

    Args:
        objective: what to minimize; its analytic gradient is used when it has one.
        optimizer: a ``torch.optim.Optimizer`` class (``gdbook.optim.Adam``,
            ``torch.optim.Adam``, ...) or any ``callable(params, **hyper)``.
            Defaults to [`SGD`][gdbook.optim.SGD], plain gradient descent.
        steps: number of updates.
        start: the starting point; defaults to ``objective.start``.
        label: legend text; defaults to the optimizer's name.
        **hyper: hyperparameters for the optimizer (``lr=0.1, momentum=0.9``).

    A run that reaches a non-finite loss or point stops there: the result has
    ``diverged=True`` and ``diverged_at`` the step, and ``path`` keeps the finite
    points. Divergence is a result, never an exception.

    Raises:
        TypeError: ``objective`` is not an [`Objective`][gdbook.objectives.Objective];
            ``optimizer`` is an optimizer *instance* or not callable; ``steps`` not an integer.
        ValueError: a bad ``start`` (see [`start_point`][gdbook.trajectory.start_point]),
            ``steps`` out of range; the optimizer's own errors for bad hyperparameters.
    """
    if optimizer is None:
        from .optim import SGD as optimizer
    _check_optimizer(optimizer)
    check_int("steps", steps, low=0, high=10**7)
    x = as_tensor(start_point(objective, start)).requires_grad_(True)
    opt = optimizer([x], **hyper)

    def value(p):
        return float(objective.value(p if objective.dim > 1 else p[0]))

    path, losses = [x.detach().numpy().copy()], [value(x.detach())]
    diverged_at = None
    for t in range(1, steps + 1):
        opt.zero_grad()
        g = objective.grad(x.detach() if objective.dim > 1 else x.detach()[0])  # 1-D objectives take a scalar
        x.grad = torch.as_tensor(g, dtype=x.dtype).reshape(x.shape).clone()
        opt.step()
        point = x.detach().numpy().copy()
        loss = value(x.detach()) if np.all(np.isfinite(point)) else math.nan
        if not (np.all(np.isfinite(point)) and math.isfinite(loss)):
            diverged_at = t
            break
        path.append(point)
        losses.append(loss)
    return Trajectory(
        path=np.array(path),
        losses=np.array(losses),
        label=label or optimizer_name(optimizer),
        diverged=diverged_at is not None,
        diverged_at=diverged_at,
        grad_evals=len(path) - 1 + (diverged_at is not None),
    )


@memoize
def run_rule(
    objective: Objective,
    rule: Callable,
    *,
    steps: int = 20,
    start: "Sequence[float] | float | None" = None,
    label: str | None = None,
    **hyper: object,
) -> Trajectory:
    r"""Iterate a pure update rule, ``x, state = rule(x, ∇f(x), state, **hyper)``, in NumPy.

    The rules of [`gdbook.optim.rules`][gdbook.optim.rules] are the optimizers' math
    without torch's machinery, so this takes the same path (to rounding) as
    [`trajectory`][gdbook.trajectory.trajectory] with the matching optimizer class, at a
    fraction of the cost per step; it also runs rules that have no class, such as
    [`momentum_ema`][gdbook.optim.rules.momentum_ema]. Arguments, the record and the
    handling of divergence are those of [`trajectory`][gdbook.trajectory.trajectory];
    the label defaults to the rule's name.

    Examples:
        >>> from gdbook import objectives, optim
        >>> f = objectives.bowl(10)
        >>> run = run_rule(f, optim.rules.momentum_negative, lr=0.01, momentum=0.8, start=(-70.0, -70.0), steps=2)
        >>> run.path.round(3).tolist()
        [[-70.0, -70.0], [-56.0, -68.6], [-33.6, -66.108]]
        >>> ref = trajectory(f, optim.SGD, lr=0.01, momentum=0.8, start=(-70.0, -70.0), steps=2)
        >>> bool(abs(run.path - ref.path).max() < 1e-12)
        True
    """
    check_int("steps", steps, low=0, high=10**8)
    if not callable(rule) or isinstance(rule, type):
        raise TypeError(f"rule must be an update rule, rule(x, g, state, **hyper) -> (x, state), such as "
                        f"gd.optim.rules.adam; got {rule!r}")
    x = start_point(objective, start)

    def at(p):
        return p if objective.dim > 1 else p[0]

    path, losses, state, diverged_at = [x], [float(objective.value(at(x)))], {}, None
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            g = np.asarray(objective.grad(at(x)), dtype=np.float64).reshape(-1)
            x, state = rule(x, g, state, **hyper)
            loss = float(objective.value(at(x))) if np.all(np.isfinite(x)) else math.nan
            if not math.isfinite(loss):
                diverged_at = t
                break
            path.append(x)
            losses.append(loss)
    return Trajectory(
        path=np.array(path),
        losses=np.array(losses),
        label=label or getattr(rule, "__name__", "rule"),
        diverged=diverged_at is not None,
        diverged_at=diverged_at,
        grad_evals=len(path) - 1 + (diverged_at is not None),
    )
