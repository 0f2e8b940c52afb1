"""gdbook.explore: the explorables' build-time data, and the data embedded in the built pages.

The unit tests hold the data to independent computations: the rates to the roots of the
characteristic polynomial, the best momentum to a brute-force search, the paths to single
`gd.trajectory` runs (torch's optimizer loop, not the vectorized sweep the module uses), the
simplified race paths to the full ones. The build tests read the JSON each page embeds and
require it to equal a fresh computation with the arguments it records.
"""

from __future__ import annotations

import json
import math
import re
from html import unescape

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import explore

# Pages with an explorable, and the function that computes it.
EXPLORABLES = {"gradient-descent": "gradient_descent", "momentum": "momentum", "optimizer-comparison": "race"}
DATA = re.compile(r'<template class="gd-x-data" data-search-exclude>(.*?)</template>', re.S)
MAX_DATA = 300_000   # bytes of JSON per explorable
MAX_PAGE = 800_000   # bytes of HTML per page


def roundtrip(d):
    return json.loads(json.dumps(d))


def resolution(window) -> float:
    """Half a unit in the last decimal the data keeps for coordinates."""
    span = max(hi - lo for lo, hi in window)
    return 0.5 * 10.0 ** -max(0, math.ceil(-math.log10(span / 2000.0)))


@pytest.fixture(scope="module")
def small_gd():
    return explore.gradient_descent(cs=(1, 10), lrs=(0.02, 0.05, 0.1, 0.2, 1.0), start=(-70, 70), steps=30,
                                    initial={"c": 10, "lr": 0.05})


@pytest.fixture(scope="module")
def small_momentum():
    return explore.momentum(kappa=50, lrs=(0.01, 0.02, 0.03, 0.04), betas=(0.0, 0.3, 0.6, 0.9), start=(-70, 70),
                            steps=40, initial={"lr": 0.02, "beta": 0.6})


@pytest.fixture(scope="module")
def small_race():
    return explore.race(problems=("rosenbrock", "saddle"), methods=("GD", "Momentum", "Adam"),
                        lrs=(0.0001, 0.001, 0.01, 0.1), steps=400, initial={"lr": 0.001, "methods": ("GD", "Adam")})


# ---------------------------------------------------------------------------
# Rates of the heavy ball
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lr,beta,lam", [(0.01, 0.8, 20.0), (0.01, 0.8, 2.0), (0.1, 0.5, 20.0), (0.03, 0.1, 100.0),
                                         (0.005, 0.0, 2.0), (0.04, 0.9, 100.0)])
def test_heavy_ball_rate_is_the_largest_root_of_the_characteristic_polynomial(lr, beta, lam):
    H = np.diag([lam, 1e-3])  # the second direction is slower than the first in every case: rate from lam
    roots = np.roots([1.0, -(1.0 + beta - lr * lam), beta])
    other = np.roots([1.0, -(1.0 + beta - lr * 1e-3), beta])
    assert explore.heavy_ball_rate(H, lr, beta) == pytest.approx(max(np.abs(roots).max(), np.abs(other).max()),
                                                                 rel=1e-9)


def test_heavy_ball_rate_without_momentum_is_gradient_descents():
    H = [[40.0, 0.0], [0.0, 2.0]]
    for lr in (0.001, 0.02, 0.05, 0.07):
        assert explore.heavy_ball_rate(H, lr, 0.0) == pytest.approx(gd.quadratic.rate(H, lr), rel=1e-12)


def test_heavy_ball_rate_is_the_measured_contraction():
    """Distance ratio over 200 steps of a momentum run, against the predicted rate."""
    f = gd.objectives.bowl(50)
    H = f.hessian([0.0, 0.0])
    for lr, beta in [(0.01, 0.5), (0.02, 0.9), (0.03, 0.3)]:
        run = gd.run_rule(f, gd.optim.rules.sgd, lr=lr, momentum=beta, start=(-70.0, 70.0), steps=400)
        d = np.linalg.norm(run.path, axis=1)
        measured = (d[400] / d[200]) ** (1 / 200)
        # oscillating modes make single-step ratios noisy; over 200 steps the phase error is below 1 %
        assert measured == pytest.approx(explore.heavy_ball_rate(H, lr, beta), rel=0.01)


