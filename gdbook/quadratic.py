r"""Gradient descent on a quadratic, solved exactly.

Near a minimum where its Hessian is positive definite, a smooth loss looks like a quadratic,

\[
f(\mathbf x) = f^* + \tfrac12 (\mathbf x - \mathbf x^*)^\top \mathbf H\, (\mathbf x - \mathbf x^*),
\qquad \nabla f(\mathbf x) = \mathbf H (\mathbf x - \mathbf x^*),
\]

with \(\mathbf H\) symmetric positive definite. One gradient step with learning rate
\(\eta\) maps the error \(\mathbf e = \mathbf x - \mathbf x^*\) to
\((\mathbf I - \eta \mathbf H)\,\mathbf e\). Writing
\(\mathbf H = \mathbf Q \boldsymbol\Lambda \mathbf Q^\top\) (eigenvalues
\(\lambda_1 \le \dots \le \lambda_d\), orthonormal eigenvectors in the columns of
\(\mathbf Q\)), the error's component along eigenvector \(i\) is multiplied by the
*contraction factor* \(1 - \eta\lambda_i\) at every step, independently of the others:

\[
\mathbf x_t - \mathbf x^* = \mathbf Q\,\mathrm{diag}\big((1 - \eta\lambda_i)^t\big)\,\mathbf Q^\top (\mathbf x_0 - \mathbf x^*).
\]

Everything in this module follows from that line: stability needs
\(|1 - \eta\lambda_i| < 1\) for all \(i\), i.e. \(\eta < 2/\lambda_{\max}\); the
worst factor \(\max_i |1 - \eta\lambda_i|\) is smallest at
\(\eta^* = 2/(\lambda_{\min} + \lambda_{\max})\), where it equals
\((\kappa - 1)/(\kappa + 1)\) with \(\kappa = \lambda_{\max}/\lambda_{\min}\).

Examples:
    >>> H = [[20.0, 0.0], [0.0, 2.0]]          # the Hessian of 10x² + y²
    >>> s = spectrum(H)
    >>> s.eigenvalues.tolist(), s.kappa, s.max_stable_lr
    ([2.0, 20.0], 10.0, 0.1)
    >>> contraction_factors(H, lr=0.01).round(6).tolist()   # along y, then along x
    [0.98, 0.8]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._checks import check_in_range, check_int
from .objectives import Objective

__all__ = [
    "Spectrum",
    "spectrum",
    "contraction_factors",
    "rate",
    "gd_iterates",
    "loss_gap",
    "steps_to_tolerance",
    "objective",
]


@dataclass(frozen=True)
class Spectrum:
    r"""Eigen-decomposition of a symmetric positive definite Hessian and what GD makes of it.

    Attributes:
        eigenvalues: \(\lambda_1 \le \dots \le \lambda_d\), ascending.
        eigenvectors: the matching orthonormal eigenvectors, as the columns of \(\mathbf Q\).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    @property
    def lam_min(self) -> float:
        r"""The smallest eigenvalue \(\lambda_{\min}\): the flattest direction."""
        return float(self.eigenvalues[0])

    @property
    def lam_max(self) -> float:
        r"""The largest eigenvalue \(\lambda_{\max}\): the steepest direction."""
        return float(self.eigenvalues[-1])

    @property
    def kappa(self) -> float:
        r"""The condition number \(\kappa = \lambda_{\max} / \lambda_{\min} \ge 1\)."""
        return self.lam_max / self.lam_min

    @property
    def max_stable_lr(self) -> float:
        r"""The stability threshold \(2/\lambda_{\max}\): GD converges from every start iff \(0 < \eta < 2/\lambda_{\max}\)."""
        return 2.0 / self.lam_max

    @property
    def optimal_lr(self) -> float:
        r"""The fixed learning rate with the smallest worst-case factor, \(\eta^* = 2/(\lambda_{\min} + \lambda_{\max})\)."""
        return 2.0 / (self.lam_min + self.lam_max)

    @property
    def optimal_rate(self) -> float:
        r"""The worst-case factor at \(\eta^*\): \((\kappa - 1)/(\kappa + 1)\)."""
        return (self.kappa - 1.0) / (self.kappa + 1.0)


