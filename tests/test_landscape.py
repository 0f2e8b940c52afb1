"""Tests for gdbook.landscape: minima on an interval, the Hessian test, random symmetric matrices."""

import math

import numpy as np
import pytest
import torch

from gdbook import landscape, objectives
from gdbook.landscape import classify, eigen_signs, global_minimum, hessian_kind, local_minima, random_symmetric


# -- minima of one-variable functions ----------------------------------------


def test_local_minima_of_a_parabola_is_exact():
    (m,) = local_minima(lambda x: (x - 0.3) ** 2 + 2.0, (-1.0, 1.0), n=11)
    # f - 2 = (x - 0.3)² drowns in rounding (2 · 1.1e-16) once |x - 0.3| < ~1.5e-8
    assert abs(m.x - 0.3) < 1e-7 and abs(m.value - 2.0) < 1e-15


def test_risk_has_a_local_and_a_global_minimum_with_zero_derivative():
    f = objectives.risk()
    ms = local_minima(f, (-1.0, 2.0))
    assert len(ms) == 2
    for m in ms:
        assert abs(float(f.grad(m.x))) < 1e-7  # derivative ~ f'' * tol/2
    left, right = ms
    assert -0.4 < left.x < -0.2 and 1.0 < right.x < 1.2 and right.value < left.value
    g = global_minimum(f, (-1.0, 2.0))
    assert g == right
    fine = np.linspace(-1.0, 2.0, 2_000_001)
    assert g.value <= f(fine).min() + 1e-12


def test_empirical_risk_minimum_differs_from_the_risk_minimum():
    f, g = objectives.risk(), objectives.empirical_risk()
    mf, mg = global_minimum(f, (0.5, 1.5)), global_minimum(g, (0.5, 1.5))
    assert abs(float(g.grad(mg.x))) < 1e-6
    assert abs(mf.x - mg.x) > 0.05
    assert len(local_minima(g, (0.5, 1.5))) >= 2


def test_global_minimum_can_be_an_endpoint():
    assert global_minimum(lambda x: -x, (0.0, 3.0)).x == 3.0


@pytest.mark.parametrize("interval", [(1.0, 1.0), (2.0, 1.0), (0.0,), "ab"])
def test_bad_interval(interval):
    with pytest.raises(ValueError, match="interval"):
        local_minima(lambda x: x**2, interval)


# -- the second-derivative test ----------------------------------------------


@pytest.mark.parametrize(
    "lam, kind",
    [
        ([1.0, 2.0], "minimum"),
        ([-1.0, -1e-3], "maximum"),
        ([-1.0, 3.0], "saddle"),
        ([0.0, 3.0], "inconclusive"),
        ([0.0, -3.0], "inconclusive"),
        ([-1.0, 0.0, 1.0], "saddle"),
        ([1e-12, 5.0], "inconclusive"),
    ],
)
def test_hessian_kind(lam, kind):
    assert hessian_kind(lam) == kind


def test_hessian_kind_rejects_empty_or_nan():
    with pytest.raises(ValueError, match="eigenvalues"):
        hessian_kind([])
    with pytest.raises(ValueError, match="eigenvalues"):
        hessian_kind([1.0, math.nan])


def test_classify_known_points():
    assert classify(objectives.saddle(), (0.0, 0.0)).eigenvalues == (-2.0, 2.0)
    assert classify(objectives.rosenbrock(), (1.0, 1.0)).kind == "minimum"
    assert classify(objectives.himmelblau(), (3.0, 2.0)).kind == "minimum"
    assert classify(objectives.quartic(), (0.0, 0.0)).kind == "inconclusive"  # a minimum the test cannot see
    assert classify(objectives.cubic2d(), (0.0, 0.0)).kind == "inconclusive"  # not a minimum either
    hill = objectives.Objective("-x²-y²", "-x^2-y^2", lambda x, y: -(x**2) - y**2, 2)  # autograd Hessian
    c = classify(hill, (0.0, 0.0))
    assert c.kind == "maximum" and np.allclose(c.eigenvalues, (-2.0, -2.0))
    assert classify(objectives.saddle(), (0.5, 0.0)).kind == "not critical"


