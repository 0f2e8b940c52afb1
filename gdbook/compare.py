r"""Comparing optimizers fairly: a deterministic learning-rate grid search.

A method is only as good as its learning rate, so a comparison that gives every
method the same \(\eta\) mostly measures which method that \(\eta\) happens to suit.
This module gives each method its own \(\eta\), chosen from a fixed grid by one rule,
applied in this order:

1. a run that diverged (a non-finite loss) never wins over one that did not;
2. a run that reaches the target wins over one that does not, and among those that
   reach it, the one that needs the fewest steps wins, where reaching means that the
   loss is \(\le\) ``target`` from that step to the end of the run (a run that touches
   the target while bouncing around it has not reached it);
3. what is still tied (the same number of steps, or no run reaching the target) goes
   to the lowest final loss, the run's last finite one;
4. only then to the smaller \(\eta\) (the grid is increasing).

Everything is deterministic: the grids are fixed, the 2-D runs have no randomness and
training runs are seeded, so a page that searches at build time prints the same
choice on every build.

[`sweep`][gdbook.compare.sweep] (on an [`Objective`][gdbook.objectives.Objective]) and
[`sweep_regression`][gdbook.compare.sweep_regression] (on the book's regression task)
run all learning rates of a grid at once: the book's optimizers carry their update
rule as a pure function ([`gdbook.optim.rules`][gdbook.optim.rules]), which works
elementwise on a NumPy array holding one row per learning rate. The results are those of
one [`trajectory`][gdbook.trajectory.trajectory] or
[`train_regression`][gdbook.train.train_regression] per learning rate up to rounding in
the last bits (the tests hold them equal to a relative \(10^{-12}\)), in one loop over
the steps instead of one per rate.

Examples:
    >>> from gdbook import objectives, optim
    >>> lr_grid(0.01, 1.0, per_decade=2)
    (0.01, 0.032, 0.1, 0.32, 1.0)
    >>> s = search_lr(objectives.bowl(1), optim.SGD, (0.1, 0.5, 0.9), target=1e-6, steps=50)
    >>> s.best_lr, s.steps          # on x² + y², η = 1/2 lands on the minimum in one step
    (0.5, 1)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence, Union

import numpy as np
import torch

from ._checks import check_in_range, check_int
from .data import minibatches, synthetic_regression
from .objectives import Objective
from .schedules import constant
from .train import History, train_regression
from .trajectory import Trajectory, optimizer_name, start_point, trajectory
from .cache import memoize

__all__ = ["lr_grid", "sweep", "sweep_regression", "mlp_task", "sweep_mlp", "Search", "best_of", "grid_search", "search_lr", "compare",
           "steps_rows", "thin"]

Run = Union[Trajectory, History]


def _check_lrs(lrs: Sequence[float]) -> tuple[float, ...]:
    lrs = tuple(float(check_in_range("lrs", lr, 0.0, low_open=True)) for lr in lrs)
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    if any(b <= a for a, b in zip(lrs, lrs[1:])):
        raise ValueError(f"lrs must be strictly increasing, got {lrs}")
    return lrs


def _matrix_rule(optimizer: Callable) -> bool:
    """Whether the rule of one of the book's optimizers takes each parameter as a whole (Adafactor's
    factored second moment, Muon's orthogonalized step): then one array cannot hold every rate's run."""
    from .optim import rules

    return optimizer.rule in (rules.adafactor, rules.muon)


def _rule_hyper(optimizer: Callable, lrs: tuple, **hyper) -> dict:
    """The rule's keyword arguments, ``lr`` a ``(K, 1)`` column: what the class would pass.

    Building the optimizer once per rate validates every hyperparameter with torch's
    messages and fills in the defaults (the parameter is a stand-in, a matrix for Muon).
    """
    dummy = [torch.zeros(2, 2)]
    defaults = [optimizer(dummy, lr=lr, **hyper) for lr in lrs][0].rule_hyper()
    return dict(defaults, lr=np.array(lrs).reshape(-1, 1))


def lr_grid(low: float, high: float, per_decade: int = 3) -> tuple[float, ...]:
    r"""Learning rates evenly spaced in \(\log\eta\), ``per_decade`` of them per factor 10.

    The points are \(10^{k/p}\) for the integers \(k\) from \(p\log_{10}\) ``low`` to
    \(p\log_{10}\) ``high`` (both rounded), written with two significant digits.

    Examples:
        >>> lr_grid(1e-3, 0.1)
        (0.001, 0.0022, 0.0046, 0.01, 0.022, 0.046, 0.1)
    """
    check_in_range("low", low, 0.0, low_open=True)
    check_in_range("high", high, low)
    check_int("per_decade", per_decade, low=1, high=100)
    k0, k1 = round(per_decade * math.log10(low)), round(per_decade * math.log10(high))
    return tuple(float(f"{10 ** (k / per_decade):.2g}") for k in range(k0, k1 + 1))


@memoize
def sweep(
    objective: Objective,
    optimizer: Callable,
    lrs: Sequence[float],
    *,
    steps: int = 100,
    start: "Sequence[float] | float | None" = None,
    label: str | None = None,
    **hyper: object,
) -> list[Trajectory]:
    """One run per learning rate: ``[trajectory(objective, optimizer, lr=lr, ...) for lr in lrs]``, up to rounding.

    Args:
        objective: what to minimize.
        optimizer: an optimizer class; the book's elementwise ones (``gdbook.optim.Adam``,
            ...) run vectorized, any other (``torch.optim.Adam``, and the book's Adafactor
            and Muon, whose rules take a parameter as a whole) one
            [`trajectory`][gdbook.trajectory.trajectory] per rate.
        lrs: strictly increasing learning rates.
        steps, start, label, **hyper: as for [`trajectory`][gdbook.trajectory.trajectory].

    The vectorized path stacks one point per learning rate into a ``(K, d)`` array and
    applies the optimizer's pure rule with ``lr`` as a ``(K, 1)`` column, so the ``K``
    runs share one loop over steps. Each row diverges on its own (the others go on),
    as its own [`trajectory`][gdbook.trajectory.trajectory] would (the tests check the
    step).
    """
    lrs = _check_lrs(lrs)
    rule = getattr(optimizer, "rule", None)
    if rule is None or _matrix_rule(optimizer):
        return [trajectory(objective, optimizer, steps=steps, start=start, label=label, lr=lr, **hyper) for lr in lrs]
    check_int("steps", steps, low=0, high=10**7)
    x0 = start_point(objective, start)
    hyper_full = _rule_hyper(optimizer, lrs, **hyper)

    def value(x):
        return np.asarray(objective.value(x if objective.dim > 1 else x[:, 0]), dtype=np.float64)

    def grad(x):
        g = objective.grad(x if objective.dim > 1 else x[:, 0])
        return np.asarray(g, dtype=np.float64).reshape(x.shape)

    x, state = np.tile(x0, (len(lrs), 1)), {}
    points, values = [x], [value(x)]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            x, state = rule(x, grad(x), state, **hyper_full)
            points.append(x)
            values.append(value(x))
            if not np.isfinite(values[-1]).any():
                break
    points, values = np.stack(points), np.stack(values)  # (T, K, d), (T, K)
    finite = np.isfinite(points).all(axis=2) & np.isfinite(values)
    runs = []
    for k in range(len(lrs)):
        bad = np.nonzero(~finite[:, k])[0]
        end = int(bad[0]) if bad.size else len(points)
        diverged = bool(bad.size)
        runs.append(Trajectory(
            path=points[:end, k].copy(),
            losses=values[:end, k].copy(),
            label=label or optimizer_name(optimizer),
            diverged=diverged,
            diverged_at=end if diverged else None,
            grad_evals=end - 1 + diverged,
        ))
    return runs


@memoize
def sweep_regression(
    optimizer: Callable,
    lrs: Sequence[float],
    *,
    batch_size: int = 10,
    epochs: int = 5,
    schedule: Callable[[int], float] | None = None,
    period: int = 10,
    data: "tuple[torch.Tensor, torch.Tensor] | None" = None,
    seed: int = 0,
    label: str | None = None,
    **hyper: object,
) -> list[History]:
    r"""One training run per learning rate: ``[train_regression(optimizer, lr=lr, ...) for lr in lrs]``, up to rounding.

    Arguments as for [`train_regression`][gdbook.train.train_regression], with a grid ``lrs``
    in place of ``lr``. Requires one of the book's optimizers (it uses the class's
    rule; any other class raises ``TypeError``); Adafactor and Muon, whose rules take a
    parameter as a whole, run one [`train_regression`][gdbook.train.train_regression] per
    rate, since a row of one array cannot stand for the two parameters \(\mathbf w\) and
    \(b\) they see. The ``K`` runs see the same data, initial weights and minibatches (one seed),
    so they can share one loop: the parameters \((\mathbf w, b)\) of all runs form a
    ``(K, d + 1)`` array, the gradient of the minibatch loss
    \(\tfrac{1}{|B|}\sum_{i \in B} \tfrac12 (\mathbf x_i^\top\mathbf w + b - y_i)^2\) is
    \(\tfrac{1}{|B|}\sum_{i \in B} r_i\,(\mathbf x_i, 1)\) with residuals
    \(r_i = \mathbf x_i^\top\mathbf w + b - y_i\), and the
    rule, which works elementwise, updates every run at once. Each run stops recording
    at its own divergence, as its own training run would.
    """
    lrs = _check_lrs(lrs)
    rule = getattr(optimizer, "rule", None)
    if rule is None:
        raise TypeError(f"sweep_regression needs one of gdbook.optim's optimizers, got {optimizer_name(optimizer)}")
    if _matrix_rule(optimizer):
        return [train_regression(optimizer, lr=lr, batch_size=batch_size, epochs=epochs, schedule=schedule,
                                 period=period, data=data, seed=seed, label=label, **hyper) for lr in lrs]
    check_int("epochs", epochs, low=1)
    check_int("period", period, low=1)
    X, y = data if data is not None else synthetic_regression(seed=seed)
    n, d = X.shape
    check_int("batch_size", batch_size, low=1, high=n)
    schedule = schedule or constant()
    hyper_full = _rule_hyper(optimizer, lrs, **hyper)
    base = hyper_full["lr"]
    g = torch.Generator().manual_seed(seed)
    w0 = (0.01 * torch.randn(d, generator=g, dtype=X.dtype)).numpy()
    Xn, yn = X.numpy(), y.numpy()
    K = len(lrs)
    theta, state = np.tile(np.append(w0, 0.0), (K, 1)), {}  # rows (w, b)
    hs = [History(label=label or optimizer_name(optimizer)) for _ in lrs]
    alive = np.full(K, True)
    examples = steps = 0

    def full_loss(theta):
        r = theta[:, :d] @ Xn.T + theta[:, d:] - yn
        return (r**2 / 2).mean(axis=1)

    def record(loss):
        for k in np.nonzero(alive)[0]:
            hs[k].epoch.append(examples / n)
            hs[k].loss.append(float(loss[k]))
            hs[k].examples, hs[k].steps = examples, steps
            if not math.isfinite(hs[k].loss[-1]):
                hs[k].diverged, hs[k].diverged_epoch = True, hs[k].epoch[-1]
                alive[k] = False
                _finish(hs[k], theta[k], d)

    with np.errstate(all="ignore"):
        record(full_loss(theta))
        for epoch in range(epochs):
            factor = schedule(epoch)
            hyper_full["lr"] = base * factor
            for k in np.nonzero(alive)[0]:
                hs[k].lr.append(lrs[k] * factor)
            for idx in minibatches(n, batch_size, g):
                xb, yb = Xn[idx.numpy()], yn[idx.numpy()]
                r = theta[:, :d] @ xb.T + theta[:, d:] - yb  # (K, |B|) residuals
                grad = np.concatenate([r @ xb, r.sum(axis=1, keepdims=True)], axis=1) / len(idx)
                theta, state = rule(theta, grad, state, **hyper_full)
                before, examples, steps = examples, examples + len(idx), steps + 1
                if examples // period > before // period or examples == n * epochs:
                    record(full_loss(theta))
                if not alive.any():
                    break
            if not alive.any():
                break
    for k in np.nonzero(alive)[0]:
        _finish(hs[k], theta[k], d)
    return hs


def mlp_task(n: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""The small network's data: ``n`` points \(\mathbf x\) uniform in \([-2, 2]^2\) and
    targets \(y = \sin(2x_1)\cos(1.5x_2)\), drawn with ``seed``.

    Examples:
        >>> X, y = mlp_task(4)
        >>> X.shape, y.shape, bool(np.abs(X).max() <= 2)
        ((4, 2), (4, 1), True)
    """
    check_int("n", n, low=1)
    X = np.random.default_rng(seed).uniform(-2.0, 2.0, size=(n, 2))
    return X, (np.sin(2 * X[:, 0]) * np.cos(1.5 * X[:, 1]))[:, None]


