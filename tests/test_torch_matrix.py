"""gdbook.optim through PyTorch's own optimizer test inputs, compared with torch.optim.

The inputs come from the module torch ships for its optimizer tests,
``torch.testing._internal.common_optimizers`` (torch 2.13): for each of the eleven classes,
``optim_inputs_func`` (every hyperparameter combination torch tests, with the
implementation flags torch adds on CPU: ``differentiable``, ``fused``; ``foreach=True`` is
added here too) and ``optim_error_inputs_func`` (torch's bad inputs with the error each must
raise). Nothing of torch's test files is copied: each case below runs gdbook's class and
torch's on the same problem and requires the same result:

* trajectories with a closure, in float64, float32 and bfloat16, with zero and missing
  gradients, on complex parameters, with maximize, with torch's learning-rate schedulers;
* ``state_dict`` round trips in both directions (k steps with one, save, load into the
  other, continue: the same parameters as an uninterrupted torch run), then
  ``add_param_group``;
* two parameter groups with their own ``lr`` and ``weight_decay``;
* ``differentiable=True``: the gradient of the updated parameters with respect to the
  initial ones equals torch's;
* the same error type and message for every error input; the same signature and defaults;
  step and state-dict hooks called as torch calls them; sparse gradients (SGD, Adagrad).

Tolerances: float64 1e-12 relative (the two differ by rounding: torch's ``lerp_`` where
the rule writes the moving average as ``mul_`` and ``add_``), float32 torch's defaults for
``assert_close``, bfloat16 2e-2 (two roundings of a 3-significant-digit format).

Exceptions, with their reason:

* torch's CUDA-only inputs (the ``capturable`` configs) are not run: the module gives them
  only for CUDA devices;
* ``differentiable=True`` with Adam, AdamW and NAdam is compared to 1e-5 (relative) / 1e-6
  (absolute): torch computes the bias corrections there from the float32 ``step`` tensor
  (NAdam: its momentum coefficients from the float32 ``mu_product``); so is Muon with a
  tensor ``lr``, which torch keeps as a float32 tensor in the step size;
* NAdam's state_dict round trips are compared with torch's own resumed run: torch's
  ``load_state_dict`` casts the float32 ``mu_product`` to the parameter's dtype, and the
  resumed run leaves the uninterrupted one by ~1e-12;
* Adafactor and Muon have no complex support in torch (torch's error, checked in
  ``test_errors``), and Muon no ``foreach`` argument (no ``foreach=True`` variant); Muon's
  problem has a (2, 1) bias, as Muon takes 2-D parameters only;
* ``differentiable=True`` with SGD, momentum and weight decay: torch stores ``grad.detach()``
  as the first momentum buffer, cutting the gradient; gdbook's gradient differs from torch's
  there and is checked with ``gradcheck`` instead (as every differentiable config is);
* a state_dict saved in differentiable mode can hold tensors that require grad: where torch
  cannot step after loading it, gdbook must raise torch's error;
* torch's Adagrad fills the accumulator of every group from the constructor's
  ``initial_accumulator_value`` and gdbook from the group's own value (a documented
  difference; the inputs here never set it per group).
"""

from __future__ import annotations

import copy
import inspect
import io
import sys
import types
import unittest
import warnings

import pytest
import torch

import gdbook as gd

if "expecttest" not in sys.modules:
    try:
        import expecttest  # noqa: F401  (torch's test utilities import it; only its TestCase is used)
    except ImportError:
        sys.modules["expecttest"] = types.SimpleNamespace(TestCase=unittest.TestCase)
from torch.testing._internal import common_optimizers as co  # noqa: E402

pytestmark = [
    # differentiable configs set .grad on non-leaf parameters, as torch's tests do
    pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf"),
    # torch's sparse Adagrad builds its sparse tensors without invariant checks
    pytest.mark.filterwarnings("ignore:Sparse invariant checks are implicitly disabled"),
]

