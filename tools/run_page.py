"""Run the executed Python blocks of book pages without MkDocs.

    python tools/run_page.py docs/gradient-descent.md [docs/gradient-descent.zh.md ...]

Each page's blocks run in order in one namespace (as the build's per-page
session does), and each inline value `` `{python} expr` `` of the prose is
evaluated right after the block above it, as in the build; the command turns gdbook's
cache on, as the build does, so a page's twin (``x.zh.md`` after ``x.md``) reuses its
experiments (``run_page`` itself leaves the cache as it finds it). The script prints, per
block, its number, line and seconds, and stops at the first error with the
traceback. ``--out DIR`` also writes what each
page printed to ``DIR/<page>.txt`` for reading. Exit status 1 if any block failed.
This is the fast loop for authors; ``mkdocs build --strict`` remains the real check.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import sys
import time
import traceback
from pathlib import Path

FENCE = re.compile(r'^([ \t]*)(`{3,})\s*(?:python|py)\b([^\n]*)\n(.*?)^\1\2[ \t]*$', re.M | re.S)


def blocks(text: str):
    """Yield ``(index, line, code)`` for every ``exec="on"`` Python block of a page."""
    n = 0
    for m in FENCE.finditer(text):
        if not re.search(r'\bexec="(?:1|on|true|yes)"', m.group(3)):
            continue
        n += 1
        indent = m.group(1)
        code = "\n".join(line[len(indent):] if line.startswith(indent) else line for line in m.group(4).splitlines())
        yield n, text[: m.start()].count("\n") + 1, code


def _inline():
    """hooks/inline.py, which the build uses for inline values."""
    import importlib.util

    name = "gdbook_hooks_inline"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "hooks" / "inline.py")
        sys.modules[name] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules[name]


def run_page(path: Path, out: Path | None = None) -> tuple[bool, list]:
    import torch

    torch.set_num_threads(1)  # as the build does (hooks/book.py)
    ns: dict = {"__name__": "__main__"}
    timings = []
    printed = io.StringIO()
    ok = True
    text = path.read_text(encoding="utf-8")
    inline = _inline()
    try:
        _, values = inline.scan(text, str(path))
    except inline.InlineError as e:
        print(f"FAILED {e}", file=sys.stderr)
        return False, []
    for n, line, code in blocks(text):
        t0 = time.perf_counter()
        buf = io.StringIO()
        try:
            with contextlib.redirect_stdout(buf):
                exec(compile(code, f"{path}#{n} (line {line})", "exec"), ns)
        except Exception:
            ok = False
            print(f"FAILED {path} block {n} (line {line})", file=sys.stderr)
            traceback.print_exc()
            break
        finally:
            timings.append((n, line, time.perf_counter() - t0))
            printed.write(f"\n=== block {n} (line {line}) ===\n{buf.getvalue()}")
        for item in (v for v in values if v.after == n):
            try:
                value = inline.evaluate(item.expr, ns, f"{path} line {item.line}")
            except Exception:
                ok = False
                print(f"FAILED {path} line {item.line}: inline value `{item.expr}`", file=sys.stderr)
                traceback.print_exc()
                break
            printed.write(f"\n--- inline (line {item.line}) `{item.expr}` = {value}\n")
        if not ok:
            break
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / (path.name + ".txt")).write_text(printed.getvalue(), encoding="utf-8")
    return ok, timings


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--out", type=Path, default=None, help="write each page's printed output here")
    args = ap.parse_args(argv)
    import gdbook.cache

    gdbook.cache.enable()  # as the build does: a page's twin reuses its experiments
    failed = 0
    for page in args.pages:
        ok, timings = run_page(page, args.out)
        total = sum(t for *_, t in timings)
        slow = ", ".join(f"#{n}:{t:.1f}s" for n, _, t in sorted(timings, key=lambda x: -x[2])[:3])
        print(f"{'ok  ' if ok else 'FAIL'} {page}  {len(timings)} blocks  {total:.1f}s  (slowest {slow})")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
