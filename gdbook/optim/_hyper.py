"""Hyperparameter validation for the rules and the classes, written once.

``gdbook.optim._hyper.check_hyper`` checks every hyperparameter it knows by its
name. Where ``torch.optim`` raises, the error is torch's (same type, same message, so code
that catches it keeps working); where torch accepts a value that gives a silently wrong or
diverging run (a non-finite ``lr``, ``momentum >= 1``, ``alpha >= 1``, a string for a flag),
it raises a ``ValueError`` or ``TypeError`` naming the argument and the allowed range.
The table "Differences from torch.optim" on the API reference's page of
``gdbook.optim.optimizers`` lists those cases.

Examples:
    >>> check_hyper(lr=0.1, momentum=0.9)
    >>> check_hyper(momentum=1.0)
    Traceback (most recent call last):
    ...
    ValueError: momentum must be in [0, 1), got 1.0
    >>> check_hyper(lr=-0.1)
    Traceback (most recent call last):
    ...
    ValueError: Invalid learning rate: -0.1
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._checks import check_number

__all__ = ["check_hyper", "check_adafactor", "check_muon"]

# Flags: True or False (None also for torch's "let torch choose" flags).
_FLAGS = ("nesterov", "maximize", "amsgrad", "centered", "decoupled", "decoupled_weight_decay", "differentiable",
         "capturable")
_OPTIONAL_FLAGS = ("foreach", "fused")

# name: (low, high, high_open, torch's message for a value below low, or None where torch has no check)
_RANGES = {
    "lr": (0.0, math.inf, False, "Invalid learning rate: {}"),
    "momentum": (0.0, 1.0, True, "Invalid momentum value: {}"),
    "dampening": (0.0, 1.0, False, None),
    "weight_decay": (0.0, math.inf, False, "Invalid weight_decay value: {}"),
    "eps": (0.0, math.inf, False, "Invalid epsilon value: {}"),
    "alpha": (0.0, 1.0, True, "Invalid alpha value: {}"),
    "rho": (0.0, 1.0, False, "Invalid rho value: {}"),
    "lr_decay": (0.0, math.inf, False, "Invalid lr_decay value: {}"),
    "initial_accumulator_value": (0.0, math.inf, False, "Invalid initial_accumulator_value value: {}"),
    "momentum_decay": (0.0, math.inf, False, "Invalid momentum_decay value: {}"),
}
# Where torch also rejects values above the range (rho > 1), its message covers both sides.
_TORCH_BOTH_SIDES = {"rho"}


def _real(name: str, value) -> np.ndarray:
    """``value`` as a float array: a real number, a one-element tensor, or (for the pure
    rules, which sweep many rates at once) a NumPy array of them; else ``TypeError``."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"Tensor {name} must be 1-element")
        if value.is_complex() or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number, got a {value.dtype} tensor")
        return np.array(float(value.detach()))
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size:
        return value.astype(np.float64)
    return np.array(check_number(name, value))


def _given(hyper: dict, name: str) -> np.ndarray:
    """``hyper[name]`` (torch's default 0 if absent) as a float array: a value that has passed
    its range check already."""
    return _real(name, hyper.get(name, 0.0))


def _plainly_in_range(name: str, value) -> bool:
    """Whether a plain Python number is in its range: the rules are called once per step with
    the same few floats, and this answers in a microsecond; anything else (a tensor, an array,
    a value out of range) goes through ``_check_range``, which gives the error."""
    if not (type(value) is float or (type(value) is int and abs(value) <= 2**53)):
        return False
    low, high, high_open, _ = _RANGES[name]
    return low <= value and (value < high if high_open else value <= high) and math.isfinite(value)


def _plainly_betas(value) -> bool:
    """Whether ``betas`` is a tuple of two floats in [0, 1), answered without NumPy like
    ``_plainly_in_range``; anything else goes through ``_check_betas``."""
    return type(value) is tuple and len(value) == 2 and all(type(b) is float and 0.0 <= b < 1.0 for b in value)


