"""pytest plugin of tools/mutate.py: run the tests mutmut names for a mutant, faster.

mutmut runs each mutant's tests by node id (``tests/test_optim.py::test_x[Adam-1]``), as
many ids on pytest's command line as tests reach the mutated function, fastest first, and
stops at the first failure (``-x``). Two things made that slow for the optimizers:

* pytest matches each id against every test of its file, which is quadratic: the thousands
  of ids of a function that every optimizer test reaches cost seconds of collection per
  mutant. The plugin replaces the ids by their files on the command line and, once the
  files are collected, keeps exactly the tests named.
* the fastest tests are rarely the ones that fail: a mutant of ``adam`` ran a hundred quick
  tests of error messages before the one comparing trajectories. The plugin records each
  test that kills a mutant (in the file ``$GDBOOK_MUTATE_KILLERS``) and runs first, among
  the tests named, those that killed the latest mutants, most recent first; the others
  follow in mutmut's order. Mutants of one function are checked one after another and are
  mostly killed by the same test.

The tests run for a mutant are the same set either way, so a mutant is killed or survives
as before; only the time to find out changes. tools/mutate.py loads the plugin with
``-p mutate_select`` in its scratch copy; tools/mutate_run.py, which collects the tests once
for all mutants, uses its order (:func:`order`) and its record of killers (:func:`start`).
"""

from __future__ import annotations

import os

_WANTED: dict[str, int] | None = None  # node id -> position on the command line


def pytest_load_initial_conftests(early_config, parser, args):
    global _WANTED
    ids = [a for a in args if "::" in a and not a.startswith("-")]
    if not ids:
        return  # files or directories (mutmut's clean and statistics runs): nothing to change
    _WANTED = {}
    files = []
    for a in ids:
        _WANTED.setdefault(a, len(_WANTED))
        path = a.split("::", 1)[0]
        if path not in files:
            files.append(path)
    first = args.index(ids[0])
    rest = [a for a in args if a not in _WANTED]
    args[:] = rest[:first] + files + rest[first:]


def _killers() -> dict[str, int]:
    """Node id -> how recently it killed a mutant (larger: more recent)."""
    path = os.environ.get("GDBOOK_MUTATE_KILLERS")
    if not path or not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return {line.rstrip("\n"): n for n, line in enumerate(f)}


def order(ids: list[str]) -> list[str]:
    """The node ids ``ids`` (mutmut's order) in the order to run them: those that killed the
    latest mutants first, most recent first, then the others in their order."""
    recent = _killers()
    position = {i: n for n, i in enumerate(ids)}
    return sorted(position, key=lambda i: (-recent.get(i, -1), position[i]))


def start(ids: list[str]) -> None:
    """Record, from now on, which of the tests ``ids`` fail (tools/mutate_run.py runs them
    without naming them on pytest's command line)."""
    global _WANTED
    _WANTED = {i: n for n, i in enumerate(ids)}


def pytest_collection_modifyitems(session, config, items):
    if _WANTED is None:
        return
    rank = {i: n for n, i in enumerate(order(list(_WANTED)))}
    keep = sorted((i for i in items if i.nodeid in rank), key=lambda i: rank[i.nodeid])
    drop = [i for i in items if i.nodeid not in rank]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep


def pytest_runtest_logreport(report):
    path = os.environ.get("GDBOOK_MUTATE_KILLERS")
    if _WANTED is not None and path and report.failed:
        with open(path, "a", encoding="utf-8") as f:
            f.write(report.nodeid + "\n")
