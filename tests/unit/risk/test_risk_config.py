"""The ``[risk]`` section: parsing, validation, strategy defaults, the checks it builds."""

from __future__ import annotations

import pytest

from engine.config import parse_config
from engine.errors import ConfigError
from engine.risk.config import RiskConfig, SessionConfig, build_limit_checks, merge_risk_defaults

BASE = {"data": [{"path": "x.csv", "symbol": "X"}], "strategy": {"path": "s:S"}}


def test_no_risk_section_means_no_limits() -> None:
    config = parse_config(BASE)
    assert config.risk == RiskConfig()
    assert build_limit_checks(config.risk) == []
    assert not config.risk.has_guards


def test_risk_section_builds_named_checks_in_order() -> None:
    config = parse_config(
        {
            **BASE,
            "risk": {
                "max_order_notional": 5_000.0,
                "max_position_pct": 50.0,
                "price_band_pct": 10.0,
                "order_rate_limit": 5,
                "direction": "long_only",
                "blocked_symbols": ["X"],  # a symbol of the run (others are refused)
                "sessions": [{"start": "13:30", "end": "20:00"}],
                "max_drawdown_pct": 20.0,
            },
        }
    )
    names = [check.name for check in build_limit_checks(config.risk)]
    assert names == [
        "blocked_symbols",
        "trading_hours",
        "long_only",
        "price_band",
        "max_order_notional",
        "max_position_pct",
        "order_rate",
    ]
    assert config.risk.has_guards
    assert config.risk.sessions == [SessionConfig("13:30", "20:00", [0, 1, 2, 3, 4])]


def test_unknown_key_gets_did_you_mean() -> None:
    with pytest.raises(ConfigError, match="max_drawdown_pct"):
        parse_config({**BASE, "risk": {"max_drawdown_percent": 10.0}})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"max_order_quantity": 0.0}, "max_order_quantity must be > 0, got 0.0"),
        ({"max_open_orders": 0}, "max_open_orders must be >= 1, got 0"),
        ({"max_drawdown_pct": 100.0}, r"max_drawdown_pct must be a percent in \(0, 100\)"),
        ({"direction": "sideways"}, "direction"),
        ({"allowed_symbols": ["X"], "blocked_symbols": ["X"]}, "both allowed and blocked"),
        ({"sessions": [{"start": "25:00"}]}, "is not a time"),
        ({"sessions": [{"end": "9h"}]}, "must be a UTC time HH:MM"),
        ({"sessions": [{"weekdays": [7]}]}, "weekdays must be numbers 0"),
        # rounded to 0 ns the window turned the rate limit off (and a cooldown ended at once)
        (
            {"order_rate_limit": 1, "order_rate_window_s": 1e-12},
            r"order_rate_window_s must be at least 1e-09 s \(1 ns, the clock's step\), got 1e-12",
        ),
        ({"cooldown_s": 4e-10}, r"cooldown_s must be at least 1e-09 s"),
        # the last 5 trades never reach 10: the sizer always used the fallback fraction
        (
            {"sizer": {"kind": "fractional_kelly", "kelly_window": 5, "kelly_min_trades": 10}},
            r"sizer.kelly_min_trades \(10\) must be <= sizer.kelly_window \(5\): the estimate "
            r"reads the last kelly_window trades",
        ),
        # a standard deviation of one change is no number: the sizer always returned 0
        (
            {"sizer": {"kind": "volatility_target", "volatility": "realized", "atr_period": 1}},
            r'sizer.atr_period must be >= 2 with volatility = "realized" \(a standard '
            r"deviation needs two changes\), got 1",
        ),
    ],
)
def test_invalid_settings_are_config_errors(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({**BASE, "risk": settings})


def test_strategy_defaults_are_overridden_by_the_config() -> None:
    defaults = {"max_drawdown_pct": 15.0, "max_order_quantity": 3.0}
    config = RiskConfig(max_drawdown_pct=25.0, price_band_pct=5.0)
    merged = merge_risk_defaults(config, defaults)
    assert merged.max_drawdown_pct == 25.0  # the config wins
    assert merged.max_order_quantity == 3.0  # the strategy's default stays
    assert merged.price_band_pct == 5.0
    assert merge_risk_defaults(config, {}) is config
    with pytest.raises(ConfigError, match="max_order_quantity"):
        merge_risk_defaults(config, {"max_order_qty": 3.0})
