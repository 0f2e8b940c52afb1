"""Bilingual parity: the English and Chinese page of every chapter run the same code and have
the same structure. Only prose, code comments and string literals may differ.

Sources are compared block by block; the built pages are compared by what they render
(figures, tables, math).
"""

from __future__ import annotations

import io
import re
import textwrap
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT, page_file, slugs, source

FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<ticks>`{3,}|~{3,})[ \t]*(?P<info>[^\n]*)$")
EXEC = re.compile(r'\bexec="(?:1|on|true|yes)"')
HEADING = re.compile(r"^(#{1,6})[ \t]+\S")
ADMONITION = re.compile(r"^[ \t]*(?:!!!|\?\?\?\+?)[ \t]+\S")
SOLUTION = re.compile(r"^[ \t]*\?\?\?\+?[ \t]+success\b")
FSTRING_START = getattr(tokenize, "FSTRING_START", None)
FSTRING_END = getattr(tokenize, "FSTRING_END", None)
TSTRING_START = getattr(tokenize, "TSTRING_START", None)
TSTRING_END = getattr(tokenize, "TSTRING_END", None)


@dataclass
class Block:
    code: str
    line: int  # 1-based line of the opening fence in the source


@dataclass
class Structure:
    """What the parity test compares in one Markdown source."""

    headings: list = field(default_factory=list)   # (level, line)
    blocks: list = field(default_factory=list)     # executed Python blocks
    display_math: int = 0
    admonitions: int = 0
    solutions: int = 0
    figures: int = 0


def parse(text: str) -> Structure:
    """Split a page into prose and fenced code; collect what the parity test compares."""
    s = Structure()
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE_OPEN.match(line)
        if m:
            indent, ticks, info = m.group("indent"), m.group("ticks"), m.group("info")
            close = re.compile(rf"^[ \t]*{re.escape(ticks[0])}{{{len(ticks)},}}[ \t]*$")
            j = i + 1
            while j < len(lines) and not close.match(lines[j]):
                j += 1
            body = [ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[i + 1 : j]]
            lang = info.split()[0].lower() if info.split() else ""
            lang = lang.lstrip("{.").rstrip("}")
            if lang in ("python", "py") and EXEC.search(info):
                code = textwrap.dedent("\n".join(body)) + "\n"
                s.blocks.append(Block(code, i + 1))
                s.figures += _count_svg_calls(code)
            i = j + 1
            continue
        h = HEADING.match(line)
        if h:
            s.headings.append((len(h.group(1)), i + 1))
        if ADMONITION.match(line):
            s.admonitions += 1
        if SOLUTION.match(line):
            s.solutions += 1
        s.display_math += line.count(r"\[")
        i += 1
    return s


def normalize(code: str) -> list[tuple[str, int]]:
    """The code's tokens without comments, layout-only newlines and string contents.

    Every string literal (f-strings included, and adjacent literals that Python joins into
    one) becomes a single ``<str>`` token. Returns ``(token, line)`` pairs.
    """
    out: list[tuple[str, int]] = []
    depth = 0  # inside an f-string (Python >= 3.12 tokenizes its parts)
    tokens = tokenize.generate_tokens(io.StringIO(code).readline)
    for tok in tokens:
        kind = tok.type
        if kind in (FSTRING_START, TSTRING_START) and kind is not None:
            depth += 1
            if depth == 1:
                _append_str(out, tok.start[0])
            continue
        if kind in (FSTRING_END, TSTRING_END) and kind is not None:
            depth -= 1
            continue
        if depth:
            continue
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.STRING:
            _append_str(out, tok.start[0])
            continue
        out.append((tok.string if kind not in (tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE)
                    else tokenize.tok_name[kind], tok.start[0]))
    return out


def _append_str(out, line):
    if not (out and out[-1][0] == "<str>"):
        out.append(("<str>", line))


def _count_svg_calls(code: str) -> int:
    """Calls of ``svg(`` (``gd.svg(``) in ``code``, comments and strings ignored."""
    try:
        toks = [t for t, _ in normalize(code)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return len(re.findall(r"\bsvg\(", code))
    return sum(1 for a, b in zip(toks, toks[1:]) if a == "svg" and b == "(")


def _first_difference(a: list, b: list) -> int:
    for k, (x, y) in enumerate(zip(a, b)):
        if x[0] != y[0]:
            return k
    return min(len(a), len(b))


def _line(code: str, n: int) -> str:
    lines = code.splitlines()
    return lines[n - 1].strip() if 0 < n <= len(lines) else "<end of block>"


# ---------------------------------------------------------------------------
# Self-tests of the comparison (it must be able to fail)
# ---------------------------------------------------------------------------


def test_normalize_ignores_comments_strings_and_fstrings():
    en = 'LANG = "en"  # English\nx = f"{a:.3f} steps"\nprint("a" "b", gd.svg(fig, caption="Loss"))\n'
    zh = "LANG = 'zh'\n# 中文注释\nx = f'{b:.3f} 步'\nprint('ab', gd.svg(fig, caption='损失'))\n"
    assert normalize(en) == normalize(en)
    assert [t for t, _ in normalize(en)] == [t for t, _ in normalize(zh.replace("{b:", "{a:"))]
    assert [t for t, _ in normalize("x = 0.1\n")] != [t for t, _ in normalize("x = 0.2\n")]
    assert [t for t, _ in normalize("f(a, b)\n")] != [t for t, _ in normalize("f(b, a)\n")]


def test_parse_counts():
    page = textwrap.dedent(r'''
        # Title
        Text \( x \) and
        \[ y = 1 \]
        ## Section
        ```python exec="on"
        # a comment, not a heading
        print(gd.svg(fig, caption="x"))
        ```
        !!! note "N"
            body
        ??? success "Solution"
            ```python exec="on"
            print(1)
            ```
        ```python
        not executed
        ```
        ### Sub
        ''')
    s = parse(page)
    assert [lvl for lvl, _ in s.headings] == [1, 2, 3]
    assert len(s.blocks) == 2 and s.blocks[1].code == "print(1)\n"
    assert (s.display_math, s.admonitions, s.solutions, s.figures) == (1, 2, 1, 1)


# ---------------------------------------------------------------------------
# Sources
# ---------------------------------------------------------------------------


def _pair(slug: str) -> tuple[Structure, Structure]:
    zh = source(slug, "zh")
    if not zh.exists():
        pytest.fail(f"{slug}: no Chinese page docs/{slug}.zh.md")
    return parse(source(slug, "en").read_text(encoding="utf-8")), parse(zh.read_text(encoding="utf-8"))


@pytest.mark.parametrize("slug", slugs())
def test_same_heading_structure(slug):
    en, zh = _pair(slug)
    a, b = [lvl for lvl, _ in en.headings], [lvl for lvl, _ in zh.headings]
    if a != b:
        k = _first_difference([(x,) for x in a], [(x,) for x in b])
        where_en = f"line {en.headings[k][1]}" if k < len(a) else "end"
        where_zh = f"line {zh.headings[k][1]}" if k < len(b) else "end"
        pytest.fail(f"{slug}: heading levels differ at heading {k + 1} (en {where_en}, zh {where_zh}):\n"
                    f"  en {a}\n  zh {b}", pytrace=False)


@pytest.mark.parametrize("slug", slugs())
def test_same_code(slug):
    en, zh = _pair(slug)
    if len(en.blocks) != len(zh.blocks):
        pytest.fail(f"{slug}: {len(en.blocks)} executed Python blocks in English, {len(zh.blocks)} in Chinese",
                    pytrace=False)
    for n, (a, b) in enumerate(zip(en.blocks, zh.blocks), start=1):
        try:
            ta, tb = normalize(a.code), normalize(b.code)
        except (tokenize.TokenError, SyntaxError, IndentationError) as e:
            pytest.fail(f"{slug} block {n}: cannot tokenize ({e})", pytrace=False)
        if [t for t, _ in ta] != [t for t, _ in tb]:
            k = _first_difference(ta, tb)
            la = ta[k][1] if k < len(ta) else len(a.code.splitlines())
            lb = tb[k][1] if k < len(tb) else len(b.code.splitlines())
            pytest.fail(
                f"{slug} block {n}: the code differs (comments and strings ignored)\n"
                f"  en (docs/{slug}.md:{a.line + la}): {_line(a.code, la)}\n"
                f"  zh (docs/{slug}.zh.md:{b.line + lb}): {_line(b.code, lb)}",
                pytrace=False,
            )


@pytest.mark.parametrize("what", ["display_math", "admonitions", "solutions", "figures"])
@pytest.mark.parametrize("slug", slugs())
def test_same_counts(slug, what):
    en, zh = _pair(slug)
    a, b = getattr(en, what), getattr(zh, what)
    label = {"display_math": r"display-math blocks (\[)", "admonitions": "admonitions (!!! / ???)",
             "solutions": "exercise solutions (??? success)", "figures": "figures (gd.svg calls)"}[what]
    assert a == b, f"{slug}: {a} {label} in English, {b} in Chinese"


def _figure_labels(text: str) -> list[str]:
    """The page's figure labels (``/// figure | fig:...``, hooks/figcaptions.py), in order."""
    import importlib.util
    import sys

    name = "gdbook_hooks_figcaptions"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "hooks" / "figcaptions.py")
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name].labels(text)


@pytest.mark.parametrize("slug", slugs())
def test_same_figure_labels(slug):
    """Figure numbers come from the English page: the Chinese one labels the same figures in
    the same order."""
    zh = source(slug, "zh")
    if not zh.exists():
        pytest.fail(f"{slug}: no Chinese page docs/{slug}.zh.md")
    a = _figure_labels(source(slug, "en").read_text(encoding="utf-8"))
    b = _figure_labels(zh.read_text(encoding="utf-8"))
    assert a == b, f"{slug}: figure labels differ:\n  en {a}\n  zh {b}"


# ---------------------------------------------------------------------------
# Built pages
# ---------------------------------------------------------------------------

ARTICLE = re.compile(r'<article\b[^>]*class="[^"]*md-content__inner[^"]*"[^>]*>(.*)</article>', re.S)
COUNTS = {
    "figures": re.compile(r'<figure\b[^>]*\bclass="gd-figure"'),
    "tables": re.compile(r"<table\b"),
    "display math": re.compile(r'<div\b[^>]*\bclass="arithmatex"'),
    # Inline math (<span class="arithmatex">) is part of the prose, which each language
    # writes in its own way; only display math, figures and tables must match.
}


def _article(path: Path) -> str:
    doc = path.read_text(encoding="utf-8")
    m = ARTICLE.search(doc)
    return m.group(1) if m else doc


@pytest.mark.build
@pytest.mark.parametrize("slug", slugs())
def test_built_pages_render_the_same(site, slug):
    en, zh = _article(page_file(site, slug, "en")), _article(page_file(site, slug, "zh"))
    diffs = []
    for what, pattern in COUNTS.items():
        a, b = len(pattern.findall(en)), len(pattern.findall(zh))
        if a != b:
            diffs.append(f"{what}: {a} in English, {b} in Chinese")
    assert not diffs, f"{slug}: the built pages differ: " + "; ".join(diffs)

