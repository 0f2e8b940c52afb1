"""A small content-keyed memo that lets the two language builds share experiments.

mkdocs-static-i18n builds the English and the Chinese book in one process, and the
two pages of a chapter run the same code. Pure, deterministic functions of
:mod:`gdbook` that are expensive (a training run, a trajectory, a grid search) are
decorated with [`memoize`][gdbook.cache.memoize]: when the cache is enabled, a call
whose arguments have the same *content* as an earlier call returns a copy of the
earlier result instead of recomputing it.

The cache is off unless something turns it on; the book's build hook calls
[`enable`][gdbook.cache.enable]. The labs run in separate kernel processes: for them the
hook sets the environment variable ``GDBOOK_CACHE_DIR`` to a directory of its own, and
``import gdbook`` then enables the cache with results also kept there, as pickles, so the
English and the Chinese lab share them too. A call is cached only when every argument can be
fingerprinted by value: numbers, strings, arrays and tensors (by their bytes),
containers of those, dataclasses, classes and functions (by their code, constants,
closure and the globals they read), and torch modules (by their structure, parameters and
buffers). Anything else, in particular a random generator or an active dropout module,
whose state a cached call would fail to advance, makes the call run uncached.

Examples:
    >>> calls = []
    >>> @memoize
    ... def square(x):
    ...     calls.append(x)
    ...     return x * x
    >>> with enabled():
    ...     square(3), square(3), square(4)
    (9, 9, 16)
    >>> calls
    [3, 4]

    A legend label is not part of the key; a hit carries the caller's label:

    >>> from gdbook import objectives, optim, trajectory
    >>> with enabled():
    ...     a = trajectory(objectives.bowl(10), optim.SGD, lr=0.01, steps=5, label="GD")
    ...     b = trajectory(objectives.bowl(10), optim.SGD, lr=0.01, steps=5, label="梯度下降")
    ...     stats()["hits"], b.label, bool((a.path == b.path).all())
    (1, '梯度下降', True)
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import hashlib
import os
import pickle
import sys
import types
from pathlib import Path
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import torch

__all__ = ["memoize", "enable", "disable", "enabled", "clear", "stats", "fingerprint", "Uncacheable"]


class Uncacheable(Exception):
    """An argument has no content fingerprint; the call runs without the cache."""


class _Store:
    """The cache's state: on/off, an LRU table and hit counts (one instance, never rebound)."""

    def __init__(self, maxsize: int = 512):
        self.on = False
        self.maxsize = maxsize
        self.table: OrderedDict[str, Any] = OrderedDict()
        self.directory: Path | None = None
        self.hits = 0
        self.misses = 0
        self.uncached = 0


_STORE = _Store()


def enable(directory: str | os.PathLike | None = None) -> None:
    """Turn the cache on (the book's build does this once, in its hook).

    With ``directory``, results are also stored there and looked up there, so that other
    processes enabled with the same directory share them. Only a directory that no one
    else writes to: its files are unpickled.
    """
    _STORE.on = True
    if directory is not None:
        _STORE.directory = Path(directory)
        _STORE.directory.mkdir(parents=True, exist_ok=True)


def disable() -> None:
    """Turn the cache off, forget its directory and drop its contents."""
    _STORE.on = False
    _STORE.directory = None
    clear()


def clear() -> None:
    """Drop every cached result and reset the counts."""
    _STORE.table.clear()
    _STORE.hits = _STORE.misses = _STORE.uncached = 0


@contextlib.contextmanager
def enabled():
    """Context manager: the cache is on inside the block and restored (and cleared) after."""
    was = _STORE.on
    enable()
    try:
        yield
    finally:
        _STORE.on = was
        clear()


def stats() -> dict:
    """Counts since the last clear: ``hits`` (in memory or on disk), ``misses``, ``uncached`` calls and ``entries``."""
    return {"hits": _STORE.hits, "misses": _STORE.misses, "uncached": _STORE.uncached, "entries": len(_STORE.table)}


# ---------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------


def _code(code: types.CodeType, h, depth: int, fn_globals: dict | None) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code(const, h, depth, fn_globals)
        else:
            _feed(const, h, depth)
    if fn_globals is not None:
        for name in code.co_names:
            if name in fn_globals:
                value = fn_globals[name]
                if isinstance(value, types.ModuleType):
                    h.update(f"module:{value.__name__}".encode())
                else:
                    _feed(value, h, depth + 1)


