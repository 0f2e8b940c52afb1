"""Figure captions written as prose, numbered figures, references to them, folded plotting code.

A figure block prints the figure only (``print(gd.svg(fig))``); its caption and alt text are
written in the page's Markdown right after the block, with a label::

    ```python exec="on"
    ...
    print(gd.svg(fig))
    ```

    /// figure | fig:ema-weights
    alt: Bars of the weights, highest for the newest gradient and falling geometrically.
    The weights of an exponential moving average with \\(\\gamma = 0.95\\) sum to
    `{python} gd.report.num(total)`.
    ///

The line ``alt:`` is the text description for screen readers (plain text, one line; inline
values allowed); the other lines are the caption, in Markdown (math, links, inline values).
A block that prints several figures is followed by one ``/// figure`` per figure, in order.
An explorable (``gd.explore.html``) is captioned the same way.

Figures are numbered per chapter in nav order (chapter numbers as for equations,
``hooks/numbering.py``), from the English page; the Chinese page labels the same figures in
the same order (the parity test checks it). The caption gets "Figure 3.2." / "图 3.2", and a
link with empty text ``[](#fig:ema-weights)`` becomes a link "Figure 3.2" / "图 3.2" to the
figure, on the same page or in another chapter. A figure of a page outside the chapters (the
home page) is captioned without a number and cannot be referred to.

A lab (a notebook, ``docs/labs/``) writes the same block at the start of the Markdown cell
below the code cell that shows the figure; ``notebook`` prepares the lab before nbconvert
renders it, ``attach_lab`` then moves the captions into the figures. A lab's figures are
numbered in the lab ("Figure 1." / "图 1").

Folding: a block whose fence has ``fold="1"`` shows its code collapsed under "Code for the
figure" / "绘图代码" (a ``<details>``), the figure staying visible below it.

How (two steps):

1. ``process`` (``on_page_markdown``): each ``/// figure`` becomes a ``<div class="gd-caption"
   markdown>`` holding the caption (so Python-Markdown renders it with the page) and carrying
   the label, number and alt text; references become links; folded blocks become a
   ``<details>`` with the code, and the block runs without showing its source.
2. ``attach`` (``on_page_content``, after the inline values are in): each caption moves into
   the ``<figcaption>`` of the figure printed just above it, the alt text into the SVG's
   ``aria-label``, the label into the figure's ``id``.

Problems (a caption without alt text or text, a label that is malformed, repeated or not in the
English page, a reference to an unknown figure, a caption not below a figure, a figure without
a caption, a caption also passed in code) are returned for the hook to log as warnings, which
fail the strict build.

>>> idx = index({"a.md": "```python exec=\\"on\\"\\nx\\n```\\n\\n/// figure | fig:x\\nalt: A.\\nC.\\n///\\n"}, {"a.md": "2"})
>>> idx
{'fig:x': ('a.md', '2.1')}
>>> md, problems = process("See [](#fig:x).\\n", "b.md", idx, "en")
>>> md, problems
('See [Figure 2.1](a.md#fig-x).\\n', [])
"""

from __future__ import annotations

import html as _html
import re

__all__ = ["labels", "index", "process", "attach", "notebook", "attach_lab", "USES", "WORDS", "FOLD_SUMMARY"]

OPEN = re.compile(r"^(?P<indent>[ \t]*)///[ \t]*figure\b[ \t]*(?:\|[ \t]*(?P<label>[^\n]*?))?[ \t]*$")
CLOSE = re.compile(r"^[ \t]*///[ \t]*$")
LABEL = re.compile(r"^fig:[\w.-]+$")
REF = re.compile(r"\[\]\(#(fig:[\w.-]+)\)")
ALT = re.compile(r"^[ \t]*alt:[ \t]*(?P<alt>.*)$")
FOLD = re.compile(r'[ \t]+fold="(?:1|on|true|yes)"')
USES = re.compile(r"^[ \t]*///[ \t]*figure\b|\]\(#fig:|\bfold=\"", re.M)
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
_EXEC = re.compile(r'\bexec="(?:1|on|true|yes)"')

#: How a figure is named in a caption and in a reference, per language.
WORDS = {"en": ("Figure {}.", "Figure {}"), "zh": ("图 {}", "图 {}")}
#: The summary of a folded block, per language.
FOLD_SUMMARY = {"en": "Code for the figure", "zh": "绘图代码"}


