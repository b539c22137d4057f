"""Tradable instruments and their venue rules (tick size, lot size, minimums)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Lot counts below this are exact floats and their product with the lot size is far closer
# than half a lot to the true decimal (see `Instrument.round_quantity`).
_EXACT_LOTS = 2**50


def _decimals(step: float) -> int:
    """Return the number of decimals needed to write ``step`` exactly (capped at 12)."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol and the rules the venue enforces on its orders.

    Attributes:
        symbol: Venue symbol, e.g. ``"BTC/USDT"`` or ``"GOOG"``.
        quote_currency: Currency prices are quoted in (and cash is kept in).
        tick_size: Smallest price increment; prices are rounded to it.
        lot_size: Smallest quantity increment; quantities are rounded DOWN to it.
        min_quantity: Smallest order quantity accepted (0 = no minimum).
        min_notional: Smallest order value ``quantity * price`` accepted (0 = no minimum).
    """

    symbol: str
    quote_currency: str = "USD"
    tick_size: float = 0.01
    lot_size: float = 1.0
    min_quantity: float = 0.0
    min_notional: float = 0.0
    _price_decimals: int = field(init=False, repr=False, compare=False)
    _quantity_decimals: int = field(init=False, repr=False, compare=False)
    # 10**decimals when lot_size is exactly 1 / 10**decimals (0.001, 1.0, ...), else 0
    _lots_per_unit: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{self.symbol}: {name} must be a positive number, got {value}")
        for name in ("min_quantity", "min_notional"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{self.symbol}: {name} must be >= 0, got {value}")
        object.__setattr__(self, "_price_decimals", _decimals(self.tick_size))
        object.__setattr__(self, "_quantity_decimals", _decimals(self.lot_size))
        scale = 10**self._quantity_decimals
        object.__setattr__(self, "_lots_per_unit", scale if self.lot_size == 1 / scale else 0)

    def round_price(self, price: float) -> float:
        """Return ``price`` rounded to the nearest tick."""
        return round(round(price / self.tick_size) * self.tick_size, self._price_decimals)

    def round_price_passive(self, price: float, up: bool) -> float:
        """Return ``price`` on the tick grid, rounded up (``up``) or down, never past a tick.

        Risk uses it so that rounding never makes an order more aggressive than asked: a
        buy limit rounds down and a sell limit up; a buy stop rounds up and a sell stop down.
        A price already on the grid (within float noise: 1e-9 tick plus a few units in the
        last place of the tick count, never a share of the price, which at 3.3 million
        ticks would forgive 0.0033 tick) is left there.
        """
        ticks = price / self.tick_size
        nearest = round(ticks)
        if abs(ticks - nearest) <= 1e-9 + 4 * math.ulp(ticks):
            whole = nearest
        else:
            whole = math.ceil(ticks) if up else math.floor(ticks)
        return round(whole * self.tick_size, self._price_decimals)

    def round_order_price(self, price: float, buy: bool, stop: bool) -> float:
        """Return an order's limit (``stop=False``) or stop price on the tick grid, passively.

        The one rounding rule for every price an order carries, wherever it is set (risk on
        submit, the broker on modify and on each trailing-stop move, protective exits):
        never more aggressive than asked. A buy limit rounds down and a sell limit up (never
        pay more or receive less); a buy stop rounds up and a sell stop down (never trigger
        earlier): a sell stop asked at 97.997 sits at 97.99, not 98.00.
        """
        return self.round_price_passive(price, up=buy == stop)

    def round_quantity(self, quantity: float) -> float:
        """Return ``quantity`` rounded toward zero to a whole number of lots.

        Rounding toward zero never makes an order larger than the caller asked for. A
        quantity within float noise below a whole number of lots (0.3 / 0.1 is
        2.9999999999999996) counts as that number; the allowance is 1e-9 lot plus one unit
        in the last place of the lot count, so it never grows into whole lots when the
        count is large (1,000,000 units at lot 1e-8 is 1e14 lots).
        """
        if (
            self._lots_per_unit == 1
            and type(quantity) is float
            and 0.0 < quantity < _EXACT_LOTS
            and quantity.is_integer()
        ):
            # Whole units on a lot of 1 (shares): what the arithmetic below returns, as is.
            # Risk rounds every order again, most of them already on the grid.
            return quantity
        negative = quantity < 0.0
        exact = (-quantity if negative else quantity) / self.lot_size
        lots = round(exact)
        excess = lots - exact  # > 0 when round() went up; on the grid it is ~0: skip ulp()
        if excess > 1e-9 and excess > 1e-9 + math.ulp(exact):
            lots -= 1
        scale = self._lots_per_unit
        if scale and lots < _EXACT_LOTS:
            # The same float as the round() below, ~5x cheaper (it runs twice per order):
            # lots * lot_size is within a few ulps of the decimal lots / 10**d, so round()
            # to d decimals gives that decimal's nearest float, which is what the correctly
            # rounded division of two exact floats gives (tests/unit/model pins it).
            rounded = lots / scale
        else:
            rounded = round(lots * self.lot_size, self._quantity_decimals)
        return -rounded if negative else rounded
