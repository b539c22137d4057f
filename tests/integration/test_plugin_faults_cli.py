"""User plugin code that fails while it is built is the user's fault, not Kestrel's (an audit).

A strategy whose ``__init__`` raises, or whose ``Params`` raises something other than
ValueError/TypeError (those are rejected parameters: exit 2), is strategy code at fault:
exit 3 with file:line. A ``Params`` that is not a dataclass is a plugin to fix (exit 2). A
``[[risk.checks]]`` plugin is classified the same way. Extreme ``[risk.exits]`` and risk
window values are inputs to fix (exit 2), not a strategy fault or an internal error.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import REPO, CliRunner, assert_one_line_error

GOOG = REPO / "data" / "GOOG.csv"


def _config(folder: Path, strategy: str, extra: str = "") -> Path:
    config = folder / "run.toml"
    config.write_text(
        f'[run]\nname = "plugins"\n[[data]]\npath = "{GOOG}"\nsymbol = "GOOG"\n'
        f'[strategy]\npath = "{strategy}"\nparams = {{}}\n{extra}'
    )
    return config


def _strategy(folder: Path, body: str) -> Path:
    path = folder / "faulty_plugin.py"
    path.write_text(
        "from dataclasses import dataclass\nfrom engine.strategy import Strategy\n\n\n" + body
    )
    return path


INIT_RAISES = """\
class Faulty(Strategy):
    def __init__(self, *a, **k):
        raise TypeError("init")
"""
POST_INIT_RAISES = """\
@dataclass(frozen=True)
class P:
    x: int = 1

    def __post_init__(self):
        raise KeyError("missing")


class Faulty(Strategy):
    Params = P
"""
NOT_A_DATACLASS = """\
class P:
    x = 1


class Faulty(Strategy):
    Params = P
"""


@pytest.mark.parametrize(
    ("body", "fragments"),
    [
        (INIT_RAISES, ["TypeError: init", "faulty_plugin.py:7 (__init__)"]),
        (POST_INIT_RAISES, ["KeyError: 'missing'", "faulty_plugin.py:10 (__post_init__)"]),
    ],
    ids=["init", "post_init"],
)
def test_strategy_code_failing_while_built_is_a_strategy_error_with_file_and_line(
    kestrel: CliRunner, tmp_path: Path, body: str, fragments: list[str]
) -> None:
    strategy = _strategy(tmp_path, body)
    out = tmp_path / "out"
    result = kestrel(
        "backtest", str(_config(tmp_path, f"{strategy}:Faulty")), "--no-db", "--out", str(out)
    )
    assert_one_line_error(result, "strategy Faulty", *fragments, code=3)
    assert not out.exists()


def test_params_value_error_stays_a_parameter_to_fix(kestrel: CliRunner, tmp_path: Path) -> None:
    strategy = _strategy(
        tmp_path, POST_INIT_RAISES.replace('KeyError("missing")', 'ValueError("x")')
    )
    config = _config(tmp_path, f"{strategy}:Faulty")
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "strategy.params: x")


@pytest.mark.parametrize("command", ["backtest", "optimize"])
def test_params_that_is_not_a_dataclass_is_a_plugin_to_fix(
    kestrel: CliRunner, tmp_path: Path, command: str
) -> None:
    strategy = _strategy(tmp_path, NOT_A_DATACLASS)
    config = _config(tmp_path, f"{strategy}:Faulty")
    args = ["--no-db", "--out", str(tmp_path / "out")] if command == "backtest" else [
        "--param", "x=1,2", "--db", f"sqlite:///{tmp_path / 'k.db'}",
        "--html", str(tmp_path / "s.html"),
    ]  # fmt: skip
    result = kestrel(command, str(config), *args)
    assert_one_line_error(result, "Faulty.Params must be a dataclass")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "k.db").exists()


CHECK = """\
class Check:
    name = "custom"

    def __init__(self, **params):
        {body}

    def check(self, order, state):
        return None