def _check_range(name: str, value) -> None:
    low, high, high_open, torch_msg = _RANGES[name]
    v = _real(name, value)
    # torch's test is ``not low <= v`` (NaN fails it too) in five of the six classes: its message
    if torch_msg is not None and (np.any(~(v >= low)) or (name in _TORCH_BOTH_SIDES and np.any(v > high))):
        raise ValueError(torch_msg.format(value))
    if high == math.inf and not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite number >= {low:g}, got {value}")
    if not np.all((v >= low) & ((v < high) if high_open else (v <= high))):
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must be in [{low:g}, {high:g}{right}, got {value}")


def _check_torch_table(table: dict, hyper: dict) -> None:
    """Ranges with one class's own torch wording: ``name: (low, high, high_open, message, finite)``.

    torch's message where torch checks (``message`` formatted with the value, for a value
    below ``low``, above ``high`` where torch checks that side, or NaN); a ``ValueError`` in
    gdbook's words for the values torch accepts silently (infinite where ``finite``,
    above ``high``).
    """
    for name, (low, high, high_open, message, finite) in table.items():
        if name not in hyper:
            continue
        value = hyper[name]
        v = _real(name, value)
        if np.any(~(v >= low)) or (low == -math.inf and np.any(~(v <= high))):
            raise ValueError(message.format(value))
        if finite and not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must be a finite number, got {value}")
        if not np.all((v < high) if high_open else (v <= high)):
            raise ValueError(f"{name} must be in [{low:g}, {high:g}{')' if high_open else ']'}, got {value}")


def _check_betas(betas) -> None:
    if not isinstance(betas, (tuple, list)):
        raise TypeError(f"betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}")
    if len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2) of numbers in [0, 1), got {betas!r}")
    for i, b in enumerate(betas):
        v = _real(f"betas[{i}]", b)
        if not np.all((v >= 0.0) & (v < 1.0)):  # torch's test and message; NaN fails it too
            raise ValueError(f"Invalid beta parameter at index {i}: {b}")


def _check_flag(name: str, value) -> None:
    if not (isinstance(value, bool) or (value is None and name in _OPTIONAL_FLAGS)):
        allowed = "True, False or None" if name in _OPTIONAL_FLAGS else "True or False"
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}: {value!r}")


def check_hyper(**hyper) -> None:
    r"""Validate optimizer hyperparameters given by name; unknown names are left alone.

    Ranges: ``lr``, ``eps``, ``weight_decay``, ``lr_decay``, ``initial_accumulator_value``,
    ``momentum_decay`` finite and \(\ge 0\); ``momentum`` and ``alpha`` in \([0, 1)\); ``dampening`` and
    ``rho`` in \([0, 1]\); ``betas`` a pair in \([0, 1)\); flags ``True`` or ``False``
    (``foreach`` and ``fused`` may be ``None``); ``nesterov`` needs ``momentum > 0`` and
    ``dampening == 0``. Numbers may be one-element tensors (``lr=torch.tensor(0.01)``).

    Raises:
        TypeError: a number that is not a real number, a flag that is not a bool, ``betas``
            that are not a tuple or list.
        ValueError: a value out of its range (torch's message where torch checks it),
            ``betas`` of length other than 2.
    """
    for name, value in hyper.items():
        if name in _RANGES:
            if not _plainly_in_range(name, value):
                _check_range(name, value)
        elif name == "betas":
            if not _plainly_betas(value):
                _check_betas(value)
        elif name in _FLAGS or name in _OPTIONAL_FLAGS:
            _check_flag(name, value)
    if hyper.get("nesterov") and (np.any(_given(hyper, "momentum") <= 0) or np.any(_given(hyper, "dampening") != 0)):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


# torch 2.13's Adafactor and Muon word their checks differently from the older classes.
_ADAFACTOR = {
    "lr": (0.0, math.inf, False, "Learning rate should be >= 0 but is: {}", True),
    "beta2_decay": (-math.inf, 0.0, False, "beta2_decay should be <= 0 but is: {}", True),
    "d": (1.0, math.inf, False, "Clipping threshold d should be >= 1 but is: {}", False),  # d = inf: no clipping
    "weight_decay": (0.0, math.inf, False, "weight_decay should be >= 0 but is: {}", True),
}
_MUON = {
    "lr": (0.0, math.inf, False, "Learning rate should be >= 0 but is: {}", True),
    "momentum": (0.0, 1.0, True, "momentum should be >= 0 but is: {}", True),
    "weight_decay": (0.0, math.inf, False, "weight decay should be >= 0 but is: {}", True),
    "eps": (0.0, math.inf, False, "eps must be a finite number >= 0, got {}", True),
}


