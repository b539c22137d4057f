"""How close a live node's warmed indicators are to the backtest's over the same bars.

A live node warms its streaming indicators with the last N closed bars before its first
live bar (`engine.runtime.live.warmup`); a backtest computes each indicator over all its
history. Over the BTC/USDT hourly sample this starts a `TradingNode` at a bar ``start``,
warmed with the N bars before it (N from the strategy's indicators, as ``kestrel live``
picks it, or ``--bars``), feeds it the next ``--live`` bars, and compares each indicator's
value at every one of those bars with the batch kernel's over the whole file from its
first bar (the backtest's value). Prints, per indicator, the bars it was warmed with and
the largest relative difference ``|live - backtest| / |backtest|``; for a start-dependent
indicator (`START_DEPENDENT`: OBV here) also that of its bar-to-bar changes, the part of
it a warm-up can make equal (its level counts from the warm-up's first bar). Every TA-Lib
function is checked the same way by ``tests/unit/runtime/test_live_warmup_reference.py``.

    python benchmarks/live_warmup_parity.py [--start 3000] [--live 200] [--bars N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from engine.config import RunConfig, parse_config
from engine.feeds import BarFrame, load_bars
from engine.indicators import registry
from engine.model import Bar
from engine.runtime.live.warmup import START_DEPENDENT, indicator_needs
from engine.runtime.node import TradingNode
from engine.runtime.paper.session import warmup_frames
from engine.strategy import Context, Strategy

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "binance_BTC_USDT_1h_20201201_20210717.csv"
SYMBOL = "BTC/USDT"
INDICATORS: list[tuple[str, dict[str, int | float]]] = [
    ("sma", {"timeperiod": 20}),
    ("ema", {"timeperiod": 20}),
    ("rsi", {"timeperiod": 14}),
    ("atr", {"timeperiod": 14}),
    ("macd", {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}),
    ("sar", {"acceleration": 0.02, "maximum": 0.2}),
    ("obv", {}),
]


class Warm(Strategy):
    """Declares the compared indicators; never trades."""

    def on_start(self, ctx: Context) -> None:
        for name, params in INDICATORS:
            ctx.indicator(name, SYMBOL, **params)


def config() -> RunConfig:
    """Return a run config of `Warm` on the sample (its data is the backtest's)."""
    return parse_config(
        {
            "run": {"name": "warmup-parity"},
            "account": {"initial_cash": 10_000.0, "currency": "USDT"},
            "data": [{"path": str(DATA), "symbol": SYMBOL, "timeframe": "1h"}],
            "instruments": [{"symbol": SYMBOL, "tick_size": 0.01, "lot_size": 0.00001}],
            "strategy": {"path": f"{Path(__file__).resolve()}:Warm"},
        },
        ROOT,
    )


def _bars(frame: BarFrame, first: int, last: int) -> list[Bar]:
    tf = frame.timeframe_ns
    return [
        Bar(SYMBOL, int(frame.ts_open_ns[i]) + tf, int(frame.ts_open_ns[i]) + tf,
            float(frame.open[i]), float(frame.high[i]), float(frame.low[i]),
            float(frame.close[i]), float(frame.volume[i]), tf)
        for i in range(first, last)
    ]  # fmt: skip


def measure(start: int = 3000, live: int = 200, bars: int | None = None) -> dict[str, float]:
    """Return ``{label: largest relative difference}`` (and ``bars: N``) over ``live`` bars.

    ``bars``: warm-up length (None: the default `kestrel live` derives for `Warm`).
    """
    run = config()
    count = max(n for _, n in indicator_needs(run)) if bars is None else bars
    frame = load_bars(DATA, symbol=SYMBOL, timeframe="1h")
    if count > start:
        raise ValueError(f"--start {start} leaves fewer than {count} bars to warm with")
    node = TradingNode(run, warmup=warmup_frames(_bars(frame, start - count, start)))
    node.start()
    for bar in _bars(frame, start, start + live):
        node.on_event(bar)
    context = node.kernel.runner.context
    arrays = {"open": frame.open, "high": frame.high, "low": frame.low, "close": frame.close,
              "volume": frame.volume}  # fmt: skip
    found: dict[str, float] = {"bars": float(count)}
    for (name, params), (_, indicator) in zip(
        INDICATORS, context.declared_indicators(SYMBOL), strict=True
    ):
        spec = registry.get(name)
        inputs = {key: arrays["close" if key == "real" else key] for key in spec.inputs}
        batch = spec.compute(inputs, **params)
        for output in spec.outputs:
            warmed = np.asarray(indicator.output(output)[-live:])
            backtest = batch[output][start : start + live]
            label = f"{name}({', '.join(map(str, params.values()))}).{output}"
            found[label] = _worst(warmed, backtest)
            if name in START_DEPENDENT:
                found[f"{label} changes"] = _worst(np.diff(warmed), np.diff(backtest))
    return found


def _worst(live: np.ndarray, backtest: np.ndarray) -> float:
    return float(np.max(np.abs(live - backtest) / np.abs(backtest)))


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=3000, help="first live bar (row)")
    parser.add_argument("--live", type=int, default=200, help="live bars compared")
    parser.add_argument("--bars", type=int, default=None, help="warm-up bars (default: derived)")
    args = parser.parse_args()
    found = measure(args.start, args.live, args.bars)
    print(f"warm-up: {found.pop('bars'):.0f} bars; {args.live} live bars from row {args.start}")
    for label, worst in found.items():
        print(f"{label:40s} max relative difference {worst:.3e}")


if __name__ == "__main__":
    main()
