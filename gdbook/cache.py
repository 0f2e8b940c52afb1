"""A small content-keyed memo that lets the two language builds share experiments.

mkdocs-static-i18n builds the English and the Chinese book in one process, and the
two pages of a chapter run the same code. Pure, deterministic functions of
gdbook that are expensive (a training run, a trajectory, a grid search) are
decorated with [`memoize`][gdbook.cache.memoize]: when the cache is enabled, a call
whose arguments have the same *content* as an earlier call returns a copy of the
earlier result instead of recomputing it.

The cache is off unless something turns it on; the book's build hook calls
[`enable`][gdbook.cache.enable]. The labs run in separate kernel processes: for them the
hook sets the environment variable ``GDBOOK_CACHE_DIR`` to a directory of the lab (named by a
digest of its code and of gdbook's source), and
``import gdbook`` then enables the cache with results also kept there, as pickles, so the
English and the Chinese lab share them too.

A call is cached only when every argument can be fingerprinted by everything that changes
what the call computes:

- numbers, strings, arrays and tensors (by their bytes, and a tensor's gradient),
  containers of those, dataclasses (by their type and fields);
- functions and classes by their code: a function by its bytecode, constants, closure,
  defaults and the globals it reads; a class by its bases and everything it defines
  (methods, class attributes such as an optimizer's ``rule``), not by its name. A class
  redefined under the same name is another class; the same class defined by the English
  and by the Chinese page is the same. The standard library, installed packages and
  gdbook itself are keyed by name (their code does not change while a process runs; the
  key of every call also holds a digest of gdbook's source);
- torch modules by their type (by its code), mode, parameters, buffers, submodules, hooks
  and every other attribute, including those their ``repr`` leaves out (a block's
  ``residual``);
- an object whose type defines ``__cache_key__(self)`` by its type and the value that
  method returns, which stands for everything else about it (gdbook's
  [`MLP`][gdbook.nets.MLP] and [`Dropout`][gdbook.nets.Dropout] key their generator by
  its state this way, and a dropout refuses a key while it draws masks).

Anything else raises [`Uncacheable`][gdbook.cache.Uncacheable] and the call runs uncached:
in particular a random generator, whose state a cached call would fail to advance, an
active dropout module, or an object of a class that says nothing about its content. A
call that draws from a global random state (torch's, NumPy's or Python's) runs, but its
result is not stored, for the same reason.

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
import random
import sys
import sysconfig
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
        self.draws: set[str] = set()  # keys of calls that drew from a global random state


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
    _STORE.draws.clear()
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
# Code that does not change while a process runs is keyed by its name: the standard library,
# installed packages and gdbook itself (the key of every call also holds a digest of
# gdbook's source, for the directory that processes share). Everything else, the code of a
# page, a lab or a test, is keyed by its content.

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = tuple(sorted({str(Path(p).resolve()) for k, p in sysconfig.get_paths().items()
                           if k in ("stdlib", "platstdlib", "purelib", "platlib")}))


def _source_digest() -> str:
    """A digest of gdbook's source files, read when this module is imported."""
    h = hashlib.sha256()
    for f in sorted(_PACKAGE.rglob("*.py")):
        h.update(f.relative_to(_PACKAGE).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


_SOURCE = _source_digest()


@functools.lru_cache(maxsize=None)
def _trusted_file(path: str) -> bool:
    real = os.path.realpath(path)
    return any(real.startswith(d + os.sep) for d in (str(_PACKAGE), *_INSTALLED))


def _trusted_module(name: str | None) -> bool:
    """A module of the standard library, of an installed package or of gdbook (not ``__main__``)."""
    if name is None or name == "__main__":
        return False
    if name == "builtins" or name in sys.builtin_module_names:
        return True
    file = getattr(sys.modules.get(name), "__file__", None)
    return bool(file) and _trusted_file(file)


def _trusted_code(fn) -> bool:
    code = getattr(fn, "__code__", None)
    return (code is not None and _trusted_file(code.co_filename)
            and _trusted_module(getattr(fn, "__module__", None)) and "<locals>" not in fn.__qualname__)


def _trusted_class(cls: type) -> bool:
    if not _trusted_module(cls.__module__) or "<locals>" in cls.__qualname__:
        return False
    methods = [_unwrap(v) for v in vars(cls).values()]
    return all(_trusted_file(m.__code__.co_filename) for m in methods if isinstance(m, types.FunctionType))


def _unwrap(value):
    return value.__func__ if isinstance(value, (staticmethod, classmethod)) else value


# Attributes of a class that do not change what its instances compute, or that are keyed otherwise.
_CLASS_SKIP = frozenset({"__doc__", "__module__", "__qualname__", "__dict__", "__weakref__", "__annotations__",
                         "__firstlineno__", "__static_attributes__", "__orig_bases__", "__parameters__",
                         "_abc_impl", "__abstractmethods__", "__dataclass_fields__", "__dataclass_params__",
                         "__match_args__"})

_DecoratorContextManager = getattr(getattr(torch.utils, "_contextlib", None), "_DecoratorContextManager", ())


class _Hasher:
    """One fingerprint: a sha256 fed with a canonical serialization of the arguments.

    Classes, functions and modules met twice (a method's ``__class__`` cell, a recursive
    function) are fed once, then referred to by their order of appearance.
    """

    def __init__(self):
        self.h = hashlib.sha256()
        self.seen: dict[int, int] = {}
        self.keep: list = []  # keeps the objects in ``seen`` alive, so that their ids stay theirs

    def put(self, text: str) -> None:
        self.h.update(text.encode())

    def once(self, obj) -> bool:
        """True the first time ``obj`` is met; afterwards feed a reference to it."""
        if id(obj) in self.seen:
            self.put(f"ref:{self.seen[id(obj)]};")
            return False
        self.seen[id(obj)] = len(self.seen)
        self.keep.append(obj)
        return True

    def feed(self, obj, depth: int = 0) -> None:
        if depth > 60:
            raise Uncacheable("argument nested too deeply")
        d = depth + 1
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            self.put(f"{type(obj).__name__}:{obj!r};")
        elif hasattr(type(obj), "__cache_key__") and not isinstance(obj, type):
            if self.once(obj):
                self.put("keyed(")
                self.feed(type(obj), d)
                self.feed(obj.__cache_key__(), d)
                self.put(")")
        elif isinstance(obj, (tuple, list)):
            self.put(f"{type(obj).__name__}[{len(obj)}](")
            for item in obj:
                self.feed(item, d)
            self.put(")")
        elif isinstance(obj, dict):
            self.put(f"dict[{len(obj)}](")
            for key in sorted(obj, key=repr):
                self.feed(key, d)
                self.feed(obj[key], d)
            self.put(")")
        elif isinstance(obj, (set, frozenset)):
            self.put(f"{type(obj).__name__}[{len(obj)}](")
            for digest in sorted(fingerprint(item) for item in obj):
                self.put(digest)
            self.put(")")
        elif isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                raise Uncacheable("an array of Python objects")
            a = np.ascontiguousarray(obj)
            self.put(f"nd:{a.dtype}:{a.shape}:")
            self.h.update(a.tobytes())
        elif isinstance(obj, np.generic):
            self.put(f"np:{obj.dtype}:{obj!r};")
        elif isinstance(obj, torch.Tensor):
            self.tensor(obj, d)
        elif isinstance(obj, (torch.dtype, torch.device)):
            self.put(f"{obj};")
        elif isinstance(obj, (torch.Generator, np.random.Generator, np.random.RandomState)):
            raise Uncacheable("a random generator's state would not advance on a cache hit")
        elif isinstance(obj, types.ModuleType):
            self.module(obj)
        elif isinstance(obj, type):
            if self.once(obj):
                self.cls(obj, d)
        elif isinstance(obj, functools.partial):
            self.put("partial(")
            self.feed(obj.func, d)
            self.feed(obj.args, d)
            self.feed(obj.keywords, d)
            self.put(")")
        elif isinstance(obj, types.FunctionType):
            if self.once(obj):
                self.function(obj, d)
        elif isinstance(obj, types.MethodType):
            self.put("method(")
            self.feed(obj.__self__, d)
            self.feed(obj.__func__, d)
            self.put(")")
        elif isinstance(obj, (types.BuiltinFunctionType, np.ufunc)):
            owner = getattr(obj, "__self__", None)
            if owner is not None and not isinstance(owner, types.ModuleType):
                raise Uncacheable("a method bound to an object")
            self.put(f"builtin:{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj.__name__)};")
        elif dataclasses.is_dataclass(obj):
            self.put("dc(")
            self.feed(type(obj), d)
            for f in dataclasses.fields(obj):
                self.put(f.name)
                self.feed(getattr(obj, f.name), d)
            self.put(")")
        elif isinstance(obj, torch.nn.Module):
            if self.once(obj):
                self.nn_module(obj, d)
        elif isinstance(obj, _DecoratorContextManager) and _trusted_class(type(obj)):
            # torch.no_grad() and friends, as a decorator leaves them in the function's closure
            self.put("ctx(")
            self.feed(type(obj), d)
            self.feed(dict(vars(obj)), d)
            self.put(")")
        else:
            raise Uncacheable(f"no content fingerprint for {type(obj).__name__}")

    def tensor(self, obj: torch.Tensor, d: int) -> None:
        t = obj.detach().cpu().contiguous()
        if t.layout != torch.strided or t.is_quantized or t.is_complex() and t.is_conj():
            raise Uncacheable("a tensor that is not a plain dense tensor")
        self.put(f"tensor:{type(obj).__name__}:{t.dtype}:{tuple(t.shape)}:{obj.requires_grad}:")
        self.h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())
        grad = obj.grad if obj.is_leaf else None
        if grad is not None:
            self.put("grad:")
            self.tensor(grad, d)

    def module(self, module: types.ModuleType) -> None:
        if _trusted_module(module.__name__):
            self.put(f"module:{module.__name__};")
            return
        file = getattr(module, "__file__", None)
        if not file or not Path(file).is_file():
            raise Uncacheable(f"module {module.__name__} has no source file to key it by")
        self.put(f"module:{module.__name__}:{hashlib.sha256(Path(file).read_bytes()).hexdigest()};")

    def cls(self, cls: type, d: int) -> None:
        if _trusted_class(cls):
            self.put(f"class:{cls.__module__}.{cls.__qualname__};")
            return
        self.put(f"class:{_module_name(cls)}.{cls.__qualname__}:{type(cls).__module__}.{type(cls).__qualname__}(")
        self.feed(cls.__bases__, d)
        is_dataclass = dataclasses.is_dataclass(cls)
        if is_dataclass:
            self.put(repr(cls.__dataclass_params__))
            for f in dataclasses.fields(cls):
                self.put(f"field:{f.name}:{f.init}:{f.kw_only}:")
                self.feed(None if f.default is dataclasses.MISSING else ("default", f.default), d)
                self.feed(None if f.default_factory is dataclasses.MISSING else f.default_factory, d)
        for name, value in sorted(vars(cls).items()):
            if name in _CLASS_SKIP:
                continue
            if is_dataclass and isinstance(value, types.FunctionType) and value.__code__.co_filename == "<string>":
                continue  # a method that dataclasses generated from the fields fed above
            self.put(f"attr:{name}=")
            if isinstance(value, (staticmethod, classmethod)):
                self.put(type(value).__name__)
                self.feed(value.__func__, d)
            elif isinstance(value, property):
                self.feed((value.fget, value.fset, value.fdel), d)
            elif isinstance(value, functools.cached_property):
                self.feed(value.func, d)
            else:
                self.feed(value, d)
        self.put(")")

    def function(self, fn: types.FunctionType, d: int) -> None:
        if _trusted_code(fn):
            self.put(f"fn:{fn.__module__}.{fn.__qualname__}(")
        else:
            self.put(f"fn:{_module_name(fn)}.{fn.__qualname__}(")
            self.code(fn.__code__, fn.__globals__, d)
        self.feed(fn.__defaults__, d)
        self.feed(fn.__kwdefaults__, d)
        for cell in fn.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                contents = None
            self.feed(contents, d)
        attrs = {k: v for k, v in vars(fn).items() if k != "__wrapped__" or not _trusted_code(fn)}
        if attrs:
            self.feed(attrs, d)
        self.put(")")

    def code(self, code: types.CodeType, fn_globals: dict, d: int) -> None:
        self.h.update(code.co_code)
        self.put(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars, code.co_argcount,
                       code.co_posonlyargcount, code.co_kwonlyargcount, code.co_flags)))
        for const in code.co_consts:
            if isinstance(const, types.CodeType):
                self.code(const, fn_globals, d)
            else:
                self.feed(const, d)
        for name in code.co_names:  # the globals it reads (and attribute names that happen to be globals)
            if name in fn_globals:
                self.put(f"global:{name}=")
                self.feed(fn_globals[name], d)

    def nn_module(self, module: torch.nn.Module, d: int) -> None:
        if isinstance(module, torch.nn.modules.dropout._DropoutNd) and module.training and module.p > 0:
            raise Uncacheable("an active dropout module draws random numbers a cache hit would not draw")
        self.put("nn(")
        self.feed(type(module), d)
        # Everything the module holds: its mode, parameters, buffers, submodules, hooks and the
        # attributes its repr may leave out (a Block's ``residual``).
        self.feed(dict(vars(module)), d)
        self.put(")")


