"""Strategy plugins: the `Strategy` base, its `Context`, the loader and the runner.

`strategy` never imports execution, adapters or persistence: it sends commands on the bus
and reads the world through protocols (`PortfolioView`, `OrdersView`).
"""

from typing import TYPE_CHECKING

from engine.lazy import lazy_exports

# Imported on first use (`engine.lazy`): `Context` brings the indicators (numba).
if TYPE_CHECKING:
    from engine.strategy.base import NoParams, Strategy
    from engine.strategy.context import Context, OrdersView, PortfolioView
    from engine.strategy.history import Indicator, IndicatorSeries
    from engine.strategy.loader import available_strategies, load_strategy_class, make_strategy
    from engine.strategy.runner import StrategyRunner
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "Context": "engine.strategy.context",
            "Indicator": "engine.strategy.history",
            "IndicatorSeries": "engine.strategy.history",
            "NoParams": "engine.strategy.base",
            "OrdersView": "engine.strategy.context",
            "PortfolioView": "engine.strategy.context",
            "Strategy": "engine.strategy.base",
            "StrategyRunner": "engine.strategy.runner",
            "available_strategies": "engine.strategy.loader",
            "load_strategy_class": "engine.strategy.loader",
            "make_strategy": "engine.strategy.loader",
        },
    )

__all__ = [
    "Context",
    "Indicator",
    "IndicatorSeries",
    "NoParams",
    "OrdersView",
    "PortfolioView",
    "Strategy",
    "StrategyRunner",
    "available_strategies",
    "load_strategy_class",
    "make_strategy",
]
