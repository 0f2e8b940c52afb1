r"""Update rules: the one copy of each algorithm's math.

Each rule is written once, as an update of the parameter ``x`` and of the arrays in
``state`` *in place*, and can be called two ways:

* ``x_new, state_new = rule(x, g, state, **hyper)`` is pure: the rule runs on copies and
  leaves its inputs alone. The book's pages and [`gdbook.compare`][gdbook.compare] call it
  this way on small problems. ``state`` is a plain dict, empty before the first step. The
  pure call checks its arguments first: ``x`` and ``g`` real arrays or numbers, ``state``
  a dict, hyperparameters in range
  (``gdbook.optim._hyper.check_hyper``); a bad one raises a ``TypeError`` or
  ``ValueError`` naming it. Hyperparameters may be NumPy arrays that broadcast against
  ``x`` (one learning rate per row: [`gdbook.compare`][gdbook.compare] sweeps rates so).
* ``rule.inplace(x, g, state, **hyper)`` updates ``x`` and ``state`` where they are,
  without checks. The ``torch.optim``-style classes of
  [`optimizers`][gdbook.optim.optimizers] call it on every parameter: no temporary copy of
  a large tensor and fused in-place tensor operations (``add_``, ``addcdiv_``) as in
  torch's own loop, so a step costs about what ``torch.optim`` charges.

The rules work on torch tensors and NumPy arrays alike. Symbols follow the book, and so do
the state keys: \(\eta\) learning rate (``lr``), \(\mathbf g_t\) gradient, \(t\) step
count (``t``), \(\mathbf v\) velocity (``v``), \(\mathbf s\) sum (Adagrad) or average
(RMSProp, Adadelta, Adam) of squared gradients (``s``), \(\mathbf m\) first moment
(``m``), \(\Delta\mathbf u\) Adadelta's average of squared updates (``u``), \(\lambda\)
weight decay. The classes store the same entries under torch's names (``exp_avg`` for
``m`` ...). Where torch names a hyperparameter differently (RMSprop's ``alpha`` is the
book's \(\gamma\)), the signature keeps torch's name so the classes accept the same
keywords as ``torch.optim``.

Examples:
    >>> import numpy as np
    >>> x, state = np.array([1.0, -2.0]), {}
    >>> for _ in range(3):
    ...     x, state = adam(x, 2 * x, state, lr=0.1)
    >>> np.round(x, 4).tolist()
    [0.7016, -1.7006]
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .._array import xp
from ._hyper import check_hyper

__all__ = [
    "rule",
    "ema",
    "ema_",
    "debias",
    "sgd",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamw",
    "momentum_classic",
    "momentum_negative",
    "momentum_ema",
]


# ---------------------------------------------------------------------------
# One update, two ways to call it
# ---------------------------------------------------------------------------


def _fresh(a):
    """A float copy of an array that a rule may overwrite; numbers (a step count) as they are."""
    if isinstance(a, torch.Tensor):
        return a.clone()
    if isinstance(a, (np.ndarray, list, tuple, float, int, np.generic)) and not isinstance(a, bool):
        a = np.asarray(a)
        return a.astype(np.result_type(a, 0.0))  # ints become float64; float32 stays float32
    return a


def _check_arrays(x, g, state) -> None:
    """The pure call's arguments: a real point, a real gradient, a dict of state."""
    for name, a in (("x", x), ("g", g)):
        if a is None or isinstance(a, (str, bytes, dict)):
            what = "the point" if name == "x" else "the gradient at x"
            raise TypeError(f"{name} must be an array or a number ({what}), got {type(a).__name__}: {a!r}")
        if a.is_complex() if isinstance(a, torch.Tensor) else np.iscomplexobj(a):
            raise TypeError(f"{name} must be real; complex parameters: use the classes of gdbook.optim, "
                            "which treat a complex number as a pair of reals, as torch.optim does")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict (empty before the first step), got {type(state).__name__}: {state!r}")


def rule(update):
    """Turn an in-place ``update(x, g, state, **hyper)`` into a rule with both calls.

    The returned function is the pure form, ``(x, g, state, **hyper) -> (x_new, state_new)``;
    it checks its arguments first (``TypeError``/``ValueError`` naming the culprit, see
    ``gdbook.optim._hyper.check_hyper``). Its attribute ``inplace`` is
    ``update`` itself, unchecked: the classes validate hyperparameters once, when a group
    is added, not on every step.

    Examples:
        >>> @rule
        ... def halve(x, g, state):
        ...     x *= 0.5
        >>> x = np.array([4.0])
        >>> halve(x, np.zeros(1), {}), x   # the pure call leaves x alone
        ((array([2.]), {}), array([4.]))
    """
    @functools.wraps(update)
    def pure(x, g, state, **hyper):
        _check_arrays(x, g, state)
        check_hyper(**hyper)
        x, state = _fresh(x), {k: _fresh(v) for k, v in state.items()}
        update(x, g, state, **hyper)
        return x, state

    pure.inplace = update
    return pure


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _recording(a) -> bool:
    """Whether autograd records operations on ``a`` (the classes' ``differentiable=True``)."""
    return isinstance(a, torch.Tensor) and a.requires_grad and torch.is_grad_enabled()


