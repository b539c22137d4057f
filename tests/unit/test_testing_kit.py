"""`engine.testing`: runs built from DataFrames, fills asserted against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.errors import ConfigError, DataError
from engine.testing import Fill, assert_fills, fills_of, make_bars, run_strategy
from strategies.sma_cross import SmaCross, SmaCrossParams

CLOSES = [100.0, 100.0, 90.0, 110.0, 110.0, 120.0, 100.0, 100.0]


def test_make_bars_fills_open_high_low_from_the_close() -> None:
    bars = make_bars([10.0, 12.0], open=[11.0, 11.0], start="2024-03-01", freq="1h")
    assert list(bars.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.index[1] == pd.Timestamp("2024-03-01 01:00", tz="UTC")
    assert bars["high"].tolist() == [11.0, 12.0]
    assert bars["low"].tolist() == [10.0, 11.0]
    with pytest.raises(ConfigError, match="differ in length"):
        make_bars([1.0, 2.0], open=[1.0])


def test_a_class_with_params_runs_and_fills_at_the_next_open() -> None:
    # SMA(1)/SMA(2): cross up on bar 3 (90 < 95 then 110 > 100) → buy at bar 4's open 110,
    # floor(10,000 / 110) = 90 units; cross down on bar 6 (120 > 115 then 100 < 110) →
    # sell at bar 7's open, 100.
    bars = make_bars(CLOSES)
    result = run_strategy(SmaCross, bars, params={"fast": 1, "slow": 2})
    assert_fills(result, [(bars.index[4], "buy", 90, 110.0), ("2024-01-08", "SELL", 90, 100.0)])
    assert fills_of(result) == [
        Fill(bars.index[4], "buy", 90.0, 110.0, "X"),
        Fill(bars.index[7], "sell", 90.0, 100.0, "X"),
    ]
    assert result.equity["equity"].iloc[-1] == pytest.approx(10_000 - 90 * 10)


def test_an_instance_a_dict_of_frames_and_config_sections() -> None:
    bars = make_bars(CLOSES, start="2024-01-01")
    strategy = SmaCross(SmaCrossParams(fast=1, slow=2, target_percent=0.5))
    result = run_strategy(
        strategy,
        {"A": bars},
        initial_cash=20_000.0,
        config={"execution": {"fee_rate": 0.01}},
    )
    # half of 20,000 sized at the close 110 with the 1% fee reserved:
    # floor(10,000 / (110 * 1.01)) = 90; fee 1% of 90 * 110 = 99
    assert_fills(result, [(bars.index[4], "buy", 90, 110.0), (bars.index[7], "sell", 90, 100.0)])
    assert fills_of(result, "B") == []
    fee = 0.01 * 90 * 110 + 0.01 * 90 * 100
    assert result.equity["equity"].iloc[-1] == pytest.approx(20_000 - 900 - fee)


def test_bad_params_and_bad_data_are_one_line_input_errors() -> None:
    with pytest.raises(ConfigError, match="slow"):
        run_strategy(SmaCross, make_bars(CLOSES), params={"fast": 5, "slow": 2})
    with pytest.raises(ConfigError, match="fsat"):
        run_strategy(SmaCross, make_bars(CLOSES), params={"fsat": 5})
    with pytest.raises(ConfigError, match="not an instance"):
        run_strategy(SmaCross(), make_bars(CLOSES), params={"fast": 1})
    with pytest.raises(DataError):
        run_strategy(SmaCross, make_bars([100.0, -1.0, 100.0]))


def test_assert_fills_reports_the_first_difference() -> None:
    bars = make_bars(CLOSES)
    result = run_strategy(SmaCross, bars, params={"fast": 1, "slow": 2})
    with pytest.raises(AssertionError, match="row 1 differs") as caught:
        assert_fills(result, [(bars.index[4], "buy", 90, 110.0), (bars.index[7], "sell", 90, 99)])
    assert "2024-01-08T00:00:00+00:00 sell 90.0 @ 100.0" in str(caught.value)
    with pytest.raises(AssertionError, match="2 fills, expected 1"):
        assert_fills(result, [(bars.index[4], "buy", 90, 110.0)])
    with pytest.raises(AssertionError, match="row 0"):
        assert_fills(result, [(bars.index[5], "buy", 90, 110.0), (bars.index[7], "sell", 90, 100)])
    # within the relative tolerance: equal
    assert_fills(
        result, [(bars.index[4], "buy", 90, 110.0 * (1 + 1e-12)), (bars.index[7], "sell", 90, 100)]
    )
