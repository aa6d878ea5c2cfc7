"""``smtpprobe.core.record``: a record behaves as ``@dataclass(frozen=True, slots=True)``."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from dataclasses import field
from typing import Any

import pytest

from smtpprobe.core.record import record


@record
class Point:
    """A record with every supported field option."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    secret: str | None = field(default=None, repr=False)
    note: str = field(default="", compare=False)


@dataclasses.dataclass(frozen=True, slots=True)
class PointDataclass:
    """The same fields as a standard dataclass, to compare with."""

    x: int
    y: int = 0
    tags: tuple[str, ...] = field(default_factory=tuple)
    secret: str | None = field(default=None, repr=False)
    note: str = field(default="", compare=False)


@record
class One:
    """A record of one field (pickled by a getter that returns no tuple)."""

    value: int


def test_construction_defaults_and_repr_are_a_dataclass_s() -> None:
    p, d = Point(1, tags=("a",), secret="pw", note="n"), PointDataclass(1, tags=("a",), secret="pw")
    assert (p.x, p.y, p.tags, p.secret, p.note) == (1, 0, ("a",), "pw", "n")
    assert repr(p).replace("Point", "PointDataclass") == repr(d).replace(", note=''", ", note='n'")
    assert "pw" not in repr(p)
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]


def test_a_factory_is_called_for_each_object() -> None:
    @record
    class Box:
        items: list[int] = field(default_factory=list)

    a, b = Box(), Box()
    assert a.items == [] and a.items is not b.items
    assert "<factory>" in str(inspect.signature(Box))


def test_equality_and_hash_leave_out_uncompared_fields() -> None:
    assert Point(1, note="a") == Point(1, note="b")
    assert hash(Point(1, note="a")) == hash(Point(1, note="b"))
    assert Point(1) != Point(2)
    assert Point(1) != PointDataclass(1)  # another class is never equal, as with dataclasses
    assert {Point(1): "one"}[Point(1, note="x")] == "one"


def test_assignment_and_deletion_are_refused() -> None:
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del p.x  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.other = 1  # type: ignore[attr-defined]
    assert not hasattr(p, "__dict__")
    assert Point.__slots__ == ("x", "y", "tags", "secret", "note")


def test_dataclasses_functions_work_on_it() -> None:
    p = Point(1, tags=("a",), note="n")
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["x", "y", "tags", "secret", "note"]
    assert dataclasses.replace(p, y=5) == Point(1, 5, ("a",))
    assert dataclasses.replace(p, y=5).note == "n"
    assert dataclasses.asdict(p) == {"x": 1, "y": 0, "tags": ("a",), "secret": None, "note": "n"}


def test_pickle_and_copy_keep_every_field() -> None:
    p = Point(1, 2, ("a",), "pw", "n")
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(p, protocol))
        assert (back.x, back.y, back.tags, back.secret, back.note) == (1, 2, ("a",), "pw", "n")
    assert copy.copy(p) == p and copy.deepcopy(p).note == "n"
    assert pickle.loads(pickle.dumps(One(3))) == One(3)


def test_pattern_matching_uses_the_field_order() -> None:
    match Point(1, 2):
        case Point(x, y):
            assert (x, y) == (1, 2)
        case _:
            pytest.fail("no match")


def test_methods_the_class_defines_are_kept_and_post_init_runs() -> None:
    seen: list[int] = []

    @record
    class Secret:
        value: str

        def __repr__(self) -> str:
            return "Secret(***)"

        def __post_init__(self) -> None:
            seen.append(len(self.value))

    assert repr(Secret("pw")) == "Secret(***)"
    assert seen == [2]
    assert Secret("pw") == Secret("pw")  # __eq__ still given


def test_docstring_and_names_are_the_class_s() -> None:
    assert Point.__doc__ == "A record with every supported field option."
    assert Point.__qualname__ == "Point" and Point.__init__.__qualname__ == "Point.__init__"

    @record
    class Bare:
        value: int

    assert Bare.__doc__ is None


def test_what_a_record_cannot_do_is_refused_when_the_class_is_made() -> None:
    with pytest.raises(TypeError, match="only default"):

        @record
        class NotInit:
            value: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="only default"):

        @record
        class KeywordOnly:
            value: int = field(default=0, kw_only=True)

    with pytest.raises(TypeError, match="only default"):

        @record
        class Hashed:
            value: int = field(default=0, hash=False)

    with pytest.raises(TypeError, match="inherit"):

        @record
        class Child(Point):
            z: int = 0

    with pytest.raises(TypeError, match="__setattr__"):

        @record
        class Settable:
            value: int

            def __setattr__(self, name: str, value: object) -> None:
                pass


def test_a_class_compiles_its_own_init_after_a_few_calls_and_behaves_the_same() -> None:
    @record
    class Pair:
        a: int
        b: list[int] = field(default_factory=list)

    looping = Pair.__dict__["__init__"]
    made = [Pair(i, b=[i]) if i % 2 else Pair(i) for i in range(40)]
    compiled = Pair.__dict__["__init__"]
    assert compiled is not looping  # the class now has its own, compiled
    assert compiled.__qualname__.endswith("<locals>.Pair.__init__")
    assert [(p.a, p.b) for p in made] == [(i, [i] if i % 2 else []) for i in range(40)]
    assert made[0].b is not made[2].b and made[2].b is not made[38].b  # a list per object
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'a'"):
        Pair()  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "call",
    [
        lambda cls: cls(),
        lambda cls: cls(1, 2, 3),
        lambda cls: cls(1, x=2),
        lambda cls: cls(1, z=2),
        lambda cls: cls(y=2),
    ],
    ids=["missing", "too-many", "twice", "unknown", "missing-with-keyword"],
)
def test_an_unusual_first_call_fails_as_a_dataclass_s(call: Any) -> None:
    @record
    class Fresh:
        x: int
        y: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class FreshDataclass:
        x: int
        y: int = 0

    with pytest.raises(TypeError) as expected:
        call(FreshDataclass)
    with pytest.raises(TypeError) as caught:
        call(Fresh)  # the first call, with the looping __init__
    assert (
        str(caught.value).split(".__init__() ")[1] == str(expected.value).split(".__init__() ")[1]
    )


def test_the_signature_is_the_fields_before_any_object_is_made() -> None:
    @record
    class Late:
        x: int
        y: int = 3

    assert str(inspect.signature(Late)) == "(x, y=3)"
    assert Late(1) == Late(1, 3)