def _feed(obj, h, depth: int = 0) -> None:
    if depth > 12:
        raise Uncacheable("argument nested too deeply")
    if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(f"{type(obj).__name__}:{obj!r};".encode())
    elif isinstance(obj, (tuple, list)):
        h.update(f"{type(obj).__name__}[{len(obj)}](".encode())
        for item in obj:
            _feed(item, h, depth + 1)
        h.update(b")")
    elif isinstance(obj, dict):
        h.update(f"dict[{len(obj)}](".encode())
        for key in sorted(obj, key=repr):
            _feed(key, h, depth + 1)
            _feed(obj[key], h, depth + 1)
        h.update(b")")
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"nd:{a.dtype}:{a.shape}:".encode())
        h.update(a.tobytes())
    elif isinstance(obj, np.generic):
        h.update(f"np:{obj.dtype}:{obj!r};".encode())
    elif isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor:{t.dtype}:{tuple(t.shape)}:{obj.requires_grad}:".encode())
        h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
    elif isinstance(obj, (torch.dtype, torch.device)):
        h.update(f"{obj};".encode())
    elif isinstance(obj, (torch.Generator, np.random.Generator, np.random.RandomState)):
        raise Uncacheable("a random generator's state would not advance on a cache hit")
    elif isinstance(obj, type):
        h.update(f"class:{obj.__module__}.{obj.__qualname__};".encode())
    elif isinstance(obj, functools.partial):
        h.update(b"partial(")
        _feed(obj.func, h, depth + 1)
        _feed(obj.args, h, depth + 1)
        _feed(obj.keywords, h, depth + 1)
        h.update(b")")
    elif isinstance(obj, (types.FunctionType, types.LambdaType)):
        # Code run by exec (a page's block) gets a module name of the runner's choosing,
        # which differs between the two languages of a page: only modules loaded from a
        # file count; the code, constants and globals identify the rest.
        module = obj.__module__ if getattr(sys.modules.get(obj.__module__), "__file__", None) else "<exec>"
        h.update(f"fn:{module}.{obj.__qualname__}:".encode())
        _code(obj.__code__, h, depth, obj.__globals__ if depth < 4 else None)
        _feed(obj.__defaults__, h, depth + 1)
        _feed(obj.__kwdefaults__, h, depth + 1)
        for cell in obj.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # empty cell
                contents = None
            _feed(contents, h, depth + 1)
    elif isinstance(obj, types.MethodType):
        h.update(b"method(")
        _feed(obj.__self__, h, depth + 1)
        _feed(obj.__func__, h, depth + 1)
        h.update(b")")
    elif isinstance(obj, (types.BuiltinFunctionType, np.ufunc)):
        owner = getattr(obj, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            raise Uncacheable("a method bound to an object")
        h.update(f"builtin:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj.__name__)};".encode())
    elif dataclasses.is_dataclass(obj):
        h.update(f"dc:{type(obj).__module__}.{type(obj).__qualname__}(".encode())
        for f in dataclasses.fields(obj):
            h.update(f.name.encode())
            _feed(getattr(obj, f.name), h, depth + 1)
        h.update(b")")
    elif isinstance(obj, torch.nn.Module):
        if any(_draws_random(m) for m in obj.modules()):
            raise Uncacheable("a dropout module draws random numbers in training mode")
        h.update(f"module:{obj!r}:{obj.training}:".encode())
        for name, t in list(obj.named_parameters()) + list(obj.named_buffers()):
            h.update(name.encode())
            _feed(t, h, depth + 1)
    else:
        raise Uncacheable(f"no content fingerprint for {type(obj).__name__}")


def _draws_random(module: torch.nn.Module) -> bool:
    """A dropout module (torch's, or gdbook's with its own generator) that is active."""
    from .nets import Dropout  # here: gdbook.nets itself imports this module

    is_dropout = isinstance(module, (torch.nn.modules.dropout._DropoutNd, Dropout))
    return is_dropout and module.training and module.p > 0


def fingerprint(*args, **kwargs) -> str:
    """A hex digest of the arguments' content; raises [`Uncacheable`][gdbook.cache.Uncacheable].

    Examples:
        >>> fingerprint(1.0, [2, 3]) == fingerprint(1.0, [2, 3]) != fingerprint(1.0, [2, 4])
        True
    """
    h = hashlib.sha256()
    _feed(args, h)
    _feed(kwargs, h)
    return h.hexdigest()


def memoize(fn: Callable) -> Callable:
    """Decorate a pure, deterministic function so that, while the cache is enabled, a call
    with the same argument content returns a (deep) copy of the first result.

    A keyword argument ``label`` (a legend text, which differs between the English and the
    Chinese page) is not part of the key: the copy gets the caller's label.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _STORE.on:
            return fn(*args, **kwargs)
        keyed = {k: v for k, v in kwargs.items() if k != "label"}
        try:
            key = f"{fn.__module__}.{fn.__qualname__}:" + fingerprint(*args, **keyed)
        except Uncacheable:
            _STORE.uncached += 1
            return fn(*args, **kwargs)
        if key not in _STORE.table:
            _load(key)
        if key in _STORE.table:
            _STORE.hits += 1
            _STORE.table.move_to_end(key)
            return _relabel(copy.deepcopy(_STORE.table[key]), kwargs)
        _STORE.misses += 1
        result = fn(*args, **kwargs)
        _STORE.table[key] = copy.deepcopy(result)
        if len(_STORE.table) > _STORE.maxsize:
            _STORE.table.popitem(last=False)
        _save(key, result)
        return result

    wrapper.uncached = fn
    return wrapper


def _file(key: str) -> Path:
    return _STORE.directory / (hashlib.sha256(key.encode()).hexdigest() + ".pkl")


def _load(key: str) -> None:
    """Bring a result stored by another process into memory, if there is one."""
    if _STORE.directory is None or not _file(key).exists():
        return
    _STORE.table[key] = pickle.loads(_file(key).read_bytes())


def _save(key: str, result) -> None:
    """Store a result for other processes (atomically: write, then rename)."""
    if _STORE.directory is None:
        return
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):  # e.g. a lambda inside
        return
    tmp = _file(key).with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, _file(key))


def _relabel(result, kwargs: dict):
    if "label" not in kwargs:
        return result
    if isinstance(result, (list, tuple)):
        return type(result)(_relabel(r, kwargs) for r in result)
    if not hasattr(result, "label"):
        return result
    if dataclasses.is_dataclass(result) and getattr(type(result), "__dataclass_params__").frozen:
        return dataclasses.replace(result, label=kwargs["label"])
    result.label = kwargs["label"]
    return result


if os.environ.get("GDBOOK_CACHE_DIR"):  # set by the book's build for the lab kernels
    enable(os.environ["GDBOOK_CACHE_DIR"])
