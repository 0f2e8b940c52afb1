r"""Explorables: interactive figures whose every number is computed at build.

An *explorable* is a figure with sliders: move the learning rate and watch the path
and the loss respond. The book's numbers come from `gdbook` at build time, so the
reader's browser runs no optimizer. Instead, each function here runs the whole
grid of slider settings at build (every learning rate times every value of the
second slider, one vectorized [`sweep`][gdbook.compare.sweep] per row), and returns
an [`Explorable`][gdbook.explore.Explorable]: the runs as a compact dict ready for
JSON, plus what the static stand-in figure needs. [`html`][gdbook.explore.html]
renders it for a page: labelled sliders in the page's language, the data as JSON
in a ``<template>`` element, and a static figure of the initial setting that stands
in when JavaScript is off. The book's script
(``docs/assets/javascripts/explorables.js``) only looks up the run for the
sliders' positions and draws it.

Three explorables, one per chapter:

* [`gradient_descent`][gdbook.explore.gradient_descent]: gradient descent on
  \(c\,x^2 + y^2\), sliders \(\eta\) and \(c\); the stability threshold
  \(2/\lambda_{\max}\) and the best fixed rate are marked on the \(\eta\) slider.
* [`momentum`][gdbook.explore.momentum]: the heavy ball on \(\kappa x^2 + y^2\),
  sliders \(\eta\) and \(\beta\); the best \(\beta\) for the chosen \(\eta\)
  ([`best_beta`][gdbook.explore.best_beta]) is marked, and so are the \(\beta\)
  for which the run diverges.
* [`race`][gdbook.explore.race]: several methods on one plot (Rosenbrock's valley,
  the saddle of \(x^2 - y^2\)), one learning rate from a grid, each method's best
  rate from the grid search of [`gdbook.compare`][gdbook.compare] marked.

Compact, and still exact to the eye: coordinates are rounded to the decimal place
that is at least as fine as 1/2000 of the plot window's span (a fraction of a pixel),
losses to 3 significant digits and rates to 4; a path is cut at the first point outside the window enlarged by a quarter
on each side (it diverges or escapes; the plot clips it), and at the first point
whose excess loss \(f - f^*\) is at most ``floor`` times that of the start (it sits
on the minimum, and its loss curve has left the bottom of the plot).

Examples:
    >>> ex = gradient_descent(cs=(1, 10), lrs=(0.05, 0.1, 0.2), start=(-70, 70), steps=5,
    ...                       initial={"c": 10, "lr": 0.05})
    >>> [s["name"] for s in ex.data["sliders"]], ex.data["sliders"][0]["values"]
    (['c', 'lr'], [1, 10])
    >>> [r["verdict"] for r in ex.data["runs"][1]]        # 2/λ_max = 0.1 for 10x² + y²
    ['converges', 'bounces', 'diverges']
    >>> ex.data["runs"][1][0]["xy"][:4]                    # x shrinks by 1 − 20η = 0, y by 0.9
    [-70, 70, 0, 63]
"""

from __future__ import annotations

import hashlib
import html as _html
import json
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import objectives as _objectives
from . import optim as _optim
from ._checks import check_choice, check_in_range, check_int
from .compare import best_of, sweep
from .figures import FigureHTML, check_lang, style, svg
from .objectives import Objective
from .plot import color_of, contour, curves, subplots
from .quadratic import rate as _gd_rate
from .quadratic import spectrum
from .trajectory import Trajectory
from .cache import memoize

__all__ = ["METHODS", "PROBLEMS", "Explorable", "heavy_ball_rate", "best_beta", "gradient_descent", "momentum", "race", "html"]

METHODS = MappingProxyType({
    "GD": (_optim.SGD, MappingProxyType({})),
    "Momentum": (_optim.SGD, MappingProxyType({"momentum": 0.9})),
    "Nesterov": (_optim.SGD, MappingProxyType({"momentum": 0.9, "nesterov": True})),
    "Adagrad": (_optim.Adagrad, MappingProxyType({})),
    "RMSProp": (_optim.RMSprop, MappingProxyType({})),
    "Adadelta": (_optim.Adadelta, MappingProxyType({})),
    "Adam": (_optim.Adam, MappingProxyType({})),
})
r"""The methods a [`race`][gdbook.explore.race] can run, ``name: (optimizer class, hyperparameters but lr)``:
torch's defaults throughout, momentum \(\beta = 0.9\)."""

PROBLEMS = ("rosenbrock", "saddle", "bowl", "himmelblau", "beale", "quartic")
"""The problems a [`race`][gdbook.explore.race] can run on: names of [`gdbook.objectives`][gdbook.objectives] functions."""


@dataclass(frozen=True)
class Explorable:
    r"""An interactive figure's content, computed at build.

    Attributes:
        data: everything the browser draws, JSON-ready (numbers, strings, lists, dicts);
            ``data["kind"]`` and ``data["args"]`` name the function and the arguments that
            computed it, so ``getattr(gdbook.explore, kind)(**args).data == data``.
        objective: the problem of the initial setting (for the static figure).
        runs: the runs of the initial setting, full precision, cut like the data (for
            [`momentum`][gdbook.explore.momentum], then gradient descent at the same \(\eta\)).
        loss_plot: whether the figure has a loss-per-step panel.
    """

    data: dict
    objective: Objective
    runs: tuple
    loss_plot: bool = True


# ---------------------------------------------------------------------------
# Rates of the heavy ball on a quadratic
# ---------------------------------------------------------------------------


