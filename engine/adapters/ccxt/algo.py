"""USDⓈ-M conditional orders through ccxt 4.5.90: `CcxtExchange` with Binance's algo orders.

Binance takes USDⓈ-M stop and take-profit orders only through its algo service. ccxt
4.5.90's binance sends a swap market's ``create_order`` with a trigger price (the
``stopLossPrice`` `engine.adapters.ccxt.replace.order_params` sets for a stop) to
``POST /fapi/v1/algoOrder`` (``algoType = CONDITIONAL``, type ``STOP_MARKET`` for a market,
``STOP`` with ``price`` for a limit; the client id as ``clientAlgoId``, the stop as
``triggerPrice``), so `CcxtExchange.create` needs nothing more. What does: the algo order
lives apart from the matching engine until it triggers, then places a plain order there
(``actualOrderId``) which carries the fills. So for a perpetual:

* `AlgoExchange.fetch` looks the client id up as a plain order first (a triggered stop's
  order carries the ``clientAlgoId`` as its ``clientOrderId``); when that is not found,
  as an algo order (``GET /fapi/v1/algoOrder?clientAlgoId=``, ccxt ``params={"trigger":
  True}``): untriggered it is the answer (open, canceled, rejected or expired); triggered,
  the plain order its ``actualOrderId`` names is (its status, fills and id, under the
  stop's client id), so the order manager reads the fills by that id as for any order.
  (The local exchange names the placed order with the ``clientAlgoId``; were Binance to
  name it otherwise, this look-up through ``actualOrderId`` still finds it, and its stream
  reports, under an id the node does not know, are left to the poll.)
* `AlgoExchange.cancel` cancels the plain order first (a stop-limit triggered and
  resting), and on "unknown order" the algo order (``DELETE /fapi/v1/algoOrder``), whose
  answer is then read back.
* `AlgoExchange.open_orders` adds the untriggered algo orders (``GET openAlgoOrders``): a
  working stop is an open order to reconciliation and the kill switch.
* `AlgoExchange.create_oco` sends a perpetual's one-cancels-other pair as two orders, the
  stop (an algo order) then the take-profit (a limit), both reduce-only; the node pairs
  them (`engine.runtime.live.pairs`).
* `algo_progress`: on the user stream ccxt.pro turns an ``ALGO_UPDATE`` into an order
  whose status is "closed" once it has TRIGGERED (or FINISHED) with nothing filled; the
  plain order's own ``ORDER_TRADE_UPDATE``s say how it fills, so those are skipped
  (`engine.adapters.ccxt.user`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from engine.adapters.ccxt.contract import Action
from engine.adapters.ccxt.venue import CcxtExchange, ExchangeOrder, OcoSpec, OrderCallFailed

__all__ = ["AlgoExchange", "algo_progress"]

_TRIGGER = {"trigger": True}


def _unless_not_found(
    call: Callable[[str, str], ExchangeOrder], client_id: str, symbol: str, perpetual: bool
) -> ExchangeOrder | None:
    """Return ``call(client_id, symbol)``; None if it is "not found" on a perpetual."""
    try:
        return call(client_id, symbol)
    except OrderCallFailed as failed:
        if not perpetual or failed.verdict.action is not Action.NOT_FOUND:
            raise
    return None


def algo_progress(raw: Mapping[str, Any]) -> bool:
    """True for a ccxt order parsed from an ``ALGO_UPDATE`` that says the stop triggered
    (TRIGGERING, TRIGGERED, FINISHED): its placed order reports the fills itself."""
    info = raw.get("info") or {}
    return "aid" in info and info.get("X") in ("TRIGGERING", "TRIGGERED", "FINISHED")


class AlgoExchange(CcxtExchange):
    """`CcxtExchange` whose perpetuals' stops are Binance algo orders (see the module)."""

    def fetch(self, client_id: str, symbol: str) -> ExchangeOrder:
        """Return the order with ``client_id``: plain, or an algo order (see the module)."""
        plain = _unless_not_found(super().fetch, client_id, symbol, self.perpetual(symbol))
        return plain or self._algo(client_id, symbol)

    def cancel(self, client_id: str, symbol: str) -> ExchangeOrder:
        """Cancel the order with ``client_id``: plain, else the algo order; the answer is
        the order's state after the cancel. `OrderCallFailed` if neither is open."""
        plain = _unless_not_found(super().cancel, client_id, symbol, self.perpetual(symbol))
        if plain is not None:
            return plain
        market = self.market_symbol(symbol)

        def send() -> Any:
            params = {"clientAlgoId": client_id, **_TRIGGER}
            return self.exchange.cancel_order(None, market, params)

        self._run(f"canceling conditional order {client_id}", send, resend_safe=False)
        return self._algo(client_id, symbol)

    def create_oco(self, spec: OcoSpec) -> list[ExchangeOrder]:
        """Send a perpetual's pair as two orders, the stop first (Binance USDⓈ-M has no
        order list; the node pairs them: `engine.runtime.live.pairs`). A target refused
        after the stop was placed cancels the stop, then raises the refusal."""
        if not self.perpetual(spec.stop.symbol):
            return super().create_oco(spec)
        stop = self.create(spec.stop)
        try:
            target = self.create(spec.target)
        except OrderCallFailed as failed:
            if failed.verdict.action is Action.REJECT:
                self.cancel(spec.stop.client_id, spec.stop.symbol)
            raise
        return [stop, target]

    def open_orders(self, symbol: str) -> list[ExchangeOrder]:
        """Return the open orders of ``symbol``, with a perpetual's untriggered stops."""
        orders = super().open_orders(symbol)
        if not self.perpetual(symbol):
            return orders
        market = self.market_symbol(symbol)
        rows = self.read(
            f"fetching open conditional {symbol} orders",
            lambda: self.exchange.fetch_open_orders(market, None, None, dict(_TRIGGER)),
        )
        return orders + [self._order(r) for r in rows]

    def _algo(self, client_id: str, symbol: str) -> ExchangeOrder:
        """The algo order ``client_id``; once triggered, the plain order it placed."""
        market = self.market_symbol(symbol)

        def look() -> Any:
            params = {"clientAlgoId": client_id, **_TRIGGER}
            return self.exchange.fetch_order(None, market, params)

        raw = self._run(f"fetching conditional order {client_id}", look, resend_safe=True)
        actual = str((raw.get("info") or {}).get("actualOrderId") or "")
        if not actual:
            return self._order(raw)

        def placed() -> Any:
            return self.exchange.fetch_order(actual, market)

        answer = self._run(f"fetching order {actual} of {client_id}", placed, resend_safe=True)
        return replace(self._order(answer), client_id=client_id)