def _hessian(H: ArrayLike) -> np.ndarray:
    try:
        H = np.array(H, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"H must be a square matrix of real numbers, got {type(H).__name__}") from e
    if H.ndim == 0:
        H = H.reshape(1, 1)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"H must be a square (d, d) matrix, got shape {H.shape}")
    if not np.all(np.isfinite(H)):
        raise ValueError("H must have finite entries")
    scale = max(float(np.abs(H).max()), 1e-300)
    if np.abs(H - H.T).max() > 1e-12 * scale:
        raise ValueError("H must be symmetric, got H != H.T")
    return (H + H.T) / 2


def spectrum(H: ArrayLike) -> Spectrum:
    r"""Eigenvalues and eigenvectors of a symmetric positive definite Hessian ``H``.

    Args:
        H: a ``(d, d)`` symmetric positive definite matrix (array, nested list or tensor);
            a scalar is read as a ``(1, 1)`` matrix.

    Raises:
        ValueError: ``H`` is not square, not symmetric (to a relative \(10^{-12}\)), has a
            non-finite entry, or is not positive definite.
        TypeError: ``H`` does not hold real numbers.

    Examples:
        >>> s = spectrum([[1.0, 0.99], [0.99, 1.0]])   # unit diagonal, yet ill-conditioned
        >>> s.eigenvalues.round(6).tolist(), round(s.kappa, 6)
        ([0.01, 1.99], 199.0)
        >>> round(s.optimal_lr, 6), round(s.optimal_rate, 6)
        (1.0, 0.99)
    """
    H = _hessian(H)
    lam, Q = np.linalg.eigh(H)
    if not lam[0] > 0:
        raise ValueError(f"H must be positive definite, got smallest eigenvalue {lam[0]:.3g}")
    return Spectrum(eigenvalues=lam, eigenvectors=Q)


def contraction_factors(H: ArrayLike, lr: float) -> np.ndarray:
    r"""The factors \(1 - \eta\lambda_i\) by which one GD step scales the error along each eigenvector.

    Ordered like the eigenvalues (ascending). For a diagonal ``H`` the eigenvectors are
    the coordinate axes, so these are per-coordinate factors. A factor in \((0, 1)\)
    means a monotone approach, in \((-1, 0)\) an approach that flips sign every step
    (a zigzag), \(-1\) a bounce that never decays, and \(|\cdot| > 1\) divergence.

    Examples:
        >>> contraction_factors([[40.0, 0.0], [0.0, 2.0]], lr=0.051).round(3).tolist()
        [0.898, -1.04]
    """
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    return 1.0 - lr * spectrum(H).eigenvalues


def rate(H: ArrayLike, lr: float) -> float:
    r"""The worst-case factor per step, \(\rho(\eta) = \max_i |1 - \eta\lambda_i| = \|\mathbf I - \eta\mathbf H\|_2\).

    For every start, \(\|\mathbf x_t - \mathbf x^*\| \le \rho^t \|\mathbf x_0 - \mathbf x^*\|\),
    with equality for a start along the worst eigenvector; GD converges from every
    start iff \(\rho < 1\).

    Examples:
        >>> H = [[40.0, 0.0], [0.0, 2.0]]
        >>> s = spectrum(H)
        >>> rate(H, s.optimal_lr) == s.optimal_rate
        True
        >>> rate(H, 0.99 * s.max_stable_lr) < 1 < rate(H, 1.01 * s.max_stable_lr)
        True
    """
    return float(np.abs(contraction_factors(H, lr)).max())


def _vector(name: str, v: ArrayLike, d: int) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    if v.shape != (d,):
        raise ValueError(f"{name} must have {d} coordinate(s), got {v.size}")
    return v


