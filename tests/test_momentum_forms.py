"""The momentum conventions are one algorithm, and `run_rule` follows the optimizer classes.

Paths are compared in float64 on 10x² + y² from (-70, ±70), where coordinates are of
order 100: an absolute tolerance of 1e-10 leaves room for rounding (about 1e-14 per
step) and nothing else.
"""

import math

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook.optim import rules

F = gd.objectives.bowl(10)
START = (-70.0, -70.0)
TOL = 1e-10


def torch_path(steps=30, **hyper):
    return gd.trajectory(F, torch.optim.SGD, start=START, steps=steps, **hyper).path


@pytest.mark.parametrize("beta", [0.5, 0.8, 0.9, 0.99])
def test_classic_and_negative_forms_equal_torch_sgd(beta):
    ref = torch_path(lr=0.01, momentum=beta)
    for rule in (rules.momentum_classic, rules.momentum_negative, rules.sgd):
        run = gd.run_rule(F, rule, lr=0.01, momentum=beta, start=START, steps=30)
        assert np.abs(run.path - ref).max() < TOL, rule.__name__


@pytest.mark.parametrize("beta", [0.5, 0.8, 0.9])
def test_ema_form_needs_lr_over_one_minus_beta(beta):
    ref = torch_path(lr=0.01, momentum=beta)
    scaled = gd.run_rule(F, rules.momentum_ema, lr=0.01 / (1 - beta), momentum=beta, start=START, steps=30)
    same = gd.run_rule(F, rules.momentum_ema, lr=0.01, momentum=beta, start=START, steps=30)
    assert np.abs(scaled.path - ref).max() < TOL
    # with the same lr the first step is shorter by exactly the factor 1 - beta
    step_same, step_ref = same.path[1] - same.path[0], ref[1] - ref[0]
    np.testing.assert_allclose(step_same, (1 - beta) * step_ref, rtol=1e-12)


def test_constant_gradient_step_grows_to_one_over_one_minus_beta():
    beta, x, state = 0.9, np.zeros(1), {}
    for t in range(1, 201):
        new, state = rules.sgd(x, np.ones(1), state, lr=1.0, momentum=beta)
        step, x = float((x - new)[0]), new
        assert step == pytest.approx((1 - beta**t) / (1 - beta), rel=1e-12)


def test_nesterov_in_torch_is_the_lookahead_point_of_sutskevers_form():
    eta, beta = 0.04, 0.9
    x, u, look = np.array([-70.0, 70.0]), np.zeros(2), []
    for _ in range(40):
        look.append(x + beta * u)
        u = beta * u - eta * F.grad(x + beta * u)
        x = x + u
    look.append(x + beta * u)
    ref = gd.trajectory(F, torch.optim.SGD, lr=eta, momentum=beta, nesterov=True, start=(-70.0, 70.0), steps=40)
    assert np.abs(np.array(look) - ref.path).max() < TOL


@pytest.mark.parametrize("kappa", [10, 100])
def test_heavy_ball_with_best_beta_contracts_at_sqrt_kappa_rate(kappa):
    f = gd.objectives.bowl(kappa)
    mu, L = 2.0, 2.0 * kappa
    rho = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    eta = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    run = gd.run_rule(f, rules.sgd, lr=eta, momentum=rho**2, start=(-70.0, 70.0), steps=400)
    d = np.linalg.norm(run.path, axis=1)
    measured = (d[400] / d[200]) ** (1 / 200)
    # a double root contracts like t·rho^t: over steps 200..400 that adds at most 2^(1/200)
    assert rho < measured < rho * 2 ** (1 / 200) * 1.001
    gd_rate = (kappa - 1) / (kappa + 1)
    assert measured < gd_rate


@pytest.mark.parametrize("optimizer, rule, hyper", [
    (gd.optim.Adagrad, rules.adagrad, dict(lr=5.0)),
    (gd.optim.RMSprop, rules.rmsprop, dict(lr=3.0, alpha=0.9)),
    (gd.optim.SGD, rules.sgd, dict(lr=0.05, momentum=0.9, nesterov=True)),
])
def test_run_rule_follows_the_optimizer_class(optimizer, rule, hyper):
    ref = gd.trajectory(F, optimizer, start=(-70.0, 70.0), steps=25, **hyper)
    run = gd.run_rule(F, rule, start=(-70.0, 70.0), steps=25, **hyper)
    assert np.abs(run.path - ref.path).max() < TOL
    np.testing.assert_allclose(run.losses, ref.losses, rtol=1e-10, atol=1e-10)


def test_run_rule_records_divergence_and_works_in_one_dimension():
    sq = gd.objectives.square()
    ok = gd.run_rule(sq, rules.sgd, lr=0.4, start=1.0, steps=10)
    assert ok.path.shape == (11, 1) and not ok.diverged
    assert ok.final[0] == pytest.approx(0.2**10)
    bad = gd.run_rule(sq, rules.sgd, lr=1.5, start=1.0, steps=5000)
    assert bad.diverged and bad.diverged_at is not None
    assert np.all(np.isfinite(bad.path)) and bad.steps == bad.diverged_at - 1


def test_run_rule_rejects_a_start_of_the_wrong_size():
    with pytest.raises(ValueError, match="start must have 2"):
        gd.run_rule(F, rules.sgd, lr=0.1, start=(1.0, 2.0, 3.0))
