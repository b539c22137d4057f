"""The README's strategy table: every shipped strategy on its sample, next to buy-and-hold.

In: the configs in ``CONFIGS`` (one per shipped strategy, its default parameters, the
shipped data). Out: ``benchmarks/strategy_table.json`` (the figures) and the table between
the ``<!-- strategy-table:start -->`` / ``<!-- strategy-table:end -->`` markers of README.md,
both rewritten from scratch on every run. Never edit either by hand:

    python benchmarks/strategy_table.py          # rerun every backtest, rewrite both
    python benchmarks/strategy_table.py --check  # exit 1 if either differs from a rerun

Buy-and-hold is run through the same engine on the same config (fees, slippage, lots):
equal parts of equity in every symbol of the config at the first bar, held to the end, so
both columns pay the same costs and are measured by the same metrics code
(`engine.report.metrics`). The figures are whatever the defaults give: nothing is tuned on
these samples. ``tests/integration/test_strategy_table.py`` runs ``--check``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.config import load_config
from engine.model import Bar
from engine.runtime import run_backtest
from engine.strategy import Context, Strategy

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIGURES = ROOT / "benchmarks" / "strategy_table.json"
START = "<!-- strategy-table:start -->"
END = "<!-- strategy-table:end -->"

# config stem → the strategy's entry-point name, in the order of the README
CONFIGS = {
    "sma_cross_btc": "sma_cross",
    "ma_trend_btc": "ma_trend",
    "donchian_breakout_btc": "donchian_breakout",
    "ts_momentum_btc": "ts_momentum",
    "xs_momentum_binance": "xs_momentum",
    "bollinger_reversion_btc": "bollinger_reversion",
    "rsi2_reversion_btc": "rsi2_reversion",
    "zscore_reversion_btc": "zscore_reversion",
    "pairs_eth_btc": "pairs",
    "basket_eth_btc_sol": "basket",
    "portfolio_risk_parity_binance": "portfolio",
    "portfolio_crypto_fx": "portfolio",
    "ml_signal_btc": "ml_signal",
    "sentiment_filter_btc": "sentiment_filter",
}
KEYS = ("total_return", "cagr", "sharpe", "max_drawdown", "num_trades", "exposure", "fees_paid")


class BuyAndHold(Strategy):
    """Equal parts of equity in every symbol at the first bar, then hold."""

    def on_start(self, ctx: Context) -> None:
        """Nothing bought yet."""
        self.bought = False

    def on_bar(self, ctx: Context, bar: Bar) -> None:
        """Buy once, on the last symbol's first bar (every symbol's bar is known then)."""
        if self.bought or bar.symbol != ctx.symbols[-1]:
            return
        self.bought = True
        for symbol in ctx.symbols:
            ctx.order_target_percent(symbol, 1.0 / len(ctx.symbols))


def _metrics(result_metrics: dict[str, object]) -> dict[str, Any]:
    return {key: result_metrics[key] for key in KEYS}


def compute() -> dict[str, Any]:
    """Run every config and its buy-and-hold; return the figures (JSON-ready)."""
    rows = []
    for stem, name in CONFIGS.items():
        config = load_config(ROOT / "configs" / f"{stem}.toml")
        strategy = run_backtest(config)
        # the baseline reads no news: its run drops the [[data]] kind = "news" tables
        baseline = run_backtest(replace(config, news=[]), strategy=BuyAndHold())
        first, last = strategy.frames[0].ts_open_ns[0], strategy.frames[0].ts_close_ns[-1]
        rows.append(
            {
                "strategy": name,
                "config": f"configs/{stem}.toml",
                "symbols": list(config.symbols),
                "start": str(first),
                "end": str(last),
                "bars": strategy.metrics["bars"],
                "strategy_metrics": _metrics(strategy.metrics),
                "buy_and_hold": _metrics(baseline.metrics),
            }
        )
    return {"rows": rows}


def _pct(value: object) -> str:
    return "n/a" if not isinstance(value, float) or math.isnan(value) else f"{value:+.1%}"


def _num(value: object) -> str:
    return "n/a" if not isinstance(value, float) or math.isnan(value) else f"{value:.2f}"


def render(figures: dict[str, Any]) -> str:
    """Return the Markdown table (without the markers) for ``figures``."""
    lines = [
        "| strategy | config | symbols | return | CAGR | Sharpe | max DD | trades | exposure "
        "| buy & hold return | B&H Sharpe | B&H max DD |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in figures["rows"]:
        m, b = row["strategy_metrics"], row["buy_and_hold"]
        lines.append(
            f"| `{row['strategy']}` | `{row['config']}` | {', '.join(row['symbols'])} "
            f"| {_pct(m['total_return'])} | {_pct(m['cagr'])} | {_num(m['sharpe'])} "
            f"| {_pct(m['max_drawdown'])} | {m['num_trades']} | {_pct(m['exposure'])} "
            f"| {_pct(b['total_return'])} | {_num(b['sharpe'])} | {_pct(b['max_drawdown'])} |"
        )
    return "\n".join(lines)


def with_table(readme: str, table: str) -> str:
    """Return ``readme`` with the text between the markers replaced by ``table``."""
    start, end = readme.find(START), readme.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md lacks the markers {START} … {END}")
    return readme[: start + len(START)] + "\n" + table + "\n" + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with ``--check`` compare) the figures file and the README table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)
    figures = compute()
    text = json.dumps(figures, indent=2, sort_keys=True) + "\n"
    readme = README.read_text(encoding="utf-8")
    updated = with_table(readme, render(figures))
    if args.check:
        stale = [
            path.name
            for path, now, want in ((FIGURES, _read(FIGURES), text), (README, readme, updated))
            if now != want
        ]
        if stale:
            print(f"stale: {', '.join(stale)}; run python benchmarks/strategy_table.py")
            return 1
        print("strategy table is up to date")
        return 0
    FIGURES.write_text(text, encoding="utf-8")
    README.write_text(updated, encoding="utf-8")
    print(render(figures))
    return 0


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


if __name__ == "__main__":
    sys.exit(main())
