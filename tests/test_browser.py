"""The built book in a real browser: Debian's Chromium driven by Playwright.

The site is served from the session's build on 127.0.0.1 (an ``http.server`` thread on a
free port). Every request that does not go to that server is recorded and aborted, so the
tests both detect and prevent traffic to the outside.

The sitemap is served with the configured ``site_url`` replaced by the test server's address:
Material reads the sitemap to decide which links it may follow with instant navigation and
rewrites only the protocol and host name of its URLs, not the port, so without this the
local copy would behave unlike the deployed site (every click a full page load).

Without Chromium or Playwright the tests skip with a message, except when the environment
variable ``CI`` is set: then they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import sys
import threading
from pathlib import Path

import pytest

from conftest import LANGS, ROOT, built_pages, page_file, pages, slugs, url_path

pytestmark = [pytest.mark.browser, pytest.mark.build]

sys.path.insert(0, str(ROOT / "tools"))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tools/chromium.py, shared with tools/pdf.py)
TIMEOUT_MS = 20_000


def _require_browser():
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install playwright)"
    if reason is None and not os.access(CHROMIUM, os.X_OK):
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; the browser tests must run under CI", pytrace=False)
        pytest.skip(reason)


def _site_url() -> str:
    """The site_url the build used: ``!ENV [SITE_URL, "<default>"]`` in mkdocs.yml."""
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    m = re.search(r"^site_url:\s*!ENV\s*\[\s*(\w+)\s*,\s*['\"]([^'\"]+)['\"]\s*\]", text, re.M)
    if m:
        return os.environ.get(m.group(1), m.group(2))
    m = re.search(r"^site_url:\s*['\"]?([^'\"\s]+)", text, re.M)
    return m.group(1) if m else ""


class _Handler(http.server.SimpleHTTPRequestHandler):
    site_url = ""

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        if self.path.split("?")[0] == "/sitemap.xml" and self.site_url:
            data = (Path(self.directory) / "sitemap.xml").read_bytes()
            origin = f"http://{self.server.server_address[0]}:{self.server.server_address[1]}/"
            data = data.replace(self.site_url.rstrip("/").encode() + b"/", origin.encode())
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(type("H", (_Handler,), {"site_url": _site_url()}), directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Visit:
    """One browser tab on the local server, recording what went wrong."""

    def __init__(self, browser, base: str, **options):
        self.base = base
        self.context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options}, service_workers="block")
        self.context.set_default_timeout(TIMEOUT_MS)
        self.errors: list[str] = []
        self.external: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        self.page.on("response", lambda r: self.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        self.page.on("requestfailed", lambda r: None if r.url in self.external else self.errors.append(
            f"request failed: {r.url} ({r.failure})"))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.base + "/") or url == self.base or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def open(self, path: str):
        self.page.goto(self.base + path, wait_until="load")
        self.settle()

    def settle(self):
        try:
            self.page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
        except Exception:  # noqa: BLE001 - a long-polling page is not an error here
            pass

    def path(self) -> str:
        return self.page.url[len(self.base):]

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    v = Visit(browser, server)
    yield v
    v.close()


CHECK_PAGE = """async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  await document.fonts.ready;
  const math = Array.from(document.querySelectorAll('.arithmatex'));
  const raw = math.filter(el => {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('math').forEach(k => k.remove());
    return /\\\\\\(|\\\\\\[/.test(copy.textContent);
  }).map(el => el.textContent.slice(0, 60));
  const unrendered = math.filter(el => !el.querySelector('math')).length;
  const errors = Array.from(document.querySelectorAll('.arithmatex merror')).map(e => e.textContent);
  const hidden = el => { for (let e = el; e; e = e.parentElement) { if (getComputedStyle(e).display === 'none') return true; } return false; };
  const flat = math.filter(el => { const m = el.querySelector('math'); if (!m || hidden(m)) return false;
                                   const r = m.getBoundingClientRect(); return !(r.width > 0 && r.height > 0); })
                   .map(el => el.textContent.slice(0, 60));
  const svgs = Array.from(document.querySelectorAll('.gd-figure .gd-svg'));
  const empty = svgs.filter(s => { const r = s.getBoundingClientRect(); return !(r.width > 0 && r.height > 0) && !hidden(s); })
                    .map(s => s.getAttribute('alt') || s.getAttribute('aria-label'));
  return {math: math.length, mathml: document.querySelectorAll('.arithmatex > math').length, raw, unrendered, errors, flat,
          font: document.fonts.check('16px "Latin Modern Math"', 'x') && Array.from(document.fonts).some(
            f => f.family.replace(/"/g, '') === 'Latin Modern Math' && f.status === 'loaded'),
          svgs: svgs.length, empty, lang: document.documentElement.lang, h1: document.querySelectorAll('h1').length};
}"""


def _check_rendering(v: Visit, where: str):
    r = v.page.evaluate(CHECK_PAGE)
    problems = []
    if r["raw"]:
        problems.append(f"raw TeX left in {len(r['raw'])} math element(s): {r['raw'][:3]}")
    if r["unrendered"]:
        problems.append(f"{r['unrendered']} of {r['math']} math element(s) without MathML")
    if r["errors"]:
        problems.append(f"MathML errors: {r['errors'][:3]}")
    if r["flat"]:
        problems.append(f"formulas of zero size: {r['flat'][:3]}")
    if r["empty"]:
        problems.append(f"figures of zero size: {r['empty'][:3]}")
    assert not problems, f"{where}: " + "; ".join(problems)
    return r


@pytest.mark.parametrize("slug,lang", pages())
def test_page_loads_cleanly_and_renders(visit, site, slug, lang):
    path = url_path(slug, lang)
    visit.open(path)
    where = f"{lang}/{slug} ({path})"
    r = _check_rendering(visit, where)
    assert not visit.external, f"{where}: requests outside the local server: {visit.external[:5]}"
    assert not visit.errors, f"{where}: " + "; ".join(visit.errors[:8])
    assert r["lang"] == lang and r["h1"] >= 1
    built = page_file(site, slug, lang).read_text(encoding="utf-8")
    assert r["svgs"] == built.count('class="gd-svg"'), f"{where}: figures in the HTML and in the DOM differ"
    if r["math"]:
        assert r["mathml"] >= r["math"], f"{where}: math present but not typeset as MathML"
        assert r["font"], f"{where}: the page has math but Latin Modern Math did not load"


def test_other_pages_load_cleanly(browser, server, site):
    """Every built page that is not a chapter source (labs, generated pages) in one sweep."""
    chapters = {url_path(s, lang) for s, lang in pages()}
    others = [(p, lang) for p, lang in built_pages(site) if p not in chapters]
    problems = []
    for path, lang in others:
        v = Visit(browser, server)
        try:
            v.open(path)
            r = _check_rendering(v, path)
            problems += [f"{path}: {e}" for e in v.errors[:3]]
            problems += [f"{path}: external request {u}" for u in v.external[:3]]
            if r["lang"] != lang:
                problems.append(f"{path}: lang {r['lang']!r}, expected {lang!r}")
        except AssertionError as e:
            problems.append(str(e))
        finally:
            v.close()
    assert not problems, "\n".join(problems[:20])


def _switch_language(v: Visit, target_lang: str):
    v.page.hover("div.md-select")
    v.page.click(f"a.md-select__link[hreflang='{target_lang}']")


def _counterpart_cases():
    chosen = ["index"]
    rest = [s for s in slugs() if s != "index"]
    chosen += rest[:1] + rest[-1:]
    return chosen


@pytest.mark.parametrize("slug", _counterpart_cases())
def test_language_switch_leads_to_counterpart(visit, site, slug):
    for src, dst in (("en", "zh"), ("zh", "en")):
        visit.open(url_path(slug, src))
        _switch_language(visit, dst)
        expected = url_path(slug, dst)
        try:
            _wait_for_page(visit, site, slug, dst)
        except Exception:  # noqa: BLE001 - the assertion below says where it went instead
            pass
        assert visit.path() == expected, f"{src}→{dst} on {url_path(slug, src)} led to {visit.path()}"
        assert visit.page.evaluate("document.documentElement.lang") == dst
    assert not visit.external


def _richest_pages(site: Path):
    """Pages ordered by how much they exercise rendering (math and figures)."""
    scored = []
    for slug in slugs():
        html = page_file(site, slug, "en").read_text(encoding="utf-8")
        math, figs = html.count('class="arithmatex"'), html.count('class="gd-svg"')
        scored.append(((math > 0) + (figs > 0), math + figs, slug))
    return [s for *_, s in sorted(scored, reverse=True)]


def _title(site: Path, slug: str, lang: str) -> str:
    import html as _html

    m = re.search(r"<title>(.*?)</title>", page_file(site, slug, lang).read_text(encoding="utf-8"), re.S)
    return _html.unescape(m.group(1).strip()) if m else ""


def _wait_for_page(v: Visit, site: Path, slug: str, lang: str):
    """Instant navigation changes the URL before it swaps the content: wait for the new title too."""
    v.page.wait_for_url(v.base + url_path(slug, lang), timeout=TIMEOUT_MS)
    v.page.wait_for_function("t => document.title === t", arg=_title(site, slug, lang), timeout=TIMEOUT_MS)
    v.settle()


def _nav_click(v: Visit, slug: str, lang: str):
    href = url_path(slug, lang)
    links = v.page.locator("nav.md-nav--primary a.md-nav__link[href]")
    for i in range(links.count()):
        link = links.nth(i)
        resolved = link.evaluate("a => new URL(a.href).pathname")
        if resolved == href and link.is_visible():
            link.click()
            return
    pytest.fail(f"no visible navigation link to {href}")


@pytest.mark.parametrize("lang", LANGS)
def test_instant_navigation_renders_math_and_figures(visit, site, lang):
    ranked = _richest_pages(site)
    target = ranked[0]
    start = next(s for s in ranked if s != target)
    visit.open(url_path(start, lang))
    visit.page.evaluate("window.__gdNoReload = true")
    _nav_click(visit, target, lang)
    _wait_for_page(visit, site, target, lang)
    assert visit.page.evaluate("window.__gdNoReload === true"), "the click reloaded the page (no instant navigation)"
    r = _check_rendering(visit, f"{lang}/{target} after instant navigation from {start}")
    html = page_file(site, target, lang).read_text(encoding="utf-8")
    assert r["svgs"] == html.count('class="gd-svg"')
    assert r["math"] == html.count('class="arithmatex"')
    assert r["svgs"] + r["math"] > 0, "the book should have a page with math or figures"
    # the math font is the target's own subset (hooks/mathfont.py): Material swapped the head's
    # declaration, and the browser fetched and loaded that file
    face = re.search(r'<style>@font-face\{.*?url\("([^"]+)"\).*?</style>', html)
    if face:
        styles = visit.page.evaluate("Array.from(document.head.querySelectorAll('style'), s => s.outerHTML)")
        assert [x for x in styles if "@font-face" in x] == [face.group(0)], styles
        name = face.group(1).rsplit("/", 1)[-1]
        assert visit.page.evaluate(f"performance.getEntriesByType('resource').some(e => e.name.endsWith('/{name}'))")
        assert r["font"], "the math font did not load after instant navigation"
    assert not visit.external and not visit.errors, visit.errors[:5] + visit.external[:5]


@pytest.mark.parametrize("lang", LANGS)
def test_language_switch_after_instant_navigation(visit, site, lang):
    """The header is not replaced by instant navigation: its language links must still be right."""
    ranked = [s for s in _richest_pages(site) if s != "index"]
    target = ranked[0]
    other = "zh" if lang == "en" else "en"
    visit.open(url_path("index", lang))
    visit.page.evaluate("window.__gdNoReload = true")
    _nav_click(visit, target, lang)
    _wait_for_page(visit, site, target, lang)
    _switch_language(visit, other)
    try:
        _wait_for_page(visit, site, target, other)
    except Exception:  # noqa: BLE001 - the assertion below says where it went instead
        pass
    assert visit.path() == url_path(target, other), (
        f"after instant navigation to {url_path(target, lang)}, the language switch led to {visit.path()}")


@pytest.mark.parametrize("lang", LANGS)
def test_code_blocks_are_mounted_as_they_near_the_screen(visit, lang):
    """Material mounts a code block (its copy button) only as the block nears the screen
    (``content.lazy`` in mkdocs.yml): a block far below is not mounted at load, and is once
    scrolled to. Mounting every block at load cost a style and layout pass per block; if an
    upgrade of Material drops the flag, the first assertion says so."""
    visit.open(url_path("momentum", lang))
    last = visit.page.locator(".md-typeset > .highlight pre > code").last
    assert last.evaluate("c => !c.closest('pre').querySelector('.md-code__button')"), "mounted at load"
    last.scroll_into_view_if_needed()
    visit.page.wait_for_function("c => c.closest('pre').querySelector('.md-code__button')", arg=last.element_handle())
    assert not visit.errors, visit.errors[:5]


def test_pages_have_a_phones_width_before_scripts_run(browser, server, site):
    """A page of each kind, on Lighthouse's phone with scripts off (as a page is painted before
    Material's script has run), is no wider than the screen, and its text column is where it is
    once the script has run. Material hides the header's search button until its script shows
    it; the language menu's closed box then reached past the screen's edge, and the phone laid
    the page out 434 px wide for 412 until the script ran."""
    column = "() => { const r = document.querySelector('article').getBoundingClientRect(); return [r.left, r.width]; }"
    # the header, the cause, is the same on every page: one page of each kind per language
    kinds = {}
    for path, _ in built_pages(site):
        kinds.setdefault((path.startswith("/zh/"), "/api/" in path, "/labs/" in path, path.count("/") <= 2), path)
    problems = []
    contexts = {js: browser.new_context(**PHONE, java_script_enabled=js, service_workers="block") for js in (False, True)}
    try:
        tabs = {js: c.new_page() for js, c in contexts.items()}
        for path in kinds.values():
            for tab in tabs.values():
                tab.goto(server + path, wait_until="load")
            width = tabs[False].evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
            if width[0] > width[1]:
                problems.append(f"{path}: {width[0]} px wide for a {width[1]} px screen before the script")
            before, after = (tabs[js].evaluate(column) for js in (False, True))
            if before != after:
                problems.append(f"{path}: the text column at {before} (left, width) before the script, {after} after")
    finally:
        for c in contexts.values():
            c.close()
    assert not problems, problems[:6]


@pytest.mark.parametrize("query", ["梯度", "学习率"])
def test_chinese_search(visit, query):
    visit.open(url_path("index", "zh"))
    visit.page.click("label.md-search__icon[for='__search'], .md-search__input")
    box = visit.page.locator("input.md-search__input")
    box.fill("")
    # Playwright enters CJK text as a composition (no key events); Material's search listens
    # for keyup, as a reader's input method sends when it commits the word: send one.
    box.type(query, delay=50)
    box.press("End")
    results = visit.page.locator(".md-search-result__list .md-search-result__link")
    try:
        results.first.wait_for(state="attached", timeout=TIMEOUT_MS)
    except Exception:  # noqa: BLE001 - report what the search box says instead of a timeout
        meta = visit.page.locator(".md-search-result__meta").inner_text()
        pytest.fail(f"search for {query!r} on the Chinese home page returned nothing ({meta!r})", pytrace=False)
    hrefs = [results.nth(i).evaluate("a => new URL(a.href).pathname") for i in range(results.count())]
    zh = [h for h in hrefs if h.startswith("/zh/")]
    assert zh, f"search for {query!r} found no Chinese page; results: {hrefs[:10]}"
    assert not visit.errors and not visit.external, visit.errors[:5] + visit.external[:5]


# ---------------------------------------------------------------------------
# Accessibility: axe-core (pinned in tools/pages/package-lock.json) on every page
# ---------------------------------------------------------------------------

AXE = ROOT / "tools" / "pages" / "node_modules" / "axe-core" / "axe.min.js"
# Every rule of axe-core, colour contrast included, and the rules axe leaves off by default but
# Lighthouse turns on (lighthouse/core/gather/gatherers/accessibility.js) or that check the
# issue's target (no serious or critical violation): target-size (WCAG 2.2, 2.5.8), and the
# experimental td-has-header, table-fake-caption, p-as-heading, css-orientation-lock.
AXE_RULES = ("target-size", "td-has-header", "table-fake-caption", "p-as-heading", "css-orientation-lock")
AXE_RULE_OPTIONS = {r: {"enabled": True} for r in AXE_RULES}
AXE_RESULT = """async () => (await window.__gdAxe).violations
  .filter(v => v.impact === 'serious' || v.impact === 'critical')
  .map(v => `${v.impact} ${v.id} (${v.nodes.length} node(s)): ${v.nodes.slice(0, 2).map(n => n.target.join(' ')).join(' | ')}`)"""


@pytest.fixture(scope="module")
def axe_script():
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing (npm ci --prefix tools/pages); the accessibility test must run under CI")
        pytest.skip(f"{AXE} is missing (npm ci --prefix tools/pages)")
    return AXE.read_text(encoding="utf-8")


# Lighthouse's default mobile profile (lighthouse/core/config/constants.js, screenEmulationMetrics.mobile).
PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75, "is_mobile": True, "has_touch": True}
# What a reader sees, the blocks below the fold included: every block rendered (content-visibility
# defers it until it nears the screen) and every solution open, as after scrolling through.
AS_READ = """() => {
  const style = document.createElement('style');
  style.textContent = '* { content-visibility: visible !important; }';
  document.head.appendChild(style);
  document.querySelectorAll('details').forEach(d => { d.open = true; });
}"""


#: The three states every page is audited in: name, context options, colour scheme.
STATES = (("light", {}, "light"), ("dark", {}, "dark"), ("phone, as loaded", PHONE, "light"))
#: After the load event, in each tab: the page as read (``as_read``: AS_READ), then what can
#: still change what axe sees is awaited: the fonts the newly laid-out blocks asked for; two
#: frames, in which the ResizeObservers see the new sizes (book.js gives a region that overflows
#: a tabindex; Material's code blocks do the same); and the transitions under way (on a tab's
#: first page, Material switches to the dark palette after the first paint and the links fade to
#: their dark colours: axe, run at once, measured a link halfway). Then axe starts; its result is
#: read later, so that the three tabs audit at once.
AXE_RUN = """async ([asRead, rules]) => {
  window.__gdAxe = (async () => {
    if (asRead) {
      (%s)();
    }
    document.body.getBoundingClientRect();
    await document.fonts.ready;
    await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
    await Promise.all(document.getAnimations()
      .filter(a => a.effect && a.effect.getComputedTiming().endTime < Infinity).map(a => a.finished.catch(() => null)));
    return axe.run(document, {resultTypes: ['violations'], rules});
  })();
}""" % AS_READ


#: Every layout shift as the page loads, kept in the page (Lighthouse counts those that follow
#: its emulated touch too, so they are all kept).
LAYOUT_SHIFTS = """window.__gdShifts = [];
new PerformanceObserver(list => { for (const e of list.getEntries()) window.__gdShifts.push(
  [e.value, e.sources.map(s => s.node ? s.node.nodeName + '.' + s.node.className : '?').join(', ')]); })
  .observe({type: 'layout-shift', buffered: true});"""
#: Lighthouse's threshold for a good cumulative layout shift.
MAX_SHIFT = 0.1


class AxeTabs:
    """One tab per state (STATES), each in its own browser context, kept for the whole sweep:
    each page is loaded in the three tabs at once and audited in the three at once (axe runs
    in each tab's renderer). A fresh context per page cost more than axe itself (creating it,
    loading every asset again, waiting for the network to be idle).

    What a context keeps from page to page does not change what axe sees: the HTTP cache, and
    the palette Material stores (the one it chose from the context's colour scheme, so the same
    on every page of that tab). Requests to anything but the local server are aborted; the
    pattern is matched in the browser, so the server's own requests do not pass through Python.
    """

    def __init__(self, browser, base: str, axe_script: str):
        self.base, self.axe = base, axe_script
        self.pages = {}
        outside = re.compile("^(?!" + re.escape(base) + "/|data:|blob:|about:)")
        for state, options, scheme in STATES:
            context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **options},
                                          color_scheme=scheme, service_workers="block")
            context.set_default_timeout(TIMEOUT_MS)
            context.route(outside, lambda route: route.abort())
            if options is PHONE:
                context.add_init_script(LAYOUT_SHIFTS)
            self.pages[state] = context.new_page()

    def audit(self, path: str, script: str = AXE_RESULT) -> dict[str, list]:
        """``script`` (by default: the serious and critical violations) on ``path``, per state."""
        for page in self.pages.values():
            page.goto(self.base + path, wait_until="commit")
        for state, page in self.pages.items():
            page.wait_for_load_state("load")
            page.add_script_tag(content=self.axe)
            page.evaluate(AXE_RUN, [state != "phone, as loaded", AXE_RULE_OPTIONS])
        return {state: page.evaluate(script) for state, page in self.pages.items()}

    def shifts(self) -> list:
        """The layout shifts of the last page in the phone's tab, as ``[score, sources]``."""
        return self.pages["phone, as loaded"].evaluate("window.__gdShifts")

    def close(self):
        for page in self.pages.values():
            page.context.close()


def test_every_page_has_no_serious_accessibility_violation(browser, server, site, axe_script):
    """axe-core's violations of impact serious or critical, on every built page in both languages
    (chapters, labs, glossary, API), in three states:

    * ``light`` and ``dark``: the page as read (every block rendered, every solution open), in
      each colour scheme, on a desktop screen;
    * ``phone, as loaded``: the page as Lighthouse audits it: its mobile screen, the light
      scheme, right after load, with the blocks below the fold still skipped by
      content-visibility and the solutions closed. axe reads geometry, and a skipped block's
      contents report boxes that do not match its placeholder: checked only as read, a page
      passed here and still failed Lighthouse (text at the end of a page measured against the
      footer's background).

    The phone's tab also sums the page's layout shifts until axe starts: at most ``MAX_SHIFT``.
    Before a page's first blocks stopped being deferred, its intro was laid out at its
    placeholder height first, and the API pages shifted by up to 0.31.
    """
    problems = []
    tabs = AxeTabs(browser, server, axe_script)
    try:
        for path, _ in built_pages(site):
            for state, found in tabs.audit(path).items():
                problems += [f"{path} ({state}): {p}" for p in found]
            shifts = tabs.shifts()
            total = sum(v for v, _ in shifts)
            if total > MAX_SHIFT:
                problems.append(f"{path} (phone, as loaded): layout shift {total:.3f} > {MAX_SHIFT}: "
                                + "; ".join(f"{v:.3f} ({who})" for v, who in shifts[:3]))
    finally:
        tabs.close()
    assert not problems, "axe-core and layout shifts:\n" + "\n".join(problems)
