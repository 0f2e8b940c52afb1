r"""Objective functions: one definition that both optimizes and draws.

An [`Objective`][gdbook.objectives.Objective] wraps an array-generic formula ``f(x, y, ...)``. The same
formula evaluates a torch tensor inside an optimizer loop and a NumPy grid for a
contour plot. Each objective knows its gradient (analytic where it is short,
autograd otherwise) and its Hessian, and, where they are known or set, its minimizers
and other critical points, a default start and a plot window (``risk()`` and
``empirical_risk()`` have no start, ``logistic_regression`` no window).

Points are arrays whose last axis holds the coordinates, shape ``(..., d)``;
one-dimensional objectives take plain arrays of ``x`` values.

Examples:
    >>> f = bowl(10)
    >>> float(f.value([1.0, 2.0]))
    14.0
    >>> f.grad([1.0, 2.0]).tolist()
    [20.0, 4.0]
    >>> f.hessian([0.0, 0.0]).tolist()
    [[20.0, 0.0], [0.0, 2.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ._array import as_tensor, stack, xp
from ._checks import check_in_range, check_int

__all__ = [
    "Objective",
    "square",
    "cubic",
    "tanh",
    "risk",
    "empirical_risk",
    "bowl",
    "quartic",
    "cubic2d",
    "saddle",
    "rosenbrock",
    "himmelblau",
    "beale",
    "rastrigin",
    "neuron_mse",
    "neuron_bce",
    "logistic_regression",
]

Window = tuple  # (xmin, xmax) in 1-D, ((xmin, xmax), (ymin, ymax)) in 2-D


@dataclass(frozen=True)
class Objective:
    """A differentiable function with what a book needs to know about it.

    Args:
        name: short plain-text name, e.g. ``"10x² + y²"``.
        latex: the formula in LaTeX, e.g. ``r"10x^2 + y^2"``.
        fn: array-generic formula taking one array per coordinate.
        dim: number of coordinates ``d``.
        grad_fn: partial derivatives as a tuple of ``d`` arrays; autograd if ``None``.
        hess_fn: second derivatives as ``d`` rows of ``d`` arrays; autograd if ``None``.
        minimizers: known minimizers (points), empty if unknown or none.
        critical: other known critical points (saddles, flat inflections).
        start: a default starting point.
        window: default plot window.
        f_min: the minimum value, if there is one.
        meta: the parameters the objective was made with (``{"c": 10.0}`` for
            ``bowl(10)``); not compared by ``==``.
    """

    name: str
    latex: str
    fn: Callable
    dim: int
    grad_fn: Callable | None = None
    hess_fn: Callable | None = None
    minimizers: tuple = ()
    critical: tuple = ()
    start: tuple | float | None = None
    window: Window = ()
    f_min: float | None = None
    meta: dict = field(default_factory=dict, compare=False)

    # -- evaluation --------------------------------------------------------
    def _coords(self, x):
        if isinstance(x, (list, tuple, int, float)) or (isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "biu"):
            x = np.asarray(x, dtype=np.float64)
        if self.dim == 1:
            return (x,), x
        if x.shape[-1] != self.dim:
            raise ValueError(f"x must have last axis of size {self.dim} for {self.name}, got shape {tuple(x.shape)}")
        return tuple(x[..., i] for i in range(self.dim)), x

    def value(self, x):
        """``f(x)`` for a point or a batch of points (last axis: coordinates)."""
        coords, _ = self._coords(x)
        return self.fn(*coords)

    __call__ = value

    def grad(self, x):
        """The gradient, same shape and array type as ``x``."""
        coords, x = self._coords(x)
        if self.grad_fn is None:
            return self._autograd(x, order=1)
        parts = self.grad_fn(*coords)
        if self.dim == 1:
            return parts[0] if isinstance(parts, tuple) else parts
        return stack(parts, like=x)

    def hessian(self, x):
        """The Hessian at one point, a ``(d, d)`` array (``(1, 1)`` in 1-D)."""
        coords, x = self._coords(x)
        if self.hess_fn is None:
            return self._autograd(x, order=2)
        rows = self.hess_fn(*coords)
        m = xp(x)
        if m is torch:
            return torch.stack([torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(()) for v in r]) for r in rows])
        return np.array([[np.asarray(v, dtype=float).item() for v in r] for r in rows])

    def _autograd(self, x, order):
        is_tensor = isinstance(x, torch.Tensor)
        t = as_tensor(x)
        if order == 1:
            t.requires_grad_(True)
            self.value(t).sum().backward()
            out = t.grad
        else:
            flat = t.reshape(-1)
            out = torch.autograd.functional.hessian(lambda v: self.value(v.reshape(t.shape)).sum(), flat)
        out = out.detach()
        return out.to(x.dtype) if is_tensor else out.numpy()

    # -- drawing -----------------------------------------------------------
    def grid(self, n: int = 60, window: Window | None = None):
        """Coordinates and values on an ``n``-by-``n`` grid over ``window`` (``n`` points in 1-D).

        ``window`` defaults to the objective's; ``2 <= n <= 2000``. Returns ``(X, Y, Z)``
        NumPy arrays of shape ``(n, n)`` for 2-D objectives and ``(X, Z)`` of shape ``(n,)`` in 1-D.
        """
        check_int("n", n, low=2, high=2000)
        window = window or self.window
        if self.dim == 1:
            xs = np.linspace(*window, n)
            return xs, np.asarray(self.value(xs), dtype=float)
        (x0, x1), (y0, y1) = window
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, np.asarray(self.fn(X, Y), dtype=float)

    def __repr__(self) -> str:
        return f"Objective({self.name!r}, dim={self.dim})"


# ---------------------------------------------------------------------------
# One-dimensional objectives
# ---------------------------------------------------------------------------


def square() -> Objective:
    r"""\(f(x) = x^2\), minimum 0 at 0."""
    return Objective(
        "x²", r"x^2", lambda x: x**2, 1,
        grad_fn=lambda x: 2 * x, hess_fn=lambda x: ((2.0,),),
        minimizers=((0.0,),), start=10.0, window=(-10.0, 10.0), f_min=0.0,
    )


def cubic() -> Objective:
    r"""\(f(x) = x^3\): zero gradient at 0, which is no minimum (a flat inflection)."""
    return Objective(
        "x³", r"x^3", lambda x: x**3, 1,
        grad_fn=lambda x: 3 * x**2, hess_fn=lambda x: ((6 * x,),),
        critical=((0.0,),), start=1.0, window=(-2.0, 2.0),
    )


def tanh() -> Objective:
    r"""\(f(x) = \tanh x\): bounded below by -1 but with no minimizer; flat for large ``|x|``."""

    def fn(x):
        return xp(x).tanh(x)

    def grad(x):
        return 1 - xp(x).tanh(x) ** 2

    def hess(x):
        t = xp(x).tanh(x)
        return ((-2 * t * (1 - t**2),),)

    return Objective("tanh x", r"\tanh x", fn, 1, grad_fn=grad, hess_fn=hess, start=4.0, window=(-5.0, 5.0))


def risk() -> Objective:
    r"""The risk of the book's first chapter, \(f(x) = x\cos(\pi x)\)."""

    def fn(x):
        return x * xp(x).cos(math.pi * x)

    def grad(x):
        m = xp(x)
        return m.cos(math.pi * x) - math.pi * x * m.sin(math.pi * x)

    return Objective("x·cos(πx)", r"x\cos(\pi x)", fn, 1, grad_fn=grad, window=(-1.0, 2.0))


