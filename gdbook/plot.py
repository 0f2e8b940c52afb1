"""Plot helpers: one contour-and-trajectory routine, loss curves, per-layer charts, 3-D surfaces.

Every drawing helper takes ``ax=None`` (a new figure in the house style) or an axes to
draw into, returns the figure, and labels it in ``lang`` (``"en"`` or ``"zh"``).
Each optimizer has one colour across the whole book (`METHOD_COLORS`).

Examples:
    >>> from gdbook import objectives, optim, trajectory
    >>> f = objectives.bowl(10)
    >>> run = trajectory(f, optim.SGD, lr=0.01, steps=20, label="GD")
    >>> fig = contour(f, [run], lang="zh")
    >>> len(fig.axes)
    1
"""

from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .figures import check_lang, style
from .objectives import Objective
from .trajectory import Trajectory

__all__ = ["METHOD_COLORS", "label", "color_of", "subplots", "contour", "curves", "layers", "surface"]

#: One colour per method, used by every figure of the book.
METHOD_COLORS = {
    "gd": "#1f77b4",
    "sgd": "#17becf",
    "momentum": "#d62728",
    "nesterov": "#e377c2",
    "adagrad": "#2ca02c",
    "rmsprop": "#ff7f0e",
    "adadelta": "#8c564b",
    "adam": "#9467bd",
    "adamw": "#bcbd22",
    "newton": "#000000",
    "lbfgs": "#7f7f7f",
    "nadam": "#5254a3",
    "radam": "#de9ed6",
    "adamax": "#637939",
    "adafactor": "#8c6d31",
    "lion": "#e7ba52",
    "muon": "#843c39",
}

_LABELS = {
    "en": {
        "step": "step", "loss": "loss", "epoch": "epoch", "layer": "layer", "start": "start",
        "minimum": "minimum", "critical": "critical point", "diverged": "diverged",
        "value": "value", "x": "x", "y": "y",
    },
    "zh": {
        "step": "迭代步数", "loss": "损失", "epoch": "轮（epoch）", "layer": "层", "start": "起点",
        "minimum": "最小值点", "critical": "临界点", "diverged": "发散",
        "value": "取值", "x": "x", "y": "y",
    },
}


def label(key: str, lang: str = "en") -> str:
    """The book's word for ``key`` (``"step"``, ``"loss"``, ...) in ``lang``.

    >>> label("loss", "zh")
    '损失'
    """
    return _LABELS[check_lang(lang)][key]


#: Chinese method names used in legends of Chinese pages, and the method each names.
ZH_METHOD_NAMES = {"动量法": "momentum", "重球法": "momentum", "牛顿法": "newton"}


def color_of(name: str) -> str | None:
    """The book's colour for a method name, ``None`` for a name without one.

    Case-insensitive, ignoring hyphens and anything after a space or a parenthesis:
    ``"Adam (η = 0.1)"`` and ``"adam"`` get the same colour. Chinese names in
    ``ZH_METHOD_NAMES`` count as their method.

    >>> color_of("动量法（β = 0.9）") == color_of("Momentum")
    True
    """
    key = name.lower().replace("-", "").split(" ")[0].split("(")[0].split("（")[0]
    return METHOD_COLORS.get(ZH_METHOD_NAMES.get(key, key))


def subplots(nrows: int = 1, ncols: int = 1, **kwargs):
    """``plt.subplots`` in the house style; returns ``(fig, axes)``."""
    with style():
        if "figsize" not in kwargs:
            w, h = plt.rcParams["figure.figsize"]
            kwargs["figsize"] = (min(w * ncols * 0.75, 10.0) if ncols > 1 else w, h * (0.85 if nrows == 1 else 0.7 * nrows))
        return plt.subplots(nrows, ncols, **kwargs)


def _axes(ax, **kwargs):
    if ax is not None:
        return ax.figure, ax
    return subplots(**kwargs)


