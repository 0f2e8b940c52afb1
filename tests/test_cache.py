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


# ---------------------------------------------------------------------------
# What the key holds: code, not names (issue 25)
# ---------------------------------------------------------------------------

OPTIMIZER = """
import gdbook as gd

def halving(x, g, state, *, lr):
    return x - {factor} * lr * g, state

class Halving(gd.optim.RuleOptimizer):
    rule = staticmethod(halving)

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))  # super(): the method's closure holds the class
"""


def define(code: str, module: str, monkeypatch) -> dict:
    """Run ``code`` as markdown-exec runs a page's block: in a module named after the block."""
    scope = {"__name__": module}
    monkeypatch.setitem(sys.modules, module, types.ModuleType(module))
    exec(code, scope)
    return scope


def test_a_class_redefined_under_the_same_name_misses(monkeypatch):
    cache.enable()
    f = gd.objectives.bowl(10)
    first = define(OPTIMIZER.format(factor=1.0), "en_lab_2", monkeypatch)["Halving"]
    second = define(OPTIMIZER.format(factor=0.5), "en_lab_2", monkeypatch)["Halving"]
    assert first.__qualname__ == second.__qualname__ and first.__module__ == second.__module__
    a = gd.trajectory(f, first, lr=0.05, steps=20)
    b = gd.trajectory(f, second, lr=0.05, steps=20)
    assert cache.stats()["misses"] == 2 and cache.stats()["hits"] == 0
    assert not np.allclose(a.path, b.path)
    assert np.allclose(b.path, gd.trajectory.__wrapped__(f, second, lr=0.05, steps=20).path)


def test_a_class_attribute_is_part_of_the_key(monkeypatch):
    scope = define(OPTIMIZER.format(factor=1.0), "en_lab_2", monkeypatch)
    before = cache.fingerprint(scope["Halving"])
    scope["Halving"].rule = staticmethod(lambda x, g, state, *, lr: (x - lr * g, state))
    assert cache.fingerprint(scope["Halving"]) != before


def test_the_same_class_in_both_languages_hits(monkeypatch):
    """A lab's or a page's class, defined by the English and by the Chinese block."""
    cache.enable()
    f = gd.objectives.bowl(10)
    for module in ("en_lab_2", "zh_lab_2"):
        cls = define(OPTIMIZER.format(factor=1.0), module, monkeypatch)["Halving"]
        gd.trajectory(f, cls, lr=0.05, steps=20, label=module)
    assert cache.stats()["misses"] == 1 and cache.stats()["hits"] == 1


def net_data():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=g, dtype=torch.float64)
    return X, torch.tanh(X @ torch.randn(4, 1, generator=g, dtype=torch.float64))


def test_residual_true_and_false_are_different_nets():
    """The two nets have the same repr, parameters and buffers: only ``Block.residual`` differs."""
    cache.enable()
    X, y = net_data()
    nets = [gd.nets.MLP(4, 4, depth=3, out_features=1, activation="tanh", residual=r, generator=1) for r in (True, False)]
    assert repr(nets[0]) == repr(nets[1])
    losses = [gd.nets.train_net(net, X, y, lr=0.05, steps=30).loss[-1] for net in nets]
    assert cache.stats()["misses"] == 2 and cache.stats()["hits"] == 0
    fresh = gd.nets.MLP(4, 4, depth=3, out_features=1, activation="tanh", residual=False, generator=1)
    cache.disable()
    assert losses[1] == gd.nets.train_net(fresh, X, y, lr=0.05, steps=30).loss[-1] != losses[0]


def test_the_same_net_trained_twice_hits():
    cache.enable()
    X, y = net_data()
    runs = []
    for _ in range(2):
        net = gd.nets.MLP(4, 8, depth=2, out_features=1, activation="tanh", generator=1)
        runs.append((gd.nets.train_net(net, X, y, lr=0.05, steps=30), net))
    assert cache.stats()["hits"] == 1
    assert runs[0][0].loss == runs[1][0].loss
    assert all(torch.equal(p, q) for p, q in zip(runs[0][1].parameters(), runs[1][1].parameters()))


