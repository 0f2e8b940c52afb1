"""The bibliography: citations by key from ``references.bib``, reference lists per page.

In a page's Markdown (prose only: code blocks, code spans and math are left alone):

* ``[@kingma2015adam]`` is a parenthetical citation, "(Kingma and Ba, 2015)" /
  "（Kingma 和 Ba，2015）"; ``[@duchi2011adaptive; @zeiler2012adadelta]`` cites several,
  ``[@zhang2023d2l, §12.3]`` adds a locator (on Chinese pages
  ``[@zhang2023d2l，第 11 章]``, and ``；`` between works, keep the punctuation Chinese).
* ``@kingma2015adam`` on its own (after a space, an opening bracket, Chinese punctuation
  such as ``。`` or ``，``, or at the start of a line) is a narrative citation, "Kingma and Ba (2015)" / "Kingma 和 Ba（2015）".
* A line ``<!-- references -->`` becomes the page's reference list: every work the page cites,
  sorted by author and year, in one format; ``<!-- references: @key1 @key2 -->`` adds works
  the text does not cite.

Each citation links to its entry in the list (``#ref-<key>``). Authors in citations: one
name, "A and B" / "A 和 B", "A et al." / "A 等人"; the Chinese forms take full-width
parentheses and comma. An entry's fields ``zh-<field>`` replace ``<field>`` on Chinese
pages (the Chinese edition of a book: its authors, title, publisher, URL; an empty
``zh-eprint = {}`` drops the English edition's arXiv link).

A key not in the .bib, or citations on a page without a reference list, are errors: the
hook logs a warning naming page and key, which fails the strict build.

>>> bib = parse('''@article{a2020, author = {Doe, Jane and Roe, Rick}, title = {A title},
...   journal = {J}, year = {2020}, eprint = {2001.00001}}''')
>>> md, problems = process("As shown [@a2020, §2].\\n\\n<!-- references -->\\n", bib, "en")
>>> print(md)
As shown ([Doe and Roe, 2020, §2](#ref-a2020)).
<BLANKLINE>
- <span id="ref-a2020"></span>J. Doe, R. Roe (2020). A title. *J*. [arXiv:2001.00001](https://arxiv.org/abs/2001.00001)
<BLANKLINE>
>>> problems
[]
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["parse", "load", "process", "cite", "reference", "Bibliography"]

#: ASCII only: on a Chinese page a narrative citation runs straight into Han text ("@key 的" would
#: leave a space after the closing full-width parenthesis), and \w would take the Han characters in.
KEY = r"[A-Za-z][A-Za-z0-9_:.+-]*[A-Za-z0-9_]"
#: [@a], [@a, loc], [@a; @b, loc]: a bracket whose every item starts with @key.
BRACKET = re.compile(r"\[(?P<body>@" + KEY + r"[^\[\]\n]*?)\](?!\()")
#: the locator follows a comma, full-width on a Chinese page: [@key, §3], [@key，第 3 章]
ITEM = re.compile(r"^\s*(?P<minus>-?)@(?P<key>" + KEY + r")\s*(?:[,，]\s*(?P<loc>.+?))?\s*$")
#: The space that may follow the key before a Han character is dropped on Chinese pages:
#: "@kingma2015adam 证明" -> "Kingma 和 Ba（2015）证明".
NARRATIVE = re.compile(r"(?:(?<=^)|(?<=[\s(（—。，；：、“]))@(?P<key>" + KEY + r")(?P<space> (?=[\u4e00-\u9fff]))?")
MARKER = re.compile(r"^[ \t]*<!--\s*references(?::(?P<keys>[^>]*))?\s*-->[ \t]*$", re.M)
#: A page that may cite: the hook leaves every other page alone (and pybtex unimported).
USES = re.compile(r"\[@|(?:^|[\s(（—。，；：、“])@[A-Za-z][A-Za-z0-9_]*\d{4}|<!--\s*references", re.M)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
_MASK = re.compile(
    r"(`+)(?:(?!\1).)+?\1"            # code spans
    r"|\\\((?:.|\n)*?\\\)"            # inline math \( \)
    r"|\\\[(?:.|\n)*?\\\]"            # display math \[ \]
    r"|\$\$(?:.|\n)*?\$\$"            # display math $$ $$
    r"|<[^>\n]+>"                     # HTML tags and autolinks (e-mail addresses in them)
    r"|\]\([^)\n]*\)",                # link targets
    re.S,
)


@dataclass
class Bibliography:
    """The parsed .bib: pybtex's entries by key."""

    entries: dict

    def __contains__(self, key: str) -> bool:
        return key in self.entries


