"""Mutation-testing benchmark of gdbook's mathematics (a benchmark, never part of ``make test``).

    .venv/bin/python tools/mutate.py [--module numgrad ...] [--limit 600] [--json bench/mutation.json]

For each module in scope, one at a time, mutmut (configured in ``[tool.mutmut]`` of
pyproject.toml) changes the module one operator, constant, argument or return value at a time
and reruns the module's own fast tests; among them it runs, for each mutant, only the tests that
reach the mutated function (mutmut records which tests call which function). A mutant is
*killed* when a test fails (a timeout counts too) and *survives* when every test passes.

A survivor is either a test to write or an *equivalent* mutant, one that no test can tell from
the original (for example ``x >= 0`` for ``x > 0`` where both branches agree at 0). Equivalent
mutants are listed, with a one-line reason, in ``tests/mutation-equivalent.txt``; the score
leaves them out. The standard: every module in scope at 100 %.

Each module runs in a scratch copy of ``gdbook/`` and ``tests/`` (mutmut writes its mutants
next to the sources), with a time limit. mutmut runs there through tools/mutate_run.py, which
collects the module's tests once and runs each mutant's tests in that session (the same tests,
so the same verdicts, without a pytest start-up and collection per mutant). The benchmark is
meant to run alone: two workers by default (the machine's two cores), ``--jobs 1`` on a shared
machine. The script prints a table per module and the surviving mutants that are not listed
as equivalent, and writes everything to JSON.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EQUIVALENT = ROOT / "tests" / "mutation-equivalent.txt"
SELECT = ROOT / "tools" / "mutate_select.py"  # pytest plugin: collect each mutant's tests by file
RUN = ROOT / "tools" / "mutate_run.py"  # mutmut's command line, with the tests collected once

#: The modules in scope, in order, each with the fast tests that must kill its mutants.
SCOPE: dict[str, list[str]] = {
    "gdbook/numgrad.py": ["tests/test_numgrad.py"],
    "gdbook/newton.py": ["tests/test_newton.py"],
    "gdbook/quadratic.py": ["tests/test_quadratic.py"],
    "gdbook/schedules.py": ["tests/test_schedules.py"],
    "gdbook/clip.py": ["tests/test_clip.py"],
    "gdbook/sharpness.py": ["tests/test_sharpness.py"],
    "gdbook/objectives.py": ["tests/test_objectives.py"],
    "gdbook/init.py": ["tests/test_init.py"],
    "gdbook/landscape.py": ["tests/test_landscape.py"],
    # test_torch_matrix runs torch's own optimizer inputs: sparse, complex, differentiable, errors
    "gdbook/optim/rules.py": ["tests/test_optim.py", "tests/test_momentum_forms.py", "tests/test_torch_matrix.py"],
    "gdbook/optim/_hyper.py": ["tests/test_optim.py", "tests/test_torch_matrix.py"],
    "gdbook/optim/optimizers.py": ["tests/test_optim.py", "tests/test_torch_matrix.py"],
    "gdbook/trajectory.py": ["tests/test_trajectory.py"],
    "gdbook/train.py": ["tests/test_train.py"],
    "gdbook/data.py": ["tests/test_train.py"],
    "gdbook/compare.py": ["tests/test_compare.py"],
    "gdbook/convergence.py": ["tests/test_convergence.py"],
    "gdbook/curvature.py": ["tests/test_curvature.py"],
    "gdbook/nets.py": ["tests/test_nets.py"],
    "gdbook/stability.py": ["tests/test_stability.py"],
}

_MEMOIZE = re.compile(r"^@memoize[ \t]*\n(def (\w+))", re.MULTILINE)
_RULE = re.compile(r"^@rule(\([^)\n]*\))?[ \t]*\n(def (\w+))", re.MULTILINE)
_LINE = re.compile(r"^(?P<module>\S+?):(?P<line>\d+): `(?P<orig>.*)` -> `(?P<new>.*)`\s+#\s*(?P<reason>\S.*)$")


def read_equivalent(path: Path = EQUIVALENT) -> list[dict]:
    """The listed equivalent mutants: ``module:line: `original` -> `mutated`  # reason``."""
    out = []
    if not path.exists():
        return out
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        m = _LINE.match(raw.strip())
        if not m:
            raise SystemExit(f"{path}:{n}: not `module:line: `original` -> `mutated`  # reason`: {raw!r}")
        out.append({**m.groupdict(), "line": int(m["line"]), "used": False})
    return out


