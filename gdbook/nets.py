r"""Deep-network diagnostics: an MLP builder, per-layer statistics, random matrix products, clipping.

The gradient of a deep network's loss with respect to layer \(l\) is a product of
layer Jacobians, so it shrinks or grows geometrically with depth. This module
builds the networks that show it and measures them:

- [`MLP`][gdbook.nets.MLP]: depth, width, activation, initialization (any of
  [`gdbook.init`][gdbook.init]), optional batch normalization, residual connections and
  dropout, all drawn from an explicit ``torch.Generator``;
- [`layer_stats`][gdbook.nets.layer_stats]: one forward and backward pass, then per layer the
  norm and standard deviation of \(\partial L/\partial W_l\), the mean and standard deviation of
  the layer's output and the standard deviation of the gradient reaching it. A plain mean of a gradient is a
  poor measure of its size: its entries have both signs and cancel;
- [`random_matrix_product`][gdbook.nets.random_matrix_product] and
  [`log_growth_rate`][gdbook.nets.log_growth_rate]: the norm of a product of Gaussian matrices,
  factor by factor, and the rate at which it grows;
- [`clip_grad_norm_`][gdbook.nets.clip_grad_norm_], [`clip_grad_value_`][gdbook.nets.clip_grad_value_]
  and [`train_net`][gdbook.nets.train_net]: full-batch training that records the loss and
  the gradient norm, and records divergence instead of raising.

Examples:
    >>> import torch
    >>> net = MLP(8, 16, depth=5, out_features=1, activation="tanh", init="xavier_normal", generator=0)
    >>> x = torch.randn(32, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    >>> s = layer_stats(net, x, target=torch.zeros(32, 1, dtype=torch.float64))
    >>> len(s.grad_norm), bool((s.grad_norm > 0).all())
    (6, True)
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn

from . import clip as _clip
from . import init as _init
from ._checks import check_choice, check_in_range, check_int
from .cache import Uncacheable, memoize
from .train import History

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "activation",
    "Dropout",
    "Block",
    "MLP",
    "LayerStats",
    "gradient_stats",
    "layer_stats",
    "layer_stats_at_init",
    "unit_spread",
    "log_growth_rate",
    "MatrixProduct",
    "random_matrix_product",
    "clip_grad_norm_",
    "clip_grad_value_",
    "NetHistory",
    "train_net",
    "train_mlp",
]

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
"""Activation names accepted by [`MLP`][gdbook.nets.MLP]."""

INITS = ("default", "constant", "normal", "uniform", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal")
"""Initialization names accepted by [`MLP`][gdbook.nets.MLP]: ``"default"`` is torch's own."""


def _generator(generator: torch.Generator | int) -> torch.Generator:
    if isinstance(generator, torch.Generator):
        return generator
    return torch.Generator().manual_seed(check_int("generator", generator))


def activation(name: str) -> nn.Module:
    """The activation module called ``name`` (one of `ACTIVATIONS`).

    Examples:
        >>> activation("relu")
        ReLU()
    """
    check_choice("activation", name, ACTIVATIONS)
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "identity": nn.Identity}[name]()


_make_activation = activation  # MLP's argument ``activation`` shadows the function


class Dropout(nn.Module):
    r"""Inverted dropout drawn from an explicit generator: \(h \mapsto h \odot m / (1 - p)\), \(m_i \sim \text{Bernoulli}(1 - p)\).

    Dividing by \(1 - p\) keeps \(\mathbb E[h_i m_i/(1-p)] = h_i\), so evaluation (no mask) sees
    the same scale. The same distribution as ``nn.Dropout``, but reproducible without
    touching torch's global random state: the mask is
    ``torch.rand(x.shape, generator=generator, dtype=x.dtype) >= p`` (a draw equal to \(p\) is kept:
    \(P(u \ge p) = 1 - p\) for \(u\) uniform on \([0, 1)\)). ``p`` is in \([0, 1]\); with
    \(p = 1\) every unit is dropped. In ``eval()`` mode it is the identity.

    Examples:
        >>> d = Dropout(0.5, torch.Generator().manual_seed(0))
        >>> y = d(torch.ones(1000, dtype=torch.float64))
        >>> sorted(set(y.tolist())), abs(y.mean().item() - 1) < 0.1
        ([0.0, 2.0], True)
    """

    def __init__(self, p: float, generator: torch.Generator):
        super().__init__()
        self.p = check_in_range("p", p, 0.0, 1.0)
        self.generator = generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * 0
        keep = torch.rand(x.shape, generator=self.generator, dtype=x.dtype) >= self.p
        return x * keep / (1 - self.p)

    def extra_repr(self) -> str:
        return f"p={self.p}"

    def __cache_key__(self) -> dict:
        """What [`gdbook.cache`][gdbook.cache] keys this module by: its attributes, the generator by its state.

        Raises [`Uncacheable`][gdbook.cache.Uncacheable] while it draws masks (training mode,
        ``p > 0``): a cache hit would not advance the generator.
        """
        if self.training and self.p > 0:
            raise Uncacheable("an active dropout draws from its generator, which a cache hit would not advance")
        return dict(vars(self), generator=self.generator.get_state())


