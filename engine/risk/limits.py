"""Configurable pre-trade limits: each a `RiskCheck` built from ``[risk]`` settings.

Every check has a ``name`` (the ``check`` of an `OrderDenied`) and returns a sentence with
the numbers that failed it. Exposure limits (position, gross, net, leverage) never block
an order that reduces exposure: reduce-only orders, and orders whose expected position
after the fill is no larger in absolute size than before it. The expected position counts
the symbol's working orders on the order's side as if filled (`pending_by_symbol`: an OCO
group once; the other side may never fill), and gross, net and leverage count every
symbol's, so a series of orders cannot pass one by one what they break together.

Percent settings (``_pct``) are percent: 5.0 means 5%. Notional and exposure limits are
in the account currency: a foreign-quoted instrument's prices are converted at the rate
as of now (`RiskState.rate`); the price band compares quote-currency prices.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence

from engine.model import OrderRequested, OrderSide
from engine.risk.checks import RiskState

__all__ = [
    "AllowedSymbolsCheck",
    "BlockedSymbolsCheck",
    "DirectionCheck",
    "GrossExposureCheck",
    "LeverageLimitCheck",
    "MaxOpenOrdersCheck",
    "NetExposureCheck",
    "OrderNotionalCheck",
    "OrderQuantityCheck",
    "OrderRateCheck",
    "PositionNotionalCheck",
    "PositionPercentCheck",
    "PositionQuantityCheck",
    "PriceBandCheck",
    "Session",
    "TradingHoursCheck",
    "expected_positions",
    "pending_by_symbol",
]

DAY_NS = 86_400 * 10**9
_BUY, _SELL = OrderSide.BUY, OrderSide.SELL
EXITS_SUFFIX = ".exits"  # the strategy id of a strategy's protective exits (`ExitManager`)
_TOLERANCE = 1.0 + 1e-9


def pending_by_symbol(
    state: RiskState, joining: OrderRequested | None = None, side: OrderSide | None = None
) -> dict[str, float]:
    """Return the signed quantity each symbol's working orders add when they fill.

    ``side``: only the orders on that side (a check's worst case: the orders on the other
    side may never fill). Reduce-only orders are left out (capped at the position, they
    never add exposure).
    An OCO group fills at most one member, so a group counts once, its member that moves
    the symbol's expected position furthest from zero; a group that can only shrink the
    position (protective exits of the strategy's own) counts nothing, as exits may never
    fill. Was: every order with an OCO group was left out, entries included, and three
    OCO limit buys of 0.1 filled to 0.3 under ``max_position_quantity = 0.1``.
    ``joining``: an OCO order counted as a member of its group (the order being checked).
    """
    skip = state.reduce_only_ids
    pending: dict[str, float] = {}
    groups: dict[tuple[str, str], list[float]] = {}
    for working in state.orders.all_open_orders():
        if working.order_id in skip or (side is not None and working.side is not side):
            continue
        signed = working.side.sign * working.leaves_quantity
        if working.oco_group:
            groups.setdefault((working.symbol, working.oco_group), []).append(signed)
        else:
            pending[working.symbol] = pending.get(working.symbol, 0.0) + signed
    if joining is not None and joining.oco_group:
        key = (joining.symbol, joining.oco_group)
        groups.setdefault(key, []).append(joining.side.sign * joining.quantity)
    portfolio = state.portfolio
    for (symbol, _), members in groups.items():
        running = portfolio.position_quantity(symbol) + pending.get(symbol, 0.0)
        furthest = max(members, key=lambda signed: abs(running + signed))
        if abs(running + furthest) > abs(running):
            pending[symbol] = pending.get(symbol, 0.0) + furthest
    return pending


def expected_positions(
    order: OrderRequested, state: RiskState, pending: dict[str, float] | None = None
) -> tuple[float, float]:
    """Return ``(before, after)``: the symbol's position plus its working orders on the
    order's side (`pending_by_symbol`), without and with ``order`` filled.

    Only the order's side: a working order on the other side may never fill, so it
    makes no room (was: a limit sell of 9 at 150 under a long of 9 counted as filled, and
    a buy of 10 passed ``max_position_quantity = 10``: 19 held). An order joining an OCO
    group is an alternative to its members: after it, the group counts its furthest
    member, the order included. ``pending``: `pending_by_symbol` on the order's side."""
    side = order.side
    if pending is None:
        pending = pending_by_symbol(state, side=side)
    position = state.portfolio.position_quantity(order.symbol)
    before = position + pending.get(order.symbol, 0.0)
    if order.oco_group:
        with_order = pending_by_symbol(state, order, side)
        return before, position + with_order.get(order.symbol, 0.0)
    return before, before + side.sign * order.quantity


def _reduces(order: OrderRequested, state: RiskState) -> tuple[bool, float, float]:
    before, after = expected_positions(order, state)
    return order.reduce_only or abs(after) <= abs(before) * _TOLERANCE, before, after


def _price(order: OrderRequested, state: RiskState) -> float:
    """Return the order's reference price in the account currency (× the FX rate now)."""
    return state.reference_price(order) * state.rate(order.symbol)


def _beyond(value: float, limit: float, digits: int = 2) -> tuple[str, str]:
    """Return ``value`` and ``limit`` with as many decimals (``digits`` at least) as it
    takes to show the first above the second: "6000.00 above the maximum 6000.00" hid an
    excess of a fraction of a cent."""
    while digits < 12 and round(abs(value), digits) <= round(limit, digits):
        digits += 1
    return f"{value:.{digits}f}", f"{limit:.{digits}f}"


def _no_price(order: OrderRequested) -> str:
    return f"no price known yet for {order.symbol} to value the order"


class OrderQuantityCheck:
    """An order's quantity may not exceed ``limit`` (base units)."""

    name = "max_order_quantity"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order larger than the limit."""
        if order.quantity > self.limit * _TOLERANCE:
            return f"order quantity {order.quantity:.12g} exceeds the maximum {self.limit:.12g}"
        return None


class OrderNotionalCheck:
    """An order's notional (quantity × reference price) may not exceed ``limit``."""

    name = "max_order_notional"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order worth more than the limit."""
        price = _price(order, state)
        if not math.isfinite(price):
            return _no_price(order)
        notional = order.quantity * price
        if notional > self.limit * _TOLERANCE:
            shown, limit = _beyond(notional, self.limit)
            return (
                f"order notional {shown} ({order.quantity:.12g} x {price:.12g}) exceeds "
                f"the maximum {limit}"
            )
        return None


class PositionQuantityCheck:
    """The expected absolute position per symbol may not exceed ``limit`` base units."""

    name = "max_position_quantity"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order that takes |position| beyond the limit."""
        reducing, before, after = _reduces(order, state)
        if reducing or abs(after) <= self.limit * _TOLERANCE:
            return None
        return (
            f"{order.symbol} position would be {after:.12g} (from {before:.12g}), beyond the "
            f"maximum {self.limit:.12g}"
        )


class PositionNotionalCheck:
    """The expected absolute position value per symbol may not exceed ``limit``."""

    name = "max_position_notional"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order that takes the position's value beyond the limit."""
        reducing, _, after = _reduces(order, state)
        if reducing:
            return None
        price = _price(order, state)
        if not math.isfinite(price):
            return _no_price(order)
        value = abs(after) * price
        if value > self.limit * _TOLERANCE:
            shown, limit = _beyond(value, self.limit)
            return (
                f"{order.symbol} position value would be {shown} ({abs(after):.12g} x "
                f"{price:.12g}), beyond the maximum {limit}"
            )
        return None


class PositionPercentCheck:
    """The expected position value per symbol may not exceed ``limit_pct`` % of equity."""

    name = "max_position_pct"

    def __init__(self, limit_pct: float) -> None:
        self.limit_pct = limit_pct

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order that takes the position beyond the percentage of equity."""
        reducing, _, after = _reduces(order, state)
        if reducing:
            return None
        price = _price(order, state)
        if not math.isfinite(price):
            return _no_price(order)
        equity = state.portfolio.equity()
        value = abs(after) * price
        limit = max(equity, 0.0) * self.limit_pct / 100.0
        if value > limit * _TOLERANCE:
            share = math.inf if equity <= 0 else 100.0 * value / equity
            return (
                f"{order.symbol} position value would be {value:.2f} = {share:.2f}% of "
                f"equity {equity:.2f}, beyond the maximum {self.limit_pct:g}%"
            )
        return None


def _exposures(order: OrderRequested, state: RiskState) -> tuple[float, float, float, float]:
    """Return gross and net exposure now and after ``order`` fills (at its reference price).

    Positions are valued at the last close; the order's symbol after the fill at the
    order's reference price. Working orders count as if filled, of every symbol: another
    symbol's at their limit/stop (else its last close), and only what they add to that
    symbol's absolute position. Was: only the order's own symbol's, so a buy of 0.2 BTC
    and one of 6 ETH placed on the same bar both passed ``max_gross_exposure = 6000``
    (7,364.43 together; the built-in leverage check counted them).
    """
    portfolio = state.portfolio
    last = portfolio.last_price(order.symbol) * state.rate(order.symbol)
    price = _price(order, state)
    position = portfolio.position_quantity(order.symbol)
    before, after = expected_positions(order, state)
    gross = portfolio.gross_exposure()
    mark = last if math.isfinite(last) else price
    net = portfolio.equity() - portfolio.cash  # Σ signed position values
    gross_before = gross - abs(position) * mark + abs(before) * price
    net_before = net - position * mark + before * price
    buys, sells = pending_by_symbol(state, side=_BUY), pending_by_symbol(state, side=_SELL)
    others = (buys.keys() | sells.keys()) - {order.symbol}
    prices = _working_prices(state) if others else {}
    for symbol in others:
        held = portfolio.position_quantity(symbol)
        # the side that adds more (the other may never fill), and only what it adds
        signed = max(buys.get(symbol, 0.0), sells.get(symbol, 0.0), key=lambda q: abs(held + q))
        added = abs(held + signed) - abs(held)
        if added > 0.0:  # what may never fill does not lower an exposure
            gross_before += added * prices[symbol]
            net_before += signed * prices[symbol]
    gross_after = gross_before - abs(before) * price + abs(after) * price
    net_after = net_before + (after - before) * price
    return gross_before, gross_after, net_before, net_after


def _working_prices(state: RiskState) -> dict[str, float]:
    """Return the price (account currency) each symbol's working orders are valued at:
    the highest limit/stop or last close among them (the larger value, the safer side)."""
    portfolio = state.portfolio
    prices: dict[str, float] = {}
    for working in state.orders.all_open_orders():
        symbol = working.symbol
        quote = working.limit_price or working.stop_price or portfolio.last_price(symbol)
        value = quote * state.rate(symbol)
        if math.isfinite(value) and value > prices.get(symbol, 0.0):
            prices[symbol] = value
    return prices


class GrossExposureCheck:
    """Σ |position value| after the order may not exceed ``limit`` (account currency)."""

    name = "max_gross_exposure"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an exposure-increasing order that takes gross exposure beyond the limit."""
        if _reduces(order, state)[0]:
            return None
        if not math.isfinite(_price(order, state)):
            return _no_price(order)
        _, gross_after, _, _ = _exposures(order, state)
        if gross_after > self.limit * _TOLERANCE:
            shown, limit = _beyond(gross_after, self.limit)
            return f"gross exposure would be {shown}, above the maximum {limit}"
        return None


class NetExposureCheck:
    """|Σ signed position value| after the order may not exceed ``limit``.

    An order that moves net exposure toward zero always passes.
    """

    name = "max_net_exposure"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order that takes |net exposure| beyond the limit."""
        if order.reduce_only:
            return None
        if not math.isfinite(_price(order, state)):
            return _no_price(order)
        _, _, net_before, net_after = _exposures(order, state)
        if abs(net_after) <= abs(net_before) or abs(net_after) <= self.limit * _TOLERANCE:
            return None
        shown, limit = _beyond(net_after, self.limit)
        return f"net exposure would be {shown}, beyond the maximum +/-{limit}"


class LeverageLimitCheck:
    """Gross exposure / equity after the order may not exceed ``limit``."""

    name = "max_leverage"

    def __init__(self, limit: float) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an exposure-increasing order that takes leverage beyond the limit."""
        if _reduces(order, state)[0]:
            return None
        if not math.isfinite(_price(order, state)):
            return _no_price(order)
        _, gross_after, _, _ = _exposures(order, state)
        equity = state.portfolio.equity()
        if equity <= 0:
            return f"equity is {equity:.2f}: no exposure may be added"
        leverage = gross_after / equity
        if leverage > self.limit * _TOLERANCE:
            shown, _ = _beyond(leverage, self.limit, 3)
            return (
                f"leverage would be {shown} (gross {gross_after:.2f} / equity "
                f"{equity:.2f}), above the maximum {self.limit:g}"
            )
        return None


class MaxOpenOrdersCheck:
    """At most ``limit`` working orders (all strategies, all symbols) at a time.

    Not counted, and never denied: the engine's own protective exits (``[risk.exits]``,
    strategy id ``<strategy>.exits``; denying one left a position without its take
    profit) and the "flatten" action's orders. Orders whose cancel was requested are not
    in the risk engine's book (`engine.risk.working.WorkingBook`), so a cancel-and-replace
    in one step fits, as the exits' replacement after every fill does.
    """

    name = "max_open_orders"

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny a new order when ``limit`` orders are already working."""
        if _engine_order(order.strategy_id, order.reduce_only):
            return None
        count = sum(
            1
            for working in state.orders.all_open_orders()
            if not _engine_order(working.strategy_id, working.order_id in state.reduce_only_ids)
        )
        if count >= self.limit:
            return f"{count} orders are working, the maximum is {self.limit}"
        return None


def _engine_order(strategy_id: str, reduce_only: bool) -> bool:
    """Return whether an order is the engine's own protective one (exits, flatten)."""
    return reduce_only and (strategy_id.endswith(EXITS_SUFFIX) or strategy_id == "risk")


class OrderRateCheck:
    """At most ``limit`` approved-so-far orders per ``window_ns`` of simulated time.

    Counts the orders that passed every check before this one, by their ``ts_event`` (the
    decision time: the simulated time in a backtest, the wall clock live). Must therefore
    come last in the check list so that denied orders do not use up the budget.
    """

    name = "order_rate"

    def __init__(self, limit: int, window_ns: int) -> None:
        self.limit = limit
        self.window_ns = window_ns
        self._times: deque[int] = deque()

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order when ``limit`` orders were already sent within the window."""
        times = self._times
        start = order.ts_event - self.window_ns
        while times and times[0] <= start:
            times.popleft()
        if len(times) >= self.limit:
            seconds = self.window_ns / 1e9
            return f"{len(times)} orders in the last {seconds:g} s, the maximum is {self.limit}"
        times.append(order.ts_event)
        return None


class PriceBandCheck:
    """A limit or stop price may be at most ``band_pct`` % away from the last price.

    Catches fat fingers (a misplaced decimal). Market orders have no price to check.
    """

    name = "price_band"

    def __init__(self, band_pct: float) -> None:
        self.band_pct = band_pct

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny a limit/stop price outside the band around the last price."""
        last = state.portfolio.last_price(order.symbol)
        if not math.isfinite(last) or last <= 0:
            return None
        for label, price in (("limit", order.limit_price), ("stop", order.stop_price)):
            if price is None:
                continue
            away = 100.0 * abs(price - last) / last
            band = self.band_pct
            if away > band * _TOLERANCE:
                # as many decimals as it takes to show the distance beyond the band (was
                # :.2f and :g, "17137.5 is 10.00% away ... beyond the band of 10%")
                digits = 2
                while digits < 12 and round(away, digits) <= band:
                    digits += 1
                return (
                    f"{label} price {price:.12g} is {away:.{digits}f}% away from the last "
                    f"price {last:.12g}, beyond the band of {band:g}%"
                )
        return None


class DirectionCheck:
    """Long-only (no short position) or short-only (no long position) trading."""

    def __init__(self, direction: str) -> None:
        if direction not in ("long_only", "short_only"):
            raise ValueError(f"direction must be long_only or short_only, got {direction!r}")
        self.name = direction
        self._sign = 1.0 if direction == "long_only" else -1.0

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order whose expected position after the fill is on the forbidden side."""
        if order.reduce_only:
            return None
        before, after = expected_positions(order, state)
        if after * self._sign >= -1e-12 or (after * before > 0 and abs(after) <= abs(before)):
            return None
        side = "short" if self._sign > 0 else "long"
        return (
            f"{self.name}: {order.side} {order.quantity:.12g} {order.symbol} would leave a "
            f"{side} position of {after:.12g}"
        )


class AllowedSymbolsCheck:
    """Only symbols on the allow-list may be traded (reducing orders always pass)."""

    name = "allowed_symbols"

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = frozenset(symbols)

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order on a symbol not in the allow-list."""
        if order.symbol in self.symbols or _reduces(order, state)[0]:
            return None
        return f"{order.symbol} is not in the allowed symbols {sorted(self.symbols)}"


class BlockedSymbolsCheck:
    """Symbols on the block-list may not be traded (reducing orders always pass)."""

    name = "blocked_symbols"

    def __init__(self, symbols: Sequence[str]) -> None:
        self.symbols = frozenset(symbols)

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an order on a blocked symbol."""
        if order.symbol not in self.symbols or _reduces(order, state)[0]:
            return None
        return f"{order.symbol} is in the blocked symbols"


class Session:
    """A daily UTC trading window ``[start, end)`` on the given weekdays (0 = Monday).

    ``end`` before ``start`` wraps past midnight (22:00-02:00); the weekday is that of
    the window's start.
    """

    def __init__(self, start_s: int, end_s: int, weekdays: Sequence[int]) -> None:
        self.start_s = start_s
        self.end_s = end_s
        self.weekdays = frozenset(weekdays)

    def contains(self, ts_ns: int) -> bool:
        """Return whether ``ts_ns`` (UTC) falls in this session."""
        day, rest = divmod(ts_ns, DAY_NS)
        second = rest // 10**9
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        if self.start_s <= self.end_s:
            return weekday in self.weekdays and self.start_s <= second < self.end_s
        if second >= self.start_s:
            return weekday in self.weekdays
        return (weekday - 1) % 7 in self.weekdays and second < self.end_s


class TradingHoursCheck:
    """Orders may be placed only inside one of the sessions (by the order's ``ts_event``).

    Reducing orders pass outside the sessions too, so a position can always be closed.
    """

    name = "trading_hours"

    def __init__(self, sessions: Sequence[Session]) -> None:
        self.sessions = list(sessions)

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        """Deny an exposure-adding order decided outside every session."""
        ts = order.ts_event
        if any(session.contains(ts) for session in self.sessions):
            return None
        if _reduces(order, state)[0]:
            return None
        day, rest = divmod(ts, DAY_NS)
        weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[(day + 3) % 7]
        seconds = rest // 10**9
        clock = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        return f"{weekday} {clock} UTC is outside the trading sessions"
