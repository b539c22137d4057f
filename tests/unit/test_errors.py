"""The exception tree and the "did you mean" helper."""

from __future__ import annotations

import pytest

from engine import errors
from engine.errors import did_you_mean


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (errors.UserInputError, errors.KestrelError),
        (errors.ConfigError, errors.UserInputError),
        (errors.DataError, errors.UserInputError),
        (errors.PluginError, errors.UserInputError),
        (errors.IndicatorError, errors.UserInputError),
        (errors.IndicatorError, ValueError),
        (errors.RunLookupError, errors.UserInputError),
        (errors.OutputPathError, errors.UserInputError),
        (errors.QueryError, errors.UserInputError),
        (errors.UsageError, errors.UserInputError),
        (errors.StrategyError, errors.KestrelError),
        (errors.ExchangeError, errors.KestrelError),
        (errors.ExchangeTransientError, errors.ExchangeError),
        (errors.ExchangeStateUnknownError, errors.ExchangeError),
        (errors.ExchangeInputError, errors.ExchangeError),
        (errors.ExchangeInputError, errors.UserInputError),
        (errors.ExchangeFatalError, errors.ExchangeError),
        (errors.PersistenceError, errors.KestrelError),
        (errors.StoreOpenError, errors.PersistenceError),
        (errors.StoreOpenError, errors.UserInputError),
        (errors.InternalError, errors.KestrelError),
        (errors.InvalidStateTransition, errors.InternalError),
        (errors.KestrelError, Exception),
    ],
)
def test_tree(child: type[BaseException], parent: type[BaseException]) -> None:
    assert issubclass(child, parent)


def test_the_venue_policies_are_disjoint() -> None:
    policies = [
        errors.ExchangeTransientError,  # retry
        errors.ExchangeStateUnknownError,  # reconcile
        errors.ExchangeInputError,  # refuse
        errors.ExchangeFatalError,  # stop
    ]
    for one in policies:
        for other in policies:
            assert one is other or not issubclass(one, other), (one, other)


def test_the_broker_branches_are_gone() -> None:
    for name in ("BrokerError", "TransientBrokerError", "PermanentBrokerError"):
        assert not hasattr(errors, name)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.ConfigError("x"), 2),
        (errors.DataError("x"), 2),
        (errors.PluginError("x"), 2),
        (errors.IndicatorError("x"), 2),
        (errors.ExchangeInputError("x"), 2),  # input first: the user's fix is what matters
        (errors.StrategyError("x"), 3),
        (errors.ExchangeTransientError("x"), 4),
        (errors.ExchangeStateUnknownError("x"), 5),
        (errors.ExchangeFatalError("x"), 5),
        (errors.ExchangeError("x"), 5),
        (errors.PersistenceError("x"), 6),
        (errors.StoreOpenError("x"), 2),  # a --db URL, a driver, a server: input to fix
        (errors.InvalidStateTransition("x"), 70),
        (errors.RunLookupError("x"), 2),
        (errors.OutputPathError("x"), 2),
        (errors.QueryError("x"), 2),
        (errors.UsageError("x"), 2),
        (errors.KestrelError("x"), 70),  # the bare base: no group, so nobody's policy
        (RuntimeError("x"), 70),
        (errors.Interrupted("x"), 130),
        (KeyboardInterrupt(), 130),
    ],
)
def test_each_group_has_its_exit_code(error: BaseException, code: int) -> None:
    assert errors.exit_code(error) == code


def test_every_error_class_belongs_to_exactly_one_first_level_group() -> None:
    groups = [group for group, _ in errors.EXIT_CODES]
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.KestrelError)
    ]
    for cls in classes:
        if cls is errors.KestrelError:
            continue
        assert any(issubclass(cls, group) for group in groups), cls


def test_interrupted_is_outside_the_tree() -> None:
    assert not issubclass(errors.Interrupted, errors.KestrelError)  # not a fault


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
