"""Search that costs nothing until it is used, and then only the reader's language.

Material's search fetches ``search/search_index.json`` as soon as a page starts, and with
mkdocs-static-i18n that one file holds both languages (about 2 MB): every reader paid for it on
every first visit, whether they searched or not. Two changes, no change to Material itself:

* ``split``: after the build, the index is written per language instead,
  ``search/search_index.<lang>.json``: the same configuration, only that language's pages.
* ``HEAD_SCRIPT``, put in every page's ``<head>`` right after ``<meta charset>`` (which must
  stay in the first 1024 bytes) and before Material's script: its request for the index (an
  ``XMLHttpRequest``) waits until the reader shows an intent to search (focus on, or typing into, the
  search field, or the search button; or a ``?q=`` query in the address), and then asks for the
  page's language file. Chinese queries keep finding Chinese pages: the Chinese file holds
  them, tokenised by jieba at build as before.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

LANGS = ("en", "zh")


def split(site_dir: Path) -> dict[str, int]:
    """Write ``search_index.<lang>.json`` in place of the merged index; return each file's size."""
    path = Path(site_dir) / "search" / "search_index.json"
    if not path.exists():
        return {}
    index = json.loads(path.read_text(encoding="utf-8"))
    # Under `mkdocs serve --dirty` (Material keeps the last build's entries and adds those of the
    # pages built again; mkdocs-static-i18n builds two languages per rebuild), every rebuild
    # doubled the index: each entry (one per page and section, named by its location) was listed
    # again. The last one counts.
    index["docs"] = list({d["location"]: d for d in index["docs"]}.values())
    sizes = {}
    for lang in LANGS:
        docs = [d for d in index["docs"] if (d["location"].startswith("zh/") or d["location"] == "zh") == (lang == "zh")]
        data = json.dumps({**index, "docs": docs}, ensure_ascii=False, separators=(",", ":"))
        target = path.with_name(f"search_index.{lang}.json")
        target.write_text(data, encoding="utf-8")
        sizes[lang] = len(data.encode("utf-8"))
    path.unlink()  # no page asks for it any more
    return sizes


HEAD_SCRIPT = """<script>
(function () {
  // Material asks for the index with XMLHttpRequest when the page starts: open() gets the
  // page's language file instead, send() waits for the reader's first intent to search.
  var INDEX = /\\/search\\/search_index\\.json(?=$|[?#])/, go, wanted = new Promise(function (r) { go = r; });
  var open0 = XMLHttpRequest.prototype.open, send0 = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    var args = Array.prototype.slice.call(arguments);
    if (INDEX.test(String(url))) {
      this.gdSearch = true;
      args[1] = String(url).replace(INDEX, "/search/search_index." + (document.documentElement.lang === "zh" ? "zh" : "en") + ".json");
    }
    return open0.apply(this, args);
  };
  XMLHttpRequest.prototype.send = function () {
    var xhr = this, args = arguments;
    if (!xhr.gdSearch) return send0.apply(xhr, args);
    wanted.then(function () { send0.apply(xhr, args); });
  };
  if (/[?&]q=/.test(location.search)) go();
  function intent(e) {
    var t = e.target, field = t && t.closest && (t.closest(".md-search") || t.closest("label[for='__search']"));
    var key = e.type === "keydown" && /^[fs/]$/.test(e.key) && !/^(input|textarea|select)$/i.test((t && t.tagName) || "");
    if (field || key || (t && t.id === "__search")) go();
  }
  ["focusin", "input", "keydown", "click", "change"].forEach(function (type) { document.addEventListener(type, intent, true); });
})();
</script>
"""


_CHARSET = re.compile(r"<meta\s+charset=[\"']?[\w-]+[\"']?\s*/?>", re.I)


def head(html: str) -> str:
    """A page with ``HEAD_SCRIPT`` early in its ``<head>``, before any other script.

    It goes right after the page's ``<meta charset>``, which must stay within the first 1024
    bytes of the page for the browser to use it (Lighthouse's ``charset`` audit); without one,
    at the start of ``<head>``.
    """
    head_at = html.find("<head>")
    if head_at < 0:
        return html
    charset = _CHARSET.search(html, head_at)
    first_script = html.find("<script", head_at)
    if charset and (first_script < 0 or charset.start() < first_script):
        return html[: charset.end()] + "\n" + HEAD_SCRIPT + html[charset.end():]
    return html.replace("<head>", "<head>\n" + HEAD_SCRIPT, 1)
