"""The figure pipeline gdbook.figures.svg and the plot helpers gdbook.plot."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

import gdbook as gd
from gdbook import objectives, optim
from gdbook.figures import MissingGlyphError

ID = re.compile(r'\bid="([^"]+)"')
REF = re.compile(r'(?:url\(#([^)"]+)\)|href="#([^"]+)")')


def contour_figure(lang="en", c=10.0):
    f = objectives.bowl(c)
    runs = [gd.trajectory(f, optim.SGD, lr=0.01, steps=15, label="GD"),
            gd.trajectory(f, optim.Adam, lr=5.0, steps=15, label="Adam")]
    return gd.plot.contour(f, runs, n=30, lang=lang)


def curves_figure(lang="en"):
    f = objectives.rosenbrock()
    runs = [gd.trajectory(f, optim.SGD, lr=1e-3, steps=40, label="GD"),
            gd.trajectory(f, optim.Adam, lr=0.05, steps=40, label="Adam")]
    return gd.plot.curves(runs, lang=lang, title="损失曲线" if lang == "zh" else "Loss curves")


def svg_part(html: str) -> str:
    m = re.search(r"<svg\b.*</svg>", html, flags=re.S)
    assert m, "no <svg> element"
    return m.group(0)


def test_output_is_a_figure_element():
    html = gd.svg(contour_figure(), caption="A <b>caption</b> & more", alt='alt "text"')
    assert html.startswith('<figure class="gd-figure">') and html.endswith("</figure>")
    assert 'class="gd-svg"' in html and 'role="img"' in html
    assert 'aria-label="alt &quot;text&quot;"' in html
    assert "<figcaption>A &lt;b&gt;caption&lt;/b&gt; &amp; more</figcaption>" in html
    assert html.count("<svg") == 1
    # no fixed pixel size: the figure scales with the page
    opening = re.search(r"<svg\b[^>]*>", html).group(0)
    assert "max-width:" in opening and not re.search(r'\sheight="', opening)


def test_byte_identical_for_identical_input():
    a = gd.svg(contour_figure(), caption="same", alt="same")
    b = gd.svg(contour_figure(), caption="same", alt="same")
    assert a == b
    c = gd.svg(curves_figure("zh"), caption="同一张图")
    d = gd.svg(curves_figure("zh"), caption="同一张图")
    assert c == d


def test_no_text_elements_and_no_metadata():
    html = gd.svg(curves_figure("zh"), caption="曲线")
    assert "<text" not in html
    assert "<metadata" not in html and "<!--" not in html
    assert "<?xml" not in html and "<!DOCTYPE" not in html


def test_ids_unique_across_figures_and_references_resolve():
    page = [gd.svg(contour_figure(), caption="one"), gd.svg(curves_figure(), caption="two"),
            gd.svg(contour_figure("zh", c=5.0), caption="三")]
    id_sets = []
    for html in page:
        svg = svg_part(html)
        ids = ID.findall(svg)
        assert ids, "a matplotlib SVG has ids (clip paths, glyph paths)"
        assert len(ids) == len(set(ids)), "duplicate id inside one figure"
        refs = {a or b for a, b in REF.findall(svg)}
        assert refs, "a matplotlib SVG references its own definitions"
        assert refs <= set(ids), f"references without a target in the same SVG: {sorted(refs - set(ids))[:5]}"
        id_sets.append(set(ids))
    for i in range(len(id_sets)):
        for j in range(i + 1, len(id_sets)):
            shared = id_sets[i] & id_sets[j]
            assert not shared, f"figures {i} and {j} share ids: {sorted(shared)[:5]}"


def test_cjk_labels_render():
    with gd.figures.style():
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [2, 1, 0.5], label="学习率 η = 0.1")
        ax.set_xlabel("迭代步数")
        ax.set_ylabel("损失（对数坐标）")
        ax.set_title("梯度下降：黑塞矩阵与条件数")
        ax.legend()
    html = gd.svg(fig, caption="中文标签", alt="中文")
    assert "<text" not in html and len(html) > 5000


def _fonts_in_style():
    with gd.figures.style():
        families = list(matplotlib.rcParams["font.family"])
    return [FT2Font(font_manager.findfont(f, fallback_to_default=False)) for f in families]


def _absent_everywhere(candidates):
    charmaps = [f.get_charmap() for f in _fonts_in_style()]
    return [c for c in candidates if not any(ord(c) in cm for cm in charmaps)]


@pytest.mark.parametrize("where", ["label", "title", "legend"])
def test_missing_glyph_raises(where):
    absent = _absent_everywhere(["\U0001F9EA", "\u0378", "\U000E0FFF"])
    assert absent, "expected at least one character that no configured font covers"
    ch = absent[0]
    with gd.figures.style():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label=f"x {ch}" if where == "legend" else "x")
        if where == "label":
            ax.set_xlabel(f"step {ch}")
        elif where == "title":
            ax.set_title(f"title {ch}")
        else:
            ax.legend()
    with pytest.raises(MissingGlyphError):
        gd.svg(fig, caption="missing")
    assert not plt.fignum_exists(fig.number), "the figure is closed even when rendering fails"


def test_global_rcparams_unchanged():
    before = dict(matplotlib.rcParams)
    f = objectives.bowl(10)
    run = gd.trajectory(f, optim.SGD, lr=0.01, steps=10, label="GD")
    figs = [
        gd.plot.contour(f, [run], n=20, lang="zh", levels="log", arrows=True, equal=True, title="t"),
        gd.plot.curves([run, ("manual", [0, 1, 2], [3.0, 2.0, 1.0])], lang="en"),
        gd.plot.layers({"Xavier": [1.0, 0.5, 0.25], "He": [1.0, 1.0, 1.0]}, lang="zh", ylabel="方差"),
        gd.plot.surface(f, n=10, lang="en"),
    ]
    fig, _ = gd.plot.subplots(1, 2)
    figs.append(fig)
    for fig in figs:
        gd.svg(fig, caption="x")
    with gd.figures.style(**{"lines.linewidth": 3.0}):
        assert matplotlib.rcParams["lines.linewidth"] == 3.0
    after = dict(matplotlib.rcParams)
    changed = {k for k in before if before[k] != after[k]}
    assert not changed, f"global rcParams changed: {sorted(changed)}"


@pytest.mark.parametrize("helper", ["contour", "curves", "layers", "surface"])
def test_ax_none_and_given_ax_return_the_figure(helper):
    f = objectives.bowl(3)
    run = gd.trajectory(f, optim.SGD, lr=0.05, steps=10, label="GD")
    call = {
        "contour": lambda ax: gd.plot.contour(f, [run], n=15, ax=ax),
        "curves": lambda ax: gd.plot.curves([run], ax=ax),
        "layers": lambda ax: gd.plot.layers({"a": [1.0, 2.0]}, ax=ax),
        "surface": lambda ax: gd.plot.surface(f, n=8, ax=ax),
    }[helper]
    new = call(None)
    assert isinstance(new, matplotlib.figure.Figure) and len(new.axes) >= 1
    with gd.figures.style():
        fig = plt.figure()
        ax = fig.add_subplot(projection="3d" if helper == "surface" else None)
        other = fig.add_subplot(2, 2, 4)
    assert call(ax) is fig
    assert len(fig.axes) == 2 and other.has_data() is False
    plt.close(new)
    plt.close(fig)


def test_plot_labels_follow_language():
    assert gd.plot.label("loss", "zh") == "损失" and gd.plot.label("loss", "en") == "loss"
    fig = gd.plot.curves([("GD", [0, 1], [1.0, 0.5])], lang="zh")
    assert fig.axes[0].get_ylabel() == "损失"
    plt.close(fig)
    with pytest.raises(ValueError, match="lang"):
        gd.plot.curves([("GD", [0, 1], [1.0, 0.5])], lang="fr")


def test_diverged_run_is_labelled():
    run = gd.trajectory(objectives.square(), optim.SGD, lr=1.5, start=1.0, steps=3000, label="GD")
    fig = gd.plot.curves([run], lang="zh", logy=False)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["GD (发散)"]
    plt.close(fig)


def test_method_colors_are_stable():
    assert gd.plot.color_of("Adam") == gd.plot.METHOD_COLORS["adam"]
    assert gd.plot.color_of("Adam (lr=0.1)") == gd.plot.METHOD_COLORS["adam"]
    assert gd.plot.color_of("unknown method") is None
    assert gd.plot.color_of("动量法") == gd.plot.METHOD_COLORS["momentum"]
    f = objectives.bowl(2)
    run = gd.trajectory(f, optim.Adam, lr=1.0, steps=5, label="Adam")
    fig = gd.plot.contour(f, [run], n=10)
    line = fig.axes[0].get_lines()[0]
    assert matplotlib.colors.to_hex(line.get_color()) == gd.plot.METHOD_COLORS["adam"]
    plt.close(fig)


def test_svg_size_reasonable_for_small_grid():
    """The book's guideline: a figure under ~150 KB; a typical contour with n = 60 is well below."""
    f = objectives.rosenbrock()
    runs = [gd.trajectory(f, optim.Adam, lr=0.05, steps=300, label="Adam")]
    html = gd.svg(gd.plot.contour(f, runs, levels="log", n=60), caption="x")
    assert len(html.encode()) < 150_000


