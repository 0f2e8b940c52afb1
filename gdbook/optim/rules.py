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
(``m``), \(\mathbf u\) Adadelta's average of squared updates (``u``), \(\lambda\)
weight decay. In the formulas \(\mathbf g_t\) is the gradient as the rule uses it: negated
if ``maximize``, plus \(\lambda\mathbf x_{t-1}\) where ``weight_decay`` is L2. The classes store the same entries under torch's names (``exp_avg`` for
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
from ._hyper import check_adafactor, check_hyper, check_muon

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
    "nadam",
    "radam",
    "adamax",
    "adafactor",
    "newton_schulz",
    "muon",
    "lion",
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
        if a is None or isinstance(a, (str, bytes, dict, bool)):
            what = "the point" if name == "x" else "the gradient at x"
            raise TypeError(f"{name} must be an array or a number ({what}), got {type(a).__name__}: {a!r}")
        if a.is_complex() if isinstance(a, torch.Tensor) else np.iscomplexobj(a):
            raise TypeError(f"{name} must be real; complex parameters: use the classes of gdbook.optim, "
                            "which treat a complex number as a pair of reals, as torch.optim does")
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict (empty before the first step), got {type(state).__name__}: {state!r}")


def rule(update=None, *, check=check_hyper):
    """Turn an in-place ``update(x, g, state, **hyper)`` into a rule with both calls.

    The returned function is the pure form, ``(x, g, state, **hyper) -> (x_new, state_new)``;
    it checks its arguments first (``TypeError``/``ValueError`` naming the culprit, see
    ``gdbook.optim._hyper.check_hyper``, or the ``check`` given for a rule whose torch class
    words its checks differently: ``@rule(check=check_muon)``). Its attribute ``inplace`` is
    ``update`` itself, unchecked: the classes validate hyperparameters once, when a group
    is added (with the rule's ``check``), not on every step.

    Examples:
        >>> @rule
        ... def halve(x, g, state):
        ...     x *= 0.5
        >>> x = np.array([4.0])
        >>> halve(x, np.zeros(1), {}), x   # the pure call leaves x alone
        ((array([2.]), {}), array([4.]))
    """
    if update is None:
        return functools.partial(rule, check=check)

    @functools.wraps(update)
    def pure(x, g, state, **hyper):
        _check_arrays(x, g, state)
        check(**hyper)
        x, state = _fresh(x), {k: _fresh(v) for k, v in state.items()}
        update(x, g, state, **hyper)
        return x, state

    pure.inplace = update
    pure.check = check
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


def _weight_decay(x, g, lr, weight_decay, decoupled: bool):
    r"""Weight decay \(\lambda\): decoupled (Loshchilov & Hutter, 2019), \(\mathbf x \leftarrow
    (1 - \eta\lambda)\,\mathbf x\) and the gradient as it is, or L2, the gradient \(\mathbf g + \lambda\mathbf x\)."""
    if decoupled:
        if weight_decay:  # (a pass over x saved when there is no decay)
            x *= 1 - lr * weight_decay
        return g
    return _with_l2(g, x, weight_decay)


def _direction(g, maximize: bool):
    return -g if maximize else g


def _mean(a, axis: int):
    """The mean over ``axis``, the axis kept (length 1)."""
    return a.mean(axis, keepdim=True) if isinstance(a, torch.Tensor) else a.mean(axis, keepdims=True)


def _clamp_min(a, low):
    r"""\(\max(a, \text{low})\) elementwise, as a new array."""
    return a.clamp(min=low) if isinstance(a, torch.Tensor) else np.maximum(a, low)


def _rsqrt_mul_(a, low, u):
    r"""\(a \leftarrow u / \sqrt{\max(a, \text{low})}\) in place (``a`` a scratch array)."""
    if isinstance(a, torch.Tensor):
        return a.clamp_(min=low).rsqrt_().mul_(u)
    return np.multiply(u, 1 / np.sqrt(np.maximum(a, low, out=a), out=a), out=a)


