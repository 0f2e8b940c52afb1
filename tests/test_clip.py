"""gdbook.clip against torch.nn.utils: the returned norm and the clipped gradients, including NaN and inf."""

from __future__ import annotations

import math
import random

import pytest
import torch

from gdbook import clip

NORMS = [2.0, 1.0, math.inf, 3.0, 1.5]


def random_params(seed: int, dtype=torch.float64) -> list[torch.Tensor]:
    """A few parameters of random shapes with gradients of random scales; one without a gradient."""
    r = random.Random(seed)
    g = torch.Generator().manual_seed(seed)
    params = []
    for _ in range(r.randint(1, 5)):
        shape = tuple(r.randint(1, 6) for _ in range(r.randint(0, 3)))
        p = torch.zeros(shape, dtype=dtype, requires_grad=True)
        p.grad = 10 ** r.uniform(-3, 3) * torch.randn(shape, generator=g, dtype=dtype)
        params.append(p)
    params.insert(r.randint(0, len(params)), torch.zeros(2, dtype=dtype, requires_grad=True))  # .grad is None
    return params


def twins(params):
    """A second set of the same parameters and gradients (one for gdbook, one for torch)."""
    out = []
    for p in params:
        q = p.detach().clone().requires_grad_(True)
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


def assert_same_grads(ours, theirs, rtol=1e-12):
    for a, b in zip(ours, theirs, strict=True):
        if b.grad is None:
            assert a.grad is None
        else:
            assert a.grad.dtype == b.grad.dtype and a.grad.shape == b.grad.shape
            assert torch.isclose(a.grad, b.grad, rtol=rtol, atol=0.0, equal_nan=True).all(), (a.grad, b.grad)


@pytest.mark.parametrize("norm_type", NORMS)
@pytest.mark.parametrize("seed", range(10))
def test_clip_grad_norm_matches_torch(seed, norm_type):
    """max_norm from a tenth of the norm to ten times it: clipped or left alone. The norm and
    the gradients are torch's bit for bit (the vanishing-gradients chapter states it)."""
    ours = random_params(seed)
    theirs = twins(ours)
    norm = torch.nn.utils.get_total_norm([p.grad for p in theirs if p.grad is not None], norm_type).item()
    max_norm = norm * 10 ** random.Random(seed).uniform(-1, 1)
    total = clip.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total.dtype == expected.dtype and total.shape == ()
    assert total.item() == expected.item()  # bit for bit: the same sums in the same order
    assert_same_grads(ours, theirs, rtol=0)
    after = torch.nn.utils.get_total_norm([p.grad for p in ours if p.grad is not None], norm_type).item()
    assert after <= max_norm * (1 + 1e-12)
    assert (after == pytest.approx(norm, rel=1e-12)) == (max_norm >= norm + 1e-6)  # untouched iff within the bound


def test_clip_grad_norm_float32_and_mixed_dtypes():
    ours = random_params(3, torch.float32) + random_params(4, torch.float64)
    theirs = twins(ours)
    total = clip.clip_grad_norm_(ours, 0.5)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5)
    assert total.dtype == expected.dtype == torch.float64
    assert total.item() == pytest.approx(expected.item(), rel=1e-6)
    assert_same_grads(ours, theirs, rtol=1e-6)


def test_total_norm_matches_get_total_norm():
    for seed in range(5):
        grads = [p.grad for p in random_params(seed) if p.grad is not None]
        for p in NORMS:
            assert clip.total_norm(grads, p).item() == pytest.approx(
                torch.nn.utils.get_total_norm(grads, p).item(), rel=1e-12)
    assert clip.total_norm(torch.tensor([3.0, -4.0])).item() == 5.0
    assert clip.total_norm([torch.tensor([1.0, -2.0]), torch.tensor([3.0])], 1).item() == 6.0
    assert clip.total_norm([torch.tensor([1.0, -2.0]), torch.tensor([3.0])], math.inf).item() == 3.0
    assert clip.total_norm([torch.zeros(0)], math.inf).item() == 0.0  # torch raises here
    assert clip.total_norm(torch.tensor(-3.0)).item() == 3.0  # a single 0-d tensor