def test_classify_checks_dimension():
    with pytest.raises(ValueError, match="coordinate"):
        classify(objectives.saddle(), (0.0, 0.0, 0.0))


# -- random symmetric matrices -----------------------------------------------


def test_random_symmetric_is_symmetric_deterministic_and_seeded():
    a = random_symmetric(4, 50, seed=3)
    assert np.array_equal(a, a.transpose(0, 2, 1))
    assert np.array_equal(a, random_symmetric(4, 50, seed=3))
    assert not np.array_equal(a, random_symmetric(4, 50, seed=4))


def test_ternary_entries_have_the_requested_zero_probability():
    M = random_symmetric(5, 4000, seed=0, entries="ternary", p_zero=0.3)
    iu = np.triu_indices(5)
    entries = M[:, iu[0], iu[1]].ravel()  # 60 000 independent draws
    assert set(np.unique(entries)) == {-1.0, 0.0, 1.0}
    sd = math.sqrt(0.3 * 0.7 / entries.size)
    assert abs((entries == 0).mean() - 0.3) < 5 * sd
    assert abs((entries == 1).mean() - (entries == -1).mean()) < 10 * sd


def test_one_by_one_ternary_sign_probabilities():
    # d = 1: λ is the entry itself; P(λ > 0) = P(λ < 0) = (1 - p_zero) / 2, not 1/2.
    s = eigen_signs(1, 20_000, seed=1, entries="ternary", p_zero=0.5)
    sd = math.sqrt(0.25 * 0.75 / s.n)
    assert abs(s.positive - 0.25) < 5 * sd and abs(s.negative - 0.25) < 5 * sd
    assert abs(s.zero - 0.5) < 5 * math.sqrt(0.25 / s.n)
    assert s.degenerate == s.zero


def _p_positive_definite_2x2() -> float:
    """P(a > 0, c > 0, ac > b²) for a, c ~ N(0, 1) and b ~ N(0, 1/2), by quadrature on a grid."""
    h = 0.005
    u = torch.arange(h / 2, 9.0, h, dtype=torch.float64)
    a, c = torch.meshgrid(u, u, indexing="ij")
    phi = torch.exp(-(u**2) / 2) / math.sqrt(2 * math.pi)
    inner = torch.erf(torch.sqrt(a * c))  # P(|b| < sqrt(ac)) for b ~ N(0, 1/2)
    return float((phi[:, None] * phi[None, :] * inner).sum() * h * h)


def test_goe_variances():
    M = random_symmetric(3, 20_000, seed=5)
    assert abs(M[:, 0, 0].var() - 1.0) < 0.05 and abs(M[:, 0, 1].var() - 0.5) < 0.025  # sd of var ≈ 0.01, 0.005


def test_two_by_two_gaussian_matches_quadrature_and_closed_form():
    p = _p_positive_definite_2x2()
    assert abs(p - (1 - 1 / math.sqrt(2)) / 2) < 1e-4  # the known GOE value
    s = eigen_signs(2, 40_000, seed=2)
    sd = math.sqrt(p * (1 - p) / s.n)
    assert abs(s.all_positive - p) < 5 * sd
    assert abs(s.all_negative - p) < 5 * sd  # M and -M have the same distribution


def test_all_positive_falls_faster_than_independent_coins():
    rows = [eigen_signs(d, 20_000, seed=d) for d in range(1, 6)]
    for s in rows:
        assert math.isclose(s.all_positive + s.all_negative + s.mixed + s.degenerate, 1.0)
        assert abs(s.positive - 0.5) < 5 * math.sqrt(0.25 / s.n)  # each eigenvalue: a fair sign
    assert all(a.mixed < b.mixed for a, b in zip(rows, rows[1:]))
    for s in rows[2:]:
        coin = 2.0**-s.d
        assert s.all_positive < coin / 3  # far below 2^-d, many standard errors away
    assert rows[0].mixed == 0.0


def test_bad_arguments():
    with pytest.raises(ValueError, match="entries"):
        random_symmetric(2, 2, entries="uniform")
    with pytest.raises(ValueError, match="p_zero"):
        random_symmetric(2, 2, entries="ternary", p_zero=1.5)
    with pytest.raises(ValueError, match="d must"):
        eigen_signs(0, 10)