NAMES = ("SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Adafactor", "Muon")
INFOS = {info.name: info for info in co.optim_db if info.name in NAMES}
TOL = {torch.float64: dict(rtol=1e-12, atol=1e-14), torch.complex128: dict(rtol=1e-12, atol=1e-14),
       torch.float32: {}, torch.complex64: {}, torch.bfloat16: dict(rtol=2e-2, atol=2e-2)}


def _configs():
    """Every (class name, kwargs, description) torch tests on CPU, plus a ``foreach=True`` variant."""
    out = []
    for name in NAMES:
        info = INFOS[name]
        inputs = co._get_optim_inputs_including_global_cliquey_kwargs("cpu", torch.float64, info)
        for inp in inputs:
            out.append((name, inp.kwargs, inp.desc))
        if "foreach" not in inspect.signature(info.optim_cls).parameters:
            continue  # torch's Muon has one implementation and no foreach argument
        for inp in info.optim_inputs_func("cpu"):
            kw = dict(inp.kwargs, foreach=True)
            if name in ("Adam", "AdamW") and isinstance(kw.get("lr"), torch.Tensor):
                continue  # torch's own error input (tensor lr with foreach): tested in test_errors
            out.append((name, kw, inp.desc + " & foreach"))
    return out


CONFIGS = _configs()
IDS = [f"{name}-{desc}".replace(" ", "_") for name, _, desc in CONFIGS]


def _pair(name):
    return getattr(gd.optim, name), getattr(torch.optim, name)


def _problem(dtype, seed=0, matrices=False):
    """torch's linear least-squares problem: ``weight`` (2, 3), ``bias`` (2,) or, for Muon
    (``matrices``: 2-D parameters only), (2, 1), one input."""
    g = torch.Generator().manual_seed(seed)
    real = torch.float64 if dtype in (torch.complex128, torch.float64) else torch.float32
    weight = torch.randn(2, 3, generator=g, dtype=real)
    bias = torch.randn(2, generator=g, dtype=real)
    inp = torch.randn(3, generator=g, dtype=real)
    if dtype.is_complex:
        weight = torch.complex(weight, torch.randn(2, 3, generator=g, dtype=real))
        bias = torch.complex(bias, torch.randn(2, generator=g, dtype=real))
        inp = inp.to(dtype)
    bias = bias.reshape(2, 1) if matrices else bias
    return weight.to(dtype), bias.to(dtype), inp.to(dtype)


def _loss(weight, bias, inp):
    y = weight.mv(inp) + bias.reshape(-1)
    return (torch.view_as_real(y) if y.is_complex() else y).pow(2).sum()


def _leaves(init, differentiable):
    """Parameters: leaves, or (differentiable) non-leaf copies of leaves, as torch's tests use."""
    leaves = [t.clone().requires_grad_(True) for t in init]
    return leaves, ([t.clone() for t in leaves] if differentiable else leaves)


def _run(cls, kwargs, dtype, steps=6, *, sd_at=None, other=None, missing=False, zero=False, scheds=()):
    """Train with a closure; optionally switch to class ``other`` through a state_dict after ``sd_at`` steps.

    Returns the final parameters, the optimizer and the leaves.
    """
    diff = bool(kwargs.get("differentiable"))
    weight, bias, inp = _problem(dtype, matrices=cls.__name__ == "Muon")
    leaves, params = _leaves((weight, bias), diff)
    opt = cls(params, **copy.deepcopy(kwargs))
    schedulers = [make(opt) for make in scheds]

    def closure():
        opt.zero_grad()
        grads = torch.autograd.grad(_loss(params[0], params[1], inp), params)
        for p, gr in zip(params, grads):
            p.grad = torch.zeros_like(gr) if zero else gr.detach()
        if missing:
            params[1].grad = None
        return loss_value(grads)

    def loss_value(_):
        return _loss(params[0].detach(), params[1].detach(), inp)

    for t in range(steps):
        if sd_at is not None and t == sd_at:
            buf = io.BytesIO()
            torch.save(opt.state_dict(), buf)
            buf.seek(0)
            params = [p.detach().clone().requires_grad_(True) for p in params]
            if diff:
                params = [p.clone() for p in params]
            opt = other(params, **copy.deepcopy(kwargs))
            opt.load_state_dict(torch.load(buf, weights_only=False))
        loss = opt.step(closure)
        for s in schedulers:
            if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
                s.step(float(loss))
            else:
                s.step()
    return params, opt, leaves


