"""Synthetic data and seeded minibatches.

Examples:
    >>> X, y = synthetic_regression(seed=0)
    >>> tuple(X.shape), tuple(y.shape)
    ((1000, 2), (1000,))
    >>> batches = list(minibatches(10, batch_size=4, seed=0))
    >>> [len(b) for b in batches]
    [4, 4, 2]
"""

from __future__ import annotations

from typing import Iterator, Sequence

import torch

from ._checks import check_in_range, check_int

__all__ = ["TRUE_W", "TRUE_B", "synthetic_regression", "synthetic_classification", "minibatches"]

TRUE_W = (2.0, -3.4)
TRUE_B = 4.2


def synthetic_regression(
    w: Sequence[float] = TRUE_W,
    b: float = TRUE_B,
    n: int = 1000,
    noise: float = 0.01,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Examples of \(y = X\mathbf w + b + \varepsilon\), \(X_{ij} \sim N(0, 1)\),
    \(\varepsilon \sim N(0, \sigma^2)\) with \(\sigma\) = ``noise``, in float64."""
    check_int("n", n, low=1)
    check_in_range("noise", noise, 0.0)
    g = torch.Generator().manual_seed(seed)
    w = torch.as_tensor(w, dtype=torch.float64)
    X = torch.randn(n, len(w), generator=g, dtype=torch.float64)
    y = X @ w + b + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return X, y


def synthetic_classification(n: int = 200, d: int = 2, separation: float = 1.5, seed: int = 0):
    r"""Two overlapping Gaussian classes in \(\mathbb R^d\), float64 NumPy arrays ``(X, y)``.

    Class 1 is centred at \(+\tfrac{s}{2}\mathbf 1/\sqrt d\), class 0 at \(-\tfrac{s}{2}\mathbf 1/\sqrt d\) (``s`` =
    ``separation``, the distance between the means), both with identity covariance, so
    the classes overlap: unless ``n`` is very small no line separates the examples, and
    logistic regression has a finite minimizer (it has one for the defaults). Half the
    examples (rounded down) are class 1, the first ones.

    Examples:
        >>> X, y = synthetic_classification(n=10, seed=0)
        >>> X.shape, y.tolist().count(1.0)
        ((10, 2), 5)
    """
    check_int("n", n, low=2)
    check_int("d", d, low=1)
    check_in_range("separation", separation, 0.0)
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) < n // 2).to(torch.float64)
    centre = separation / 2 / d**0.5
    X = torch.randn(n, d, generator=g, dtype=torch.float64) + (2 * y[:, None] - 1) * centre
    return X.numpy(), y.numpy()


def minibatches(n: int, batch_size: int, seed: int | torch.Generator = 0) -> Iterator[torch.Tensor]:
    """Index tensors of one shuffled pass over ``n`` examples, ``batch_size`` at a time.

    ``seed`` may be an int (a fresh generator) or a ``torch.Generator`` to continue a
    sequence across epochs. ``1 <= batch_size <= n``; the last batch is smaller when
    ``batch_size`` does not divide ``n``.
    """
    check_int("n", n, low=1)
    check_int("batch_size", batch_size, low=1, high=n)
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    order = torch.randperm(n, generator=g)
    for i in range(0, n, batch_size):
        yield order[i : i + batch_size]
