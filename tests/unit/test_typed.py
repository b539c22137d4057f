"""engine.typed.build: strict mapping → dataclass conversion with dotted-path errors."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from engine.errors import ConfigError
from engine.typed import build, to_plain


@dataclass(frozen=True)
class Leg:
    size: int = 1
    weight: float = 0.5
    mode: Literal["fast", "slow"] = "fast"

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"size must be >= 0, got {self.size}")


@dataclass(frozen=True)
class Plan:
    name: str
    leg: Leg = field(default_factory=Leg)
    legs: list[Leg] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    cap: float | None = None
    enabled: bool = False
    anything: Any = None
    tags: list[str] = field(default_factory=list)


def test_build_with_defaults_and_nested_values() -> None:
    plan = build(
        Plan,
        {
            "name": "p",
            "leg": {"size": 3},
            "legs": [{"mode": "slow"}, {"weight": 2}],
            "limits": {"a": 1, "b": 2.0},
            "cap": 7,
            "enabled": True,
            "anything": [1, "x"],
        },
    )
    assert plan == Plan(
        name="p",
        leg=Leg(size=3),
        legs=[Leg(mode="slow"), Leg(weight=2.0)],
        limits={"a": 1, "b": 2},
        cap=7.0,
        enabled=True,
        anything=[1, "x"],
    )
    assert isinstance(plan.legs[1].weight, float)
    assert isinstance(plan.limits["b"], int)
    assert isinstance(plan.cap, float)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nam": "p"}, "unknown key 'nam' (did you mean 'name'?)"),
        ({"name": "p", "leg": {"sise": 1}}, "unknown key 'leg.sise' (did you mean 'size'?)"),
        (
            {"name": "p", "legs": [{}, {"wieght": 1.0}]},
            "unknown key 'legs.1.wieght' (did you mean 'weight'?)",
        ),
        ({"name": "p", "zzzzzz": 1}, "unknown key 'zzzzzz' (valid: 'anything', 'cap',"),
        ({}, "missing required key 'name'"),
    ],
)
def test_unknown_and_missing_keys(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(Plan, data)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"leg": {"size": "3"}}, "leg.size: expected a whole number, got str '3'"),
        ({"leg": {"size": True}}, "leg.size: expected a whole number, got bool True"),
        ({"leg": {"size": 2.5}}, "leg.size: expected a whole number, got 2.5"),
        ({"leg": {"size": math.inf}}, "leg.size: expected a whole number, got inf"),
        ({"leg": {"weight": "x"}}, "leg.weight: expected a number, got str 'x'"),
        ({"leg": {"weight": False}}, "leg.weight: expected a number, got bool False"),
        ({"leg": {"weight": math.nan}}, "leg.weight: expected a finite number, got nan"),
        ({"leg": {"mode": "fats"}}, "leg.mode: 'fats' is not one of 'fast', 'slow'"),
        ({"leg": {"mode": "fats"}}, "(did you mean 'fast'?)"),
        ({"leg": 3}, "leg: expected a table, got int 3"),
        ({"legs": {"a": 1}}, "legs: expected a list, got dict"),
        ({"legs": [{"size": "a"}]}, "legs.0.size: expected a whole number"),
        ({"limits": [1]}, "limits: expected a table, got list"),
        ({"limits": {"k": "v"}}, "limits.k: expected a whole number, got str 'v'"),
        ({"cap": "high"}, "cap: expected a number, got str 'high'"),
        ({"enabled": 1}, "enabled: expected true or false, got int 1"),
        ({"name": 5}, "name: expected a string, got int 5"),
        ({"tags": ["a", 2]}, "tags.1: expected a string, got int 2"),
        ({"leg": {"size": -1}}, "leg: size must be >= 0, got -1"),
    ],
)
def test_wrong_types_and_values_name_the_dotted_path(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build(Plan, {"name": "p", **data})
    assert message in str(info.value)


def test_where_prefixes_every_path() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'strategy\.params\.nme'"):
        build(Plan, {"nme": 1}, "strategy.params")
    with pytest.raises(ConfigError, match=r"^strategy\.params: expected a table, got list"):
        build(Plan, [1], "strategy.params")  # type: ignore[arg-type]


def test_whole_float_is_accepted_as_int_and_int_as_float() -> None:
    plan = build(Plan, {"name": "p", "leg": {"size": 4.0, "weight": 3}})
    assert plan.leg == Leg(size=4, weight=3.0)
    assert type(plan.leg.size) is int
    assert type(plan.leg.weight) is float


def test_optional_accepts_none() -> None:
    assert build(Plan, {"name": "p", "cap": None}).cap is None


def test_to_plain_drops_none_and_unfolds_dataclasses() -> None:
    plan = Plan(name="p", legs=[Leg(size=2)], limits={"a": 1}, cap=None)
    assert to_plain(plan) == {
        "name": "p",
        "leg": {"size": 1, "weight": 0.5, "mode": "fast"},
        "legs": [{"size": 2, "weight": 0.5, "mode": "fast"}],
        "limits": {"a": 1},
        "enabled": False,
        "tags": [],
    }
    assert build(Plan, to_plain(plan)) == plan


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime.date(2021, 1, 2), "2021-01-02"),
        (datetime.datetime(2021, 1, 2, 3, 4, 5), "2021-01-02T03:04:05"),
        (datetime.time(12, 30), "12:30:00"),
    ],
)
def test_unquoted_toml_dates_are_accepted_as_iso_strings(value: object, expected: str) -> None:
    assert build(Plan, {"name": value}).name == expected
