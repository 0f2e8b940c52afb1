r"""Convexity, smoothness and the convergence guarantees of first-order methods.

The chapter *Convexity and convergence* states each guarantee as a bound and draws it
against real runs. This module holds what it needs more than once:

- checks of convexity and smoothness on sample points: the Hessian's eigenvalues
  ([`hessian_eigenvalues`][gdbook.convergence.hessian_eigenvalues]) and the chord
  inequality \(f(\theta\mathbf a + (1-\theta)\mathbf b) \le \theta f(\mathbf a) + (1-\theta) f(\mathbf b)\)
  ([`chord_gaps`][gdbook.convergence.chord_gaps]);
- two methods that [`trajectory`][gdbook.trajectory.trajectory] does not cover: gradient
  descent with a backtracking (Armijo) line search
  ([`backtracking_gd`][gdbook.convergence.backtracking_gd]) and Nesterov's accelerated
  gradient with its momentum schedule ([`nesterov_agd`][gdbook.convergence.nesterov_agd]);
  both take their gradients from the objective;
- the bounds themselves, as functions of the number of steps \(T\) (NumPy arrays welcome):
  for gradient descent on an \(L\)-smooth function

    \[
    \min_{t<T}\|\nabla f(\mathbf x_t)\|^2 \le \frac{f(\mathbf x_0) - f_{\inf}}{\eta(1 - L\eta/2)\,T},\quad
    f(\mathbf x_T) - f^* \le \frac{\|\mathbf x_0 - \mathbf x^*\|^2}{2\eta T},\quad
    f(\mathbf x_T) - f^* \le \bigl(1 - \mu\eta(2 - L\eta)\bigr)^T \bigl(f(\mathbf x_0) - f^*\bigr)
    \]

    (any \(f\); convex \(f\) and \(\eta \le 1/L\); \(\mu\)-PL \(f\) and \(\eta < 2/L\)), and for
    Nesterov's method with \(\eta = 1/L\)

    \[
    f(\mathbf x_T) - f^* \le \frac{2L\|\mathbf x_0 - \mathbf x^*\|^2}{(T+1)^2},\qquad
    f(\mathbf x_T) - f^* \le \Bigl(1 - \sqrt{\mu/L}\Bigr)^T\Bigl(f(\mathbf x_0) - f^* + \tfrac{\mu}{2}\|\mathbf x_0 - \mathbf x^*\|^2\Bigr)
    \]

    (convex; \(\mu\)-strongly convex with the constant momentum \((\sqrt L - \sqrt\mu)/(\sqrt L + \sqrt\mu)\)).

Examples:
    >>> from gdbook import objectives
    >>> f = objectives.bowl(10)                       # L = 20, mu = 2, minimum 0 at the origin
    >>> run = nesterov_agd(f, lr=1 / 20, steps=30, mu=2.0).trajectory
    >>> gap0, dist0 = float(f(run.path[0])), float(np.linalg.norm(run.path[0]))
    >>> bool(run.losses[-1] <= bound_agd_linear(30, 2.0, 20.0, gap0, dist0))
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._array import xp
from ._checks import check_in_range, check_int
from .objectives import Objective
from .trajectory import Trajectory, start_point

__all__ = [
    "hessian_eigenvalues",
    "chord_gaps",
    "pl_example",
    "lessard_example",
    "LineSearchRun",
    "backtracking_gd",
    "AcceleratedRun",
    "nesterov_agd",
    "bound_gd_nonconvex",
    "bound_gd_convex",
    "bound_gd_linear",
    "bound_agd_convex",
    "bound_agd_linear",
]


# ---------------------------------------------------------------------------
# Checks on sample points
# ---------------------------------------------------------------------------


def _at(objective: Objective, p: np.ndarray):
    return p if objective.dim > 1 else p[..., 0]


def hessian_eigenvalues(objective: Objective, points) -> np.ndarray:
    r"""The eigenvalues of the Hessian at each point, ascending, shape ``(n, d)``.

    ``points`` has shape ``(n, d)`` (or ``(n,)`` for a one-dimensional objective). A
    twice-differentiable \(f\) is convex on an open convex set iff the smallest eigenvalue is
    \(\ge 0\) everywhere on it, and \(L\)-smooth iff every eigenvalue lies in \([-L, L]\); on
    sample points this checks, it does not prove.

    Examples:
        >>> from gdbook import objectives
        >>> hessian_eigenvalues(objectives.saddle(), [[0.0, 0.0], [1.0, 2.0]]).tolist()
        [[-2.0, 2.0], [-2.0, 2.0]]
    """
    d = objective.dim
    P = torch.as_tensor(np.asarray(points, dtype=np.float64).reshape(-1, d)).requires_grad_(True)
    # The points are independent, so one backward pass per coordinate gives that row of every
    # point's Hessian at once: autograd through the objective's gradient formula if it has one
    # (it runs on tensors), else through its value twice.
    if objective.grad_fn is not None:
        G = torch.as_tensor(objective.grad(_at(objective, P)), dtype=torch.float64).reshape(-1, d)
    else:
        (G,) = torch.autograd.grad(objective.value(_at(objective, P)).sum(), P, create_graph=True)
    rows = []
    for i in range(d):
        row = None
        if G.requires_grad:
            (row,) = torch.autograd.grad(G[:, i].sum(), P, retain_graph=True, allow_unused=True)
        rows.append(torch.zeros_like(P) if row is None else row)
    H = torch.stack(rows, dim=1).detach().numpy()
    return np.linalg.eigvalsh((H + H.transpose(0, 2, 1)) / 2)


def chord_gaps(objective: Objective, a, b, theta) -> np.ndarray:
    r"""\(f(\theta\mathbf a + (1-\theta)\mathbf b) - \theta f(\mathbf a) - (1-\theta) f(\mathbf b)\) for each row.

    The function is convex iff no gap is positive, for every pair and every
    \(\theta\in[0, 1]\): the chord lies on or above the graph. ``a`` and ``b`` have shape
    ``(n, d)`` (``(n,)`` in 1-D) and ``theta`` shape ``(n,)`` or is a number.

    Examples:
        >>> from gdbook import objectives
        >>> chord_gaps(objectives.square(), [0.0, -1.0], [2.0, 1.0], 0.5).tolist()   # (θa + (1-θ)b)² − the chord
        [-1.0, -1.0]
    """
    A = np.asarray(a, dtype=np.float64).reshape(-1, objective.dim)
    B = np.asarray(b, dtype=np.float64).reshape(-1, objective.dim)
    th = np.broadcast_to(np.asarray(theta, dtype=np.float64), (A.shape[0],))[:, None]

    def f(P):
        return np.asarray(objective.value(_at(objective, P)), dtype=np.float64)

    return f(th * A + (1 - th) * B) - th[:, 0] * f(A) - (1 - th[:, 0]) * f(B)


def pl_example() -> Objective:
    r"""\(f(x) = x^2 + 3\sin^2 x\): not convex, yet it satisfies the Polyak–Łojasiewicz inequality.

    Karimi, Nutini and Schmidt (2016) use it to show that the PL inequality
    \(\tfrac12 f'(x)^2 \ge \mu\,(f(x) - f^*)\) holds without convexity (with \(\mu = 1/32\));
    \(f''(x) = 2 + 6\cos 2x\) takes values in \([-4, 8]\), so \(f\) is 8-smooth and not convex.
    Its only critical point is the minimizer 0, with \(f^* = 0\).

    Examples:
        >>> f = pl_example()
        >>> float(f(0.0)), round(float(f.grad(np.array(0.5))), 12) == round(1.0 + 3 * math.sin(1.0), 12)   # f' = 2x + 3 sin 2x
        (0.0, True)
    """

    def fn(x):
        return x**2 + 3 * xp(x).sin(x) ** 2

    return Objective(
        "x² + 3 sin² x", r"x^2 + 3\sin^2 x", fn, 1, minimizers=((0.0,),), start=3.0,
        window=(-4.0, 4.0), f_min=0.0,
    )


def lessard_example() -> Objective:
    r"""Lessard, Recht and Packard's (2016) counterexample for the heavy ball: smooth, strongly convex, \(\kappa = 25\).

    The piecewise quadratic with \(f''(x) = 25\) for \(x < 1\) and \(x \ge 2\) and \(f''(x) = 1\) in
    between,

    \[
    f(x) = \begin{cases} \tfrac{25}{2}x^2 & x < 1\\ \tfrac12 x^2 + 24x - 12 & 1 \le x < 2\\ \tfrac{25}{2}x^2 - 24x + 36 & x \ge 2\end{cases}
    \]

    is continuously differentiable, 25-smooth and 1-strongly convex, with minimizer 0. With
    the learning rate and momentum that are optimal on quadratics with these \(L, \mu\)
    (\(\eta = 4/(\sqrt L + \sqrt\mu)^2 = 1/9\), \(\beta = 4/9\)) the heavy ball started from
    \(x_0 \approx 3.3\) with zero velocity settles into a cycle of period 3 instead of
    converging.

    Examples:
        >>> f = lessard_example()
        >>> f.grad(np.array([0.5, 1.5, 2.5])).tolist()       # 25x, x + 24, 25x − 24
        [12.5, 25.5, 38.5]
    """

    def fn(x):
        m = xp(x)
        return m.where(x < 1, 12.5 * x**2, m.where(x < 2, 0.5 * x**2 + 24 * x - 12, 12.5 * x**2 - 24 * x + 36))

    return Objective(
        "Lessard et al.", r"\text{piecewise quadratic}", fn, 1, minimizers=((0.0,),), start=3.3,
        window=(-3.0, 4.0), f_min=0.0,
    )


# ---------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineSearchRun:
    """A run of gradient descent with a backtracking line search.

    Attributes:
        trajectory: the points and losses, as for any run.
        lrs: the step size accepted at each step taken, shape ``(steps,)``, or shorter if
            the run stopped early.
        f_evals: function values computed by the line search (the trials, the start's
            value included).
    """

    trajectory: Trajectory
    lrs: np.ndarray
    f_evals: int


def backtracking_gd(
    objective: Objective,
    *,
    steps: int = 20,
    start=None,
    lr0: float = 1.0,
    shrink: float = 0.5,
    c: float = 0.5,
    label: str | None = None,
) -> LineSearchRun:
    r"""Gradient descent whose step size is found by backtracking until Armijo's condition holds.

    At each step, with \(\mathbf g = \nabla f(\mathbf x)\), try \(\eta = \eta_0, \rho\eta_0, \rho^2\eta_0, \dots\)
    (``lr0``, ``shrink`` \(=\rho\)) and take the first that satisfies

    \[
    f(\mathbf x - \eta\mathbf g) \le f(\mathbf x) - c\,\eta\,\|\mathbf g\|^2 .
    \]

    If \(f\) is \(L\)-smooth and \(c \le \tfrac12\), every \(\eta \le 1/L\) passes (descent lemma), so
    the accepted step is at least \(\min(\eta_0, \rho/L)\) and the loss never increases. A step
    that would need 200 or more halvings stops the run there (a zero gradient, or no
    descent found). No \(L\) is needed to run it.

    Examples:
        >>> from gdbook import objectives
        >>> r = backtracking_gd(objectives.bowl(10), start=(1.0, 1.0), steps=1)
        >>> r.lrs.tolist(), r.trajectory.path[1].tolist()    # 1, 0.5, 0.25, 0.125, 0.0625 fail; 1/32 passes
        ([0.03125], [0.375, 0.9375])
    """
    check_int("steps", steps, low=0, high=10**7)
    lr0 = check_in_range("lr0", lr0, 0.0, low_open=True)
    shrink = check_in_range("shrink", shrink, 0.0, 1.0, low_open=True, high_open=True)
    c = check_in_range("c", c, 0.0, 1.0, low_open=True, high_open=True)
    x = start_point(objective, start)
    fx = float(objective.value(_at(objective, x)))
    path, losses, lrs, f_evals = [x], [fx], [], 1
    for _ in range(steps):
        g = np.asarray(objective.grad(_at(objective, x)), dtype=np.float64).reshape(-1)
        gg = float(g @ g)
        if gg == 0.0:
            break
        lr = lr0
        for _ in range(200):
            trial = x - lr * g
            ft = float(objective.value(_at(objective, trial)))
            f_evals += 1
            if ft <= fx - c * lr * gg:
                break
            lr *= shrink
        else:
            break
        x, fx = trial, ft
        path.append(x)
        losses.append(fx)
        lrs.append(lr)
    run = Trajectory(path=np.array(path), losses=np.array(losses), label=label or "GD + backtracking",
                     grad_evals=len(lrs))
    return LineSearchRun(run, np.array(lrs), f_evals)


@dataclass(frozen=True)
class AcceleratedRun:
    r"""A run of Nesterov's accelerated gradient.

    Attributes:
        trajectory: the points \(\mathbf x_0, \mathbf x_1, \dots\) (after each gradient step) and
            their losses.
        lookahead: the points \(\mathbf y_0, \mathbf y_1, \dots\) where the gradients were taken,
            shape ``(steps, d)``.
        momentum: the coefficient \(\beta_k\) used to form \(\mathbf y_{k+1}\), shape ``(steps,)``.
    """

    trajectory: Trajectory
    lookahead: np.ndarray
    momentum: np.ndarray


def nesterov_agd(
    objective: Objective,
    *,
    lr: float,
    steps: int = 20,
    start=None,
    mu: float = 0.0,
    label: str | None = None,
) -> AcceleratedRun:
    r"""Nesterov's accelerated gradient: a gradient step from a look-ahead point, then momentum.

    From \(\mathbf y_0 = \mathbf x_0\):

    \[
    \mathbf x_{k+1} = \mathbf y_k - \eta\,\nabla f(\mathbf y_k),\qquad
    \mathbf y_{k+1} = \mathbf x_{k+1} + \beta_k\,(\mathbf x_{k+1} - \mathbf x_k).
    \]

    With ``mu=0`` (convex case) \(\beta_k = (t_k - 1)/t_{k+1}\) with \(t_0 = 1\),
    \(t_{k+1} = \bigl(1 + \sqrt{1 + 4t_k^2}\bigr)/2\): \(\beta_0 = 0\) and \(\beta_k \to 1\).
    With ``mu > 0`` (strongly convex case) the momentum is constant,
    \(\beta = (1 - \sqrt{\mu\eta})/(1 + \sqrt{\mu\eta})\), which is
    \((\sqrt\kappa - 1)/(\sqrt\kappa + 1)\) at \(\eta = 1/L\). That constant-momentum form takes
    the same steps as ``torch.optim.SGD(..., momentum=β, nesterov=True)``, whose parameters
    are the look-ahead points \(\mathbf y_k\).

    Examples:
        >>> from gdbook import objectives
        >>> r = nesterov_agd(objectives.square(), lr=0.25, steps=3, start=4.0)
        >>> r.momentum.round(4).tolist()
        [0.0, 0.2818, 0.434]
        >>> r.trajectory.path[:, 0].tolist()[:2], r.lookahead[:, 0].tolist()[:2]
        ([4.0, 2.0], [4.0, 2.0])
    """
    check_int("steps", steps, low=0, high=10**7)
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    mu = check_in_range("mu", mu, 0.0)
    x = start_point(objective, start)
    y, t = x.copy(), 1.0
    path, ys, betas = [x], [], []
    const = (1 - math.sqrt(mu * lr)) / (1 + math.sqrt(mu * lr)) if mu > 0 else None
    for _ in range(steps):
        g = np.asarray(objective.grad(_at(objective, y)), dtype=np.float64).reshape(-1)
        ys.append(y)
        x_new = y - lr * g
        if const is None:
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            beta, t = (t - 1) / t_new, t_new
        else:
            beta = const
        y = x_new + beta * (x_new - x)
        x = x_new
        path.append(x)
        betas.append(beta)
    path = np.array(path)
    losses = np.array([float(objective.value(_at(objective, p))) for p in path])
    run = Trajectory(path=path, losses=losses, label=label or "Nesterov", grad_evals=steps)
    return AcceleratedRun(run, np.array(ys).reshape(steps, objective.dim), np.array(betas))


# ---------------------------------------------------------------------------
# Bounds (T may be an array; T = 0 gives inf where the bound divides by T)
# ---------------------------------------------------------------------------


def _T(T) -> np.ndarray:
    T = np.asarray(T, dtype=np.float64)
    if np.any(T < 0):
        raise ValueError("T must be >= 0")
    return T


def bound_gd_nonconvex(T, L: float, gap0: float, lr: float | None = None):
    r"""\(\min_{t<T}\|\nabla f(\mathbf x_t)\|^2 \le (f(\mathbf x_0) - f_{\inf}) / (\eta(1 - L\eta/2)T)\); \(2L\,\mathrm{gap}_0/T\) at \(\eta = 1/L\).

    Any \(L\)-smooth \(f\) bounded below by \(f_{\inf}\) (``gap0`` \(= f(\mathbf x_0) - f_{\inf}\)),
    gradient descent with \(0 < \eta < 2/L\) (default \(1/L\)).

    Examples:
        >>> bound_gd_nonconvex(10, L=4.0, gap0=5.0)
        4.0
    """
    lr = 1.0 / L if lr is None else lr
    if not 0 < lr < 2 / L:
        raise ValueError("the bound needs 0 < lr < 2/L")
    with np.errstate(divide="ignore"):
        out = gap0 / (lr * (1 - L * lr / 2) * _T(T))
    return float(out) if out.ndim == 0 else out


def bound_gd_convex(T, L: float, dist0: float, lr: float | None = None):
    r"""\(f(\mathbf x_T) - f^* \le \|\mathbf x_0 - \mathbf x^*\|^2/(2\eta T)\); \(L\,\mathrm{dist}_0^2/(2T)\) at \(\eta = 1/L\).

    Convex \(L\)-smooth \(f\) with a minimizer \(\mathbf x^*\) (``dist0`` \(= \|\mathbf x_0 - \mathbf x^*\|\)),
    gradient descent with \(0 < \eta \le 1/L\) (default \(1/L\)).

    Examples:
        >>> bound_gd_convex(np.array([1, 2, 4]), L=2.0, dist0=3.0).tolist()
        [9.0, 4.5, 2.25]
    """
    lr = 1.0 / L if lr is None else lr
    if not 0 < lr <= 1 / L:
        raise ValueError("the bound needs 0 < lr <= 1/L")
    with np.errstate(divide="ignore"):
        out = dist0**2 / (2 * lr * _T(T))
    return float(out) if out.ndim == 0 else out


def bound_gd_linear(T, mu: float, L: float, gap0: float, lr: float | None = None):
    r"""\(f(\mathbf x_T) - f^* \le \bigl(1 - \mu\eta(2 - L\eta)\bigr)^T\,(f(\mathbf x_0) - f^*)\); factor \(1 - \mu/L\) at \(\eta = 1/L\).

    \(L\)-smooth \(f\) satisfying the Polyak–Łojasiewicz inequality
    \(\tfrac12\|\nabla f\|^2 \ge \mu(f - f^*)\) (every \(\mu\)-strongly convex \(f\) does), gradient
    descent with \(0 < \eta < 2/L\) (default \(1/L\)).

    Examples:
        >>> round(bound_gd_linear(2, mu=1.0, L=10.0, gap0=1.0), 6)      # 0.9²
        0.81
    """
    lr = 1.0 / L if lr is None else lr
    if not 0 < lr < 2 / L:
        raise ValueError("the bound needs 0 < lr < 2/L")
    out = (1 - mu * lr * (2 - L * lr)) ** _T(T) * gap0
    return float(out) if out.ndim == 0 else out


def bound_agd_convex(T, L: float, dist0: float):
    r"""\(f(\mathbf x_T) - f^* \le 2L\|\mathbf x_0 - \mathbf x^*\|^2/(T+1)^2\): Nesterov's method, \(\eta = 1/L\), convex \(f\).

    Examples:
        >>> bound_agd_convex(3, L=2.0, dist0=2.0)
        1.0
    """
    out = 2 * L * dist0**2 / (_T(T) + 1) ** 2
    return float(out) if out.ndim == 0 else out


def bound_agd_linear(T, mu: float, L: float, gap0: float, dist0: float):
    r"""\(f(\mathbf x_T) - f^* \le (1 - \sqrt{\mu/L})^T\,(f(\mathbf x_0) - f^* + \tfrac\mu2\|\mathbf x_0 - \mathbf x^*\|^2)\).

    Nesterov's method with \(\eta = 1/L\) and the constant momentum
    \((\sqrt L - \sqrt\mu)/(\sqrt L + \sqrt\mu)\) on a \(\mu\)-strongly convex \(L\)-smooth \(f\).

    Examples:
        >>> bound_agd_linear(1, mu=1.0, L=4.0, gap0=1.0, dist0=2.0)
        1.5
    """
    out = (1 - math.sqrt(mu / L)) ** _T(T) * (gap0 + mu / 2 * dist0**2)
    return float(out) if out.ndim == 0 else out
