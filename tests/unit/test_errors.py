"""The exception tree and the "did you mean" helper."""

from __future__ import annotations

import pytest

from engine import errors
from engine.errors import did_you_mean


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.ConfigError, errors.KestrelError),
        (errors.DataError, errors.KestrelError),
        (errors.PluginError, errors.KestrelError),
        (errors.StrategyError, errors.KestrelError),
        (errors.IndicatorError, errors.KestrelError),
        (errors.IndicatorError, ValueError),
        (errors.PersistenceError, errors.KestrelError),
        (errors.InvalidStateTransition, errors.KestrelError),
        (errors.BrokerError, errors.KestrelError),
        (errors.TransientBrokerError, errors.BrokerError),
        (errors.PermanentBrokerError, errors.BrokerError),
        (errors.KestrelError, Exception),
    ],
)
def test_tree(child: type[BaseException], parent: type[BaseException]) -> None:
    assert issubclass(child, parent)


def test_transient_and_permanent_are_disjoint() -> None:
    assert not issubclass(errors.TransientBrokerError, errors.PermanentBrokerError)
    assert not issubclass(errors.PermanentBrokerError, errors.TransientBrokerError)


def test_every_exported_name_exists() -> None:
    for name in errors.__all__:
        assert hasattr(errors, name), name


@pytest.mark.parametrize(
    ("word", "choices", "expected"),
    [
        ("fats", ["fast", "slow"], " (did you mean 'fast'?)"),
        ("SLOW", ["fast", "slow"], " (valid: 'fast', 'slow')"),  # case matters
        ("xyz", ["b", "a", "a"], " (valid: 'a', 'b')"),  # sorted, deduplicated
        ("x", [], ""),
        ("timeperiod", iter(["timeperiod", "x"]), " (did you mean 'timeperiod'?)"),
    ],
)
def test_did_you_mean(word: str, choices: list[str], expected: str) -> None:
    assert did_you_mean(word, choices) == expected


def test_did_you_mean_lists_at_most_twelve_choices() -> None:
    choices = [f"q{i:02d}" for i in range(20)]
    text = did_you_mean("zzzzzzzz", choices)
    assert text.startswith(" (valid: 'q00', 'q01',")
    assert "'q11', …)" in text
    assert "q12" not in text