class _Linear(nn.Linear):
    """``nn.Linear`` whose constructor leaves the parameters unset: [`MLP`][gdbook.nets.MLP]
    fills them from its own generator (torch's would draw from the global one)."""

    def reset_parameters(self) -> None:
        pass


class Block(nn.Module):
    r"""One layer: \(\mathbf a = \phi(\mathrm{BN}(W\mathbf h + \mathbf b))\), then dropout, then
    \(\mathbf h + \mathbf a\) if ``residual`` else \(\mathbf a\)."""

    def __init__(self, linear: nn.Linear, norm: nn.Module | None, act: nn.Module, dropout: nn.Module | None, residual: bool):
        super().__init__()
        self.linear, self.norm, self.act, self.dropout = linear, norm, act, dropout
        self.residual = residual

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = self.linear(h)
        if self.norm is not None:
            a = self.norm(a)
        a = self.act(a)
        if self.dropout is not None:
            a = self.dropout(a)
        return h + a if self.residual else a


class MLP(nn.Module):
    r"""A multilayer perceptron of ``depth`` blocks of ``width`` units, and an optional linear readout.

    Block \(l\) computes \(\mathbf h_l = \phi(\mathrm{BN}(W_l \mathbf h_{l-1} + \mathbf b_l))\) (batch
    normalization only with ``batch_norm``), plus \(\mathbf h_{l-1}\) when ``residual`` and the
    widths match (every block but a first one that changes the width). With
    ``out_features`` a last plain linear layer maps to the output; without it the output
    is \(\mathbf h_\text{depth}\) (every layer has the activation, as in the 30-layer
    experiment of the vanishing-gradient chapter).

    Args:
        in_features, width, depth: input size, hidden width, number of blocks.
        out_features: size of the linear readout, or ``None`` for none.
        activation: one of `ACTIVATIONS`.
        init: a name from ``INITS`` (``"default"`` is torch's ``nn.Linear`` initialization,
            [`linear_default_`][gdbook.init.linear_default_]; the others are the functions of
            [`gdbook.init`][gdbook.init] with the trailing underscore dropped), or a callable
            ``init(weight, generator=...)``. Further keyword arguments go to it:
            ``init="normal", std=0.01``; ``init="constant", value=0.5``. Biases start at 0,
            except with ``"default"`` (torch's uniform).
        bias: whether the linear layers have biases.
        batch_norm: ``True`` for ``nn.BatchNorm1d`` after each block's linear map, or a
            factory ``width -> module`` for another normalization.
        residual: add the identity path \(\mathbf h_{l-1}\) to each block's output.
        dropout: dropout probability in \([0, 1)\) after each block's activation (not after
            the readout).
        generator: a ``torch.Generator`` or an int seed, for the weights and dropout masks.
        dtype: ``torch.float64`` by default.

    Examples:
        >>> net = MLP(2, 3, depth=2, out_features=1, init="constant", value=0.5, generator=0)
        >>> [tuple(lin.weight.shape) for lin in net.linears]
        [(3, 2), (3, 3), (1, 3)]
        >>> net.linears[0].weight.unique().tolist(), net.linears[0].bias.unique().tolist()
        ([0.5], [0.0])
    """

    def __init__(
        self,
        in_features: int,
        width: int,
        depth: int,
        out_features: int | None = None,
        *,
        activation: str = "relu",
        init: str | Callable = "default",
        bias: bool = True,
        batch_norm: bool | Callable[[int], nn.Module] = False,
        residual: bool = False,
        dropout: float = 0.0,
        generator: torch.Generator | int = 0,
        dtype: torch.dtype = torch.float64,
        **init_kwargs,
    ):
        super().__init__()
        check_int("in_features", in_features, low=1)
        check_int("width", width, low=1)
        check_int("depth", depth, low=1)
        if out_features is not None:
            check_int("out_features", out_features, low=1)
        check_in_range("dropout", dropout, 0.0, 1.0, high_open=True)
        act_name = check_choice("activation", activation, ACTIVATIONS)
        fill = self._initializer(init, init_kwargs)
        g = _generator(generator)
        self.generator = g
        blocks = []
        for l in range(depth):
            n_in = in_features if l == 0 else width
            lin = self._linear(n_in, width, bias, dtype, fill, g)
            if batch_norm is True:
                norm = nn.BatchNorm1d(width, dtype=dtype)
            else:
                norm = batch_norm(width) if callable(batch_norm) else None
            drop = Dropout(dropout, g) if dropout > 0 else None
            blocks.append(Block(lin, norm, _make_activation(act_name), drop, residual and n_in == width))
        self.blocks = nn.ModuleList(blocks)
        self.readout = None if out_features is None else self._linear(width, out_features, bias, dtype, fill, g)

    @staticmethod
    def _initializer(init, kwargs) -> Callable:
        if callable(init):
            return lambda w, g: init(w, generator=g, **kwargs)
        check_choice("init", init, INITS)
        if init == "default":
            if kwargs:
                raise TypeError(f"init='default' takes no further arguments, got {sorted(kwargs)}")
            return None
        if init == "constant":
            return lambda w, g: _init.constant_(w, **kwargs)
        fn = getattr(_init, init + "_")
        return lambda w, g: fn(w, generator=g, **kwargs)

    @staticmethod
    def _linear(n_in, n_out, bias, dtype, fill, g) -> nn.Linear:
        lin = _Linear(n_in, n_out, bias=bias, dtype=dtype)
        if fill is None:
            return _init.linear_default_(lin, generator=g)
        fill(lin.weight, g)
        if lin.bias is not None:
            _init.zeros_(lin.bias)
        return lin

    @property
    def linears(self) -> list[nn.Linear]:
        """The linear layers, input first (the readout last)."""
        return [b.linear for b in self.blocks] + ([self.readout] if self.readout is not None else [])

    def layer_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The output of every layer (each block, then the readout); the last is the network's output."""
        outs, h = [], x
        for block in self.blocks:
            h = block(h)
            outs.append(h)
        if self.readout is not None:
            outs.append(self.readout(h))
        return outs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_outputs(x)[-1]

    def __cache_key__(self) -> dict:
        """What [`gdbook.cache`][gdbook.cache] keys this net by: its attributes, the generator by its state.

        The generator only draws the weights (already keyed by value) and the masks of the
        [`Dropout`][gdbook.nets.Dropout] modules, which refuse to be keyed while they draw.
        """
        return dict(vars(self), generator=self.generator.get_state())


