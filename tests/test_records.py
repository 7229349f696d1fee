"""Every record in amimon behaves as the same class made with ``@dataclass(frozen=True)``."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pickle
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest

import amimon
from amimon.records import record

SKIP = {"amimon.__main__"}  # its import turns the cyclic collector off


def records() -> Iterator[type]:
    for info in pkgutil.walk_packages(amimon.__path__, "amimon."):
        if info.name in SKIP:
            continue
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and obj.__module__ == module.__name__
                and getattr(obj.__setattr__, "__module__", None) == "amimon.records"
            ):
                yield obj


ALL = sorted(records(), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def is_records(method: Any) -> bool:
    """Made by ``record``: a closure of its module, or compiled with its names."""
    return getattr(method, "__module__", None) == "amimon.records" or (
        "__setattr" in getattr(method, "__globals__", {})
    )


def reference(cls: type) -> type:
    """The class as ``@dataclass(frozen=True, ...)`` would have made it."""
    made = {"__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"}
    init = "__setattr" in getattr(cls.__init__, "__globals__", {})
    namespace = {
        k: v
        for k, v in vars(cls).items()
        if not (k in made and (is_records(v) or (k == "__init__" and init)))
        and k not in ("__dict__", "__weakref__", "__match_args__", "__hash__")
        and not k.startswith("__dataclass")
    }
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        options: dict[str, Any] = {
            "init": f.init,
            "repr": f.repr,
            "hash": f.hash,
            "compare": f.compare,
            "metadata": f.metadata,
        }
        if f.default is not dataclasses.MISSING:
            options["default"] = f.default
        if f.default_factory is not dataclasses.MISSING:
            options["default_factory"] = f.default_factory
        namespace[f.name] = dataclasses.field(**options)
    twin = type(cls.__name__, (), namespace)
    twin.__qualname__ = cls.__qualname__
    return dataclasses.dataclass(frozen=True, init=init, eq=is_records(cls.__eq__))(twin)


def built(cls: type, values: dict[str, Any]) -> Any:
    """An instance with these field values, whatever its ``__init__`` checks."""
    obj = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(obj, name, value)
    return obj


def test_there_are_records_to_check() -> None:
    assert len(ALL) > 50
    assert any(cls.__name__ == "StoreTask" for cls in ALL)


@pytest.mark.parametrize("cls", ALL, ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_a_record_behaves_as_its_frozen_dataclass(cls: type) -> None:
    twin = reference(cls)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    assert [(f.name, f.init, f.repr, f.compare, f.hash) for f in fields] == [
        (f.name, f.init, f.repr, f.compare, f.hash)
        for f in dataclasses.fields(twin)  # type: ignore[arg-type]
    ]
    assert cls.__match_args__ == twin.__match_args__  # type: ignore[attr-defined]
    assert cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(")

    def signature(of: type) -> list[tuple[str, str, Any]]:
        return [
            (p.name, repr(p.default), p.kind) for p in inspect.signature(of).parameters.values()
        ]

    assert signature(cls) == signature(twin)

    one = {f.name: f"{f.name}-1" for f in fields}
    other = dict(one)
    compared = [f.name for f in fields if f.compare]
    if compared:
        other[compared[0]] = "changed"
    a, ta = built(cls, one), built(twin, one)
    b, tb = built(cls, dict(one)), built(twin, dict(one))
    c, tc = built(cls, other), built(twin, other)
    assert repr(a) == repr(ta)
    assert (a == b, a == c, a != c, a == object()) == (ta == tb, ta == tc, ta != tc, ta == object())
    if is_records(cls.__eq__):
        assert hash(a) == hash(ta) and hash(a) == hash(b)
    else:
        assert cls.__hash__ is object.__hash__ and a != b
    for name in (fields[0].name, "not_a_field"):
        with pytest.raises(dataclasses.FrozenInstanceError) as ours:
            setattr(a, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError) as theirs:
            setattr(ta, name, 1)
        assert str(ours.value) == str(theirs.value)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(a, name)
    assert dataclasses.asdict(a) == dataclasses.asdict(ta)
    if "__setattr" in getattr(cls.__init__, "__globals__", {}):
        args = [
            f"{f.name}-1"
            for f in fields
            if f.init
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ]
        made, twin_made = cls(*args), twin(*args)
        assert vars(made) == vars(twin_made)
        assert vars(dataclasses.replace(made)) == vars(dataclasses.replace(twin_made))
        assert vars(pickle.loads(pickle.dumps(made))) == vars(made)


def test_what_a_record_refuses() -> None:
    @dataclasses.dataclass(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError):

        @record
        class Child(Base):
            b: int

    with pytest.raises(TypeError):

        @record
        class Mutable:
            a: int

            def __setattr__(self, name: str, value: Any) -> None:
                pass


def test_a_default_factory_makes_a_new_value_each_time() -> None:
    @record
    class Bag:
        """A bag."""

        items: list[int] = dataclasses.field(default_factory=list)
        size: int = dataclasses.field(init=False, default=3)

    one, two = Bag(), Bag()
    assert one.items == [] and one.items is not two.items and one.size == 3
    assert Bag([1]).items == [1]
    assert repr(Bag()).endswith(".Bag(items=[], size=3)")
