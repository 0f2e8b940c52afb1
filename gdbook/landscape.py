r"""The shape of a loss landscape: minima, critical points, and random Hessians.

Three questions the first chapter asks of an objective, each answered numerically:

* where are the minima of a one-dimensional function on an interval
  ([`local_minima`][gdbook.landscape.local_minima],
  [`global_minimum`][gdbook.landscape.global_minimum])?
* what kind of critical point is a point with zero gradient
  ([`hessian_kind`][gdbook.landscape.hessian_kind],
  [`classify`][gdbook.landscape.classify])? At \(\nabla f(\mathbf{x}) = \mathbf{0}\),

    \[
    f(\mathbf{x} + \mathbf{h}) = f(\mathbf{x}) + \tfrac12\,\mathbf{h}^\top \mathbf{H}\,\mathbf{h} + o(\|\mathbf{h}\|^2),
    \]

    so the signs of the Hessian's eigenvalues decide: all positive, a minimum; all
    negative, a maximum; both signs, a saddle; a zero eigenvalue and no sign change,
    the quadratic term cannot tell.

* how often does a random symmetric matrix have eigenvalues of both signs
  ([`random_symmetric`][gdbook.landscape.random_symmetric],
  [`eigen_signs`][gdbook.landscape.eigen_signs])?

Examples:
    >>> from gdbook import objectives
    >>> m = global_minimum(objectives.risk(), (-1.0, 2.0))
    >>> round(m.x, 4), round(m.value, 4)
    (1.0904, -1.0467)
    >>> classify(objectives.saddle(), (0.0, 0.0)).kind
    'saddle'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ._checks import check_choice, check_in_range, check_int
from .objectives import Objective

__all__ = [
    "Minimum",
    "local_minima",
    "global_minimum",
    "hessian_kind",
    "CriticalPoint",
    "classify",
    "random_symmetric",
    "EigenSigns",
    "eigen_signs",
]

_GOLDEN = (math.sqrt(5) - 1) / 2  # 1/φ ≈ 0.618


# ---------------------------------------------------------------------------
# Minima of a function of one variable
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Minimum:
    """A minimizer ``x`` of a one-dimensional function and the value ``f(x)`` there."""

    x: float
    value: float


def _check_interval(interval) -> tuple[float, float]:
    if not isinstance(interval, (tuple, list)) or len(interval) != 2:
        raise ValueError(f"interval must be a pair (a, b), got {interval!r}")
    a = check_in_range("interval[0]", interval[0])
    b = check_in_range("interval[1]", interval[1], low=a, low_open=True)
    return float(a), float(b)


def _golden_section(fn: Callable, a: float, b: float, tol: float) -> float:
    r"""Minimize a unimodal ``fn`` on ``[a, b]``: each step keeps the \(0.618\) of the bracket holding the minimum."""
    c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
    fc, fd = float(fn(c)), float(fn(d))
    while b - a > tol:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - _GOLDEN * (b - a)
            fc = float(fn(c))
        else:
            a, c, fc = c, d, fd
            d = a + _GOLDEN * (b - a)
            fd = float(fn(d))
    return (a + b) / 2


def local_minima(fn: Callable, interval: Sequence[float], *, n: int = 2001, tol: float = 1e-10) -> list[Minimum]:
    r"""The interior local minima of ``fn`` on ``interval``, left to right.

    ``fn`` is evaluated on a grid of ``n`` points; every interior grid point lower than its
    left neighbour and not higher than its right one brackets a minimum, which golden-section search then narrows to a
    bracket of width ``tol``. Minima closer together than the grid spacing
    \((b - a)/(n - 1)\) can be missed, so ``n`` must resolve the function's wiggles.
    Near a minimum \(f\) changes only quadratically, \(f(x^* + h) - f(x^*) \approx
    \tfrac12 f''(x^*) h^2\), so rounding in \(f\) limits the accuracy of \(x^*\) to
    about \(\sqrt{2\epsilon_{\text{mach}}\,|f(x^*)| / f''(x^*)}\), whatever ``tol``: near
    \(10^{-8}\) when \(|f(x^*)|\) and \(f''(x^*)\) are of order one.

    Args:
        fn: a function of one variable that accepts a NumPy array (an
            [`Objective`][gdbook.objectives.Objective] does).
        interval: ``(a, b)`` with ``a < b``.
        n: grid points, from 3 to \(10^7\).
        tol: width of the final bracket around each minimizer (positive).

    Examples:
        >>> ms = local_minima(lambda x: (x**2 - 1) ** 2, (-2.0, 2.0))
        >>> [round(m.x, 6) for m in ms]
        [-1.0, 1.0]
    """
    a, b = _check_interval(interval)
    check_int("n", n, low=3, high=10**7)
    check_in_range("tol", tol, 0.0, low_open=True)
    xs = np.linspace(a, b, n)
    ys = np.asarray(fn(xs), dtype=float)
    inner = np.nonzero((ys[1:-1] < ys[:-2]) & (ys[1:-1] <= ys[2:]))[0] + 1
    out = []
    for i in inner:
        x = _golden_section(fn, xs[i - 1], xs[i + 1], tol)
        out.append(Minimum(float(x), float(fn(np.float64(x)))))
    return out


def global_minimum(fn: Callable, interval: Sequence[float], *, n: int = 2001, tol: float = 1e-10) -> Minimum:
    """The lowest point of ``fn`` on the closed ``interval``: the best interior minimum or an endpoint.

    Arguments as for [`local_minima`][gdbook.landscape.local_minima].

    Examples:
        >>> global_minimum(lambda x: x, (0.0, 1.0))
        Minimum(x=0.0, value=0.0)
    """
    a, b = _check_interval(interval)
    candidates = local_minima(fn, (a, b), n=n, tol=tol)
    candidates += [Minimum(a, float(fn(np.float64(a)))), Minimum(b, float(fn(np.float64(b))))]
    return min(candidates, key=lambda m: m.value)


# ---------------------------------------------------------------------------
# Critical points and the Hessian
# ---------------------------------------------------------------------------


def hessian_kind(eigenvalues: Sequence[float], tol: float = 1e-8) -> str:
    r"""The second-derivative test from the Hessian's eigenvalues at a critical point.

    An eigenvalue with \(|\lambda| \le\) ``tol`` \(\cdot \max(1, \max_i |\lambda_i|)\) counts as zero.

    Returns:
        ``"minimum"`` (all \(\lambda_i > 0\)), ``"maximum"`` (all \(\lambda_i < 0\)),
        ``"saddle"`` (some \(\lambda_i > 0\) and some \(\lambda_j < 0\)), or
        ``"inconclusive"`` (some \(\lambda_i = 0\) and no sign change: the
        quadratic term is flat in some direction, so higher-order terms decide).

    Examples:
        >>> hessian_kind([2.0, 3.0]), hessian_kind([2.0, -2.0]), hessian_kind([0.0, 2.0])
        ('minimum', 'saddle', 'inconclusive')
    """
    lam = np.asarray(eigenvalues, dtype=float).reshape(-1)
    if lam.size == 0 or not np.all(np.isfinite(lam)):
        raise ValueError(f"eigenvalues must be a non-empty sequence of finite numbers, got {eigenvalues!r}")
    check_in_range("tol", tol, 0.0)
    zero = tol * max(1.0, float(np.abs(lam).max()))
    pos, neg = bool(np.any(lam > zero)), bool(np.any(lam < -zero))
    if pos and neg:
        return "saddle"
    if np.any(np.abs(lam) <= zero):
        return "inconclusive"
    return "minimum" if pos else "maximum"


@dataclass(frozen=True)
class CriticalPoint:
    r"""What the first two derivatives say about one point of an objective.

    Attributes:
        point: the coordinates.
        value: the objective there.
        grad_norm: \(\|\nabla f\|\) there.
        eigenvalues: the Hessian's eigenvalues, ascending.
        kind: ``"minimum"``, ``"maximum"``, ``"saddle"``, ``"inconclusive"``
            (see [`hessian_kind`][gdbook.landscape.hessian_kind]), or
            ``"not critical"`` when the gradient is not zero.
    """

    point: tuple
    value: float
    grad_norm: float
    eigenvalues: tuple
    kind: str


def classify(objective: Objective, point, *, tol: float = 1e-8) -> CriticalPoint:
    r"""Classify ``point`` of ``objective`` by its gradient and the eigenvalues of its Hessian.

    The point is critical when \(\|\nabla f\| \le\) ``tol``; its kind then follows
    from [`hessian_kind`][gdbook.landscape.hessian_kind] with the same ``tol``.

    Examples:
        >>> from gdbook import objectives
        >>> c = classify(objectives.bowl(10), (0.0, 0.0))
        >>> c.kind, c.eigenvalues
        ('minimum', (2.0, 20.0))
        >>> classify(objectives.cubic(), 0.0).kind
        'inconclusive'
        >>> classify(objectives.cubic(), 1.0).kind
        'not critical'
    """
    check_in_range("tol", tol, 0.0)
    p = np.asarray(point, dtype=np.float64).reshape(-1)
    if p.size != objective.dim:
        raise ValueError(f"point must have {objective.dim} coordinate(s) for {objective.name!r}, got {p.size}")
    arg = p if objective.dim > 1 else p[0]
    grad_norm = float(np.linalg.norm(np.asarray(objective.grad(arg), dtype=float)))
    H = np.asarray(objective.hessian(arg), dtype=float).reshape(objective.dim, objective.dim)
    lam = np.linalg.eigvalsh((H + H.T) / 2)
    kind = hessian_kind(lam, tol) if grad_norm <= tol else "not critical"
    return CriticalPoint(
        point=tuple(float(v) for v in p),
        value=float(objective.value(arg)),
        grad_norm=grad_norm,
        eigenvalues=tuple(float(v) for v in lam),
        kind=kind,
    )


# ---------------------------------------------------------------------------
# Random symmetric matrices: how often are all eigenvalues of one sign?
# ---------------------------------------------------------------------------

_ENTRIES = ("gaussian", "ternary")


def random_symmetric(d: int, n: int, *, seed: int = 0, entries: str = "gaussian", p_zero: float = 0.5) -> np.ndarray:
    r"""``n`` random symmetric ``d``-by-``d`` matrices, shape ``(n, d, d)``.

    The entries \(M_{ij} = M_{ji}\), \(i \le j\), are independent and drawn from a
    distribution symmetric about zero:

    * ``"gaussian"``: the Gaussian orthogonal ensemble (GOE), \(M = (A + A^\top)/2\)
      with \(A_{ij}\) standard normal, so \(M_{ii} \sim \mathcal N(0, 1)\) and
      \(M_{ij} \sim \mathcal N(0, \tfrac12)\) off the diagonal. Its law is unchanged
      by any rotation \(M \mapsto Q M Q^\top\);
    * ``"ternary"``: every \(M_{ij}\), \(i \le j\), is \(0\) with probability
      ``p_zero``, else \(\pm 1\) with equal odds.

    Examples:
        >>> M = random_symmetric(3, 2, seed=1)
        >>> M.shape, bool((M == M.transpose(0, 2, 1)).all())
        ((2, 3, 3), True)
    """
    check_int("d", d, low=1, high=1000)
    check_int("n", n, low=1, high=10**7)
    check_int("seed", seed, low=0, high=2**63 - 1)
    check_choice("entries", entries, _ENTRIES)
    check_in_range("p_zero", p_zero, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    if entries == "gaussian":
        A = rng.standard_normal((n, d, d))
        return (A + A.transpose(0, 2, 1)) / 2
    A = np.where(rng.random((n, d, d)) < p_zero, 0.0, rng.choice([-1.0, 1.0], size=(n, d, d)))
    return np.triu(A) + np.triu(A, 1).transpose(0, 2, 1)


@dataclass(frozen=True)
class EigenSigns:
    """Sign statistics of the eigenvalues of ``n`` random symmetric ``d``-by-``d`` matrices.

    Fractions of matrices: ``all_positive`` (a minimum's Hessian), ``all_negative``
    (a maximum's), ``mixed`` (a saddle's: both signs), ``degenerate`` (a zero
    eigenvalue and no sign change). Fractions of all ``n·d`` eigenvalues:
    ``positive``, ``negative``, ``zero``.
    """

    d: int
    n: int
    all_positive: float
    all_negative: float
    mixed: float
    degenerate: float
    positive: float
    negative: float
    zero: float


def eigen_signs(d: int, n: int, *, seed: int = 0, entries: str = "gaussian", p_zero: float = 0.5,
                tol: float = 1e-9) -> EigenSigns:
    r"""Sample ``n`` matrices with [`random_symmetric`][gdbook.landscape.random_symmetric] and count eigenvalue signs.

    An eigenvalue with \(|\lambda| \le\) ``tol`` counts as zero. If the ``d``
    signs were independent fair coins, a matrix would have all eigenvalues positive
    with probability \(2^{-d}\); they are not independent: from \(d = 2\) on, the
    sampled fraction is below \(2^{-d}\) and falls much faster (for both kinds of entries).

    Examples:
        >>> s = eigen_signs(1, 1000, seed=0)
        >>> s.mixed, abs(s.all_positive - 0.5) < 0.05
        (0.0, True)
    """
    check_in_range("tol", tol, 0.0)
    lam = np.linalg.eigvalsh(random_symmetric(d, n, seed=seed, entries=entries, p_zero=p_zero))
    pos, neg = lam > tol, lam < -tol
    zero = ~(pos | neg)
    mixed = pos.any(axis=1) & neg.any(axis=1)
    return EigenSigns(
        d=d,
        n=n,
        all_positive=float(pos.all(axis=1).mean()),
        all_negative=float(neg.all(axis=1).mean()),
        mixed=float(mixed.mean()),
        degenerate=float((zero.any(axis=1) & ~mixed).mean()),
        positive=float(pos.mean()),
        negative=float(neg.mean()),
        zero=float(zero.mean()),
    )