def _mlp_init(width: int, K: int, seed: int) -> dict:
    r"""Weights \(N(0, 1/\text{fan-in})\), biases 0, the same for all ``K`` runs."""
    rng = np.random.default_rng(seed + 1)
    shapes = {"W1": (width, 2), "b1": (width,), "W2": (width, width), "b2": (width,), "W3": (1, width), "b3": (1,)}
    params = {}
    for name, shape in shapes.items():
        p = rng.normal(0.0, 1 / math.sqrt(shape[1]), size=shape) if len(shape) == 2 else np.zeros(shape)
        params[name] = np.tile(p, (K,) + (1,) * len(shape))
    return params


def _mlp_loss_grads(p: dict, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, dict]:
    r"""Loss \(\operatorname{mean}(\hat y - y)^2\) of each of the ``K`` networks and its gradients (backpropagation by
    hand, for speed: see [`sweep_mlp`][gdbook.compare.sweep_mlp]; tested against autograd)."""
    H1 = np.tanh(X @ p["W1"].transpose(0, 2, 1) + p["b1"][:, None])          # (K, n, h)
    H2 = np.tanh(H1 @ p["W2"].transpose(0, 2, 1) + p["b2"][:, None])
    out = H2 @ p["W3"].transpose(0, 2, 1) + p["b3"][:, None]                  # (K, n, 1)
    r = out - y
    loss = (r**2).mean(axis=(1, 2))
    d3 = 2 * r / len(X)
    d2 = (d3 @ p["W3"]) * (1 - H2**2)
    d1 = (d2 @ p["W2"]) * (1 - H1**2)
    grads = {"W3": d3.transpose(0, 2, 1) @ H2, "b3": d3.sum(1), "W2": d2.transpose(0, 2, 1) @ H1,
             "b2": d2.sum(1), "W1": d1.transpose(0, 2, 1) @ X, "b1": d1.sum(1)}
    return loss, grads


