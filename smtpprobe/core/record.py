"""Frozen, slotted records: dataclasses without the start-up cost of generated methods.

On Python 3.11, ``@dataclass(frozen=True, slots=True)`` compiles ``__init__``, ``__repr__``,
``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` for every class, one ``exec``
each, and builds the class twice for its slots: about 0.5 ms a class, 20-25 ms of a
``smtpprobe check`` process for the ~45 classes it loads (a fifth of its wall time).

``record`` asks ``dataclasses`` for the fields alone (no generated method: ~0.03 ms) and gives
the class methods written once below, reading the field names the decorator computed.
``__init__`` starts as one written below too, which binds its arguments in a loop; a class
built often (the rule base's records, unpickled by the hundred) compiles its own
``__init__`` after a few calls, so that a call costs what a dataclass's does. Compiling
every class's at import was 3.5 ms of a ``check`` process (80 µs a class), for classes most
of which a run builds a few times or never. An unusual call (a missing or unexpected
argument) goes to the compiled one at once, so that its error is Python's own.
What comes out is a dataclass to ``dataclasses.fields``, ``replace`` and ``asdict``, and to
mypy through PEP 681's ``dataclass_transform``; it compares, hashes, prints, refuses
assignment and pickles as ``@dataclass(frozen=True, slots=True)`` does.

Supported field options: ``default``, ``default_factory``, ``repr`` and ``compare``; a
``__post_init__`` is called. Anything else (``kw_only``, ``init=False``, ``hash``,
inheritance from a class with fields) raises TypeError when the class is made, rather than
behave differently.
"""

from __future__ import annotations

import dataclasses
from operator import attrgetter
from typing import Any, TypeVar, dataclass_transform

__all__ = ["record"]

_C = TypeVar("_C", bound=type)


