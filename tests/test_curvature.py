"""Tests of gdbook.curvature: Hessian- and Gauss–Newton-vector products, conjugate gradient,
Hessian-free Gauss–Newton and its gradient-descent baseline."""

import numpy as np
import pytest
import torch

from gdbook import curvature

D = torch.float64


def _problem(seed=0, n=12, hidden=3):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(-1, 1, n, dtype=D)
    y = torch.sin(2 * t)

    def residuals(w):
        return torch.tanh(t[:, None] * w[:hidden] + w[hidden:2 * hidden]) @ w[2 * hidden:3 * hidden] + w[-1] - y

    w = torch.randn(3 * hidden + 1, generator=g, dtype=D)
    v = torch.randn(3 * hidden + 1, generator=g, dtype=D)
    return residuals, w, v


def test_hvp_is_the_dense_hessian_times_the_vector():
    residuals, w, v = _problem()
    loss = lambda p: 0.5 * residuals(p) @ residuals(p)  # noqa: E731
    H = torch.autograd.functional.hessian(loss, w)
    assert torch.allclose(curvature.hvp(loss, w, v), H @ v, atol=1e-12)
    # a non-quadratic loss whose Hessian depends on the point
    assert torch.allclose(curvature.hvp(lambda p: p.prod(), torch.tensor([1.0, 2.0, 3.0], dtype=D),
                                        torch.tensor([1.0, 0.0, 0.0], dtype=D)),
                          torch.tensor([0.0, 3.0, 2.0], dtype=D))


def test_hvp_leaves_the_caller_tensor_alone():
    w = torch.tensor([1.0, 2.0], dtype=D)
    curvature.hvp(lambda p: (p**3).sum(), w, torch.ones(2, dtype=D))
    assert not w.requires_grad and w.grad is None


def test_gnvp_is_jt_j_times_the_vector_and_not_the_hessian():
    residuals, w, v = _problem()
    J = torch.autograd.functional.jacobian(residuals, w)
    assert torch.allclose(curvature.gnvp(residuals, w, v), J.T @ (J @ v), atol=1e-12)
    loss = lambda p: 0.5 * residuals(p) @ residuals(p)  # noqa: E731
    H = torch.autograd.functional.hessian(loss, w)
    assert not torch.allclose(H @ v, J.T @ (J @ v), atol=1e-3)  # the residuals are not linear


@pytest.mark.parametrize("d", [1, 2, 7])
def test_conjugate_gradient_solves_an_spd_system_in_at_most_d_steps(d):
    g = torch.Generator().manual_seed(d)
    B = torch.randn(d, d, generator=g, dtype=D)
    A = B @ B.T + torch.eye(d, dtype=D)
    b = torch.randn(d, generator=g, dtype=D)
    calls = []

    def matvec(v):
        calls.append(1)
        return A @ v

    p, res = curvature.conjugate_gradient(matvec, b, steps=d)
    assert torch.allclose(A @ p, b, atol=1e-10)
    assert len(res) == d + 1 and len(calls) == d and res[0] == pytest.approx(float(b.norm()))
    assert res[-1] == pytest.approx(float((b - A @ p).norm()), abs=1e-10)


def test_conjugate_gradient_error_in_the_a_norm_never_grows():
    g = torch.Generator().manual_seed(3)
    B = torch.randn(20, 20, generator=g, dtype=D)
    A = B @ B.T + 0.1 * torch.eye(20, dtype=D)
    b = torch.randn(20, generator=g, dtype=D)
    exact = torch.linalg.solve(A, b)
    errors, iterates = [], []
    for k in range(0, 12):
        p, _ = curvature.conjugate_gradient(lambda v: A @ v, b, steps=k)
        e = p - exact
        errors.append(float(e @ A @ e))
    assert errors[0] == pytest.approx(float(exact @ A @ exact))
    assert all(b2 < b1 for b1, b2 in zip(errors, errors[1:]))
    # the callback sees the same iterates, p_0 = 0 first, the returned one last
    p, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=11, callback=iterates.append)
    assert len(iterates) == len(res) == 12 and torch.all(iterates[0] == 0) and torch.equal(iterates[-1], p)
    assert np.allclose([float((q - exact) @ A @ (q - exact)) for q in iterates], errors)


def test_conjugate_gradient_stops_at_the_tolerance_and_on_a_zero_right_hand_side():
    A = torch.diag(torch.tensor([1.0, 10.0, 100.0], dtype=D))
    b = torch.ones(3, dtype=D)
    _, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=3, tol=0.5)
    assert res[-1] <= 0.5 * res[0] and all(r > 0.5 * res[0] for r in res[:-1])
    p, res = curvature.conjugate_gradient(lambda v: A @ v, torch.zeros(3, dtype=D), steps=3)
    assert torch.all(p == 0) and res.tolist() == [0.0]
    with pytest.raises(ValueError, match=r"^steps must be an integer in \[0, inf\], got -1$"):
        curvature.conjugate_gradient(lambda v: v, b, steps=-1)
    with pytest.raises(ValueError, match=r"^tol must be in \[0\.0, inf\], got -1\.0$"):
        curvature.conjugate_gradient(lambda v: v, b, steps=1, tol=-1.0)
    # no iteration asked: p_0 = 0 and the one residual, ‖b‖
    p, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=0)
    assert torch.all(p == 0) and res.tolist() == [float(b.norm())]