"""


@pytest.mark.parametrize(
    ("body", "fragments", "code"),
    [
        ('raise KeyError("limit")', ["KeyError: 'limit'", "risk_plugin_", ".py:5 (__init__)"], 3),
        ('raise ValueError("bad limit")', ["risk.checks", "bad limit"], 2),
    ],
    ids=["key_error", "value_error"],
)
def test_risk_check_plugin_failing_while_built(
    kestrel: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    fragments: list[str],
    code: int,
) -> None:
    module = f"risk_plugin_{code}"
    (tmp_path / f"{module}.py").write_text(CHECK.format(body=body))
    monkeypatch.syspath_prepend(str(tmp_path))
    extra = f'[[risk.checks]]\npath = "{module}:Check"\n'
    config = _config(tmp_path, "strategies.sma_cross:SmaCross", extra)
    out = tmp_path / "out"
    result = kestrel("backtest", str(config), "--no-db", "--out", str(out))
    assert_one_line_error(result, *fragments, code=code)
    assert not out.exists()


@pytest.mark.parametrize(
    ("setting", "fragment"),
    [
        ("risk.exits={trailing_stop_amount=1e308}", "exits.trailing_stop_amount must be in"),
        ("risk.exits={take_profit_pct=1e308}", "exits.take_profit_pct must be in"),
        ("risk.exits={trailing_atr_multiple=1e308}", "exits.trailing_atr_multiple must be in"),
        ("risk.exits={stop_loss_pct=1,break_even_pct=1e308}", "exits.break_even_pct must be in"),
        ("risk.order_rate_window_s=1e308", "order_rate_window_s must be in"),
        ("risk.cooldown_s=1e308", "cooldown_s must be in"),
    ],
)
def test_absurd_exit_and_risk_numbers_are_inputs_to_fix(
    kestrel: CliRunner, tmp_path: Path, setting: str, fragment: str
) -> None:
    out = tmp_path / "out"
    result = kestrel(
        "backtest", "configs/sma_cross_btc.toml", "--no-db", "--out", str(out), "--set", setting
    )
    assert_one_line_error(result, fragment)
    assert not out.exists()


EVEN = """\
class EvenQuantity:
    name = "even_quantity"

    def check(self, order, state):
        return "odd" if order.quantity % 2 else None
"""


def test_a_risk_check_given_as_a_file_beside_the_config_is_loaded_and_hashed(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    """``path = "checks.py:Class"`` works as a strategy's ``"file.py:Class"`` does (an audit:
    it said "module 'checks.py' not found"): read beside the config, whatever the working
    directory, and its bytes are in the run's inputs hash."""
    (tmp_path / "checks.py").write_text(EVEN)
    config = _config(
        tmp_path,
        "strategies.sma_cross:SmaCross",
        '[[risk.checks]]\npath = "checks.py:EvenQuantity"\n',
    )
    first = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "a"))
    assert first.code == 0, first.err
    orders = (tmp_path / "a" / "orders.csv").read_text()
    assert "even_quantity" in orders  # the plugin ran: odd quantities were denied by it
    hash_a = (tmp_path / "a" / "run.json").read_text().split('"inputs_sha256": "')[1][:64]
    (tmp_path / "checks.py").write_text(EVEN + "\n# edited\n")
    second = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "b"))
    assert second.code == 0, second.err
    hash_b = (tmp_path / "b" / "run.json").read_text().split('"inputs_sha256": "')[1][:64]
    assert hash_a != hash_b  # edited check code is a different run


def test_a_missing_risk_check_file_names_where_it_was_looked_for(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    config = _config(
        tmp_path, "strategies.sma_cross:SmaCross", '[[risk.checks]]\npath = "nope.py:Check"\n'
    )
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "risk check file 'nope.py' does not exist", "beside the config")


@pytest.mark.parametrize("kind", ["strategy", "risk check"])
def test_a_syntax_error_in_a_plugin_file_names_the_file_and_line(
    kestrel: CliRunner, tmp_path: Path, kind: str
) -> None:
    """The location was importlib's own frame ('<frozen importlib._bootstrap>:241')."""
    (tmp_path / "broken.py").write_text("x = 1\nclass S(object)\n    pass\n")
    if kind == "strategy":
        config = _config(tmp_path, "broken.py:S")
    else:
        extra = '[[risk.checks]]\npath = "broken.py:S"\n'
        config = _config(tmp_path, "strategies.sma_cross:SmaCross", extra)
    result = kestrel("backtest", str(config), "--no-db", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "SyntaxError: expected ':'", "broken.py:2")
    assert "frozen" not in result.err
