"""Optimizers written from scratch: pure update rules and ``torch.optim``-compatible classes.

[`rules`][gdbook.optim.rules] holds each algorithm's math once; the classes here
wrap those rules so they drop into any torch training loop.
"""

from . import rules
from .optimizers import (
    SGD,
    Adadelta,
    Adafactor,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    Lion,
    Muon,
    NAdam,
    RAdam,
    RMSprop,
    RuleOptimizer,
)

__all__ = ["rules", "RuleOptimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam",
           "Adamax", "Adafactor", "Muon", "Lion"]
