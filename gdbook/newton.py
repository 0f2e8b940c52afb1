r"""Newton's method: roots of \(f\), square and cube roots, and minimization with the Hessian.

**Roots.** Replace \(f\) near \(x_k\) by its tangent line
\(f(x_k) + f'(x_k)(x - x_k)\) and solve for its zero:

\[ x_{k+1} = x_k - \frac{f(x_k)}{f'(x_k)}. \]

Near a simple root \(r\) (\(f'(r) \ne 0\)) the error \(e_k = x_k - r\) obeys
\(e_{k+1} \approx C e_k^2\) with \(C = f''(r) / (2 f'(r))\): the number of correct digits
roughly doubles each step (quadratic convergence).

**Minima.** Replace \(f\) near \(\mathbf x_k\) by its second-order Taylor model
\(f(\mathbf x_k) + \mathbf g^\top \mathbf p + \tfrac12 \mathbf p^\top \mathbf H \mathbf p\) and move to
the model's critical point, where \(\mathbf H \mathbf p = -\mathbf g\):

\[ \mathbf x_{k+1} = \mathbf x_k - \eta\, \mathbf H(\mathbf x_k)^{-1} \nabla f(\mathbf x_k), \]

with \(\eta = 1\) for the pure method. The step only finds a point where the gradient
vanishes: when \(\mathbf H\) is indefinite it can head for a saddle or a maximum, and
[`newton_minimize`][gdbook.newton.newton_minimize] records such Hessians instead of
hiding them.

Examples:
    >>> r = sqrt_newton(3.0)
    >>> r.converged, r.digits.round(1).tolist()
    (True, [0.1, 0.8, 2.0, 4.3, 8.9, 15.7, 15.7])
    >>> from gdbook import objectives
    >>> run = newton_minimize(objectives.bowl(10), start=(-70.0, 70.0), steps=3)
    >>> run.path[1].tolist(), run.label
    ([0.0, 0.0], 'Newton')
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._checks import check_in_range, check_int
from .objectives import Objective
from .trajectory import Trajectory
from .cache import memoize

__all__ = [
    "RootResult",
    "newton_root",
    "sqrt_newton",
    "cbrt_newton",
    "NewtonTrajectory",
    "newton_minimize",
]

EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True)
class RootResult:
    r"""The record of one Newton root search.

    Attributes:
        iterates: \(x_0, x_1, \dots, x_k\) (finite values only).
        values: \(f(x_j)\) at each iterate.
        reference: the point errors are measured from: the true root when it was
            given, else the last iterate.
        status: why the search stopped: ``"converged"`` (a step within ``tol``, relative as
            in [`newton_root`][gdbook.newton.newton_root], or \(f(x_k) = 0\)), ``"max steps"``, ``"zero derivative"`` (the tangent is flat)
            or ``"diverged"`` (a non-finite value).
        diverged_at: the step that produced a non-finite value, else ``None``.
    """

    iterates: np.ndarray
    values: np.ndarray
    reference: float
    status: str
    diverged_at: int | None = None

    @property
    def root(self) -> float:
        """The last iterate."""
        return float(self.iterates[-1])

    @property
    def steps(self) -> int:
        """Newton steps taken."""
        return len(self.iterates) - 1

    @property
    def converged(self) -> bool:
        """Whether the search stopped because it converged."""
        return self.status == "converged"

    @property
    def diverged(self) -> bool:
        """Whether a non-finite value stopped the search."""
        return self.status == "diverged"

    @property
    def errors(self) -> np.ndarray:
        r"""\(|x_j - r|\) for each iterate, \(r\) the ``reference``."""
        return np.abs(self.iterates - self.reference)

    @property
    def digits(self) -> np.ndarray:
        r"""Correct significant digits of each iterate, \(-\log_{10}(|x_j - r| / |r|)\),
        capped at \(-\log_{10}\varepsilon \approx 15.65\) (an exact iterate has them all)."""
        scale = abs(self.reference) if self.reference != 0 else 1.0
        rel = np.maximum(self.errors / scale, EPS)
        return -np.log10(rel)

    def ratios(self) -> np.ndarray:
        r"""\(e_{j+1} / e_j^2\) for consecutive iterates with \(e_j > 0\) and \(e_{j+1} > 0\)
        (``nan`` elsewhere); near the root these approach \(|C| = |f''(r) / (2f'(r))|\)."""
        e = self.errors
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where((e[:-1] > 0) & (e[1:] > 0), e[1:] / e[:-1] ** 2, np.nan)
        return out


def newton_root(
    f: Callable[[float], float],
    df: Callable[[float], float],
    x0: float,
    *,
    steps: int = 50,
    tol: float = 4 * EPS,
    root: float | None = None,
) -> RootResult:
    r"""Find a zero of ``f`` by Newton's method, \(x_{k+1} = x_k - f(x_k) / f'(x_k)\).

    Args:
        f: the function, float to float.
        df: its derivative.
        x0: the starting point.
        steps: at most this many steps.
        tol: stop once \(|x_{k+1} - x_k| \le \text{tol}\cdot\max(|x_{k+1}|, 1)\); ``0`` runs
            until \(f(x_k) = 0\) exactly or ``steps`` run out.
        root: the true root, if known, to measure errors from.

    A flat tangent (\(f'(x_k) = 0\)) and a non-finite iterate stop the search and are
    recorded in ``status``; neither raises.

    Examples:
        >>> r = newton_root(lambda x: x * x - 2, lambda x: 2 * x, 1.0, root=2 ** 0.5)
        >>> r.status, [f"{e:.0e}" for e in r.errors]
        ('converged', ['4e-01', '9e-02', '2e-03', '2e-06', '2e-12', '0e+00', '2e-16'])
        >>> r.ratios()[:4].round(3).tolist()             # → C = f''/(2f') = 1/(2√2) ≈ 0.354
        [0.5, 0.333, 0.353, 0.354]
        >>> newton_root(lambda x: x * x + 1, lambda x: 2 * x, 0.0).status
        'zero derivative'
    """
    x = float(check_in_range("x0", x0))
    check_int("steps", steps, low=0, high=10**6)
    check_in_range("tol", tol, 0.0)
    xs, fs = [x], [float(f(x))]
    status, diverged_at = "max steps", None
    for k in range(1, steps + 1):
        if fs[-1] == 0:
            status = "converged"
            break
        slope = float(df(x))
        if slope == 0:
            status = "zero derivative"
            break
        new = x - fs[-1] / slope
        value = float(f(new)) if math.isfinite(new) else math.nan
        if not (math.isfinite(new) and math.isfinite(value)):
            status, diverged_at = "diverged", k
            break
        xs.append(new)
        fs.append(value)
        done = abs(new - x) <= tol * max(abs(new), 1.0)
        x = new
        if done:
            status = "converged"
            break
    else:
        if fs[-1] == 0:
            status = "converged"
    reference = xs[-1] if root is None else float(root)
    return RootResult(np.array(xs), np.array(fs), reference, status, diverged_at)


def sqrt_newton(a: float, x0: float | None = None, *, steps: int = 50, tol: float = 4 * EPS) -> RootResult:
    r"""\(\sqrt a\) as the positive root of \(x^2 - a\):
    \(x_{k+1} = x_k - \frac{x_k^2 - a}{2x_k} = \tfrac12\left(x_k + \frac{a}{x_k}\right)\) (Heron's rule).

    Errors are measured from ``math.sqrt(a)`` (correctly rounded). Near the root
    \(e_{k+1} \approx e_k^2 / (2\sqrt a)\).

    Args:
        a: a number ``>= 0``.
        x0: start, ``> 0``; defaults to ``max(a, 1)``, which is never below the root.
        steps: at most this many steps, as for [`newton_root`][gdbook.newton.newton_root].
        tol: relative step tolerance, as for [`newton_root`][gdbook.newton.newton_root].

    Examples:
        >>> r = sqrt_newton(2.0)
        >>> r.status, r.steps, abs(r.root - 2 ** 0.5) <= 2 ** 0.5 * 2.3e-16   # within one rounding
        ('converged', 6, True)
    """
    a = float(check_in_range("a", a, 0.0))
    x0 = max(a, 1.0) if x0 is None else float(check_in_range("x0", x0, 0.0, low_open=True))
    return newton_root(lambda x: x * x - a, lambda x: 2 * x, x0, steps=steps, tol=tol, root=math.sqrt(a))


def cbrt_newton(a: float, x0: float | None = None, *, steps: int = 50, tol: float = 4 * EPS) -> RootResult:
    r"""\(\sqrt[3]{a}\) as the real root of \(x^3 - a\):
    \(x_{k+1} = x_k - \frac{x_k^3 - a}{3x_k^2} = \tfrac13\left(2x_k + \frac{a}{x_k^2}\right)\).

    Errors are measured from ``numpy.cbrt(a)``. Near the root \(e_{k+1} \approx e_k^2 / \sqrt[3]{a}\)
    (\(C = f''/(2f') = 6r / (2\cdot 3r^2) = 1/r\)).

    Args:
        a: any real number.
        x0: start, nonzero; defaults to ``max(|a|, 1)`` with the sign of ``a``.
        steps: at most this many steps, as for [`newton_root`][gdbook.newton.newton_root].
        tol: relative step tolerance, as for [`newton_root`][gdbook.newton.newton_root].

    Examples:
        >>> r = cbrt_newton(2.0)
        >>> abs(r.root - 2 ** (1 / 3)) <= 2.3e-16
        True
    """
    a = float(check_in_range("a", a))
    if x0 is None:
        x0 = math.copysign(max(abs(a), 1.0), a)
    x0 = float(check_in_range("x0", x0))
    if x0 == 0:
        raise ValueError("x0 must be nonzero: the tangent of x³ - a is flat at 0")
    return newton_root(lambda x: x**3 - a, lambda x: 3 * x * x, x0, steps=steps, tol=tol, root=float(np.cbrt(a)))


@dataclass(frozen=True)
class NewtonTrajectory(Trajectory):
    r"""A [`Trajectory`][gdbook.trajectory.Trajectory] of Newton's method with what the Hessian did.

    Attributes:
        eigenvalues: eigenvalues (ascending) of the Hessian at each point where a finite
            Hessian was evaluated (including the one where a singular Hessian stopped the
            run), shape ``(m, d)``.
        singular: some Hessian was singular to working precision
            (\(\min|\lambda| \le 10^{-12}\max|\lambda|\), or all zero); the run stopped there.
        indefinite: some Hessian had eigenvalues of both signs (a saddle-shaped model:
            the Newton step goes to the model's saddle, not to a minimum).
        negative_curvature: some Hessian had \(\lambda_{\min} < 0\) (indefinite or
            negative definite): the quadratic model had no minimum there.
        status: ``"max steps"``, ``"critical point"`` (gradient norm \(\le\) ``tol``: a minimum, saddle or maximum),
            ``"singular Hessian"``, ``"not a descent direction"`` (line search only) or
            ``"diverged"``.
        hessian_evals: Hessians evaluated (each costs about \(d\) gradients with autograd
            and an \(O(d^3)\) solve).
        f_evals: function values computed by the line search.
    """

    eigenvalues: np.ndarray = None
    singular: bool = False
    indefinite: bool = False
    negative_curvature: bool = False
    status: str = "max steps"
    hessian_evals: int = 0
    f_evals: int = 0


@memoize
def newton_minimize(
    objective: Objective,
    *,
    start: Sequence[float] | float | None = None,
    steps: int = 20,
    lr: float = 1.0,
    line_search: bool = False,
    c: float = 1e-4,
    shrink: float = 0.5,
    tol: float = 0.0,
    label: str = "Newton",
) -> NewtonTrajectory:
    r"""Newton's method for a minimum, with the objective's Hessian (analytic or autograd).

    Each step solves \(\mathbf H(\mathbf x_k)\,\mathbf p_k = -\nabla f(\mathbf x_k)\) and sets
    \(\mathbf x_{k+1} = \mathbf x_k + \alpha_k \mathbf p_k\), where \(\alpha_k = \eta\) (``lr``) or,
    with ``line_search=True``, the first of \(\eta, \eta s, \eta s^2, \dots\) (``s`` = ``shrink``)
    that satisfies the Armijo condition

    \[ f(\mathbf x_k + \alpha \mathbf p_k) \le f(\mathbf x_k) + c\,\alpha\, \nabla f(\mathbf x_k)^\top \mathbf p_k . \]

    Args:
        objective: what to minimize.
        start: starting point; defaults to ``objective.start``.
        steps: at most this many steps.
        lr: step size \(\eta \in (0, 1]\) (``1`` is the pure method; smaller is damped Newton).
        line_search: backtrack until the Armijo condition holds: at most 60 trial steps,
            each ``shrink`` times the previous; if none passes, the step
            \(\eta s^{60}\) is taken untested.
        c: Armijo constant \(c \in (0, 1)\).
        shrink: backtracking factor \(s \in (0, 1)\).
        tol: stop when \(\|\nabla f\| \le\) ``tol`` (``0``: only at an exact critical point).
        label: legend text.

    Nothing here raises on a bad landscape. A singular Hessian stops the run with
    ``singular=True``; an indefinite one is flagged (``indefinite``, ``eigenvalues``) and the
    pure step is still taken, so the reader sees where it goes; with a line search, a
    direction that is not downhill (\(\nabla f^\top \mathbf p \ge 0\)) stops the run; a non-finite
    point is recorded as divergence.

    Examples:
        >>> from gdbook import objectives
        >>> run = newton_minimize(objectives.saddle(), start=(1.0, 0.5), steps=5)
        >>> run.path[1].tolist(), run.indefinite, run.eigenvalues[0].tolist()
        ([0.0, 0.0], True, [-2.0, 2.0])
        >>> newton_minimize(objectives.saddle(), start=(0.5, 1.0), line_search=True).status
        'not a descent direction'
    """
    check_int("steps", steps, low=0, high=10**6)
    check_in_range("lr", lr, 0.0, 1.0, low_open=True)
    check_in_range("c", c, 0.0, 1.0, low_open=True, high_open=True)
    check_in_range("shrink", shrink, 0.0, 1.0, low_open=True, high_open=True)
    check_in_range("tol", tol, 0.0)
    start = objective.start if start is None else start
    if start is None:
        raise ValueError(f"start is required: objective {objective.name!r} has no default start")
    x = np.array(start, dtype=np.float64).reshape(-1)
    d = objective.dim
    if x.size != d:
        raise ValueError(f"start must have {d} coordinate(s) for {objective.name!r}, got {x.size}")

    def arg(p):
        return p if d > 1 else p[0]

    def value(p) -> float:
        return float(objective.value(arg(p)))

    path, losses, eigs = [x.copy()], [value(x)], []
    grad_evals = hessian_evals = f_evals = 0
    singular = indefinite = negative = False
    status, diverged_at = "max steps", None
    for t in range(1, steps + 1):
        g = np.asarray(objective.grad(arg(x)), dtype=np.float64).reshape(d)
        grad_evals += 1
        if np.linalg.norm(g) <= tol:
            status = "critical point"
            break
        H = np.asarray(objective.hessian(arg(x)), dtype=np.float64).reshape(d, d)
        hessian_evals += 1
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            status, diverged_at = "diverged", t
            break
        lam = np.linalg.eigvalsh((H + H.T) / 2)
        eigs.append(lam)
        indefinite |= bool(lam[0] < 0 < lam[-1])
        negative |= bool(lam[0] < 0)
        big = np.max(np.abs(lam))
        if big == 0 or np.min(np.abs(lam)) <= 1e-12 * big:
            singular, status = True, "singular Hessian"
            break
        p = np.linalg.solve(H, -g)
        alpha = lr
        if line_search:
            slope = float(g @ p)
            if not slope < 0:
                status = "not a descent direction"
                break
            f0 = losses[-1]
            for _ in range(60):
                f_evals += 1
                trial = value(x + alpha * p)
                if math.isfinite(trial) and trial <= f0 + c * alpha * slope:
                    break
                alpha *= shrink
        new = x + alpha * p
        loss = value(new) if np.all(np.isfinite(new)) else math.nan
        if not (np.all(np.isfinite(new)) and math.isfinite(loss)):
            status, diverged_at = "diverged", t
            break
        x = new
        path.append(x.copy())
        losses.append(loss)
    return NewtonTrajectory(
        path=np.array(path),
        losses=np.array(losses),
        label=label,
        diverged=diverged_at is not None,
        diverged_at=diverged_at,
        grad_evals=grad_evals,
        eigenvalues=np.array(eigs).reshape(-1, d),
        singular=singular,
        indefinite=indefinite,
        negative_curvature=negative,
        status=status,
        hessian_evals=hessian_evals,
        f_evals=f_evals,
    )