def gd_iterates(H: ArrayLike, lr: float, x0: ArrayLike, steps: int, xstar: ArrayLike | None = None) -> np.ndarray:
    r"""The exact GD path on \(f(\mathbf x) = \tfrac12(\mathbf x - \mathbf x^*)^\top\mathbf H(\mathbf x - \mathbf x^*)\), in closed form.

    \[
    \mathbf x_t = \mathbf x^* + \mathbf Q\,\mathrm{diag}\big((1 - \eta\lambda_i)^t\big)\,\mathbf Q^\top(\mathbf x_0 - \mathbf x^*),
    \qquad t = 0, 1, \dots, \text{steps}.
    \]

    One array expression, no Python loop over steps: the cost is still linear in
    ``steps`` (a million steps take about a second), but every point comes straight from the
    formula, with no rounding accumulated step after step. A divergent path grows without bound: a
    coordinate that a divergent direction reaches becomes ``inf`` once the power overflows (``nan``
    where two divergent directions meet with opposite signs); the others stay finite.

    Args:
        H: the Hessian, ``(d, d)`` symmetric positive definite.
        lr: the learning rate \(\eta > 0\).
        x0: the start, ``d`` numbers.
        steps: the last step \(t\).
        xstar: the minimizer \(\mathbf x^*\); the origin by default.

    Returns:
        An array of shape ``(steps + 1, d)``, the start first.

    Examples:
        >>> gd_iterates([[20.0, 0.0], [0.0, 2.0]], 0.1, (100.0, 500.0), 3).round(6).tolist()
        [[100.0, 500.0], [-100.0, 400.0], [100.0, 320.0], [-100.0, 256.0]]
    """
    s = spectrum(H)
    d = len(s.eigenvalues)
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    steps = check_int("steps", steps, low=0)
    x0 = _vector("x0", x0, d)
    xstar = np.zeros(d) if xstar is None else _vector("xstar", xstar, d)
    Q = s.eigenvectors
    c = Q.T @ (x0 - xstar)
    t = np.arange(steps + 1)[:, None]
    path = np.broadcast_to(xstar, (steps + 1, d)).copy()
    with np.errstate(over="ignore", invalid="ignore"):
        powers = (1.0 - lr * s.eigenvalues)[None, :] ** t
        # direction by direction, skipping zeros: an overflowed power times a zero component
        # of the start (or a zero entry of Q) contributes nothing, not inf * 0 = nan
        for i in np.nonzero(c)[0]:
            on = Q[:, i] != 0
            path[:, on] += (powers[:, i] * c[i])[:, None] * Q[on, i][None, :]
    return path


def loss_gap(H: ArrayLike, x: ArrayLike, xstar: ArrayLike | None = None) -> np.ndarray:
    r"""The excess loss \(f(\mathbf x) - f^* = \tfrac12(\mathbf x - \mathbf x^*)^\top\mathbf H(\mathbf x - \mathbf x^*)\).

    ``x`` may be one point (``d`` numbers) or a batch ``(..., d)``, such as the path
    returned by [`gd_iterates`][gdbook.quadratic.gd_iterates].

    Examples:
        >>> float(loss_gap([[20.0, 0.0], [0.0, 2.0]], [1.0, 2.0]))   # 10·1 + 2²
        14.0
    """
    H = _hessian(H)
    spectrum(H)
    d = H.shape[0]
    x = np.asarray(x, dtype=np.float64)
    if x.shape[-1:] != (d,):
        raise ValueError(f"x must have last axis of size {d}, got shape {x.shape}")
    e = x - (0.0 if xstar is None else _vector("xstar", xstar, d))
    return 0.5 * np.einsum("...i,ij,...j->...", e, H, e)