def _close(a, b, dtype, what, loose=False):
    tol = dict(rtol=1e-5, atol=1e-6) if loose and dtype in (torch.float64, torch.complex128) else TOL[dtype]
    torch.testing.assert_close(a, b, **tol, msg=lambda m: f"{what}: {m}")


def _loose(name, kwargs):
    """Adam's differentiable path in torch computes the bias corrections from the float32
    ``step`` tensor, NAdam's its momentum coefficients from the float32 ``mu_product``, and
    Muon keeps a tensor ``lr`` as a float32 tensor (``lr * ratio``, ``1 - lr * weight_decay``
    in float32): an error ~1e-7 to 1e-6 of each step in float64, so 1e-5 relative, 1e-6
    absolute there."""
    if name == "Muon":
        return isinstance(kwargs.get("lr"), torch.Tensor)
    return name in ("Adam", "AdamW", "NAdam") and bool(kwargs.get("differentiable"))


def _close_state(ours, theirs, dtype, loose=False):
    """Same state entries per parameter (keys, dtypes, shapes), same values."""
    so, st = ours.state_dict(), theirs.state_dict()
    assert so["param_groups"] == st["param_groups"]
    assert so["state"].keys() == st["state"].keys()
    for i in st["state"]:
        assert so["state"][i].keys() == st["state"][i].keys(), i
        for k, v in st["state"][i].items():
            w = so["state"][i][k]
            assert (w.dtype, w.shape, w.device) == (v.dtype, v.shape, v.device), (i, k)
            _close(w, v, dtype if k != "step" else v.dtype, f"state[{i}][{k!r}]", loose)


def _dtypes(name, kwargs):
    out = [torch.float64, torch.float32]
    if not kwargs.get("fused") and INFOS[name].supports_complex:  # Adafactor, Muon: torch's error (test_errors)
        out.append(torch.complex128)
    if not kwargs.get("differentiable"):
        out.append(torch.bfloat16)
    return out


# ---------------------------------------------------------------------------
# Every hyperparameter combination torch tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name,kwargs,desc", CONFIGS, ids=IDS)
def test_same_trajectory_and_state(name, kwargs, desc):
    """Closure-driven training: same parameters and same state as torch (float64/32, complex, bfloat16)."""
    ours, theirs = _pair(name)
    for dtype in _dtypes(name, kwargs):
        a, oa, _ = _run(ours, kwargs, dtype)
        b, ob, _ = _run(theirs, kwargs, dtype)
        for x, y in zip(a, b):
            _close(x.detach(), y.detach(), dtype, f"{desc} {dtype}", _loose(name, kwargs))
        _close_state(oa, ob, dtype, _loose(name, kwargs))
        if dtype == torch.float64:
            assert not torch.equal(b[0].detach(), _problem(dtype)[0]), "the parameters should have moved"


@pytest.mark.parametrize("name,kwargs,desc", CONFIGS, ids=IDS)
def test_zero_and_missing_grads(name, kwargs, desc):
    """Zero gradients (the step may still move: weight decay) and a parameter without a gradient."""
    ours, theirs = _pair(name)
    for flags in (dict(zero=True), dict(missing=True)):
        a, oa, _ = _run(ours, kwargs, torch.float64, **flags)
        b, ob, _ = _run(theirs, kwargs, torch.float64, **flags)
        for x, y in zip(a, b):
            _close(x.detach(), y.detach(), torch.float64, f"{desc} {flags}", _loose(name, kwargs))
        _close_state(oa, ob, torch.float64, _loose(name, kwargs))


