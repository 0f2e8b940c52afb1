"""Page benchmark: Lighthouse (mobile defaults) and axe-core on the built site.

    python tools/bench_pages.py [--site site] [--pages /momentum/ /zh/adam/ …] [--runs 3] [--out bench/pages.json]

Serves the built site on 127.0.0.1 (gzip, as GitHub Pages serves it), starts Debian's Chromium
once, and runs on every page (or the pages given) in both languages:

* Lighthouse (the version pinned in ``tools/pages/package-lock.json``, default mobile profile:
  emulated phone, simulated slow 4G and CPU): the scores for performance, accessibility,
  best practices and SEO, with first contentful paint, largest contentful paint, total
  blocking time, cumulative layout shift and the number of DOM elements;
* axe-core (pinned likewise), the violations by impact.

A single Lighthouse run is noisy (its simulated phone scales the tasks the host measured):
with nothing else running, one run over the whole site put ``/zh/newton-method/`` at 0.89, and
three runs of the same pages an hour later at 0.96, 0.97 and 0.97. With
``--runs N``, every page is audited N times, in N rounds over all pages (a slow spell of the
host falls on many pages once, not on one page N times), and the table reports the run that
Lighthouse itself takes as representative (``median_run``); the JSON keeps every run's
performance score.

It prints a table and writes the results as JSON. The targets (issue: fast and accessible for
every reader) are printed beside the table; this is a benchmark, not a test (the scores depend
on the machine): ``tests/test_browser.py`` holds the accessibility test.

Needs ``npm ci --prefix tools/pages`` (``make bench-pages`` does it) and ``/usr/bin/chromium``.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / "tools" / "pages" / "node_modules"
LIGHTHOUSE = NODE_MODULES / "lighthouse" / "cli" / "index.js"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (tools/chromium.py)

CHROMIUM_FLAGS = ["--headless=new", *CHROMIUM_ARGS, "--disable-quic", "--disable-dev-shm-usage"]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 0.90, "accessibility": 1.00, "best-practices": 1.00, "seo": 1.00}
SERIOUS = ("serious", "critical")


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed where the client accepts it (as GitHub Pages does)."""

    COMPRESS = (".html", ".css", ".js", ".json", ".svg", ".xml", ".txt")

    def log_message(self, *args) -> None:  # quiet
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if (path.suffix in self.COMPRESS and path.is_file()
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            data = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "max-age=600")
            self.end_headers()
            return _Bytes(data)
        return super().send_head()