def _colors(labels: Sequence[str]) -> list:
    """One colour per series: the method's own colour when no other series shares that
    method, else the next colour of the cycle (so two Adam runs never look alike)."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    methods = [color_of(name) for name in labels]
    return [m if m is not None and methods.count(m) == 1 else cycle[i % len(cycle)] for i, m in enumerate(methods)]


def contour(
    objective: Objective,
    runs: Iterable[Trajectory] = (),
    *,
    ax=None,
    window: "tuple | None" = None,
    n: int = 60,
    levels: "int | Sequence[float] | str" = 20,
    lang: str = "en",
    arrows: bool = False,
    mark: bool = True,
    equal: bool = False,
    title: str | None = None,
    legend: bool = True,
    xlabel: str | None = None,
    ylabel: str | None = None,
):
    """Contour lines of a 2-D objective with trajectories drawn on top.

    Args:
        objective: a 2-D [`Objective`][gdbook.objectives.Objective].
        runs: trajectories; each is drawn as a line with dots, its start hollow.
        ax: an axes to draw into; ``None`` for a new figure.
        window: ``((xmin, xmax), (ymin, ymax))``; defaults to the objective's.
        n: grid points per axis (keep it small: the SVG grows with it).
        levels: number of contour levels, an explicit list, or ``"log"`` for 20
            levels spaced evenly in ``log(f - min f)``, ``min f`` over the grid.
        arrows: draw each step as an arrow instead of a segment.
        mark: mark the objective's known minimizers (star) and critical points (cross).
        equal: equal scaling of both axes.
        lang: the language of the labels, ``"en"`` or ``"zh"``.
        title: an optional title.
        legend: a legend of the runs (when there are runs).
        xlabel, ylabel: axis labels; default "x" and "y".
    """
    lang = check_lang(lang)
    runs = list(runs)
    window = window or objective.window
    X, Y, Z = objective.grid(n, window)
    with style():
        fig, ax = _axes(ax)
        if isinstance(levels, str) and levels == "log":
            base = Z - Z.min()
            levels = np.unique(np.geomspace(max(base[base > 0].min(), 1e-3), base.max(), 20)) + Z.min()
        ax.contour(X, Y, Z, levels=levels, colors="#b0b0b0", linewidths=0.7)
        for run, c in zip(runs, _colors([r.label for r in runs])):
            p = run.path
            text = run.label + (f" ({label('diverged', lang)})" if run.diverged else "")
            if arrows:
                for a, b in zip(p[:-1], p[1:]):
                    ax.annotate("", xy=b, xytext=a, arrowprops=dict(arrowstyle="->", color=c, lw=1.2))
                ax.plot(p[:, 0], p[:, 1], "o", color=c, ms=3, label=text)
            else:
                ax.plot(p[:, 0], p[:, 1], "-o", color=c, ms=3, label=text)
            ax.plot(*p[0], "o", mfc="white", mec=c, ms=7, zorder=5)
        if mark:
            for m in objective.minimizers:
                ax.plot(*m, "*", color="#333333", ms=10, zorder=6)
            for m in objective.critical:
                ax.plot(*m, "x", color="#333333", ms=8, zorder=6)
        (x0, x1), (y0, y1) = window
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(xlabel or label("x", lang))
        ax.set_ylabel(ylabel or label("y", lang))
        if equal:
            ax.set_aspect("equal")
        if title:
            ax.set_title(title)
        if runs and legend:
            ax.legend(loc="best")
    return fig


def curves(
    series,
    *,
    ax=None,
    logy: bool = True,
    x: str = "step",
    xlabel: str | None = None,
    ylabel: str | None = None,
    lang: str = "en",
    title: str | None = None,
):
    """Loss (or any value) against steps or epochs, one line per run.

    ``series`` holds [`Trajectory`][gdbook.trajectory.Trajectory] objects (loss per step),
    [`History`][gdbook.train.History] objects (loss per epoch; use ``x="epoch"``), or
    ``(label, xs, ys)`` tuples. A diverged trajectory or history ends with a cross and
    says so in the legend. Non-finite values are left out; ``logy`` (the default) draws a
    log scale.
    """
    lang = check_lang(lang)
    with style():
        fig, ax = _axes(ax)
        series = list(series)
        names = [t[0] if isinstance(t, tuple) else t.label for t in series]
        for s, name, c in zip(series, names, _colors(names)):
            if isinstance(s, tuple):
                xs, ys, diverged = np.asarray(s[1]), np.asarray(s[2]), False
            elif isinstance(s, Trajectory):
                ys, diverged = s.losses, s.diverged
                xs = np.arange(len(ys))
            else:  # History
                xs, ys, diverged = np.asarray(s.epoch), np.asarray(s.loss), s.diverged
            ys = np.asarray(ys, dtype=float)
            keep = np.isfinite(ys)
            xs, ys = np.asarray(xs)[keep], ys[keep]
            text = name + (f" ({label('diverged', lang)})" if diverged else "")
            ax.plot(xs, ys, color=c, label=text)
            if diverged and len(xs):
                ax.plot(xs[-1], ys[-1], "x", color=c, ms=8)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel or label(x, lang))
        ax.set_ylabel(ylabel or label("loss", lang))
        if title:
            ax.set_title(title)
        if series:
            ax.legend(loc="best")
    return fig


def layers(
    stats: dict,
    *,
    ax=None,
    logy: bool = True,
    ylabel: str | None = None,
    lang: str = "en",
    title: str | None = None,
):
    """Per-layer values (a gradient norm, an activation variance), one line per setting.

    ``stats`` maps a legend label to a sequence indexed by layer (layer 1 first).
    """
    lang = check_lang(lang)
    with style():
        fig, ax = _axes(ax)
        for (name, values), c in zip(stats.items(), _colors(list(stats))):
            v = np.asarray(values, dtype=float)
            ax.plot(np.arange(1, len(v) + 1), v, "-o", ms=3, label=name, color=c)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(label("layer", lang))
        if ylabel:
            ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title)
        ax.legend(loc="best")
    return fig


def surface(objective: Objective, *, ax=None, window=None, n: int = 30, lang: str = "en", title: str | None = None,
            elev: float = 25, azim: float = -60):
    """A 3-D surface plot of a 2-D objective (keep ``n`` small: every facet is a path)."""
    lang = check_lang(lang)
    X, Y, Z = objective.grid(n, window or objective.window)
    with style():
        if ax is None:
            fig = plt.figure(figsize=(5.5, 4.2))
            ax = fig.add_subplot(projection="3d")
        fig = ax.figure
        ax.plot_surface(X, Y, Z, cmap="viridis", linewidth=0, antialiased=False, rcount=n, ccount=n)
        ax.view_init(elev=elev, azim=azim)
        ax.set_xlabel(label("x", lang))
        ax.set_ylabel(label("y", lang))
        if title:
            ax.set_title(title)
    return fig
