r"""gdbook: the code behind the book *Gradient Descent, Understood*.

Objectives, optimizers written from scratch (they agree with ``torch.optim`` up to
rounding: a relative \(10^{-12}\) in the tests), training
loops, Newton's method, numerical gradients, deep-network diagnostics and the
book's figure pipeline.

Examples:
    >>> import gdbook as gd
    >>> run = gd.trajectory(gd.objectives.bowl(10), gd.optim.Adam, lr=5.0, steps=50)
    >>> bool(run.losses[-1] < run.losses[0])
    True
"""

from . import cache, data, figures, objectives, optim, plot, report, schedules, train
from . import clip
from . import newton, numgrad
from . import curvature
from . import quadratic
from . import landscape
from . import init, nets
from . import sharpness
from . import stability
from . import compare
from . import explore
from . import convergence
from .figures import svg
from .report import fmt, table
from .trajectory import Trajectory, run_rule, trajectory

__version__ = "0.1.0"

__all__ = [
    "cache",
    "objectives",
    "optim",
    "schedules",
    "clip",
    "data",
    "train",
    "numgrad",
    "newton",
    "curvature",
    "quadratic",
    "landscape",
    "init",
    "nets",
    "sharpness",
    "stability",
    "compare",
    "explore",
    "convergence",
    "figures",
    "plot",
    "report",
    "table",
    "fmt",
    "Trajectory",
    "trajectory",
    "run_rule",
    "svg",
    "__version__",
]