def _rms_of(a) -> float:
    r"""The root mean square \(\lVert a\rVert_2 / \sqrt{n}\) of all entries, a Python float."""
    if isinstance(a, torch.Tensor):
        return a.norm().item() / math.sqrt(a.numel())
    return float(np.linalg.norm(np.ravel(a))) / math.sqrt(np.size(a))


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
        \Delta\mathbf x_t &= \frac{\sqrt{\mathbf u_{t-1} + \epsilon}}{\sqrt{\mathbf s_t + \epsilon}} \odot \mathbf g_t\\
        \mathbf u_t &= \rho\,\mathbf u_{t-1} + (1 - \rho)\,\Delta\mathbf x_t \odot \Delta\mathbf x_t\\
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
    ``amsgrad`` divides by \(\sqrt{\max_{k \le t}\mathbf s_k/(1 - \beta_2^t)} + \epsilon\) instead, the
    bias-corrected running maximum, as torch does (Reddi et al. use no correction).
    """
    beta1, beta2 = betas
    g = _weight_decay(x, _direction(g, maximize), lr, weight_decay, decoupled)  # x ← (1 − ηλ)x, or g + λx
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


@rule
def nadam(x, g, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
          decoupled=False, maximize=False):
    r"""NAdam (Dozat, 2016): Nesterov momentum inside Adam, as ``torch.optim.NAdam``.

    \[
    \begin{aligned}
        \mu_t &= \beta_1\bigl(1 - \tfrac12\,0.96^{t\psi}\bigr), &
        \mathbf m_t &= \beta_1 \mathbf m_{t-1} + (1 - \beta_1)\,\mathbf g_t, \quad
        \mathbf s_t = \beta_2 \mathbf s_{t-1} + (1 - \beta_2)\,\mathbf g_t \odot \mathbf g_t\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,\Bigl(
        \frac{1 - \mu_t}{1 - \prod_{i \le t} \mu_i}\,\mathbf g_t
        + \frac{\mu_{t+1}}{1 - \prod_{i \le t+1} \mu_i}\,\mathbf m_t\Bigr)
        \Big/ \bigl(\sqrt{\hat{\mathbf s}_t} + \epsilon\bigr)
    \end{aligned}
    \]

    with \(\psi\) = ``momentum_decay`` (the momentum \(\mu_t\) warms up from about
    \(\beta_1/2\) towards \(\beta_1\)) and \(\hat{\mathbf s}_t = \mathbf s_t / (1 - \beta_2^t)\).
    The step looks ahead: it uses the next step's momentum \(\mu_{t+1}\) on \(\mathbf m_t\).
    Weight decay as in [`adam`][gdbook.optim.rules.adam] (``decoupled``: NAdamW).
    State: ``t``, ``m``, ``s`` and ``mu_prod``, the product \(\mu_1\cdots\mu_t\).

    Examples:
        >>> x, state = np.array([1.0, -2.0]), {}
        >>> for _ in range(3):
        ...     x, state = nadam(x, 2 * x, state, lr=0.1)
        >>> np.round(x, 4).tolist(), round(float(state["mu_prod"]), 4)   # mu_prod ≈ (0.9/2)³
        ([0.7527, -1.7475], 0.0912)
    """
    beta1, beta2 = betas
    g = _weight_decay(x, _direction(g, maximize), lr, weight_decay, decoupled)  # x ← (1 − ηλ)x, or g + λx
    t = state["t"] = state.get("t", 0) + 1
    mu, mu_next = (beta1 * (1 - 0.5 * 0.96 ** (k * momentum_decay)) for k in (t, t + 1))  # μ_t, μ_{t+1}
    state["mu_prod"] = state.get("mu_prod", 1.0)
    state["mu_prod"] *= mu  # μ₁⋯μ_t (torch keeps it in a float32 tensor, multiplied in place)
    prod = float(state["mu_prod"])
    m = ema_(_buffer(state, "m", x), g, beta1)        # m ← β₁m + (1 − β₁)g
    s = ema_(_buffer(state, "s", x), g * g, beta2)    # s ← β₂s + (1 − β₂)g⊙g
    r = _rms(s, eps, correction=1 - beta2**t)         # √ŝ + ε
    _add_(x, -lr * (1 - mu) / (1 - prod), g, r)               # x ← x − η(1 − μ_t)/(1 − Πμ) g/(√ŝ + ε)
    _add_(x, -lr * mu_next / (1 - prod * mu_next), m, r)      #     − η μ_{t+1}/(1 − Πμ·μ_{t+1}) m/(√ŝ + ε)


@rule
def radam(x, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled=False,
          maximize=False):
    r"""RAdam (Liu et al., 2020): Adam with the variance of its adaptive rate rectified, as ``torch.optim.RAdam``.

    \[
    \begin{aligned}
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, &
        \rho_t &= \rho_\infty - \frac{2t\,\beta_2^t}{1 - \beta_2^t}, &
        r_t &= \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\,\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\,\rho_t}}\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,r_t\,\hat{\mathbf m}_t\,
        \frac{\sqrt{1 - \beta_2^t}}{\sqrt{\mathbf s_t} + \epsilon}
        \quad\text{if } \rho_t > 5, &
        \text{else}\quad \mathbf x_t &= \mathbf x_{t-1} - \eta\,\hat{\mathbf m}_t
    \end{aligned}
    \]

    with \(\mathbf m_t\), \(\mathbf s_t\) and \(\hat{\mathbf m}_t = \mathbf m_t/(1 - \beta_1^t)\)
    as in [`adam`][gdbook.optim.rules.adam]. \(\rho_t\) is the length of the moving average
    that \(\mathbf s_t\) approximates. The rectification \(r_t\) is defined only for
    \(\rho_t > 4\) (below, the variance of the adaptive rate diverges); torch waits for
    \(\rho_t > 5\) (5 steps for \(\beta_2 = 0.999\)) and until then takes momentum SGD steps
    on \(\hat{\mathbf m}_t\). As in torch, \(\epsilon\) is added to \(\sqrt{\mathbf s_t}\), not to
    \(\sqrt{\hat{\mathbf s}_t}\) as in Adam. Weight decay as in Adam (``decoupled``: RAdamW).

    Examples:
        >>> x, state = np.array([1.0, -2.0]), {}
        >>> for _ in range(6):                        # 5 momentum steps, then a rectified one
        ...     x, state = radam(x, 2 * x, state, lr=0.1)
        >>> np.round(x, 4).tolist()
        [0.1995, -0.4012]
    """
    beta1, beta2 = betas
    g = _weight_decay(x, _direction(g, maximize), lr, weight_decay, decoupled)  # x ← (1 − ηλ)x, or g + λx
    t = state["t"] = state.get("t", 0) + 1
    m = ema_(_buffer(state, "m", x), g, beta1)        # m ← β₁m + (1 − β₁)g
    s = ema_(_buffer(state, "s", x), g * g, beta2)    # s ← β₂s + (1 − β₂)g⊙g
    rho_inf = 2 / (1 - beta2) - 1                      # ρ_∞
    rho = rho_inf - 2 * t * beta2**t / (1 - beta2**t)  # ρ_t
    if rho > 5:                                        # rectified adaptive step
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        _add_(x, -lr * r * math.sqrt(1 - beta2**t) / (1 - beta1**t), m, _rms(s, eps))
    else:                                              # x ← x − η m̂ (momentum SGD)
        _add_(x, -lr / (1 - beta1**t), m)


@rule
def adamax(x, g, state, *, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False):
    r"""Adamax (Kingma & Ba, 2015, §7.1): Adam with the \(\infty\)-norm, as ``torch.optim.Adamax``.

    \[
    \begin{aligned}
        \mathbf m_t &= \beta_1 \mathbf m_{t-1} + (1 - \beta_1)\,\mathbf g_t\\
        \mathbf u_t &= \max\bigl(\beta_2 \mathbf u_{t-1},\ \lvert\mathbf g_t\rvert + \epsilon\bigr)\\
        \mathbf x_t &= \mathbf x_{t-1} - \frac{\eta}{1 - \beta_1^t}\,\frac{\mathbf m_t}{\mathbf u_t}
    \end{aligned}
    \]

    \(\mathbf u_t\) is the limit \(p \to \infty\) of the \(p\)-th root of Adam's average
    of \(\lvert\mathbf g\rvert^p\) (decay \(\beta_2^p\)): a decaying maximum, which needs no
    bias correction. torch adds
    \(\epsilon\) inside the maximum (the paper has none). L2 weight decay
    \(\mathbf g_t + \lambda\mathbf x\). State: ``t``, ``m``, ``u``.

    Examples:
        >>> x, state = adamax(np.array([1.0, -2.0]), np.array([4.0, -0.5]), {}, lr=0.1)
        >>> np.round(x, 6).tolist(), state["u"].tolist()   # first step: lr · sign(g); u = |g| + ε
        ([0.9, -1.9], [4.00000001, 0.50000001])
    """
    beta1, beta2 = betas
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    t = state["t"] = state.get("t", 0) + 1
    m = ema_(_buffer(state, "m", x), g, beta1)        # m ← β₁m + (1 − β₁)g
    u = _buffer(state, "u", x)
    u *= beta2
    a = abs(g)
    a += eps
    _maximum_(u, a)                                    # u ← max(β₂u, |g| + ε)
    _add_(x, -lr / (1 - beta1**t), m, u)               # x ← x − η/(1 − β₁ᵗ) m/u


@rule(check=check_adafactor)
def adafactor(x, g, state, *, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0,
              maximize=False):
    r"""Adafactor (Shazeer & Stern, 2018): factored second moments, as ``torch.optim.Adafactor``.

    \[
    \begin{aligned}
        \hat\beta_{2,t} &= 1 - t^{\tau}, \quad
        \rho_t = \min\bigl(\eta, 1/\sqrt t\bigr), \quad
        \alpha_t = \max\bigl(\epsilon_2, \operatorname{RMS}(\mathbf X_{t-1})\bigr)\,\rho_t\\
        \mathbf R_t &= \hat\beta_{2,t} \mathbf R_{t-1} + (1 - \hat\beta_{2,t})\,\operatorname{mean}_{\text{row}}(\mathbf G_t \odot \mathbf G_t), \quad
        \mathbf C_t = \hat\beta_{2,t} \mathbf C_{t-1} + (1 - \hat\beta_{2,t})\,\operatorname{mean}_{\text{col}}(\mathbf G_t \odot \mathbf G_t)\\
        \hat{\mathbf V}_t &= \frac{\mathbf R_t \mathbf C_t}{\max\bigl(\operatorname{mean}(\mathbf R_t), \epsilon_1\bigr)}, \quad
        \mathbf U_t = \frac{\mathbf G_t}{\max\bigl(\sqrt{\hat{\mathbf V}_t}, \epsilon_1\bigr)}, \quad
        \mathbf X_t = (1 - \eta\lambda)\,\mathbf X_{t-1} - \frac{\alpha_t\,\mathbf U_t}{\max\bigl(1, \operatorname{RMS}(\mathbf U_t)/d\bigr)}
    \end{aligned}
    \]

    with \(\tau\) = ``beta2_decay`` (\(\hat\beta_{2,1} = 0\), then, for \(\tau < 0\), the decay tends to 1),
    \((\epsilon_1, \epsilon_2)\) = ``eps`` (\(\epsilon_1\) = ``None``: the machine epsilon of
    the parameter's dtype), \(d\) the clipping threshold. A matrix \(n\times m\) (or a batch
    of them: the last two axes) keeps \(n + m\) numbers of second moment, the row means
    \(\mathbf R\) (``r``) and column means \(\mathbf C\) (``c``), instead of \(nm\); a vector
    keeps the full average (``s``) and \(\hat{\mathbf V}_t = \mathbf s_t\). torch uses
    \(\eta\) as the cap of the relative step \(\rho_t\) (the paper: 0.01) and for the
    decoupled weight decay \(\lambda\).

    Examples:
        >>> g = np.random.default_rng(0).normal(size=(300, 200))
        >>> _, state = adafactor(np.ones((300, 200)), g, {})
        >>> {k: np.shape(v) for k, v in state.items()}   # 500 numbers of second moment, not 60 000
        {'t': (), 'r': (300, 1), 'c': (1, 200)}
    """
    g = _direction(g, maximize)
    eps1 = xp(x).finfo(x.dtype).eps if eps[0] is None else eps[0]
    t = state["t"] = state.get("t", 0) + 1
    beta2_t = 1 - t**beta2_decay                                  # β̂₂ₜ = 1 − t^τ
    alpha = max(eps[1], _rms_of(x)) * min(lr, 1 / math.sqrt(t))   # α_t = max(ε₂, RMS(x)) ρ_t
    _weight_decay(x, g, lr, weight_decay, True)                   # x ← (1 − ηλ)x
    if getattr(g, "ndim", 0) > 1:                                 # factored: V̂ = R C / mean(R)
        gg = g * g
        row, col = _mean(gg, -1), _mean(gg, -2)                   # mean of g⊙g per row, per column
        r = ema_(_buffer(state, "r", row), row, beta2_t)
        c = ema_(_buffer(state, "c", col), col, beta2_t)
        v = r @ c
        v /= _clamp_min(_mean(r, -2), eps1)
    else:
        v = _fresh(ema_(_buffer(state, "s", x), g * g, beta2_t))
    u = _rsqrt_mul_(v, eps1 * eps1, g)                            # U = g / max(√V̂, ε₁)
    _add_(x, -alpha / max(1.0, _rms_of(u) / d), u)                # x ← x − α_t U / max(1, RMS(U)/d)


def newton_schulz(G, coefficients=(3.4445, -4.7750, 2.0315), steps: int = 5, eps: float = 1e-7):
    r"""The Newton–Schulz iteration of Muon: an approximate orthogonalization \(\mathbf O \approx \mathbf U\mathbf V^\top\) of \(\mathbf G = \mathbf U\mathbf\Sigma\mathbf V^\top\).

    \[
    \mathbf X_0 = \frac{\mathbf G}{\max(\lVert\mathbf G\rVert_F, \epsilon)}, \qquad
    \mathbf X_{k+1} = a\,\mathbf X_k + \bigl(b\,\mathbf A_k + c\,\mathbf A_k^2\bigr)\,\mathbf X_k,
    \quad \mathbf A_k = \mathbf X_k \mathbf X_k^\top
    \]

    Each step maps every singular value \(\sigma\) of \(\mathbf X_k\) to
    \(p(\sigma) = a\sigma + b\sigma^3 + c\sigma^5\) and keeps the singular vectors;
    dividing by the Frobenius norm puts every \(\sigma\) in \((0, 1]\), and the coefficients
    (Jordan, 2024) push them quickly towards 1 without converging exactly: the result is
    near \(\mathbf U\mathbf V^\top\), not equal to it (below, \(\sigma = 3\) ends at 0.73
    and \(\sigma = 0.5\) at 1.05), and a tiny \(\sigma\) stays small. As torch does, the iteration runs in bfloat16 on
    \(\mathbf G\) or, for a tall matrix, on \(\mathbf G^\top\) (the smaller Gram matrix).
    ``G`` a 2-D tensor (the result is bfloat16) or NumPy array (float64 result).

    Examples:
        >>> G = torch.tensor([[3.0, 0.0], [0.0, 0.5]])
        >>> newton_schulz(G).diagonal().tolist()        # the singular values of the result
        [0.73046875, 1.046875]
    """
    if getattr(G, "ndim", 0) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")  # torch's message
    a, b, c = coefficients
    X = torch.as_tensor(G).bfloat16()
    tall = X.size(0) > X.size(1)
    X = X.T if tall else X
    X = X / X.norm().clamp(min=eps)                               # X₀ = G/‖G‖_F: every σ ≤ 1
    for _ in range(steps):
        A = X @ X.T
        X = torch.addmm(X, torch.addmm(A, A, A, beta=b, alpha=c), X, beta=a)  # aX + (bA + cA²)X
    X = X.T if tall else X
    return X if isinstance(G, torch.Tensor) else X.double().numpy()


@rule(check=check_muon)
def muon(x, g, state, *, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
         ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
    r"""Muon (Jordan et al., 2024): orthogonalized momentum for matrix parameters, as ``torch.optim.Muon``.

    \[
    \begin{aligned}
        \mathbf M_t &= \mu\,\mathbf M_{t-1} + (1 - \mu)\,\mathbf G_t, \qquad
        \mathbf O_t = \operatorname{NS}\bigl(\mu\,\mathbf M_t + (1 - \mu)\,\mathbf G_t\bigr)
        \quad(\text{without Nesterov: } \operatorname{NS}(\mathbf M_t))\\
        \mathbf X_t &= (1 - \eta\lambda)\,\mathbf X_{t-1} - \eta\,\gamma(n, m)\,\mathbf O_t,
        \qquad \gamma(n, m) = \sqrt{\max(1, n/m)}
        \quad\text{or}\quad 0.2\sqrt{\max(n, m)}
    \end{aligned}
    \]

    for an \(n\times m\) parameter, where NS is [`newton_schulz`][gdbook.optim.rules.newton_schulz]
    (``ns_coefficients``, ``ns_steps``, ``eps``): every singular value of the momentum is
    pushed towards 1, so the step moves all directions of the matrix by similar amounts.
    \(\gamma\) is ``adjust_lr_fn``: ``None`` or ``"original"`` (Jordan's), ``"match_rms_adamw"``
    (Liu et al., 2025: an update RMS like AdamW's, so AdamW's \(\eta\) and \(\lambda\) carry
    over). torch's momentum is this moving average (its docstring writes
    \(\mathbf M_t = \mu\mathbf M_{t-1} + \mathbf G_t\), which its code does not compute).
    State: ``m``.

    Examples:
        >>> W = np.array([[2.0, 0.0], [0.0, 0.1]])      # singular values 2 and 0.1 ...
        >>> W, state = muon(W, W, {}, lr=0.1, weight_decay=0.0)
        >>> np.round(np.diag(W), 3).tolist()           # ... moves of similar size: 0.069, 0.075
        [1.931, 0.025]
    """
    if getattr(g, "ndim", 0) != 2:
        raise ValueError("Param gradient must be a 2D matrix")    # torch's message
    m = ema_(_buffer(state, "m", x), g, momentum)                 # M ← μM + (1 − μ)G
    o = newton_schulz(ema(m, g, momentum) if nesterov else m, ns_coefficients, ns_steps, eps)
    n, k = x.shape
    gamma = 0.2 * math.sqrt(max(n, k)) if adjust_lr_fn == "match_rms_adamw" else math.sqrt(max(1, n / k))
    x *= 1 - lr * weight_decay                                    # x ← (1 − ηλ)x
    _add_(x, -lr * gamma, o)                                      # x ← x − ηγ O


@rule
def lion(x, g, state, *, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False):
    r"""Lion (Chen et al., 2023, Algorithm 2): the sign of an interpolated momentum, decoupled weight decay.

    \[
    \begin{aligned}
        \mathbf c_t &= \beta_1 \mathbf m_{t-1} + (1 - \beta_1)\,\mathbf g_t\\
        \mathbf x_t &= \mathbf x_{t-1} - \eta\,\bigl(\operatorname{sign}(\mathbf c_t) + \lambda\,\mathbf x_{t-1}\bigr)\\
        \mathbf m_t &= \beta_2 \mathbf m_{t-1} + (1 - \beta_2)\,\mathbf g_t
    \end{aligned}
    \]

    Every coordinate moves by exactly \(\eta\) (plus the decay), whatever the size of its
    gradient; \(\operatorname{sign}(0) = 0\). The step interpolates with \(\beta_1\), the
    momentum is tracked with the slower \(\beta_2\). The paper's \(\beta = (0.9, 0.99)\);
    its advice for \(\eta\): 3 to 10 times smaller than AdamW's (with \(\lambda\) larger by
    the same factor), hence ``lr=1e-4``, AdamW's default divided by 10. torch has no Lion;
    this follows the paper's pseudocode. State: ``m``.

    Examples:
        >>> x, state = np.array([1.0, -2.0]), {}
        >>> x, state = lion(x, np.array([0.5, 0.0]), state, lr=0.1)
        >>> x.tolist(), [round(float(v), 12) for v in state["m"]]   # sign(0.05) = 1, sign(0) = 0; m = 0.01 g
        ([0.9, -2.0], [0.005, 0.0])
    """
    beta1, beta2 = betas
    g = _weight_decay(x, _direction(g, maximize), lr, weight_decay, True)  # x ← (1 − ηλ)x
    m = _buffer(state, "m", x)
    c = ema(m, g, beta1)                               # c = β₁m + (1 − β₁)g
    _add_(x, -lr, xp(c).sign(c))                       # x ← x − η sign(c)
    ema_(m, g, beta2)                                  # m ← β₂m + (1 − β₂)g


# ---------------------------------------------------------------------------
# Momentum as readers meet it in the wild
# ---------------------------------------------------------------------------


@rule
def momentum_classic(x, g, state, *, lr, momentum):
    r"""Polyak's heavy ball as most papers write it: \(\mathbf v \leftarrow \beta\mathbf v + \eta\mathbf g\), \(\mathbf x \leftarrow \mathbf x - \mathbf v\).

    Equal to torch's [`sgd`][gdbook.optim.rules.sgd] with the same constant ``lr``: torch keeps \(\mathbf v / \eta\)
    (under a schedule the two differ: here each gradient keeps the rate of its own step).
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

    For a constant learning rate, the same path as [`momentum_classic`][gdbook.optim.rules.momentum_classic] with learning rate \(\eta (1 - \beta)\):
    averaging shrinks each step by \(1 - \beta\), so this form needs an
    \(\eta\) that is \(1/(1 - \beta)\) times larger.
    """
    v = ema_(_buffer(state, "v", x), g, momentum)
    x -= lr * v
