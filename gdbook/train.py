r"""Training loops that record what the book plots, and never crash on divergence.

[`train_regression`][gdbook.train.train_regression] trains one model with a torch optimizer;
[`sgd_chains`][gdbook.train.sgd_chains] runs many independent SGD chains on a least-squares
problem at once, to estimate expectations such as \(\mathbb E\|\boldsymbol\theta_t - \boldsymbol\theta^\ast\|^2\);
[`rule_chains`][gdbook.train.rule_chains] does the same with any elementwise update rule
(Adam, RAdam, ...) in place of plain SGD.

Examples:
    >>> from gdbook import optim, schedules
    >>> h = train_regression(optim.SGD, lr=0.1, batch_size=10, epochs=2, seed=0)
    >>> h.diverged, h.loss[-1] < 1e-3
    (False, True)
    >>> bad = train_regression(optim.SGD, lr=3.0, batch_size=10, epochs=5, seed=0)
    >>> bad.diverged
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ._checks import check_in_range, check_int
from .cache import memoize
from .clip import clip_grad_norm_, clip_grad_value_, total_norm
from .data import minibatches, synthetic_regression
from .schedules import constant
from .trajectory import optimizer_name

__all__ = ["History", "squared_loss", "least_squares_loss", "train_regression", "Chains", "sgd_chains", "rule_chains"]


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    r"""Mean of \(\tfrac12 (\hat y - y)^2\) over the examples."""
    return ((y_hat - y) ** 2 / 2).mean()


def least_squares_loss(data: tuple[torch.Tensor, torch.Tensor] | None = None, *, seed: int = 0) -> float:
    r"""The lowest loss any \((\mathbf w, b)\) reaches on a regression data set: the noise floor of
    [`train_regression`][gdbook.train.train_regression]'s loss, \(\min_{\mathbf w, b}
    \operatorname{mean}\tfrac12(\mathbf x^\top\mathbf w + b - y)^2\), from the least-squares fit.

    ``data`` is ``(X, y)`` as ``train_regression`` takes it; by default the book's task,
    [`synthetic_regression`][gdbook.data.synthetic_regression] with ``seed``.

    Examples:
        >>> floor = least_squares_loss()        # about half the noise variance 0.01²
        >>> 0.8 < floor / (0.5 * 0.01**2) < 1.2
        True
    """
    X, y = data if data is not None else synthetic_regression(seed=seed)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"data must be (X, y) with X (n, d) and y (n,), got {tuple(X.shape)} and {tuple(y.shape)}")
    A = torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)
    return squared_loss(A @ torch.linalg.lstsq(A, y[:, None]).solution[:, 0], y).item()


@dataclass
class History:
    """What a training run recorded.

    Attributes:
        epoch: the x-axis: examples processed divided by ``n``, one entry per record.
        loss: full-data loss at each record (the first before any step).
        lr: learning rate in force for each epoch.
        w, b: the parameters at the end of the run, ``None`` if any of them is not finite
            (after a divergence).
        label: name for legends.
        diverged: whether a non-finite loss stopped the run.
        diverged_epoch: the epoch (fractional, in examples / n) at which it did.
        examples: examples processed, i.e. per-example gradients evaluated.
        steps: parameter updates made.
        grad_norm: the joint norm of the minibatch gradient at each update, before any
            clipping (recorded when ``train_regression`` clips).
    """

    epoch: list = field(default_factory=list)
    loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    w: np.ndarray | None = None
    b: float | None = None
    label: str = ""
    diverged: bool = False
    diverged_epoch: float | None = None
    examples: int = 0
    steps: int = 0
    grad_norm: list = field(default_factory=list)


@memoize
def train_regression(
    optimizer: Callable,
    *,
    lr: float,
    batch_size: int = 10,
    epochs: int = 5,
    schedule: Callable[[int], float] | None = None,
    period: int = 10,
    data: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    label: str | None = None,
    init_scale: float = 0.01,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    **hyper: object,
) -> History:
    r"""Fit \(\hat y = X\mathbf w + b\) by minibatch training and record the loss.

    Args:
        optimizer: an optimizer class (``gdbook.optim.SGD``, ``torch.optim.Adam``, ...).
        lr: the base learning rate \(\eta_0\), scaled by ``schedule``.
        batch_size: \(|B|\).
        epochs: passes over the data.
        schedule: ``factor(epoch)``; the rate in epoch ``e`` is ``lr * factor(e)``.
        period: record the full-data loss every ``period`` examples (at the first batch
            boundary past each multiple), as well as before the first step and after the last.
        data: ``(X, y)``; defaults to [`synthetic_regression`][gdbook.data.synthetic_regression] with ``seed``.
        seed: seeds the data (when generated), the initial weights and the shuffling.
        init_scale: standard deviation of the initial weights.
        label: the legend text; defaults to the optimizer's name.
        clip_norm: clip the minibatch gradient by its joint norm before each update
            ([`clip_grad_norm_`][gdbook.clip.clip_grad_norm_]); ``None``: no clipping.
        clip_value: clamp every gradient entry to \([-c, c]\) instead
            ([`clip_grad_value_`][gdbook.clip.clip_grad_value_]); at most one of the two.
        **hyper: further optimizer hyperparameters (``momentum=0.9``, ``alpha=0.9``, ...).

    The loss is [`squared_loss`][gdbook.train.squared_loss]. Weights start at
    \(N(0, s^2)\) with ``s = init_scale`` (0.01 by default) and the bias at 0. A non-finite
    recorded loss stops the run and is recorded in ``diverged`` and ``diverged_epoch``.
    """
    check_in_range("lr", lr, 0.0)
    check_int("epochs", epochs, low=1)
    check_int("period", period, low=1)
    check_in_range("init_scale", init_scale, 0.0)
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give at most one of clip_norm and clip_value")
    X, y = data if data is not None else synthetic_regression(seed=seed)
    n, d = X.shape
    check_int("batch_size", batch_size, low=1, high=n)
    schedule = schedule or constant()
    g = torch.Generator().manual_seed(seed)
    w = (init_scale * torch.randn(d, generator=g, dtype=X.dtype)).requires_grad_(True)
    b = torch.zeros((), dtype=X.dtype, requires_grad=True)
    opt = optimizer([w, b], lr=lr, **hyper)
    h = History(label=label or optimizer_name(optimizer))

    def record():
        with torch.no_grad():
            h.epoch.append(h.examples / n)
            h.loss.append(float(squared_loss(X @ w + b, y)))

    record()
    for epoch in range(epochs):
        rate = lr * schedule(epoch)
        for group in opt.param_groups:
            group["lr"] = rate
        h.lr.append(rate)
        for idx in minibatches(n, batch_size, g):
            opt.zero_grad()
            squared_loss(X[idx] @ w + b, y[idx]).backward()
            if clip_norm is not None:
                h.grad_norm.append(float(clip_grad_norm_([w, b], clip_norm)))
            elif clip_value is not None:
                h.grad_norm.append(float(total_norm([w.grad, b.grad])))
                clip_grad_value_([w, b], clip_value)
            opt.step()
            before = h.examples
            h.examples += len(idx)
            h.steps += 1
            if h.examples // period > before // period or h.examples == n * epochs:
                record()
                if not math.isfinite(h.loss[-1]):
                    h.diverged, h.diverged_epoch = True, h.epoch[-1]
                    break
        if h.diverged:
            break
    finite = all(map(math.isfinite, w.tolist() + [b.item()]))
    h.w = w.detach().numpy().copy() if finite else None
    h.b = b.item() if finite else None
    return h


@dataclass(frozen=True)
class Chains:
    r"""What [`sgd_chains`][gdbook.train.sgd_chains] measured, for \(t = 0, \dots, T\).

    Attributes:
        dist2: \(\|\boldsymbol\theta_t - \boldsymbol\theta^\ast\|^2\) averaged over the chains, shape ``(T + 1,)``.
        dist2_se: its standard error over the chains.
        avg_dist2: the same for the running average
            \(\bar{\boldsymbol\theta}_t = \frac{1}{t - t_0 + 1}\sum_{s=t_0}^{t}\boldsymbol\theta_s\) of the
            iterates from step \(t_0\) = ``average_from`` on; NaN for \(t < t_0\).
        theta_star: the least-squares solution \(\boldsymbol\theta^\ast\).
    """

    dist2: np.ndarray
    dist2_se: np.ndarray
    avg_dist2: np.ndarray
    theta_star: np.ndarray


def _least_squares_chains(A, y, lr, batch_size, chains):
    r"""The arguments ``sgd_chains`` and ``rule_chains`` share, checked and as float64 arrays, and
    the least-squares solution \(\boldsymbol\theta^*\) the chains are measured against."""
    A = np.asarray(A, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    lr = np.asarray(lr, dtype=np.float64).reshape(-1)
    if A.ndim != 2 or y.shape != (A.shape[0],):
        raise ValueError(f"A must be (n, d) and y (n,), got {A.shape} and {y.shape}")
    check_int("batch_size", batch_size, low=1)
    check_int("chains", chains, low=1)
    return A, y, lr, np.linalg.lstsq(A, y, rcond=None)[0]


@memoize
def sgd_chains(A, y, lr, *, batch_size: int = 1, chains: int = 100, start=None,
               average_from: int = 0, seed: int = 0) -> Chains:
    r"""Independent runs of minibatch SGD on \(f(\boldsymbol\theta) = \frac1{2n}\|A\boldsymbol\theta - \mathbf y\|^2\), side by side.

    Each step of each chain draws ``batch_size`` rows with replacement (independently of
    everything before) and takes \(\boldsymbol\theta \leftarrow \boldsymbol\theta - \eta_t \frac1b\sum_{i\in B}
    (\mathbf a_i^\top\boldsymbol\theta - y_i)\,\mathbf a_i\). ``lr`` holds one rate per step (its length is
    the number of steps \(T\)); ``start`` defaults to \(\mathbf 0\). The chains share the start and
    differ in their draws (NumPy generator seeded with ``seed``).

    Examples:
        >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> y = A @ np.array([1.0, -1.0])                      # consistent: θ* = (1, −1)
        >>> run = sgd_chains(A, y, np.full(50, 0.5), chains=4)
        >>> run.theta_star.round(6).tolist(), bool(run.dist2[-1] < 1e-6 * run.dist2[0])
        ([1.0, -1.0], True)
    """
    A, y, lr, theta_star = _least_squares_chains(A, y, lr, batch_size, chains)
    n, d = A.shape
    check_int("average_from", average_from, low=0)
    rng = np.random.default_rng(seed)
    th = np.tile(np.zeros(d) if start is None else np.asarray(start, dtype=np.float64), (chains, 1))
    avg = np.zeros_like(th)
    steps = len(lr)
    d2 = np.empty((steps + 1, chains))
    avg_d2 = np.full(steps + 1, np.nan)
    d2[0] = ((th - theta_star) ** 2).sum(axis=1)
    if average_from == 0:
        avg, avg_d2[0] = th.copy(), d2[0].mean()
    for t in range(1, steps + 1):
        idx = rng.integers(0, n, (chains, batch_size))
        Ab = A[idx]
        resid = np.einsum("cbk,ck->cb", Ab, th) - y[idx]
        th = th - lr[t - 1] * np.einsum("cb,cbk->ck", resid, Ab) / batch_size
        d2[t] = ((th - theta_star) ** 2).sum(axis=1)
        if t >= average_from:
            avg = avg + (th - avg) / (t - average_from + 1)
            avg_d2[t] = ((avg - theta_star) ** 2).sum(axis=1).mean()
    se = d2.std(axis=1, ddof=1) / np.sqrt(chains) if chains > 1 else np.full(steps + 1, np.nan)
    return Chains(d2.mean(axis=1), se, avg_d2, theta_star)


@memoize
def rule_chains(A, y, rule: Callable, lr, *, batch_size: int = 1, chains: int = 100, start=None,
                seed: int = 0, **hyper: object) -> Chains:
    r"""[`sgd_chains`][gdbook.train.sgd_chains] with any update rule of
    [`gdbook.optim.rules`][gdbook.optim.rules] in place of the SGD step.

    Each step of each chain draws ``batch_size`` rows with replacement and computes the
    minibatch gradient \(\mathbf g = \frac1b\sum_{i\in B}(\mathbf a_i^\top\boldsymbol\theta - y_i)\,\mathbf a_i\);
    then ``x, state = rule(x, g, state, lr=lr[t], **hyper)`` updates all chains at once, the
    chains stacked as the rows of ``x``. This is exact for rules that act entry by entry (SGD,
    Adagrad, RMSProp, Adam, AdamW, NAdam, RAdam, Adamax, Lion): each chain then follows its own
    run of the rule. ``lr`` holds one rate per step; ``start`` defaults to \(\mathbf 0\). The
    draws are those of ``sgd_chains`` with the same ``seed``, so ``rule=rules.sgd`` takes the
    same steps. ``avg_dist2`` is all NaN (no averaging).

    Examples:
        >>> from gdbook.optim import rules
        >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> y = A @ np.array([1.0, -1.0])
        >>> run = rule_chains(A, y, rules.adam, np.full(300, 0.05), chains=4)
        >>> bool(run.dist2[-1] < 1e-3 * run.dist2[0])
        True
    """
    A, y, lr, theta_star = _least_squares_chains(A, y, lr, batch_size, chains)
    n, d = A.shape
    rng = np.random.default_rng(seed)
    th = np.tile(np.zeros(d) if start is None else np.asarray(start, dtype=np.float64), (chains, 1))
    state: dict = {}
    d2 = np.empty((len(lr) + 1, chains))
    d2[0] = ((th - theta_star) ** 2).sum(axis=1)
    for t in range(1, len(lr) + 1):
        idx = rng.integers(0, n, (chains, batch_size))
        Ab = A[idx]
        resid = np.einsum("cbk,ck->cb", Ab, th) - y[idx]
        th, state = rule(th, np.einsum("cb,cbk->ck", resid, Ab) / batch_size, state, lr=lr[t - 1], **hyper)
        d2[t] = ((th - theta_star) ** 2).sum(axis=1)
    se = d2.std(axis=1, ddof=1) / np.sqrt(chains) if chains > 1 else np.full(len(d2), np.nan)
    return Chains(d2.mean(axis=1), se, np.full(len(d2), np.nan), theta_star)