def parse(text: str) -> Bibliography:
    from pybtex.database import parse_string

    return Bibliography(dict(parse_string(text, "bibtex").entries))


_CACHE: dict[Path, tuple[float, Bibliography]] = {}


def load(path: Path) -> Bibliography:
    """The .bib at ``path``, parsed once per modification time."""
    path = Path(path)
    mtime = path.stat().st_mtime
    if path not in _CACHE or _CACHE[path][0] != mtime:
        _CACHE[path] = (mtime, parse(path.read_text(encoding="utf-8")))
    return _CACHE[path][1]


# ---------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _latex(s: str) -> str:
    """A field's LaTeX as plain text (accents decoded, braces dropped)."""
    from pybtex.backends.plaintext import Backend
    from pybtex.richtext import Text

    # render(Backend()), not render_as("text"): that looks the backend up among the installed
    # packages' entry points on every call (50 ms each)
    return Text.from_latex(s).render(_backend(Backend))


@functools.lru_cache(maxsize=None)
def _backend(cls):
    return cls()


RAW = frozenset({"url", "doi", "eprint"})


def _field(entry, name: str, lang: str) -> str:
    value = entry.fields.get(f"zh-{name}") if lang == "zh" else None
    value = value if value is not None else entry.fields.get(name, "")
    if name in RAW:
        return value.strip()
    return _latex(value) if value else ""


def _persons(entry, lang: str):
    """(last name, full name) of the authors (editors if none), in the page's language."""
    from pybtex.database import Person

    if lang == "zh" and "zh-author" in entry.fields:
        # names written in Chinese are written whole, in citations too
        return [(_latex(p.strip()),) * 2 for p in re.split(r"\s+and\s+", entry.fields["zh-author"])]
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    out = []
    for p in people:
        last = _latex(" ".join(p.prelast_names + p.last_names))
        first = [_latex(n) for n in p.first_names + p.middle_names]
        initials = " ".join(_initial(n) for n in first)
        out.append((last, f"{initials} {last}".strip()))
    return out


def _initial(name: str) -> str:
    """``Klaus-Robert`` -> ``K.-R.``, ``Jane`` -> ``J.``, ``C.`` -> ``C.``."""
    return "-".join(part[0] + "." for part in name.split("-") if part)


def _is_zh(s: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", s))


def cite_authors(entry, lang: str) -> str:
    names = [last for last, _ in _persons(entry, lang)]
    if not names:
        return _field(entry, "title", lang)
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} 和 {names[1]}" if lang == "zh" else f"{names[0]} and {names[1]}"
    if lang == "zh":
        return f"{names[0]}等人" if _is_zh(names[0][-1]) else f"{names[0]} 等人"
    return f"{names[0]} et al."


def cite(bib: Bibliography, items: list[tuple[str, str]], lang: str, narrative: bool = False) -> str:
    """The Markdown of one citation: ``items`` are ``(key, locator)`` pairs."""
    out = []
    for key, loc in items:
        entry = bib.entries[key]
        who, year = cite_authors(entry, lang), _field(entry, "year", lang)
        if narrative:
            inner = f"{year}，{loc}" if lang == "zh" and loc else f"{year}, {loc}" if loc else year
            text = f"{who}（{inner}）" if lang == "zh" else f"{who} ({inner})"
        else:
            sep = "，" if lang == "zh" else ", "
            text = sep.join(x for x in (who, year, loc) if x)
        out.append(f"[{text}](#ref-{key})")
    if narrative:
        return ("、" if lang == "zh" else ", ").join(out)
    if lang == "zh":
        return "（" + "；".join(out) + "）"
    return "(" + "; ".join(out) + ")"


