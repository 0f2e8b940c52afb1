r"""The edge of stability: full-batch gradient descent on a network, with its sharpness recorded.

On a quadratic with top curvature \(\lambda_{\max}\), gradient descent with learning rate
\(\eta\) converges exactly when \(\lambda_{\max} < 2/\eta\) (heavy-ball momentum \(\beta\):
\(\lambda_{\max} < 2(1+\beta)/\eta\)). On a network the curvature changes as it trains.
[`sharpness_run`][gdbook.stability.sharpness_run] trains a copy of a net by full-batch steps
of [`gdbook.optim.SGD`][gdbook.optim.optimizers.SGD] on the mean squared error and records the
loss before every step and the sharpness \(\lambda_{\max}\) of the Hessian every ``every`` steps,
so that a page can set the two against the threshold (Cohen et al., 2021, "Gradient descent on
neural networks typically occurs at the edge of stability").

The sharpness is measured by power iteration on Hessian-vector products
([`gdbook.sharpness`][gdbook.sharpness]). The first measurement is
[`top_eigenvalue`][gdbook.sharpness.top_eigenvalue] from its seeded random start; each later
one starts from the previous measurement's eigenvector (usually close to the new one, so it
needs fewer products than a random start) with the same stopping rule, and falls back to ``top_eigenvalue``
when that run does not converge within ``max_iter`` products or ends at a negative value.

Examples:
    >>> import torch
    >>> from gdbook.nets import MLP
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(16, 2, generator=g, dtype=torch.float64)
    >>> y = torch.randn(16, 1, generator=g, dtype=torch.float64)
    >>> net = MLP(2, 8, depth=1, out_features=1, activation="tanh", init="xavier_normal", generator=0)
    >>> run = sharpness_run(net, X, y, lr=0.1, steps=20, every=10)
    >>> len(run.loss), run.measured.tolist(), round(run.threshold, 6)
    (21, [0, 10, 20], 20.0)
    >>> bool(run.loss[-1] < run.loss[0]), bool(run.sharpness[0] < run.threshold)
    (True, True)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import sharpness as _sharpness
from ._checks import check_in_range, check_int
from .cache import memoize

__all__ = ["SharpnessRun", "sharpness_run"]


@dataclass
class SharpnessRun:
    r"""The record of [`sharpness_run`][gdbook.stability.sharpness_run].

    Attributes:
        lr, momentum: \(\eta\) and \(\beta\) of the run.
        threshold: \(2(1+\beta)/\eta\), the curvature above which these settings diverge on a
            quadratic (\(2/\eta\) without momentum).
        loss: the mean squared error before step \(k\) for \(k = 0, \dots\), and one entry after
            the last step (``steps + 1`` entries); if the loss became non-finite, the record ends
            with that entry.
        measured: the steps \(k\) at which the sharpness was measured (multiples of ``every``,
            and the last step; none at or after a non-finite loss).
        sharpness: \(\lambda_{\max}\) of the Hessian of the loss at those steps, as power iteration
            estimates it to the tolerance ``tol``.
        products: Hessian-vector products spent on the measurements.
        diverged: whether the loss became non-finite (the run stops there).
        label: a legend text.
    """

    lr: float
    momentum: float
    threshold: float
    loss: np.ndarray
    measured: np.ndarray
    sharpness: np.ndarray
    products: int
    diverged: bool
    label: str = ""


def _measure(loss: torch.Tensor, params: list, v: torch.Tensor | None, seed: int, tol: float, max_iter: int):
    """The sharpness at ``loss``: warm-started from ``v`` when given, else (or when that
    fails) ``top_eigenvalue``. Returns the value, the eigenvector and the products used."""
    if v is not None:
        H = _sharpness.hvp(loss, params)
        value, converged, k, _, _, vector = _sharpness._power(H, v, 0.0, None, tol, max_iter)
        if converged and value >= 0:
            return value, vector, k
    else:
        k = 0
    top = _sharpness.top_eigenvalue(loss, params, seed=seed, tol=tol, max_iter=max_iter)
    return top.value, top.vector, k + top.iterations


@memoize
def sharpness_run(net: nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int, every: int = 10,
                  momentum: float = 0.0, seed: int = 0, tol: float = 1e-2, max_iter: int = 1000,
                  label: str = "") -> SharpnessRun:
    r"""Full-batch gradient descent on a copy of ``net`` (``net`` itself is not changed), with
    the loss recorded at every step and the sharpness every ``every`` steps.

    Each step is one step of [`gdbook.optim.SGD`][gdbook.optim.optimizers.SGD] with ``lr`` and
    ``momentum`` (heavy ball, torch's form) on the mean squared error
    ``torch.nn.functional.mse_loss(net(X), y)`` over all of ``X``, the loss of
    [`train_net`][gdbook.nets.train_net]. The sharpness is measured (see the module's text)
    at steps \(0, \text{every}, 2\,\text{every}, \dots\) and at the last step; ``seed``,
    ``tol`` and ``max_iter`` are those of [`top_eigenvalue`][gdbook.sharpness.top_eigenvalue].
    A non-finite loss stops the run. Deterministic: the same arguments give the same record;
    the result is memoized by [`gdbook.cache`][gdbook.cache].

    Args:
        net: the network (its parameters that require grad are trained).
        X, y: the full batch.
        lr: \(\eta > 0\).
        steps: number of steps, at least 1.
        every: measure the sharpness every ``every`` steps, at least 1.
        momentum: \(\beta\) in \([0, 1)\).
        seed, tol, max_iter: the power iteration's, as in ``top_eigenvalue``. The default
            ``tol`` is looser than ``top_eigenvalue``'s: a residual \(r \le \text{tol}\cdot\rho\)
            puts the value within \(r\) of an eigenvalue, and near convergence within about
            \(r^2/\text{gap}\) of it, far below what a plot of the sharpness shows.
        label: a legend text (not part of the cache key).

    Raises:
        ValueError: an argument out of its range; the message names it.

    Examples:
        >>> import torch
        >>> X = torch.linspace(-1, 1, 8, dtype=torch.float64)[:, None]
        >>> lin = torch.nn.Linear(1, 1, dtype=torch.float64)
        >>> run = sharpness_run(lin, X, 2 * X, lr=0.5, steps=4, every=2, tol=1e-10)
        >>> A = torch.cat([X, torch.ones_like(X)], 1)   # a linear model: the Hessian is 2AᵀA/n
        >>> lam = torch.linalg.eigvalsh(2 * A.T @ A / 8)[-1].item()
        >>> run.measured.tolist(), bool(abs(run.sharpness - lam).max() < 1e-9 * lam)
        ([0, 2, 4], True)
        >>> sharpness_run(lin, X, X, lr=0.0, steps=4)
        Traceback (most recent call last):
        ...
        ValueError: lr must be in (0.0, inf), got 0.0
    """
    from .optim import SGD

    check_in_range("lr", lr, 0.0, low_open=True, high_open=True)
    check_int("steps", steps, low=1)
    check_int("every", every, low=1)
    check_in_range("momentum", momentum, 0.0, 1.0, high_open=True)
    check_int("seed", seed)
    check_in_range("tol", tol, 0.0, 1.0, low_open=True, high_open=True)
    check_int("max_iter", max_iter, low=1)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of examples, got {len(X)} and {len(y)}")
    net = copy.deepcopy(net)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = SGD(params, lr=lr, momentum=momentum)
    losses, measured, values = [], [], []
    v, products, diverged = None, 0, False
    for k in range(steps + 1):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(X), y)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            diverged = True
            break
        if k % every == 0 or k == steps:
            value, v, used = _measure(loss, params, v, seed, tol, max_iter)
            measured.append(k)
            values.append(value)
            products += used
        if k == steps:
            break
        loss.backward()
        opt.step()
    return SharpnessRun(lr=lr, momentum=momentum, threshold=2 * (1 + momentum) / lr, loss=np.array(losses),
                        measured=np.array(measured, dtype=int), sharpness=np.array(values), products=products,
                        diverged=diverged, label=label)