@pytest.mark.parametrize("kappa", [10, 50, 200])
def test_best_beta_minimizes_the_rate(kappa):
    H = gd.objectives.bowl(kappa).hessian([0.0, 0.0])
    L = 2.0 * kappa
    fine = np.arange(0.0, 1.0, 1e-3)
    for lr in np.array([0.05, 0.5, 2.0, 3.5]) / L:
        b = explore.best_beta(H, lr)
        rates = np.array([explore.heavy_ball_rate(H, lr, x) for x in fine])
        assert abs(fine[np.argmin(rates)] - b) <= 1e-3, (kappa, lr)
        assert explore.heavy_ball_rate(H, lr, b) == pytest.approx(math.sqrt(b), rel=1e-6)
        assert explore.heavy_ball_rate(H, lr, b) <= rates.min() + 1e-9


def test_best_beta_at_the_jointly_optimal_learning_rate_is_the_textbook_value():
    kappa = 100
    H = gd.objectives.bowl(kappa).hessian([0.0, 0.0])
    mu, L = 2.0, 2.0 * kappa
    eta = 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2
    assert explore.best_beta(H, eta) == pytest.approx(((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2)


def test_no_best_beta_beyond_four_over_lambda_max():
    H = [[100.0, 0.0], [0.0, 2.0]]
    assert explore.best_beta(H, 0.0399) is not None
    assert explore.best_beta(H, 0.04) is None and explore.best_beta(H, 0.05) is None


# ---------------------------------------------------------------------------
# Gradient descent on c x² + y²
# ---------------------------------------------------------------------------


def test_gradient_descent_paths_are_single_torch_runs(small_gd):
    d = small_gd.data
    tol = resolution(d["plot"]["window"]) + 1e-9
    cs, lrs = d["sliders"][0]["values"], d["sliders"][1]["values"]
    for i, c in enumerate(cs):
        for j, lr in enumerate(lrs):
            rec = d["runs"][i][j]
            xy = np.array(rec["xy"]).reshape(-1, 2)
            ref = gd.trajectory(gd.objectives.bowl(c), torch.optim.SGD, lr=lr, start=(-70.0, 70.0), steps=30)
            n = len(xy)
            assert 1 <= n <= 31
            assert np.abs(xy - ref.path[:n]).max() <= tol, (c, lr)
            np.testing.assert_allclose(rec["loss"], ref.losses[:n], rtol=5e-3, atol=0)


def test_gradient_descent_verdicts_factors_and_marks(small_gd):
    d = small_gd.data
    cs, lrs = d["sliders"][0]["values"], d["sliders"][1]["values"]
    for i, c in enumerate(cs):
        threshold, optimal = d["marks"]["lr"][i]
        assert threshold["value"] == pytest.approx(1 / c, rel=1e-3)          # 2 / λ_max = 2 / (2c)
        assert optimal["value"] == pytest.approx(2 / (2 * c + 2), rel=1e-3)   # 2 / (λ_min + λ_max)
        for j, lr in enumerate(lrs):
            rec = d["runs"][i][j]
            expected = "converges" if lr < 1 / c else "bounces" if lr == 1 / c else "diverges"
            assert rec["verdict"] == expected, (c, lr)
            assert rec["factors"] == [pytest.approx(1 - 2 * c * lr, abs=1e-4), pytest.approx(1 - 2 * lr, abs=1e-4)]
            xy = np.array(rec["xy"]).reshape(-1, 2)
            if expected == "diverges":     # cut at its first point outside the window ±100 enlarged by 50
                assert np.abs(xy[-1]).max() > 150 and np.abs(xy[:-1]).max() <= 150
            if expected == "bounces":      # |x| stays 70, y shrinks
                assert np.allclose(np.abs(xy[:, 0]), 70)


def test_gradient_descent_cuts_a_run_that_reached_the_minimum():
    # c = 1, η = 0.5: both factors are 0, the first step lands on the minimum
    d = explore.gradient_descent(cs=(1,), lrs=(0.5,), steps=10).data
    assert d["runs"][0][0]["xy"] == [-70, 70, 0, 0] and d["runs"][0][0]["loss"] == [9800, 0]


# ---------------------------------------------------------------------------
# Momentum on κx² + y²
# ---------------------------------------------------------------------------


def test_momentum_paths_are_single_torch_runs(small_momentum):
    d = small_momentum.data
    tol = resolution(d["plot"]["window"]) + 1e-9
    f = gd.objectives.bowl(50)
    lrs, betas = d["sliders"][0]["values"], d["sliders"][1]["values"]
    for i, lr in enumerate(lrs):
        for j, beta in enumerate(betas):
            xy = np.array(d["runs"][i][j]["xy"]).reshape(-1, 2)
            ref = gd.trajectory(f, torch.optim.SGD, lr=lr, momentum=beta, start=(-70.0, 70.0), steps=40)
            assert np.abs(xy - ref.path[: len(xy)]).max() <= tol, (lr, beta)


def test_momentum_marks_and_verdicts(small_momentum):
    d = small_momentum.data
    H = np.diag([100.0, 2.0])
    lrs, betas = d["sliders"][0]["values"], d["sliders"][1]["values"]
    for i, lr in enumerate(lrs):
        marks = {m["kind"]: m for m in d["marks"]["beta"][i]}
        b = explore.best_beta(H, lr)
        if b is None:
            assert "best" not in marks
        else:
            assert marks["best"]["value"] == pytest.approx(b, rel=1e-3)
            assert np.interp(marks["best"]["pos"], range(len(betas)), betas) == pytest.approx(b, abs=1e-3)
        edge = lr * 100 / 2 - 1
        assert ("unstable" in marks) == (edge > 0)
        for j, beta in enumerate(betas):
            rec = d["runs"][i][j]
            rho = explore.heavy_ball_rate(H, lr, beta)
            assert rec["rate"] == pytest.approx(rho, rel=1e-3)
            assert rec["gd_rate"] == pytest.approx(gd.quadratic.rate(H, lr), rel=1e-3)
            # divergence exactly below the stability edge β = ηL/2 − 1
            if beta < edge - 1e-9:
                assert rec["verdict"] == "diverges"
            elif beta > edge + 1e-9:
                assert rec["verdict"] == "converges"


# ---------------------------------------------------------------------------
# The race
# ---------------------------------------------------------------------------


def _segment_distance(p, a, b):
    seg = b - a
    den = float(seg @ seg)
    u = 0.0 if den == 0 else min(max(float((p - a) @ seg) / den, 0.0), 1.0)
    return float(np.linalg.norm(p - a - u * seg))


def test_race_keeps_every_point_within_tolerance_of_the_drawn_path(small_race):
    d = small_race.data
    for prob in d["problems"]:
        f = getattr(gd.objectives, prob["name"])()
        span = max(hi - lo for lo, hi in f.window)
        tol = span / 1500
        scale = np.array([1.0, 1.0, span / 1500])
        for m, row in zip(d["methods"], prob["runs"]):
            opt, hyper = explore.METHODS[m["name"]]
            for lr, rec in zip(d["sliders"][0]["values"], row):
                ref = gd.trajectory(f, opt, lr=lr, steps=d["steps"], **hyper)
                t = rec["t"]
                xy = np.array(rec["xy"]).reshape(-1, 2)
                assert t[0] == 0 and t == sorted(set(t))
                assert np.abs(xy - ref.path[t]).max() <= resolution(f.window) + 1e-9
                # every step up to the last one kept lies within tol of the drawn polyline, in (x, y, step) space
                full = np.column_stack([ref.path[: t[-1] + 1], np.arange(t[-1] + 1)]) * scale
                corners = np.column_stack([ref.path[t], t]) * scale
                for k in range(len(t) - 1):
                    for s in range(t[k], t[k + 1] + 1):
                        assert _segment_distance(full[s], corners[k], corners[k + 1]) <= tol + 1e-9


def test_race_events_and_best_rates(small_race):
    d = small_race.data
    lrs = d["sliders"][0]["values"]
    rosen, saddle = d["problems"]
    assert saddle["best"] is None and saddle["target"] is None
    for mi, m in enumerate(d["methods"]):
        opt, hyper = explore.METHODS[m["name"]]
        s = gd.compare.search_lr(gd.objectives.rosenbrock(), opt, lrs, target=1e-3, steps=d["steps"], **hyper)
        assert rosen["best"][mi] == (None if s.best_run.diverged else s.best)
        for k, rec in enumerate(rosen["runs"][mi]):
            assert rec["hit"] == (None if s.runs[k].diverged else s.hits[k])
            assert rec["diverged"] == s.runs[k].diverged_at
        for lr, rec in zip(lrs, saddle["runs"][mi]):
            run = gd.trajectory(gd.objectives.saddle(), opt, lr=lr, steps=d["steps"], **hyper)
            outside = np.nonzero(np.abs(run.path).max(axis=1) > 1.5)[0]
            assert rec["out"] == (int(outside[0]) if outside.size else None)


def test_race_initial_setting(small_race):
    ex = small_race
    assert ex.data["initial"] == {"problem": 0, "methods": [0, 2]}
    assert [r.label for r in ex.runs] == ["GD", "Adam"]
    assert ex.data["sliders"][0]["values"][ex.data["sliders"][0]["initial"]] == 0.001


# ---------------------------------------------------------------------------
# Data and HTML
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["small_gd", "small_momentum", "small_race"])
def test_data_is_json_records_its_call_and_is_deterministic(request, name):
    ex = request.getfixturevalue(name)
    text = json.dumps(ex.data, allow_nan=False)   # no NaN or inf: strict JSON
    again = getattr(explore, ex.data["kind"])(**ex.data["args"])
    assert json.dumps(again.data, allow_nan=False) == text


def test_race_takes_a_pages_methods_mapping_and_records_it_as_json():
    ex = explore.race(problems=("saddle",), methods={"Heavy": (gd.optim.SGD, {"momentum": 0.5})}, lrs=(0.01, 0.1),
                      steps=30)
    assert ex.data["args"]["methods"] == {"Heavy": ["SGD", {"momentum": 0.5}]}
    again = explore.race(**roundtrip(ex.data["args"]))
    assert json.dumps(again.data) == json.dumps(ex.data)
    ref = gd.trajectory(gd.objectives.saddle(), torch.optim.SGD, lr=0.1, momentum=0.5, steps=30)
    rec = ex.data["problems"][0]["runs"][0][1]
    assert np.abs(np.array(rec["xy"]).reshape(-1, 2) - ref.path[rec["t"]]).max() <= resolution(((-1.5, 1.5),)) + 1e-9
    with pytest.raises(ValueError, match="gdbook.optim"):
        explore.race(methods={"T": (torch.optim.SGD, {})})


def test_invalid_arguments_name_themselves():
    with pytest.raises(ValueError, match="initial lr"):
        explore.gradient_descent(lrs=(0.01, 0.1), initial={"lr": 0.05})
    with pytest.raises(ValueError, match="lrs must be strictly increasing"):
        explore.gradient_descent(lrs=(0.1, 0.01))
    with pytest.raises(ValueError, match="betas must be in"):
        explore.momentum(betas=(0.5, 1.0))
    with pytest.raises(ValueError, match="methods must be one of"):
        explore.race(methods=("SGD-with-wishes",))
    with pytest.raises(ValueError, match="problems must be one of"):
        explore.race(problems=("everest",))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_has_labelled_sliders_data_and_a_static_figure(small_momentum, lang):
    html = str(explore.html(small_momentum, lang=lang, caption="Caption <&>", alt="alt"))
    assert "\n\n" not in html                                    # one Markdown HTML block
    assert html.count('<input type="range"') == 2
    for name in ("lr", "beta"):
        sid = re.search(rf'<input type="range" id="([^"]+-{name})"', html).group(1)
        assert f'<label for="{sid}">{explore._TEXT[lang][name]}</label>' in html
        assert f'<output id="{sid}-out" for="{sid}">' in html
    assert 'class="gd-figure gd-x-fallback"' in html and "<svg " in html
    assert '<div class="gd-x-live" hidden data-search-exclude>' in html
    assert "<script" not in html                                 # Material's instant navigation would run it
    assert "Caption &lt;&amp;&gt;" in html
    payload = json.loads(unescape(DATA.search(html).group(1)))
    assert payload["data"] == roundtrip(small_momentum.data)
    assert payload["text"] == explore._TEXT[lang]
    assert f'lang="{lang}"' in html


def test_text_has_the_same_keys_and_placeholders_in_both_languages():
    en, zh = explore._TEXT["en"], explore._TEXT["zh"]
    assert en.keys() == zh.keys()
    for k in en:
        assert sorted(re.findall(r"\{\w+\}", en[k])) == sorted(re.findall(r"\{\w+\}", zh[k])), k


def test_race_html_has_problem_and_method_choices(small_race):
    html = str(explore.html(small_race, lang="zh"))
    assert html.count('type="radio"') == 2 and html.count('type="checkbox"') == 3
    assert html.count("checked") == 1 + 2          # one problem, two methods
    assert "<legend>目标函数</legend>" in html and "<legend>优化方法</legend>" in html


# ---------------------------------------------------------------------------
# The built pages
# ---------------------------------------------------------------------------


def _payloads(site, slug, lang):
    from conftest import page_file

    html = page_file(site, slug, lang).read_text(encoding="utf-8")
    return html, [json.loads(unescape(m)) for m in DATA.findall(html)]


@pytest.mark.build
@pytest.mark.parametrize("slug", sorted(EXPLORABLES))
def test_embedded_data_equals_a_fresh_computation(site, slug):
    en_html, en = _payloads(site, slug, "en")
    zh_html, zh = _payloads(site, slug, "zh")
    assert len(en) == len(zh) == 1, f"{slug}: expected one explorable per language, found {len(en)} and {len(zh)}"
    data = en[0]["data"]
    assert data["kind"] == EXPLORABLES[slug]
    assert zh[0]["data"] == data, f"{slug}: the two languages embed different data"
    fresh = getattr(explore, data["kind"])(**data["args"]).data
    assert roundtrip(fresh) == data, f"{slug}: the embedded data differs from gdbook's computation"
    assert en[0]["text"] == explore._TEXT["en"] and zh[0]["text"] == explore._TEXT["zh"]


@pytest.mark.build
@pytest.mark.parametrize("slug", sorted(EXPLORABLES))
def test_explorable_sizes(site, slug):
    for lang in ("en", "zh"):
        html, payloads = _payloads(site, slug, lang)
        for p in payloads:
            size = len(json.dumps(p["data"], ensure_ascii=False, separators=(",", ":")).encode())
            assert size <= MAX_DATA, f"{lang}/{slug}: explorable data is {size} bytes (limit {MAX_DATA})"
        assert len(html.encode()) <= MAX_PAGE, f"{lang}/{slug}: page is {len(html.encode())} bytes (limit {MAX_PAGE})"


@pytest.mark.build
@pytest.mark.parametrize("slug", sorted(EXPLORABLES))
def test_built_explorable_has_fallback_and_hidden_controls(site, slug):
    from bs4 import BeautifulSoup

    for lang in ("en", "zh"):
        html, _ = _payloads(site, slug, lang)
        soup = BeautifulSoup(html, "html.parser")
        box = soup.select_one("div.gd-explorable")
        assert box is not None and box.get("lang") == lang
        assert box.select_one("figure.gd-x-fallback svg.gd-svg") is not None
        assert box.select_one("div.gd-x-live").has_attr("hidden")
        for inp in box.select('input[type="range"]'):
            assert box.select_one(f'label[for="{inp["id"]}"]') is not None


@pytest.mark.build
def test_explorable_data_stays_out_of_the_search_index(site):
    index = "".join((site / "search" / f"search_index.{lang}.json").read_text(encoding="utf-8")
                    for lang in ("en", "zh")).replace('\\"', '"')
    assert '"contours_by"' not in index and '"xy":[' not in index, "explorable JSON was indexed for search"
