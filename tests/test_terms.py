"""One term per concept, and Chinese punctuation: the glossary (``glossary.yml``) keeps the prose.

Every Chinese source (chapters, the labs' cells, figure labels and captions, which are string
literals in the page code) is checked against the variants the glossary rules out; English
prose likewise where the glossary lists English variants. Chinese prose is also checked for
its punctuation and form: full-width punctuation next to Han characters, “” quotes, no spaces
between Han characters, one paragraph per source line, no English words in ``\\text{}`` inside
formulas. Each failure names file, line and the preferred form.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import DOCS, ROOT, slugs
from test_serve import hook

glossary = hook.glossary
GLOSSARY = glossary.load(ROOT / "glossary.yml")
HAN = "\u3400-\u4dbf\u4e00-\u9fff"
LABS = sorted((DOCS / "labs").glob("*.ipynb"))


def zh_sources() -> list[Path]:
    return sorted([*DOCS.glob("*.zh.md"), *DOCS.glob("api/*.zh.md")]) + [p for p in LABS if p.name.endswith(".zh.ipynb")]


def en_sources() -> list[Path]:
    return sorted(p for p in [*DOCS.glob("*.md"), *DOCS.glob("api/*.md")] if not p.name.endswith(".zh.md")) + \
        [p for p in LABS if not p.name.endswith(".zh.ipynb")]


def lines(path: Path, *, markdown_only: bool) -> list[tuple[str, int, str]]:
    """``(where, line, text)`` of a source: a page's lines, or a notebook's cells' lines
    (``markdown_only``: Markdown cells only). Fenced code in a page counts as code."""
    if path.suffix == ".ipynb":
        out = []
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if markdown_only and cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            out += [(f"{path.name} cell {cell.get('id', '?')}", n, t) for n, t in enumerate(text.split("\n"), 1)]
        return out
    text = path.read_text(encoding="utf-8")
    if markdown_only:
        text = glossary.prose(text)
    return [(path.relative_to(DOCS).as_posix(), n, t) for n, t in enumerate(text.split("\n"), 1)]


def prose_text(line: str) -> str:
    """A line without what is not prose: inline code, math, link targets, HTML tags, the quoted
    title of an admonition, the ``alt:`` key of a figure caption, Markdown emphasis marks,
    citations ``[@key, locator]`` (the hook writes them with the page's punctuation)."""
    line = re.sub(r"`[^`]*`", "x", line)  # a stand-in that is neither Han nor punctuation
    line = re.sub(r"\[@[^\[\]]*\]", "x", line)
    line = re.sub(r"\\\(.*?\\\)|\\\[.*?\\\]|\$[^$]*\$", "x", line)
    line = re.sub(r"\]\([^)]*\)", "]", line)
    line = re.sub(r"<[^>]+>", "", line)
    line = re.sub(r'^(\s*(?:!!!|\?\?\?\+?)\s+\w+)\s+"[^"]*"', r"\1", line)
    line = re.sub(r"^\s*alt:\s*", "", line)  # the key of a figure's alt text (/// figure)
    return line


# ---------------------------------------------------------------------------
# Terms
# ---------------------------------------------------------------------------


def _avoid(lang: str) -> list[tuple[re.Pattern, str]]:
    rules = []
    for t in GLOSSARY.terms:
        for pattern in (t.zh_avoid if lang == "zh" else t.en_avoid):
            rules.append((re.compile(pattern, 0 if lang == "zh" else re.I), t.zh if lang == "zh" else t.en))
    if lang == "zh":
        rules += [(re.compile(p), s["prefer"]) for s in GLOSSARY.style for p in s["avoid"]]
    return rules


def test_the_glossary_is_well_formed():
    data = yaml.safe_load((ROOT / "glossary.yml").read_text(encoding="utf-8"))
    assert {"terms", "style"} <= set(data)
    ens = [t["en"] for t in data["terms"]]
    zhs = [t["zh"] for t in data["terms"]]
    assert len(set(ens)) == len(ens) and len(set(zhs)) == len(zhs), "a term is listed twice"
    for t in data["terms"]:
        assert set(t) <= {"en", "zh", "en_avoid", "zh_avoid", "en_match", "zh_match"}, t
        for p in [*t.get("en_avoid", []), *t.get("zh_avoid", [])]:
            re.compile(p)
            prefer = t["zh"] if p in t.get("zh_avoid", []) else t["en"]
            assert not re.search(p, prefer), f"{t['en']}: {p!r} rules out the preferred form itself"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_prose_uses_the_glossary_terms(lang):
    rules = _avoid(lang)
    found = []
    for path in (zh_sources() if lang == "zh" else en_sources()):
        # Chinese: everything, code included (figure labels and comments are Chinese text);
        # English: prose only (code names such as `lookahead` are not prose).
        for where, n, text in lines(path, markdown_only=lang == "en"):
            text = text if lang == "zh" else prose_text(text)
            for pattern, prefer in rules:
                m = pattern.search(text)
                if m:
                    found.append(f"{where}:{n}: “{m.group(0)}” → {prefer}")
    assert not found, "variants the glossary rules out:\n" + "\n".join(found)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_glossary_term_is_used_by_a_chapter(lang):
    order = glossary.chapters(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))["nav"])
    first = glossary.first_use(GLOSSARY, DOCS, order, lang)
    unused = [t.en if lang == "en" else t.zh for t, slug in first.items() if slug is None]
    assert not unused, f"glossary terms no {lang} chapter uses (reword the chapter or the glossary): {unused}"