@pytest.mark.parametrize("direction", ["torch->gdbook", "gdbook->torch"])
@pytest.mark.parametrize("name,kwargs,desc", CONFIGS, ids=IDS)
def test_state_dict_moves_between_torch_and_gdbook(name, kwargs, desc, direction):
    """k steps with one, save, load into the other, continue: the uninterrupted torch run, to 1e-12."""
    ours, theirs = _pair(name)
    first, second = (theirs, ours) if direction == "torch->gdbook" else (ours, theirs)
    if kwargs.get("differentiable"):
        # The saved state may require grad; after loading, such a tensor is a leaf that requires
        # grad, which torch itself cannot update in place. gdbook must do what torch does: the
        # same error, or (where torch goes on) the same parameters.
        def outcome(a, b):
            try:
                return "ok", [p.detach() for p in _run(a, kwargs, torch.float64, steps=8, sd_at=4, other=b)[0]]
            except RuntimeError as exc:
                return "error", str(exc)

        (kind, expected), (got_kind, got) = outcome(theirs, theirs), outcome(first, second)
        assert got_kind == kind, got
        if kind == "error":
            assert got == expected
        else:
            for x, y in zip(got, expected):
                _close(x, y, torch.float64, f"{desc} {direction}", _loose(name, kwargs))
        return
    if name == "NAdam":
        # torch's load_state_dict casts every state entry but ``step`` to the parameter's dtype:
        # NAdam's float32 mu_product becomes float64, and torch's own resumed run leaves its
        # uninterrupted run by ~1e-12. The reference is torch's resumed run.
        ref, _, _ = _run(theirs, kwargs, torch.float64, steps=8, sd_at=4, other=theirs)
    else:
        ref, _, _ = _run(theirs, kwargs, torch.float64, steps=8)
    moved, opt, _ = _run(first, kwargs, torch.float64, steps=8, sd_at=4, other=second)
    assert type(opt) is second
    for x, y in zip(moved, ref):
        _close(x.detach(), y.detach(), torch.float64, f"{desc} {direction}", _loose(name, kwargs))
    # a group added after loading takes steps too, as in torch
    extra = torch.ones((3, 1) if name == "Muon" else 3, dtype=torch.float64,
                       requires_grad=not kwargs.get("differentiable"))
    if kwargs.get("differentiable"):
        extra = extra.clone().requires_grad_(True).clone()
    opt.add_param_group({"params": [extra]})
    extra.grad = torch.full_like(extra.detach(), 0.5)
    opt.step()
    assert not torch.equal(extra.detach(), torch.ones(3, dtype=torch.float64))


@pytest.mark.parametrize("name,kwargs,desc", CONFIGS, ids=IDS)
def test_param_groups(name, kwargs, desc):
    """Two groups, the second with its own lr and weight decay (torch's test_param_groups_*)."""
    ours, theirs = _pair(name)
    group_lr = torch.tensor(0.02) if isinstance(kwargs.get("lr"), torch.Tensor) else 0.02
    results = []
    for cls in (ours, theirs):
        weight, bias, inp = _problem(torch.float64, seed=3, matrices=name == "Muon")
        diff = bool(kwargs.get("differentiable"))
        (w, b), params = _leaves((weight, bias), diff)
        opt = cls([{"params": [params[0]]}, {"params": [params[1]], "lr": group_lr, "weight_decay": 0.3}],
                  **copy.deepcopy(kwargs))
        for _ in range(6):
            opt.zero_grad()
            gw, gb = torch.autograd.grad(_loss(params[0], params[1], inp), params)
            params[0].grad, params[1].grad = gw.detach(), gb.detach()
            opt.step()
        results.append([p.detach() for p in params])
    for x, y in zip(*results):
        _close(x, y, torch.float64, desc, _loose(name, kwargs))