def test_no_gradients_give_norm_zero_as_in_torch():
    ps = [torch.zeros(2, requires_grad=True)]
    for f in (clip.clip_grad_norm_, torch.nn.utils.clip_grad_norm_):
        n = f(ps, 1.0)
        assert n.item() == 0.0 and n.dtype == torch.float32
    assert clip.clip_grad_norm_([], 1.0).item() == 0.0


def test_a_single_tensor_is_accepted():
    w, v = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    w.grad, v.grad = torch.tensor([6.0, 8.0]), torch.tensor([6.0, 8.0])
    assert clip.clip_grad_norm_(w, 5.0).item() == torch.nn.utils.clip_grad_norm_(v, 5.0).item() == 10.0
    assert torch.equal(w.grad, v.grad)


# --- non-finite gradients: what torch does, and error_if_nonfinite ---------------------------------

NONFINITE = {
    "nan": [1.0, math.nan, -2.0],
    "inf": [1.0, math.inf, -2.0],
    "-inf": [1.0, -math.inf, -2.0],
    "nan and inf": [math.nan, math.inf, -2.0],
}


def nonfinite_params(values):
    a, b = torch.zeros(3, dtype=torch.float64, requires_grad=True), torch.zeros(2, dtype=torch.float64, requires_grad=True)
    a.grad = torch.tensor(values, dtype=torch.float64)
    b.grad = torch.tensor([0.5, -3.0], dtype=torch.float64)  # a finite gradient beside it
    return [a, b]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
