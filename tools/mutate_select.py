"""pytest plugin of tools/mutate.py: run the tests mutmut names, collecting their files once.

mutmut runs each mutant's tests by node id (``tests/test_optim.py::test_x[Adam-1]``), as
many ids on pytest's command line as tests reach the mutated function. pytest matches each
id against every test of its file, which is quadratic: the thousands of ids of a function
every optimizer test reaches cost several seconds of collection per mutant. This plugin
replaces the ids by their files on the command line and, once the files are collected,
keeps exactly the tests named, in the order named (mutmut's: fastest first). The tests run
are the same; only the collection is faster. tools/mutate.py loads it with
``-p mutate_select`` in the scratch copy.
"""

from __future__ import annotations

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


def pytest_collection_modifyitems(session, config, items):
    if _WANTED is None:
        return
    keep = sorted((i for i in items if i.nodeid in _WANTED), key=lambda i: _WANTED[i.nodeid])
    drop = [i for i in items if i.nodeid not in _WANTED]
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