def test_public_surface():
    assert set(landscape.__all__) <= set(dir(landscape))


@pytest.mark.parametrize("call,message", [
    (lambda: local_minima(np.cos, (1.0, 1.0)), "interval[1] must be in (1.0, inf], got 1.0"),
    (lambda: local_minima(np.cos, [0.0]), "interval must be a pair (a, b), got [0.0]"),
    (lambda: local_minima(np.cos, (0.0, 1.0), n=2), "n must be an integer in [3, 10000000], got 2"),
    (lambda: local_minima(np.cos, (0.0, 1.0), tol=0.0), "tol must be in (0.0, inf], got 0.0"),
    (lambda: hessian_kind([1.0], tol=-1.0), "tol must be in [0.0, inf], got -1.0"),
    (lambda: classify(objectives.bowl(), (1.0, 1.0), tol=-1.0), "tol must be in [0.0, inf], got -1.0"),
    (lambda: random_symmetric(0, 1), "d must be an integer in [1, 1000], got 0"),
    (lambda: random_symmetric(1, 0), "n must be an integer in [1, 10000000], got 0"),
    (lambda: random_symmetric(1, 1, seed=-1), "seed must be an integer in [0, 9223372036854775807], got -1"),
    (lambda: random_symmetric(1, 1, entries="x"), "entries must be one of ('gaussian', 'ternary'), got 'x'"),
    (lambda: random_symmetric(1, 1, p_zero=1.5), "p_zero must be in [0.0, 1.0], got 1.5"),
])
def test_bad_arguments_name_argument_and_range(call, message):
    with pytest.raises(ValueError) as err:
        call()
    assert str(err.value) == message


def test_smallest_arguments_are_accepted():
    # n = 3 is the smallest grid with an interior point; d = 1, n = 1, seed 0, p_zero in {0, 1}
    assert [round(m.x, 6) for m in local_minima(lambda x: (x - 0.5) ** 2, (0.0, 1.0), n=3)] == [0.5]
    assert random_symmetric(1, 1).shape == (1, 1, 1)
    assert np.all(random_symmetric(3, 4, entries="ternary", p_zero=1.0) == 0)
    assert np.all(np.abs(random_symmetric(3, 4, entries="ternary", p_zero=0.0)) == 1)
    assert hessian_kind([1.0, 0.0], tol=0.0) == "inconclusive"


def test_classify_in_three_dimensions():
    f = objectives.Objective("q3", "q3", lambda x, y, z: x**2 + 2 * y**2 - 3 * z**2, 3)
    c = classify(f, (0.0, 0.0, 0.0))
    assert c.kind == "saddle" and c.grad_norm == 0.0 and c.eigenvalues == pytest.approx((-6.0, 2.0, 4.0))
    assert c.point == (0.0, 0.0, 0.0) and c.value == 0.0
    assert classify(f, (1.0, 0.0, 0.0)).kind == "not critical"


def test_hessian_kind_zero_threshold_is_relative_above_one():
    # zero = tol·max(1, max|λ|)
    assert hessian_kind([1.5e-8, 1.0]) == "minimum"
    assert hessian_kind([1.0, 1e9]) == "inconclusive"  # 1 <= 1e-8·1e9
    # with tol = 0 only an exact 0 is zero, and it makes the test inconclusive
    assert hessian_kind([0.0, -1.0], tol=0.0) == "inconclusive"
    assert hessian_kind([0.0, 1.0], tol=0.0) == "inconclusive"


def test_local_minima_on_a_plateau_reports_its_left_end_once():
    # flat bottom on [-0.25, 0.25]: the first grid point of the plateau brackets one minimum
    f = lambda x: np.maximum(np.abs(x) - 0.25, 0.0) ** 2
    found = local_minima(f, (-1.0, 1.0), n=9)
    assert len(found) == 1 and -0.5 <= found[0].x <= 0.0 and found[0].value == 0.0


def test_global_minimum_at_the_left_end():
    assert global_minimum(lambda x: x, (0.0, 1.0)) == landscape.Minimum(0.0, 0.0)