def _own(a):
    """``a``, or a copy of it that later in-place operations may overwrite while autograd records.

    An in-place operation on a tensor autograd has saved (the output of ``sqrt``) would break
    the backward pass; the copy costs one pass, and only in differentiable mode.
    """
    return a.clone() if _recording(a) else a


def _kept(u, a):
    """``u``, copied if autograd saves it for the gradient of a recorded factor ``a``
    (a later in-place update of ``u``, the parameter or a state buffer, would break backward)."""
    return u.clone() if _recording(a) else u


def _add(y, a, u):
    r"""\(y + a\,u\), as a new array (one pass on tensors)."""
    if isinstance(a, torch.Tensor):  # a tensor coefficient (a differentiable lr): no fused alpha
        return y + a * _kept(u, a)
    return torch.add(y, u, alpha=a) if isinstance(y, torch.Tensor) else y + a * u


def _add_(y, a, u, d=None):
    r"""\(y \leftarrow y + a\,u\), or \(y + a\,u / d\), in place (one fused pass on tensors)."""
    if isinstance(a, torch.Tensor):  # a tensor coefficient (a differentiable lr): no fused alpha
        u = a * _kept(u, a)
        return y.add_(u if d is None else u / d)
    if isinstance(y, torch.Tensor):
        return y.add_(u, alpha=a) if d is None else y.addcdiv_(_kept(u, d), d, value=a)
    y += a * u if d is None else a * u / d
    return y


def _sqrt_(a):
    r"""\(a \leftarrow \sqrt a\) in place (on a copy while autograd records)."""
    return _own(a.sqrt_()) if isinstance(a, torch.Tensor) else np.sqrt(a, out=a)


def _maximum_(a, b):
    r"""\(a \leftarrow \max(a, b)\) elementwise, in place."""
    if _recording(a) or _recording(b):
        return a.copy_(torch.maximum(a.clone(), b))
    return xp(a).maximum(a, b, out=a)


def _buffer(state, name, like, fill=0.0):
    """``state[name]``, created on the first step as an array of ``fill`` shaped like ``like``."""
    if name not in state:
        state[name] = xp(like).full_like(like, fill)
    return state[name]


def ema_(avg, new, decay: float):
    r"""Exponential moving average \(a \leftarrow \beta a + (1 - \beta)\,u\), in place."""
    avg *= decay
    return _add_(avg, 1 - decay, new)


def ema(avg, new, decay: float):
    r"""Exponential moving average \(\beta a + (1 - \beta)\,u\), as a new array.

    ``avg is None`` means no history yet, and the average starts at zero (the
    convention of RMSProp and Adam, which is why Adam needs [`debias`][gdbook.optim.rules.debias]).
    """
    avg = xp(new).zeros_like(_fresh(new)) if avg is None else _fresh(avg)
    return ema_(avg, new, decay)


def debias(avg, decay: float, t: int):
    r"""Bias correction \(\hat a_t = a_t / (1 - \beta^t)\) of a zero-started EMA."""
    return avg / (1 - decay**t)


def _rms(s, eps, correction=1.0):
    r"""\(\sqrt{s / c} + \epsilon\), as one new array (computed \(\sqrt s / \sqrt c + \epsilon\), as torch does)."""
    r = _own(xp(s).sqrt(s))
    if isinstance(correction, torch.Tensor):  # a tensor beta (differentiable): autograd sees the root
        r /= correction.sqrt()
    elif correction != 1.0:
        r /= math.sqrt(correction)
    r += eps
    return r


def _variance(s, m):
    r"""\(s - m \odot m\), the variance from the mean square \(s\) and the mean \(m\), as a new array."""
    return torch.addcmul(s, m, m, value=-1) if isinstance(s, torch.Tensor) else s - m * m


def _with_l2(g, x, weight_decay: float):
    r"""The gradient of \(f + \tfrac{\lambda}{2}\lVert x\rVert^2\): \(g + \lambda x\)."""
    return _add(g, weight_decay, x) if weight_decay else g


def _direction(g, maximize: bool):
    return -g if maximize else g


# ---------------------------------------------------------------------------
# The algorithms (torch.optim semantics)
# ---------------------------------------------------------------------------


