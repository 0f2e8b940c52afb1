"""The glossary: ``glossary.yml`` is the single source of the book's terms in both languages.

The glossary pages (``docs/glossary.md``, ``docs/glossary.zh.md``) hold their introduction and a
marker line; the hook puts the table generated here in place of the marker, in the page's
language, with the chapter that first uses each term (nav order, that language's prose, the
chapter's title in that language). ``tests/test_terms.py`` uses the same file to keep the
prose to its terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MARKER = "<!-- glossary table -->"
HEADERS = {"en": ("English", "中文", "first used in"), "zh": ("English", "中文", "首次使用")}
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Term:
    en: str
    zh: str
    en_avoid: tuple = ()
    zh_avoid: tuple = ()
    en_match: str | None = None
    zh_match: str | None = None

    def pattern(self, lang: str) -> re.Pattern:
        """What finds the term in a page's prose (case-insensitive whole words in English)."""
        explicit = self.en_match if lang == "en" else self.zh_match
        if explicit:
            return re.compile(explicit, re.I if lang == "en" else 0)
        alternatives = [a.strip() for a in (self.en if lang == "en" else self.zh).split(" / ")]
        if lang == "en" and len(alternatives) > 1:
            first, last = alternatives[0].split(), alternatives[-1].split()
            if len(first) == 1 and len(last) > 1:  # "first / second moment"
                alternatives = [" ".join([a, *last[1:]]) for a in alternatives[:-1]] + [alternatives[-1]]
            elif len(first) > 1 and len(last) == 1:  # "learning-rate schedule / decay"
                alternatives = [alternatives[0]] + [" ".join([*first[:-1], a]) for a in alternatives[1:]]
        parts = []
        for a in alternatives:
            # a parenthesised part is optional: "(empirical) risk", "黑塞矩阵（Hessian 矩阵）"
            a = re.escape(a)
            a = re.sub(r"\\\((.*?)\\\)(?:\\ )?|（(.*?)）", lambda m: f"(?:{m.group(0)})?", a)
            if lang == "en":  # plurals; hyphen and space alike ("steepest descent", "negative-curvature")
                a = a.replace("\\-", "[- ]").replace("\\ ", "[- ]")
                a = rf"\b{a}(?:s|es)?\b"
            parts.append(a)
        return re.compile("|".join(parts), re.I if lang == "en" else 0)


@dataclass(frozen=True)
class Glossary:
    terms: list = field(default_factory=list)
    style: list = field(default_factory=list)  # {"prefer": ..., "avoid": [...]}, Chinese wording


def load(path: Path) -> Glossary:
    import yaml

    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    terms = [Term(t["en"], t["zh"], tuple(t.get("en_avoid", ())), tuple(t.get("zh_avoid", ())),
                  t.get("en_match"), t.get("zh_match")) for t in data["terms"]]
    return Glossary(terms, list(data.get("style", [])))


def prose(text: str) -> str:
    """A page's text without its fenced code (what readers read as prose)."""
    out, fence = [], None
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            out.append("")
            continue
        if m:
            fence = m.group(1)
            out.append("")
            continue
        out.append(line)
    return "\n".join(out)


def chapters(nav) -> list[str]:
    """The chapters' slugs in nav order (Markdown pages other than home, glossary and the API
    reference's pages under ``api/``)."""
    out = []

    def walk(item):
        if isinstance(item, str):
            if item.endswith(".md") and item not in ("index.md", "glossary.md") and not item.startswith("api/"):
                out.append(item[: -len(".md")])
        elif isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)

    walk(nav)
    return out


def source(docs: Path, slug: str, lang: str) -> Path:
    return Path(docs) / (f"{slug}.md" if lang == "en" else f"{slug}.zh.md")


def title(docs: Path, slug: str, lang: str) -> str:
    m = re.search(r"^# (.+)$", source(docs, slug, lang).read_text(encoding="utf-8"), re.M)
    return m.group(1).strip() if m else slug


def first_use(glossary: Glossary, docs: Path, order: list[str], lang: str) -> dict[Term, str | None]:
    """Each term's first chapter (in ``order``) whose prose in ``lang`` uses it, or None."""
    texts = {slug: prose(source(docs, slug, lang).read_text(encoding="utf-8")) for slug in order}
    return {t: next((s for s in order if t.pattern(lang).search(texts[s])), None) for t in glossary.terms}


def table(glossary: Glossary, docs: Path, order: list[str], lang: str) -> str:
    """The glossary's table in ``lang``: terms sorted by their English form."""
    first = first_use(glossary, docs, order, lang)
    rows = ["| " + " | ".join(HEADERS[lang]) + " |", "|---|---|---|"]
    for t in sorted(glossary.terms, key=lambda t: re.sub(r"[^a-z ]", "", t.en.lower())):
        slug = first[t]
        where = f"[{title(docs, slug, lang)}]({slug}.md)" if slug else "—"
        rows.append(f"| {t.en} | {t.zh} | {where} |")
    return "\n".join(rows)


def page(markdown: str, glossary: Glossary, docs: Path, order: list[str], lang: str) -> str:
    """The glossary page's Markdown with its table in place of the marker."""
    if MARKER not in markdown:
        raise ValueError(f"the glossary page has no {MARKER!r} line for its table")
    return markdown.replace(MARKER, table(glossary, docs, order, lang))
