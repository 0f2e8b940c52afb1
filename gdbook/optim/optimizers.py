"""``torch.optim``-compatible optimizers built on the pure rules of [`rules`][gdbook.optim.rules].

Each class has torch 2.13's signature, defaults and validation messages, and keeps its
state under torch's names and layout (``exp_avg``, ``exp_avg_sq``, a tensor ``step`` ...),
so a ``state_dict`` moves between ``torch.optim.X`` and ``gdbook.optim.X`` in both
directions and training resumes on the same path. The names are mapped to the book's
symbols (``m``, ``s``, ``t`` ...) once, at the class boundary
([`RuleOptimizer`][gdbook.optim.optimizers.RuleOptimizer]); the arithmetic is the rule's.

``foreach``, ``fused`` and ``capturable`` are accepted and stored in the parameter groups
(checkpoints carry them, as torch's do), and torch's checks on them are kept (``fused``
with ``foreach`` or ``differentiable`` raises); the step is always computed by one loop over
the parameters, whose results are those of torch's single-tensor (``foreach=False``)
implementation. ``differentiable=True`` records the step for autograd, as in torch.
Complex parameters follow torch (real and imaginary parts are separate coordinates);
``SGD`` and ``Adagrad`` take sparse gradients; the others raise torch's error.
Where torch silently accepts a value that gives a wrong run (``lr=nan``, ``momentum=1.5``,
``nesterov="yes"``, integer parameters), these classes raise; the API reference's page of
``gdbook.optim.optimizers`` lists each difference from ``torch.optim`` in one table.

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
    >>> sorted(opt.state[w])                     # torch's names, so checkpoints interchange
    ['exp_avg', 'exp_avg_sq', 'step']
    >>> theirs = torch.optim.Adam([w], lr=0.1)
    >>> theirs.load_state_dict(opt.state_dict())
"""

from __future__ import annotations

import inspect
from typing import Callable

import torch

from . import rules
from ._hyper import check_hyper

__all__ = ["RuleOptimizer", "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax",
           "Adafactor", "Muon", "Lion"]


def _scalar_dtype(fused=None) -> torch.dtype:
    """The dtype torch gives a ``step`` tensor: float32, or float64 under a float64 default."""
    if fused:
        return torch.float32
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def _number(value):
    """A hyperparameter for the rule: a tensor becomes a float unless autograd must see through it."""
    if isinstance(value, torch.Tensor) and not (value.requires_grad and torch.is_grad_enabled()):
        return value.item()
    if isinstance(value, (tuple, list)):
        return tuple(_number(v) for v in value)
    return value


def _as_real(a: torch.Tensor) -> torch.Tensor:
    """A complex tensor as pairs of reals (a view, as torch's optimizers take them); a real one as it is."""
    return torch.view_as_real(a) if a.is_complex() else a


# group keys that choose how torch computes, not what: never passed to a rule
_BOOKKEEPING = ("params", "param_names", "foreach", "fused", "differentiable", "capturable")


def _check_flag_clique(defaults: dict) -> None:
    """torch's checks on its implementation flags (raised after the groups are built, as torch does)."""
    if defaults.get("fused"):
        if defaults.get("differentiable"):
            raise RuntimeError("`fused` does not support `differentiable`")
        if defaults.get("foreach"):
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