@dataclass(frozen=True)
class LayerStats:
    r"""Per-layer statistics, one entry per linear layer (input first).

    Attributes:
        grad_norm: \(\lVert \partial L/\partial W_l \rVert_F\).
        grad_std: standard deviation of the entries of \(\partial L/\partial W_l\).
        grad_mean: their mean; kept to show how it misleads (signs cancel).
        act_mean, act_std: mean and standard deviation of the entries of layer \(l\)'s output
            \(\mathbf h_l\) over the batch (``None`` from [`gradient_stats`][gdbook.nets.gradient_stats]).
        act_grad_std: standard deviation of \(\partial L/\partial \mathbf h_l\), the signal that
            backpropagation carries down (``None`` from ``gradient_stats``).
        loss: the loss of the pass (``None`` when the pass started from ``grad_output``).
    """

    grad_norm: np.ndarray
    grad_std: np.ndarray
    grad_mean: np.ndarray
    act_mean: np.ndarray | None = None
    act_std: np.ndarray | None = None
    act_grad_std: np.ndarray | None = None
    loss: float | None = None


def _std(t: torch.Tensor) -> float:
    return t.detach().to(torch.float64).std(correction=0).item()


def gradient_stats(net: MLP) -> LayerStats:
    r"""Norm, standard deviation and mean of each linear layer's weight gradient, as they stand.

    Call after a ``backward()``; a layer with no gradient yet counts as zeros.
    """
    grads = [lin.weight.grad if lin.weight.grad is not None else torch.zeros_like(lin.weight) for lin in net.linears]
    d = [gr.detach().to(torch.float64) for gr in grads]
    return LayerStats(
        grad_norm=np.array([gr.norm().item() for gr in d]),
        grad_std=np.array([gr.std(correction=0).item() for gr in d]),
        grad_mean=np.array([gr.mean().item() for gr in d]),
    )


