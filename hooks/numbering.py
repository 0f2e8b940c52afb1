"""Numbered equations and references to them, within and across chapters.

In a chapter's Markdown:

* ``\\label{eq:descent-lemma}`` inside a display equation (``\\[ ... \\]`` or ``$$ ... $$``)
  numbers it: the label becomes ``\\tag{3.2}`` (chapter 3, its second labelled
  equation), and an anchor ``<span id="eq-descent-lemma"></span>`` goes in a paragraph of its
  own above the equation (an empty line between: display math must start a block, or it is
  left as raw TeX). Equations without a label stay unnumbered.
* ``\\eqref{eq:descent-lemma}`` in prose, or a link with empty text
  ``[](#eq:descent-lemma)``, becomes a link "(3.2)" to the equation: on the same page, or in
  another chapter (``momentum.md#eq-...``, which mkdocs-static-i18n sends to the page of the
  same language).

Chapters are numbered from 1 in nav order (the pages of the nav's "Part ..." sections, the
numbering of the PDF editions, tools/pdf.py). Numbers come from the English source, and the
Chinese page must label the same equations in the same order (``labels`` lists them, for the
parity test), so both languages carry the same numbers. An unknown or repeated label is a
problem the hook reports as a warning (a failed strict build).

>>> pages = {"a.md": "\\\\[ x \\\\label{eq:x} \\\\]\\n", "b.md": "\\\\[ y \\\\label{eq:y} \\\\]\\n"}
>>> idx = index(pages, chapter_numbers(["a.md", {"Part I": ["b.md"]}]))
>>> idx["eq:y"]
('b.md', '1.1')
>>> md, problems = process("See \\\\eqref{eq:y}.\\n\\\\[ y \\\\label{eq:y} \\\\]\\n", "b.md", idx)
>>> print(md)
See [(1.1)](#eq-y).
<span id="eq-y"></span>
<BLANKLINE>
\\[ y \\tag{1.1} \\]
<BLANKLINE>
"""

from __future__ import annotations

import re

__all__ = ["chapter_numbers", "labels", "index", "process", "USES"]

LABEL = re.compile(r"\\label\{(eq:[\w.-]+)\}")
EQREF = re.compile(r"\\eqref\{(eq:[\w.-]+)\}")
EMPTY_LINK = re.compile(r"\[\]\(#(eq:[\w.-]+)\)")
#: display math: \[ ... \] or $$ ... $$ (possibly over several lines)
DISPLAY = re.compile(r"\\\[(?:.|\n)*?\\\]|\$\$(?:.|\n)*?\$\$")
USES = re.compile(r"\\label\{eq:|\\eqref\{eq:|\]\(#eq:")
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})", re.M)
_BLANK = re.compile(r"[^\r\n]")


def chapter_numbers(nav) -> dict[str, str]:
    """``{source path: chapter number}`` for the pages of the nav's "Part ..." sections."""
    out: dict[str, str] = {}

    def walk(items, part=None):
        for item in items:
            if isinstance(item, str):
                if part and part.startswith("Part") and item.endswith(".md"):
                    out[item] = str(len(out) + 1)
            elif isinstance(item, dict):
                for title, value in item.items():
                    if isinstance(value, list):
                        walk(value, title)
                    elif isinstance(value, str) and part and part.startswith("Part"):
                        walk([value], part)

    walk(nav)
    return out


def _without_code(markdown: str) -> str:
    """The Markdown with fenced code blocks blanked out (labels in code are not labels): every
    character of a code line but its newline becomes a space, so offsets stay those of the page."""
    out, fence = [], None
    for line in markdown.splitlines(keepends=True):
        m = _FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            out.append(_BLANK.sub(" ", line))
        elif fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and line.strip() == m.group(1):
                fence = None
            out.append(_BLANK.sub(" ", line))
        else:
            out.append(line)
    return "".join(out)


def labels(markdown: str) -> list[str]:
    """The equation labels of a page, in order."""
    return [m.group(1) for d in DISPLAY.finditer(_without_code(markdown)) for m in LABEL.finditer(d.group(0))]


def index(sources: dict[str, str], chapters: dict[str, str]) -> dict[str, tuple[str, str]]:
    """``{label: (source path, number)}`` over the chapters' (English) sources."""
    out: dict[str, tuple[str, str]] = {}
    for src, number in chapters.items():
        for i, label in enumerate(labels(sources.get(src, "")), start=1):
            out.setdefault(label, (src, f"{number}.{i}"))
    return out


def anchor(label: str) -> str:
    return label.replace(":", "-")


def process(markdown: str, src: str, idx: dict[str, tuple[str, str]]) -> tuple[str, list[str]]:
    """Number the page's labelled equations and resolve its references; returns the problems."""
    problems: list[str] = []
    seen: set[str] = set()
    code_free = _without_code(markdown)
    # only touch display math outside code: spans found in the code-free copy (same offsets)
    pieces, last = [], 0
    for d in DISPLAY.finditer(code_free):
        block = markdown[d.start():d.end()]
        if block != d.group(0):
            continue  # straddles a code block: not math
        labels_here = LABEL.findall(block)
        if not labels_here:
            continue
        if len(labels_here) > 1:
            problems.append(f"more than one \\label in one equation: {', '.join(labels_here)}")
        label = labels_here[0]
        if label in seen:
            problems.append(f"equation label {label} used twice")
        seen.add(label)
        where = idx.get(label)
        if where is None or where[0] != src:
            why = f"labelled in {where[0]} already (labels are the book's, not the page's)" if where else \
                "not in a chapter, or not in the English page"
            problems.append(f"equation label {label} is not numbered: {why}")
            number = "?"
        else:
            number = where[1]
        tagged = LABEL.sub(lambda m: f"\\tag{{{number}}}" if m.group(1) == label else "", block)
        line_start = markdown.rfind("\n", 0, d.start()) + 1
        indent = markdown[line_start:d.start()]
        pieces.append(markdown[last:line_start])
        if indent.strip():  # math inside a line of text: the anchor goes just before it
            pieces.append(indent + f'<span id="{anchor(label)}"></span>' + tagged)
        else:  # a block of its own: the anchor is a paragraph above it (display math must start a block)
            pieces.append(f'{indent}<span id="{anchor(label)}"></span>\n\n{indent}' + tagged)
        last = d.end()
    pieces.append(markdown[last:])
    text = "".join(pieces)

    def ref(label: str) -> str:
        where = idx.get(label)
        if where is None:
            problems.append(f"reference to an unknown equation {label}")
            return f"({label}?)"
        target = f"#{anchor(label)}" if where[0] == src else f"{where[0]}#{anchor(label)}"
        return f"[({where[1]})]({target})"

    if any(LABEL.search(d.group(0)) for d in DISPLAY.finditer(_without_code(text))):
        problems.append("a \\label left in the page (inside display math that was not numbered)")
    text = EQREF.sub(lambda m: ref(m.group(1)), text)
    text = EMPTY_LINK.sub(lambda m: ref(m.group(1)), text)
    return text, problems