@memoize
def sweep_mlp(
    optimizer: Callable,
    lrs: Sequence[float],
    *,
    width: int = 16,
    steps: int = 300,
    n: int = 128,
    seed: int = 0,
    label: str | None = None,
    **hyper: object,
) -> list[History]:
    r"""Train a small network once per learning rate, by full-batch steps: the book's small-network benchmark.

    The network maps \(\mathbf x \in \mathbb R^2\) through two tanh layers of ``width`` units
    to one output, \(\hat y = W_3\tanh(W_2\tanh(W_1\mathbf x + \mathbf b_1) + \mathbf b_2) + b_3\);
    weights start \(N(0, 1/\text{fan-in})\), biases at 0 (seed ``seed + 1``), and it fits
    [`mlp_task`][gdbook.compare.mlp_task]``(n, seed)`` on the mean squared error. Every
    step uses all ``n`` examples, so ``History.epoch`` counts steps; ``loss[k]`` is the loss
    before step \(k\), one entry per step and a last one after the last step.

    The ``K`` rates run in one loop. A rule that acts elementwise (SGD, Adam, NAdam, RAdam,
    Adamax, Lion, ...) updates all parameters of all runs as one ``(K, P)`` array. Adafactor
    (whose step depends on each matrix's RMS and row and column means) runs per parameter and
    per rate. Muon runs on the hidden matrix \(W_2\) only, per rate, as its authors advise;
    the other parameters (first and last layer, biases) take AdamW's steps with AdamW's
    defaults (its ``weight_decay`` set to Muon's) at the same \(\eta\), as torch's documentation
    suggests; ``adjust_lr_fn="match_rms_adamw"`` lets one \(\eta\) suit both.

    The gradients are backpropagated by hand through the two tanh layers, for all ``K``
    networks at once (``_mlp_loss_grads``), not taken from autograd, against the book's
    habit, for cost: this function runs at build time for every method of a chapter's
    comparison, and torch's autograd, which builds a graph of a dozen small operations per
    step, took more than twice as long per step as the NumPy backward pass on one thread (and
    many times longer when torch's threads compete with other processes). The tests hold the
    hand-written gradients equal to autograd's and every rate's run equal to torch's own
    training loop.

    Args:
        optimizer: one of gdbook's optimizer classes (its rule is used).
        lrs: strictly increasing learning rates.
        width, steps, n, seed: the network's width, the number of steps, the data.
        label: name for the histories (default: the class's name).
        **hyper: the optimizer's other hyperparameters.

    Examples:
        >>> from gdbook import optim
        >>> hs = sweep_mlp(optim.Adam, (1e-3, 1e-2), steps=50)
        >>> len(hs), len(hs[0].loss), hs[1].loss[-1] < hs[0].loss[-1] < hs[0].loss[0]
        (2, 51, True)
    """
    from .optim import AdamW, Muon

    lrs = _check_lrs(lrs)
    rule = getattr(optimizer, "rule", None)
    if rule is None:
        raise TypeError(f"sweep_mlp needs one of gdbook.optim's optimizers, got {optimizer_name(optimizer)}")
    check_int("steps", steps, low=1)
    check_int("width", width, low=1)
    X, y = mlp_task(n, seed)
    K = len(lrs)
    params = _mlp_init(width, K, seed)
    names = list(params)
    hyper_full = _rule_hyper(optimizer, lrs, **hyper)
    full = [dict(hyper_full, lr=lr) for lr in lrs]  # one rate each, for the rules run per rate
    if optimizer is Muon:
        other = AdamW.rule.inplace
        other_full = dict(_rule_hyper(AdamW, lrs), weight_decay=hyper_full["weight_decay"])
        mine, rest = ["W2"], [k for k in names if k != "W2"]
    elif optimizer.__name__ == "Adafactor":
        mine, rest = names, []
    else:
        mine, rest = [], names
    sizes = [params[k][0].size for k in rest]
    flat = np.concatenate([params[k].reshape(K, -1) for k in rest], axis=1) if rest else None
    flat_state, states = {}, [{k: {} for k in mine} for _ in range(K)]
    flat_rule, flat_full = (other, other_full) if optimizer is Muon else (rule.inplace, hyper_full)
    hs = [History(label=label or optimizer_name(optimizer)) for _ in lrs]
    alive = np.full(K, True)

    def record(loss, step):
        for k in np.nonzero(alive)[0]:
            hs[k].epoch.append(step)
            hs[k].loss.append(float(loss[k]))
            hs[k].examples, hs[k].steps = step * n, step
            if not math.isfinite(hs[k].loss[-1]):
                hs[k].diverged, hs[k].diverged_epoch = True, step
                alive[k] = False

    with np.errstate(all="ignore"):
        for step in range(steps + 1):
            if rest:  # the views of the flat array are the parameters
                parts = np.split(flat, np.cumsum(sizes)[:-1], axis=1)
                params.update({k: v.reshape((K,) + params[k].shape[1:]) for k, v in zip(rest, parts)})
            loss, grads = _mlp_loss_grads(params, X, y)
            record(loss, step)
            if step == steps or not alive.any():
                break
            if rest:
                flat_rule(flat, np.concatenate([grads[k].reshape(K, -1) for k in rest], axis=1), flat_state,
                          **flat_full)
            for k in np.nonzero(alive)[0]:
                for name in mine:
                    x = params[name][k]
                    rule.inplace(x, grads[name][k], states[k][name], **full[k])
    for k, h in enumerate(hs):
        h.lr = [lrs[k]] * h.steps
    return hs