def layer_stats(
    net: MLP,
    x: torch.Tensor,
    *,
    target: torch.Tensor | None = None,
    grad_output: torch.Tensor | None = None,
) -> LayerStats:
    r"""One forward and one backward pass of ``net`` on ``x``, then [`LayerStats`][gdbook.nets.LayerStats].

    Give exactly one of ``target`` (the loss is the mean squared error
    \(L = \operatorname{mean}\,(\hat{\mathbf y} - \mathbf y)^2\), ``nn.MSELoss``) or ``grad_output``
    (backpropagate this tensor as \(\partial L/\partial \hat{\mathbf y}\), i.e.
    \(L = \sum \hat{\mathbf y} \odot\) ``grad_output``: a fixed-size signal injected at the top,
    which isolates how the backward pass scales it). Existing gradients are cleared first;
    the module's ``train``/``eval`` mode is used as it is (in training mode the forward pass
    also updates batch normalization's running statistics, as any forward pass does).

    Examples:
        >>> net = MLP(4, 4, depth=3, activation="identity", init="normal", std=0.5, bias=False, generator=0)
        >>> x = torch.ones(1, 4, dtype=torch.float64)
        >>> s = layer_stats(net, x, grad_output=torch.ones(1, 4, dtype=torch.float64))
        >>> W1, W2, W3 = (lin.weight for lin in net.linears)
        >>> grad_W1 = torch.outer(torch.ones(4, dtype=torch.float64) @ W3 @ W2, x[0])  # dL/dW1 = (W3 W2)^T 1 x^T
        >>> bool(abs(s.grad_norm[0] - grad_W1.norm().item()) < 1e-12)
        True
    """
    if (target is None) == (grad_output is None):
        raise ValueError("give exactly one of target= or grad_output=")
    net.zero_grad(set_to_none=True)
    outs = net.layer_outputs(x)
    for h in outs:
        h.retain_grad()
    y = outs[-1]
    if target is not None:
        loss = nn.functional.mse_loss(y, target)
        loss.backward()
        value = loss.item()
    else:
        (y * grad_output).sum().backward()  # the same gradient, without autograd's slow first-call shape check
        value = None
    g = gradient_stats(net)
    return LayerStats(
        grad_norm=g.grad_norm,
        grad_std=g.grad_std,
        grad_mean=g.grad_mean,
        act_mean=np.array([h.detach().to(torch.float64).mean().item() for h in outs]),
        act_std=np.array([_std(h) for h in outs]),
        act_grad_std=np.array([_std(h.grad) for h in outs]),
        loss=value,
    )


@memoize
def layer_stats_at_init(
    x: torch.Tensor,
    *,
    width: int,
    depth: int,
    target: torch.Tensor | None = None,
    grad_output: torch.Tensor | None = None,
    **mlp_kwargs,
) -> LayerStats:
    r"""[`layer_stats`][gdbook.nets.layer_stats] of a freshly built ``MLP(x.shape[1], width, depth, **mlp_kwargs)``.

    A pure function of its arguments (give ``generator`` as an int seed), so the book's
    build computes each setting once for both languages (see ``gdbook.cache``).

    Examples:
        >>> x = torch.rand(10, 50, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        >>> s = layer_stats_at_init(x, width=50, depth=8, activation="sigmoid", init="normal", std=50 ** -0.5,
        ...                         bias=False, generator=1, target=torch.zeros(10, 50, dtype=torch.float64))
        >>> bool(s.grad_norm[0] < 1e-3 * s.grad_norm[-1])   # vanishing towards the input
        True
    """
    net = MLP(x.shape[1], width, depth, dtype=x.dtype, **mlp_kwargs)
    return layer_stats(net, x, target=target, grad_output=grad_output)