def empirical_risk() -> Objective:
    r"""The empirical risk \(g(x) = x\cos(\pi x) + 0.2\cos(5\pi x)\): the risk plus a wiggle."""

    def fn(x):
        m = xp(x)
        return x * m.cos(math.pi * x) + 0.2 * m.cos(5 * math.pi * x)

    def grad(x):
        m = xp(x)
        return m.cos(math.pi * x) - math.pi * x * m.sin(math.pi * x) - math.pi * m.sin(5 * math.pi * x)

    return Objective("x·cos(πx) + 0.2·cos(5πx)", r"x\cos(\pi x) + 0.2\cos(5\pi x)", fn, 1, grad_fn=grad, window=(0.5, 1.5))


# ---------------------------------------------------------------------------
# Two-dimensional objectives
# ---------------------------------------------------------------------------


def bowl(c: float = 1.0) -> Objective:
    r"""The elongated bowl \(f(x, y) = c\,x^2 + y^2\), Hessian \(\mathrm{diag}(2c, 2)\).

    Its condition number is \(\kappa = \max(c, 1/c)\).

    >>> bowl(20).hessian([0.0, 0.0]).tolist()
    [[40.0, 0.0], [0.0, 2.0]]
    """
    c = check_in_range("c", c, 0.0, low_open=True)
    name = "x² + y²" if c == 1 else f"{c:g}x² + y²"
    latex = r"x^2 + y^2" if c == 1 else rf"{c:g}x^2 + y^2"
    return Objective(
        name, latex, lambda x, y: c * x**2 + y**2, 2,
        grad_fn=lambda x, y: (2 * c * x, 2 * y),
        hess_fn=lambda x, y: ((2.0 * c, 0.0), (0.0, 2.0)),
        minimizers=((0.0, 0.0),), start=(-70.0, 70.0),
        window=((-100.0, 100.0), (-100.0, 100.0)), f_min=0.0, meta={"c": c},
    )