# ---------------------------------------------------------------------------
# One loop for every rule
# ---------------------------------------------------------------------------


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` whose arithmetic is one pure rule.

    Subclasses set:

    * ``rule``: a rule made with [`rules.rule`][gdbook.optim.rules.rule]; ``step`` calls
      ``rule.inplace`` on every parameter that has a gradient (any other function with the
      pure contract ``rule(x, g, state, **hyper) -> (x_new, state_new)`` works too, at the
      price of copies);
    * ``state_names``: the book's symbol of each state entry and torch's key for it
      (``{"t": "step", "m": "exp_avg"}``); a ``"step"`` entry is a tensor, as in torch, and
      counts every step even for rules that do not read it;
    * ``hyper_names``: rule keywords whose group key differs
      (``{"decoupled": "decoupled_weight_decay"}``);
    * ``flag_defaults``: torch's bookkeeping keys that a loaded older ``state_dict`` may lack;
    * ``sparse``: ``"linear"`` if the rule is linear in the gradient and takes a sparse one
      as it is (SGD), ``"rows"`` if it updates only the entries a sparse gradient touches
      (Adagrad), else a message: torch's error for sparse gradients;
    * ``complex_error``: torch's error for complex parameters where torch has no complex
      support (Adafactor, Muon); ``None`` (the default) treats them as pairs of reals.

    The loop maps torch's state keys to the book's symbols, views complex parameters, their
    gradients and state as real pairs (``torch.view_as_real``, as torch does), and hands
    everything to the rule. Group hyperparameters are validated in ``add_param_group``; the rule
    gets them as Python numbers (a tensor's value), except, with ``differentiable=True``, a tensor
    that requires grad: a hyperparameter being learned, which autograd must see through.
    """

    rule: Callable
    state_names: dict = {}
    hyper_names: dict = {}
    flag_defaults: dict = {}
    sparse: str = "does not support sparse gradients"
    complex_error: str | None = None

    def __init__(self, params, defaults: dict):
        if getattr(type(self), "rule", None) is None:
            raise TypeError(f"{type(self).__name__} has no rule: subclass RuleOptimizer and set `rule` "
                            "(a rule made with gdbook.optim.rules.rule, or any pure update function)")
        self._check(**defaults)
        super().__init__(params, defaults)
        _check_flag_clique(defaults)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        rule = getattr(cls, "rule", None)
        if rule is None:  # an intermediate class without a rule of its own
            return
        params = inspect.signature(getattr(rule, "inplace", rule)).parameters.values()
        cls._rule_keys = [(p.name, cls.hyper_names.get(p.name, p.name)) for p in params if p.kind is p.KEYWORD_ONLY]
        cls._rule_takes_any = any(p.kind is p.VAR_KEYWORD for p in params)

    @classmethod
    def _check(cls, **hyper) -> None:
        """The rule's hyperparameter check (``check_hyper``, or the rule's own: Adafactor, Muon)."""
        getattr(cls.rule, "check", check_hyper)(**hyper)

    # -- groups and checkpoints ------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group as torch does, after checking its hyperparameters and its tensors' dtypes."""
        if isinstance(param_group, dict):  # the group's values with the defaults it inherits
            self._check(**{**self.defaults, **param_group})  # the checks leave names they do not know alone
        super().add_param_group(param_group)
        for i, p in enumerate(self.param_groups[-1]["params"]):
            if not (p.is_floating_point() or p.is_complex()):
                self.param_groups.pop()
                raise TypeError(f"{type(self).__name__} optimizes floating-point or complex tensors; "
                                f"parameter {i} of the group has dtype {p.dtype}")

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for key, value in self.flag_defaults.items():
                group.setdefault(key, value)
            for p in group["params"]:
                st = self.state.get(p)
                if not st:
                    continue
                for sym, key in self.state_names.items():  # a checkpoint in the book's names
                    if sym in st and key not in st:
                        st[key] = st.pop(sym)
                if "step" in st and not torch.is_tensor(st["step"]):
                    st["step"] = self._step_tensor(p, group, float(st["step"]))

    def _step_tensor(self, p, group, value=0.0):
        """``step`` as torch stores it: a 0-d float tensor, on the parameter's device if capturable or fused."""
        on_param = group.get("capturable") or group.get("fused")
        return torch.tensor(value, dtype=_scalar_dtype(group.get("fused")), device=p.device if on_param else "cpu")

    def _initial_state(self, p, group) -> dict:
        """The state torch creates for ``p`` before its first update (only ``step`` here)."""
        return {"step": self._step_tensor(p, group)} if "step" in self.state_names.values() else {}

    def rule_hyper(self, group: dict | None = None) -> dict:
        """The rule's keyword arguments for ``group`` (default: the constructor's ``defaults``).

        torch's group keys are mapped to the rule's keywords (``decoupled_weight_decay`` to
        ``decoupled``); bookkeeping flags the rule does not take (``foreach``, ``fused`` ...)
        are left out. With them, the pure rule (``rules.adam(x, g, state, **opt.rule_hyper())``,
        its state in the book's names) takes the steps ``opt`` takes.

        Examples:
            >>> w = torch.zeros(2, requires_grad=True)
            >>> AdamW([w]).rule_hyper()["decoupled"]
            True
        """
        group = self.defaults if group is None else group
        if self._rule_takes_any:  # rule(x, g, state, **hyper): every group value but torch's bookkeeping
            return {k: v for k, v in group.items() if k not in _BOOKKEEPING}
        return {kw: group[key] for kw, key in self._rule_keys if key in group}

    # -- the step --------------------------------------------------------------

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; return ``closure()``'s loss.

        Autograd records the update only if the optimizer was built with
        ``differentiable=True`` (torch's rule).
        """
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.set_grad_enabled(bool(self.defaults.get("differentiable"))):
            for group in self.param_groups:
                hyper = {kw: _number(v) for kw, v in self.rule_hyper(group).items()}
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p, p.grad, group, hyper)
        return loss

    def _update(self, p, g, group, hyper):
        st = self.state.get(p) or self._initial_state(p, group)
        if self.complex_error and p.is_complex():
            raise RuntimeError(self.complex_error)
        if g.is_sparse:
            if self.sparse == "rows":
                self._update_rows(p, g, st, hyper)
                return
            if self.sparse != "linear":
                raise RuntimeError(self.sparse)
        real = p.is_complex()
        x = torch.view_as_real(p) if real else p
        g = torch.view_as_real(g) if real else g
        # complex buffers as real pairs (a real scalar entry, NAdam's mu_product, as it is)
        book = self._to_book(st, _as_real)
        before = dict(book)
        self._apply(x, g, book, hyper)
        self._from_book(st, book, before, (lambda a: torch.view_as_complex(a) if a.shape == x.shape else a)
                        if real else None)
        if st:
            self.state[p] = st

    def _update_rows(self, p, g, st, hyper):
        """A sparse gradient: the rule runs on the rows it touches, the others keep their value and state."""
        if hyper.get("weight_decay"):
            raise RuntimeError("weight_decay option is not compatible with sparse gradients")
        g = g.coalesce()  # the update is not linear in g: duplicate indices must be summed first
        rows = tuple(g._indices())
        book = self._to_book(st, lambda a: a[rows])
        x = p[rows]
        self._apply(x, g._values(), book, hyper)
        p[rows] = x
        for sym, key in self.state_names.items():
            if key in st and key != "step":
                st[key][rows] = book[sym]
        st["step"] += 1
        self.state[p] = st

    def _to_book(self, st, view) -> dict:
        """The state in the book's symbols (entries without a torch name keep theirs): ``step`` as a
        number, every other tensor through ``view``."""
        symbol = {key: sym for sym, key in self.state_names.items()}
        book = {}
        for key, value in st.items():
            if key == "step":
                value = value.item()
            elif torch.is_tensor(value):
                value = view(value)
            book[symbol.get(key, key)] = value
        return book

    def _from_book(self, st, book, before, unview=None) -> None:
        """Store what the rule created or replaced under torch's names; count the step."""
        for sym, value in book.items():
            key = self.state_names.get(sym, sym)
            if key != "step" and before.get(sym) is not value:  # a buffer the rule created (its first step)
                st[key] = unview(value) if unview is not None and torch.is_tensor(value) else value
        if "step" in st:
            st["step"] += 1

    def _apply(self, x, g, book, hyper):
        rule = type(self).rule
        inplace = getattr(rule, "inplace", None)
        if inplace is not None:
            inplace(x, g, book, **hyper)
        else:
            x_new, new = rule(x, g, book, **hyper)
            x.copy_(x_new)
            book.update(new)


# ---------------------------------------------------------------------------
# The classes: torch's signatures; names mapped once
# ---------------------------------------------------------------------------

_IMPL_DOC = """
    ``foreach``, ``fused`` and ``capturable`` (where torch has them) are accepted, checked as
    torch checks them and stored in the groups; the update is computed by gdbook's
    per-parameter loop either way, with the results of torch's ``foreach=False`` path.
"""


class SGD(RuleOptimizer):
    r"""Gradient descent with optional momentum and Nesterov momentum (rule: [`sgd`][gdbook.optim.rules.sgd]).

    Same signature, defaults, state (``momentum_buffer``, only when ``momentum != 0``) and
    results as ``torch.optim.SGD``; sparse gradients are taken as they are.
    """

    rule = staticmethod(rules.sgd)
    state_names = {"v": "momentum_buffer"}
    flag_defaults = dict(nesterov=False, maximize=False, foreach=None, differentiable=False, fused=False)
    sparse = "linear"

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize, foreach=foreach,
                                      differentiable=differentiable, fused=fused))


class Adagrad(RuleOptimizer):
    r"""Adagrad (rule: [`adagrad`][gdbook.optim.rules.adagrad]), as ``torch.optim.Adagrad``.

    State ``step`` and ``sum``, created in the constructor as torch does. Sparse gradients
    update only the entries they touch (torch's sparse path). One difference: a group's own
    ``initial_accumulator_value`` fills that group's ``sum`` (torch uses the constructor's
    value for every group).
    """

    rule = staticmethod(rules.adagrad)
    state_names = {"t": "step", "s": "sum"}
    flag_defaults = dict(foreach=None, maximize=False, differentiable=False, fused=None)
    sparse = "rows"

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, fused=fused))
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p] = self._initial_state(p, group)

    def _initial_state(self, p, group) -> dict:
        init = _number(group["initial_accumulator_value"])
        return {**super()._initial_state(p, group),
                "sum": torch.full_like(p, complex(init, init) if p.is_complex() else init)}


class RMSprop(RuleOptimizer):
    r"""RMSProp (rule: [`rmsprop`][gdbook.optim.rules.rmsprop]), as ``torch.optim.RMSprop``.

    torch's ``alpha`` is the book's \(\gamma\), the decay of the squared-gradient average.
    State ``step``, ``square_avg``, and ``momentum_buffer`` / ``grad_avg`` with momentum /
    centered, as torch.
    """

    rule = staticmethod(rules.rmsprop)
    state_names = {"t": "step", "s": "square_avg", "v": "momentum_buffer", "g_avg": "grad_avg"}
    flag_defaults = dict(momentum=0, centered=False, foreach=None, maximize=False, differentiable=False,
                         capturable=False)
    sparse = "RMSprop does not support sparse gradients"

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                                      weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable))


class Adadelta(RuleOptimizer):
    r"""Adadelta (rule: [`adadelta`][gdbook.optim.rules.adadelta]), as ``torch.optim.Adadelta``.

    State ``step``, ``square_avg`` (the book's \(\mathbf s\)) and ``acc_delta`` (\(\mathbf u\)).
    """

    rule = staticmethod(rules.adadelta)
    state_names = {"t": "step", "s": "square_avg", "u": "acc_delta"}
    flag_defaults = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    sparse = "Adadelta does not support sparse gradients"

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      capturable=capturable, foreach=foreach, differentiable=differentiable))


class Adam(RuleOptimizer):
    r"""Adam (rule: [`adam`][gdbook.optim.rules.adam]), as ``torch.optim.Adam``: L2 weight decay,
    or decoupled weight decay with ``decoupled_weight_decay=True`` (then equal to ``AdamW``).

    State ``step``, ``exp_avg`` (\(\mathbf m\)), ``exp_avg_sq`` (\(\mathbf s\)) and, with
    ``amsgrad``, ``max_exp_avg_sq``. ``lr`` and ``betas`` may be tensors (``betas`` both
    floats or both tensors, as torch requires).
    """

    rule = staticmethod(rules.adam)
    state_names = {"t": "step", "m": "exp_avg", "s": "exp_avg_sq", "s_max": "max_exp_avg_sq"}
    hyper_names = {"decoupled": "decoupled_weight_decay"}
    flag_defaults = dict(amsgrad=False, maximize=False, foreach=None, capturable=False, differentiable=False,
                         decoupled_weight_decay=False, fused=None)
    sparse = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False):
        if isinstance(lr, torch.Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        check_hyper(lr=lr, eps=eps, betas=betas, weight_decay=weight_decay)
        if not (all(isinstance(b, float) for b in betas) or all(isinstance(b, torch.Tensor) for b in betas)):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, b in enumerate(betas):
            if isinstance(b, torch.Tensor) and foreach and not capturable:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True")
        betas = tuple(b.reshape(()) if isinstance(b, torch.Tensor) else b for b in betas)  # torch's _to_scalar
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))


class AdamW(Adam):
    r"""AdamW (rule: [`adam`][gdbook.optim.rules.adam] with decoupled weight decay), as ``torch.optim.AdamW``.

    The same as ``Adam(..., decoupled_weight_decay=True)`` with ``weight_decay=1e-2`` by default;
    a loaded ``state_dict`` always keeps ``decoupled_weight_decay=True``, as in torch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach, maximize=maximize,
                         capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


class NAdam(RuleOptimizer):
    r"""NAdam (rule: [`nadam`][gdbook.optim.rules.nadam]), as ``torch.optim.NAdam``: Adam with
    Nesterov momentum; L2 weight decay, or decoupled with ``decoupled_weight_decay=True``.

    State ``step``, ``mu_product`` (the product \(\mu_1\cdots\mu_t\), a 0-d tensor of torch's
    scalar dtype: float32 unless the default dtype is float64, as torch keeps it),
    ``exp_avg`` (\(\mathbf m\)), ``exp_avg_sq`` (\(\mathbf s\)).

    Examples:
        >>> w, v = torch.tensor([1.0, -2.0], requires_grad=True), torch.tensor([1.0, -2.0], requires_grad=True)
        >>> ours, theirs = NAdam([w], lr=0.1), torch.optim.NAdam([v], lr=0.1)
        >>> for _ in range(5):
        ...     w.grad, v.grad = 2 * w.detach(), 2 * v.detach()
        ...     _, _ = ours.step(), theirs.step()
        >>> [round(x, 4) for x in w.tolist()], torch.allclose(w, v)
        ([0.6237, -1.6085], True)
    """

    rule = staticmethod(rules.nadam)
    state_names = {"t": "step", "m": "exp_avg", "s": "exp_avg_sq", "mu_prod": "mu_product"}
    hyper_names = {"decoupled": "decoupled_weight_decay"}
    flag_defaults = dict(maximize=False, foreach=None, capturable=False, differentiable=False,
                         decoupled_weight_decay=False)
    sparse = "NAdam does not support sparse gradients"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                                      momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable))

    def _initial_state(self, p, group) -> dict:
        return {**super()._initial_state(p, group), "mu_product": self._step_tensor(p, group, 1.0)}

    def __setstate__(self, state):
        super().__setstate__(state)
        for group in self.param_groups:
            for p in group["params"]:
                st = self.state.get(p)
                if st and "mu_product" in st and not torch.is_tensor(st["mu_product"]):
                    st["mu_product"] = self._step_tensor(p, group, float(st["mu_product"]))


class RAdam(RuleOptimizer):
    r"""RAdam (rule: [`radam`][gdbook.optim.rules.radam]), as ``torch.optim.RAdam``: Adam with a
    rectified adaptive rate; L2 weight decay, or decoupled with ``decoupled_weight_decay=True``.

    State ``step``, ``exp_avg`` (\(\mathbf m\)), ``exp_avg_sq`` (\(\mathbf s\)).

    Examples:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = RAdam([w], lr=0.1)
        >>> for _ in range(5):                       # rho_t <= 5 for t <= 5: momentum steps
        ...     w.grad = 2 * w.detach()
        ...     _ = opt.step()
        >>> [round(x, 4) for x in w.tolist()]
        [0.2016, -0.4033]
    """

    rule = staticmethod(rules.radam)
    state_names = {"t": "step", "m": "exp_avg", "s": "exp_avg_sq"}
    hyper_names = {"decoupled": "decoupled_weight_decay"}
    flag_defaults = dict(foreach=None, maximize=False, differentiable=False, decoupled_weight_decay=False,
                         capturable=False)
    sparse = "RAdam does not support sparse gradients"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
                 *, foreach=None, maximize=False, capturable=False, differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, capturable=capturable,
                                      decoupled_weight_decay=decoupled_weight_decay, differentiable=differentiable))


class Adamax(RuleOptimizer):
    r"""Adamax (rule: [`adamax`][gdbook.optim.rules.adamax]), as ``torch.optim.Adamax``.

    State ``step``, ``exp_avg`` (\(\mathbf m\)), ``exp_inf`` (\(\mathbf u\), the decaying
    maximum of \(\lvert\mathbf g\rvert\)).

    Examples:
        >>> w = torch.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = Adamax([w], lr=0.1)
        >>> w.grad = torch.tensor([4.0, -0.5])
        >>> _ = opt.step()                            # the first step is lr * sign(g)
        >>> [round(x, 6) for x in w.tolist()]
        [0.9, -1.9]
    """

    rule = staticmethod(rules.adamax)
    state_names = {"t": "step", "m": "exp_avg", "u": "exp_inf"}
    flag_defaults = dict(foreach=None, maximize=False, differentiable=False, capturable=False)
    sparse = "Adamax does not support sparse gradients"

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize, differentiable=differentiable, capturable=capturable))


class Adafactor(RuleOptimizer):
    r"""Adafactor (rule: [`adafactor`][gdbook.optim.rules.adafactor]), as ``torch.optim.Adafactor``.

    State ``step`` and, for a parameter of two or more dimensions, ``row_var``
    (\(\mathbf R\), the last axis reduced to length 1) and ``col_var`` (\(\mathbf C\), the
    second-to-last reduced), else ``variance``; created at the first step, from the
    gradient's shape, as torch does. Complex parameters raise torch's error.

    Examples:
        >>> W = torch.ones(300, 200, requires_grad=True)
        >>> opt = Adafactor([W])
        >>> W.grad = torch.randn(300, 200, generator=torch.Generator().manual_seed(0))
        >>> _ = opt.step()
        >>> {k: tuple(v.shape) for k, v in opt.state[W].items()}   # 500 numbers of second moment, not 60 000
        {'step': (), 'row_var': (300, 1), 'col_var': (1, 200)}
    """

    rule = staticmethod(rules.adafactor)
    state_names = {"t": "step", "r": "row_var", "c": "col_var", "s": "variance"}
    flag_defaults = dict(foreach=None)
    sparse = "Adafactor does not support sparse gradients"
    complex_error = "Adafactor does not support complex parameters"

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
                 foreach=None, maximize=False):
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                                      foreach=foreach, maximize=maximize))


class Muon(RuleOptimizer):
    r"""Muon (rule: [`muon`][gdbook.optim.rules.muon]), as ``torch.optim.Muon``: for 2-D
    parameters only (the weight matrices of hidden layers; give biases and embeddings to a
    method such as AdamW, as torch's documentation advises).

    State ``momentum_buffer`` (\(\mathbf M\)). torch's Muon has no ``maximize``, ``foreach``
    or ``differentiable``; neither does this class. The Newton–Schulz iteration runs in
    bfloat16, as in torch.

    Examples:
        >>> W = torch.tensor([[2.0, 0.0], [0.0, 0.1]], requires_grad=True)
        >>> opt = Muon([W], lr=0.1, weight_decay=0.0)
        >>> W.grad = W.detach().clone()               # singular values 2 and 0.1 ...
        >>> _ = opt.step()
        >>> [round(x, 3) for x in W.detach().diagonal().tolist()]   # ... moves of similar size: 0.069, 0.075
        [1.931, 0.025]
    """

    rule = staticmethod(rules.muon)
    state_names = {"m": "momentum_buffer"}
    sparse = "Muon does not support sparse gradients"
    complex_error = "Muon does not support complex parameters"

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(3.4445, -4.775, 2.0315), eps=1e-7, ns_steps=5, adjust_lr_fn=None):
        super().__init__(params, dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                                      ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps,
                                      adjust_lr_fn=adjust_lr_fn))
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                                     f"{p.size()}")


class Lion(RuleOptimizer):
    r"""Lion (rule: [`lion`][gdbook.optim.rules.lion]; Chen et al., 2023), with decoupled weight decay.

    torch 2.13 has no Lion: the signature follows the paper (``betas=(0.9, 0.99)``; ``lr=1e-4``,
    AdamW's default divided by 10, as the paper advises 3 to 10 times smaller) and torch's
    conventions (``maximize``, ``foreach`` and ``differentiable`` accepted as in the other
    classes). State ``exp_avg`` (\(\mathbf m\)).

    Examples:
        >>> w = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
        >>> opt = Lion([w], lr=0.1)
        >>> w.grad = torch.tensor([5.0, -0.01, 0.0])
        >>> _ = opt.step()                            # every coordinate moves by lr, or not at all
        >>> [round(x, 6) for x in w.tolist()]
        [0.9, -1.9, 3.0]
    """

    rule = staticmethod(rules.lion)
    state_names = {"m": "exp_avg"}
    flag_defaults = dict(maximize=False, foreach=None, differentiable=False)
    sparse = "Lion does not support sparse gradients"

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False, foreach=None,
                 differentiable=False):
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay, maximize=maximize,
                                      foreach=foreach, differentiable=differentiable))


for _cls in (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, NAdam, RAdam, Adamax, Adafactor, Lion):
    _cls.__doc__ += _IMPL_DOC
