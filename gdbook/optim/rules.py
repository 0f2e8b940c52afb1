r"""Update rules as pure functions: ``(x, g, state, **hyper) -> (x_new, state_new)``.

This module is the one copy of each algorithm's math. The ``torch.optim``-style
classes in `gdbook.optim` call these functions per parameter, and the
book's pages call them directly on 2-D problems. ``state`` is a plain dict,
empty before the first step; a rule never changes its inputs, it returns new
values. The rules work on torch tensors and NumPy arrays alike.

Symbols follow the book: \(\eta\) learning rate (``lr``), \(\mathbf g_t\)
gradient, \(\mathbf v\) velocity, \(\mathbf s\) average of squared
gradients, \(\mathbf m\) first moment, \(\lambda\) weight decay.
Where torch names a symbol differently (RMSprop's ``alpha`` is the book's
\(\gamma\)), the signature keeps torch's name so the classes accept the same
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

from .._array import xp

__all__ = [
    "ema",
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
# Shared pieces
# ---------------------------------------------------------------------------


def ema(avg, new, decay: float):
    r"""Exponential moving average \(a \leftarrow \beta a + (1 - \beta)\,u\).

    ``avg is None`` means no history yet, and the average starts at zero (the
    convention of RMSProp and Adam, which is why Adam needs [`debias`][gdbook.optim.rules.debias]).
    """
    if avg is None:
        avg = 0 * new
    return decay * avg + (1 - decay) * new


def debias(avg, decay: float, t: int):
    r"""Bias correction \(\hat a_t = a_t / (1 - \beta^t)\) of a zero-started EMA."""
    return avg / (1 - decay**t)


def _with_l2(g, x, weight_decay: float):
    r"""The gradient of \(f + \tfrac{\lambda}{2}\lVert x\rVert^2\): \(g + \lambda x\)."""
    return g + weight_decay * x if weight_decay else g


def _direction(g, maximize: bool):
    return -g if maximize else g


# ---------------------------------------------------------------------------
# The algorithms (torch.optim semantics)
# ---------------------------------------------------------------------------


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

    with \(\beta\) = ``momentum`` and \(\tau\) = ``dampening``.
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    if momentum:
        v = g if "v" not in state else momentum * state["v"] + (1 - dampening) * g
        state = {"v": v}
        g = g + momentum * v if nesterov else v
    return x - lr * g, state


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
    """
    g = _with_l2(_direction(g, maximize), x, weight_decay)
    t = state.get("t", 0) + 1
    s = state.get("s", 0 * x + initial_accumulator_value) + g * g
    eta_t = lr / (1 + (t - 1) * lr_decay)
    return x - eta_t * g / (xp(s).sqrt(s) + eps), {"t": t, "s": s}


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
    m = xp(x)
    s = ema(state.get("s"), g * g, alpha)
    new = {"s": s}
    if centered:
        new["g_avg"] = g_avg = ema(state.get("g_avg"), g, alpha)
        scale = m.sqrt(s - g_avg * g_avg) + eps
    else:
        scale = m.sqrt(s) + eps
    step = g / scale
    if momentum > 0:
        new["v"] = step = momentum * state.get("v", 0 * x) + step
    return x - lr * step, new


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
    m = xp(x)
    s = ema(state.get("s"), g * g, rho)
    u = state.get("u", 0 * x)
    delta = m.sqrt(u + eps) / m.sqrt(s + eps) * g
    u = ema(u, delta * delta, rho)
    return x - lr * delta, {"s": s, "u": u}


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
        x = x * (1 - lr * weight_decay)
    else:
        g = _with_l2(g, x, weight_decay)
    t = state.get("t", 0) + 1
    m = ema(state.get("m"), g, beta1)
    s = ema(state.get("s"), g * g, beta2)
    new = {"t": t, "m": m, "s": s}
    if amsgrad:
        s = new["s_max"] = s if "s_max" not in state else xp(s).maximum(state["s_max"], s)
    m_hat, s_hat = debias(m, beta1, t), debias(s, beta2, t)
    return x - lr * m_hat / (xp(s_hat).sqrt(s_hat) + eps), new


def adamw(x, g, state, *, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False,
          maximize=False):
    r"""AdamW: [`adam`][gdbook.optim.rules.adam] with decoupled weight decay, as ``torch.optim.AdamW``."""
    return adam(x, g, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                maximize=maximize, decoupled=True)


# ---------------------------------------------------------------------------
# Momentum as readers meet it in the wild
# ---------------------------------------------------------------------------


def momentum_classic(x, g, state, *, lr, momentum):
    r"""Polyak's heavy ball as most papers write it: \(\mathbf v \leftarrow \beta\mathbf v + \eta\mathbf g\), \(\mathbf x \leftarrow \mathbf x - \mathbf v\).

    Equal to torch's [`sgd`][gdbook.optim.rules.sgd] with the same ``lr``: torch keeps \(\mathbf v / \eta\).
    """
    v = momentum * state.get("v", 0 * x) + lr * g
    return x - v, {"v": v}


def momentum_negative(x, g, state, *, lr, momentum):
    r"""The sign-flipped form (Sutskever et al., 2013): \(\mathbf v \leftarrow \beta\mathbf v - \eta\mathbf g\), \(\mathbf x \leftarrow \mathbf x + \mathbf v\)."""
    v = momentum * state.get("v", 0 * x) - lr * g
    return x + v, {"v": v}


def momentum_ema(x, g, state, *, lr, momentum):
    r"""The EMA form: \(\mathbf v \leftarrow \beta\mathbf v + (1 - \beta)\mathbf g\), \(\mathbf x \leftarrow \mathbf x - \eta\mathbf v\).

    The same path as [`momentum_classic`][gdbook.optim.rules.momentum_classic] with learning rate \(\eta (1 - \beta)\):
    averaging shrinks each step by \(1 - \beta\), so this form needs an
    \(\eta\) that is \(1/(1 - \beta)\) times larger.
    """
    v = ema(state.get("v", 0 * x), g, momentum)
    return x - lr * v, {"v": v}