@pytest.mark.parametrize("name,kwargs,desc", [c for c in CONFIGS if c[1].get("differentiable")],
                         ids=[i for c, i in zip(CONFIGS, IDS) if c[1].get("differentiable")])
def test_differentiable_gradients_match(name, kwargs, desc):
    """``differentiable=True``: autograd sees through a step; the gradient passes ``gradcheck``
    and equals torch's, except where torch cuts the graph: SGD's first momentum step
    (torch stores ``grad.detach()`` as the new buffer; gdbook keeps the exact derivative)."""
    ours, theirs = _pair(name)

    def gradient(cls, steps):
        params, opt, leaves = _run(cls, kwargs, torch.float64, steps=steps)
        return torch.autograd.grad(sum((p * p).sum() for p in params), leaves)

    try:
        steps, expected = 3, gradient(theirs, 3)
    except RuntimeError:  # torch differentiates through one step only here (RMSprop centered, Adam amsgrad)
        steps, expected = 1, gradient(theirs, 1)
    grads = [gradient(ours, steps), expected]
    for x in grads[0]:
        assert torch.isfinite(x).all() and x.abs().sum() > 0
    if name == "SGD" and kwargs.get("momentum") and kwargs.get("weight_decay"):
        assert any(not torch.allclose(x, y) for x, y in zip(*grads)), "torch's first momentum step is detached"
    else:
        for x, y in zip(*grads):
            _close(x, y, torch.float64, f"{desc}: gradient through the steps", _loose(name, kwargs))

    def one_step(w, b):
        w, b = w.clone(), b.clone()
        opt = ours([w, b], **copy.deepcopy(kwargs))
        gw, gb = torch.autograd.grad(_loss(w, b, inp), (w, b), create_graph=True)
        w.grad, b.grad = gw, gb
        opt.step()
        return w, b

    weight, bias, inp = _problem(torch.float64)
    assert torch.autograd.gradcheck(one_step, (weight.requires_grad_(), bias.requires_grad_()))


@pytest.mark.parametrize("name", NAMES)
def test_with_torch_schedulers(name):
    """Every scheduler combination torch runs with this class."""
    ours, theirs = _pair(name)
    for scheds in INFOS[name].scheduler_inputs:
        a, _, _ = _run(ours, {}, torch.float64, steps=12, scheds=scheds)
        b, _, _ = _run(theirs, {}, torch.float64, steps=12, scheds=scheds)
        for x, y in zip(a, b):
            _close(x.detach(), y.detach(), torch.float64, f"{name} with {len(scheds)} scheduler(s)")


# ---------------------------------------------------------------------------
# Errors, signatures, hooks, sparse gradients
# ---------------------------------------------------------------------------


def _error_cases():
    out = []
    for name in NAMES:
        for dtype in (torch.float32, torch.float64):
            for i, e in enumerate(INFOS[name].optim_error_inputs_func("cpu", dtype)):
                out.append(pytest.param(name, dtype, i, id=f"{name}-{dtype}-{e.optimizer_error_input.desc}"))
    return out


