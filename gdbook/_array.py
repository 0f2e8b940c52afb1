"""Array-generic helpers: one formula works on NumPy arrays, torch tensors and floats."""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["xp", "as_tensor", "stack"]


def xp(*arrays):
    """Return the module (``torch`` or ``numpy``) whose functions fit ``arrays``.

    >>> xp(torch.zeros(2)) is torch, xp(1.0) is np
    (True, True)
    """
    return torch if any(isinstance(a, torch.Tensor) for a in arrays) else np


def as_tensor(x, dtype=torch.float64) -> torch.Tensor:
    """A float64 tensor holding ``x`` (copied, detached from any graph)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype).clone()
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype).clone()


def stack(parts, like):
    """Stack ``parts`` along a new last axis, as a tensor if ``like`` is one."""
    if isinstance(like, torch.Tensor):
        parts = [torch.as_tensor(p, dtype=like.dtype) for p in parts]
        return torch.stack(torch.broadcast_tensors(*parts), dim=-1)
    return np.stack(np.broadcast_arrays(*parts), axis=-1)