def unit_spread(net: MLP, layer: int = 0) -> float:
    r"""How different the hidden units of block ``layer`` are: the largest
    \(|\theta_i - \theta_1|\) over units \(i\) and their parameters \(\theta\) (incoming
    weights, bias, and outgoing weights in the next linear layer). Zero means every unit
    is a copy of the first one.

    Examples:
        >>> net = MLP(3, 4, depth=1, out_features=1, init="constant", value=0.3, generator=0)
        >>> unit_spread(net)
        0.0
    """
    lins = net.linears
    check_int("layer", layer, 0, len(lins) - 2)
    W, nxt = lins[layer].weight, lins[layer + 1].weight
    parts = [(W - W[:1]).abs().max(), (nxt - nxt[:, :1]).abs().max()]
    if lins[layer].bias is not None:
        b = lins[layer].bias
        parts.append((b - b[0]).abs().max())
    return max(p.item() for p in parts)


def log_growth_rate(n: int, std: float = 1.0) -> float:
    r"""The typical growth of a product of \(n \times n\) Gaussian matrices, per factor:
    \(\mathbb E \log(\lVert \mathbf x M \rVert / \lVert \mathbf x \rVert) = \tfrac12\big(\ln(2\sigma^2) + \psi(n/2)\big)\).

    For \(M_{ij} \sim N(0, \sigma^2)\) and any fixed \(\mathbf x \ne 0\), \(\mathbf x M/\lVert\mathbf x\rVert\) has
    independent \(N(0, \sigma^2)\) entries, so \(\lVert \mathbf x M\rVert^2/\lVert\mathbf x\rVert^2 = \sigma^2\chi^2_n\)
    and \(\mathbb E \ln \chi^2_n = \ln 2 + \psi(n/2)\) (\(\psi\) the digamma function). The factors
    of a product are independent, so \(\log\lVert \mathbf x M_1 \cdots M_k\rVert\) is a sum of \(k\)
    such terms. This is negative even for \(\sigma^2 = 1/n\), which keeps the mean square
    \(\mathbb E\lVert\mathbf x M\rVert^2 = n\sigma^2\lVert\mathbf x\rVert^2\) fixed: \(\psi(n/2) < \ln(n/2)\).

    Examples:
        >>> round(log_growth_rate(4, 1.0), 4), round(log_growth_rate(4, 0.5), 4)
        (0.558, -0.1352)
    """
    check_int("n", n, low=1)
    check_in_range("std", std, 0.0, low_open=True)
    psi = torch.special.digamma(torch.tensor(n / 2, dtype=torch.float64)).item()
    return 0.5 * (math.log(2 * std**2) + psi)


@dataclass(frozen=True)
class MatrixProduct:
    r"""A product \(P_k = M_0 M_1 \cdots M_k\) of random matrices, recorded factor by factor.

    Attributes:
        norms: \(\lVert P_k \rVert_F\) for \(k = 0, \dots,\) ``factors`` (``norms[0]`` is the start's).
        product: the final \(P\).
        n, std: matrix size and entry standard deviation.
    """

    norms: np.ndarray
    product: torch.Tensor
    n: int
    std: float

    @property
    def factors(self) -> int:
        """Random matrices multiplied onto the start."""
        return len(self.norms) - 1

    @property
    def rate(self) -> float:
        r"""Measured growth per factor, \(\frac1k \ln(\lVert P_k\rVert / \lVert P_0\rVert)\)."""
        return math.log(self.norms[-1] / self.norms[0]) / self.factors


def random_matrix_product(
    n: int = 4,
    factors: int = 100,
    std: float = 1.0,
    *,
    start: torch.Tensor | None = None,
    generator: torch.Generator | int = 0,
) -> MatrixProduct:
    r"""Multiply ``factors`` matrices with \(N(0, \sigma^2)\) entries onto ``start``, in float64.

    ``start`` defaults to one more such \(n\times n\) matrix (101 Gaussian matrices in all
    with the defaults); pass a row vector of shape ``(1, n)`` to follow \(\mathbf x M_1\cdots M_k\).
    With \(\sigma = 1\) the norm grows about \(e^{0.56}\) per factor for \(n = 4\)
    ([`log_growth_rate`][gdbook.nets.log_growth_rate]).

    Examples:
        >>> p = random_matrix_product(4, 100, generator=0)
        >>> p.norms.shape, bool(p.norms[-1] > 1e15)
        ((101,), True)
    """
    check_int("n", n, low=1)
    check_int("factors", factors, low=1)
    check_in_range("std", std, 0.0, low_open=True)
    g = _generator(generator)
    P = std * torch.randn(n, n, generator=g, dtype=torch.float64) if start is None else start.to(torch.float64)
    norms = [P.norm().item()]
    for _ in range(factors):
        P = P @ (std * torch.randn(n, n, generator=g, dtype=torch.float64))
        norms.append(P.norm().item())
    return MatrixProduct(norms=np.array(norms), product=P, n=n, std=float(std))


