"""gdbook.cache: content keys, copies, labels, and the directory shared between processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest
import torch

import gdbook as gd
from gdbook import cache


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.disable()
    yield
    cache.disable()


def test_hit_returns_a_copy_not_the_stored_object():
    cache.enable()
    a = gd.compare.sweep(gd.objectives.bowl(5), gd.optim.SGD, (0.01, 0.05), steps=20)
    a[0].path[:] = 0.0  # the caller may change its result
    b = gd.compare.sweep(gd.objectives.bowl(5), gd.optim.SGD, (0.01, 0.05), steps=20)
    assert cache.stats()["hits"] == 1 and not np.all(b[0].path == 0.0)


def test_a_generator_has_no_fingerprint():
    cache.enable()
    x = torch.zeros(3)
    with pytest.raises(cache.Uncacheable):
        cache.fingerprint(x, torch.Generator())


def test_directory_is_shared_between_processes(tmp_path):
    """What the build relies on for the labs: a second process finds the first one's result."""
    script = textwrap.dedent("""
        import json, gdbook as gd
        from gdbook import cache
        runs = gd.compare.sweep(gd.objectives.rosenbrock(), gd.optim.Adam, (0.01, 0.1), steps=50, label=LABEL)
        print(json.dumps({"stats": cache.stats(), "label": runs[0].label, "final": runs[1].final.tolist()}))
    """)
    env = dict(os.environ, GDBOOK_CACHE_DIR=str(tmp_path / "shared"))
    out = []
    for label in ("Adam", "亚当"):
        proc = subprocess.run([sys.executable, "-c", f"LABEL = {label!r}\n" + script], env=env,
                              capture_output=True, text=True, check=True)
        out.append(__import__("json").loads(proc.stdout))
    assert out[0]["stats"]["misses"] == 1 and out[0]["stats"]["hits"] == 0
    assert out[1]["stats"]["hits"] == 1 and out[1]["stats"]["misses"] == 0
    assert out[1]["label"] == "亚当"  # the label is the caller's, not the stored one
    assert out[0]["final"] == out[1]["final"]
    assert len(list((tmp_path / "shared").glob("*.pkl"))) == 1


def test_unpicklable_result_stays_in_memory(tmp_path):
    cache.enable(tmp_path)

    @cache.memoize
    def make(n):
        return [lambda: n]

    make(1)
    make(1)
    assert cache.stats()["hits"] == 1 and not list(tmp_path.glob("*.pkl"))


def test_page_functions_fingerprint_alike_in_both_languages(monkeypatch):
    """markdown-exec names a block's module after the block (and so the language)."""
    code = "def f(x):\n    return 2 * x\n"
    fns = []
    for name in ("en_sgd_3", "zh_sgd_3"):
        scope = {"__name__": name}
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))  # as markdown-exec does
        exec(code, scope)
        fns.append(scope["f"])
    assert fns[0].__module__ != fns[1].__module__
    assert cache.fingerprint(fns[0]) == cache.fingerprint(fns[1])
    scope = {"__name__": "en_sgd_4"}
    exec(code.replace("2 *", "3 *"), scope)
    assert cache.fingerprint(scope["f"]) != cache.fingerprint(fns[0])
