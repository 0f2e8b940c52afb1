r"""Numerical gradients: finite differences, a gradient check against autograd, and the step-size trade-off.

For a scalar function \(f:\mathbb R^d \to \mathbb R\) and a step \(h > 0\), with
\(\mathbf e_i\) the \(i\)-th unit vector,

\[
\text{forward: } \frac{f(\mathbf x + h\mathbf e_i) - f(\mathbf x)}{h},
\qquad
\text{central: } \frac{f(\mathbf x + h\mathbf e_i) - f(\mathbf x - h\mathbf e_i)}{2h}.
\]

Taylor's theorem gives their **truncation errors**: the forward difference is off by
\(\tfrac h2 f''(\xi)\), which is \(O(h)\); in the central difference the even terms
cancel and the error is \(\tfrac{h^2}{6} f'''(\xi)\), which is \(O(h^2)\). Each
evaluation of \(f\) in floating point also carries a **round-off error** of about
\(\varepsilon\,|f|\) (\(\varepsilon \approx 2.2\times10^{-16}\) in float64); dividing by
\(h\) turns it into an error of order \(\varepsilon/h\). Shrinking \(h\) therefore
helps only down to a best step, \(h^\ast \sim \sqrt\varepsilon\) (forward) or
\(h^\ast \sim \varepsilon^{1/3}\) (central): see [`best_h_forward`][gdbook.numgrad.best_h_forward]
and [`best_h_central`][gdbook.numgrad.best_h_central].

Every function works on floats, NumPy arrays and torch tensors, always in float64:
``f`` receives an argument of ``x``'s shape, a float64 tensor for a tensor ``x`` and a
float64 NumPy array otherwise (0-d for a float).

Examples:
    >>> import numpy as np
    >>> f = lambda x: x[0] ** 2 + 3 * x[0] * x[1]
    >>> central_diff(f, np.array([1.0, 2.0])).round(8).tolist()
    [8.0, 3.0]
    >>> round(forward_diff(np.exp, 0.0, h=1e-3), 6)
    1.0005
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from ._checks import check_in_range

__all__ = [
    "forward_diff",
    "central_diff",
    "best_h_forward",
    "best_h_central",
    "GradCheck",
    "check_grad",
    "StepSizeStudy",
    "step_size_study",
]

EPS = float(np.finfo(np.float64).eps)


def _differences(f: Callable, x, h: float, central: bool):
    """Shared loop of the two difference quotients (one coordinate at a time)."""
    check_in_range("h", h, 0.0, low_open=True)
    if isinstance(x, torch.Tensor):
        base = x.detach().to(torch.float64).clone()
        out = torch.empty_like(base)
    else:
        scalar = isinstance(x, numbers.Real)
        base = np.array(x, dtype=np.float64)
        out = np.empty_like(base)
    flat, grad = base.reshape(-1), out.reshape(-1)
    f0 = None if central else float(f(base))
    for i in range(flat.shape[0]):
        step = flat * 0
        step[i] = h
        plus = float(f((flat + step).reshape(base.shape)))
        if central:
            minus = float(f((flat - step).reshape(base.shape)))
            grad[i] = (plus - minus) / (2 * h)
        else:
            grad[i] = (plus - f0) / h
    if not isinstance(x, torch.Tensor) and scalar:
        return float(out)
    return out


def forward_diff(f: Callable, x, h: float = 1e-7):
    r"""The gradient of ``f`` at ``x`` by forward differences.

    \[ \frac{\partial f}{\partial x_i}(\mathbf x) \approx \frac{f(\mathbf x + h\mathbf e_i) - f(\mathbf x)}{h},
       \qquad \text{error } \tfrac h2\,\partial_i^2 f + O(h^2) + O(\varepsilon/h). \]

    Costs \(d + 1\) evaluations of ``f``.

    Args:
        f: scalar function of an array shaped like ``x``.
        x: a float, a NumPy array (used in float64) or a torch tensor.
        h: step, ``h > 0``.

    Returns:
        A float for a float ``x``, else a float64 array (or tensor) shaped like ``x``.

    Examples:
        >>> round(forward_diff(lambda x: x**2, 3.0, h=1e-2), 10)   # 2x + h exactly
        6.01
    """
    return _differences(f, x, h, central=False)


def central_diff(f: Callable, x, h: float = 1e-5):
    r"""The gradient of ``f`` at ``x`` by central differences.

    \[ \frac{\partial f}{\partial x_i}(\mathbf x) \approx \frac{f(\mathbf x + h\mathbf e_i) - f(\mathbf x - h\mathbf e_i)}{2h},
       \qquad \text{error } \tfrac{h^2}{6}\,\partial_i^3 f + O(h^4) + O(\varepsilon/h). \]

    Costs \(2d\) evaluations of ``f``.

    Args:
        f: scalar function of an array shaped like ``x``.
        x: a float, a NumPy array (used in float64) or a torch tensor.
        h: step, ``h > 0``.

    Returns:
        A float for a float ``x``, else a float64 array (or tensor) shaped like ``x``.

    Examples:
        >>> round(central_diff(lambda x: x**2, 3.0, h=1e-2), 10)   # exact for a quadratic
        6.0
        >>> round(central_diff(lambda x: x**3, 1.0, h=1e-2), 10)   # 3x² + h²
        3.0001
    """
    return _differences(f, x, h, central=True)


def best_h_forward(eps: float = EPS, f_scale: float = 1.0, d2: float = 1.0) -> float:
    r"""The step that minimizes the error bound of the forward difference.

    With \(|f''| \le M_2\) near \(x\) and each evaluation of \(f\) off by at most
    \(\varepsilon |f|\), the error is at most

    \[ E(h) = \frac{M_2}{2}\,h + \frac{2\varepsilon|f|}{h}, \]

    and \(E'(h) = 0\) gives

    \[ h^\ast = 2\sqrt{\frac{\varepsilon |f|}{M_2}}, \qquad E(h^\ast) = 2\sqrt{\varepsilon|f| M_2}. \]

    Args:
        eps: relative error of one evaluation (machine epsilon by default).
        f_scale: \(|f|\) near the point.
        d2: \(M_2\), the size of \(f''\) near the point.

    Examples:
        >>> f"{best_h_forward():.2e}"     # 2√ε in float64
        '2.98e-08'
    """
    check_in_range("eps", eps, 0.0, low_open=True)
    check_in_range("f_scale", f_scale, 0.0, low_open=True)
    check_in_range("d2", d2, 0.0, low_open=True)
    return 2.0 * math.sqrt(eps * f_scale / d2)


def best_h_central(eps: float = EPS, f_scale: float = 1.0, d3: float = 1.0) -> float:
    r"""The step that minimizes the error bound of the central difference.

    With \(|f'''| \le M_3\) near \(x\) and each evaluation of \(f\) off by at most
    \(\varepsilon |f|\), the error is at most

    \[ E(h) = \frac{M_3}{6}\,h^2 + \frac{\varepsilon|f|}{h}, \]

    and \(E'(h) = 0\) gives

    \[ h^\ast = \left(\frac{3\varepsilon |f|}{M_3}\right)^{1/3}, \qquad
       E(h^\ast) = \frac{M_3}{2}\left(\frac{3\varepsilon |f|}{M_3}\right)^{2/3} \sim \varepsilon^{2/3}. \]

    Args:
        eps: relative error of one evaluation (machine epsilon by default).
        f_scale: \(|f|\) near the point.
        d3: \(M_3\), the size of \(f'''\) near the point.

    Examples:
        >>> f"{best_h_central():.2e}"     # (3ε)^(1/3) in float64
        '8.73e-06'
    """
    check_in_range("eps", eps, 0.0, low_open=True)
    check_in_range("f_scale", f_scale, 0.0, low_open=True)
    check_in_range("d3", d3, 0.0, low_open=True)
    return (3.0 * eps * f_scale / d3) ** (1.0 / 3.0)


@dataclass(frozen=True)
class GradCheck:
    r"""Autograd against central differences.

    Attributes:
        autograd: the gradient from ``backward()``, flattened (all inputs concatenated).
        numerical: the central-difference gradient, same layout.
        max_abs_error: \(\max_i |a_i - n_i|\).
        max_rel_error: \(\max_i |a_i - n_i| \,/\, \max(\max_i |a_i|, \max_i |n_i|)\): the
            largest error relative to the size of the gradient (0 when both are 0).
        h: the difference step used.
    """

    autograd: np.ndarray
    numerical: np.ndarray
    max_abs_error: float
    max_rel_error: float
    h: float

    def ok(self, rtol: float = 1e-6) -> bool:
        """Whether ``max_rel_error <= rtol``."""
        return self.max_rel_error <= rtol


def check_grad(f: Callable, x, h: float = 1e-6) -> GradCheck:
    r"""Compare torch autograd with central differences for a scalar function.

    Args:
        f: builds a scalar tensor from its input(s) with torch operations. It is
            called as ``f(x)`` for one tensor and ``f(*x)`` for a sequence of tensors.
        x: a tensor, array or float, or a sequence of them (for example a model's
            parameters). They are copied to float64; the originals are not touched.
        h: central-difference step.

    In float64 a correct gradient typically agrees to a relative error near
    \(10^{-9}\) or better; a bug shows up as an error of order 1.

    Examples:
        >>> import torch
        >>> r = check_grad(lambda w: (w.sin() * w).sum(), torch.tensor([0.5, -1.0, 2.0]))
        >>> r.ok(1e-8), r.autograd.shape
        (True, (3,))

        A model's loss as a function of its parameters (``torch.func.functional_call``
        evaluates the module with the parameters passed in):

        >>> net = torch.nn.Linear(3, 1).double()
        >>> X, y = torch.randn(8, 3, dtype=torch.float64), torch.randn(8, 1, dtype=torch.float64)
        >>> names = [n for n, _ in net.named_parameters()]
        >>> loss = lambda *ps: ((torch.func.functional_call(net, dict(zip(names, ps)), (X,)) - y) ** 2).mean()
        >>> check_grad(loss, list(net.parameters())).ok(1e-8)
        True
    """
    check_in_range("h", h, 0.0, low_open=True)
    single = not isinstance(x, (list, tuple))
    inputs = [x] if single else list(x)
    tensors = [
        (t.detach().to(torch.float64).clone() if isinstance(t, torch.Tensor)
         else torch.as_tensor(np.asarray(t, dtype=np.float64))).requires_grad_(True)
        for t in inputs
    ]

    def call(ts):
        return f(ts[0]) if single else f(*ts)

    out = call(tensors)
    if not isinstance(out, torch.Tensor) or out.numel() != 1:
        raise ValueError("f must return a scalar tensor (one element)")
    grads = torch.autograd.grad(out, tensors, allow_unused=True)
    auto = np.concatenate([
        (g if g is not None else torch.zeros_like(t)).detach().numpy().reshape(-1)
        for g, t in zip(grads, tensors)
    ])

    sizes = [t.numel() for t in tensors]
    flat = torch.cat([t.detach().reshape(-1) for t in tensors])

    def of_flat(v: torch.Tensor) -> float:
        parts = torch.split(v, sizes)
        with torch.no_grad():
            return float(call([p.reshape(t.shape) for p, t in zip(parts, tensors)]))

    num = central_diff(of_flat, flat, h).numpy()
    abs_err = float(np.max(np.abs(auto - num))) if auto.size else 0.0
    scale = float(max(np.max(np.abs(auto)), np.max(np.abs(num)))) if auto.size else 0.0
    rel_err = abs_err / scale if scale > 0 else abs_err
    return GradCheck(autograd=auto, numerical=num, max_abs_error=abs_err, max_rel_error=rel_err, h=float(h))


@dataclass(frozen=True)
class StepSizeStudy:
    r"""Errors of the two difference quotients for each step ``h``.

    Attributes:
        hs: the steps, as given.
        forward_errors: \(\max_i\) |forward difference − exact| for each ``h``.
        central_errors: the same for the central difference.
    """

    hs: np.ndarray
    forward_errors: np.ndarray
    central_errors: np.ndarray

    def slopes(self, h_min: float, h_max: float) -> tuple[float, float]:
        r"""Least-squares slopes of \(\log_{10}\) error against \(\log_{10} h\), forward and
        central, over the steps with ``h_min <= h <= h_max`` (zero errors are skipped).

        In the truncation regime they are close to 1 and 2; where round-off dominates, close to −1.
        """
        return (_loglog_slope(self.hs, self.forward_errors, h_min, h_max),
                _loglog_slope(self.hs, self.central_errors, h_min, h_max))

    def best(self) -> tuple[float, float]:
        """The steps with the smallest observed error, forward and central."""
        return float(self.hs[np.argmin(self.forward_errors)]), float(self.hs[np.argmin(self.central_errors)])


def _loglog_slope(hs, errs, h_min, h_max) -> float:
    keep = (hs >= h_min) & (hs <= h_max) & (errs > 0)
    if keep.sum() < 2:
        raise ValueError(f"need at least two steps with nonzero error in [{h_min}, {h_max}], got {int(keep.sum())}")
    return float(np.polyfit(np.log10(hs[keep]), np.log10(errs[keep]), 1)[0])


def step_size_study(f: Callable, df: Callable, x, hs: Sequence[float]) -> StepSizeStudy:
    r"""Error of forward and central differences against the exact derivative, for each step.

    Args:
        f: scalar function (of a float or an array, as for [`central_diff`][gdbook.numgrad.central_diff]).
        df: its exact derivative (gradient), same kind as ``x``.
        x: the point.
        hs: the steps to try, each ``> 0``; typically ``np.logspace(-14, -1, 27)``.

    The error for one ``h`` is the largest absolute error over the coordinates.
    On a log–log plot the forward error falls with slope 1 and the central error
    with slope 2 while truncation dominates, and both rise with slope −1 once
    round-off \(\sim \varepsilon/h\) takes over.

    Examples:
        >>> import numpy as np
        >>> s = step_size_study(np.sin, np.cos, 1.0, np.logspace(-4, -1, 7))
        >>> [round(v, 1) for v in s.slopes(1e-4, 1e-1)]
        [1.0, 2.0]
    """
    hs = np.asarray(hs, dtype=np.float64).reshape(-1)
    if hs.size == 0 or not np.all(hs > 0):
        raise ValueError(f"hs must be a non-empty sequence of steps > 0, got {hs.tolist()}")
    exact = np.asarray(df(x), dtype=np.float64)

    def err(g) -> float:
        return float(np.max(np.abs(np.asarray(g, dtype=np.float64) - exact)))

    fwd = np.array([err(forward_diff(f, x, h)) for h in hs])
    cen = np.array([err(central_diff(f, x, h)) for h in hs])
    return StepSizeStudy(hs=hs, forward_errors=fwd, central_errors=cen)