def heavy_ball_rate(H: ArrayLike, lr: float, beta: float) -> float:
    r"""The rate \(\rho\) of heavy-ball momentum on a quadratic with Hessian ``H``: the spectral radius of
    its iteration, \(\|\mathbf x_t - \mathbf x^*\|^{1/t} \to \rho\) (at a double root the error behaves like \(t\rho^t\)).

    Along an eigenvector with curvature \(\lambda\) the iterates obey
    \(x_{t+1} = (1 + \beta - \eta\lambda)\,x_t - \beta\,x_{t-1}\), whose characteristic
    roots solve \(z^2 - (1 + \beta - \eta\lambda)\,z + \beta = 0\). The rate is the
    largest root modulus over all eigenvalues; \(\beta = 0\) gives gradient descent's
    \(\max_i |1 - \eta\lambda_i|\). The run diverges iff \(\rho > 1\).

    Examples:
        >>> H = [[20.0, 0.0], [0.0, 2.0]]
        >>> round(heavy_ball_rate(H, 0.01, 0.8), 6) == round(0.8 ** 0.5, 6)   # both roots complex
        True
        >>> from gdbook.quadratic import rate
        >>> heavy_ball_rate(H, 0.05, 0.0) == rate(H, 0.05)
        True
    """
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    beta = check_in_range("beta", beta, 0.0, 1.0, high_open=True)
    lam = spectrum(H).eigenvalues
    b = 1.0 + beta - lr * lam
    root = np.sqrt((b * b - 4.0 * beta).astype(complex))
    return float(np.maximum(np.abs(b + root), np.abs(b - root)).max() / 2.0)


def best_beta(H: ArrayLike, lr: float) -> float | None:
    r"""The momentum \(\beta\) that minimizes the heavy ball's rate for a fixed learning rate \(\eta\).

    Along curvature \(\lambda\) the two roots are complex (or equal) iff their
    discriminant \((1 + \beta - \eta\lambda)^2 - 4\beta \le 0\), i.e.
    \(|1 - \sqrt{\eta\lambda}| \le \sqrt\beta\); then both have modulus \(\sqrt\beta\)
    (their product is \(\beta\)). Outside that band the roots are real and the larger
    exceeds \(\sqrt\beta\). So the smallest \(\beta\) that puts every curvature of
    \([\lambda_{\min}, \lambda_{\max}]\) in the band is the best, with rate \(\sqrt{\beta^*}\):

    \[
    \beta^*(\eta) = \max\big((1 - \sqrt{\eta\lambda_{\min}})^2,\ (1 - \sqrt{\eta\lambda_{\max}})^2\big).
    \]

    Returns ``None`` when no \(\beta < 1\) converges (\(\eta\lambda_{\max} \ge 4\)).

    Examples:
        >>> H = [[100.0, 0.0], [0.0, 2.0]]                     # κ = 50
        >>> round(best_beta(H, 0.01), 4)                       # (1 − √(0.01·2))²
        0.7372
        >>> best_beta(H, 0.04) is None                         # η λ_max = 4
        True
    """
    lr = check_in_range("lr", lr, 0.0, low_open=True)
    s = spectrum(H)
    beta = max((1.0 - math.sqrt(lr * s.lam_min)) ** 2, (1.0 - math.sqrt(lr * s.lam_max)) ** 2)
    return beta if beta < 1.0 else None


# ---------------------------------------------------------------------------
# Compact data
# ---------------------------------------------------------------------------


def _num(v: float) -> int | float:
    """``v`` as JSON writes it shortest: ``70`` rather than ``70.0``, never ``-0``."""
    v = float(v) + 0.0
    return int(v) if v.is_integer() and abs(v) < 1e15 else v


def _sig(v: float, digits: int = 4) -> int | float | None:
    v = float(v)
    return _num(float(f"{v:.{digits}g}")) if math.isfinite(v) else None


def _decimals(window) -> int:
    span = max(hi - lo for lo, hi in window)
    return max(0, math.ceil(-math.log10(span / 2000.0)))


def _flat(points: np.ndarray, decimals: int) -> list:
    return [_num(v) for v in np.round(np.asarray(points, dtype=float).reshape(-1), decimals)]