def _log_axes_figure():
    with gd.figures.style():
        fig, axes = plt.subplots(1, 2)
        for ax in axes:
            ax.semilogy([1, 2, 3], [1e-3, 1e-1, 1e2], label=r"$\eta = 10^{-2}$")
            ax.legend()
            ax.set_title("学习率")
    return fig


def test_renderers_sharing_one_text_to_path_change_no_byte(monkeypatch):
    """svg() lets the renderers share one TextToPath (its mathtext cache); the output must be
    exactly that of matplotlib's own one-per-renderer, and the class must be restored after."""
    import contextlib

    import matplotlib.text

    original = matplotlib.text.TextToPath
    shared = [gd.svg(_log_axes_figure()) for _ in range(2)]
    assert matplotlib.text.TextToPath is original
    monkeypatch.setattr(gd.figures, "_shared_text_to_path", contextlib.nullcontext)
    alone = gd.svg(_log_axes_figure())
    assert shared[0] == shared[1] == alone
    assert "<path" in alone and "10^" not in alone  # mathtext drawn as paths


def test_not_drawn_closes_the_figure_draws_nothing_and_ends_with_its_block(monkeypatch):
    from gdbook.figures import _not_drawn

    drawn = []
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", lambda self, *a, **k: drawn.append(self))
    fig, ax = plt.subplots()
    with _not_drawn():
        assert gd.svg(fig, caption="c") == ""
    assert drawn == [] and not plt.fignum_exists(fig.number)
    monkeypatch.undo()
    fig, ax = plt.subplots()
    assert gd.svg(fig).startswith("<figure")