class _Factory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_FACTORY = _Factory()


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def record(cls: _C) -> _C:
    """Make ``cls`` a frozen, slotted dataclass (see the module's docstring)."""
    for base in cls.__mro__[1:-1]:
        if getattr(base, "__dataclass_fields__", None):
            raise TypeError(f"{cls.__qualname__}: a record cannot inherit fields")
    own = dict(cls.__dict__)  # before dataclasses adds to it
    if "__setattr__" in own or "__delattr__" in own:
        raise TypeError(f"{cls.__qualname__}: a record cannot define __setattr__ or __delattr__")
    doc = own.get("__doc__")
    if doc is None:
        cls.__doc__ = cls.__name__  # else dataclasses would make one from inspect.signature
    plain: type = dataclasses.dataclass(cls, init=False, repr=False, eq=False)
    fields = dataclasses.fields(plain)
    for f in fields:
        if f.kw_only is True or not f.init or f.hash is not None:
            raise TypeError(
                f"{cls.__qualname__}.{f.name}: only default, default_factory, "
                "repr and compare are supported in a record's field"
            )
    names = tuple(f.name for f in fields)

    body = dict(plain.__dict__)
    for name in names:
        body.pop(name, None)  # a default lives in its Field; a slot cannot have one
    body.pop("__dict__", None)
    body.pop("__weakref__", None)
    body["__doc__"] = doc
    body["__slots__"] = names
    body["__match_args__"] = names
    post_init = "__post_init__" in own
    made_cell: list[type] = []  # the class, once made (the first __init__ replaces itself)
    body["__init__"] = _adaptive_init(cls.__qualname__, fields, post_init, made_cell)
    body["__signature__"] = _SignatureOf()
    compared = tuple(f.name for f in fields if f.compare)
    key = attrgetter(*compared) if compared else _nothing
    # As dataclasses do: a method the class defines is kept (a class body with __eq__ but
    # no __hash__ holds __hash__ = None, which is not a definition of its own).
    if "__repr__" not in own:
        body["__repr__"] = _repr_of(tuple(f.name for f in fields if f.repr))
    if "__eq__" not in own:
        body["__eq__"] = _eq_of(key)
    if own.get("__hash__") is None:
        body["__hash__"] = _hash_of(key)
    body["__setattr__"] = _refuse_setattr
    body["__delattr__"] = _refuse_delattr
    body["__reduce__"] = _reduce_of(_values_of(names))
    made = type(cls)(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    made_cell.append(made)
    return made


def _nothing(_: object) -> tuple[()]:
    return ()


def _values_of(names: tuple[str, ...]) -> Any:
    """A function giving an object's values of ``names`` as a tuple (attrgetter gives one
    only for two names or more)."""
    if len(names) > 1:
        return attrgetter(*names)
    if names:
        get = attrgetter(names[0])
        return lambda self: (get(self),)
    return _nothing


_COMPILE_AFTER = 16  # calls of the looping __init__ before a class compiles its own
_REQUIRED = object()  # a field without a default


def _adaptive_init(
    qualname: str, fields: tuple[dataclasses.Field[Any], ...], post_init: bool, made: list[type]
) -> Any:
    """An ``__init__`` that binds its arguments in a loop, as the compiled one would, and
    puts the compiled one in its place after ``_COMPILE_AFTER`` calls or at an unusual call."""
    names = tuple(f.name for f in fields)
    count = len(names)
    defaults = tuple(
        _HAS_FACTORY
        if f.default_factory is not dataclasses.MISSING
        else _REQUIRED
        if f.default is dataclasses.MISSING
        else f.default
        for f in fields
    )
    factories = {
        f.name: f.default_factory for f in fields if f.default_factory is not dataclasses.MISSING
    }
    calls = [0]
    done: list[Any] = []  # the compiled __init__, once made
    setter = object.__setattr__

    def compiled() -> Any:
        if done:
            return done[0]
        init = _init(qualname, fields, post_init=post_init)
        done.append(init)
        cls = made[0]
        if cls.__dict__.get("__init__") is __init__:
            type.__setattr__(cls, "__init__", init)  # later calls go straight to it
        return init

    def __init__(self: object, *args: object, **kwargs: object) -> None:
        calls[0] += 1
        if calls[0] > _COMPILE_AFTER or len(args) > count:
            compiled()(self, *args, **kwargs)
            return
        values = list(args)
        used = 0
        for i in range(len(args), count):
            name = names[i]
            if name in kwargs:
                values.append(kwargs[name])
                used += 1
            elif defaults[i] is _REQUIRED:
                compiled()(self, *args, **kwargs)  # Python's own TypeError
                return
            else:
                values.append(defaults[i])
        if used != len(kwargs):  # an unknown name, or a value given twice
            compiled()(self, *args, **kwargs)
            return
        for name, value in zip(names, values, strict=True):
            if value is _HAS_FACTORY and name in factories:
                value = factories[name]()
            setter(self, name, value)
        if post_init:
            self.__post_init__()  # type: ignore[attr-defined]

    __init__.__qualname__ = f"{qualname}.__init__"
    __init__.compiled = compiled  # type: ignore[attr-defined]  # for _SignatureOf
    return __init__


class _SignatureOf:
    """``inspect.signature`` of a record class: the compiled ``__init__``'s, without self
    (the looping one takes ``*args, **kwargs``)."""

    def __get__(self, instance: object, owner: type) -> Any:
        import inspect

        init: Any = vars(owner).get("__init__") or getattr(owner, "__init__")  # noqa: B009
        compile_now = getattr(init, "compiled", None)
        if compile_now is not None:
            init = compile_now()
        parameters = list(inspect.signature(init).parameters.values())[1:]
        return inspect.Signature(parameters)


def _init(qualname: str, fields: tuple[dataclasses.Field[Any], ...], *, post_init: bool) -> Any:
    """``__init__`` compiled from source, as dataclasses make it (the one generated method)."""
    scope: dict[str, Any] = {"_set": object.__setattr__, "_HAS_FACTORY": _HAS_FACTORY}
    params, lines = ["self"], []
    for i, f in enumerate(fields):
        if f.default_factory is not dataclasses.MISSING:
            scope[f"_factory{i}"] = f.default_factory
            params.append(f"{f.name}=_HAS_FACTORY")
            value = f"_factory{i}() if {f.name} is _HAS_FACTORY else {f.name}"
        elif f.default is not dataclasses.MISSING:
            scope[f"_default{i}"] = f.default
            params.append(f"{f.name}=_default{i}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        lines.append(f"  _set(self, {f.name!r}, {value})")
    if post_init:
        lines.append("  self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n" + ("\n".join(lines) or "  pass") + "\n"
    exec(compile(source, f"<record {qualname}>", "exec"), scope)
    init = scope["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    return init


def _repr_of(names: tuple[str, ...]) -> Any:
    def __repr__(self: object) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({shown})"

    return __repr__


def _eq_of(key: Any) -> Any:
    def __eq__(self: object, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return bool(key(self) == key(other))

    return __eq__


def _hash_of(key: Any) -> Any:
    def __hash__(self: object) -> int:
        return hash(key(self))

    return __hash__


def _refuse_setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


def _reduce_of(values: Any) -> Any:
    # Pickled (and copied) as a call of the class with its values: one call of the
    # compiled __init__ to load, not a loop in Python (the rule cache is ~2,400 records).
    def __reduce__(self: object) -> tuple[type, tuple[object, ...]]:
        return (type(self), values(self))

    return __reduce__
