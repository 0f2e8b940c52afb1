"""The explorables in a real browser: sliders move, the drawn path is the data for that setting.

Uses the server, browser and page fixtures of ``test_browser.py`` (Debian's Chromium through
Playwright, the session's build served on 127.0.0.1, every outside request aborted). Without
Chromium or Playwright these tests skip with a message, except under ``CI``, where they fail.

"Matches the data" is checked geometrically: the points of the drawn ``<polyline>`` (SVG
coordinates) must be an axis-aligned affine image of the data's points for the slider
setting (one scale and offset per axis, y flipped), to the 0.01 the script rounds to.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import url_path
from test_browser import TIMEOUT_MS, Visit, _nav_click, _require_browser, browser, server, visit  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.build]

PAGES = {"gradient-descent": "gradient_descent", "momentum": "momentum", "optimizer-comparison": "race"}


def _assert_clean(v: Visit):
    """No script error and nothing fetched from outside (page-wide 404s are test_browser.py's to report)."""
    scripts = [e for e in v.errors if e.startswith("uncaught") or ("console" in e and "Failed to load resource" not in e)]
    assert not scripts and not v.external, scripts[:5] + v.external[:5]


def _payload(v: Visit) -> dict:
    return json.loads(v.page.locator("div.gd-explorable template.gd-x-data").first.evaluate("t => t.content.textContent"))


def _ready(v: Visit):
    v.page.wait_for_selector("div.gd-explorable.gd-x-ready", timeout=TIMEOUT_MS)


def _polyline(v: Visit, selector: str) -> np.ndarray:
    pts = v.page.locator(selector).first.get_attribute("points")
    return np.array([[float(c) for c in p.split(",")] for p in pts.split()])


def _assert_affine_image(drawn: np.ndarray, data: np.ndarray, where: str, y_sign: int = -1):
    """``drawn = data * scale + offset`` per axis, with scale > 0 in x and of sign ``y_sign`` in y."""
    assert drawn.shape == data.shape, f"{where}: {len(drawn)} points drawn, {len(data)} in the data"
    for axis in (0, 1):
        d, s = data[:, axis], drawn[:, axis]
        if np.ptp(d) == 0:
            assert np.ptp(s) <= 0.02, f"{where}: a constant coordinate drawn as varying"
            continue
        A = np.column_stack([d, np.ones_like(d)])
        (scale, offset), *_ = np.linalg.lstsq(A, s, rcond=None)
        assert np.abs(A @ [scale, offset] - s).max() <= 0.02, f"{where}: drawn points are not the data's (axis {axis})"
        assert np.sign(scale) == (1 if axis == 0 else y_sign), f"{where}: axis {axis} drawn the wrong way round"


# The text boxes of each slider's labels, as drawn (a label's box includes the padding that puts
# it on its row; the text's own box does not).
LABEL_BOXES = """() => Array.from(document.querySelectorAll('.gd-x-marks')).map(box =>
  Array.from(box.querySelectorAll('.gd-x-mark')).map(m => {
    const range = document.createRange(); range.selectNodeContents(m);
    const r = range.getBoundingClientRect();
    return [m.textContent, r.left, r.top, r.right, r.bottom];
  }))"""


def _assert_labels_apart(v: Visit, where: str):
    """Labels whose text spans overlap side by side sit on different rows, at least 0.8 of a line
    apart (a line box is taller than its glyphs: 1.2em in English, 1.45em in Chinese). Rows 1.05em
    apart failed this in Chinese, and in English an underscore touched the row below."""
    for labels in v.page.evaluate(LABEL_BOXES):
        for i, (a, *p) in enumerate(labels):
            for b, *q in labels[i + 1:]:
                side_by_side = p[2] <= q[0] or q[2] <= p[0]
                rows_apart = abs(p[1] - q[1]) >= 0.8 * min(p[3] - p[1], q[3] - q[1])
                assert side_by_side or rows_apart, f"{where}: the labels {a!r} and {b!r} overlap"


def _set(v: Visit, name: str, index: int):
    """Move a slider the way a script-driven change does: set the value, fire ``input``."""
    v.page.eval_on_selector(
        f'div.gd-explorable .gd-x-slider[data-name="{name}"] input[type="range"]',
        "(el, i) => { el.value = String(i); el.dispatchEvent(new Event('input', {bubbles: true})); }", index)


def _index(v: Visit, name: str) -> int:
    return int(v.page.input_value(f'div.gd-explorable .gd-x-slider[data-name="{name}"] input[type="range"]'))


def _check_slider_explorable(v: Visit, where: str):
    payload = _payload(v)
    d, text = payload["data"], payload["text"]
    names = [s["name"] for s in d["sliders"]]

    def check(tag):
        i, j = _index(v, names[0]), _index(v, names[1])
        run = d["runs"][i][j]
        path = _polyline(v, f'.gd-x-plane polyline.gd-x-path[data-run="{i},{j}"]')
        _assert_affine_image(path, np.array(run["xy"]).reshape(-1, 2), f"{where} {tag} path ({i},{j})")
        loss = _polyline(v, f'.gd-x-loss-plot polyline.gd-x-loss[data-run="{i},{j}"]')
        keep = np.array(run["loss"]) > 10.0 ** (d["loss"]["range"][0] - 1)   # drawn below the axis otherwise
        steps = np.arange(len(run["loss"]))
        _assert_affine_image(loss[keep], np.column_stack([steps, np.log10(np.array(run["loss"])[keep])]),
                             f"{where} {tag} loss ({i},{j})")
        for n, s in zip(names, d["sliders"]):
            out = v.page.locator(f'div.gd-explorable .gd-x-slider[data-name="{n}"] output').text_content()
            assert float(out.replace("−", "-")) == pytest.approx(s["values"][_index(v, n)], rel=1e-3)
        assert v.page.get_attribute("div.gd-explorable", "data-verdict") == run["verdict"]
        assert text[run["verdict"]] in v.page.locator("div.gd-explorable .gd-x-status").inner_text()
        return path

    before = check("initial")
    # the keyboard: focus each slider and press the right arrow (one grid step)
    for n in names:
        sel = f'div.gd-explorable .gd-x-slider[data-name="{n}"] input[type="range"]'
        start = _index(v, n)
        v.page.focus(sel)
        v.page.keyboard.press("ArrowLeft" if start == len(d["sliders"][names.index(n)]["values"]) - 1 else "ArrowRight")
        assert _index(v, n) != start, f"{where}: the arrow key did not move the {n} slider"
        after = check(f"after a key on {n}")
        assert before.shape != after.shape or np.abs(before - after).max() > 0.5, f"{where}: the path did not change"
        before = after
    # every corner of the grid, set by script
    for i in (0, len(d["sliders"][0]["values"]) - 1):
        for j in (0, len(d["sliders"][1]["values"]) - 1):
            _set(v, names[0], i)
            _set(v, names[1], j)
            check(f"at ({i},{j})")
    return d, text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_gradient_descent_explorable(visit, lang):
    visit.open(url_path("gradient-descent", lang))
    _ready(visit)
    d, text = _check_slider_explorable(visit, f"{lang}/gradient-descent")
    # a divergent setting is shown as such: c = max, η = max
    _set(visit, "c", len(d["sliders"][0]["values"]) - 1)
    _set(visit, "lr", len(d["sliders"][1]["values"]) - 1)
    assert visit.page.get_attribute("div.gd-explorable", "data-verdict") == "diverges"
    assert visit.page.locator(".gd-x-plane text.gd-x-verdict").text_content() == text["diverges"]
    # the learning rate's two labels (threshold, optimal) never overlap: close ones take two rows
    for i in range(len(d["sliders"][0]["values"])):
        _set(visit, "c", i)
        _assert_labels_apart(visit, f"{lang}/gradient-descent, c index {i}")
    # the threshold mark sits at 2/λ_max of the current c, and moves with c
    marks = visit.page.locator('.gd-x-slider[data-name="lr"] .gd-x-mark-threshold')
    assert marks.count() == 1 and marks.text_content() == text["threshold"]
    left = marks.evaluate("e => e.getBoundingClientRect().left")
    _set(visit, "c", 0)
    assert marks.evaluate("e => e.getBoundingClientRect().left") > left
    _assert_clean(visit)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_momentum_explorable(visit, lang):
    visit.open(url_path("momentum", lang))
    _ready(visit)
    d, text = _check_slider_explorable(visit, f"{lang}/momentum")
    lrs = d["sliders"][0]["values"]
    for i in range(len(lrs)):
        _set(visit, "lr", i)
        kinds = {m["kind"] for m in d["marks"]["beta"][i]}
        best = visit.page.locator('.gd-x-slider[data-name="beta"] .gd-x-mark-best')
        assert best.count() == (1 if "best" in kinds else 0), f"lr index {i}: best-β mark"
        bands = visit.page.locator('.gd-x-slider[data-name="beta"] .gd-x-band')
        assert bands.count() == (1 if "unstable" in kinds else 0), f"lr index {i}: unstable band"
    _assert_clean(visit)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_race_explorable(visit, lang):
    visit.open(url_path("optimizer-comparison", lang))
    _ready(visit)
    d = _payload(visit)["data"]
    radios = visit.page.locator("div.gd-explorable .gd-x-problem input")
    boxes = visit.page.locator("div.gd-explorable .gd-x-methods input")
    for pi in range(len(d["problems"])):
        radios.nth(pi).check()
        for mi in range(len(d["methods"])):
            if not boxes.nth(mi).is_checked():
                boxes.nth(mi).check()
        for k in (0, len(d["sliders"][0]["values"]) // 2, len(d["sliders"][0]["values"]) - 1):
            _set(visit, "lr", k)
            for T in (d["steps"], d["steps"] // 3):
                _set(visit, "step", T)
                for mi in range(len(d["methods"])):
                    run = d["problems"][pi]["runs"][mi][k]
                    drawn = _polyline(visit, f'.gd-x-plane polyline.gd-x-path[data-run="{pi},{mi},{k}"]')
                    n = sum(1 for t in run["t"] if t <= T)
                    data = np.array(run["xy"]).reshape(-1, 2)[:n]
                    _assert_affine_image(drawn[:n], data, f"{lang} race p{pi} m{mi} lr{k} T{T}")
                    assert len(drawn) in (n, n + 1)   # plus the point reached between two kept corners
        # unchecking a method removes its path
        boxes.nth(0).uncheck()
        assert visit.page.locator(f'.gd-x-plane polyline.gd-x-path[data-run^="{pi},0,"]').count() == 0
    _assert_clean(visit)


def test_race_play_button_animates(visit):
    visit.open(url_path("optimizer-comparison", "en"))
    _ready(visit)
    d = _payload(visit)["data"]
    _set(visit, "step", d["steps"] * 4 // 5)   # the last fifth of the race: about a second
    visit.page.click("div.gd-explorable .gd-x-play")
    assert visit.page.locator("div.gd-explorable .gd-x-play").get_attribute("aria-pressed") == "true"
    visit.page.wait_for_function(
        f"() => +document.querySelector('.gd-x-slider[data-name=\"step\"] input').value >= {d['steps']}",
        timeout=TIMEOUT_MS)
    assert visit.page.locator("div.gd-explorable .gd-x-play").get_attribute("aria-pressed") == "false"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explorables_start_after_instant_navigation(visit, lang):
    visit.open(url_path("feature-scaling", lang))
    visit.page.evaluate("window.__gdNoReload = true")
    for slug in ("momentum", "gradient-descent"):
        _nav_click(visit, slug, lang)
        visit.page.wait_for_url(visit.base + url_path(slug, lang), timeout=TIMEOUT_MS)
        _ready(visit)
        assert visit.page.evaluate("window.__gdNoReload === true"), "the click reloaded the page"
        assert visit.page.locator("div.gd-explorable .gd-x-fallback").is_hidden()
        assert visit.page.locator("div.gd-explorable .gd-x-plane polyline.gd-x-path").count() >= 1
    _assert_clean(visit)


def test_static_figure_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1000, "height": 800})
    try:
        page = context.new_page()
        for slug in PAGES:
            page.goto(server + url_path(slug, "en"))
            assert page.locator("div.gd-explorable .gd-x-fallback .gd-svg").is_visible(), slug
            assert page.locator("div.gd-explorable .gd-x-live").is_hidden(), slug
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_phone_width_and_themes(browser, server, scheme):
    """At 390 px nothing overflows; in the dark theme the axes and contours are light on dark."""
    _require_browser()
    context = browser.new_context(viewport={"width": 390, "height": 844}, color_scheme=scheme,
                                  service_workers="block")
    try:
        page = context.new_page()
        for slug in PAGES:
            page.goto(server + url_path(slug, "zh"))
            page.wait_for_selector("div.gd-explorable.gd-x-ready", timeout=TIMEOUT_MS)
            box = page.locator("div.gd-explorable").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, f"{slug}: explorable wider than the screen"
            for sel in ("div.gd-explorable .gd-x-plots", "div.gd-explorable .gd-x-controls"):
                b = page.locator(sel).bounding_box()
                assert b["x"] + b["width"] <= 390 + 0.5, f"{slug}: {sel} overflows"
            color = page.locator(".gd-x-plane .gd-x-contour").evaluate("e => getComputedStyle(e).stroke")
            rgb = [float(c) for c in color[color.index("(") + 1:-1].split(",")[:3]]
            bright = sum(rgb) / 3 > 127
            assert bright == (scheme == "dark"), f"{slug}: contour colour {color} in the {scheme} theme"
    finally:
        context.close()
