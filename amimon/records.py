"""``record``: ``@dataclass(frozen=True)``, defined for a third of the cost.

Defining a dataclass on Python 3.11 compiles each method it writes from its own source:
six for a frozen class, about 1.1 ms a class, and amimon has some 60 of them (28 load
before the monitor's first frame, most of the rest before its first data). ``record``
lets ``dataclass`` do the fields (so ``fields``, ``replace``, ``asdict`` and
``__match_args__`` are its own), compiles the methods that run often (``__init__``,
``__eq__``, ``__hash__``) from one source, as ``dataclass`` writes them, and makes those
that run seldom (``__repr__``, and the frozen ``__setattr__`` and ``__delattr__``)
closures over the class, which need no compiling: about 0.35 ms a class. They behave as
``dataclass``'s do: ``Name(field=value, ...)`` with ``...`` for a record inside itself,
and ``FrozenInstanceError`` for an assignment. ``tests/test_records.py`` checks every
record in amimon against the frozen dataclass it stands for.

It covers what amimon's records use: fields with or without defaults or default
factories, ``field(init=False, repr=False, compare=False, hash=...)``,
``__post_init__``, ``init=False`` and ``eq=False``. Not ``InitVar``, ``kw_only``,
``order`` or slots (amimon has none; the test would catch one), nor a dataclass base or
a ``__setattr__`` of the class's own (``record`` refuses those).
"""

from __future__ import annotations

import dataclasses
import reprlib
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, cast, dataclass_transform, overload

_C = TypeVar("_C", bound=type)


class _Factory:
    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()  # the default a parameter with a default factory shows, as dataclass's


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of ``names`` as one tuple (``attrgetter`` of one name is no tuple)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _init_source(cls: type, fields: tuple[dataclasses.Field[Any], ...], env: dict[str, Any]) -> str:
    """``__init__`` as ``dataclass`` writes a frozen one (its defaults put in ``env``)."""
    params: list[str] = []
    body: list[str] = []
    for f in fields:
        default, factory = f"__default_{f.name}", f"__factory_{f.name}"
        if f.default is not dataclasses.MISSING:
            env[default] = f.default
            value = default if not f.init else f.name
            if f.init:
                params.append(f"{f.name}={default}")
        elif f.default_factory is not dataclasses.MISSING:
            env[factory] = f.default_factory
            if f.init:
                params.append(f"{f.name}=__factory")
                value = f"{factory}() if {f.name} is __factory else {f.name}"
            else:
                value = f"{factory}()"
        elif f.init:
            params.append(f.name)
            value = f.name
        else:
            continue  # no value: dataclass leaves it unset too
        body.append(f"  __setattr(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("  self.__post_init__()")
    return f"def __init__({', '.join(['self', *params])}):\n" + ("\n".join(body) or "  pass")


def _tuple(owner: str, names: list[str]) -> str:
    return "(" + "".join(f"{owner}.{name}," for name in names) + ")"


def _compiled(
    cls: type, fields: tuple[dataclasses.Field[Any], ...], init: bool, eq: bool
) -> dict[str, Any]:
    """The methods that run often, as ``dataclass`` writes them, compiled in one go."""
    env: dict[str, Any] = {
        "__name__": cls.__module__,
        "__setattr": object.__setattr__,
        "__factory": _FACTORY,
    }
    sources = [_init_source(cls, fields, env)] if init else []
    if eq:
        compared = [f.name for f in fields if f.compare]
        hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
        sources.append(
            "def __eq__(self, other):\n"
            "  if other.__class__ is self.__class__:\n"
            f"    return {_tuple('self', compared)} == {_tuple('other', compared)}\n"
            "  return NotImplemented\n"
            f"def __hash__(self):\n  return hash({_tuple('self', hashed)})"
        )
    if not sources:
        return {}
    exec("\n".join(sources), env)
    return {name: env[name] for name in ("__init__", "__eq__", "__hash__") if name in env}


def _methods(cls: Any, fields: tuple[dataclasses.Field[Any], ...]) -> dict[str, Any]:
    """The methods that run seldom, as closures (no compiling)."""
    names = frozenset(f.name for f in fields)
    shown = tuple(f.name for f in fields if f.repr)
    values = _getter(shown)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    @reprlib.recursive_repr()
    def __repr__(self: Any) -> str:
        pairs = zip(shown, values(self), strict=True)
        return f"{self.__class__.__qualname__}({', '.join(f'{k}={v!r}' for k, v in pairs)})"

    return {"__setattr__": __setattr__, "__delattr__": __delattr__, "__repr__": __repr__}


def _make(cls: _C, init: bool, eq: bool) -> _C:
    own = dict(cls.__dict__)
    if any(dataclasses.is_dataclass(base) for base in cls.__mro__[1:]):
        raise TypeError(f"record {cls.__qualname__}: a dataclass base is not supported")
    dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the same class, with fields
    fields = dataclasses.fields(cast(Any, cls))
    methods = _methods(cls, fields) | _compiled(cls, fields, init, eq)
    for name, method in methods.items():
        # As dataclass: what the class defines itself is kept (a __hash__ of None is
        # Python's, for a class that defines __eq__, and is replaced).
        if name in own and not (name == "__hash__" and own[name] is None):
            if name in ("__setattr__", "__delattr__"):
                raise TypeError(f"record {cls.__qualname__} cannot define {name}")
            continue
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, method)
    return cls


@overload
def record(cls: _C, /) -> _C: ...
@overload
def record(*, init: bool = True, eq: bool = True) -> Callable[[_C], _C]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: _C | None = None, /, *, init: bool = True, eq: bool = True) -> Any:
    """``@dataclass(frozen=True)`` (with ``init`` and ``eq`` as there), defined for a
    third of the cost: see the module's words."""
    if cls is None:
        return lambda c: _make(c, init, eq)
    return _make(cls, init, eq)