def _module_name(obj) -> str:
    # Code run by exec (a page's block) gets a module name of the runner's choosing, which
    # differs between the two languages of a page: only modules loaded from a file count;
    # the code, constants and globals identify the rest.
    module = obj.__module__
    if module == "__main__" or not getattr(sys.modules.get(module), "__file__", None):
        return "<exec>"
    return module


def fingerprint(*args, **kwargs) -> str:
    """A hex digest of the arguments' content; raises [`Uncacheable`][gdbook.cache.Uncacheable].

    Examples:
        >>> fingerprint(1.0, [2, 3]) == fingerprint(1.0, [2, 3]) != fingerprint(1.0, [2, 4])
        True
    """
    hasher = _Hasher()
    hasher.feed(args)
    hasher.feed(kwargs)
    return hasher.h.hexdigest()


def memoize(fn: Callable) -> Callable:
    """Decorate a pure, deterministic function so that, while the cache is enabled, a call
    with the same argument content returns a (deep) copy of the first result.

    A keyword argument ``label`` (a legend text, which differs between the English and the
    Chinese page) is not part of the key: the copy gets the caller's label. The key also
    holds torch's default dtype and a digest of gdbook's source. A call whose arguments
    raise [`Uncacheable`][gdbook.cache.Uncacheable] runs uncached; so does a call that
    draws from a global random state (torch's, NumPy's or Python's), which a hit would
    leave where it was: its result is not stored.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not _STORE.on:
            return fn(*args, **kwargs)
        keyed = {k: v for k, v in kwargs.items() if k != "label"}
        try:
            key = f"{_SOURCE}:{torch.get_default_dtype()}:{fn.__module__}.{fn.__qualname__}:" + fingerprint(*args, **keyed)
        except Uncacheable:
            _STORE.uncached += 1
            return fn(*args, **kwargs)
        if key in _STORE.draws:
            _STORE.uncached += 1
            return fn(*args, **kwargs)
        if key not in _STORE.table:
            _load(key)
        if key in _STORE.table:
            _STORE.hits += 1
            _STORE.table.move_to_end(key)
            return _relabel(copy.deepcopy(_STORE.table[key]), kwargs)
        before = _random_states()
        result = fn(*args, **kwargs)
        if _random_states() != before:
            _STORE.draws.add(key)
            _STORE.uncached += 1
            return result
        _STORE.misses += 1
        _STORE.table[key] = copy.deepcopy(result)
        if len(_STORE.table) > _STORE.maxsize:
            _STORE.table.popitem(last=False)
        _save(key, result)
        return result

    wrapper.uncached = fn
    return wrapper


def _random_states() -> str:
    """A digest of the global random states: torch's, NumPy's legacy one and Python's."""
    h = hashlib.sha256(torch.random.get_rng_state().numpy().tobytes())
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    h.update(keys.tobytes() + repr((kind, pos, has_gauss, gauss)).encode())
    h.update(repr(random.getstate()).encode())
    return h.hexdigest()


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