@pytest.mark.parametrize("case", NONFINITE)
def test_nonfinite_gradients_are_treated_as_in_torch(case, norm_type):
    ours = nonfinite_params(NONFINITE[case])
    theirs = twins(ours)
    total = clip.clip_grad_norm_(ours, 1.0, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    assert total.dtype == expected.dtype and torch.isclose(total, expected, rtol=0, atol=0, equal_nan=True)
    assert_same_grads(ours, theirs, rtol=0)
    if "nan" in case:  # a NaN anywhere: every entry NaN
        assert math.isnan(total.item()) and all(p.grad.isnan().all() for p in ours)
    else:  # infinite: finite entries become 0, infinite ones NaN
        assert total.item() == math.inf
        assert ours[1].grad.eq(0).all() and ours[0].grad.isnan().sum() == 1


@pytest.mark.parametrize("case", NONFINITE)
def test_error_if_nonfinite_raises_before_touching_the_gradients(case):
    ours = nonfinite_params(NONFINITE[case])
    before = twins(ours)
    with pytest.raises(RuntimeError, match="non-finite") as mine:
        clip.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite") as theirs:
        torch.nn.utils.clip_grad_norm_(twins(before), 1.0, error_if_nonfinite=True)
    assert str(mine.value) == str(theirs.value)  # torch's message, word for word
    assert_same_grads(ours, before, rtol=0)
    # without the flag (the default, as in torch) the norm is returned, not raised
    assert not torch.isfinite(clip.total_norm([p.grad for p in ours]))


def test_overflow_of_the_two_norm_is_torchs():
    """Entries near 1e200 square to inf in both: the norm is inf and the gradients are zeroed."""
    ours = [torch.zeros(2, dtype=torch.float64, requires_grad=True)]
    ours[0].grad = torch.tensor([1e200, -1e200], dtype=torch.float64)
    theirs = twins(ours)
    assert clip.clip_grad_norm_(ours, 1.0).item() == torch.nn.utils.clip_grad_norm_(theirs, 1.0).item() == math.inf
    assert_same_grads(ours, theirs, rtol=0)


# --- by value -------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_clip_grad_value_matches_torch(seed):
    ours = random_params(seed)
    theirs = twins(ours)
    c = 10 ** random.Random(seed).uniform(-3, 3)
    assert clip.clip_grad_value_(ours, c) is None
    torch.nn.utils.clip_grad_value_(theirs, c)
    assert_same_grads(ours, theirs, rtol=0)
    assert all(p.grad.abs().max() <= c for p in ours if p.grad is not None and p.grad.numel())


@pytest.mark.parametrize("case", NONFINITE)
def test_clip_grad_value_nonfinite_as_in_torch(case):
    ours = nonfinite_params(NONFINITE[case])
    theirs = twins(ours)
    clip.clip_grad_value_(ours, 1.0)
    torch.nn.utils.clip_grad_value_(theirs, 1.0)
    assert_same_grads(ours, theirs, rtol=0)
    assert ours[0].grad.isnan().sum() == ("nan" in case)  # NaN stays, +-inf becomes +-1


def test_clip_grad_value_single_tensor_and_zero():
    w = torch.zeros(3, requires_grad=True)
    w.grad = torch.tensor([3.0, -0.5, -7.0])
    clip.clip_grad_value_(w, 0.0)
    assert w.grad.abs().max() == 0.0


# --- arguments ------------------------------------------------------------------------------------


def _w():
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.ones(2)
    return w


@pytest.mark.parametrize("call,exc,message", [
    (lambda: clip.clip_grad_norm_(_w(), -1.0), ValueError, "max_norm must be in [0.0, inf], got -1.0"),
    (lambda: clip.clip_grad_norm_(_w(), math.nan), ValueError, "max_norm must be in [0.0, inf], got nan"),
    (lambda: clip.clip_grad_norm_(_w(), "1"), TypeError, "max_norm must be a real number, got str: '1'"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, 0.5), ValueError, "norm_type must be in [1, inf] (a norm), got 0.5"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, -math.inf), ValueError, "norm_type must be in [1, inf] (a norm), got -inf"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, math.nan), ValueError, "norm_type must be in [1, inf] (a norm), got nan"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, "inf"), TypeError, "norm_type must be a real number, got str: 'inf'"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, error_if_nonfinite=1), TypeError,
     "error_if_nonfinite must be True or False, got int: 1"),
    (lambda: clip.clip_grad_norm_(_w(), 1.0, foreach="yes"), TypeError, "foreach must be True or False, got str: 'yes'"),
    (lambda: clip.clip_grad_value_(_w(), -0.1), ValueError, "clip_value must be in [0.0, inf], got -0.1"),
    (lambda: clip.clip_grad_value_(_w(), 1.0, foreach=0), TypeError, "foreach must be True or False, got int: 0"),
    (lambda: clip.total_norm([torch.ones(2)], 0), ValueError, "norm_type must be in [1, inf] (a norm), got 0"),
])
def test_bad_arguments_name_the_argument_and_range(call, exc, message):
    with pytest.raises(exc) as err:
        call()
    assert str(err.value) == message


def test_accepted_edges_of_the_ranges():
    w = _w()
    assert clip.clip_grad_norm_(w, math.inf, foreach=False).item() == pytest.approx(math.sqrt(2))
    assert w.grad.tolist() == [1.0, 1.0]  # an infinite bound clips nothing
    assert clip.clip_grad_norm_(w, 0.0, 1, foreach=True).item() == 2.0 and w.grad.abs().max() == 0.0
    w = _w()
    clip.clip_grad_value_(w, math.inf, foreach=None)
    assert w.grad.tolist() == [1.0, 1.0]


def test_what_torch_does_with_the_arguments_gdbook_refuses():
    """The docstrings' reasons: a negative max_norm reverses the gradients, a negative clip_value
    sets every entry to it, and an infinite max_norm with an infinite gradient gives NaN everywhere."""
    w = _w()
    torch.nn.utils.clip_grad_norm_(w, -1.0)
    assert (w.grad < 0).all()
    w = _w()
    w.grad = torch.tensor([3.0, -5.0])
    torch.nn.utils.clip_grad_value_(w, -0.5)
    assert w.grad.tolist() == [-0.5, -0.5]
    ours = nonfinite_params(NONFINITE["inf"])
    theirs = twins(ours)
    clip.clip_grad_norm_(ours, math.inf)
    torch.nn.utils.clip_grad_norm_(theirs, math.inf)
    assert_same_grads(ours, theirs, rtol=0)
    assert all(p.grad.isnan().all() for p in ours)
