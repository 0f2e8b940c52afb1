"""Argument validation shared by the public functions of gdbook.

Each check raises a ``ValueError`` (or ``TypeError``) whose message names the
argument, the value it got and the allowed range, so a reader who mistypes a
hyperparameter learns what to change without reading the source.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_in_range", "check_int", "check_choice", "check_number", "check_bool"]


def check_number(name: str, value) -> float:
    """Return ``value`` as a float, or raise ``TypeError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}: {value!r}")
    try:
        return float(value)
    except OverflowError:  # an integer beyond float64 (10**400)
        raise ValueError(f"{name} must be a finite number, got an integer of {len(str(abs(value)))} digits") from None


def check_in_range(
    name: str,
    value,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
    message: str | None = None,
) -> float:
    """Check ``low <= value <= high`` (or strict where ``*_open``) and return it.

    ``message`` replaces the default text so that classes mirroring
    ``torch.optim`` can keep torch's wording (``"Invalid learning rate: -0.1"``).

    >>> check_in_range("lr", 0.1, 0.0)
    0.1
    >>> check_in_range("beta", 1.5, 0.0, 1.0, high_open=True)
    Traceback (most recent call last):
    ...
    ValueError: beta must be in [0.0, 1.0), got 1.5
    """
    v = check_number(name, value)
    too_low = v <= low if low_open else v < low
    too_high = v >= high if high_open else v > high
    if math.isnan(v) or too_low or too_high:
        if message is not None:
            raise ValueError(message)
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(f"{name} must be in {left}{low}, {high}{right}, got {value!r}")
    return value


def check_int(name: str, value, low: int = 0, high: float = math.inf) -> int:
    """Check that ``value`` is an integer with ``low <= value <= high``.

    >>> check_int("steps", 0, low=1)
    Traceback (most recent call last):
    ...
    ValueError: steps must be an integer in [1, inf], got 0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}: {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def check_choice(name: str, value, choices) -> object:
    """Check that ``value`` is one of ``choices``.

    >>> check_choice("lang", "fr", ("en", "zh"))
    Traceback (most recent call last):
    ...
    ValueError: lang must be one of ('en', 'zh'), got 'fr'
    """
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)!r}, got {value!r}")
    return value


def check_bool(name: str, value) -> bool:
    """Check that ``value`` is ``True`` or ``False`` (not merely truthy).

    >>> check_bool("three_phase", "no")
    Traceback (most recent call last):
    ...
    TypeError: three_phase must be True or False, got str: 'no'
    """
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}: {value!r}")
    return value
