"""Kestrel: an event-driven trading engine with one kernel for backtest, paper and live.

```
 feed ──Bar──▶ venue (engine.execution.venue protocol; the simulated broker matches first)
          └──▶ bus (engine.bus) ──▶ cache (engine.cache) ──▶ strategy (engine.strategy)
 news ──NewsHeadline──▶ bus ──▶ strategy.on_news (before the first bar closing at/after it)
 strategy ──OrderRequested──▶ risk (engine.risk) ──OrderApproved──▶ execution (engine.execution)
        ◀── OrderDenied / OrderAccepted / OrderFilled / OrderCanceled / OrderRejected ◀── broker
 OrderFilled ──▶ portfolio (engine.portfolio) and recorder (engine.report) ──▶ artifacts, store
```

Where each piece lives: values and events in `engine.model`; historical data in
`engine.feeds` (headline files and sources in `engine.feeds.headlines` and
`engine.feeds.headline_source`; when a headline is delivered in `engine.runtime.news`);
indicators in `engine.indicators`; the wiring in `engine.runtime.kernel`;
what differs between modes in `engine.runtime.modes`; the one step every mode takes in
`engine.runtime.driver`; the backtest in `engine.runtime.backtest` and the paper/live node
in `engine.runtime.node`; the run store in `engine.persistence`; parameter sweeps,
overfitting guards and walk-forward in `engine.optimize`; the
command line in `engine.cli`; errors in `engine.errors`; where a config's relative paths
and the default outputs point (config folder, project root) in `engine.paths`; ML
features, labels, leakage-free splits, models and headline sentiment in `engine.ml`.

Typical use from Python::

    from engine import load_config, run_backtest
    result = run_backtest(load_config("configs/sma_cross_goog.toml"))
    print(result.metrics["sharpe"])
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# The public names are imported on first use (PEP 562, `engine.lazy`), so that `import
# engine` and the `kestrel` command stay cheap: pandas, numba and SQLAlchemy load only
# when a name or a command needs them (tests/unit/test_import_cost.py).
if TYPE_CHECKING:
    from engine.config import RunConfig, load_config, parse_config
    from engine.errors import (
        ConfigError,
        DataError,
        ExchangeError,
        IndicatorError,
        KestrelError,
        PluginError,
        StrategyError,
        UserInputError,
    )
    from engine.feeds import BarFrame, load_bars
    from engine.model import Bar, Instrument, NewsHeadline, OrderSide
    from engine.runtime import BacktestResult, run_backtest
    from engine.strategy import Context, Indicator, Strategy
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "BacktestResult": "engine.runtime",
            "Bar": "engine.model",
            "BarFrame": "engine.feeds",
            "ConfigError": "engine.errors",
            "Context": "engine.strategy",
            "DataError": "engine.errors",
            "ExchangeError": "engine.errors",
            "Indicator": "engine.strategy",
            "IndicatorError": "engine.errors",
            "Instrument": "engine.model",
            "KestrelError": "engine.errors",
            "NewsHeadline": "engine.model",
            "OrderSide": "engine.model",
            "PluginError": "engine.errors",
            "RunConfig": "engine.config",
            "Strategy": "engine.strategy",
            "StrategyError": "engine.errors",
            "UserInputError": "engine.errors",
            "load_bars": "engine.feeds",
            "load_config": "engine.config",
            "parse_config": "engine.config",
            "run_backtest": "engine.runtime",
        },
    )

__all__ = [
    "BacktestResult",
    "Bar",
    "BarFrame",
    "ConfigError",
    "Context",
    "DataError",
    "ExchangeError",
    "Indicator",
    "IndicatorError",
    "Instrument",
    "KestrelError",
    "NewsHeadline",
    "OrderSide",
    "PluginError",
    "RunConfig",
    "Strategy",
    "StrategyError",
    "UserInputError",
    "load_bars",
    "load_config",
    "parse_config",
    "run_backtest",
]
__version__ = "0.1.0"