def _links(entry, lang: str = "en") -> list[str]:
    """DOI and arXiv links (``zh-doi = {}`` drops one the Chinese edition does not have)."""
    out = []
    doi, eprint = _field(entry, "doi", lang), _field(entry, "eprint", lang)
    if doi:
        out.append(f"[doi:{doi}](https://doi.org/{doi})")
    if eprint:
        out.append(f"[arXiv:{eprint}](https://arxiv.org/abs/{eprint})")
    return out


def _end(s: str, lang: str) -> str:
    """``s`` closed by a full stop (。 on Chinese pages), unless it already ends in one (or ? !)."""
    if s[-1] in ".?!。？！" or s.endswith(("?*", "!*", ".*")):
        return s
    return s + ("。" if lang == "zh" else ".")


def reference(bib: Bibliography, key: str, lang: str) -> str:
    """One entry of a reference list, in Markdown: ``Authors (year). Title. *Venue*. links``."""
    entry = bib.entries[key]
    kind = entry.type.lower()
    f = lambda name: _field(entry, name, lang)  # noqa: E731
    people = _persons(entry, lang)
    zh_names = any(_is_zh(full) for _, full in people)
    # "and others" in the .bib: a list cut short
    full_names = [("等" if lang == "zh" else "et al.") if full == "others" else full for _, full in people]
    authors = ("、" if zh_names else ", ").join(full_names)
    year = f("year")
    head = f"{authors}（{year}）" if lang == "zh" else f"{authors} ({year})"
    title = f("title")
    book_like = kind in ("book", "phdthesis", "mastersthesis")
    if book_like:
        title = f"《{title}》" if _is_zh(title) else f"*{title}*"
        if f("edition"):
            title += f"，第 {f('edition').rstrip('ndrdsth')} 版" if lang == "zh" and _is_zh(title) \
                else f", {f('edition')} ed."
    venue = ""
    if kind == "article":
        venue = f"*{f('journal')}*"
        if f("volume"):
            venue += f" {f('volume')}" + (f"({f('number')})" if f("number") else "")
        if f("pages"):
            venue += f", {f('pages').replace('--', '–')}"
    elif kind in ("inproceedings", "incollection"):
        venue = ("收录于 " if lang == "zh" else "In ") + f"*{f('booktitle')}*"
        extra = [x for x in (f("publisher"), " ".join(x for x in (f("series"), f("volume")) if x),
                             f("pages").replace("--", "–")) if x]
        if kind == "incollection" and extra:
            venue += ", " + ", ".join(extra)
        if kind == "inproceedings":
            venue = f"*{f('booktitle')}*"
    elif book_like:
        parts = [x for x in (f("type"), f("school"), f("publisher")) if x]
        # a Chinese type and school ("毕业论文，慕尼黑工业大学") take the full-width comma
        venue = ("，" if lang == "zh" and parts and all(_is_zh(x) for x in parts) else ", ").join(parts)
    else:
        venue = f("howpublished")
    if f("note"):
        venue = ", ".join(x for x in (venue, f("note")) if x)
    text = ""
    for part in (head, title, venue):
        if not part:
            continue
        if text:
            text += "" if lang == "zh" and text.endswith("。") else " "
        text += _end(part, lang)
    links = _links(entry, lang)
    url = f("url")
    if url:
        links.append(f"<{url}>")
    if links:
        text += ("" if lang == "zh" and text.endswith("。") else " ") + " ".join(links)
    return text