@rule
def sgd(x, g, state, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    r"""Stochastic gradient descent with optional (Nesterov) momentum, as ``torch.optim.SGD``.

    \[
    \begin{aligned}
        \mathbf v_t &= \beta \mathbf v_{t-1} + (1 - \tau)\,\mathbf g_t
        \quad(\mathbf v_1 = \mathbf g_1)\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,\mathbf v_t
        \quad\text{or, with Nesterov,}\quad
        \mathbf x_{t-1} - \eta\,(\mathbf g_t + \beta \mathbf v_t)
    \end{aligned}
    \]

    with \(\beta\) = ``momentum`` and \(\tau\) = ``dampening``, where \(\mathbf g_t\) is the
    gradient (negated if ``maximize``) plus \(\lambda\mathbf x_{t-1}\) (``weight_decay``).
    State: ``v``, only when ``momentum`` is nonzero.
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    if momentum:
        if "v" not in state:
            v = state["v"] = _fresh(g)                 # v₁ = g₁
        else:
            v = state["v"]
            v *= momentum
            _add_(v, 1 - dampening, g)                 # v ← βv + (1 − τ)g
        g = _add(g, momentum, v) if nesterov else v    # g + βv, or v
    _add_(x, -lr, g)                                   # x ← x − ηg


@rule
def adagrad(x, g, state, *, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
            eps=1e-10, maximize=False):
    r"""Adagrad (Duchi et al., 2011), as ``torch.optim.Adagrad``.

    \[
    \begin{aligned}
        \mathbf s_t &= \mathbf s_{t-1} + \mathbf g_t \odot \mathbf g_t\\
        \mathbf x_t &= \mathbf x_{t-1} - \frac{\eta_t}{\sqrt{\mathbf s_t} + \epsilon} \odot \mathbf g_t,
        \qquad \eta_t = \frac{\eta}{1 + (t - 1)\,\text{lr\_decay}}
    \end{aligned}
    \]

    with \(\mathbf s_0\) filled with ``initial_accumulator_value``. State: ``t``, ``s``.
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    t = state["t"] = state.get("t", 0) + 1
    s = _buffer(state, "s", x, initial_accumulator_value)
    s += g * g                                         # s ← s + g⊙g
    eta_t = lr / (1 + (t - 1) * lr_decay)
    _add_(x, -eta_t, g, _rms(s, eps))                  # x ← x − η_t g/(√s + ε)


@rule
def rmsprop(x, g, state, *, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
            centered=False, maximize=False):
    r"""RMSProp (Tieleman & Hinton, 2012), as ``torch.optim.RMSprop`` (``alpha`` is \(\gamma\)).

    \[
    \begin{aligned}
        \mathbf s_t &= \gamma\,\mathbf s_{t-1} + (1 - \gamma)\,\mathbf g_t \odot \mathbf g_t\\
        \mathbf x_t &= \mathbf x_{t-1} - \frac{\eta}{\sqrt{\mathbf s_t} + \epsilon} \odot \mathbf g_t
    \end{aligned}
    \]

    ``centered`` divides by the standard deviation \(\sqrt{\mathbf s_t - \bar{\mathbf g}_t^2}\)
    instead, \(\bar{\mathbf g}_t\) an EMA of the gradient; ``momentum`` > 0 accumulates the
    scaled step in a velocity \(\mathbf v_t = \beta \mathbf v_{t-1} + \mathbf g_t / (\cdot)\).
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    s = ema_(_buffer(state, "s", x), g * g, alpha)    # s ← γs + (1 − γ)g⊙g
    if centered:
        g_avg = ema_(_buffer(state, "g_avg", x), g, alpha)
        scale = _sqrt_(_variance(s, g_avg))            # √(s − ḡ⊙ḡ) + ε
        scale += eps
    else:
        scale = _rms(s, eps)                           # √s + ε
    if momentum > 0:
        v = _buffer(state, "v", x)
        v *= momentum
        _add_(v, 1.0, g, scale)                        # v ← βv + g/(√s + ε)
        _add_(x, -lr, v)                               # x ← x − ηv
    else:
        _add_(x, -lr, g, scale)                        # x ← x − ηg/(√s + ε)


@rule
def adadelta(x, g, state, *, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    r"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    \[
    \begin{aligned}
        \mathbf s_t &= \rho\,\mathbf s_{t-1} + (1 - \rho)\,\mathbf g_t \odot \mathbf g_t\\
        \Delta\mathbf x_t &= \frac{\sqrt{\Delta\mathbf u_{t-1} + \epsilon}}{\sqrt{\mathbf s_t + \epsilon}} \odot \mathbf g_t\\
        \Delta\mathbf u_t &= \rho\,\Delta\mathbf u_{t-1} + (1 - \rho)\,\Delta\mathbf x_t \odot \Delta\mathbf x_t\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,\Delta\mathbf x_t
    \end{aligned}
    \]

    The paper has no \(\eta\); torch's ``lr`` multiplies the step and defaults to 1.
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    s = ema_(_buffer(state, "s", x), g * g, rho)      # s ← ρs + (1 − ρ)g⊙g
    u = _buffer(state, "u", x)
    delta = _sqrt_(u + eps)                            # Δx = √(u + ε) / √(s + ε) ⊙ g
    delta /= _sqrt_(s + eps)
    delta *= g
    ema_(u, delta * delta, rho)                        # u ← ρu + (1 − ρ)Δx⊙Δx
    _add_(x, -lr, delta)                               # x ← x − ηΔx


@rule
def adam(x, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
         maximize=False, decoupled=False):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``; ``decoupled=True`` gives AdamW.

    \[
    \begin{aligned}
        \mathbf m_t &= \beta_1 \mathbf m_{t-1} + (1 - \beta_1)\,\mathbf g_t, &
        \hat{\mathbf m}_t &= \mathbf m_t / (1 - \beta_1^t)\\
        \mathbf s_t &= \beta_2 \mathbf s_{t-1} + (1 - \beta_2)\,\mathbf g_t \odot \mathbf g_t, &
        \hat{\mathbf s}_t &= \mathbf s_t / (1 - \beta_2^t)\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,\frac{\hat{\mathbf m}_t}{\sqrt{\hat{\mathbf s}_t} + \epsilon}
    \end{aligned}
    \]

    Weight decay \(\lambda\) enters the gradient, \(\mathbf g_t + \lambda \mathbf x\)
    (L2 regularization), or, decoupled (Loshchilov & Hutter, 2019), shrinks the parameter
    directly: \(\mathbf x \leftarrow (1 - \eta\lambda)\,\mathbf x\) before the step.
    ``amsgrad`` divides by the running maximum of \(\mathbf s_t\) instead.
    """
    beta1, beta2 = betas
    g = _direction(g, maximize)
    if decoupled:
        x *= 1 - lr * weight_decay                     # x ← (1 − ηλ)x
    else:
        g = _with_l2(g, x, weight_decay)               # g ← g + λx
    t = state["t"] = state.get("t", 0) + 1
    m = ema_(_buffer(state, "m", x), g, beta1)        # m ← β₁m + (1 − β₁)g
    s = ema_(_buffer(state, "s", x), g * g, beta2)    # s ← β₂s + (1 − β₂)g⊙g
    if amsgrad:
        s_max = _buffer(state, "s_max", x)
        s = _maximum_(s_max, s)                        # divide by the largest s so far
    # x ← x − η m̂/(√ŝ + ε): the debias factors 1/(1 − βᵗ) of m̂ and ŝ go into the scalars
    _add_(x, -lr / (1 - beta1**t), m, _rms(s, eps, correction=1 - beta2**t))


@rule
def adamw(x, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
          maximize=False):
    r"""AdamW: [`adam`][gdbook.optim.rules.adam] with decoupled weight decay, as ``torch.optim.AdamW``."""
    adam.inplace(x, g, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                 maximize=maximize, decoupled=True)


# ---------------------------------------------------------------------------
# Momentum as readers meet it in the wild
# ---------------------------------------------------------------------------


@rule
def momentum_classic(x, g, state, *, lr, momentum):
    r"""Polyak's heavy ball as most papers write it: \(\mathbf v \leftarrow \beta\mathbf v + \eta\mathbf g\), \(\mathbf x \leftarrow \mathbf x - \mathbf v\).

    Equal to torch's [`sgd`][gdbook.optim.rules.sgd] with the same ``lr``: torch keeps \(\mathbf v / \eta\).
    """
    v = _buffer(state, "v", x)
    v *= momentum
    v += lr * g
    x -= v


@rule
def momentum_negative(x, g, state, *, lr, momentum):
    r"""The sign-flipped form (Sutskever et al., 2013): \(\mathbf v \leftarrow \beta\mathbf v - \eta\mathbf g\), \(\mathbf x \leftarrow \mathbf x + \mathbf v\)."""
    v = _buffer(state, "v", x)
    v *= momentum
    v -= lr * g
    x += v


@rule
def momentum_ema(x, g, state, *, lr, momentum):
    r"""The EMA form: \(\mathbf v \leftarrow \beta\mathbf v + (1 - \beta)\mathbf g\), \(\mathbf x \leftarrow \mathbf x - \eta\mathbf v\).

    The same path as [`momentum_classic`][gdbook.optim.rules.momentum_classic] with learning rate \(\eta (1 - \beta)\):
    averaging shrinks each step by \(1 - \beta\), so this form needs an
    \(\eta\) that is \(1/(1 - \beta)\) times larger.
    """
    v = ema_(_buffer(state, "v", x), g, momentum)
    x -= lr * v