def _english_words(term) -> list[str]:
    return [w.lower() for w in re.split(r"[\s/()–-]+", term.en) if len(w) > 2]


def test_the_chinese_edition_gives_the_english_term_where_a_term_is_first_used():
    """As a Chinese textbook does: in the first chapter (nav order) whose Chinese prose uses a
    glossary term, one occurrence is followed by the English in full-width parentheses,
    “梯度下降（gradient descent）” (bold markers between them are allowed). A term whose
    Chinese form already carries its English word (“轮（epoch）”, “Nesterov 动量”) needs none."""
    order = glossary.chapters(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))["nav"])
    first = glossary.first_use(GLOSSARY, DOCS, order, "zh")
    missing = []
    for term, slug in first.items():
        words = _english_words(term)
        if slug is None or any(w in term.zh.lower() for w in words):
            continue
        text = glossary.prose(glossary.source(DOCS, slug, "zh").read_text(encoding="utf-8"))
        given = False
        for m in term.pattern("zh").finditer(text):
            after = text[m.end():m.end() + 120].lstrip("*")
            if after.startswith("（") and any(w in after[1:].split("）")[0].lower() for w in words):
                given = True
                break
        if not given:
            missing.append(f"{slug}.zh.md: {term.zh}（{term.en}）")
    assert not missing, "give the English term at its first use:\n" + "\n".join(missing)