def clip_grad_norm_(parameters: Iterable[torch.Tensor], max_norm: float) -> float:
    r"""Rescale all gradients together so that their joint norm is at most ``max_norm``.

    With \(\lVert \mathbf g\rVert = \sqrt{\sum_p \lVert \mathbf g_p\rVert^2}\), every gradient is multiplied by
    \(\min\big(1, c/(\lVert\mathbf g\rVert + 10^{-6})\big)\), \(c\) = ``max_norm``: the direction is
    kept, the length capped. The \(10^{-6}\) is torch's; the result equals
    ``torch.nn.utils.clip_grad_norm_``. Returns \(\lVert\mathbf g\rVert\) before clipping, as a float.
    This is [`gdbook.clip.clip_grad_norm_`][gdbook.clip.clip_grad_norm_] with the 2-norm (which
    also takes other norms and returns a tensor, as torch does).

    Examples:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, 4.0])
        >>> clip_grad_norm_([w], 1.0), [round(v, 4) for v in w.grad.tolist()]
        (5.0, [0.6, 0.8])
    """
    return _clip.clip_grad_norm_(parameters, max_norm).item()


def clip_grad_value_(parameters: Iterable[torch.Tensor], clip_value: float) -> None:
    r"""Clamp every gradient entry to \([-c, c]\), \(c\) = ``clip_value``, as ``torch.nn.utils.clip_grad_value_``
    ([`gdbook.clip.clip_grad_value_`][gdbook.clip.clip_grad_value_]).

    Unlike clipping by norm this can change the direction: large entries are cut, small
    ones kept.

    Examples:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, -0.5])
        >>> clip_grad_value_([w], 1.0); w.grad.tolist()
        [1.0, -0.5]
    """
    _clip.clip_grad_value_(parameters, clip_value)


@dataclass
class NetHistory(History):
    """A [`History`][gdbook.train.History] of full-batch training with per-step extras.

    Attributes:
        grad_norm: joint gradient norm at each step, before any clipping.
        tracked: the values of ``track(net)`` after each step (see [`train_net`][gdbook.nets.train_net]).
    """

    grad_norm: list = field(default_factory=list)
    tracked: list = field(default_factory=list)


def train_net(
    net: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    lr: float,
    steps: int,
    optimizer: Callable | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    track: Callable[[nn.Module], float] | None = None,
    label: str = "",
    **hyper: object,
) -> NetHistory:
    r"""Train ``net`` by full-batch steps on the mean squared error \(\operatorname{mean}(\hat{\mathbf y} - \mathbf y)^2\).

    Every step uses all of ``X``, so ``epoch`` counts steps. ``loss[k]`` is the loss before
    step \(k\) (in the net's current train/eval mode, so with dropout it includes the
    mask of that step); one last entry follows the last step, unless the run diverged. In
    training mode every one of these forward passes updates batch normalization's running
    statistics, the last one included (steps + 1 updates in a run that does not diverge).
    ``optimizer`` defaults to [`gdbook.optim.SGD`][gdbook.optim.optimizers.SGD];
    ``**hyper`` goes to it. At most one of
    ``clip_norm`` ([`clip_grad_norm_`][gdbook.nets.clip_grad_norm_]) and ``clip_value``
    ([`clip_grad_value_`][gdbook.nets.clip_grad_value_]) may be given. A non-finite loss stops
    the run and sets ``diverged`` and ``diverged_epoch``.

    ``net`` ends up trained: its parameters, the buffers of its ``state_dict`` (batch
    normalization's running statistics), its gradients and its modules' ``generator``
    states are those of training it in place. The training itself runs on a copy, through
    gdbook's cache ([`gdbook.cache`][gdbook.cache]): while the cache is on, the same net
    trained the same way twice (the English and the Chinese page) is trained once. A run
    stopped by an exception (an interrupt, an error raised by ``track``) leaves ``net`` as it was.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> X = torch.randn(64, 3, generator=g, dtype=torch.float64)
        >>> y = X.sum(1, keepdim=True)
        >>> net = MLP(3, 8, depth=2, out_features=1, activation="tanh", init="xavier_normal", generator=1)
        >>> h = train_net(net, X, y, lr=0.05, steps=200)
        >>> h.diverged, h.steps, len(h.loss), h.loss[-1] < 0.05 * h.loss[0]
        (False, 200, 201, True)
    """
    _check_training(lr, steps, clip_norm, clip_value)
    trained, grads, h = _trained_copy(net, X, y, lr=lr, steps=steps, optimizer=optimizer, clip_norm=clip_norm,
                                      clip_value=clip_value, track=track, label=label, **hyper)
    _assign(net, trained, grads)
    return h


