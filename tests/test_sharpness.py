"""gdbook.sharpness: power iteration on Hessian-vector products against dense Hessians."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from gdbook import sharpness as sh
from gdbook.nets import MLP

F64 = torch.float64


def quadratic(eigenvalues, seed=0):
    """½ xᵀ A x with A = Q diag(eigenvalues) Qᵀ for a random orthogonal Q, at a random x."""
    g = torch.Generator().manual_seed(seed)
    n = len(eigenvalues)
    Q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    A = Q @ torch.diag(torch.tensor(eigenvalues, dtype=F64)) @ Q.T
    x = torch.randn(n, generator=g, dtype=F64, requires_grad=True)
    return 0.5 * x @ A @ x, x, A


@pytest.mark.parametrize("eigenvalues,shifted", [
    ([5.0, 2.0, 1.0, -0.5], False),  # the usual case: the top eigenvalue is also the largest in magnitude
    ([3.0, 1.0, 0.5, -10.0], True),  # a negative eigenvalue of larger magnitude: power iteration alone gives -10
    ([-1.0, -2.0, -10.0], True),  # all negative: the top one is -1
    ([4.0, -4.0, 1.0], True),  # a tie in magnitude: the first run swings and does not settle
    ([2.0, 2.0, 0.1, -1.0], False),  # a repeated top eigenvalue
    ([0.0, -3.0, 0.0], True),  # the top eigenvalue is 0
])
def test_quadratic_with_known_eigenvalues(eigenvalues, shifted):
    loss, x, A = quadratic(eigenvalues)
    top = sh.top_eigenvalue(loss, [x], seed=0, tol=1e-10, max_iter=300)
    assert top.converged and top.shifted == shifted
    assert top.value == pytest.approx(max(eigenvalues), abs=1e-9 * max(map(abs, eigenvalues)))
    assert top.scale == pytest.approx(max(map(abs, eigenvalues)), rel=1e-3)
    # the vector is an eigenvector: A v = λ v, to the residual reported
    v = top.vector
    assert torch.linalg.vector_norm(A @ v - top.value * v).item() == pytest.approx(top.residual, rel=1e-6, abs=1e-14)
    assert top.residual <= 1e-10 * top.scale


def test_plain_power_iteration_finds_the_negative_one():
    """Why the shift is needed: the first run alone converges to -10, the largest in magnitude."""
    loss, x, _ = quadratic([3.0, 1.0, 0.5, -10.0])
    H = sh.hvp(loss, [x])
    v = torch.randn(4, generator=torch.Generator().manual_seed(0), dtype=F64)
    for _ in range(200):
        v = H(v) / torch.linalg.vector_norm(H(v))
    assert torch.dot(v, H(v)).item() == pytest.approx(-10.0, rel=1e-12)


def test_the_tie_defeats_an_unshifted_rayleigh_quotient():
    """With eigenvalues 4 and -4 the Rayleigh quotient of plain power iteration is constant (it
    'settles') at a value that is no eigenvalue: the residual test is what catches it."""
    loss, x, _ = quadratic([4.0, -4.0, 1.0])
    H = sh.hvp(loss, [x])
    v = torch.randn(3, generator=torch.Generator().manual_seed(0), dtype=F64)
    thetas = []
    for _ in range(100):
        v = H(v) / torch.linalg.vector_norm(H(v))
        thetas.append(torch.dot(v, H(v)).item())
    assert abs(thetas[-1] - thetas[-3]) < 1e-12 and min(abs(thetas[-1] - 4), abs(thetas[-1] + 4)) > 0.1


def dense_hessian(net, X, y):
    names = [n for n, _ in net.named_parameters()]
    shapes = [p.shape for p in net.parameters()]
    flat = torch.cat([p.detach().reshape(-1) for p in net.parameters()])

    def loss(w):
        parts, i = {}, 0
        for name, shape in zip(names, shapes):
            k = math.prod(shape)
            parts[name] = w[i:i + k].view(shape)
            i += k
        return torch.nn.functional.mse_loss(functional_call(net, parts, (X,)), y)

    return torch.autograd.functional.hessian(loss, flat)


@pytest.mark.parametrize("seed", range(4))
def test_tiny_net_matches_the_dense_hessian(seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(30, 3, generator=g, dtype=F64)
    y = torch.sin(X[:, :1]) + X[:, 1:2] * X[:, 2:]
    net = MLP(3, 5, depth=2, out_features=1, activation="tanh", init="xavier_normal", generator=seed)
    before = [p.detach().clone() for p in net.parameters()]
    top = sh.sharpness(net, X, y, seed=seed, tol=1e-9, max_iter=3000)
    eig = torch.linalg.eigvalsh(dense_hessian(net, X, y))
    assert top.converged
    assert top.value == pytest.approx(eig[-1].item(), rel=1e-10)
    assert top.residual <= 1e-9 * eig.abs().max().item() * 1.01
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))  # the net is unchanged
    assert all(p.grad is None for p in net.parameters())


def test_a_net_where_the_negative_eigenvalue_dominates():
    """A net whose Hessian has a most-negative eigenvalue larger in magnitude than the top one
    (seed 17, found by trying seeds): the shifted run is used and agrees with the dense Hessian."""
    seed = 17
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(10, 2, generator=g, dtype=F64)
    y = 3 * torch.randn(10, 1, generator=g, dtype=F64)
    net = MLP(2, 3, depth=1, out_features=1, activation="tanh", init="normal", generator=seed, std=2.0)
    eig = torch.linalg.eigvalsh(dense_hessian(net, X, y))
    assert -eig[0] > 1.2 * eig[-1] > 0, "not a case with a dominant negative eigenvalue"
    top = sh.sharpness(net, X, y, tol=1e-9, max_iter=5000)
    assert top.shifted and top.converged
    assert top.value == pytest.approx(eig[-1].item(), rel=1e-8)


def test_custom_loss_and_unused_parameters():
    lin = torch.nn.Linear(2, 1, dtype=F64)
    extra = torch.nn.Parameter(torch.ones(3, dtype=F64))
    net = torch.nn.Module()
    net.lin, net.extra = lin, extra
    net.forward = lambda X: lin(X)  # `extra` takes no part
    X = torch.randn(8, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    y = torch.zeros(8, 1, dtype=F64)
    top = sh.sharpness(net, X, y, loss=lambda out, t: ((out - t) ** 2).sum(), tol=1e-12)
    A = torch.cat([X, torch.ones(8, 1, dtype=F64)], 1)  # the Hessian of the sum of squares is 2 AᵀA
    assert top.value == pytest.approx(torch.linalg.eigvalsh(2 * A.T @ A)[-1].item(), rel=1e-10)
    assert [n for n, _ in net.named_parameters()][0] == "extra"
    assert top.vector[:3].abs().max() == 0.0  # no weight on the unused parameter


def test_a_loss_linear_in_the_parameters_has_sharpness_zero():
    w = torch.ones(3, dtype=F64, requires_grad=True)
    top = sh.top_eigenvalue((2 * w).sum(), [w])
    assert (top.value, top.converged, top.iterations) == (0.0, True, 1)


def test_a_multiple_of_the_identity_takes_one_product():
    """Every vector is an eigenvector of 3 I: the first Rayleigh quotient (of the normalized
    start vector) is exact."""
    x = torch.ones(5, dtype=F64, requires_grad=True)
    top = sh.top_eigenvalue(1.5 * (x ** 2).sum(), [x], seed=4)
    assert (top.value, top.converged, top.iterations, top.shifted) == (pytest.approx(3.0, rel=1e-15), True, 1, False)
    assert torch.linalg.vector_norm(top.vector).item() == pytest.approx(1.0, rel=1e-15)


def test_defaults():
    """seed 0, tol 1e-6, at most 1000 products per run (two runs: 2000)."""
    loss, x, _ = quadratic([1.0, 0.9999, 0.5], seed=1)  # close eigenvalues: neither run converges to 1e-6
    top = sh.top_eigenvalue(loss, [x])
    assert not top.converged and top.iterations == 2000
    loss, x, _ = quadratic([5.0, 1.0, 0.5], seed=1)
    top, same = sh.top_eigenvalue(loss, [x]), sh.top_eigenvalue(loss, [x], seed=0, tol=1e-6)
    assert top.iterations == same.iterations and torch.equal(top.vector, same.vector)
    assert sh.top_eigenvalue(loss, [x], tol=1e-5).iterations < top.iterations  # the tolerance is 1e-6, not looser


def test_sharpness_passes_its_arguments_on():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(12, 2, generator=g, dtype=F64)
    net = MLP(2, 3, depth=1, out_features=1, activation="tanh", init="xavier_normal", generator=0)
    kw = dict(seed=3, tol=1e-12, max_iter=7)
    a = sh.sharpness(net, X, X[:, :1], **kw)
    b = sh.top_eigenvalue(torch.nn.functional.mse_loss(net(X), X[:, :1]), list(net.parameters()), **kw)
    assert (a.value, a.converged, a.iterations) == (b.value, b.converged, b.iterations) == (b.value, False, 14)
    assert torch.equal(a.vector, b.vector)
    d = sh.sharpness(net, X, X[:, :1])
    e = sh.top_eigenvalue(torch.nn.functional.mse_loss(net(X), X[:, :1]), list(net.parameters()))
    assert d.value == e.value and d.iterations == e.iterations


def test_max_iter_reports_no_convergence():
    loss, x, _ = quadratic([1.0, 0.99, 0.5], seed=1)  # close eigenvalues: slow
    top = sh.top_eigenvalue(loss, [x], tol=1e-12, max_iter=5)
    assert not top.converged and top.shifted and top.iterations == 10  # both runs used their budget


def test_seed_makes_it_deterministic_and_leaves_the_global_generator_alone():
    loss, x, _ = quadratic([3.0, 1.0, -10.0], seed=2)
    state = torch.random.get_rng_state()
    a = sh.top_eigenvalue(loss, [x], seed=7)
    b = sh.top_eigenvalue(loss, [x], seed=7)
    c = sh.top_eigenvalue(loss, [x], seed=8)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert a.value == b.value and a.iterations == b.iterations and torch.equal(a.vector, b.vector)
    assert not torch.equal(a.vector, c.vector)


def test_hvp_matches_the_dense_hessian():
    loss, x, A = quadratic([2.0, -1.0, 0.5, 3.0], seed=5)
    H = sh.hvp(loss, [x])
    v = torch.randn(4, generator=torch.Generator().manual_seed(0), dtype=F64)
    assert torch.allclose(H(v), A @ v, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("call,exc,message", [
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x], tol=0.0), ValueError, "tol must be in (0.0, 1.0), got 0.0"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x], tol=1.0), ValueError, "tol must be in (0.0, 1.0), got 1.0"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x], max_iter=0), ValueError,
     "max_iter must be an integer in [1, inf], got 0"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x], seed=-1), ValueError, "seed must be an integer in [0, inf], got -1"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x], seed=1.0), TypeError, "seed must be an integer, got float: 1.0"),
    (lambda x: sh.top_eigenvalue(x ** 2, [x]), ValueError, "loss must be a tensor with one element, got Tensor of shape (2,)"),
    (lambda x: sh.top_eigenvalue(3.0, [x]), ValueError, "loss must be a tensor with one element, got float"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), []), ValueError,
     "params must be a non-empty sequence of tensors that require grad"),
    (lambda x: sh.top_eigenvalue((x ** 2).sum(), [x.detach()]), ValueError,
     "params must be a non-empty sequence of tensors that require grad"),
])
def test_bad_arguments_name_the_argument_and_range(call, exc, message):
    x = torch.ones(2, dtype=F64, requires_grad=True)
    with pytest.raises(exc) as err:
        call(x)
    assert str(err.value) == message


def test_sharpness_takes_only_top_eigenvalues_options():
    X = torch.ones(3, 1, dtype=F64)
    with pytest.raises(TypeError, match="max_iters"):
        sh.sharpness(torch.nn.Linear(1, 1, dtype=F64), X, X, max_iters=5)
