"""Strategy plugins: the `Strategy` base, its `Context`, the loader and the runner.

`strategy` never imports execution, adapters or persistence: it sends commands on the bus
and reads the world through protocols (`PortfolioView`, `OrdersView`).
"""

from engine.strategy.base import NoParams, Strategy
from engine.strategy.context import Context, OrdersView, PortfolioView
from engine.strategy.history import Indicator, IndicatorSeries
from engine.strategy.loader import available_strategies, load_strategy_class, make_strategy
from engine.strategy.runner import StrategyRunner

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