def test_classify_one_dimensional_and_tolerances():
    sq = objectives.square()
    assert classify(sq, (0.0,)).kind == "minimum" and classify(sq, 0.0).kind == "minimum"
    f = objectives.Objective("q", "q", lambda x, y: 0.025 * x**2 + 0.5 * y**2, 2)  # λ = 0.05, 1
    assert classify(f, (0.0, 0.0)).kind == "minimum"
    assert classify(f, (0.0, 0.0), tol=0.1).kind == "inconclusive"  # the same tol for the Hessian
    b = objectives.bowl()
    assert classify(b, (0.5, 0.0), tol=1.0).kind != "not critical"  # |∇f| = 1 <= tol


def test_random_matrices_defaults_limits_and_symmetry():
    assert np.array_equal(random_symmetric(3, 4), random_symmetric(3, 4, seed=0))  # seed 0 by default
    assert landscape.eigen_signs(2, 50) == landscape.eigen_signs(2, 50, seed=0)
    assert landscape.eigen_signs(2, 50, seed=3) == landscape.eigen_signs(2, 50, seed=3)
    assert landscape.eigen_signs(2, 50, seed=3) != landscape.eigen_signs(2, 50, seed=0)
    for entries in ("gaussian", "ternary"):
        M = random_symmetric(4, 5, entries=entries, seed=1)
        assert np.array_equal(M, M.transpose(0, 2, 1)) and np.any(np.triu(M, 1) != 0)
    for call, message in [(lambda: random_symmetric(1001, 1), "d must be an integer in [1, 1000], got 1001"),
                          (lambda: random_symmetric(1, 10**7 + 1), "n must be an integer in [1, 10000000], got 10000001"),
                          (lambda: random_symmetric(1, 1, seed=2**63),
                           "seed must be an integer in [0, 9223372036854775807], got 9223372036854775808"),
                          (lambda: local_minima(np.cos, (0.0, 1.0), n=10**7 + 1),
                           "n must be an integer in [3, 10000000], got 10000001"),
                          (lambda: landscape.eigen_signs(1, 1, tol=-1.0), "tol must be in [0.0, inf], got -1.0")]:
        with pytest.raises(ValueError) as err:
            call()
        assert str(err.value) == message
    assert random_symmetric(1, 1, seed=2**63 - 1).shape == (1, 1, 1)


def test_eigen_signs_threshold_is_strict():
    # 1-by-1 ternary matrices have eigenvalues exactly -1, 0 or 1: with tol = 1 all count as zero
    s = landscape.eigen_signs(1, 200, entries="ternary", tol=1.0)
    assert s.zero == 1.0 and s.positive == 0.0 and s.negative == 0.0


def test_grid_size_and_tolerance_are_used():
    f = lambda x: np.cos(6 * np.pi * x)  # minima at 1/6, 1/2 and 5/6
    assert len(local_minima(f, (0.0, 1.0), n=3)) == 1 and len(local_minima(f, (0.0, 1.0))) == 3
    sq = lambda x: (x - 0.3) ** 2
    assert global_minimum(sq, (-1.0, 2.0), tol=0.1).x == local_minima(sq, (-1.0, 2.0), tol=0.1)[0].x
    assert global_minimum(f, (0.0, 1.0), n=3).x == local_minima(f, (0.0, 1.0), n=3)[0].x
    with pytest.raises(ValueError) as err:
        local_minima(np.cos, (math.nan, 1.0))
    assert str(err.value) == "interval[0] must be in [-inf, inf], got nan"


def test_eigen_signs_uses_the_zero_probability_it_is_given():
    # 1-by-1 ternary matrices: the eigenvalue is the entry, zero exactly with probability p_zero
    assert landscape.eigen_signs(1, 500, entries="ternary", p_zero=0.0).zero == 0.0
    assert landscape.eigen_signs(1, 500, entries="ternary", p_zero=1.0).zero == 1.0


def test_classify_reads_integer_coordinates_as_reals():
    # 10x⁴ at x = 10⁵ is 10²¹, beyond int64: the point must be read as real numbers, not wrapped
    c = classify(objectives.quartic(), (100000, 0))
    assert c.point == (100000.0, 0.0) and c.value == 1e21 and c.grad_norm == 4e16 and c.kind == "not critical"
