"""The figure pipeline: house style, a CJK-capable font, and deterministic inline SVG.

Every figure of the book goes through [`svg`][gdbook.figures.svg]: a matplotlib figure becomes a
``<figure>`` element with an inline, self-contained SVG (text drawn as paths),
byte-identical across runs, with ids unique to the figure so that many SVGs can
share one page, plus a caption and alt text in the page's language.

Examples:
    >>> import matplotlib.pyplot as plt
    >>> with style():
    ...     fig, ax = plt.subplots()
    ...     _ = ax.plot([0, 1], [1, 0], label="学习率")
    >>> html = svg(fig, caption="A line", alt="A falling line")
    >>> html.startswith("<figure") and "<text" not in html
    True
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import html as _html
import io
import logging
import re
import warnings
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.text
import matplotlib.textpath
from matplotlib import font_manager

from ._checks import check_choice

__all__ = ["LANGS", "cjk_fonts", "style", "svg", "FigureHTML", "MissingGlyphError"]

LANGS = ("en", "zh")

#: The house style, applied only inside [`style`][gdbook.figures.style] (never to global rcParams).
HOUSE_STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.prop_cycle": matplotlib.cycler(
        color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    ),
    "lines.linewidth": 1.6,
    "lines.markersize": 4,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "svg.fonttype": "path",
    "svg.hashsalt": "gdbook",
    "savefig.bbox": "tight",
    "savefig.transparent": False,
    "savefig.facecolor": "white",
    "axes.unicode_minus": True,
    "mathtext.fontset": "dejavusans",
}


@contextlib.contextmanager
def _logged(name: str):
    """Collect the messages logged to logger ``name`` inside the block (and keep them out of stderr)."""
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    logger = logging.getLogger(name)
    handler, propagate = Collect(level=logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


class FigureHTML(str):
    """The HTML of a figure: a ``str`` (print it on a page) that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


class MissingGlyphError(RuntimeError):
    """Raised when a figure uses a character that no configured font can draw."""


_FONT_DIR = Path(__file__).with_name("fonts")


@functools.lru_cache(maxsize=1)
def cjk_fonts() -> tuple[str, ...]:
    """Register the book's Chinese fonts with matplotlib and return their family names.

    First the regular-weight subset of Noto Sans CJK SC shipped in ``gdbook/fonts``
    (the characters of ordinary labels), then, if the optional package
    ``manimgx-fonts-cjk`` is installed (``pip install gdbook[cjk]``), the complete
    variable font for rarer characters. Registration is local to matplotlib's font
    manager; no file outside the package is written.
    """
    font_manager.fontManager.addfont(str(_FONT_DIR / "gdbook-NotoSansSC-Regular.otf"))
    families = ["gdbook Noto Sans SC"]
    try:
        import manimgx_fonts_cjk
    except ImportError:
        return tuple(families)
    font_manager.fontManager.addfont(str(Path(manimgx_fonts_cjk.__file__).with_name("NotoSansCJK-VF.otf.ttc")))
    # The variable font has one registered weight (its default, 100); matplotlib logs that it
    # "failed to find weight normal" each time it resolves the fallback list. Expected: quiet it.
    logging.getLogger("matplotlib.font_manager").addFilter(_QuietVariableFontWeight())
    return (*families, "Noto Sans CJK SC")


