r"""Weight initializations written from scratch, drawing exactly as `torch.nn.init` does.

A weight matrix is stored as torch stores it, \(W \in \mathbb R^{n_\text{out} \times n_\text{in}}\)
(``nn.Linear`` computes \(\mathbf x W^\top\)), so ``fan_in`` \(= n_\text{in}\) is the number of
columns and ``fan_out`` \(= n_\text{out}\) the number of rows. Every function that fills a
tensor does so in place and returns it; those that draw take an explicit ``torch.Generator``
and, given the same generator state, produce the same numbers as their torch counterpart
(``linear_default_``'s is ``nn.Linear.reset_parameters``). ``fans``, ``calculate_gain``,
``xavier_std`` and ``kaiming_std`` return numbers.

| function | distribution | variance of an entry |
|---|---|---|
| `normal_` | \(N(\mu, \sigma^2)\) | \(\sigma^2\) |
| `uniform_` | \(U(a, b)\) | \((b - a)^2 / 12\) |
| `xavier_normal_` | \(N(0, \sigma^2)\) | \(g^2 \cdot 2/(n_\text{in} + n_\text{out})\) |
| `xavier_uniform_` | \(U(-a, a)\), \(a = g\sqrt{6/(n_\text{in} + n_\text{out})}\) | \(g^2 \cdot 2/(n_\text{in} + n_\text{out})\) |
| `kaiming_normal_` | \(N(0, \sigma^2)\) | \(g^2 / n\), \(n\) = fan_in (or fan_out) |
| `kaiming_uniform_` | \(U(-a, a)\), \(a = g\sqrt{3/n}\) | \(g^2 / n\) |
| `linear_default_` | torch's ``nn.Linear``: \(U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})\) | \(1 / (3 n_\text{in})\) |

Here \(g\) is the gain of [`calculate_gain`][gdbook.init.calculate_gain] (\(\sqrt 2\) for ReLU). A uniform
\(U(-a, a)\) has variance \(a^2/3\), which is where the bounds come from.

Examples:
    >>> g = torch.Generator().manual_seed(0)
    >>> w = xavier_normal_(torch.empty(200, 300, dtype=torch.float64), generator=g)
    >>> round(xavier_std(300, 200) ** 2, 12)            # 2 / (300 + 200)
    0.004
    >>> round(w.var().item(), 4)
    0.004
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ._checks import check_choice, check_in_range, check_number

__all__ = [
    "fans",
    "calculate_gain",
    "xavier_std",
    "kaiming_std",
    "constant_",
    "zeros_",
    "uniform_",
    "normal_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "linear_default_",
]

_LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d", "sigmoid")


def fans(tensor: torch.Tensor) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight: columns and rows, times the kernel size for convolutions.

    Examples:
        >>> fans(torch.empty(3, 5))
        (5, 3)
        >>> fans(torch.empty(16, 3, 5, 5))     # 16 filters over 3 channels of 5x5
        (75, 400)
    """
    if tensor.dim() < 2:
        raise ValueError(f"tensor must have at least 2 dimensions to have fans, got shape {tuple(tensor.shape)}")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.size(1) * receptive, tensor.size(0) * receptive


def calculate_gain(nonlinearity: str = "linear", param: float | None = None) -> float:
    r"""The factor \(g\) by which a nonlinearity's weights are scaled up, as in ``torch.nn.init.calculate_gain``.

    For ReLU, \(\mathbb E[\mathrm{relu}(z)^2] = \tfrac12 \mathbb E[z^2]\) for a symmetric \(z\),
    so the weights' variance is doubled: \(g = \sqrt 2\). Leaky ReLU with slope \(a\) keeps
    \(\tfrac12(1 + a^2)\) of the second moment: \(g = \sqrt{2/(1 + a^2)}\) (``param`` is \(a\),
    0.01 by default). Tanh: \(5/3\); SELU: \(3/4\); linear and sigmoid: 1.

    Examples:
        >>> calculate_gain("relu") == math.sqrt(2), calculate_gain("tanh"), calculate_gain("leaky_relu", math.sqrt(5)) ** 2
        (True, 1.6666666666666667, 0.3333333333333333)
    """
    check_choice("nonlinearity", nonlinearity, _LINEAR + ("tanh", "relu", "leaky_relu", "selu"))
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    slope = 0.01 if param is None else check_number("param", param)
    return math.sqrt(2.0 / (1 + slope**2))


