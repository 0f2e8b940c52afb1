"""The labs' stylesheet without the rules no lab can match.

nbconvert gives every notebook page JupyterLab's and Pygments' CSS, about 590 KB, which the
hook moves into one shared stylesheet (``book.py``, ``_share_notebook_css``). Most of it styles
parts of JupyterLab that a rendered notebook does not have (menus, dialogs, the file browser,
widgets): a lab's first paint waited for all of it, and the browser kept every rule to match at
each restyle. After the build, ``prune`` keeps a rule only if each class its selector requires
is on some element of the pages that link the stylesheet, or named in the site's scripts (which
add classes as a page runs): about a quarter of the file is left. Classes inside ``:not()``,
``:is()`` and the like are not required (a selector may match without them), and a selector
with an escape is kept as it is; ``@media`` and ``@supports`` blocks are pruned inside, other
at-rules kept. The pruned stylesheet is named by its content, and the pages link that name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import tinycss2

_CLASS_ATTR = re.compile(r'\sclass="([^"]*)"')
_CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
_ARGS = re.compile(r"\([^()]*\)")
_WORD = re.compile(r"-?[_a-zA-Z][\w-]*")


def _selectors(prelude: str) -> list[str]:
    """A selector list split at its top-level commas."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(prelude):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            out.append(prelude[start:i].strip())
            start = i + 1
    return out + [prelude[start:].strip()]


def _required(selector: str) -> set[str]:
    """The classes an element must have somewhere for ``selector`` to match."""
    while _ARGS.search(selector):  # :not(...), :is(...), :nth-child(...): none required
        selector = _ARGS.sub("", selector)
    return set(_CLASS.findall(re.sub(r"\[[^\]]*\]", "", selector)))


def prune(css: str, classes: set[str]) -> str:
    """``css`` without the selectors that need a class not in ``classes``, nor the rules left
    without a selector.

    >>> prune(".a .b{color:red}.c,.a>p{margin:0}@media print{.c{x:y}}:root{--v:1}", {"a", "b"})
    '.a .b{color:red}.a>p{margin:0}:root{--v:1}'
    """
    def rules(items) -> list[str]:
        out = []
        for r in items:
            if r.type == "qualified-rule":
                prelude = tinycss2.serialize(r.prelude).strip()
                kept = [s for s in _selectors(prelude) if "\\" in s or _required(s) <= classes]
                if kept:
                    out.append(",".join(kept) + "{" + tinycss2.serialize(r.content).strip() + "}")
            elif r.type == "at-rule" and r.lower_at_keyword in ("media", "supports") and r.content is not None:
                inner = rules(tinycss2.parse_rule_list(r.content, skip_comments=True, skip_whitespace=True))
                if inner:
                    out.append(f"@{r.at_keyword} {tinycss2.serialize(r.prelude).strip()}{{{''.join(inner)}}}")
            elif r.type == "at-rule":
                out.append(tinycss2.serialize([r]).strip())
        return out

    return "".join(rules(tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)))


def used_classes(pages: list[str], scripts: str) -> set[str]:
    """The classes on the elements of ``pages`` (their HTML), and every word of ``scripts``
    (which may add a class as a page runs)."""
    return {c for html in pages for attr in _CLASS_ATTR.findall(html) for c in attr.split()} | set(_WORD.findall(scripts))


def prune_site(site_dir: Path) -> list[tuple[str, int, int]]:
    """Prune each ``assets/stylesheets/notebook-*.css`` of the built site against the pages that
    link it and the site's scripts; rename it by its new content and relink those pages.
    Returns (name, bytes before, bytes after) per stylesheet."""
    site = Path(site_dir)
    html = {p: p.read_text(encoding="utf-8") for p in sorted(site.rglob("*.html"))}
    scripts = "".join(p.read_text(encoding="utf-8") for p in sorted((site / "assets" / "javascripts").glob("*.js")))
    done = []
    for sheet in sorted((site / "assets" / "stylesheets").glob("notebook-*.css")):
        pages = [p for p, text in html.items() if f"/{sheet.name}\"" in text]
        if not pages:
            continue
        css = sheet.read_text(encoding="utf-8")
        pruned = prune(css, used_classes([html[p] for p in pages], scripts)) + "\n"
        name = f"notebook-{hashlib.sha256(pruned.encode()).hexdigest()[:10]}.css"
        if name != sheet.name:
            (sheet.parent / name).write_text(pruned, encoding="utf-8")
            for p in pages:
                p.write_text(html[p].replace(f"/{sheet.name}\"", f"/{name}\""), encoding="utf-8")
            sheet.unlink()
        done.append((name, len(css.encode()), len(pruned.encode())))
    return done
