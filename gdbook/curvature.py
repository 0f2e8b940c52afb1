r"""Curvature without the matrix: Hessian-vector products, Gauss–Newton products, conjugate gradient.

A network with \(d\) parameters has a \(d \times d\) Hessian, far too large to form. What
second-order methods for deep learning use instead are *products* of a curvature matrix with a
vector, each about as cheap as a gradient:

- [`hvp`][gdbook.curvature.hvp]: \(\mathbf H\mathbf v\) by differentiating
  \(\nabla L(\mathbf w)^\top\mathbf v\) once more ("double backprop", Pearlmutter, 1994);
- [`gnvp`][gdbook.curvature.gnvp]: for a least-squares loss
  \(L = \tfrac12\|\mathbf r(\mathbf w)\|^2\), the Gauss–Newton product
  \(\mathbf J^\top(\mathbf J\mathbf v)\): one forward-mode product \(\mathbf J\mathbf v\) (a JVP) and one
  reverse-mode product \(\mathbf J^\top\mathbf u\) (a VJP);
- [`conjugate_gradient`][gdbook.curvature.conjugate_gradient]: solves
  \(\mathbf A\mathbf p = \mathbf b\) for a symmetric positive definite \(\mathbf A\) that it only
  multiplies by vectors;
- [`gauss_newton`][gdbook.curvature.gauss_newton]: "Hessian-free" Gauss–Newton, each step a
  few conjugate-gradient iterations on \((\mathbf J^\top\mathbf J + \lambda\mathbf I)\mathbf p = -\nabla L\).

Examples:
    >>> import torch
    >>> loss = lambda w: (w**3).sum()
    >>> hvp(loss, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 1.0])).tolist()
    [6.0, 12.0]
    >>> A = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    >>> p, res = conjugate_gradient(lambda v: A @ v, torch.tensor([1.0, 2.0], dtype=torch.float64), steps=2)
    >>> torch.allclose(A @ p, torch.tensor([1.0, 2.0], dtype=torch.float64)), len(res)
    (True, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.autograd.forward_ad as fwad

from . import sharpness
from ._checks import check_in_range, check_int
from .cache import memoize

__all__ = ["hvp", "gnvp", "conjugate_gradient", "GaussNewtonRun", "gauss_newton", "descent_losses"]

Tensor = torch.Tensor


def hvp(loss: Callable[[Tensor], Tensor], w: Tensor, v: Tensor) -> Tensor:
    r"""The Hessian of ``loss`` at ``w`` times ``v``, by double backprop, without forming the Hessian.

    Computes \(\mathbf g = \nabla L(\mathbf w)\) with a graph, then the gradient of the scalar
    \(\mathbf g^\top\mathbf v\): \(\nabla(\mathbf g^\top\mathbf v) = \mathbf H\mathbf v\) because
    \(\mathbf v\) does not depend on \(\mathbf w\). Costs about two gradients.

    Examples:
        >>> import torch
        >>> hvp(lambda w: w[0] ** 2 * w[1], torch.tensor([1.0, 3.0]), torch.tensor([1.0, 0.0])).tolist()
        [6.0, 2.0]
    """
    w = w.detach().requires_grad_(True)
    return sharpness.hvp(loss(w), [w])(v)  # one implementation of the product, shared with sharpness


def gnvp(residuals: Callable[[Tensor], Tensor], w: Tensor, v: Tensor) -> Tensor:
    r"""The Gauss–Newton matrix \(\mathbf J^\top\mathbf J\) of ``residuals`` at ``w`` times ``v``.

    \(\mathbf J\) is the Jacobian of the residual vector \(\mathbf r(\mathbf w)\). The product is
    taken as \(\mathbf J^\top(\mathbf J\mathbf v)\): a forward-mode JVP (``torch.autograd.forward_ad``)
    then a reverse-mode VJP (``torch.autograd.grad``), never forming \(\mathbf J\).

    Examples:
        >>> import torch
        >>> r = lambda w: torch.stack([w[0] * w[1], w[1]])     # J = [[w1, w0], [0, 1]]
        >>> gnvp(r, torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0])).tolist()
        [4.0, 2.0]
    """
    with fwad.dual_level():
        jv = fwad.unpack_dual(residuals(fwad.make_dual(w.detach(), v))).tangent
    w = w.detach().requires_grad_(True)
    (jtjv,) = torch.autograd.grad(residuals(w), w, grad_outputs=jv)
    return jtjv


def conjugate_gradient(
    matvec: Callable[[Tensor], Tensor],
    b: Tensor,
    *,
    steps: int,
    tol: float = 0.0,
    callback: Callable[[Tensor], None] | None = None,
):
    r"""Solve \(\mathbf A\mathbf p = \mathbf b\) by conjugate gradient, from \(\mathbf p_0 = \mathbf 0\).

    \(\mathbf A\) (symmetric positive definite) is seen only through ``matvec``; each iteration
    calls it once. In exact arithmetic the iterate \(\mathbf p_k\) minimizes the
    \(\mathbf A\)-norm error over the first \(k\) Krylov directions, so that error never grows and
    the solve ends after at most \(d\) iterations.

    Args:
        matvec: \(\mathbf v \mapsto \mathbf A\mathbf v\).
        b: the right-hand side.
        steps: at most this many iterations (matrix-vector products).
        tol: stop once \(\|\mathbf b - \mathbf A\mathbf p_k\| \le\) ``tol`` \(\cdot \|\mathbf b\|\).
        callback: if given, called with every iterate \(\mathbf p_0 = \mathbf 0, \mathbf p_1, \dots\)
            (to follow the error without rerunning the solve).

    Returns:
        ``(p, residual_norms)``: the last iterate and \(\|\mathbf b - \mathbf A\mathbf p_k\|\) for
        \(k = 0, 1, \dots\) (one more entry than iterations taken).

    Examples:
        >>> import torch
        >>> p, res = conjugate_gradient(lambda v: 2 * v, torch.ones(3), steps=5)
        >>> p.tolist(), len(res)
        ([0.5, 0.5, 0.5], 2)
    """
    check_int("steps", steps, low=0)
    check_in_range("tol", tol, 0.0)
    p = torch.zeros_like(b)
    r = b.clone()
    d = r.clone()
    rr = r @ r
    norms = [float(rr.sqrt())]
    bnorm = norms[0]
    if callback is not None:
        callback(p)
    for _ in range(steps):
        if norms[-1] <= tol * bnorm or rr == 0:
            break
        Ad = matvec(d)
        alpha = rr / (d @ Ad)
        p = p + alpha * d
        if callback is not None:
            callback(p)
        r = r - alpha * Ad
        rr_new = r @ r
        norms.append(float(rr_new.sqrt()))
        d = r + (rr_new / rr) * d
        rr = rr_new
    return p, np.array(norms)


@dataclass(frozen=True)
class GaussNewtonRun:
    """The record of a [`gauss_newton`][gdbook.curvature.gauss_newton] run.

    Attributes:
        w: the final parameters.
        losses: ½‖r‖² at the start and after each step.
        products: Gauss–Newton products (CG iterations) used by each step.
    """

    w: Tensor
    losses: np.ndarray
    products: np.ndarray


@memoize
def gauss_newton(
    residuals: Callable[[Tensor], Tensor],
    w: Tensor,
    *,
    steps: int,
    cg_steps: int = 10,
    damping: float = 1e-3,
) -> GaussNewtonRun:
    r"""Hessian-free Gauss–Newton for \(L(\mathbf w) = \tfrac12\|\mathbf r(\mathbf w)\|^2\).

    Each step solves \((\mathbf J^\top\mathbf J + \lambda\mathbf I)\,\mathbf p = -\mathbf J^\top\mathbf r\)
    approximately by at most ``cg_steps`` iterations of
    [`conjugate_gradient`][gdbook.curvature.conjugate_gradient] with products from
    [`gnvp`][gdbook.curvature.gnvp], and takes the full step \(\mathbf w \leftarrow \mathbf w + \mathbf p\)
    (no line search: \(\lambda\) = ``damping`` is the only safeguard). Results are memoized
    by content ([`gdbook.cache`][gdbook.cache]).

    Args:
        residuals: \(\mathbf w \mapsto \mathbf r(\mathbf w)\), a vector.
        w: the start (not changed).
        steps: Gauss–Newton steps (0 allowed: the start alone).
        cg_steps: at most this many conjugate-gradient iterations, i.e. products, per step (default 10).
        damping: \(\lambda \ge 0\) (default \(10^{-3}\)).

    Examples:
        >>> import torch
        >>> t = torch.linspace(0, 1, 5, dtype=torch.float64)
        >>> run = gauss_newton(lambda w: w[0] * torch.exp(w[1] * t) - 2 * torch.exp(-t),
        ...                    torch.tensor([1.0, 0.0], dtype=torch.float64), steps=8, damping=0.0)
        >>> [round(x, 6) for x in run.w.tolist()], bool(run.losses[-1] < 1e-20)
        ([2.0, -1.0], True)
    """
    check_int("steps", steps, low=0)
    check_int("cg_steps", cg_steps, low=1)
    check_in_range("damping", damping, 0.0)
    w = w.detach().clone()

    def loss(p):
        r = residuals(p)
        return 0.5 * float(r @ r)

    losses, products = [loss(w)], []
    for _ in range(steps):
        wg = w.detach().requires_grad_(True)
        r = residuals(wg)
        (g,) = torch.autograd.grad(r, wg, grad_outputs=r.detach())
        p, res = conjugate_gradient(lambda v: gnvp(residuals, w, v) + damping * v, -g, steps=cg_steps)
        w = w + p
        losses.append(loss(w))
        products.append(len(res) - 1)
    return GaussNewtonRun(w=w, losses=np.array(losses), products=np.array(products, dtype=int))


@memoize
def descent_losses(loss: Callable[[Tensor], Tensor], w: Tensor, *, lr: float, steps: int) -> np.ndarray:
    r"""Plain gradient descent \(\mathbf w \leftarrow \mathbf w - \eta\nabla L(\mathbf w)\) on a function of one
    parameter vector: the baseline for [`gauss_newton`][gdbook.curvature.gauss_newton].

    Returns the ``steps + 1`` losses \(L(\mathbf w_0), \dots, L(\mathbf w_{\text{steps}})\). Memoized by content.

    Examples:
        >>> import torch
        >>> descent_losses(lambda w: (w**2).sum(), torch.tensor([1.0]), lr=0.25, steps=3).tolist()
        [1.0, 0.25, 0.0625, 0.015625]
    """
    check_int("steps", steps, low=0)
    check_in_range("lr", lr, 0.0, low_open=True)
    w = w.detach().clone().requires_grad_(True)
    losses = []
    for _ in range(steps):
        value = loss(w)
        (g,) = torch.autograd.grad(value, w)
        losses.append(float(value.detach()))
        with torch.no_grad():
            w -= lr * g
    losses.append(float(loss(w.detach())))
    return np.array(losses)