def _finish(h: History, theta: np.ndarray, d: int) -> None:
    finite = bool(np.isfinite(theta).all())
    h.w = theta[:d].copy() if finite else None
    h.b = float(theta[d]) if finite else None


def _losses(run: Run) -> np.ndarray:
    return np.asarray(run.losses if isinstance(run, Trajectory) else run.loss, dtype=np.float64)


@dataclass(frozen=True)
class Search:
    r"""The outcome of a learning-rate grid search (see the module's rule).

    Attributes:
        label: the method's name.
        lrs: the grid, increasing.
        runs: one run per learning rate ([`Trajectory`][gdbook.trajectory.Trajectory]
            or [`History`][gdbook.train.History]).
        target: the loss to reach.
        hits: per run, the first record from which the loss stays \(\le\) ``target``
            to the end (``None`` if there is none): the step for a trajectory, the
            record for a training history (one per ``period`` examples).
        best: index of the chosen learning rate.
    """

    label: str
    lrs: tuple
    runs: tuple
    target: float
    hits: tuple
    best: int

    @property
    def best_lr(self) -> float:
        """The chosen learning rate."""
        return self.lrs[self.best]

    @property
    def best_run(self) -> Run:
        """The run at the chosen learning rate."""
        return self.runs[self.best]

    @property
    def steps(self) -> int | None:
        """Records (steps) the chosen run needed to reach the target and stay, ``None`` if it never did."""
        return self.hits[self.best]

    @property
    def reached(self) -> int:
        """How many learning rates of the grid reached the target (and stayed) without diverging."""
        return sum(h is not None and not r.diverged for h, r in zip(self.hits, self.runs))

    @property
    def at_edge(self) -> bool:
        """Whether the choice is the grid's smallest or largest rate (a wider grid might do better)."""
        return len(self.lrs) > 1 and self.best in (0, len(self.lrs) - 1)

    @property
    def final_loss(self) -> float:
        """The chosen run's last recorded finite loss."""
        losses = _losses(self.best_run)
        losses = losses[np.isfinite(losses)]
        return float(losses[-1]) if losses.size else math.nan


