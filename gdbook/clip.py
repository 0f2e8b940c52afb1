r"""Gradient clipping by global norm and by value, written out and equal to ``torch.nn.utils``.

Clipping acts on the gradients stored in ``p.grad`` after ``backward()`` and before the
optimizer's step:

- **by norm** ([`clip_grad_norm_`][gdbook.clip.clip_grad_norm_]): all gradients together are
  seen as one vector \(\mathbf g\); if its norm exceeds \(c\) they are all scaled by the same
  factor, so the direction is kept and the length capped;
- **by value** ([`clip_grad_value_`][gdbook.clip.clip_grad_value_]): every entry is clamped to
  \([-c, c]\) on its own, which caps each entry and changes the direction.

[`total_norm`][gdbook.clip.total_norm] is the norm alone (``torch.nn.utils.get_total_norm``).
The results, the returned norm and what happens to NaN and infinite gradients are torch's
(``tests/test_clip.py`` compares them); the arguments are checked more strictly than torch
checks them, as each function says.

Examples:
    >>> import torch
    >>> w = torch.zeros(3, requires_grad=True)
    >>> w.grad = torch.tensor([3.0, 0.0, 4.0])
    >>> float(clip_grad_norm_(w, max_norm=1.0)), [round(v, 4) for v in w.grad.tolist()]
    (5.0, [0.6, 0.0, 0.8])
"""

from __future__ import annotations

import math
from typing import Iterable

import torch

from ._checks import check_bool, check_in_range, check_number

__all__ = ["total_norm", "clip_grad_norm_", "clip_grad_value_"]

Tensors = torch.Tensor | Iterable[torch.Tensor]


def _norm(x: torch.Tensor, p: float) -> torch.Tensor:
    r"""\(\lVert x\rVert_p\) of all entries of ``x``: \(\max_i |x_i|\) for \(p = \infty\), else \((\sum_i |x_i|^p)^{1/p}\).

    Computed by ``torch.linalg.vector_norm``, whose order of summation torch's clipping uses:
    written out as above, the sums round differently in the last bit, and so would the
    clipped gradients.
    """
    if p == math.inf and x.numel() == 0:
        return x.new_zeros(())
    return torch.linalg.vector_norm(x, p)


def _check_norm_type(norm_type) -> float:
    p = check_number("norm_type", norm_type)
    if not (p >= 1):  # also NaN
        raise ValueError(f"norm_type must be in [1, inf] (a norm), got {norm_type!r}")
    return p


