r"""Sharpness: the largest eigenvalue \(\lambda_{\max}\) of the Hessian of a loss, without forming the Hessian.

A network with \(d\) parameters has a \(d \times d\) Hessian \(\mathbf H\); forming it takes
\(d\) Hessian-vector products and \(d^2\) numbers. One product costs about as much as two
gradients: differentiate the gradient once more, \(\mathbf H\mathbf v = \nabla\big(\nabla L(\mathbf w)^\top
\mathbf v\big)\) (double backpropagation, [`hvp`][gdbook.sharpness.hvp]). **Power iteration**,
\(\mathbf v \leftarrow \mathbf H\mathbf v / \lVert\mathbf H\mathbf v\rVert\), needs nothing else,
and its Rayleigh quotient \(\theta = \mathbf v^\top\mathbf H\mathbf v\) tends to the eigenvalue of
largest *magnitude*.

Sharpness is the largest *algebraic* eigenvalue, and the two differ when the most negative
eigenvalue is larger in magnitude (near a saddle point, or early in training). So
[`top_eigenvalue`][gdbook.sharpness.top_eigenvalue] works in two runs: if the first finds a
negative eigenvalue (or does not settle, as when \(\lambda_{\max} = -\lambda_{\min}\) and the
iterate swings between the two eigenvectors), it runs again on \(\mathbf H + \rho\mathbf I\),
where \(\rho \approx \max_i |\lambda_i|\) is the first run's estimate. Every eigenvalue of the
shifted matrix is \(\lambda_i + \rho \gtrsim 0\), so its eigenvalue of largest magnitude is
\(\lambda_{\max} + \rho\): the one wanted, shifted.

**Convergence** is judged by the residual \(r = \lVert\mathbf H\mathbf v - \theta\mathbf v\rVert\)
of the unit vector \(\mathbf v\), not by \(\theta\) settling (which it does in the swinging case
above, at a wrong value). For a symmetric \(\mathbf H\) some eigenvalue lies within \(r\) of
\(\theta\); a run stops when \(r \le \text{tol}\cdot\rho\). It is \(\lambda_{\max}\) that the
run approaches unless the random start is orthogonal to its eigenvector (probability 0).

Examples:
    >>> import torch
    >>> w = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    >>> loss = 0.5 * (3 * w[0] ** 2 - 10 * w[1] ** 2)  # Hessian diag(3, -10)
    >>> top = top_eigenvalue(loss, [w], seed=0)
    >>> round(top.value, 8), top.converged
    (3.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from ._checks import check_in_range, check_int

__all__ = ["TopEigenvalue", "hvp", "top_eigenvalue", "sharpness"]


@dataclass(frozen=True)
class TopEigenvalue:
    r"""The result of [`top_eigenvalue`][gdbook.sharpness.top_eigenvalue].

    Attributes:
        value: \(\theta = \mathbf v^\top\mathbf H\mathbf v\), the estimate of \(\lambda_{\max}\).
        converged: whether the last run met \(\lVert\mathbf H\mathbf v - \theta\mathbf v\rVert \le
            \text{tol}\cdot\rho\) within ``max_iter`` products.
        iterations: Hessian-vector products used, both runs together.
        residual: \(\lVert\mathbf H\mathbf v - \theta\mathbf v\rVert\) at the end: some eigenvalue of
            \(\mathbf H\) lies within it of ``value``.
        scale: \(\rho\), the estimate of \(\max_i |\lambda_i|\) the tolerance is relative to.
        shifted: whether the second, shifted run was needed.
        vector: the unit vector \(\mathbf v\) (flattened over all parameters), an estimate of the
            eigenvector of \(\lambda_{\max}\).
    """

    value: float
    converged: bool
    iterations: int
    residual: float
    scale: float
    shifted: bool
    vector: torch.Tensor


def hvp(loss: torch.Tensor, params: Sequence[torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    r"""The map \(\mathbf v \mapsto \mathbf H\mathbf v\) for the Hessian of the scalar ``loss`` with respect
    to ``params``, vectors flattened over all parameters in order.

    The gradient \(\mathbf g = \nabla L\) is computed once with its graph kept
    (``create_graph=True``); each product is one more backward pass, of \(\mathbf g^\top\mathbf v\).
    A parameter whose gradient does not depend on the parameters (in particular one the loss
    does not use) gets rows of zeros.

    Examples:
        >>> w = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
        >>> H = hvp(w[0] ** 2 * w[1], [w])  # Hessian [[2 w1, 2 w0], [2 w0, 0]] = [[4, 2], [2, 0]]
        >>> H(torch.tensor([1.0, 0.0], dtype=torch.float64))
        tensor([4., 2.], dtype=torch.float64)
    """
    params = list(params)
    if not params or not all(isinstance(p, torch.Tensor) and p.requires_grad for p in params):
        raise ValueError("params must be a non-empty sequence of tensors that require grad")
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss must be a tensor with one element, got {type(loss).__name__}"
                         + (f" of shape {tuple(loss.shape)}" if isinstance(loss, torch.Tensor) else ""))
    grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]
    sizes = [p.numel() for p in params]

    def product(v: torch.Tensor) -> torch.Tensor:
        parts = [part.view_as(p) for part, p in zip(torch.split(v, sizes), params)]
        dot = sum((g * part).sum() for g, part in zip(grads, parts) if g.requires_grad)
        if not isinstance(dot, torch.Tensor) or not dot.requires_grad:  # the gradient does not depend on params
            return torch.zeros_like(v)
        hv = torch.autograd.grad(dot, params, retain_graph=True, allow_unused=True)
        return torch.cat([(torch.zeros_like(p) if h is None else h).reshape(-1) for h, p in zip(hv, params)]).detach()

    return product


def _power(H: Callable, v: torch.Tensor, shift: float, scale: float | None, tol: float, max_iter: int):
    r"""Power iteration on ``H + shift * I`` from ``v``; the residual is judged against ``scale``
    (``None``: the current \(\lVert\mathbf H\mathbf v\rVert\))."""
    v = v / torch.linalg.vector_norm(v)
    for k in range(1, max_iter + 1):
        hv = H(v)
        theta = torch.dot(v, hv)
        residual = torch.linalg.vector_norm(hv - theta * v).item()
        rho = torch.linalg.vector_norm(hv).item() if scale is None else scale
        if residual <= tol * rho:
            return theta.item(), True, k, residual, rho, v
        w = hv + shift * v  # not 0: that would make v an eigenvector, with residual 0 (stopped above)
        v = w / torch.linalg.vector_norm(w)
    return theta.item(), False, k, residual, rho, v


def top_eigenvalue(loss: torch.Tensor, params: Sequence[torch.Tensor], *, seed: int = 0, tol: float = 1e-6,
                   max_iter: int = 1000) -> TopEigenvalue:
    r"""The largest (algebraic) eigenvalue \(\lambda_{\max}\) of the Hessian of ``loss`` with respect to
    ``params``, by power iteration on Hessian-vector products (see the module's text).

    Args:
        loss: a scalar tensor computed from ``params`` with gradients enabled.
        params: the tensors to differentiate by (``list(net.parameters())``); they are not
            changed, and neither are their ``.grad``.
        seed: seeds the random start vector (a private ``torch.Generator``: the global random
            state is untouched).
        tol: stop when \(\lVert\mathbf H\mathbf v - \theta\mathbf v\rVert \le \text{tol}\cdot\rho\),
            \(\rho\) the estimate of \(\max_i|\lambda_i|\); then ``value`` is within
            \(\text{tol}\cdot\rho\) of an eigenvalue (and, near convergence, within about
            \(\text{tol}^2\rho^2/\text{gap}\)). In \((0, 1)\).
        max_iter: the most Hessian-vector products in each of the (at most two) runs.

    The start vector is drawn in the dtype of the first parameter. The first run finds the
    eigenvalue of largest magnitude; a second run on the shifted Hessian follows when that
    is negative or the first run did not converge, and gives the result. A run converges at
    the rate \(|\lambda_2/\lambda_1|^k\) of its two largest eigenvalues in magnitude (shifted,
    \((\lambda_2 + \rho)/(\lambda_{\max} + \rho)\)), so close eigenvalues make it slow;
    ``converged=False`` says so rather than returning a value that looks final.

    Examples:
        >>> A = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)  # eigenvalues 3 and 1
        >>> x = torch.ones(2, dtype=torch.float64, requires_grad=True)
        >>> top = top_eigenvalue(0.5 * x @ A @ x, [x], seed=1, tol=1e-10)
        >>> round(top.value, 10), top.converged, top.shifted
        (3.0, True, False)
    """
    check_int("seed", seed)
    check_in_range("tol", tol, 0.0, 1.0, low_open=True, high_open=True)
    check_int("max_iter", max_iter, low=1)
    params = list(params)
    H = hvp(loss, params)
    n = sum(p.numel() for p in params)
    g = torch.Generator().manual_seed(seed)
    dtype = params[0].dtype
    value, converged, k, residual, rho, v = _power(H, torch.randn(n, generator=g, dtype=dtype), 0.0, None, tol,
                                                   max_iter)
    if converged and value >= 0:
        return TopEigenvalue(value, True, k, residual, rho, False, v)
    # the eigenvalue found is negative, or the run did not settle: shift by the magnitude estimate
    value, converged, k2, residual, rho, v = _power(H, torch.randn(n, generator=g, dtype=dtype), rho, rho, tol,
                                                    max_iter)
    return TopEigenvalue(value, converged, k + k2, residual, rho, True, v)


def sharpness(net: nn.Module, X: torch.Tensor, y: torch.Tensor, *,
              loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
              **options: int | float) -> TopEigenvalue:
    r"""The sharpness of ``net`` on the full batch ``(X, y)``: [`top_eigenvalue`][gdbook.sharpness.top_eigenvalue]
    of the Hessian of ``loss(net(X), y)`` with respect to the parameters that require grad.
    ``**options`` (``seed``, ``tol``, ``max_iter``) go to ``top_eigenvalue``, with its defaults.

    ``loss`` defaults to the mean squared error of [`train_net`][gdbook.nets.train_net]
    (``torch.nn.functional.mse_loss``), so that the result is the \(\lambda_{\max}\) that
    gradient descent on that loss with rate \(\eta\) compares with \(2/\eta\). The net is used
    in its current train/eval mode; its parameters and their ``.grad`` are not changed (in train
    mode the one forward pass updates batch normalization's running statistics and draws a
    dropout mask, as any forward pass does).

    Examples:
        >>> from gdbook.nets import MLP
        >>> g = torch.Generator().manual_seed(0)
        >>> X = torch.randn(20, 2, generator=g, dtype=torch.float64)
        >>> net = MLP(2, 4, depth=1, out_features=1, activation="tanh", init="xavier_normal", generator=0)
        >>> s = sharpness(net, X, X[:, :1] * X[:, 1:], tol=1e-8)
        >>> s.converged, s.value > 0
        (True, True)
    """
    params = [p for p in net.parameters() if p.requires_grad]
    with torch.enable_grad():
        value = (loss or nn.functional.mse_loss)(net(X), y)
    return top_eigenvalue(value, params, **options)