class Noisy(torch.nn.Module):
    """A module whose output depends on an attribute that has no content key."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 1, dtype=torch.float64)
        self.scale = types.SimpleNamespace(value=2.0)

    def forward(self, x):
        return self.scale.value * self.lin(x)


def test_a_module_with_an_unkeyable_attribute_runs_uncached():
    cache.enable()
    X, y = net_data()
    torch.manual_seed(0)
    net = Noisy()
    with pytest.raises(cache.Uncacheable):
        cache.fingerprint(net)
    first = gd.nets.train_net(net, X, y, lr=0.05, steps=10).loss
    net.scale.value = 0.5  # the same repr, parameters and buffers as after the first run
    torch.manual_seed(0)
    other = Noisy()
    other.scale.value = 0.5
    second = gd.nets.train_net(other, X, y, lr=0.05, steps=10).loss
    assert cache.stats()["uncached"] == 2 and cache.stats()["hits"] == cache.stats()["misses"] == 0
    assert first != second


def test_an_active_dropout_refuses_a_key_and_an_inactive_one_keys_by_generator_state():
    net = gd.nets.MLP(4, 8, depth=2, out_features=1, dropout=0.5, generator=1)
    with pytest.raises(cache.Uncacheable):
        cache.fingerprint(net)
    net.eval()
    before = cache.fingerprint(net)
    net.generator.manual_seed(5)  # train_net gives the caller's net the generator state of the cached run
    assert cache.fingerprint(net) != before


def test_a_call_that_draws_from_the_global_random_state_is_not_stored():
    cache.enable()

    @cache.memoize
    def noisy(n):
        return torch.rand(n)

    torch.manual_seed(0)
    a, b = noisy(3), noisy(3)
    assert not torch.equal(a, b)  # as without the cache: the second call draws new numbers
    assert cache.stats()["hits"] == 0 and cache.stats()["uncached"] == 2


def test_the_cache_imports_no_other_module_of_gdbook():
    """The lowest layer: the modules that use it (nets, trajectory, ...) import it, not the reverse."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(cache.__file__).read_text(encoding="utf-8"))
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and (n.level > 0 or "gdbook" in (n.module or ""))]
    assert not imports, [ast.unparse(n) for n in imports]


# ---------------------------------------------------------------------------
# The labs' shared directory (hooks/labs.py)
# ---------------------------------------------------------------------------


def hook():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "hooks" / "book.py"
    spec = importlib.util.spec_from_file_location("gdbook_book_hook", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_lab(path, cells):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, path)
    return path


def test_lab_cache_directory_follows_the_notebook_code(tmp_path):
    key = hook().labs.lab_cache_key
    en = write_lab(tmp_path / "lab.ipynb", ['LANG = "en"  # the language', 'x = gd.sweep(f, lr=0.1, label="loss")'])
    zh = write_lab(tmp_path / "lab.zh.ipynb", ['LANG = "zh"  # 语言', 'x = gd.sweep(f, lr=0.1, label="损失")'])
    edited = write_lab(tmp_path / "edited.ipynb", ['LANG = "en"  # the language', 'x = gd.sweep(f, lr=0.2, label="loss")'])
    assert key(en) == key(zh)  # the two languages share their results
    assert key(edited) != key(en)  # an edited cell starts afresh


def test_the_labs_of_the_book_share_a_directory_across_languages():
    from pathlib import Path

    key = hook().labs.lab_cache_key
    labs = Path(__file__).resolve().parents[1] / "docs" / "labs"
    english = sorted(p for p in labs.glob("*.ipynb") if not p.name.endswith(".zh.ipynb"))
    assert english
    for p in english:
        assert key(p) == key(p.with_name(p.name.replace(".ipynb", ".zh.ipynb"))), p.name