def quartic() -> Objective:
    r"""\(f(x, y) = 10x^4 + y^4\): minimum at the origin, where the Hessian vanishes."""
    return Objective(
        "10x⁴ + y⁴", r"10x^4 + y^4", lambda x, y: 10 * x**4 + y**4, 2,
        grad_fn=lambda x, y: (40 * x**3, 4 * y**3),
        hess_fn=lambda x, y: ((120 * x**2, 0.0), (0.0, 12 * y**2)),
        minimizers=((0.0, 0.0),), start=(20.0, 30.0),
        window=((-35.0, 35.0), (-35.0, 35.0)), f_min=0.0,
    )


def cubic2d() -> Objective:
    r"""\(f(x, y) = 5x^3 + y^3\): unbounded below; its only critical point, the origin, is no minimum."""
    return Objective(
        "5x³ + y³", r"5x^3 + y^3", lambda x, y: 5 * x**3 + y**3, 2,
        grad_fn=lambda x, y: (15 * x**2, 3 * y**2),
        hess_fn=lambda x, y: ((30 * x, 0.0), (0.0, 6 * y)),
        critical=((0.0, 0.0),), start=(40.0, 50.0),
        window=((-60.0, 60.0), (-60.0, 60.0)),
    )


def saddle() -> Objective:
    r"""\(f(x, y) = x^2 - y^2\): a saddle point at the origin."""
    return Objective(
        "x² − y²", r"x^2 - y^2", lambda x, y: x**2 - y**2, 2,
        grad_fn=lambda x, y: (2 * x, -2 * y),
        hess_fn=lambda x, y: ((2.0, 0.0), (0.0, -2.0)),
        critical=((0.0, 0.0),), start=(1.0, 1e-3),
        window=((-1.5, 1.5), (-1.5, 1.5)),
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    r"""Rosenbrock's valley \((a - x)^2 + b\,(y - x^2)^2\), minimum 0 at \((a, a^2)\)."""
    a = check_in_range("a", a)
    b = check_in_range("b", b, 0.0, low_open=True)
    return Objective(
        "Rosenbrock", rf"({a:g} - x)^2 + {b:g}\,(y - x^2)^2",
        lambda x, y: (a - x) ** 2 + b * (y - x**2) ** 2, 2,
        grad_fn=lambda x, y: (-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)),
        hess_fn=lambda x, y: ((2 - 4 * b * y + 12 * b * x**2, -4 * b * x), (-4 * b * x, 2.0 * b)),
        minimizers=((a, a * a),), start=(-1.5, 2.0),
        window=((-2.0, 2.0), (-1.0, 3.0)), f_min=0.0,
    )


_HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))


def himmelblau() -> Objective:
    r"""Himmelblau's function \((x^2 + y - 11)^2 + (x + y^2 - 7)^2\): four minima of value 0."""
    return Objective(
        "Himmelblau", r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, 2,
        grad_fn=lambda x, y: (
            4 * x * (x**2 + y - 11) + 2 * (x + y**2 - 7),
            2 * (x**2 + y - 11) + 4 * y * (x + y**2 - 7),
        ),
        minimizers=_HIMMELBLAU_MINIMA, start=(0.0, 0.0),
        window=((-5.0, 5.0), (-5.0, 5.0)), f_min=0.0,
    )


def beale() -> Objective:
    r"""Beale's function, minimum 0 at \((3, 0.5)\); gradient and Hessian by autograd."""
    return Objective(
        "Beale", r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
        lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2, 2,
        minimizers=((3.0, 0.5),), start=(1.0, 1.5),
        window=((-4.5, 4.5), (-4.5, 4.5)), f_min=0.0,
    )


def rastrigin(A: float = 10.0) -> Objective:
    r"""Rastrigin's function \(2A + \sum_i (x_i^2 - A\cos 2\pi x_i)\): one global minimum and, for \(A > 0\), many local ones."""
    A = check_in_range("A", A, 0.0)

    def fn(x, y):
        return 2 * A + x**2 - A * xp(x).cos(2 * math.pi * x) + y**2 - A * xp(y).cos(2 * math.pi * y)

    def grad(x, y):
        return (2 * x + 2 * math.pi * A * xp(x).sin(2 * math.pi * x), 2 * y + 2 * math.pi * A * xp(y).sin(2 * math.pi * y))

    return Objective(
        "Rastrigin", rf"{2 * A:g} + \sum_i \left(x_i^2 - {A:g}\cos 2\pi x_i\right)", fn, 2, grad_fn=grad,
        minimizers=((0.0, 0.0),), start=(3.2, 2.3),
        window=((-5.12, 5.12), (-5.12, 5.12)), f_min=0.0,
    )


# ---------------------------------------------------------------------------
# One sigmoid neuron: the loss surface over (w, b)
# ---------------------------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + xp(z).exp(-z))


def neuron_mse(x: float = 1.0, y: float = 0.0) -> Objective:
    r"""Squared error of one sigmoid neuron, \(L(w, b) = (\sigma(wx + b) - y)^2\).

    Its gradient carries \(\sigma'(z)\), which vanishes when the neuron saturates:
    \(\partial L / \partial b = 2(\hat y - y)\,\hat y(1 - \hat y)\).
    """
    x = check_in_range("x", x)
    y = check_in_range("y", y, 0.0, 1.0)

    def fn(w, b):
        return (_sigmoid(w * x + b) - y) ** 2

    def grad(w, b):
        s = _sigmoid(w * x + b)
        dz = 2 * (s - y) * s * (1 - s)
        return (dz * x, dz)

    return Objective(
        "MSE", r"(\sigma(wx + b) - y)^2", fn, 2, grad_fn=grad, start=(3.0, 2.0),
        window=((-10.0, 10.0), (-10.0, 10.0)), meta={"x": x, "y": y},
    )