def _simplify(points: np.ndarray, tol: float) -> np.ndarray:
    """Indices of the points a polyline needs to stay within ``tol`` of ``points`` (Ramer–Douglas–Peucker).

    Distances are to the segment, not to its line, so a path that overshoots and
    turns back keeps its turning point. (With the step as a third coordinate, a path
    that retraces itself keeps its turning points too: see [`race`][gdbook.explore.race].)

    Examples:
        >>> _simplify(np.array([[0.0, 0.0], [1.0, 0.001], [2.0, 0.0], [2.0, 1.0]]), 0.01).tolist()
        [0, 2, 3]
        >>> _simplify(np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 0.0]]), 0.01).tolist()   # overshoot
        [0, 1, 2]
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    keep = np.zeros(n, dtype=bool)
    keep[[0, n - 1]] = True
    todo = [(0, n - 1)]
    while todo:
        a, b = todo.pop()
        if b - a < 2:
            continue
        seg, rel = pts[b] - pts[a], pts[a + 1:b] - pts[a]
        den = float(seg @ seg)
        u = np.clip(rel @ seg / den, 0.0, 1.0) if den > 0 else np.zeros(len(rel))
        dist = np.linalg.norm(rel - u[:, None] * seg, axis=1)
        i = int(np.argmax(dist))
        if dist[i] > tol:
            k = a + 1 + i
            keep[k] = True
            todo += [(a, k), (k, b)]
    return np.nonzero(keep)[0]


def _box(window, margin: float = 0.25):
    lo = np.array([a - margin * (b - a) for a, b in window])
    hi = np.array([b + margin * (b - a) for a, b in window])
    return lo, hi


def _cut(run: Trajectory, objective: Objective, window, floor: float) -> Trajectory:
    """The run up to its first point outside the enlarged window or at the minimum (inclusive)."""
    lo, hi = _box(window)
    outside = np.nonzero(~np.all((run.path >= lo) & (run.path <= hi), axis=1))[0]
    end = int(outside[0]) + 1 if outside.size else len(run.path)
    if objective.f_min is not None:
        gap = run.losses - objective.f_min
        low = np.nonzero(gap <= floor * gap[0])[0] if gap[0] > 0 else np.array([0])
        if low.size:
            end = min(end, int(low[0]) + 1)
    return Trajectory(run.path[:end], run.losses[:end], run.label, run.diverged, run.diverged_at, run.grad_evals)


def _ticks(lo: float, hi: float) -> list:
    from matplotlib.ticker import MaxNLocator

    t = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return [_sig(v) for v in t if lo - 1e-9 * (hi - lo) <= v <= hi + 1e-9 * (hi - lo)]


def _contours(objective: Objective, window, levels, decimals: int, n: int = 161) -> list:
    """Contour lines as flat ``[x0, y0, x1, y1, …]`` polylines, simplified to 1/1000 of the window."""
    import contourpy

    X, Y, Z = objective.grid(n, window)
    gen = contourpy.contour_generator(X, Y, Z, line_type=contourpy.LineType.Separate)
    span = max(b - a for a, b in window)
    out = []
    for level in levels:
        for line in gen.lines(float(level)):
            if len(line) >= 2:
                out.append(_flat(line[_simplify(line, span / 1000)], decimals))
    return out


def _log_levels(objective: Objective, window, count: int = 14) -> np.ndarray:
    _, _, Z = objective.grid(81, window)
    base = Z - Z.min()
    return np.geomspace(max(base[base > 0].min(), 1e-3), base.max(), count + 2)[1:-1] + Z.min()


def _plot(objective: Objective, window) -> dict:
    return {
        "window": [[_sig(a), _sig(b)] for a, b in window],
        "xticks": _ticks(*window[0]),
        "yticks": _ticks(*window[1]),
        "minimizers": [[_sig(v) for v in m] for m in objective.minimizers],
        "critical": [[_sig(v) for v in m] for m in objective.critical],
    }


def _pos(value: float, grid: Sequence[float], log: bool) -> float:
    """Where ``value`` falls on a slider over ``grid`` (fractional index, clipped to the ends)."""
    g = np.log(np.asarray(grid, dtype=float)) if log else np.asarray(grid, dtype=float)
    v = math.log(value) if log else value
    return round(float(np.interp(v, g, np.arange(len(grid)))), 3)


def _is_log(grid: Sequence[float]) -> bool:
    """Whether ``grid`` is closer to evenly spaced in log than in value (a slider to read in log)."""
    g = np.asarray(grid, dtype=float)
    if len(g) < 3 or g[0] <= 0:
        return False
    cv = lambda d: float(np.std(d) / np.mean(d))  # noqa: E731
    return cv(np.diff(np.log(g))) < cv(np.diff(g))


def _index(name: str, value, grid: Sequence) -> int:
    for i, g in enumerate(grid):
        if value == g:
            return i
    raise ValueError(f"initial {name} must be one of {tuple(grid)}, got {value!r}")


def _grid(name: str, values, low: float = 0.0, high: float = math.inf, high_open: bool = False) -> list:
    vals = [float(check_in_range(name, v, low, high, low_open=low == 0.0 and name != "betas",
                                 high_open=high_open)) for v in values]
    if not vals:
        raise ValueError(f"{name} must hold at least one value")
    if any(b <= a for a, b in zip(vals, vals[1:])):
        raise ValueError(f"{name} must be strictly increasing, got {tuple(values)}")
    return [int(v) if v.is_integer() and name != "lrs" else v for v in vals]


def _verdict(rho: float) -> str:
    if rho < 1.0 - 1e-12:
        return "converges"
    return "bounces" if rho <= 1.0 + 1e-12 else "diverges"


def _record(run: Trajectory, objective: Objective, window, floor: float, decimals: int) -> tuple[Trajectory, dict]:
    cut = _cut(run, objective, window, floor)
    rec = {"xy": _flat(cut.path, decimals), "loss": [_sig(v, 3) for v in cut.losses]}
    return cut, rec


def _loss_range(runs, objective: Objective, floor: float) -> list:
    f_min = objective.f_min or 0.0
    top = max(float(np.max(r.losses - f_min)) for r in runs)
    start = max(float(r.losses[0] - f_min) for r in runs)
    return [math.floor(math.log10(floor * start)), min(math.ceil(math.log10(top)), math.ceil(math.log10(start)) + 1)]


# ---------------------------------------------------------------------------
# The three explorables
# ---------------------------------------------------------------------------


def _bowl_frame(steps, floor, start):
    """The checks and the plot frame the two bowl explorables share.

    Returns ``steps``, ``floor`` and ``start`` checked, the square window that puts the
    start at 70 % of its half-width, the coordinates' decimals and ten contour levels.
    """
    steps = check_int("steps", steps, low=1, high=2000)
    floor = check_in_range("floor", floor, 0.0, 1.0, low_open=True, high_open=True)
    start = [float(v) for v in start]
    reach = max(abs(v) for v in start) / 0.7
    window = ((-reach, reach), (-reach, reach))
    levels = [(reach * k / 10) ** 2 for k in range(1, 11)]   # through (0, y) for y = reach/10, …, reach
    return steps, floor, start, window, _decimals(window), levels


@memoize
def gradient_descent(
    cs: Sequence[float] = (1, 2, 5, 10, 20),
    lrs: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    *,
    start: Sequence[float] = (-70, 70),
    steps: int = 50,
    initial: Mapping | None = None,
    floor: float = 1e-8,
) -> Explorable:
    r"""Gradient descent on \(f(x, y) = c\,x^2 + y^2\) for every \(c\) in ``cs`` and \(\eta\) in ``lrs``.

    The Hessian is \(\mathrm{diag}(2c, 2)\), so every step multiplies \(x\) by
    \(1 - 2c\eta\) and \(y\) by \(1 - 2\eta\) ([`gdbook.quadratic`][gdbook.quadratic]).
    Each run records its path and loss (cut, as the module says, at its first point outside
    the enlarged window or with its loss gap below ``floor``), both factors, the rate
    \(\rho = \max_i |1 - \eta\lambda_i|\) and a verdict: ``"converges"`` (\(\rho < 1\)),
    ``"bounces"`` (\(\rho = 1\): a factor of exactly \(-1\)) or ``"diverges"``
    (\(\rho > 1\)). For each \(c\) the \(\eta\) slider is marked at the threshold
    \(2/\lambda_{\max}\) and at the best fixed rate \(2/(\lambda_{\min} + \lambda_{\max})\).

    Args:
        cs: the values of \(c\) (the second slider), increasing.
        lrs: the learning rates (the first slider), increasing; spaced evenly in
            \(\log\eta\) (e.g. [`lr_grid`][gdbook.compare.lr_grid]) the slider reads well.
        start: the starting point.
        steps: steps per run.
        initial: the setting shown first, ``{"c": …, "lr": …}`` (values from the grids);
            by default the middle of each grid.
        floor: a run stops being recorded at the first point whose excess loss
            \(f - f^*\) is at most ``floor`` times that of the start, in \((0, 1)\).

    Examples:
        >>> ex = gradient_descent(cs=(10,), lrs=(0.01, 0.03, 0.1), steps=3)
        >>> ex.data["marks"]["lr"][0]        # 2/20 and 2/(2 + 20), placed on a log scale
        [{'kind': 'threshold', 'value': 0.1, 'pos': 2.0}, {'kind': 'optimal', 'value': 0.09091, 'pos': 1.921}]
    """
    cs = _grid("cs", cs)
    lrs = _grid("lrs", lrs)
    steps, floor, start, window, dec, levels = _bowl_frame(steps, floor, start)
    initial = dict(initial or {})
    i0 = _index("c", initial.get("c", cs[len(cs) // 2]), cs)
    j0 = _index("lr", initial.get("lr", lrs[len(lrs) // 2]), lrs)
    contours, marks, runs, cut_all = [], [], [], []
    for c in cs:
        f = _objectives.bowl(c)
        H = f.hessian([0.0, 0.0])
        s = spectrum(H)
        contours.append(_contours(f, window, levels, dec))
        marks.append([
            {"kind": "threshold", "value": _sig(s.max_stable_lr), "pos": _pos(s.max_stable_lr, lrs, _is_log(lrs))},
            {"kind": "optimal", "value": _sig(s.optimal_lr), "pos": _pos(s.optimal_lr, lrs, _is_log(lrs))},
        ])
        row = []
        for lr, run in zip(lrs, sweep(f, _optim.SGD, lrs, steps=steps, start=start, label="GD")):
            cut, rec = _record(run, f, window, floor, dec)
            rho = _gd_rate(H, lr)
            rec.update({"factors": [_sig(1 - 2 * c * lr), _sig(1 - 2 * lr)], "rate": _sig(rho), "verdict": _verdict(rho)})
            row.append(rec)
            cut_all.append(cut)
            if (len(runs), len(row) - 1) == (i0, j0):
                first = (f, cut)
        runs.append(row)
    f0 = _objectives.bowl(cs[i0])
    data = {
        "kind": "gradient_descent",
        "args": {"cs": cs, "lrs": lrs, "start": start, "steps": steps, "initial": {"c": cs[i0], "lr": lrs[j0]},
                 "floor": floor},
        "method": {"name": "GD", "color": color_of("GD")},
        "sliders": [{"name": "c", "values": cs, "initial": i0}, {"name": "lr", "values": lrs, "initial": j0}],
        "plot": _plot(f0, window),
        "contours": contours,
        "contours_by": "c",
        "marks": {"lr": marks},
        "loss": {"range": _loss_range(cut_all, f0, floor), "steps": steps},
        "runs": runs,
    }
    return Explorable(data, first[0], (first[1],))


@memoize
def momentum(
    kappa: float = 50,
    lrs: Sequence[float] = (0.005, 0.01, 0.02, 0.04),
    betas: Sequence[float] = (0.0, 0.5, 0.9),
    *,
    start: Sequence[float] = (-70, 70),
    steps: int = 80,
    initial: Mapping | None = None,
    floor: float = 1e-8,
) -> Explorable:
    r"""Heavy-ball momentum (``SGD`` with ``momentum`` \(\beta\)) on \(\kappa x^2 + y^2\) for every \(\eta\) and \(\beta\).

    The Hessian is \(\mathrm{diag}(2\kappa, 2)\), with condition number \(\kappa\).
    Each run records its path, its loss, its rate
    ([`heavy_ball_rate`][gdbook.explore.heavy_ball_rate]), \(\sqrt\beta\), and the
    rate gradient descent has at the same \(\eta\). For each \(\eta\) the \(\beta\)
    slider is marked at [`best_beta`][gdbook.explore.best_beta] and, when some
    \(\beta\) diverge, at the stability edge: along \(\lambda_{\max}\) a root leaves
    the unit circle at \(z = -1\) when \(\eta\lambda_{\max} = 2(1 + \beta)\), so the
    run diverges for \(\beta < \eta\lambda_{\max}/2 - 1\).

    Args:
        kappa: the condition number \(\kappa \ge 1\).
        lrs: learning rates (first slider), increasing.
        betas: momentum values in \([0, 1)\) (second slider), increasing.
        start, steps, floor: as for [`gradient_descent`][gdbook.explore.gradient_descent].
        initial: ``{"lr": …, "beta": …}``; by default the middle of each grid.

    Examples:
        >>> ex = momentum(kappa=50, lrs=(0.01, 0.03), betas=(0.0, 0.5, 0.9), steps=3)
        >>> [m["kind"] for m in ex.data["marks"]["beta"][1]], ex.data["marks"]["beta"][1][0]["value"]
        (['best', 'unstable'], 0.5701)
        >>> [r["verdict"] for r in ex.data["runs"][1]]          # η λ_max = 3: β > 0.5 needed
        ['diverges', 'bounces', 'converges']
    """
    kappa = float(check_in_range("kappa", kappa, 1.0))
    lrs = _grid("lrs", lrs)
    betas = _grid("betas", betas, 0.0, 1.0, high_open=True)
    steps, floor, start, window, dec, levels = _bowl_frame(steps, floor, start)
    initial = dict(initial or {})
    i0 = _index("lr", initial.get("lr", lrs[len(lrs) // 2]), lrs)
    j0 = _index("beta", initial.get("beta", betas[len(betas) // 2]), betas)
    f = _objectives.bowl(kappa)
    H = f.hessian([0.0, 0.0])
    lam_max = spectrum(H).lam_max
    by_beta = [sweep(f, _optim.SGD, lrs, steps=steps, start=start, label="Momentum", momentum=b) for b in betas]
    runs, marks, cut_all = [], [], []
    for i, lr in enumerate(lrs):
        row = []
        gd_rho = _gd_rate(H, lr)
        for j, b in enumerate(betas):
            cut, rec = _record(by_beta[j][i], f, window, floor, dec)
            rho = heavy_ball_rate(H, lr, b)
            rec.update({"rate": _sig(rho), "sqrt_beta": _sig(math.sqrt(b)), "gd_rate": _sig(gd_rho),
                        "verdict": _verdict(rho)})
            row.append(rec)
            cut_all.append(cut)
            if (i, j) == (i0, j0):
                first = cut
            if (i, j) == (i0, 0):
                reference = Trajectory(cut.path, cut.losses, "GD", cut.diverged, cut.diverged_at, cut.grad_evals)
        runs.append(row)
        m = []
        bb = best_beta(H, lr)
        if bb is not None:
            m.append({"kind": "best", "value": _sig(bb), "pos": _pos(bb, betas, _is_log(betas)),
                      "rate": _sig(math.sqrt(bb))})
        edge = lr * lam_max / 2 - 1
        if edge > betas[0]:
            m.append({"kind": "unstable", "value": _sig(min(edge, 1.0)), "pos": _pos(min(edge, 1.0), betas, _is_log(betas))})
        marks.append(m)
    k = int(kappa) if kappa.is_integer() else kappa
    data = {
        "kind": "momentum",
        "args": {"kappa": k, "lrs": lrs, "betas": betas, "start": start, "steps": steps,
                 "initial": {"lr": lrs[i0], "beta": betas[j0]}, "floor": floor},
        "method": {"name": "Momentum", "color": color_of("Momentum"), "reference": color_of("GD")},
        "sliders": [{"name": "lr", "values": lrs, "initial": i0}, {"name": "beta", "values": betas, "initial": j0}],
        "plot": _plot(f, window),
        "contours": [_contours(f, window, levels, dec)],
        "contours_by": None,
        "marks": {"beta": marks},
        "loss": {"range": _loss_range(cut_all, f, floor), "steps": steps},
        "runs": runs,
    }
    return Explorable(data, f, (first, reference))


def _methods(methods) -> dict:
    """``{name: (class name in gdbook.optim, hyperparameters)}`` from names or a mapping."""
    if isinstance(methods, Mapping):
        out = {}
        for name, spec in methods.items():
            try:
                cls, hyper = spec
            except (TypeError, ValueError) as e:
                raise TypeError(f"methods[{name!r}] must be (optimizer, hyperparameters), got {spec!r}") from e
            cls_name = cls if isinstance(cls, str) else getattr(cls, "__name__", "")
            found = getattr(_optim, cls_name, None)
            if found is None or not hasattr(found, "rule") or not (isinstance(cls, str) or found is cls):
                raise ValueError(f"methods[{name!r}] must use one of gdbook.optim's optimizers, got {cls!r}")
            out[str(name)] = (cls_name, dict(hyper))
        if not out:
            raise ValueError("methods must name at least one method")
        return out
    names = [check_choice("methods", m, tuple(METHODS)) for m in methods]
    if not names:
        raise ValueError("methods must name at least one method")
    return {m: (METHODS[m][0].__name__, dict(METHODS[m][1])) for m in names}


@memoize
def race(
    problems: Sequence[str] = ("rosenbrock", "saddle"),
    methods: "Sequence[str] | Mapping[str, tuple]" = ("GD", "Momentum", "Adagrad", "RMSProp", "Adam"),
    lrs: Sequence[float] = (0.001, 0.01, 0.1),
    *,
    steps: int = 300,
    target: float = 1e-3,
    initial: Mapping | None = None,
    floor: float = 1e-8,
) -> Explorable:
    r"""Several methods, one learning rate from a grid, racing on one plot, for each problem.

    Every method of ``methods`` runs ``steps`` steps at every rate of ``lrs`` on every problem (names of
    [`gdbook.objectives`][gdbook.objectives] functions, with their default start and
    window), one vectorized [`sweep`][gdbook.compare.sweep] per method and problem.
    Each run records its path and when it reached the target (the loss stays
    \(\le f^* +\) ``target`` from then on, the rule of [`gdbook.compare`][gdbook.compare]),
    left the window or diverged. On problems with a minimum, each method's best rate
    of the grid ([`best_of`][gdbook.compare.best_of]) is marked on the slider; on a
    saddle, which has none, the race is to escape.

    Args:
        problems: objective names, e.g. ``("rosenbrock", "saddle")``.
        methods: names from `METHODS` (``("GD", "Momentum", "Adam")``), or a mapping
            ``{name: (optimizer, hyperparameters but lr)}`` with optimizers of
            `gdbook.optim` (classes or their names); a method's colour
            is the book's colour for its name.
        lrs: the learning rates, increasing.
        steps: steps per run.
        target: the excess loss that counts as reaching the minimum.
        initial: ``{"problem": …, "methods": (…), "lr": …}`` shown first; by default
            the first problem, every method, the middle rate.
        floor: as for [`gradient_descent`][gdbook.explore.gradient_descent].

    Examples:
        >>> ex = race(problems=("saddle",), methods=("GD", "Adam"), lrs=(0.01, 0.1), steps=100)
        >>> [[r["out"] for r in m] for m in ex.data["problems"][0]["runs"]]   # step leaving the plot
        [[None, 41], [None, 16]]
    """
    problems = [check_choice("problems", p, PROBLEMS) for p in problems]
    specs = _methods(methods)
    methods = list(specs)
    if not problems:
        raise ValueError("problems must name at least one problem")
    lrs = _grid("lrs", lrs)
    steps = check_int("steps", steps, low=1, high=5000)
    target = float(check_in_range("target", target, 0.0, low_open=True))
    floor = check_in_range("floor", floor, 0.0, 1.0, low_open=True, high_open=True)
    initial = dict(initial or {})
    p0 = problems.index(check_choice("initial problem", initial.get("problem", problems[0]), problems))
    m0 = [methods.index(check_choice("initial methods", m, methods)) for m in initial.get("methods", methods)]
    l0 = _index("lr", initial.get("lr", lrs[len(lrs) // 2]), lrs)
    out, first = [], []
    for pi, name in enumerate(problems):
        f = getattr(_objectives, name)()
        window = f.window
        dec = _decimals(window)
        span = max(b - a for a, b in window)
        lo, hi = _box(window, 0.0)
        runs, best = [], []
        for mi, m in enumerate(methods):
            cls_name, hyper = specs[m]
            sw = sweep(f, getattr(_optim, cls_name), lrs, steps=steps, label=m, **hyper)
            row = []
            if f.f_min is not None:
                s = best_of([Trajectory(r.path, r.losses - f.f_min, m, r.diverged) for r in sw], lrs, target=target)
                best.append(None if s.best_run.diverged else s.best)
            for k, run in enumerate(sw):
                cut = _cut(run, f, window, floor)
                # in (x, y, step) space: an error of one step along the path counts as 1/1500 of the window
                t = np.arange(len(cut.path), dtype=float)[:, None] * (span / 1500)
                keep = _simplify(np.hstack([cut.path, t]), span / 1500)
                leave = np.nonzero(~np.all((run.path >= lo) & (run.path <= hi), axis=1))[0]
                rec = {"t": [int(i) for i in keep], "xy": _flat(cut.path[keep], dec),
                       "out": int(leave[0]) if leave.size else None,
                       "diverged": run.diverged_at, "final": _sig(run.losses[-1])}
                if f.f_min is not None:
                    rec["hit"] = s.hits[k] if not run.diverged else None
                row.append(rec)
                if pi == p0 and k == l0 and mi in m0:
                    first.append(cut)
            runs.append(row)
        out.append({
            "name": name,
            "formula": f.name if name != "rosenbrock" else "(1 − x)² + 100 (y − x²)²",
            "plot": _plot(f, window),
            "start": [_sig(v) for v in f.start],
            "contours": _contours(f, window, _log_levels(f, window) if f.f_min is not None
                                  else np.linspace(-2, 2, 9), dec),
            "target": target if f.f_min is not None else None,
            "best": best if f.f_min is not None else None,
            "reached": [[r.get("hit") is not None for r in row] for row in runs] if f.f_min is not None else None,
            "runs": runs,
        })
    data = {
        "kind": "race",
        "args": {"problems": problems, "methods": {m: [c, h] for m, (c, h) in specs.items()}, "lrs": lrs,
                 "steps": steps, "target": target,
                 "initial": {"problem": problems[p0], "methods": [methods[i] for i in m0], "lr": lrs[l0]},
                 "floor": floor},
        "methods": [{"name": m, "color": color_of(m)} for m in methods],
        "sliders": [{"name": "lr", "values": lrs, "initial": l0}],
        "initial": {"problem": p0, "methods": m0},
        "steps": steps,
        "problems": out,
    }
    f0 = getattr(_objectives, problems[p0])()
    return Explorable(data, f0, tuple(first), loss_plot=False)


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------

_TEXT = {
    "en": {
        "c": "curvature c of c·x² + y²",
        "lr": "learning rate η",
        "beta": "momentum β",
        "step": "step",
        "loss": "loss f",
        "loss_gap": "loss f − f*",
        "plane_label": "The runs drawn on the contour lines of the objective; it follows the controls.",
        "loss_label": "The loss against the step, on a log scale; it follows the controls.",
        "problem": "Problem",
        "methods": "Methods",
        "play": "Play",
        "pause": "Pause",
        "threshold": "2/λ_max",
        "optimal": "best η",
        "best": "best β",
        "unstable": "diverges",
        "best_lr": "best η for {name}",
        "converges": "converges",
        "bounces": "neither converges nor diverges (a factor of exactly −1)",
        "diverges": "diverges",
        "gd_status": "Factors 1 − ηλ per step: x {fx}, y {fy}. Rate ρ = max |1 − ηλ| = {rate}: {verdict}.",
        "gd_marks": "On the η slider: 2/λ_max = {threshold} (above it, divergence) and the best fixed η = {optimal}.",
        "momentum_status": "Rate ρ = {rate} (√β = {sqrt_beta}; gradient descent at this η: ρ = {gd_rate}): {verdict}.",
        "momentum_best": "Best β for this η: {best}, rate √β* = {best_rate}.",
        "momentum_nobest": "No β < 1 converges at this η.",
        "momentum_unstable": "Below β = {unstable} the run diverges.",
        "reference": "gradient descent, same η",
        "hit": "{name}: f − f* ≤ {target} from step {hit} on",
        "miss": "{name}: f = {final} after {steps} steps",
        "out": "{name}: leaves the plot at step {out}",
        "stay": "{name}: still inside the plot after {steps} steps",
        "diverged": "{name}: diverges (overflow at step {diverged})",
        "now": "{t} / {steps}",
        "static": "Static view: {setting}. With JavaScript on, sliders change the setting.",
        "rosenbrock": "Rosenbrock's valley",
        "saddle": "saddle of x² − y²",
        "bowl": "bowl",
        "himmelblau": "Himmelblau",
        "beale": "Beale",
        "quartic": "10x⁴ + y⁴",
    },
    "zh": {
        "c": "c·x² + y² 中的曲率系数 c",
        "lr": "学习率 η",
        "beta": "动量系数 β",
        "step": "迭代步数",
        "loss": "损失 f",
        "loss_gap": "损失 f − f*",
        "plane_label": "各方法的迭代路径，画在目标函数的等高线上，随控件变化。",
        "loss_label": "损失随迭代步数的变化（对数坐标），随控件变化。",
        "problem": "目标函数",
        "methods": "优化方法",
        "play": "播放",
        "pause": "暂停",
        "threshold": "2/λ_max",
        "optimal": "最佳 η",
        "best": "最佳 β",
        "unstable": "发散",
        "best_lr": "{name} 的最佳 η",
        "converges": "收敛",
        "bounces": "既不收敛也不发散（有一个因子恰为 −1）",
        "diverges": "发散",
        "gd_status": "每步的收缩因子 1 − ηλ：x 方向 {fx}，y 方向 {fy}。收敛速率 ρ = max |1 − ηλ| = {rate}：{verdict}。",
        "gd_marks": "η 滑块上的标记：2/λ_max = {threshold}（超过它就发散），最佳固定学习率 η = {optimal}。",
        "momentum_status": "收敛速率 ρ = {rate}（√β = {sqrt_beta}；同一 η 下梯度下降的 ρ = {gd_rate}）：{verdict}。",
        "momentum_best": "此 η 下的最佳 β = {best}，速率 √β* = {best_rate}。",
        "momentum_nobest": "此 η 下没有任何 β < 1 能收敛。",
        "momentum_unstable": "β 低于 {unstable} 时发散。",
        "reference": "梯度下降（同一 η）",
        "hit": "{name}：从第 {hit} 步起 f − f* ≤ {target}",
        "miss": "{name}：{steps} 步后 f = {final}",
        "out": "{name}：第 {out} 步离开图框",
        "stay": "{name}：{steps} 步后仍在图框内",
        "diverged": "{name}：发散（第 {diverged} 步溢出）",
        "now": "{t} / {steps}",
        "static": "静态视图：{setting}。启用 JavaScript 后可用滑块改变设置。",
        "rosenbrock": "Rosenbrock 函数的山谷",
        "saddle": "x² − y² 的鞍点",
        "bowl": "碗形函数",
        "himmelblau": "Himmelblau 函数",
        "beale": "Beale 函数",
        "quartic": "10x⁴ + y⁴",
    },
}


def _static_figure(ex: Explorable, lang: str):
    d = ex.data
    if d["kind"] == "race":
        p = d["problems"][d["initial"]["problem"]]
        fig, ax = subplots(figsize=(5.0, 5.0))
        contour(ex.objective, ax=ax, lang=lang, equal=True, levels="log" if p["target"] else 12, n=60)
        with style():
            for run in ex.runs:  # lines only: a thousand dots per run would weigh more than the data
                c = color_of(run.label)
                ax.plot(run.path[:, 0], run.path[:, 1], color=c, lw=1.4, label=run.label)
                ax.plot(*run.path[0], "o", mfc="white", mec=c, ms=7, zorder=5)
                ax.plot(*run.path[-1], "o", color=c, ms=5, zorder=5)
            ax.legend(loc="lower right")
        return fig
    fig, axes = subplots(1, 2, figsize=(9.0, 4.2))
    w = d["plot"]["window"]
    run, refs = ex.runs[0], ex.runs[1:]   # the setting; for momentum, gradient descent at its η (dashed)
    contour(ex.objective, [run], ax=axes[0], window=(tuple(w[0]), tuple(w[1])), lang=lang, equal=True,
            levels=sorted({(w[1][1] * k / 10) ** 2 for k in range(1, 11)}), legend=False, n=60)
    f_min = ex.objective.f_min or 0.0
    curves([(run.label, np.arange(len(run.losses)), run.losses - f_min)], ax=axes[1], lang=lang,
           ylabel=_TEXT[lang]["loss_gap"])
    with style():
        for r in refs:
            c = d["method"]["reference"]
            axes[0].plot(r.path[:, 0], r.path[:, 1], "--", color=c, lw=1.0, alpha=0.7, zorder=1)
            axes[1].plot(np.arange(len(r.losses)), r.losses - f_min, "--", color=c, lw=1.0, alpha=0.7)
        axes[1].set_xlim(0, d["loss"]["steps"])
        axes[1].set_ylim(10.0 ** d["loss"]["range"][0], 10.0 ** d["loss"]["range"][1])
        if axes[1].get_legend() is not None:
            axes[1].get_legend().remove()
    return fig


def _setting(ex: Explorable, lang: str) -> str:
    d = ex.data
    sep = "，" if lang == "zh" else ", "
    parts = []
    for s in d["sliders"]:
        name = {"c": "c", "lr": "η", "beta": "β"}[s["name"]]
        parts.append(f"{name} = {s['values'][s['initial']]:g}")
    if d["kind"] == "race":
        t = _TEXT[lang]
        parts.insert(0, t[d["args"]["initial"]["problem"]])
        parts.append(" ".join(d["args"]["initial"]["methods"]))
    return sep.join(parts)


def html(ex: Explorable, *, lang: str = "en", caption: str | None = None, alt: str | None = None) -> FigureHTML:
    """The explorable as one HTML element: controls, data and a static stand-in figure.

    The element holds, in this order: the static figure of the initial setting
    (shown when JavaScript is off; its caption says so), the live part (hidden until
    the book's script draws it): one labelled ``<input type="range">`` per slider
    showing its value, problem and method choices for a race, a status line, and the
    caption; and the data as JSON, with the labels in ``lang``, in a ``<template>``
    (inert, excluded from the search index). Not in a ``<script type="application/json">``:
    Material's instant navigation re-creates every inline script of the new page without
    its ``type`` and runs it as JavaScript. The element has no blank line, so that
    Markdown passes it through as one HTML block.

    Args:
        ex: an [`Explorable`][gdbook.explore.Explorable].
        lang: the page's language, ``"en"`` or ``"zh"``.
        caption: what the figure shows and what to try (in ``lang``).
        alt: a description for screen readers of the static figure (defaults to the caption).
    """
    lang = check_lang(lang)
    text = _TEXT[lang]
    d = ex.data
    payload = json.dumps({"data": d, "text": text}, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    uid = "gdx-" + hashlib.sha1(payload.encode()).hexdigest()[:8]
    esc = _html.escape
    payload = esc(payload, quote=False)  # & < > as entities: the template's text is the JSON
    static_caption = ((caption + " ") if caption else "") + text["static"].format(setting=_setting(ex, lang))
    fallback = str(svg(_static_figure(ex, lang), caption=static_caption, alt=alt or caption))
    fallback = fallback.replace('<figure class="gd-figure">', '<figure class="gd-figure gd-x-fallback">', 1)
    controls = []
    if d["kind"] == "race":
        radios = "".join(
            f'<label><input type="radio" name="{uid}-problem" value="{i}"{" checked" if i == d["initial"]["problem"] else ""}>'
            f' {esc(text.get(p["name"], p["name"]))}</label>' for i, p in enumerate(d["problems"]))
        controls.append(f'<fieldset class="gd-x-choice gd-x-problem"><legend>{esc(text["problem"])}</legend>{radios}</fieldset>')
        boxes = "".join(
            f'<label><input type="checkbox" value="{i}"{" checked" if i in d["initial"]["methods"] else ""}>'
            f' <span class="gd-x-swatch" style="background:{m["color"]}"></span>{esc(m["name"])}</label>'
            for i, m in enumerate(d["methods"]))
        controls.append(f'<fieldset class="gd-x-choice gd-x-methods"><legend>{esc(text["methods"])}</legend>{boxes}</fieldset>')
    for s in d["sliders"]:
        sid = f"{uid}-{s['name']}"
        v = s["values"][s["initial"]]
        controls.append(
            f'<div class="gd-x-slider" data-name="{s["name"]}">'
            f'<label for="{sid}">{esc(text[s["name"]])}</label> <output id="{sid}-out" for="{sid}">{v:g}</output>'
            f'<div class="gd-x-track"><input type="range" id="{sid}" min="0" max="{len(s["values"]) - 1}" step="1" '
            f'value="{s["initial"]}" aria-valuetext="{v:g}"><div class="gd-x-marks" aria-hidden="true"></div></div></div>')
    if d["kind"] == "race":
        sid = f"{uid}-step"
        controls.append(
            f'<div class="gd-x-slider gd-x-steps" data-name="step"><label for="{sid}">{esc(text["step"])}</label> '
            f'<output id="{sid}-out" for="{sid}">{d["steps"]}</output> <button type="button" class="gd-x-play md-button">'
            f'{esc(text["play"])}</button><div class="gd-x-track"><input type="range" id="{sid}" min="0" '
            f'max="{d["steps"]}" step="1" value="{d["steps"]}"></div></div>')
    cap = f'<p class="gd-x-caption">{esc(caption)}</p>' if caption else ""
    live = (f'<div class="gd-x-live" hidden data-search-exclude><div class="gd-x-controls">{"".join(controls)}</div>'
            f'<div class="gd-x-plots"></div><div class="gd-x-status" aria-live="polite"></div>{cap}</div>')
    return FigureHTML(
        f'<div class="gd-explorable" id="{uid}" data-kind="{d["kind"]}" lang="{lang}">{fallback}{live}'
        f'<template class="gd-x-data" data-search-exclude>{payload}</template></div>')