def check_adafactor(**hyper) -> None:
    r"""Validate Adafactor's hyperparameters (torch's messages where torch checks them).

    ``lr``, ``weight_decay`` finite and \(\ge 0\); ``beta2_decay`` finite and \(\le 0\);
    ``d`` \(\ge 1\) (``inf``: no clipping); ``eps`` a pair \((\epsilon_1, \epsilon_2)\),
    \(\epsilon_1\) ``None`` (the dtype's machine epsilon) or finite \(\ge 0\),
    \(\epsilon_2\) finite \(\ge 0\). Other names go to ``check_hyper``.

    Examples:
        >>> check_adafactor(lr=1e-2, eps=(None, 1e-3), d=1.0)
        >>> check_adafactor(d=0.5)
        Traceback (most recent call last):
        ...
        ValueError: Clipping threshold d should be >= 1 but is: 0.5
    """
    _check_torch_table(_ADAFACTOR, hyper)
    if "eps" in hyper:
        eps = hyper["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError(f"eps must be a pair (epsilon1 or None, epsilon2), got {eps!r}")
        if eps[0] is not None:
            _check_torch_table({"epsilon1": (0.0, math.inf, False, "epsilon1 should be >= 0 but is: {}", True)},
                               {"epsilon1": eps[0]})
        _check_torch_table({"epsilon2": (0.0, math.inf, False, "epsilon2 should be >= 0 but is: {}", True)},
                           {"epsilon2": eps[1]})
    check_hyper(**{k: v for k, v in hyper.items() if k not in _ADAFACTOR and k != "eps"})


def check_muon(**hyper) -> None:
    r"""Validate Muon's hyperparameters (torch's messages where torch checks them).

    ``lr``, ``weight_decay``, ``eps`` finite and \(\ge 0\); ``momentum`` in \([0, 1)\);
    ``ns_steps`` an integer in \([0, 100)\); ``ns_coefficients`` three finite numbers;
    ``adjust_lr_fn`` ``None``, ``"original"`` or ``"match_rms_adamw"``; ``nesterov`` a bool
    (with any momentum, as in torch: with ``momentum=0`` it changes nothing).

    Examples:
        >>> check_muon(lr=0.02, momentum=0.95, ns_steps=5)
        >>> check_muon(momentum=1.0)
        Traceback (most recent call last):
        ...
        ValueError: momentum must be in [0, 1), got 1.0
    """
    _check_torch_table(_MUON, hyper)
    if "ns_steps" in hyper:
        n = hyper["ns_steps"]
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise TypeError(f"ns_steps must be an integer, got {type(n).__name__}: {n!r}")
        if n >= 100:  # torch's message (torch raises it at the first step)
            raise ValueError("Number of steps must be less than 100 for computational efficiency")
        if n < 0:
            raise ValueError(f"ns_steps must be in [0, 100), got {n}")
    if "ns_coefficients" in hyper:
        abc = hyper["ns_coefficients"]
        if not isinstance(abc, (tuple, list)) or len(abc) != 3:  # torch's message (at the first step)
            raise ValueError("Coefficients must be a tuple of exactly 3 values")
        for i, c in enumerate(abc):
            if not math.isfinite(check_number(f"ns_coefficients[{i}]", c)):
                raise ValueError(f"ns_coefficients[{i}] must be a finite number, got {c}")
    fn = hyper.get("adjust_lr_fn")
    if fn is not None and fn not in ("original", "match_rms_adamw"):
        raise ValueError(f"Adjust learning rate function {fn} is not supported")
    rest = {k: v for k, v in hyper.items() if k not in _MUON}  # check_hyper leaves ns_steps ... alone
    if "nesterov" in rest:  # a flag, but not SGD's "Nesterov needs momentum": torch's Muon takes momentum=0
        _check_flag("nesterov", rest.pop("nesterov"))
    check_hyper(**rest)