def _check_training(lr, steps, clip_norm, clip_value) -> None:
    check_in_range("lr", lr, 0.0)
    check_int("steps", steps, low=1)
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give at most one of clip_norm and clip_value")


@memoize
def _trained_copy(net: nn.Module, X: torch.Tensor, y: torch.Tensor, **kwargs):
    """A copy of ``net`` trained by ``_fit``, its parameters' last gradients (a copied
    parameter does not carry them) and the history; ``net`` is untouched."""
    net = copy.deepcopy(net)
    h = _fit(net, X, y, **kwargs)
    return net, [p.grad for p in net.parameters()], h


def _assign(net: nn.Module, trained: nn.Module, grads: list) -> None:
    """Give ``net`` the state of ``trained``, a trained copy of it, and the gradients ``grads``."""
    with torch.no_grad():
        net.load_state_dict(trained.state_dict())
    for p, g in zip(net.parameters(), grads, strict=True):
        p.grad = None if g is None else g.clone()
    for mine, theirs in zip(net.modules(), trained.modules()):
        if isinstance(getattr(mine, "generator", None), torch.Generator):
            mine.generator.set_state(theirs.generator.get_state())


def _fit(net: nn.Module, X: torch.Tensor, y: torch.Tensor, *, lr: float, steps: int, optimizer: Callable | None,
         clip_norm: float | None, clip_value: float | None, track: Callable[[nn.Module], float] | None,
         label: str, **hyper: object) -> NetHistory:
    """The loop of [`train_net`][gdbook.nets.train_net], in place on ``net``."""
    from .optim import SGD

    params = [p for p in net.parameters() if p.requires_grad]
    opt = (optimizer or SGD)(params, lr=lr, **hyper)
    h = NetHistory(label=label)
    n = len(X)

    def record(loss: float) -> bool:
        h.epoch.append(h.steps)
        h.loss.append(loss)
        if not math.isfinite(loss):
            h.diverged, h.diverged_epoch = True, h.steps
        return h.diverged

    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(net(X), y)
        if record(loss.item()):
            break
        loss.backward()
        if clip_norm is not None:
            h.grad_norm.append(clip_grad_norm_(params, clip_norm))
        else:
            h.grad_norm.append(math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in params if p.grad is not None)))
            if clip_value is not None:
                clip_grad_value_(params, clip_value)
        opt.step()
        h.steps += 1
        h.examples += n
        h.lr.append(lr)
        if track is not None:
            h.tracked.append(track(net))
    else:
        with torch.no_grad():
            record(nn.functional.mse_loss(net(X), y).item())
    return h


@memoize
def train_mlp(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    width: int,
    depth: int,
    lr: float,
    steps: int,
    optimizer: Callable | None = None,
    clip_norm: float | None = None,
    clip_value: float | None = None,
    track: Callable[[nn.Module], float] | None = None,
    label: str = "",
    **mlp_kwargs,
) -> NetHistory:
    r"""[`train_net`][gdbook.nets.train_net] on a freshly built
    ``MLP(X.shape[1], width, depth, y.shape[1], **mlp_kwargs)``, in ``X``'s dtype.

    A pure function of its arguments (give ``generator`` as an int seed), so the book's
    build runs each setting once for both languages.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> X = torch.randn(32, 2, generator=g, dtype=torch.float64)
        >>> h = train_mlp(X, X[:, :1], width=8, depth=2, lr=0.1, steps=50, activation="tanh", generator=0)
        >>> h.loss[-1] < h.loss[0]
        True
    """
    _check_training(lr, steps, clip_norm, clip_value)
    net = MLP(X.shape[1], width, depth, y.shape[1], dtype=X.dtype, **mlp_kwargs)
    return _fit(net, X, y, lr=lr, steps=steps, optimizer=optimizer, clip_norm=clip_norm,
                clip_value=clip_value, track=track, label=label)