def _toml(value) -> str:
    # JSON strings, numbers, booleans and arrays are valid TOML; that is all the config holds.
    return json.dumps(value, ensure_ascii=False)


def _scratch_pyproject(module: str, tests: list[str]) -> str:
    """pyproject.toml of the scratch copy: the project's pytest and mutmut settings, narrowed
    to one module and its tests."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = project.get("tool", {})
    if "mutmut" not in tool:
        raise SystemExit("pyproject.toml has no [tool.mutmut] section (see CONTRIBUTING.md)")
    mutmut = dict(tool["mutmut"])
    mutmut["only_mutate"] = [module]
    mutmut["pytest_add_cli_args_test_selection"] = list(tests)
    # the tests of each mutant by file, not by node id (tools/mutate_select.py)
    mutmut["pytest_add_cli_args"] = list(mutmut.get("pytest_add_cli_args", [])) + ["-p", SELECT.stem]
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{k} = {_toml(v)}" for k, v in tool.get("pytest", {}).get("ini_options", {}).items()]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{k} = {_toml(v)}" for k, v in mutmut.items()]
    return "\n".join(lines) + "\n"


def _function_start(tree: ast.Module, mutant: str) -> int | None:
    """First line (decorators included) of the function a mutmut mutant name points at."""
    from mutmut.utils.format_utils import orig_function_and_class_names_from_key

    func, cls = orig_function_and_class_names_from_key(mutant)
    body = tree.body
    if cls is not None:
        body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), [])
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == func:
            return min([node.lineno] + [d.lineno for d in node.decorator_list])
    return None


def describe(mutant: str, module: str, source: str, tree: ast.Module) -> dict:
    """Where a mutant is (line in the module) and what it changes (original -> mutated text)."""
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    diff = get_diff_for_mutant(mutant, path=module).splitlines()
    removed, added, offset, first = [], [], None, None
    for line in diff[2:]:
        if line.startswith("@@"):
            offset = int(re.match(r"@@ -(\d+)", line)[1])
            continue
        if line.startswith("-"):
            removed.append(line[1:].strip())
            first = offset if first is None else first
        elif line.startswith("+"):
            added.append(line[1:].strip())
        if not line.startswith("+") and offset is not None:
            offset += 1
    start = _function_start(tree, mutant)
    lineno = None
    if start is not None and first is not None:
        lineno = start + first - 1
        lines = source.splitlines()
        if removed and (lineno > len(lines) or lines[lineno - 1].strip() != removed[0]):
            # the function's text as libcst prints it may differ in leading lines: look nearby
            near = [i + 1 for i, t in enumerate(lines) if t.strip() == removed[0]]
            lineno = min(near, key=lambda i: abs(i - lineno)) if near else lineno
    return {"name": mutant, "line": lineno, "original": " / ".join(removed), "mutated": " / ".join(added)}


def run_module(module: str, tests: list[str], limit: float, jobs: int, keep: bool, equivalent: list[dict],
               collect_once: bool = True) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="gdbook-mutate-"))
    shutil.copytree(ROOT / "gdbook", scratch / "gdbook", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", scratch / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (scratch / "plugins").mkdir()
    shutil.copy(SELECT, scratch / "plugins" / f"{SELECT.stem}.py")
    shutil.copy(RUN, scratch / "plugins" / f"{RUN.stem}.py")
    (scratch / "pyproject.toml").write_text(_scratch_pyproject(module, tests), encoding="utf-8")
    # mutmut leaves decorated functions alone: the scratch copy applies @memoize after the
    # module's definitions instead (``name = memoize(name)``, every line kept where it was), so
    # mutmut mutates the bodies while the tests still see the memoized function (its
    # ``.uncached`` and the cache's counts, which tests of the cache read)
    target = scratch / module
    source = target.read_text(encoding="utf-8")
    memoized = [name for _, name in _MEMOIZE.findall(source)]
    source = _MEMOIZE.sub(r"\n\1", source)
    if re.search(r"^[ \t]*@memoize\b", source, re.MULTILINE):
        raise SystemExit(f"{module}: @memoize on a method or nested function; tools/mutate.py only handles "
                         "module-level functions")
    # the update rules are decorated with @rule (gdbook/optim/rules.py): the scratch copy applies
    # it after the module's definitions instead, so mutmut mutates the rules' bodies too
    # (``@rule(check=...)`` too: ``name = rule(check=...)(name)``)
    rules = [(args, name) for args, _, name in _RULE.findall(source)]
    source = _RULE.sub(r"\n\2", source)
    if rules:
        source += "\n" + "".join(f"{name} = rule{args}({name})\n" if args else f"{name} = rule({name})\n"
                                 for args, name in rules)
    if memoized:
        source += "\n" + "".join(f"{name} = memoize({name})\n" for name in memoized)
    target.write_text(source, encoding="utf-8")
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = str(scratch / "plugins")  # the plugin only: gdbook is the scratch copy's
    env["GDBOOK_MUTATE_KILLERS"] = str(scratch / "killers.txt")  # the plugin's record of killing tests
    env.pop("GDBOOK_CACHE_DIR", None)
    if not collect_once:
        env["GDBOOK_MUTATE_COLLECT_ONCE"] = "0"  # every mutant in a pytest session of its own
    log = scratch / "mutmut.log"
    started = time.monotonic()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    hit_limit = False
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, str(scratch / "plugins" / RUN.name), "run", "--max-children", str(jobs)],
                                cwd=scratch, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            hit_limit = True
            os.killpg(proc.pid, signal.SIGTERM)  # the session this script started for mutmut
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    seconds = time.monotonic() - started
    # CPU time of mutmut and every test process it forked (reaped, so counted here): on a quiet
    # machine with one worker the wall time is about this, with two about half; on a loaded one longer
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)

    meta_path = scratch / "mutants" / (module + ".meta")
    if not meta_path.exists() or (proc.returncode != 0 and not hit_limit):
        # e.g. a test that fails on the unmutated scratch copy: mutmut then checks no mutant at all
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"{module}: mutmut stopped before checking the mutants (exit {proc.returncode}); "
                         f"log {log}:\n{tail}")
    from mutmut.configuration import reset_config
    from mutmut.stats import status_by_exit_code

    meta = json.loads(meta_path.read_text())
    codes = meta["exit_code_by_key"]
    statuses = {name: status_by_exit_code[code] for name, code in codes.items()}
    # where the time went: each mutant's test run, by its outcome (the rest is mutmut's setup:
    # generating the mutants and one run of the tests that records which test reaches which function)
    seconds_by_status: dict[str, float] = {}
    for name, d in meta.get("durations_by_key", {}).items():
        if name in statuses:
            seconds_by_status[statuses[name]] = seconds_by_status.get(statuses[name], 0.0) + d

    tree = ast.parse(source)
    here = os.getcwd()
    os.chdir(scratch)
    reset_config()
    try:
        undetected = [describe(n, module, source, tree) for n, s in sorted(statuses.items())
                      if s not in ("killed", "timeout", "not checked")]
    finally:
        os.chdir(here)
        reset_config()
    for m in undetected:
        m["status"] = statuses[m["name"]]
        m["equivalent"] = None
    # a survivor matches a listed entry with the same text: at its own line first, then (the
    # code above it moved) any entry with that text not matched yet
    survivors = [m for m in undetected if m["status"] == "survived"]
    same = lambda e, m: (e["module"], e["orig"], e["new"]) == (module, m["original"], m["mutated"])  # noqa: E731
    for at_line in (True, False):
        for m in survivors:
            if m["equivalent"] is not None:
                continue
            e = next((e for e in equivalent if same(e, m) and (
                e["line"] == m["line"] if at_line else not e["used"])), None)
            if e is not None:
                e["used"] = True
                m["equivalent"] = e["reason"]
                if e["line"] != m["line"]:
                    m["listed_line"] = e["line"]
    if not keep:
        shutil.rmtree(scratch, ignore_errors=True)

    count = lambda status: sum(s == status for s in statuses.values())  # noqa: E731
    total, killed, timeout = len(statuses), count("killed"), count("timeout")
    n_equiv = sum(m["equivalent"] is not None for m in undetected)
    unchecked = count("not checked")  # left when the time limit stopped the run
    scored = total - unchecked - n_equiv
    return {
        "module": module, "tests": tests, "mutants": total, "killed": killed, "timeout": timeout,
        "survived": count("survived"), "equivalent": n_equiv, "not_checked": unchecked,
        "other": total - killed - timeout - count("survived") - unchecked,
        "score": (killed + timeout) / scored if scored else 1.0,
        "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
        "seconds_by_status": {k: round(v, 1) for k, v in seconds_by_status.items()},
        "hit_limit": hit_limit, "scratch": str(scratch) if keep else None,
        "undetected": undetected,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", action="append", default=[],
                    help="a module in scope, e.g. numgrad (repeatable; default: all, in order)")
    ap.add_argument("--limit", type=float, default=600.0, help="seconds per module (default 600)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="mutmut workers, test processes at a time (default 2, or 1 on one core; 1 on a shared machine)")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "mutation.json")
    ap.add_argument("--collect-each", action="store_true",
                    help="collect the tests anew for each mutant, as plain mutmut does (slower; to compare)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch copies (to run `mutmut show` there)")
    ap.add_argument("--strict", action="store_true", help="exit 1 unless every module is at 100 %%")
    args = ap.parse_args()

    wanted = [m if m.startswith("gdbook/") else f"gdbook/{m.removesuffix('.py')}.py" for m in args.module]
    unknown = [m for m in wanted if m not in SCOPE]
    if unknown:
        ap.error(f"not in scope: {unknown}; in scope: {list(SCOPE)}")
    modules = wanted or list(SCOPE)
    equivalent = read_equivalent()

    from importlib.metadata import version

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    results = []
    for module in modules:
        print(f"{module}: mutating, tests {' '.join(SCOPE[module])} (limit {args.limit:.0f} s) ...", flush=True)
        results.append(run_module(module, SCOPE[module], args.limit, args.jobs, args.keep, equivalent,
                                  collect_once=not args.collect_each))
        r = results[-1]
        print(f"  {r['mutants']} mutants, {r['killed'] + r['timeout']} killed, {r['survived']} survived "
              f"({r['equivalent']} equivalent), score {100 * r['score']:.1f} % in {r['seconds']:.0f} s "
              f"(CPU {r['cpu_seconds']:.0f} s)", flush=True)
        args.json.parent.mkdir(parents=True, exist_ok=True)  # after each module: a long run keeps what it did
        args.json.write_text(json.dumps({
            "tool": f"mutmut {version('mutmut')}", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "commit": commit, "modules": results,
        }, indent=1, ensure_ascii=False), encoding="utf-8")

    head = ("module", "mutants", "killed", "timed out", "survived", "equivalent", "other", "not checked",
            "score", "time", "CPU time")
    rows = [(r["module"], r["mutants"], r["killed"], r["timeout"], r["survived"], r["equivalent"], r["other"],
             r["not_checked"],
             f"{100 * r['score']:.1f} %", f"{r['seconds']:.0f} s" + (" (limit)" if r["hit_limit"] else ""),
             f"{r['cpu_seconds']:.0f} s")
            for r in results]
    if len(results) > 1:
        rows.append(("total", *(sum(r[k] for r in results) for k in (
            "mutants", "killed", "timeout", "survived", "equivalent", "other", "not_checked")), "",
            f"{sum(r['seconds'] for r in results):.0f} s", f"{sum(r['cpu_seconds'] for r in results):.0f} s"))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print()
    for row in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).ljust(w) if i == 0 else str(x).rjust(w) for i, (x, w) in enumerate(zip(row, widths))))
    print("\nscore = (killed + timed out) / (checked mutants - equivalent); other = no tests or suspicious;"
          "\nCPU time = of mutmut and its test processes (on a quiet machine: the wall time with one worker,"
          "\n  about twice it with two);"
          "\nnot checked = left when the module's time limit stopped the run (raise --limit)")

    for r in results:
        todo = [m for m in r["undetected"] if m["equivalent"] is None and m["status"] != "not checked"]
        if todo:
            print(f"\n{r['module']}: {len(todo)} mutants not killed and not listed as equivalent")
            for m in todo:
                print(f"  {r['module']}:{m['line']}: `{m['original']}` -> `{m['mutated']}`  [{m['status']}]")
        moved = [m for m in r["undetected"] if "listed_line" in m]
        for m in moved:
            print(f"  note: {r['module']}:{m['line']} is listed at line {m['listed_line']} in {EQUIVALENT.name}")
    done = {r["module"] for r in results}
    stale = [e for e in equivalent if e["module"] in done and not e["used"]]
    for e in stale:
        print(f"\nstale entry in {EQUIVALENT.name} (no such survivor): {e['module']}:{e['line']}: `{e['orig']}`")

    print(f"\nJSON: {args.json}")
    ok = all(r["score"] == 1.0 and not r["not_checked"] for r in results) and not stale
    return 0 if ok or not args.strict else 1


if __name__ == "__main__":
    sys.exit(main())