def test_the_glossary_pages_are_generated_with_chapter_titles_in_their_language():
    order = glossary.chapters(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8").replace("!ENV", ""))["nav"])
    for lang, name in (("en", "glossary.md"), ("zh", "glossary.zh.md")):
        page = glossary.page((DOCS / name).read_text(encoding="utf-8"), GLOSSARY, DOCS, order, lang)
        rows = [r for r in page.splitlines() if r.startswith("| ") and "](" in r]
        assert len(rows) >= len(GLOSSARY.terms) - 5
        for row in rows:
            title, slug = re.search(r"\[([^\]]+)\]\(([^)]+)\.md\)", row).groups()
            assert title == glossary.title(DOCS, slug, lang) and title != slug
        assert "shared/" not in page and "book-guide" not in page


# ---------------------------------------------------------------------------
# Chinese punctuation and form
# ---------------------------------------------------------------------------

PUNCTUATION = [
    (re.compile(f'"'), "ASCII quote in Chinese prose: use “”"),
    (re.compile(f"[{HAN}][,;:?!]|[,;:?!](?=\\s*[{HAN}])"), "half-width punctuation next to Han characters: use ，；：？！"),
    (re.compile(f"[{HAN}]\\s*\\(|\\)\\s*[{HAN}]"), "half-width parenthesis next to Han characters: use （）"),
    (re.compile(f"[{HAN}] +[{HAN}]"), "a space between Han characters"),
]
STRUCTURE = re.compile(r"^\s*(?:[-*+] |\d+\. |\||#|!!!|\?\?\?|<|\[\^|\$\$|\\\[|$)")


@pytest.mark.parametrize("path", zh_sources(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_chinese_prose_has_chinese_punctuation(path):
    found = []
    for where, n, text in lines(path, markdown_only=True):
        if text.lstrip().startswith("|") and set(text.strip()) <= set("|-: "):
            continue
        t = prose_text(text)
        if not re.search(f"[{HAN}]", t):
            continue
        for pattern, why in PUNCTUATION:
            m = pattern.search(t)
            if m:
                found.append(f"{where}:{n}: {why}: …{t[max(m.start() - 8, 0):m.end() + 8].strip()}…")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", zh_sources(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_chinese_paragraphs_are_one_line_each(path):
    found = []
    rows = lines(path, markdown_only=True)
    for (where, n, a), (where_b, _, b) in zip(rows, rows[1:]):
        if where != where_b:  # the next notebook cell
            continue
        if not a.strip() or not b.strip() or re.match(r"^\s*(?:!!!|\?\?\?|alt:)", a) or STRUCTURE.match(b):
            continue
        if re.match(f"[{HAN}“（《]", b.strip()) and re.search(f"[{HAN}，、“”（）]$", a.rstrip()):
            found.append(f"{where}:{n}: a paragraph continues on the next line (join it)")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", zh_sources(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_chinese_formulas_have_no_english_words(path):
    found = []
    for where, n, text in lines(path, markdown_only=False):
        for m in re.finditer(r"\\text\{([^}]*)\}", text):
            if re.search(r"[A-Za-z]{4,}|[A-Za-z]+ +[A-Za-z]+", m.group(1)):  # words, not labels like "out"
                found.append(f"{where}:{n}: {m.group(0)}")
    assert not found, "English words in a formula on a Chinese page:\n" + "\n".join(found)


def test_the_search_dictionary_holds_every_chinese_term():
    """jieba keeps the glossary's Chinese terms whole in the search index (hooks/jieba_user_dict.txt)."""
    words = {line.split()[0] for line in (ROOT / "hooks" / "jieba_user_dict.txt").read_text(encoding="utf-8").splitlines() if line.strip()}
    missing = []
    for t in GLOSSARY.terms:
        for part in t.zh.split(" / "):
            part = re.sub(r"（[^）]*）", "", part).strip()
            if re.fullmatch(f"[{HAN}]{{2,}}", part) and part not in words:
                missing.append(part)
    assert not missing, f"add to hooks/jieba_user_dict.txt: {missing}"


D2L = {
    "en": re.compile(r"^- A\. Zhang, Z\. C\. Lipton, M\. Li, A\. J\. Smola \(2023\)\. [^.]+(?:\.[^.]+)*, (?:§[\d.–]+|chapter \d+)\. "
                     r"\*Dive into Deep Learning\*\. \[d2l\.ai\]\(https://d2l\.ai/[^)]+\)$"),
    "zh": re.compile(r"^- 阿斯顿·张、扎卡里·C\. 立顿、李沐、亚历山大·J\. 斯莫拉（2023）。[^。]+，(?:[\d.–]+ 节|第 \d+ 章)。"
                     r"《动手学深度学习》。\[zh\.d2l\.ai\]\(https://zh\.d2l\.ai/[^)]+\)$"),
}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_dive_into_deep_learning_is_cited_one_way_with_the_edition_linked(lang):
    """d2l: one format per language, the English edition (d2l.ai, its section numbers) on English
    pages and the Chinese edition (zh.d2l.ai, its own numbers) on Chinese pages."""
    bad = []
    for path in (zh_sources() if lang == "zh" else en_sources()):
        if path.suffix != ".md":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if line.startswith("- ") and ("Lipton" in line or "立顿" in line) and not D2L[lang].match(line):
                bad.append(f"{path.name}:{n}: {line[:120]}")
            if ("d2l.ai" in line) and (("zh.d2l.ai" in line) != (lang == "zh")):
                bad.append(f"{path.name}:{n}: links the other language's edition")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reference_lists_name_authors_initials_first_and_label_links_by_address(lang):
    """One reference format in both languages: “B. T. Polyak (1964). Title. *Venue* 4(5), 1–17.
    [doi:10.1016/…](…)”: authors with their initials first (not “Polyak, B. T.”), the year in
    parentheses, and a link labelled by what it points to (doi:, arXiv:, a site), never
    “link” / “链接”."""
    surname_first = re.compile(r"^- [A-Z][\w'’-]+, (?:[A-Z]\.\s?)+(?:,|\s\()")
    vague_link = re.compile(r"\[(?:link|Link|链接|here|这里)\]\(")
    bad = []
    for path in (zh_sources() if lang == "zh" else en_sources()):
        if path.suffix != ".md":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if line.startswith("- ") and (surname_first.match(line) or vague_link.search(line)):
                bad.append(f"{path.name}:{n}: {line[:100]}")
    assert not bad, "references in another format:\n" + "\n".join(bad)