def xavier_std(fan_in: int, fan_out: int, gain: float = 1.0) -> float:
    r"""Glorot and Bengio's standard deviation \(g\sqrt{2/(n_\text{in} + n_\text{out})}\).

    It is the compromise between the forward condition \(n_\text{in}\sigma^2 = 1\)
    and the backward condition \(n_\text{out}\sigma^2 = 1\).

    Examples:
        >>> xavier_std(100, 100) == math.sqrt(1 / 100)
        True
    """
    check_in_range("fan_in + fan_out", fan_in + fan_out, 0, low_open=True)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan: int, gain: float = math.sqrt(2.0)) -> float:
    r"""He et al.'s standard deviation \(g/\sqrt{n}\); for ReLU (\(g = \sqrt2\)) \(\sigma^2 = 2/n_\text{in}\).

    Examples:
        >>> round(kaiming_std(50) ** 2, 12)                 # 2 / 50
        0.04
    """
    check_in_range("fan", fan, 0, low_open=True)
    return gain / math.sqrt(fan)


def constant_(tensor: torch.Tensor, value: float) -> torch.Tensor:
    """Fill ``tensor`` with ``value`` (the initialization that never breaks symmetry).

    Examples:
        >>> constant_(torch.empty(2, 2), 0.5)
        tensor([[0.5000, 0.5000],
                [0.5000, 0.5000]])
    """
    check_number("value", value)
    with torch.no_grad():
        return tensor.fill_(value)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill ``tensor`` with zeros."""
    return constant_(tensor, 0.0)


def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with \(U(a, b)\): mean \((a + b)/2\), variance \((b - a)^2/12\)."""
    check_number("a", a)
    check_in_range("b", b, a)
    with torch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with \(N(\mu, \sigma^2)\), \(\mu\) = ``mean``, \(\sigma\) = ``std``."""
    check_number("mean", mean)
    check_in_range("std", std, 0.0)
    with torch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with \(U(-a, a)\), \(a = g\sqrt{6/(n_\text{in} + n_\text{out})}\).

    Since \(\operatorname{Var} U(-a, a) = a^2/3\), the variance is \(g^2 \cdot 2/(n_\text{in} + n_\text{out})\),
    the same as [`xavier_normal_`][gdbook.init.xavier_normal_].
    """
    fan_in, fan_out = fans(tensor)
    a = math.sqrt(3.0) * xavier_std(fan_in, fan_out, gain)
    return uniform_(tensor, -a, a, generator=generator)


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with \(N\big(0, g^2 \cdot 2/(n_\text{in} + n_\text{out})\big)\)."""
    fan_in, fan_out = fans(tensor)
    return normal_(tensor, 0.0, xavier_std(fan_in, fan_out, gain), generator=generator)


def _fan(tensor: torch.Tensor, mode: str) -> int:
    check_choice("mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` with \(U(-b, b)\), \(b = g\sqrt{3/n}\): variance \(g^2/n\).

    ``a`` is the leaky-ReLU slope used for the gain \(g\) (with ``a = 0`` the default
    is plain ReLU's \(\sqrt 2\)); \(n\) is ``fan_in`` or ``fan_out`` according to ``mode``.
    """
    std = kaiming_std(_fan(tensor, mode), calculate_gain(nonlinearity, a))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator=generator)


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    *,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` with \(N(0, g^2/n)\); with the defaults (ReLU, fan_in) \(\sigma^2 = 2/n_\text{in}\)."""
    return normal_(tensor, 0.0, kaiming_std(_fan(tensor, mode), calculate_gain(nonlinearity, a)), generator=generator)


def linear_default_(linear: nn.Linear, *, generator: torch.Generator | None = None) -> nn.Linear:
    r"""Reset an ``nn.Linear`` exactly as torch's constructor does, from ``generator``.

    Torch calls ``kaiming_uniform_(weight, a=math.sqrt(5))``. The gain is then
    \(\sqrt{2/(1 + 5)} = 1/\sqrt3\), so the bound is \(\sqrt3 \cdot \tfrac{1}{\sqrt3}/\sqrt{n_\text{in}}
    = 1/\sqrt{n_\text{in}}\): the weights are \(U(-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}})\), with
    variance \(1/(3n_\text{in})\), a third of the forward condition \(n_\text{in}\sigma^2 = 1\). The
    bias is drawn from the same uniform distribution.

    Examples:
        >>> lin = linear_default_(nn.Linear(4, 2), generator=torch.Generator().manual_seed(0))
        >>> bool(lin.weight.abs().max() <= 1 / math.sqrt(4))
        True
    """
    if linear.weight.numel() == 0:  # nn.Linear(0, n): torch warns and leaves the empty weight alone
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
    else:
        kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)
    if linear.bias is not None:
        fan_in, _ = fans(linear.weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(linear.bias, -bound, bound, generator=generator)
    return linear
