"""Run configs: TOML in, typed config out; unknown keys, types, ranges, --set overrides."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from engine.config import (
    AccountConfig,
    ExecutionConfig,
    RunConfig,
    apply_overrides,
    dump_config,
    load_config,
    parse_config,
)
from engine.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def minimal() -> dict[str, Any]:
    return {
        "data": [{"path": "a.csv", "symbol": "A"}],
        "strategy": {"path": "strategies.sma_cross:SmaCross"},
    }


def full() -> dict[str, Any]:
    return {
        "run": {"name": "n", "seed": 7},
        "account": {
            "initial_cash": 5000.0,
            "currency": "USDT",
            "leverage": 2.0,
            "allow_short": False,
        },
        "data": [
            {"path": "a.csv", "symbol": "A", "timeframe": "1h", "resample": "4h"},
            {"path": "b.csv", "symbol": "B", "start": "2021-01-01", "end": "2021-02-01"},
        ],
        "instruments": [{"symbol": "B", "tick_size": 0.5, "lot_size": 0.001}],
        "strategy": {"path": "x:Y", "params": {"fast": 3, "w": [1, 2]}, "id": "S9"},
        "execution": {
            "fee_rate": 0.002,
            "slippage_bps": 5.0,
            "market_fill": "same_close",
            "limit_fill": "touch",
            "cash_shortfall": "cancel",
        },
    }


def test_defaults_of_a_minimal_config() -> None:
    config = parse_config(minimal())
    assert config.run.name == "backtest"
    assert config.run.seed == 0
    assert config.account == AccountConfig(10_000.0, "USD", 1.0, True)
    assert config.execution == ExecutionConfig(0.001, 0.0, "next_open", "through", "reduce")
    assert config.instruments == []
    assert config.strategy.id == "S1"
    assert config.strategy.params == {}
    assert config.symbols == ["A"]


def test_full_config_is_read_as_written() -> None:
    config = parse_config(full(), base_dir="cfg")
    assert config.symbols == ["A", "B"]
    assert config.account.leverage == 2.0
    assert config.data[1].start == "2021-01-01"
    assert config.instruments[0].tick_size == 0.5
    assert config.instruments[0].quote_currency is None
    assert config.strategy.params == {"fast": 3, "w": [1, 2]}
    assert config.execution.cash_shortfall == "cancel"
    assert config.base_dir == "cfg"


def edit(path: str, value: Any) -> dict[str, Any]:
    """Return `full()` with the value at dotted ``path`` set (list indices allowed)."""
    document = full()
    *parents, last = path.split(".")
    node: Any = document
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("runn", {}, "unknown key 'runn' (did you mean 'run'?)"),
        ("run.nam", "x", "unknown key 'run.nam' (did you mean 'name'?)"),
        ("account.inital_cash", 1.0, "unknown key 'account.inital_cash' (did you mean"),
        ("data.1.symbl", "B", "unknown key 'data.1.symbl' (did you mean 'symbol'?)"),
        ("instruments.0.tick", 0.1, "unknown key 'instruments.0.tick' (did you mean"),
        ("strategy.param", {}, "unknown key 'strategy.param' (did you mean 'params'?)"),
        ("execution.fee_rat", 0.1, "unknown key 'execution.fee_rat' (did you mean 'fee_rate'?)"),
        ("base_dir", ".", "unknown key 'base_dir'"),
    ],
)
def test_unknown_keys_at_any_depth(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edit(path, value))
    assert message in str(info.value)


def test_base_dir_is_not_offered_as_a_valid_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edit("base_dirr", "."))
    assert "base_dir'?" not in str(info.value)
    assert "'base_dir'," not in str(info.value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("run.seed", "1", "run.seed: expected a whole number, got str '1'"),
        ("account.initial_cash", "10k", "account.initial_cash: expected a number"),
        ("account.allow_short", "no", "account.allow_short: expected true or false"),
        ("data", {"path": "a"}, "data: expected a list, got dict"),
        ("data.0.path", 3, "data.0.path: expected a string, got int 3"),
        ("strategy.params", [1], "strategy.params: expected a table, got list"),
        ("execution.market_fill", "next-open", "(did you mean 'next_open'?)"),
        ("execution.limit_fill", "cross", "is not one of 'through', 'touch'"),
        ("execution.cash_shortfall", "skip", "is not one of 'reduce', 'cancel'"),
        ("instruments.0.lot_size", "0.1", "instruments.0.lot_size: expected a number"),
    ],
)
def test_type_errors(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edit(path, value))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("account.initial_cash", 0.0, "initial_cash must be in (0, 1e+15], got 0.0"),
        ("account.initial_cash", -5, "initial_cash must be in (0, 1e+15], got -5.0"),
        ("account.initial_cash", 1e308, "initial_cash must be in (0, 1e+15], got 1e+308"),
        ("account.initial_cash", math.inf, "initial_cash: expected a finite number, got inf"),
        ("account.initial_cash", math.nan, "initial_cash: expected a finite number, got nan"),
        ("account.leverage", 0.5, "leverage must be in [1, 1000], got 0.5"),
        ("account.leverage", math.inf, "leverage: expected a finite number, got inf"),
        ("instruments.0.tick_size", 1e308, "B: tick_size must be in [1e-12, 1e+06], got 1e+308"),
        ("instruments.0.tick_size", 0.0, "B: tick_size must be in [1e-12, 1e+06], got 0.0"),
        ("instruments.0.lot_size", math.nan, "lot_size: expected a finite number, got nan"),
        ("instruments.0.min_quantity", -1.0, "B: min_quantity must be in [0, 1e+15], got -1.0"),
        ("instruments.0.min_notional", 1e300, "B: min_notional must be in [0, 1e+15], got 1e+300"),
        ("execution.latency_ns", 10**18, "latency_ns must be in [0, 86400000000000] (one day"),
        ("execution.latency_ns", -1, "latency_ns must be in [0, 86400000000000]"),
        ("execution.fee_rate", 1.0, "fee_rate must be in [0, 1), got 1.0"),
        ("execution.fee_rate", -0.001, "fee_rate must be in [0, 1), got -0.001"),
        ("execution.slippage_bps", 10_000, "slippage_bps must be in [0, 10000), got 10000.0"),
        ("execution.slippage_bps", -1, "slippage_bps must be in [0, 10000)"),
        ("run.seed", -1, "run.seed must be in [0, 4294967295], got -1"),  # numpy's and sklearn's
        ("run.seed", 2**32, "run.seed must be in [0, 4294967295], got 4294967296"),
        ("data", [], "at least one [[data]] source is required"),
        ("data.1.symbol", "A", "symbol ['A'] appears in more than one source"),
        ("instruments.0.symbol", "C", "instruments: 'C' has no [[data]] source"),
        (
            "instruments",
            [{"symbol": "B"}, {"symbol": "A"}, {"symbol": "B", "lot_size": 0.5}],
            "instruments: symbol ['B'] has more than one [[instruments]] entry",
        ),
    ],
)
def test_ranges_and_cross_field_rules(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(edit(path, value))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("override", "path", "expected"),
    [
        ("strategy.params.fast=20", ("strategy", "params", "fast"), 20),
        ("strategy.params.new=0.5", ("strategy", "params", "new"), 0.5),
        ("strategy.params.w=[4, 5]", ("strategy", "params", "w"), [4, 5]),
        ("execution.fee_rate = 0.002", ("execution", "fee_rate"), 0.002),
        ("account.allow_short=true", ("account", "allow_short"), True),
        ('run.name="quoted name"', ("run", "name"), "quoted name"),
        ("run.name=plain words", ("run", "name"), "plain words"),  # not TOML: a string
        ("run.name=", ("run", "name"), ""),
        ("data.1.path=c.csv", ("data", 1, "path"), "c.csv"),
        ("instruments.0.lot_size=1e-3", ("instruments", 0, "lot_size"), 0.001),
        ("strategy.params.inline={ a = 1 }", ("strategy", "params", "inline"), {"a": 1}),
        ("strategy.params.x=nan", ("strategy", "params", "x"), "nan"),  # never a NaN float
        ("strategy.params.x=inf", ("strategy", "params", "x"), "inf"),
        ("run.seed=1_000", ("run", "seed"), 1000),
        ("strategy.params.eq=a=b", ("strategy", "params", "eq"), "a=b"),
    ],
)
def test_overrides_are_toml_literals(
    override: str, path: tuple[str | int, ...], expected: Any
) -> None:
    document = full()
    result = apply_overrides(document, [override])
    node: Any = result
    for part in path:
        node = node[part]
    assert node == expected
    assert type(node) is type(expected)
    assert document == full()  # the input is not modified


def test_override_creates_missing_tables_and_applies_in_order() -> None:
    result = apply_overrides(minimal(), ["execution.fee_rate=0.01", "execution.fee_rate=0.02"])
    assert result["execution"] == {"fee_rate": 0.02}
    assert parse_config(result).execution.fee_rate == 0.02


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("strategy.params.fast", "expected key=value"),
        ("=3", "expected key=value"),
        ("data.2.path=x", "--set data.2: expected a list index below 2"),
        ("data.x.path=x", "--set data.x: expected a list index below 2"),
        ("data.5=x", "--set data.5: expected a list index below 2"),
        ("run.name.a.b=x", "is a value, not a table"),
    ],
)
def test_bad_overrides(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        apply_overrides(full(), [override])
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("run.name.x=1", "--set run.name.x: 'run.name' is a value, not a table"),
        ("data.0.path.x=1", "--set data.0.path.x: 'data.0.path' is a value, not a table"),
    ],
)
def test_override_below_a_scalar_is_a_config_error(override: str, message: str) -> None:
    # was a TypeError ("'str' object does not support item assignment") before the fix
    with pytest.raises(ConfigError) as info:
        apply_overrides(full(), [override])
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.0.start=2021-03-01", "2021-03-01"),
        ('data.0.start="2021-03-01"', "2021-03-01"),
        ("data.0.start=2021-03-01T12:30:00", "2021-03-01T12:30:00"),
    ],
)
def test_override_with_an_iso_date_sets_a_string(override: str, expected: str) -> None:
    config = parse_config(apply_overrides(full(), [override]))
    assert config.data[0].start == expected


def test_override_result_is_validated_like_a_file() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'execution\.fee'"):
        parse_config(apply_overrides(full(), ["execution.fee=0.1"]))
    with pytest.raises(ConfigError, match=r"execution\.fee_rate: expected a number"):
        parse_config(apply_overrides(full(), ["execution.fee_rate=high"]))


def test_load_config_reads_toml_and_applies_overrides(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(tomli_w.dumps(full()))
    config = load_config(path, ["strategy.params.fast=11", "account.leverage=3"])
    assert config.strategy.params["fast"] == 11
    assert config.account.leverage == 3.0
    assert config.base_dir == str(tmp_path)


def test_load_config_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_load_config_invalid_toml(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[run\nname = 1\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(path)


@pytest.mark.parametrize("document", [minimal(), full()])
def test_dump_config_round_trips_through_toml(document: dict[str, Any]) -> None:
    config = parse_config(document, base_dir="somewhere")
    dumped = dump_config(config)
    assert "base_dir" not in dumped
    reread = parse_config(tomllib.loads(tomli_w.dumps(dumped)))
    assert reread == config
    assert dump_config(reread) == dumped


@pytest.mark.parametrize(
    "name", ["sma_cross_btc.toml", "sma_cross_goog.toml", "sma_cross_goog_consensus.toml"]
)
def test_shipped_configs_load_and_round_trip(name: str) -> None:
    config = load_config(REPO / "configs" / name)
    assert isinstance(config, RunConfig)
    assert config.strategy.path == "strategies.sma_cross:SmaCross"
    assert parse_config(tomllib.loads(tomli_w.dumps(dump_config(config)))) == config


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("account.currency", "", "account currency must be a currency code"),
        ("account.currency", " USD", "account currency must be a currency code"),
        ("instruments.0.quote_currency", "", "quote_currency must be a currency code"),
        ("instruments.0.quote_currency", "US D", "quote_currency must be a currency code"),
    ],
)
def test_a_currency_is_a_code_not_an_empty_or_spaced_string(
    path: str, value: str, message: str
) -> None:
    # An empty account currency was accepted: every amount was then "in" no currency, and
    # an instrument quoted in "" matched it (found by an audit).
    with pytest.raises(ConfigError) as info:
        parse_config(edit(path, value))
    assert message in str(info.value)


def test_currency_codes_with_digits_pass() -> None:
    config = parse_config(edit("account.currency", "USDT"))
    assert config.account.currency == "USDT"
    with pytest.raises(ConfigError) as info:  # a valid code: what is missing is its rate
        parse_config(edit("instruments.0.quote_currency", "1000SATS"))
    assert "add an [[fx]] table with currency = '1000SATS'" in str(info.value)


@pytest.mark.parametrize("key", ["allowed_symbols", "blocked_symbols"])
def test_risk_symbol_lists_name_symbols_of_the_run(key: str) -> None:
    # allowed_symbols = ["NOPE"] denied every order of the run without a word; a typo in
    # blocked_symbols blocked nothing (found by an audit).
    document = full()
    document["risk"] = {key: ["A", "BB"]}
    with pytest.raises(ConfigError) as info:
        parse_config(document)
    assert f"risk: {key} names 'BB', which has no [[data]] source" in str(info.value)
    assert "did you mean 'B'" in str(info.value)
    document["risk"] = {key: ["A"]}
    assert parse_config(document).risk is not None


@pytest.mark.parametrize("text", ["1e400", "-1e400", "nan", "inf", "-inf", "+inf"])
def test_a_non_finite_override_is_refused_as_the_same_value_in_a_file_is(text: str) -> None:
    # --set said "expected a number, got str '1e400'"; the file says "a finite number"
    in_file = full()
    in_file["account"]["initial_cash"] = float(text)
    with pytest.raises(ConfigError, match=r"^account\.initial_cash: expected a finite number"):
        parse_config(in_file)
    with pytest.raises(ConfigError) as info:
        parse_config(apply_overrides(full(), [f"account.initial_cash={text}"]))
    assert str(info.value) == f"account.initial_cash: expected a finite number, got {text}"
    with pytest.raises(ConfigError, match=r"^run\.seed: expected a whole number, got "):
        parse_config(apply_overrides(full(), [f"run.seed={text}"]))


def test_a_non_finite_word_stays_a_string_where_a_string_goes() -> None:
    assert parse_config(apply_overrides(full(), ["run.name=nan"])).run.name == "nan"


@pytest.mark.parametrize(
    ("overrides", "start"),
    [
        (['data=[{path="a.csv",symbol="A"},{path="b.csv",symbol="A"}]'], "data: symbol ['A']"),
        (["data=[]"], "data: at least one [[data]] source is required"),
        (['risk.allowed_symbols=["Z"]'], "risk: allowed_symbols names 'Z'"),
        (['instruments=[{symbol="Z"}]'], "instruments: 'Z' has no [[data]] source"),
        (['fx=[{currency="EUR",path="e.csv"}]'], "fx: no instrument is quoted in 'EUR'"),
    ],
)
def test_a_config_wide_rule_names_its_key_not_the_class(overrides: list[str], start: str) -> None:
    # it said "RunConfig: data: symbol ['BTC/USDT'] appears in more than one source"
    with pytest.raises(ConfigError) as info:
        parse_config(apply_overrides(minimal(), overrides))
    assert str(info.value).startswith(start), str(info.value)