def steps_to_tolerance(
    H: ArrayLike, lr: float, x0: ArrayLike, tol: float, xstar: ArrayLike | None = None, *, max_steps: int = 10**12
) -> int | None:
    r"""The first step \(t\) at which GD has \(f(\mathbf x_t) - f^* \le\) ``tol``, or ``None`` if it never does.

    With \(\mathbf c = \mathbf Q^\top(\mathbf x_0 - \mathbf x^*)\) the excess loss is

    \[
    f(\mathbf x_t) - f^* = \tfrac12 \sum_i \lambda_i c_i^2 (1 - \eta\lambda_i)^{2t},
    \]

    a sum of terms that never grow when \(\eta \le 2/\lambda_{\max}\). The count is
    found exactly by doubling and bisection on \(t\), so a run of ten million steps is
    counted without taking them. ``None`` means the run diverges (some
    \(|1 - \eta\lambda_i| > 1\) along which the start has a component: then ``None`` even
    if the excess loss dips below ``tol`` on the way, while the other components decay),
    stalls above ``tol`` (a factor of exactly \(-1\)), or needs more than ``max_steps`` steps.

    Examples:
        >>> H = [[20.0, 0.0], [0.0, 2.0]]
        >>> steps_to_tolerance(H, 0.01, (-70.0, 70.0), tol=1.0)
        211
        >>> steps_to_tolerance(H, 0.11, (-70.0, 70.0), tol=1.0) is None   # 0.11 > 2/20
        True
    """
    s = spectrum(H)
    d = len(s.eigenvalues)
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    tol = check_in_range("tol", tol, 0.0, low_open=True)
    max_steps = check_int("max_steps", max_steps, low=0)
    x0 = _vector("x0", x0, d)
    xstar = np.zeros(d) if xstar is None else _vector("xstar", xstar, d)
    c = s.eigenvectors.T @ (x0 - xstar)
    weight = 0.5 * s.eigenvalues * c**2
    r = np.abs(1.0 - lr * s.eigenvalues)
    live = weight > 0

    def gap(t: int) -> float:
        with np.errstate(under="ignore"):  # r <= 1 here: the powers only shrink, to 0 at worst
            return float(np.sum(weight[live] * r[live] ** (2.0 * t)))

    if gap(0) <= tol:
        return 0
    # the part of the loss along factors of size 1 never decays; when it alone reaches tol, the
    # loss (that part plus the decaying rest, which is positive: gap(0) > tol) stays above tol
    if np.any(r[live] > 1.0) or np.sum(weight[live & (r >= 1.0)]) >= tol:
        return None
    hi = 1
    while gap(hi) > tol:
        if hi >= max_steps:
            return None
        hi = min(2 * hi, max_steps)
    lo = hi // 2  # gap(lo) > tol (or lo == 0, checked above)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if gap(mid) > tol:
            lo = mid
        else:
            hi = mid
    return hi


def objective(H: ArrayLike, xstar: ArrayLike | None = None, *, name: str | None = None, window: tuple | None = None) -> Objective:
    r"""The quadratic \(f(\mathbf x) = \tfrac12(\mathbf x - \mathbf x^*)^\top\mathbf H(\mathbf x - \mathbf x^*)\) as an [`Objective`][gdbook.objectives.Objective].

    Use it to run any optimizer with [`trajectory`][gdbook.trajectory.trajectory] or to
    draw contours of a rotated ellipse with [`gdbook.plot.contour`][gdbook.plot.contour].
    The gradient \(\mathbf H(\mathbf x - \mathbf x^*)\) and the Hessian \(\mathbf H\) are analytic.

    Args:
        H: the Hessian, ``(d, d)`` symmetric positive definite.
        xstar: the minimizer (the origin by default).
        name: plain-text name; defaults to one showing ``H``'s entries.
        window: plot window for ``d = 2``; defaults to the minimizer ± 1.

    Examples:
        >>> f = objective([[2.0, 1.0], [1.0, 4.0]])
        >>> float(f.value([1.0, 1.0]))                # (2 + 2·1 + 4) / 2
        4.0
        >>> f.grad([1.0, 1.0]).tolist(), f.hessian([0.0, 0.0]).tolist()
        ([3.0, 5.0], [[2.0, 1.0], [1.0, 4.0]])
    """
    Hm = _hessian(H)
    spectrum(Hm)
    d = Hm.shape[0]
    center = np.zeros(d) if xstar is None else _vector("xstar", xstar, d)
    h = Hm.tolist()
    m = [float(v) for v in center]

    def grad(*xs):
        e = [x - mi for x, mi in zip(xs, m)]
        return tuple(sum(h[i][j] * e[j] for j in range(d)) for i in range(d))

    def fn(*xs):
        e = [x - mi for x, mi in zip(xs, m)]
        return 0.5 * sum(ei * gi for ei, gi in zip(e, grad(*xs)))

    if window is None and d == 2:
        window = ((m[0] - 1.0, m[0] + 1.0), (m[1] - 1.0, m[1] + 1.0))
    label = name or "½(x − x*)ᵀH(x − x*), H = " + str([[float(f"{v:.4g}") for v in row] for row in h])
    return Objective(
        label, r"\tfrac12(\mathbf x - \mathbf x^*)^\top \mathbf H (\mathbf x - \mathbf x^*)", fn, d,
        grad_fn=grad, hess_fn=lambda *xs: tuple(tuple(row) for row in h),
        minimizers=(tuple(m),), start=tuple(mi + 1.0 for mi in m) if d > 1 else m[0] + 1.0,
        window=window if window is not None else (), f_min=0.0, meta={"H": Hm, "xstar": center},
    )