def neuron_bce(x: float = 1.0, y: float = 0.0) -> Objective:
    r"""Binary cross-entropy of one sigmoid neuron, computed stably from the logit \(z = wx + b\).

    \(L = -y\log\sigma(z) - (1 - y)\log(1 - \sigma(z)) = \operatorname{softplus}(z) - yz\),
    and \(\partial L / \partial z = \sigma(z) - y\): the \(\sigma'\) factor cancels.
    """
    x = check_in_range("x", x)
    y = check_in_range("y", y, 0.0, 1.0)

    def fn(w, b):
        z = w * x + b
        m = xp(z)
        softplus = m.log1p(m.exp(-abs(z))) + (z + abs(z)) / 2
        return softplus - y * z

    def grad(w, b):
        dz = _sigmoid(w * x + b) - y
        return (dz * x, dz)

    return Objective(
        "BCE", r"-y\log\sigma(wx + b) - (1 - y)\log(1 - \sigma(wx + b))", fn, 2, grad_fn=grad,
        start=(3.0, 2.0), window=((-10.0, 10.0), (-10.0, 10.0)), meta={"x": x, "y": y},
    )


# ---------------------------------------------------------------------------
# A convex model with data: logistic regression
# ---------------------------------------------------------------------------


def logistic_regression(X, y) -> Objective:
    r"""Mean logistic loss of a linear classifier over data ``(X, y)``, parameters \((\mathbf w, b)\).

    With \(z_i = \mathbf w^\top \mathbf x_i + b\) and labels \(y_i \in \{0, 1\}\),

    \[
    L(\mathbf w, b) = \frac1n \sum_i \bigl(\operatorname{softplus}(z_i) - y_i z_i\bigr),\qquad
    \nabla L = \frac1n A^\top(\sigma(\mathbf z) - \mathbf y),\qquad
    \nabla^2 L = \frac1n A^\top S A,
    \]

    where \(A = [X, \mathbf 1]\) and \(S = \mathrm{diag}(\sigma(z_i)(1 - \sigma(z_i)))\). The loss is
    convex; it has a finite minimizer when the two classes overlap (no hyperplane separates
    them), and none when they are linearly separable. The coordinates are
    \(w_1, \dots, w_d, b\) (``dim = d + 1``).

    Examples:
        >>> import numpy as np
        >>> f = logistic_regression(np.array([[0.0], [1.0], [2.0]]), np.array([0.0, 1.0, 0.0]))
        >>> round(float(f.value([0.0, 0.0])), 6)  # log 2 at the origin
        0.693147
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2 or y.shape != (X.shape[0],):
        raise ValueError(f"X must be (n, d) and y (n,), got shapes {X.shape} and {y.shape}")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("y must hold labels 0 and 1")
    d = X.shape[1]
    A = np.hstack([X, np.ones((X.shape[0], 1))])

    def logits(w):
        m = xp(*w)
        cols = m.asarray(A) if m is np else torch.as_tensor(A)
        return sum(wi[..., None] * cols[:, i] if hasattr(wi, "shape") else wi * cols[:, i] for i, wi in enumerate(w))

    def fn(*w):
        z = logits(w)
        m = xp(z)
        yy = y if m is np else torch.as_tensor(y)
        return (m.log1p(m.exp(-abs(z))) + (z + abs(z)) / 2 - yy * z).mean(-1)

    def grad(*w):
        z = logits(w)
        m = xp(z)
        r = 1 / (1 + m.exp(-z)) - (y if m is np else torch.as_tensor(y))
        cols = A if m is np else torch.as_tensor(A)
        return tuple((r * cols[:, i]).mean(-1) for i in range(d + 1))

    def hess(*w):
        z = logits(w)
        m = xp(z)
        p = 1 / (1 + m.exp(-z))
        s = p * (1 - p)
        cols = A if m is np else torch.as_tensor(A)
        return tuple(tuple((s * cols[:, i] * cols[:, j]).mean(-1) for j in range(d + 1)) for i in range(d + 1))

    return Objective(
        "logistic loss", r"\frac1n\sum_i \operatorname{softplus}(z_i) - y_i z_i", fn, d + 1,
        grad_fn=grad, hess_fn=hess, start=tuple([0.0] * (d + 1)), meta={"n": X.shape[0]},
    )