def best_of(runs: Sequence[Run], lrs: Sequence[float], *, target: float, label: str | None = None) -> Search:
    """Choose among finished runs, one per learning rate, by the module's rule.

    Examples:
        >>> import numpy as np
        >>> def run(losses, diverged=False):
        ...     return Trajectory(np.zeros((len(losses), 1)), np.array(losses), "GD", diverged)
        >>> runs = [run([4.0, 2.0, 1.0]), run([4.0, 0.5, 0.1]), run([4.0, 0.01], diverged=True)]
        >>> s = best_of(runs, [0.1, 0.2, 0.4], target=0.2)
        >>> s.best_lr, s.steps, s.hits
        (0.2, 2, (None, 2, 1))
    """
    lrs = _check_lrs(lrs)
    runs = tuple(runs)
    if len(runs) != len(lrs):
        raise ValueError(f"runs must hold one run per learning rate ({len(lrs)}), got {len(runs)}")
    target = float(check_in_range("target", target))
    hits, keys = [], []
    for r in runs:
        losses = _losses(r)
        above = np.nonzero(~(losses <= target))[0]  # NaN counts as above
        hit = 0 if not above.size else int(above[-1]) + 1
        hits.append(hit if hit < losses.size else None)
        finite = losses[np.isfinite(losses)]
        last = float(finite[-1]) if finite.size else math.inf
        keys.append((bool(r.diverged), hits[-1] is None, hits[-1] or 0, last))
    best = min(range(len(runs)), key=lambda i: keys[i])
    return Search(label or runs[best].label, lrs, runs, target, tuple(hits), best)