def test_conjugate_gradient_tolerance_is_inclusive():
    # A = diag(1, 3), b = (1, 1): one step gives r_1 = (1/2, -1/2), so ‖r_1‖ = ½‖b‖ exactly
    A = torch.diag(torch.tensor([1.0, 3.0], dtype=D))
    b = torch.ones(2, dtype=D)
    _, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=2)
    assert res[1] == 0.5 * res[0]
    # "stop once ‖b − A p_k‖ ≤ tol·‖b‖": a residual exactly at the tolerance stops the solve
    _, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=2, tol=0.5)
    assert len(res) == 2
    _, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=2, tol=0.4999)
    assert len(res) == 3


@pytest.mark.parametrize("scale", [0.25, 0.5, 2.0])
def test_conjugate_gradient_is_linear_in_the_right_hand_side(scale):
    # p(c b) = c p(b) with the same iterations, whatever ‖c b‖ (a power of two scales exactly;
    # 0.5 makes ‖b‖ = 1)
    A = torch.tensor([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]], dtype=D)
    b = torch.tensor([2.0, 0.0, 0.0], dtype=D)
    seen, seen_scaled = [], []
    p, res = curvature.conjugate_gradient(lambda v: A @ v, b, steps=3, callback=seen.append)
    q, res_q = curvature.conjugate_gradient(lambda v: A @ v, scale * b, steps=3, callback=seen_scaled.append)
    assert len(res_q) == len(res) == 4 and np.array_equal(res_q, scale * res)
    assert all(torch.equal(y, scale * x) for x, y in zip(seen, seen_scaled))
    assert torch.equal(q, scale * p) and torch.allclose(A @ q, scale * b, atol=1e-12)


def test_gauss_newton_solves_a_zero_residual_problem_quadratically():
    t = torch.linspace(0, 1, 6, dtype=D)
    residuals = lambda w: w[0] * torch.exp(w[1] * t) - 2 * torch.exp(-t)  # noqa: E731
    run = curvature.gauss_newton(residuals, torch.tensor([1.5, -0.5], dtype=D), steps=6, cg_steps=2, damping=0.0)
    assert torch.allclose(run.w, torch.tensor([2.0, -1.0], dtype=D), atol=1e-12)
    assert run.products[0] == 2 and max(run.products) == 2 and len(run.products) == 6 and len(run.losses) == 7
    assert run.losses[0] == pytest.approx(0.5 * float(residuals(torch.tensor([1.5, -0.5], dtype=D)) ** 2 @ torch.ones(6, dtype=D)))
    # zero residual: near the solution Gauss–Newton converges as fast as Newton (faster than linearly)
    assert run.losses[3] < 1e-6 * run.losses[1]


def test_gauss_newton_damping_and_the_cg_budget():
    residuals, w, _ = _problem(seed=1)
    short = curvature.gauss_newton(residuals, w, steps=3, cg_steps=1, damping=1.0)
    assert short.products.tolist() == [1, 1, 1]
    # with a huge damping the step is tiny: (J'J + λI)p = −g  ⇒  p ≈ −g/λ
    tiny = curvature.gauss_newton(residuals, w, steps=1, cg_steps=5, damping=1e8)
    wg = w.clone().requires_grad_(True)
    r = residuals(wg)
    (g,) = torch.autograd.grad(0.5 * r @ r, wg)
    assert torch.allclose(tiny.w - w, -g / 1e8, rtol=1e-5)
    with pytest.raises(ValueError, match=r"^cg_steps must be an integer in \[1, inf\], got 0$"):
        curvature.gauss_newton(residuals, w, steps=1, cg_steps=0)
    with pytest.raises(ValueError, match=r"^damping must be in \[0\.0, inf\], got -1\.0$"):
        curvature.gauss_newton(residuals, w, steps=1, damping=-1.0)
    with pytest.raises(ValueError, match=r"^steps must be an integer in \[0, inf\], got -1$"):
        curvature.gauss_newton(residuals, w, steps=-1)


def test_gauss_newton_defaults_and_zero_steps():
    residuals, w, _ = _problem(seed=2, hidden=4)  # 13 parameters: CG does not end before 10 products
    run = curvature.gauss_newton(residuals, w, steps=2)
    # the documented defaults: cg_steps=10, damping=1e-3
    assert run.products.tolist() == [10, 10]
    explicit = curvature.gauss_newton(residuals, w, steps=2, cg_steps=10, damping=1e-3)
    assert torch.equal(run.w, explicit.w) and np.array_equal(run.losses, explicit.losses)
    # no step: the start, its loss, and an empty record of products (still integers)
    none = curvature.gauss_newton(residuals, w, steps=0)
    assert torch.equal(none.w, w) and none.losses.tolist() == [run.losses[0]]
    assert none.products.shape == (0,) and none.products.dtype.kind == "i"


def test_descent_losses_follow_the_gradient_descent_rule():
    A = torch.diag(torch.tensor([1.0, 4.0], dtype=D))
    loss = lambda w: 0.5 * w @ A @ w  # noqa: E731
    w0 = torch.tensor([1.0, 1.0], dtype=D)
    losses = curvature.descent_losses(loss, w0, lr=0.1, steps=5)
    expected = [0.5 * (0.9 ** (2 * k) + 4 * 0.6 ** (2 * k)) for k in range(6)]
    assert np.allclose(losses, expected) and len(losses) == 6
    assert not w0.requires_grad and w0.tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match=r"^lr must be in \(0\.0, inf\], got 0\.0$"):
        curvature.descent_losses(loss, w0, lr=0.0, steps=1)
    with pytest.raises(ValueError, match=r"^steps must be an integer in \[0, inf\], got -1$"):
        curvature.descent_losses(loss, w0, lr=0.1, steps=-1)
    # no step: the starting loss alone
    assert curvature.descent_losses(loss, w0, lr=0.1, steps=0).tolist() == [expected[0]]