def _grads(parameters: Tensors) -> list[torch.Tensor]:
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def total_norm(tensors: Tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> torch.Tensor:
    r"""The norm of all ``tensors`` taken together as one vector, as ``torch.nn.utils.get_total_norm``.

    \[ \lVert \mathbf g\rVert_p = \Big(\sum_k \lVert \mathbf g_k\rVert_p^{\,p}\Big)^{1/p}
       \quad(\text{for } p = \infty\text{: } \max_k \lVert \mathbf g_k\rVert_\infty), \]

    computed as torch does: the \(p\)-norm of each tensor, then the \(p\)-norm of those norms.
    The result is a 0-d tensor in the tensors' (promoted) dtype, ``tensor(0.)`` when there are
    none. A NaN entry makes it NaN; an infinite one (and no NaN) makes it ``inf``; so does
    overflow (\(p = 2\) squares the entries: any entry above about \(10^{154}\) in float64).
    With ``error_if_nonfinite=True`` a non-finite norm raises ``RuntimeError``, as in torch.

    ``norm_type`` must be in \([1, \infty]\): torch also takes \(0 \le p < 1\) and \(-\infty\),
    which give no norm (gdbook raises ``ValueError``). A tensor with no entries has norm 0 for
    every \(p\) (torch raises for \(p = \infty\)).

    Examples:
        >>> total_norm([torch.tensor([3.0]), torch.tensor([4.0])])
        tensor(5.)
        >>> total_norm([torch.tensor([3.0]), torch.tensor([-4.0])], norm_type=math.inf)
        tensor(4.)
    """
    p = _check_norm_type(norm_type)
    check_bool("error_if_nonfinite", error_if_nonfinite)
    tensors = [tensors] if isinstance(tensors, torch.Tensor) else list(tensors)
    if not tensors:
        return torch.tensor(0.0)
    with torch.no_grad():
        norm = _norm(torch.stack([_norm(t, p) for t in tensors]), p)
    if error_if_nonfinite and not torch.isfinite(norm):
        raise RuntimeError(
            f"The total norm of order {p} for gradients from `parameters` is non-finite, so it cannot be clipped. "
            "To disable this error and scale the gradients by the non-finite norm anyway, set "
            "`error_if_nonfinite=False`")
    return norm


def clip_grad_norm_(parameters: Tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> torch.Tensor:
    r"""Scale all gradients together so that their joint norm is at most ``max_norm``; return the
    norm before clipping. Equal to ``torch.nn.utils.clip_grad_norm_`` (same arguments and defaults).

    With \(\lVert\mathbf g\rVert\) the [`total_norm`][gdbook.clip.total_norm] of the gradients of
    ``parameters`` (a tensor or an iterable of tensors; those without ``.grad`` are skipped),
    every gradient is multiplied in place by

    \[ \min\Big(1,\ \frac{c}{\lVert\mathbf g\rVert + 10^{-6}}\Big), \qquad c = \texttt{max\_norm}. \]

    The \(10^{-6}\) is torch's guard against dividing by 0; it also means that a norm just
    above \(c\) is scaled to slightly less than \(c\).

    **Non-finite gradients** are handled as in torch (the same formula): if any entry is NaN,
    the norm is NaN and *every* gradient entry becomes NaN; if some entry is infinite (and none is
    NaN), the norm is ``inf``, the factor is 0 (for a finite ``max_norm``), every finite entry
    becomes 0 and every infinite one NaN. Either way the step that follows is lost, silently. Pass
    ``error_if_nonfinite=True`` to get a ``RuntimeError`` instead (before any gradient is
    changed), or check the returned norm with ``torch.isfinite``.

    ``max_norm`` must be in \([0, \infty]\) (torch takes a negative one and reverses the
    gradients) and ``norm_type`` in \([1, \infty]\). ``foreach`` is accepted for torch's
    signature (``None``, ``True`` or ``False``); the computation is always a loop over the
    tensors, torch's ``foreach=False`` path (by default torch uses its multi-tensor kernels,
    on the CPU too; the tests compare with that default and find the same bits).

    Examples:
        >>> a, b = torch.zeros(1, requires_grad=True), torch.zeros(2, requires_grad=True)
        >>> a.grad, b.grad = torch.tensor([6.0]), torch.tensor([0.0, 8.0])
        >>> clip_grad_norm_([a, b], max_norm=5.0)
        tensor(10.)
        >>> a.grad, b.grad
        (tensor([3.0000]), tensor([0.0000, 4.0000]))
    """
    check_in_range("max_norm", max_norm, 0.0)
    if foreach is not None:
        check_bool("foreach", foreach)
    grads = _grads(parameters)
    norm = total_norm(grads, norm_type, error_if_nonfinite)
    if grads:
        coef = torch.clamp(float(max_norm) / (norm + 1e-6), max=1.0)
        with torch.no_grad():
            for g in grads:
                g.mul_(coef)
    return norm


def clip_grad_value_(parameters: Tensors, clip_value: float, foreach: bool | None = None) -> None:
    r"""Clamp every gradient entry to \([-c, c]\), \(c\) = ``clip_value``, in place, as
    ``torch.nn.utils.clip_grad_value_``:

    \[ g_i \leftarrow \min(\max(g_i, -c), c). \]

    Large entries are cut and small ones kept, so the direction can change. As in torch, a NaN
    entry stays NaN (the clamp propagates it) and \(\pm\infty\) becomes \(\pm c\).
    ``clip_value`` must be in \([0, \infty]\) (torch takes a negative one and sets every entry
    but NaN to it); ``foreach`` as in [`clip_grad_norm_`][gdbook.clip.clip_grad_norm_].

    Examples:
        >>> w = torch.zeros(3, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, -0.5, -7.0])
        >>> clip_grad_value_(w, 1.0); w.grad
        tensor([ 1.0000, -0.5000, -1.0000])
    """
    check_in_range("clip_value", clip_value, 0.0)
    if foreach is not None:
        check_bool("foreach", foreach)
    c = float(clip_value)
    with torch.no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-c).clamp_(max=c)
