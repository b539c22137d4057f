"""Search space: --param parsing, grid order, seeded random draws, safe constraints."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.optimize.space import grid_points, parse_constraint, parse_param, random_points

NAMES = ["fast", "slow", "target_percent", "allow_short"]


def test_ranges_are_inclusive_and_typed() -> None:
    fast = parse_param("fast=5:20:5", NAMES)
    assert fast.values == (5, 10, 15, 20)
    assert all(type(v) is int for v in fast.values)
    assert (fast.low, fast.high, fast.step, fast.is_int) == (5.0, 20.0, 5.0, True)
    share = parse_param("target_percent=0.1:0.5:0.1", NAMES)
    assert share.values == (0.1, 0.2, 0.3, 0.4, 0.5)  # exact decimals, no 0.30000000000000004
    assert parse_param("slow=20:31:10", NAMES).values == (20, 30)  # stop not on the grid
    assert parse_param("allow_short=true,false", NAMES).values == (True, False)
    assert parse_param("slow=30,10,20", NAMES).values == (30, 10, 20)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("fsat=5:50:5", "no parameter 'fsat' (did you mean 'fast'?)"),
        ("fast=50:5:5", "start 50 is above stop 5"),
        ("fast=5:50:0", "step must be > 0"),
        ("fast=5:50:-1", "step must be > 0"),
        ("fast=a:b:c", "must be numbers"),
        ("fast=5:50", "three numbers"),
        ("fast", "write name=start:stop:step"),
        ("fast=1:1e9:1", "use a larger step"),
        # a repeated value ran the same trial again and counted it as another variant in
        # the deflated Sharpe ratio (found by an audit)
        ("fast=5,5,5,10", "repeats 5: give each value once"),
        ("target_percent=0.5,0.50", "repeats 0.5: give each value once"),
    ],
)
def test_bad_params_say_what_to_fix(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_param(text, NAMES)
    assert fragment in str(caught.value)


def test_grid_is_the_product_in_given_order() -> None:
    specs = [parse_param("fast=1:2:1", NAMES), parse_param("slow=10,20,30", NAMES)]
    assert grid_points(specs) == [
        {"fast": 1, "slow": 10}, {"fast": 1, "slow": 20}, {"fast": 1, "slow": 30},
        {"fast": 2, "slow": 10}, {"fast": 2, "slow": 20}, {"fast": 2, "slow": 30},
    ]  # fmt: skip


def test_random_draws_are_seeded_distinct_and_filtered() -> None:
    specs = [parse_param("fast=1:10:1", NAMES), parse_param("slow=1:10:1", NAMES)]
    rule = parse_constraint("fast < slow", NAMES)
    first = random_points(specs, 20, seed=3, keep=rule)
    assert first == random_points(specs, 20, seed=3, keep=rule)
    assert first != random_points(specs, 20, seed=4, keep=rule)
    assert len({tuple(p.values()) for p in first}) == 20
    assert all(p["fast"] < p["slow"] for p in first)
    assert random_points(specs, 30, seed=3, keep=rule)[:20] == first  # a larger budget extends
    assert len(random_points(specs, 1000, seed=3, keep=rule)) == 45  # the whole filtered grid


def test_constraints_evaluate_arithmetic_and_logic() -> None:
    rule = parse_constraint("slow >= 2 * fast and not (fast % 2 == 1) or slow - fast > 100", NAMES)
    assert rule({"fast": 10, "slow": 20})
    assert not rule({"fast": 10, "slow": 19})
    assert not rule({"fast": 11, "slow": 30})
    assert rule({"fast": 11, "slow": 200})
    assert parse_constraint("5 < fast < slow", NAMES)({"fast": 6, "slow": 7})
    assert not parse_constraint("5 < fast < slow", NAMES)({"fast": 6, "slow": 6})
    assert not parse_constraint("slow / (fast - fast) > 1", NAMES)({"fast": 1, "slow": 2})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('true')", "Call is not allowed"),
        ("fast.__class__", "Attribute is not allowed"),
        ("[fast][0] < slow", "is not allowed"),
        ("fast < slwo", "'slwo' is not a parameter (did you mean 'slow'?)"),
        ("fast < 'x'", "only numbers"),
        ("lambda: 1", "Lambda is not allowed"),
        ("fast <", "not an expression"),
    ],
)
def test_constraints_refuse_anything_but_arithmetic(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_constraint(text, NAMES)
    assert fragment in str(caught.value)


def test_huge_powers_are_refused_not_computed() -> None:
    assert not parse_constraint("fast ** 1000000000 > slow", NAMES)({"fast": 9, "slow": 1})