def _lines(markdown: str):
    """``(n, line, state)`` for each line: state is "code" inside (or on a fence of) a fenced
    block, "close-exec" on the closing fence of an executed Python block, else "prose"."""
    fence, executed = None, False
    for n, line in enumerate(markdown.split("\n")):
        if fence is not None:
            if re.match(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", line):
                fence = None
                yield n, line, "close-exec" if executed else "code"
            else:
                yield n, line, "code"
            continue
        m = _FENCE.match(line)
        if m:
            fence = m.group("ticks")
            info = m.group("info")
            executed = bool(re.match(r"(?:python|py)\b", info) and _EXEC.search(info))
            yield n, line, "code"
            continue
        yield n, line, "prose"


def labels(markdown: str) -> list[str]:
    """The figure labels of a page, in order (what the parity test compares)."""
    out = []
    for _, line, state in _lines(markdown):
        m = OPEN.match(line) if state == "prose" else None
        if m:
            out.append((m.group("label") or "").strip())
    return out


def index(sources: dict[str, str], chapters: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """``{label: (source path, number)}`` over the pages' English sources: ``number`` is
    "chapter.n" on a chapter, None on another page (the home page)."""
    out: dict[str, tuple[str, str | None]] = {}
    for src, text in sources.items():
        chapter = chapters.get(src)
        for i, label in enumerate(labels(text), start=1):
            if LABEL.match(label):
                out.setdefault(label, (src, f"{chapter}.{i}" if chapter else None))
    return out


def anchor(label: str) -> str:
    return label.replace(":", "-")


def _attr(text: str) -> str:
    return _html.escape(text, quote=True)


def process(markdown: str, src: str, idx: dict, lang: str, *, where: str = "line {}",
            after_figure: bool = False, pad: bool = False) -> tuple[str, list[str]]:
    """Captions to ``<div class="gd-caption">``, references to links, folded blocks to
    ``<details>``; returns the new Markdown and the problems found.

    ``where`` names a line in problems (``"line {}"``; a lab's cell: ``"cell c08, line {}"``);
    ``after_figure``: the text starts right below a figure (a lab's Markdown cell below a code
    cell); ``pad``: blank lines around the caption inside its ``<div>`` (CommonMark, the labs'
    Markdown, ends an HTML block at a blank line; Python-Markdown's ``md_in_html`` needs none).
    """
    problems: list[str] = []
    lines = markdown.split("\n")
    states = list(_lines(markdown))
    out: list[str] = []
    seen: set[str] = set()
    after_figure_block = after_figure  # only blank lines and captions since an executed block closed
    i = 0
    while i < len(lines):
        n, line, state = states[i]
        if state == "close-exec":
            after_figure_block = True
            out.append(line)
            i += 1
            continue
        if state == "code":
            out.append(line)
            i += 1
            continue
        m = OPEN.match(line)
        if not m:
            if line.strip():
                after_figure_block = False
            out.append(REF.sub(lambda r: _ref(r.group(1), src, idx, lang, problems, where.format(n + 1)), line))
            i += 1
            continue
        # a caption block: up to the closing ///
        indent, label = m.group("indent"), (m.group("label") or "").strip()
        j = i + 1
        while j < len(lines) and not CLOSE.match(lines[j]):
            j += 1
        at = where.format(n + 1)
        if j == len(lines):
            problems.append(f"{at}: figure caption {label or '(no label)'} is not closed by a line ///")
        body = lines[i + 1:j]
        alt = [ALT.match(b).group("alt").strip() for b in body if ALT.match(b)]
        caption = [b for b in body if not ALT.match(b)]
        if not LABEL.match(label):
            problems.append(f"{at}: figure caption without a label fig:<name> (got {label!r})")
        elif label in seen:
            problems.append(f"{at}: figure label {label} used twice")
        seen.add(label)
        if not alt or not alt[0]:
            problems.append(f"{at}: figure {label} has no alt text (a line 'alt: ...')")
        if not "".join(caption).strip():
            problems.append(f"{at}: figure {label} has no caption")
        if not after_figure_block:
            problems.append(f"{at}: figure caption {label} does not follow the block that prints the figure")
        entry = idx.get(label)
        number = ""
        if LABEL.match(label) and (entry is None or entry[0] != src):
            problems.append(f"{at}: figure label {label} is not in the English page {src}")
        elif entry is not None and entry[1]:
            number = entry[1]
        # the id: MkDocs checks links to the anchor against the page's Markdown; attach() moves it to the figure
        head = (f'{indent}<div class="gd-caption" id="{anchor(label)}" data-gd-label="{_attr(label)}" data-gd-number="{number}" '
                f'data-gd-where="{_attr(at)}" data-gd-alt="{_attr(alt[0] if alt else "")}" markdown>')
        # as many lines as the source's (line numbers stay right): the alt line becomes blank
        text = ["" if ALT.match(b) else REF.sub(lambda r: _ref(r.group(1), src, idx, lang, problems, at), b)
                for b in body]
        out += [head, *([""] if pad else []), *text, *([""] if pad else []), f"{indent}</div>" if j < len(lines) else ""]
        i = j + 1
    text = "\n".join(out)
    return (_fold(text, lang) if FOLD.search(text) else text), problems


def _ref(label: str, src: str, idx: dict, lang: str, problems: list, at: str) -> str:
    entry = idx.get(label)
    if entry is None:
        problems.append(f"{at}: reference to an unknown figure {label}")
        return f"[{label}?](#{anchor(label)})"
    if entry[1] is None:
        problems.append(f"{at}: reference to figure {label}, which has no number (not in a chapter)")
        return f"[{label}?](#{anchor(label)})"
    target = f"#{anchor(label)}" if entry[0] == src else f"{entry[0]}#{anchor(label)}"
    return f"[{WORDS[lang][1].format(entry[1])}]({target})"


def _fold(markdown: str, lang: str) -> str:
    """Executed blocks with ``fold="1"``: the code in a collapsed ``<details>`` (not run), then
    the block itself, its source not shown (its output, the figure, stays visible)."""
    lines = markdown.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            out.append(lines[i])
            i += 1
            continue
        indent, ticks, info = m.group("indent"), m.group("ticks"), m.group("info")
        close = re.compile(rf"^[ \t]*{re.escape(ticks[0])}{{{len(ticks)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        block = lines[i:j + 1]
        if not (_EXEC.search(info) and FOLD.search(info)):
            out += block
            i = j + 1
            continue
        info = re.sub(r'[ \t]+source="[^"]*"', "", FOLD.sub("", info))  # markdown-exec's default: no source
        lang_word = info.split()[0]
        shown = [f"{indent}    {ticks}{lang_word}"]
        shown += [f"    {b}" if b.strip() else "" for b in block[1:-1]]
        shown.append(f"{indent}    {ticks}")
        out += ["", f'{indent}??? gd-fold "{FOLD_SUMMARY[lang]}"', "", *shown, "",
                f"{indent}{ticks}{info}", *block[1:]]
        i = j + 1
    return "\n".join(out)


# ---------------------------------------------------------------------------
# HTML: each caption into the figure above it
# ---------------------------------------------------------------------------

_CAPTION_OPEN = re.compile(r'<div class="gd-caption"(?P<attrs>[^>]*)>')
# nbconvert serialises a lab's HTML again: attributes sorted, a value holding " in single quotes
_DATA = re.compile(r"""data-gd-(?P<key>\w+)=(?:"(?P<value>[^"]*)"|'(?P<value1>[^']*)')""")
_ARIA = re.compile(r"""(<svg\b[^>]*?\baria-label=)(?:"[^"]*"|'[^']*')""")
_FIGURE = re.compile(r'<figure class="gd-figure">|<div class="gd-explorable"')
_DIV = re.compile(r"<div\b|</div>")


def _div_end(html: str, start: int) -> int:
    """The end of the ``<div>`` opened at ``start`` (nested divs counted)."""
    depth = 0
    for m in _DIV.finditer(html, start):
        depth += 1 if m.group(0) == "<div" else -1
        if depth == 0:
            return m.end()
    return len(html)


def _figures(html: str) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of the page's top-level figures (an explorable's static figure is
    part of the explorable)."""
    out, pos = [], 0
    while True:
        m = _FIGURE.search(html, pos)
        if m is None:
            return out
        if m.group(0).startswith("<figure"):
            end = html.index("</figure>", m.start()) + len("</figure>")
            out.append((m.start(), end, "figure"))
        else:
            end = _div_end(html, m.start())
            out.append((m.start(), end, "explorable"))
        pos = end


def _inner(html: str) -> str:
    inner = html.strip()
    if inner.startswith("<p>") and inner.endswith("</p>") and inner.count("<p>") == 1:
        inner = inner[3:-4]
    return inner


def attach(html: str, lang: str) -> tuple[str, list[str]]:
    """Move each caption into the figure above it; returns the page's HTML and the problems."""
    problems: list[str] = []
    captions = []
    for m in _CAPTION_OPEN.finditer(html):
        end = _div_end(html, m.start())
        data = {d.group("key"): _html.unescape(d.group("value") if d.group("value") is not None else d.group("value1"))
                for d in _DATA.finditer(m.group("attrs"))}
        captions.append((m.start(), end, data, _inner(html[m.end():end - len("</div>")])))
    figures = _figures(html)
    if not captions:
        return html, [f"figure {k} of the page has no caption (a /// figure block below the block that prints it)"
                      for k in range(1, len(figures) + 1)]
    # group captions separated only by white space; each group captions as many figures, the last
    # ones above it that no earlier group took
    groups: list[list] = []
    for c in captions:
        if groups and not html[groups[-1][-1][1]:c[0]].strip():
            groups[-1].append(c)
        else:
            groups.append([c])
    assigned: list[tuple] = []  # (figure, caption)
    taken = 0
    prev_end = 0
    for group in groups:
        above = [f for f in figures[taken:] if prev_end <= f[0] and f[1] <= group[0][0]]
        for f in above[:max(0, len(above) - len(group))]:
            problems.append(f"figure {figures.index(f) + 1} of the page has no caption "
                            f"(the caption at {group[0][2].get('where')} is the next one below it)")
        mine = above[-len(group):] if above else []
        if len(mine) < len(group):
            for c in group[:len(group) - len(mine)]:
                problems.append(f"{c[2].get('where')}: figure caption {c[2].get('label')} is not below a figure")
            group = group[len(group) - len(mine):]
        assigned += list(zip(mine, group))
        taken += len(above)
        prev_end = group[-1][1] if group else prev_end
    for f in figures[taken:]:
        problems.append(f"figure {figures.index(f) + 1} of the page has no caption (none below it)")
    # rewrite from the end, so that earlier offsets stay valid
    edits = []  # (start, end, replacement)
    for (fs, fe, kind), (cs, ce, data, inner) in assigned:
        edits.append((cs, ce, ""))
        fig = html[fs:fe]
        label, alt = data.get("label", ""), data.get("alt", "")
        number = data.get("number")
        head = f'<span class="gd-fig-number">{WORDS[lang][0].format(number)}</span> ' if number else ""
        text = head + inner
        if kind == "figure":
            if "<figcaption>" in fig:
                problems.append(f"{data.get('where')}: figure {label} also has a caption from its code "
                                "(gd.svg(..., caption=...)): write it in the page only")
            fig = fig.replace('<figure class="gd-figure">', f'<figure class="gd-figure" id="{anchor(label)}">', 1)
            fig = _ARIA.sub(lambda m: m.group(1) + '"' + _attr(alt) + '"', fig, count=1)
            fig = fig[:-len("</figure>")] + f"<figcaption>{text}</figcaption></figure>"
        else:
            if '<p class="gd-x-caption">' in fig:
                problems.append(f"{data.get('where')}: explorable {label} also has a caption from its code "
                                "(gd.explore.html(..., caption=...)): write it in the page only")
            fig = re.sub(r'(<div class="gd-explorable"[^>]*>)', rf'\1<span id="{anchor(label)}"></span>', fig, count=1)
            fig = _ARIA.sub(lambda m: m.group(1) + '"' + _attr(alt) + '"', fig, count=1)
            fig = fig.replace("<figcaption>", f"<figcaption>{text} ", 1)
            fig = fig.replace('<div class="gd-x-status" aria-live="polite"></div>',
                              f'<div class="gd-x-status" aria-live="polite"></div><p class="gd-x-caption">{text}</p>', 1)
        edits.append((fs, fe, fig))
    for s, e, r in sorted(edits, reverse=True):
        html = html[:s] + r + html[e:]
    return html, problems


# ---------------------------------------------------------------------------
# The labs: the same captions in a notebook's Markdown cells
# ---------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
_TEX_DELIMITER = re.compile(r"(?<!\\)\\([()\[\]])")


def notebook(nb, src: str, lang: str) -> list[str]:
    """Make a lab (an ``nbformat`` notebook, changed in place) ready for nbconvert; returns the
    problems found.

    A figure's caption is a ``/// figure | fig:name`` block at the start of the Markdown cell
    right below the code cell that shows the figure (several figures: one block each, in order),
    written as on a page. It becomes a ``<div class="gd-caption">`` that ``attach_lab`` moves into
    the figure. A lab's figures are numbered in the lab, "Figure 1." / “图 1”, and ``[](#fig:name)``
    refers to a figure of the same lab.

    Math: Jupyter reads ``\\(x\\)`` in a Markdown cell as math, nbconvert as the escaped
    parentheses "(x)"; the cells' ``\\(``, ``\\)``, ``\\[``, ``\\]`` (outside code) are doubled
    for nbconvert.

    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("gd.svg(fig)"),
    ...     nbformat.v4.new_markdown_cell("/// figure | fig:x\\nalt: A line.\\nThe loss \\\\(L\\\\).\\n///\\nSee [](#fig:x).")])
    >>> notebook(nb, "labs/a.ipynb", "en")
    []
    >>> print(nb.cells[1].source)  # doctest: +ELLIPSIS
    <div class="gd-caption" id="fig-x" data-gd-label="fig:x" data-gd-number="1" data-gd-where="cell ..., line 1" data-gd-alt="A line." markdown>
    <BLANKLINE>
    <BLANKLINE>
    The loss \\\\(L\\\\).
    <BLANKLINE>
    </div>
    See [Figure 1](#fig-x).
    """
    problems: list[str] = []
    cells = nb.cells
    idx: dict[str, tuple[str, str]] = {}
    for cell in cells:
        if cell.cell_type == "markdown":
            for label in labels(cell.source):
                if label in idx:
                    problems.append(f"cell {cell.get('id')}: figure label {label} used twice")
                elif LABEL.match(label):
                    idx[label] = (src, str(len(idx) + 1))
    for k, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        text = _jupyter_math(cell.source)
        if USES.search(text):
            after_code = k > 0 and cells[k - 1].cell_type == "code"
            text, found = process(text, src, idx, lang, where=f"cell {cell.get('id')}, line {{}}",
                                  after_figure=after_code, pad=True)
            problems += [p for p in found if "used twice" not in p]  # counted over the whole lab above
        cell.source = text
    return problems


def _jupyter_math(markdown: str) -> str:
    """``\\(``, ``\\)``, ``\\[``, ``\\]`` doubled outside fenced code and code spans."""
    out, prose = [], []

    def flush():
        if prose:
            text = "\n".join(prose)
            spans = [m.group(0) for m in _CODE_SPAN.finditer(text)]
            plain = [_TEX_DELIMITER.sub(r"\\\\\1", p) for p in _CODE_SPAN.sub("\0", text).split("\0")]
            out.append("".join(a + b for a, b in zip(plain, spans + [""])))
            prose.clear()

    for _, line, state in _lines(markdown):
        if state == "prose":
            prose.append(line)
        else:
            flush()
            out.append(line)
    flush()
    return "\n".join(out)


_MD_CELL = re.compile(r'<div class="jp-Cell jp-MarkdownCell\b[^"]*"[^>]*>')
_MD_OUTPUT = re.compile(r'<div class="[^"]*\bjp-MarkdownOutput\b[^"]*"[^>]*>')


def attach_lab(html: str, lang: str) -> tuple[str, list[str]]:
    """``attach`` for a lab page (nbconvert's HTML): each caption into the figure of the code
    cell above it; a Markdown cell left empty (it held only captions) is removed."""
    html, problems = attach(html, lang)
    out, pos = [], 0
    for m in _MD_CELL.finditer(html):
        if m.start() < pos:
            continue
        end = _div_end(html, m.start())
        inner = _MD_OUTPUT.search(html, m.end(), end)
        if inner is not None and not html[inner.end():_div_end(html, inner.start()) - len("</div>")].strip():
            out.append(html[pos:m.start()])
            pos = end
    out.append(html[pos:])
    return "".join(out), problems
