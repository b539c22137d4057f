"""Execution: the order book between risk and the broker, the simulated broker, cost models.

- `venue`: the `Venue` protocol (what the kernel needs of a broker) and its `OrderCommands`.
- `engine`: `ExecutionEngine` (order entities and their state), typed against `OrderCommands`.
- `broker`: `SimulatedBroker`, the bar matching rules (documented in its docstring).
- `fills`: how much of a matched order fills and at what price (slippage, caps, FOK),
  methods `SimulatedBroker` inherits.
- `fill_sizing`: ``target_sizing = "fill"``: a fraction of equity resolved at the fill.
- `models`: `FeeModel` / `SlippageModel` protocols and the default implementations.
- `matching`: where a bar or tick reaches an order's price (pure functions).
- `caps`: how much of a cash-account buy the cash pays for, fee included.
"""

from engine.execution.broker import AccountView, SimulatedBroker
from engine.execution.engine import Broker, ExecutionEngine
from engine.execution.models import FeeModel, FixedBpsSlippage, PercentFeeModel, SlippageModel
from engine.execution.venue import OrderCommands, Venue

__all__ = [
    "AccountView",
    "Broker",
    "ExecutionEngine",
    "FeeModel",
    "FixedBpsSlippage",
    "OrderCommands",
    "PercentFeeModel",
    "SimulatedBroker",
    "SlippageModel",
    "Venue",
]