def _outcome(cls, error_input):
    """What constructing (and stepping) ``cls`` with a torch error input does: (type, message)."""
    inp = copy.deepcopy(error_input.optimizer_error_input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            opt = cls(inp.params, **inp.kwargs)
            if error_input.error_on == co.OptimizerErrorEnum.STEP_ERROR:
                opt.step()
        except Exception as exc:  # noqa: BLE001 - the type is what is compared
            return type(exc), str(exc)
    for w in caught:
        if issubclass(w.category, error_input.error_type):
            return w.category, str(w.message)
    return None, ""


@pytest.mark.parametrize("name,dtype,index", _error_cases())
def test_errors(name, dtype, index):
    """torch's error inputs: the same exception (or warning) type and message as torch."""
    error_input = INFOS[name].optim_error_inputs_func("cpu", dtype)[index]
    ours, theirs = _pair(name)
    got, expected = _outcome(ours, error_input), _outcome(theirs, error_input)
    assert expected[0] is error_input.error_type
    assert got == expected


@pytest.mark.parametrize("name", NAMES)
def test_signature_and_defaults(name):
    """Parameter names, kinds and defaults of the constructor are torch's; so are the group keys."""
    ours, theirs = _pair(name)
    so, st = inspect.signature(ours), inspect.signature(theirs)
    assert [(p.name, p.kind, p.default) for p in so.parameters.values()] == \
           [(p.name, p.kind, p.default) for p in st.parameters.values()]
    w = torch.zeros((2, 2) if name == "Muon" else 2, requires_grad=True)
    assert ours([w]).defaults == theirs([w]).defaults
    _close_state(ours([w]), theirs([w]), torch.float32)  # Adagrad's state exists before any step


@pytest.mark.parametrize("name", NAMES)
def test_hooks(name):
    """Step pre/post hooks, state_dict and load_state_dict hooks run as in torch."""
    calls = {}
    for cls in _pair(name):
        log = calls[cls.__module__.split(".")[0]] = []
        w = torch.ones((2, 2) if name == "Muon" else 2, dtype=torch.float64, requires_grad=True)
        opt = cls([w], lr=0.1)
        opt.register_step_pre_hook(lambda o, a, k: log.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: log.append("post"))
        opt.register_state_dict_pre_hook(lambda o: log.append("sd-pre"))
        opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd-post", sorted(sd))))
        opt.register_load_state_dict_pre_hook(lambda o, sd: log.append("load-pre"))
        opt.register_load_state_dict_post_hook(lambda o: log.append("load-post"))
        w.grad = torch.ones_like(w.detach())
        opt.step()
        opt.load_state_dict(opt.state_dict())
        log.append(w.tolist())
    assert calls["gdbook"] == calls["torch"]


@pytest.mark.parametrize("name", ["SGD", "Adagrad"])
def test_sparse_gradients(name):
    """torch's sparse metadata: an embedding-like parameter with sparse, repeated-index gradients."""
    info = INFOS[name]
    kwargs, _ = info.metadata_for_sparse
    out = []
    for cls in _pair(name):
        g = torch.Generator().manual_seed(0)
        w = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
        opt = cls([w], **kwargs)
        for k in range(10):
            idx = torch.tensor([[k % 6, (2 * k) % 6, k % 6]])  # a repeated index: coalesced by the step
            w.grad = torch.sparse_coo_tensor(idx, torch.randn(3, 3, generator=g, dtype=torch.float64), (6, 3),
                                             check_invariants=True)
            opt.step()
        out.append((w.detach(), opt.state_dict()))
    _close(out[0][0], out[1][0], torch.float64, name)
    for i, st in out[1][1]["state"].items():
        for k, v in st.items():
            ours = out[0][1]["state"][i][k]
            _close(ours.to_dense() if ours.is_sparse else ours, v.to_dense() if v.is_sparse else v,
                   torch.float64, k)


@pytest.mark.parametrize("name", ["RMSprop", "Adadelta", "Adam", "AdamW", "NAdam", "RAdam", "Adamax", "Adafactor", "Muon"])
def test_sparse_gradients_rejected_as_torch_does(name):
    outcomes = []
    for cls in _pair(name):
        w = torch.zeros((3, 2) if name == "Muon" else 3, dtype=torch.float64, requires_grad=True)
        opt = cls([w])
        w.grad = torch.zeros_like(w.detach()).to_sparse()
        with pytest.raises(RuntimeError) as info:
            opt.step()
        outcomes.append(str(info.value))
    assert outcomes[0] == outcomes[1]
