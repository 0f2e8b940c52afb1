"""``torch.optim``-compatible optimizers built on the pure rules of [`rules`][gdbook.optim.rules].

Each class validates its hyperparameters with torch's messages, then hands every
parameter, its gradient and its state to the rule. They drop into any torch
training loop, work with ``torch.optim.lr_scheduler`` and save their state with
``state_dict()``.

Examples:
    >>> import torch
    >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> for _ in range(3):
    ...     opt.zero_grad()
    ...     (w ** 2).sum().backward()
    ...     _ = opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.7016, -1.7006]
"""

from __future__ import annotations

from typing import Callable

import torch

from .._checks import check_in_range
from . import rules

__all__ = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"]


# ---------------------------------------------------------------------------
# Validation, written once (torch's wording)
# ---------------------------------------------------------------------------


def _nonneg(name: str, value, label: str | None = None):
    check_in_range(name, value, 0.0, message=f"Invalid {label or name} value: {value}")


def _lr(lr):
    check_in_range("lr", lr, 0.0, message=f"Invalid learning rate: {lr}")


def _eps(eps):
    check_in_range("eps", eps, 0.0, message=f"Invalid epsilon value: {eps}")


def _unit(name: str, value, label: str):
    check_in_range(name, value, 0.0, 1.0, high_open=True, message=f"Invalid {label}: {value}")


def _betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        _unit("betas", b, f"beta parameter at index {i}")


# ---------------------------------------------------------------------------
# One loop for every rule
# ---------------------------------------------------------------------------


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose arithmetic is one pure rule.

    Subclasses set ``rule`` and pass their hyperparameters as ``defaults``;
    ``step`` applies the rule to every parameter. A rule made with
    [`rules.rule`][gdbook.optim.rules.rule] updates the parameter and its state in place
    (``rule.inplace``); any other function with the pure contract
    ``rule(x, g, state, **hyper) -> (x_new, state_new)`` works too, at the price of copies.
    """

    rule: Callable

    @torch.no_grad()
    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; return ``closure()``'s loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        rule = type(self).rule
        inplace = getattr(rule, "inplace", None)
        for group in self.param_groups:
            # load_state_dict adds torch's bookkeeping key "differentiable" to defaults only
            hyper = {k: group[k] for k in self.defaults if k in group}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
                if inplace is not None:
                    inplace(p, p.grad, self.state[p], **hyper)
                else:
                    x, self.state[p] = rule(p, p.grad, self.state[p], **hyper)
                    p.copy_(x)
        return loss


class SGD(RuleOptimizer):
    r"""Gradient descent with optional momentum and Nesterov momentum (rule: [`sgd`][gdbook.optim.rules.sgd]).

    Same arguments, defaults and behaviour as ``torch.optim.SGD``.
    """

    rule = staticmethod(rules.sgd)

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, *,
                 maximize=False):
        _lr(lr)
        _nonneg("momentum", momentum)
        _nonneg("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))


class Adagrad(RuleOptimizer):
    r"""Adagrad (rule: [`adagrad`][gdbook.optim.rules.adagrad]), as ``torch.optim.Adagrad``."""

    rule = staticmethod(rules.adagrad)

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                 eps=1e-10, *, maximize=False):
        _lr(lr)
        _nonneg("lr_decay", lr_decay)
        _nonneg("weight_decay", weight_decay)
        _nonneg("initial_accumulator_value", initial_accumulator_value)
        _eps(eps)
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))


class RMSprop(RuleOptimizer):
    r"""RMSProp (rule: [`rmsprop`][gdbook.optim.rules.rmsprop]), as ``torch.optim.RMSprop``.

    torch's ``alpha`` is the book's \(\gamma\), the decay of the squared-gradient average.
    """

    rule = staticmethod(rules.rmsprop)

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                 *, maximize=False):
        _lr(lr)
        _eps(eps)
        _nonneg("momentum", momentum)
        _nonneg("weight_decay", weight_decay)
        _nonneg("alpha", alpha)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))


class Adadelta(RuleOptimizer):
    r"""Adadelta (rule: [`adadelta`][gdbook.optim.rules.adadelta]), as ``torch.optim.Adadelta``."""

    rule = staticmethod(rules.adadelta)

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, *, maximize=False):
        _lr(lr)
        check_in_range("rho", rho, 0.0, 1.0, message=f"Invalid rho value: {rho}")
        _eps(eps)
        _nonneg("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize))


class Adam(RuleOptimizer):
    r"""Adam (rule: [`adam`][gdbook.optim.rules.adam]), as ``torch.optim.Adam``: L2 weight decay."""

    rule = staticmethod(rules.adam)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, *,
                 maximize=False):
        _lr(lr)
        _eps(eps)
        _betas(betas)
        _nonneg("weight_decay", weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize))


class AdamW(Adam):
    r"""AdamW (rule: [`adamw`][gdbook.optim.rules.adamw]), as ``torch.optim.AdamW``: decoupled weight decay."""

    rule = staticmethod(rules.adamw)

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize)