def grid_search(run: Callable[[float], Run], lrs: Sequence[float], *, target: float,
                label: str | None = None) -> Search:
    """Call ``run(lr)`` for every learning rate of the grid and choose by the module's rule.

    ``run`` is any function of the learning rate returning a
    [`Trajectory`][gdbook.trajectory.Trajectory] or a [`History`][gdbook.train.History],
    e.g. ``lambda lr: train_regression(Adam, lr=lr, epochs=2)``.
    """
    lrs = _check_lrs(lrs)
    return best_of([run(lr) for lr in lrs], lrs, target=target, label=label)


def search_lr(objective: Objective, optimizer: Callable, lrs: Sequence[float], *, target: float, steps: int = 100,
              start=None, label: str | None = None, **hyper: object) -> Search:
    """Grid search on a 2-D (or 1-D) objective: [`sweep`][gdbook.compare.sweep], then [`best_of`][gdbook.compare.best_of]."""
    runs = sweep(objective, optimizer, lrs, steps=steps, start=start, label=label, **hyper)
    return best_of(runs, lrs, target=target)  # the runs carry the label


def compare(
    problem: "Objective | Callable[..., Sequence[Run]]",
    methods: Mapping[str, tuple],
    lrs: "Sequence[float] | Mapping[str, Sequence[float]]",
    *,
    target: float,
    steps: int = 100,
    start=None,
) -> dict[str, Search]:
    """Search every method's learning rate on one problem.

    Args:
        problem: an [`Objective`][gdbook.objectives.Objective] (each method runs
            ``steps`` steps from ``start`` with [`sweep`][gdbook.compare.sweep]), or a
            function called as ``problem(optimizer, grid, label=name, **hyper)`` that
            returns one run per rate of the grid, such as
            [`sweep_regression`][gdbook.compare.sweep_regression] with its settings fixed
            by ``functools.partial``.
        methods: ``{name: (optimizer_class, hyper)}``; ``hyper`` holds everything but ``lr``.
        lrs: one grid for all methods, or ``{name: grid}``.
        target: the loss to reach and stay at or below.
        steps, start: for an ``Objective``, as for [`sweep`][gdbook.compare.sweep]; unused otherwise.

    Returns:
        ``{name: Search}`` in the order of ``methods``.
    """
    out = {}
    for name, (optimizer, hyper) in methods.items():
        grid = _check_lrs(lrs[name] if isinstance(lrs, Mapping) else lrs)
        if isinstance(problem, Objective):
            runs = sweep(problem, optimizer, grid, steps=steps, start=start, label=name, **hyper)
        else:
            runs = problem(optimizer, grid, label=name, **hyper)
        out[name] = best_of(runs, grid, target=target, label=name)
    return out