class _Bytes:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, *_):
        data, self.data = self.data, b""
        return data

    def close(self):
        pass


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Handler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def site_pages(site: Path) -> list[str]:
    """The URL paths of every page of the built site (assets and search excluded)."""
    out = []
    for f in sorted(site.rglob("index.html")):
        rel = f.parent.relative_to(site).as_posix()
        if rel.split("/")[0] in ("assets", "search", "downloads"):
            continue
        out.append("/" if rel == "." else f"/{rel}/")
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lighthouse(url: str, port: int) -> dict:
    """One Lighthouse run (default mobile profile) against the Chromium on ``port``."""
    out = subprocess.run(["node", str(LIGHTHOUSE), url, f"--port={port}", "--output=json", "--output-path=stdout",
                          "--quiet", f"--only-categories={','.join(CATEGORIES)}"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        return {"error": out.stderr.strip()[-500:]}
    report = json.loads(out.stdout)
    audits = report["audits"]

    def value(name):
        return audits.get(name, {}).get("numericValue")

    return {
        **{c: report["categories"][c]["score"] for c in CATEGORIES},
        "fcp_ms": value("first-contentful-paint"), "lcp_ms": value("largest-contentful-paint"),
        "tbt_ms": value("total-blocking-time"), "cls": value("cumulative-layout-shift"),
        "tti_ms": value("interactive"), "dom_elements": value("dom-size"),
        "failed": sorted(a for c in CATEGORIES for a in (r["id"] for r in report["categories"][c]["auditRefs"])
                         if (audits[a].get("score") is not None and audits[a]["score"] < 0.9
                             and audits[a].get("scoreDisplayMode") in ("binary", "numeric", "metricSavings"))
                         and c != "performance"),
    }


def axe(page, url: str) -> dict:
    """axe-core's violations on ``url`` (Playwright page), by impact."""
    page.goto(url, wait_until="load")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                           ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
                           " target: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))")
    counts = {i: sum(v["nodes"] for v in result if v["impact"] == i) for i in ("minor", "moderate", "serious", "critical")}
    return {"violations": result, **counts}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--site", type=Path, default=ROOT / "site")
    ap.add_argument("--pages", nargs="*", help="URL paths (default: every page)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "pages.json")
    ap.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page; the median run is reported")
    ap.add_argument("--no-lighthouse", action="store_true")
    ap.add_argument("--no-axe", action="store_true")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    if not (args.site / "index.html").exists():
        ap.error(f"no built site in {args.site} (make build)")
    for need in ([] if args.no_lighthouse else [LIGHTHOUSE]) + ([] if args.no_axe else [AXE]) + [Path(CHROMIUM)]:
        if not need.exists():
            ap.error(f"{need} is missing (npm ci --prefix tools/pages; apt-get install chromium)")
    pages = args.pages or site_pages(args.site)
    server, base = serve(args.site)
    results = {}
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="gdbook-lh-")
    chrome = None if args.no_lighthouse else subprocess.Popen(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if chrome is not None:
            time.sleep(2)
            runs = {p: [] for p in pages}
            for i in range(args.runs):
                for p in pages:
                    t0 = time.monotonic()
                    runs[p].append(lighthouse(base + p, port))
                    print(f"lighthouse {p} run {i + 1}/{args.runs} ({time.monotonic() - t0:.0f} s)", file=sys.stderr)
            for p in pages:
                results.setdefault(p, {})["lighthouse"] = median_run(runs[p])
        if not args.no_axe:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS[1:])
                tab = browser.new_page()
                for p in pages:
                    results.setdefault(p, {})["axe"] = axe(tab, base + p)
                browser.close()
    finally:
        if chrome is not None:
            chrome.terminate()
            chrome.wait(timeout=30)
        shutil.rmtree(profile, ignore_errors=True)
        server.shutdown()

    if chrome is not None:
        print(f"Lighthouse: {'one run' if args.runs == 1 else f'the median run of {args.runs}'} per page")
    print(_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"targets": TARGETS, "lighthouse_runs": args.runs, "pages": results}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


def median_run(runs: list[dict]) -> dict:
    """The run Lighthouse takes as representative of several (``computeMedianRun`` in its
    ``core/lib/median-run.js``): the one nearest, in Euclidean distance, to the median first
    contentful paint and the median time to interactive, ties going to the earlier time to
    interactive. Runs that failed are left out unless all failed. Lighthouse's
    ``docs/variability.md``: the median of five runs is about twice as stable as one run.

    >>> runs = [{"fcp_ms": 1500, "tti_ms": 4000, "performance": 0.97},
    ...         {"fcp_ms": 1700, "tti_ms": 5200, "performance": 0.89},
    ...         {"fcp_ms": 1650, "tti_ms": 4300, "performance": 0.95}]
    >>> r = median_run(runs); r["performance"], r["performance_runs"]
    (0.95, [0.97, 0.89, 0.95])
    """
    done = [r for r in runs if "error" not in r]
    if not done:
        return {**runs[-1], "performance_runs": []}
    fcp = statistics.median(r["fcp_ms"] for r in done)
    tti = statistics.median(r["tti_ms"] for r in done)
    best = min(done, key=lambda r: ((r["fcp_ms"] - fcp) ** 2 + (r["tti_ms"] - tti) ** 2, r["tti_ms"]))
    return {**best, "performance_runs": [r.get("performance") for r in runs]}


def _table(results: dict) -> str:
    head = "| page | perf | a11y | best | SEO | FCP s | LCP s | TBT ms | CLS | DOM | axe serious+critical |"
    rows = [head, "|---|" + "---:|" * 10]
    for p, r in results.items():
        lh, ax = r.get("lighthouse", {}), r.get("axe", {})

        def score(c):
            v = lh.get(c)
            return "–" if v is None else (f"{v:.2f}" + ("" if v >= TARGETS[c] else " ✗"))

        def num(k, scale=1.0, fmt="{:.1f}"):
            v = lh.get(k)
            return "–" if v is None else fmt.format(v * scale)

        serious = "–" if not ax else str(sum(ax[i] for i in SERIOUS)) + ("" if sum(ax[i] for i in SERIOUS) == 0 else " ✗")
        rows.append(f"| {p} | {score('performance')} | {score('accessibility')} | {score('best-practices')} | "
                    f"{score('seo')} | {num('fcp_ms', 1e-3)} | {num('lcp_ms', 1e-3)} | {num('tbt_ms', 1, '{:.0f}')} | "
                    f"{num('cls', 1, '{:.3f}')} | {num('dom_elements', 1, '{:.0f}')} | {serious} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