class _QuietVariableFontWeight(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Failed to find font weight" not in record.getMessage() or "Noto Sans CJK" not in record.getMessage()


@contextlib.contextmanager
def style(**overrides):
    """Context in which figures get the house style (fonts with CJK fallback included).

    The settings apply only inside the ``with`` block; global rcParams are untouched.
    """
    rc = dict(HOUSE_STYLE, **{"font.family": ["DejaVu Sans", *cjk_fonts()]}, **overrides)
    with matplotlib.rc_context(rc):
        yield


@functools.lru_cache(maxsize=1)
def _text_to_path() -> "matplotlib.textpath.TextToPath":
    return matplotlib.textpath.TextToPath()


@contextlib.contextmanager
def _shared_text_to_path():
    """Let every renderer created inside the block share one ``TextToPath``.

    matplotlib gives each renderer its own ``TextToPath``, and with it its own cache of parsed
    mathtext (tick labels such as ``$10^{-3}$`` on log axes). ``savefig(bbox_inches="tight")``
    creates two renderers per figure, so every label was parsed twice per figure, from scratch.
    ``TextToPath`` keeps no per-figure state, so sharing it changes no output byte (the build
    checks this), and parsing is done once per label per process.
    """
    saved = matplotlib.text.TextToPath
    matplotlib.text.TextToPath = _text_to_path
    try:
        yield
    finally:
        matplotlib.text.TextToPath = saved


_ID = re.compile(r'id="([^"]+)"')


def _uniquify(text: str, prefix: str) -> str:
    ids = set(_ID.findall(text))
    if not ids:
        return text

    def fix(match: re.Match) -> str:
        s = match.group(0)
        for pattern in ('id="', 'href="#', "url(#"):
            if s.startswith(pattern):
                return pattern + prefix + s[len(pattern):]
        return s

    names = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.sub(rf'(?:id="|href="#|url\(#)(?:{names})(?=["\)])', fix, text)


_DRAWING = contextvars.ContextVar("gdbook_figures_drawing", default=True)


@contextlib.contextmanager
def _not_drawn():
    """Inside, [`svg`][gdbook.figures.svg] closes figures without drawing them and returns an
    empty ``FigureHTML``: for code whose output is thrown away, such as the page blocks the
    build hook runs again only to restore their session's variables (hooks/book.py)."""
    token = _DRAWING.set(False)
    try:
        yield
    finally:
        _DRAWING.reset(token)


def svg(fig: "matplotlib.figure.Figure", caption: str | None = None, alt: str | None = None, *, close: bool = True) -> FigureHTML:
    """Render ``fig`` to a ``<figure>`` HTML element holding a deterministic inline SVG.

    Args:
        fig: a matplotlib figure.
        caption: text under the figure (in the page's language); Markdown is not parsed. The
            book's pages and labs leave it out and write the caption as prose below the block
            or cell that shows the figure (``/// figure``, hooks/figcaptions.py).
        alt: a text description for screen readers; defaults to the caption.
        close: close the figure afterwards, freeing its memory.

    Raises:
        MissingGlyphError: a label contains a character no font can draw.
    """
    if not _DRAWING.get():
        if close:
            plt.close(fig)
        return FigureHTML("")
    buf = io.StringIO()
    with style(), _shared_text_to_path(), warnings.catch_warnings(record=True) as caught, \
            _logged("matplotlib.mathtext") as logged:
        warnings.simplefilter("always")
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    # "Glyph … missing from font(s) …" (text, a warning); "Font … does not have a glyph …" (mathtext, a log)
    messages = [str(w.message) for w in caught] + logged
    missing = [m for m in messages if "missing from" in m or "does not have a glyph" in m]
    if close:
        plt.close(fig)
    if missing:
        raise MissingGlyphError("; ".join(sorted(set(missing))))
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r">\s+<", "><", text).strip()
    prefix = "f" + hashlib.sha1(text.encode()).hexdigest()[:10] + "-"
    text = _uniquify(text, prefix)
    label = _html.escape(alt or caption or "figure", quote=True)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{label}" class="gd-svg" ', 1)
    # Scale with the page: natural size at most, narrower on a phone.
    text = re.sub(r'(<svg[^>]*?) width="([^"]*)" height="[^"]*"', r'\1 style="max-width:\2"', text, count=1)
    cap = f"<figcaption>{_html.escape(caption)}</figcaption>" if caption else ""
    return FigureHTML(f'<figure class="gd-figure">{text}{cap}</figure>')


def check_lang(lang: str) -> str:
    """Validate a language code (``"en"`` or ``"zh"``)."""
    return check_choice("lang", lang, LANGS)