def _sort_key(bib: Bibliography, key: str, lang: str):
    entry = bib.entries[key]
    people = _persons(entry, "en")
    return ([last.lower() for last, _ in people] or [_field(entry, "title", "en").lower()],
            _field(entry, "year", "en"), key)


def reference_list(bib: Bibliography, keys, lang: str) -> str:
    keys = sorted(dict.fromkeys(keys), key=lambda k: _sort_key(bib, k, lang))
    return "\n".join(f'- <span id="ref-{k}"></span>{reference(bib, k, lang)}' for k in keys)


# ---------------------------------------------------------------------------
# A page
# ---------------------------------------------------------------------------


def _prose_segments(markdown: str):
    """Split into (is_prose, text) runs: fenced code blocks are not prose."""
    out, buf, fence = [], [], None
    for line in markdown.splitlines(keepends=True):
        m = _FENCE.match(line)
        if fence is None and m:
            out.append((True, "".join(buf)))
            buf, fence = [line], m.group(1)
        elif fence is not None:
            buf.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) \
                    and line.strip() == m.group(1):
                out.append((False, "".join(buf)))
                buf, fence = [], None
        else:
            buf.append(line)
    out.append((fence is None, "".join(buf)))
    return out


def _masked(text: str, fn) -> str:
    """Apply ``fn`` to ``text`` with code spans, math, HTML and link targets kept out."""
    pieces, last = [], 0
    for m in _MASK.finditer(text):
        pieces.append(fn(text[last:m.start()]))
        pieces.append(m.group(0))
        last = m.end()
    pieces.append(fn(text[last:]))
    return "".join(pieces)


def process(markdown: str, bib: Bibliography, lang: str) -> tuple[str, list[str]]:
    """Citations and the reference list of one page; returns the Markdown and the problems."""
    problems: list[str] = []
    cited: list[str] = []

    def bracket(m):
        items = []
        for part in re.split("[;；]", m.group("body")):
            im = ITEM.match(part)
            if im is None:
                return m.group(0)  # not a citation, e.g. [@ in prose]
            items.append((im.group("key"), (im.group("loc") or "").strip()))
        missing = [k for k, _ in items if k not in bib]
        if missing:
            problems.extend(f"unknown citation key @{k}" for k in missing)
            return m.group(0)
        cited.extend(k for k, _ in items)
        return cite(bib, items, lang)

    def narrative(m):
        key = m.group("key").rstrip(".:")
        if key not in bib:
            if re.search(r"\d{4}", key):
                problems.append(f"unknown citation key @{key}")
            return m.group(0)
        cited.append(key)
        space = "" if lang == "zh" else (m.group("space") or "")
        return cite(bib, [(key, "")], lang, narrative=True) + m.group("key")[len(key):] + space

    def prose(text: str) -> str:
        text = BRACKET.sub(bracket, text)
        return NARRATIVE.sub(narrative, text)

    out = []
    for is_prose, text in _prose_segments(markdown):
        if not is_prose:
            out.append(text)
            continue
        # the marker is an HTML comment: find it before the masking hides it
        chunks, last = [], 0
        for m in MARKER.finditer(text):
            chunks.append(_masked(text[last:m.start()], prose))
            chunks.append(m)
            last = m.end()
        chunks.append(_masked(text[last:], prose))
        out.extend(chunks)
    markers = [c for c in out if isinstance(c, re.Match)]
    if len(markers) > 1:
        problems.append("more than one <!-- references --> marker")
    extra = []
    for m in markers:
        for key in re.findall(r"@(" + KEY + ")", m.group("keys") or ""):
            if key in bib:
                extra.append(key)
            else:
                problems.append(f"unknown citation key @{key} in the references marker")
    if cited and not markers:
        problems.append("citations but no <!-- references --> marker for the reference list")
    listing = reference_list(bib, cited + extra, lang) if (cited or extra) else ""
    text = "".join(listing if isinstance(c, re.Match) else c for c in out)
    return text, problems