def steps_rows(columns: Mapping[str, Mapping[str, Search]]) -> list[list[str]]:
    r"""Rows for a steps-to-target table: one per method, one cell per problem.

    A cell reads ``steps (η = lr)``, with ``–`` for a target never reached (or a chosen run
    that diverged), ``*`` after an \(\eta\) at the edge of its grid, and is empty for a
    method the problem's search did not include; the first column is the method's name.
    ``columns`` maps a problem's name to the output of [`compare`][gdbook.compare.compare].

    Examples:
        >>> from gdbook import objectives, optim
        >>> res = compare(objectives.bowl(1), {"GD": (optim.SGD, {})}, (0.1, 0.5, 0.9), target=1e-6, steps=50)
        >>> steps_rows({"x² + y²": res})
        [['GD', '1 (η = 0.5)']]
    """
    names = list(dict.fromkeys(name for col in columns.values() for name in col))
    rows = []
    for name in names:
        row = [name]
        for col in columns.values():
            s = col.get(name)
            if s is None:
                row.append("")
                continue
            steps = "–" if s.steps is None or s.best_run.diverged else str(s.steps)
            row.append(f"{steps} (η = {s.best_lr:g}{'*' if s.at_edge else ''})")
        rows.append(row)
    return rows


def thin(run: Trajectory, max_points: int = 60) -> Trajectory:
    r"""A copy of ``run`` with at most ``max_points`` points, for figures of long runs
    (``run`` itself if it has no more).

    The kept steps are spaced evenly in \(\log(t + 1)\): dense at the start, where a
    path usually moves most, sparse later; the first and the last point are always kept.
    ``losses`` are thinned alike; everything else is unchanged.

    Examples:
        >>> from gdbook import objectives, optim
        >>> run = sweep(objectives.rosenbrock(), optim.Adam, (0.01,), steps=1000)[0]
        >>> short = thin(run, 50)
        >>> len(short.path) <= 50, bool((short.path[-1] == run.path[-1]).all()), short.steps < run.steps
        (True, True, True)
    """
    check_int("max_points", max_points, low=2)
    k = len(run.path)
    if k <= max_points:
        return run
    idx = np.unique(np.round(np.geomspace(1, k, max_points)).astype(int) - 1)
    return dataclasses.replace(run, path=run.path[idx], losses=run.losses[idx])
