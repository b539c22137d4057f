"""The local exchange's USDⓈ-M perpetual account: Binance futures semantics over the replay.

The matching is the spot venue's (`engine.adapters.local.venue`: markets at the in-progress
bar's open, limits through or at the open, the same filters, ids and faults); what differs
is the account, Binance USDⓈ-M futures in one-way position mode and cross margin:

* One **wallet** in the settle asset (the instruments' quote, USDT). A fill changes no base
  asset: it moves the symbol's **position** (signed ``positionAmt``; < 0 is short), and the
  PnL it realizes (``closed × (price − entryPrice) × sign``) and its fee (``fee_rate`` of the
  notional, in USDT, maker and taker alike) hit the wallet. A trade's ``maker`` says which
  side it was (the spot rule: a resting limit a bar trades through fills as a maker).
  Adding to a position moves ``entryPrice`` to the quantity-weighted mean; crossing zero
  closes the old side and opens the new one at the fill price (the backtest's
  `engine.portfolio.Position` rules).
* **Margin**: an order that opens or adds needs ``notional / leverage + fee`` of available
  balance (wallet + unrealized PnL − the initial margin of the positions, marked at the
  market price), else ``-2019 Margin is insufficient.``. Resting orders lock nothing (Binance
  reserves their margin; here only the check at placement guards it).
* **reduceOnly**: refused with ``-2022 ReduceOnly Order is rejected.`` when the position is
  flat, on the order's side, or smaller than the order; the NOTIONAL filter does not apply
  to it (Binance exempts reduce-only orders from the minimum notional).
* **Leverage** (``POST /fapi/v1/leverage``): an integer from 1 to 125 per symbol; 20 at start.
* **Funding** (optional, ``funding``: per symbol the times and rates of
  `engine.portfolio.accounts.FundingRates`): when a bar closes, every funding time up to its
  close not yet settled makes the position pay ``positionAmt × close × rate`` (rate > 0:
  longs pay, shorts receive) from the wallet — the backtest's rule. Each payment is kept in
  ``income`` (Binance's ``FUNDING_FEE`` income rows).
* Not modelled: the mark price (the market price stands in for it), liquidation, isolated
  margin, hedge mode (``POST positionSide/dual`` sets what ``dualSidePosition`` reports, so
  a client's refusal of hedge mode can be tested; positions stay one-way; ``marginType``
  likewise sets what ``symbolConfig`` reports). Spot's STOP_LOSS types are refused (-1116)
  and USDⓈ-M's conditional types on ``/fapi/v1/order`` answer -4120, as Binance's do: they
  go through its algo order API, ``POST /fapi/v1/algoOrder``
  (`engine.adapters.local.algo`, the ``algos`` book).
* **Post-only** is time in force ``GTX`` on a LIMIT (what ccxt sends for ``postOnly`` on a
  swap market): one that would take at the market price at placement is refused, HTTP 400
  ``-5022`` (`GTX_REJECTED`), and nothing is booked; else it rests and fills as any
  resting limit (a maker when a bar trades through it).
* **Modify in place** (``PUT /fapi/v1/order``, `FuturesVenue.amend`: ccxt's ``edit_order``
  on a swap market): a resting LIMIT keeps its ``orderId`` and ``clientOrderId`` and takes
  the new ``quantity`` (the order's whole quantity, filled part included) and ``price``.
  Refused, the order untouched: -2013 ``Order does not exist.`` (unknown or no longer
  open), -5025 ``Only limit order is supported.``, -5027 ``No need to modify the order.``
  (same terms), -1013 (filters), -2022 (a reduce-only order larger than the position),
  -2019 (margin for what is left). Canceled by the amendment, as Binance documents: a new
  quantity not above ``executedQty`` (answered with the canceled order), a GTX order whose
  new price would take (answered -5022). A price that makes a plain limit marketable
  fills it at once as a taker, as at placement. The user stream reports ``x``
  ``AMENDMENT``.

The **user-data events** are USDⓈ-M's (sent on a listenKey's ``/private/ws`` connection,
`engine.adapters.local.streams`): an ``ORDER_TRADE_UPDATE`` for every order report (NEW,
TRADE with the fill's ``l``/``L``/``n``/``t``/``rp``, CANCELED, EXPIRED), an
``ACCOUNT_UPDATE`` (reason ``ORDER``: the wallet and the position) after each fill, and an
``ACCOUNT_UPDATE`` of reason ``FUNDING_FEE`` (the wallet alone, as Binance sends it for a
cross position) for each funding payment; an ``ALGO_UPDATE`` for every change of a
conditional order's status.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.adapters.local.algo import ALGO_TYPES, AlgoBook
from engine.adapters.local.faults import Faults
from engine.adapters.local.replay import Kline, Replay
from engine.adapters.local.venue import STOP_TYPES, BinanceError, Order, Venue, fmt, split_symbol
from engine.model import Instrument
from engine.portfolio.accounts import FundingRates

__all__ = [
    "DEFAULT_LEVERAGE",
    "GTX_REJECTED",
    "FuturesPosition",
    "FuturesVenue",
    "futures_order_json",
]

DEFAULT_LEVERAGE = 20  # Binance's initial leverage of a USDⓈ-M symbol
#: Binance USDⓈ-M's -5022 text: a GTX (post-only) limit that would take at once
GTX_REJECTED = (
    "Due to the order could not be executed as maker, the Post Only order will be rejected. "
    "The order will not be recorded in the order book"
)
_NS_PER_MS = 1_000_000


@dataclass
class FuturesPosition:
    """One symbol's one-way position: ``amount`` signed (< 0 short) at ``entry_price``."""

    amount: float = 0.0
    entry_price: float = 0.0
    update_ms: int = 0

    def apply(self, signed: float, price: float) -> float:
        """Apply a fill of ``signed`` quantity at ``price``; return the PnL it realized."""
        old = self.amount
        new = old + signed
        if abs(new) <= 1e-9 * max(abs(old), abs(signed)):
            new = 0.0  # lot arithmetic dust is no position
        realized = 0.0
        if old == 0.0 or (old > 0) == (signed > 0):
            self.entry_price = (abs(old) * self.entry_price + abs(signed) * price) / abs(new)
        else:
            closed = min(abs(signed), abs(old))
            realized = closed * (price - self.entry_price) * (1.0 if old > 0 else -1.0)
            if new == 0.0:
                self.entry_price = 0.0
            elif (new > 0) != (old > 0):
                self.entry_price = price
        self.amount = new
        return realized


def futures_order_json(order: Order) -> dict[str, Any]:
    """Return ``order`` as Binance's ``GET /fapi/v1/order`` answers it."""
    average = order.quote_filled / order.filled if order.filled else 0.0
    return {
        "orderId": order.order_id,
        "symbol": order.symbol.replace("/", ""),
        "status": order.status,
        "clientOrderId": order.client_id,
        "price": fmt(order.price),
        "avgPrice": fmt(average),
        "origQty": fmt(order.quantity),
        "executedQty": fmt(order.filled),
        "cumQuote": fmt(order.quote_filled),
        "timeInForce": order.time_in_force,
        "type": order.type,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side,
        "positionSide": "BOTH",
        "stopPrice": fmt(0.0),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": order.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": order.time_ms,
        "updateTime": order.update_ms or order.time_ms,
    }


class FuturesVenue(Venue):
    """The single local USDⓈ-M account: a USDT wallet and one-way positions (see module)."""

    def __init__(
        self,
        replay: Replay,
        instruments: dict[str, Instrument],
        balances: dict[str, float],
        faults: Faults,
        fee_rate: float = 0.0004,
        touch: bool = False,
        funding: Mapping[str, FundingRates] | None = None,
    ) -> None:
        """Start with ``balances`` (the settle asset's wallet), flat, no orders."""
        super().__init__(replay, instruments, balances, faults, fee_rate, touch)
        self.positions = {symbol: FuturesPosition() for symbol in instruments}
        self.leverage = dict.fromkeys(instruments, DEFAULT_LEVERAGE)
        self.dual_side = False  # hedge mode (``positionSide/dual``): reported, not traded
        self.isolated: set[str] = set()  # symbols ``marginType`` ISOLATED: reported, not traded
        self.funding = dict(funding or {})
        self._settled = dict.fromkeys(self.funding, 0)  # funding times settled, per symbol
        self.income: list[dict[str, Any]] = []
        self.algos = AlgoBook(self)  # conditional orders (``/fapi/v1/algoOrder``)

    # -- the account ----------------------------------------------------------------------

    def settle_asset(self, symbol: str) -> str:
        """Return the wallet asset of ``symbol`` (its quote: USDT)."""
        return split_symbol(self.instruments[symbol])[1]

    def mark(self, symbol: str) -> float:
        """Return the price positions are marked at (the market price; 0 before any bar)."""
        return self.replay.markets[symbol].price(self.replay.now_ms) or 0.0

    def unrealized(self, symbol: str) -> float:
        """Return the position's unrealized PnL at the mark."""
        position = self.positions[symbol]
        if not position.amount:
            return 0.0
        return position.amount * (self.mark(symbol) - position.entry_price)

    def initial_margin(self, symbol: str) -> float:
        """Return the position's initial margin: |notional| at the mark / leverage."""
        return abs(self.positions[symbol].amount) * self.mark(symbol) / self.leverage[symbol]

    def available(self, asset: str) -> float:
        """Return the balance free for new positions: wallet + unrealized − initial margin."""
        symbols = [s for s in self.instruments if self.settle_asset(s) == asset]
        return self.free.get(asset, 0.0) + sum(
            self.unrealized(s) - self.initial_margin(s) for s in symbols
        )

    def set_leverage(self, symbol_id: str, leverage: int) -> dict[str, Any]:
        """Set a symbol's leverage (1 to 125, else -4028) as ``POST /fapi/v1/leverage``."""
        instrument = self.instrument(symbol_id)
        if not 1 <= leverage <= 125:
            raise BinanceError(400, -4028, f"Leverage {leverage} is not valid")
        self.leverage[instrument.symbol] = leverage
        return {"leverage": leverage, "maxNotionalValue": fmt(1e9), "symbol": symbol_id}

    def position_json(self, symbol: str) -> dict[str, Any]:
        """Return one row of ``GET /fapi/v3/positionRisk`` (one-way mode: ``BOTH``)."""
        position = self.positions[symbol]
        mark = self.mark(symbol)
        notional = position.amount * mark
        margin = abs(notional) / self.leverage[symbol]
        return {
            "symbol": symbol.replace("/", ""),
            "positionSide": "BOTH",
            "positionAmt": fmt(position.amount),
            "entryPrice": fmt(position.entry_price),
            "breakEvenPrice": fmt(position.entry_price),
            "markPrice": fmt(mark),
            "unRealizedProfit": fmt(self.unrealized(symbol)),
            "liquidationPrice": fmt(0.0),
            "isolatedMargin": fmt(0.0),
            "notional": fmt(notional),
            "marginAsset": self.settle_asset(symbol),
            "isolatedWallet": fmt(0.0),
            "initialMargin": fmt(margin),
            "maintMargin": fmt(0.0),
            "positionInitialMargin": fmt(margin),
            "openOrderInitialMargin": fmt(0.0),
            "adl": 0,
            "bidNotional": fmt(0.0),
            "askNotional": fmt(0.0),
            "updateTime": position.update_ms,
        }

    def account_json(self) -> dict[str, Any]:
        """Return ``GET /fapi/v3/account`` (and ``/fapi/v2/account``): wallet and positions."""
        assets = []
        for asset in sorted(self.free):
            symbols = [s for s in self.instruments if self.settle_asset(s) == asset]
            unrealized = sum(self.unrealized(s) for s in symbols)
            margin = sum(self.initial_margin(s) for s in symbols)
            wallet = self.free[asset]
            assets.append(
                {
                    "asset": asset,
                    "walletBalance": fmt(wallet),
                    "unrealizedProfit": fmt(unrealized),
                    "marginBalance": fmt(wallet + unrealized),
                    "maintMargin": fmt(0.0),
                    "initialMargin": fmt(margin),
                    "positionInitialMargin": fmt(margin),
                    "openOrderInitialMargin": fmt(0.0),
                    "crossWalletBalance": fmt(wallet),
                    "crossUnPnl": fmt(unrealized),
                    "availableBalance": fmt(self.available(asset)),
                    "maxWithdrawAmount": fmt(max(self.available(asset), 0.0)),
                    "updateTime": self.replay.now_ms or 1,  # ccxt skips assets at 0
                }
            )
        wallet_total = sum(self.free.values())
        unrealized_total = sum(self.unrealized(s) for s in self.instruments)
        return {
            "totalWalletBalance": fmt(wallet_total),
            "totalUnrealizedProfit": fmt(unrealized_total),
            "totalMarginBalance": fmt(wallet_total + unrealized_total),
            "availableBalance": fmt(sum(self.available(a) for a in self.free)),
            "assets": assets,
            "positions": [
                self.position_json(s) for s in sorted(self.instruments) if self.positions[s].amount
            ],
        }

    # -- the spot venue's hooks -----------------------------------------------------------

    def create(self, params: dict[str, str]) -> Order:
        """Place an order from ``POST /fapi/v1/order`` parameters (no stop types here)."""
        if params.get("type", "") in STOP_TYPES:
            raise BinanceError(400, -1116, "Invalid orderType.")
        if params.get("type", "") in ALGO_TYPES:
            raise BinanceError(
                400,
                -4120,
                "Order type not supported for this endpoint. "
                "Please use the Algo Order API endpoints instead.",
            )
        return super().create(params)

    def validate(
        self, params: dict[str, str], number: int | None = None
    ) -> tuple[Order, str, float]:
        """Spot's checks, then GTX's: a post-only limit that would take is refused (-5022)."""
        order, asset, need = super().validate(params, number)
        if order.time_in_force == "GTX" and self._would_take(order, order.price):
            raise BinanceError(400, -5022, GTX_REJECTED)
        return order, asset, need

    def amend(self, params: dict[str, str]) -> Order:
        """Modify a resting LIMIT in place from ``PUT /fapi/v1/order`` (see the module)."""
        symbol = params.get("symbol", "")
        order = self.find(symbol, params.get("orderId"), params.get("origClientOrderId"))
        if not order.open:
            raise BinanceError(400, -2013, "Order does not exist.")
        if order.type != "LIMIT":
            raise BinanceError(400, -5025, "Only limit order is supported.")
        try:
            quantity, price = float(params["quantity"]), float(params["price"])
        except (KeyError, ValueError):
            raise BinanceError(400, -1102, "Mandatory parameter was not sent or invalid.") from None
        if params.get("side", "") != order.side:
            raise BinanceError(400, -1102, "Mandatory parameter 'side' was not sent or invalid.")
        instrument = self.instruments[order.symbol]
        self._check_filters(instrument, [price], quantity, price, order.reduce_only)
        if math.isclose(quantity, order.quantity) and math.isclose(price, order.price):
            raise BinanceError(400, -5027, "No need to modify the order.")
        if quantity <= order.filled + instrument.lot_size * 1e-6:
            self._close(order, "CANCELED")  # Binance cancels it (see the module)
            return order
        if order.time_in_force == "GTX" and self._would_take(order, price):
            self._close(order, "CANCELED")
            raise BinanceError(400, -5022, GTX_REJECTED)
        self._reserve(instrument, order.side, quantity - order.filled, price, order.reduce_only)
        order.quantity, order.price = quantity, price
        order.update_ms = self.replay.now_ms
        self._report(order, "AMENDMENT")
        self.match_now(order)
        return order

    def _would_take(self, order: Order, price: float) -> bool:
        """True if a limit at ``price`` would take at the market price now."""
        current = self.replay.markets[order.symbol].price(self.replay.now_ms)
        if current is None:
            return False
        return price >= current if order.side == "BUY" else price <= current

    def _reserve(
        self, instrument: Instrument, side: str, quantity: float, price: float, reduce_only: bool
    ) -> tuple[str, float]:
        """Check margin (or the reduce-only rule); nothing is locked (see the module)."""
        asset = self.settle_asset(instrument.symbol)
        held = self.positions[instrument.symbol].amount
        signed = quantity if side == "BUY" else -quantity
        if reduce_only:
            if held == 0.0 or (held > 0) == (signed > 0) or quantity > abs(held) + 1e-12:
                raise BinanceError(400, -2022, "ReduceOnly Order is rejected.")
            return asset, 0.0
        reducing = 0.0 if held == 0.0 or (held > 0) == (signed > 0) else min(quantity, abs(held))
        opening = quantity - reducing
        need = opening * price / self.leverage[instrument.symbol] + quantity * price * self.fee_rate
        if opening > 0 and self.available(asset) + 1e-12 < need:
            raise BinanceError(400, -2019, "Margin is insufficient.")
        return asset, 0.0

    def _locked_asset(self, order: Order) -> str:
        return self.settle_asset(order.symbol)

    def _fill(self, order: Order, price: float, maker: bool) -> None:
        """Fill as spot does; a reduce-only order only up to the position (Binance cuts it),
        and none when the position is flat or on its side (it expires): never a reversal."""
        if order.reduce_only:
            held = self.positions[order.symbol].amount
            if held == 0.0 or (held > 0) == (order.side == "BUY"):
                self._close(order, "EXPIRED")
                return
            order.quantity = min(order.quantity, order.filled + abs(held))
        traded = len(self.trades)
        super()._fill(order, price, maker)
        if len(self.trades) > traded:  # USDⓈ-M's userTrades name it ``maker`` (ccxt reads it)
            self.trades[-1]["maker"] = maker

    def _settle(self, order: Order, quantity: float, price: float, fee: float) -> dict[str, Any]:
        """Move the position; realized PnL and the fee hit the wallet."""
        asset = self.settle_asset(order.symbol)
        position = self.positions[order.symbol]
        realized = position.apply(quantity if order.side == "BUY" else -quantity, price)
        position.update_ms = self.replay.now_ms
        self.free[asset] = self.free.get(asset, 0.0) + realized - fee
        return {
            "side": order.side,
            "positionSide": "BOTH",
            "buyer": order.side == "BUY",
            "realizedPnl": fmt(realized),
            "marginAsset": asset,
        }

    def _report(self, order: Order, execution: str, trade: dict[str, Any] | None = None) -> None:
        """Queue the ``ORDER_TRADE_UPDATE`` (and after a fill the ``ACCOUNT_UPDATE``)."""
        now = self.replay.now_ms
        average = order.quote_filled / order.filled if order.filled else 0.0
        report = {
            "s": order.symbol.replace("/", ""),
            "c": order.client_id,
            "S": order.side,
            "o": order.type,
            "f": order.time_in_force,
            "q": fmt(order.quantity),
            "p": fmt(order.price),
            "ap": fmt(average),
            "sp": fmt(0.0),
            "x": execution,
            "X": order.status,
            "i": order.order_id,
            "l": trade["qty"] if trade else fmt(0.0),
            "z": fmt(order.filled),
            "L": trade["price"] if trade else fmt(0.0),
            "N": trade["commissionAsset"] if trade else self.settle_asset(order.symbol),
            "n": trade["commission"] if trade else fmt(0.0),
            "T": now,
            "t": trade["id"] if trade else 0,
            "b": fmt(0.0),
            "a": fmt(0.0),
            "m": bool(trade and trade["isMaker"]),
            "R": order.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": order.type,
            "ps": "BOTH",
            "cp": False,
            "rp": trade["realizedPnl"] if trade else fmt(0.0),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        }
        self.events.append({"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": report})
        if trade is not None:
            self._account_update("ORDER", self.settle_asset(order.symbol), order.symbol)

    def _account_update(self, reason: str, asset: str, symbol: str | None = None) -> None:
        """Queue an ``ACCOUNT_UPDATE``: ``asset``'s wallet and ``symbol``'s position, if any."""
        now = self.replay.now_ms
        wallet = fmt(self.free.get(asset, 0.0))
        positions = []
        if symbol is not None:
            position = self.positions[symbol]
            positions.append(
                {
                    "s": symbol.replace("/", ""),
                    "pa": fmt(position.amount),
                    "ep": fmt(position.entry_price),
                    "bep": fmt(position.entry_price),
                    "cr": fmt(0.0),
                    "up": fmt(self.unrealized(symbol)),
                    "mt": "cross",
                    "iw": fmt(0.0),
                    "ps": "BOTH",
                }
            )
        balances = [{"a": asset, "wb": wallet, "cw": wallet, "bc": fmt(0.0)}]
        update = {"m": reason, "B": balances, "P": positions}
        self.events.append({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": update})

    # -- funding --------------------------------------------------------------------------

    def on_bars(self, closed: list[tuple[str, Kline]], opened: list[tuple[str, Kline]]) -> None:
        """Match as spot does, settling funding at each closed bar before the next open.

        Conditional orders trigger before the plain orders match, so of a reduce-only stop
        and a reduce-only take-profit one bar reaches, the stop fills (the backtest's
        ``bracket_conflict = "stop_first"``) and the take-profit finds the position gone.
        """
        for symbol, kline in closed:
            self.algos.on_close(symbol, kline)
        super().on_bars(closed, [])
        for symbol, kline in closed:
            self._fund(symbol, kline)
        for symbol, kline in opened:
            self.algos.on_open(symbol, kline)
        super().on_bars([], opened)
        self.algos.sweep()

    def premium_index(self, symbol: str) -> dict[str, Any]:
        """Return ``GET /fapi/v1/premiumIndex`` of ``symbol``: the mark (the market price),
        the last funding rate paid and ``nextFundingTime``, the first funding time after
        now (0 when the rates have no later one)."""
        rates = self.funding.get(symbol)
        now_ns = self.replay.now_ms * _NS_PER_MS
        later = int(np.searchsorted(rates.ts, now_ns, side="right")) if rates else 0
        next_ms = int(rates.ts[later]) // _NS_PER_MS if rates and later < len(rates.ts) else 0
        last_rate = float(rates.rate[later - 1]) if rates and later else 0.0
        return {
            "symbol": symbol.replace("/", ""),
            "markPrice": fmt(self.mark(symbol)),
            "indexPrice": fmt(self.mark(symbol)),
            "estimatedSettlePrice": fmt(self.mark(symbol)),
            "lastFundingRate": fmt(last_rate),
            "interestRate": fmt(0.0),
            "nextFundingTime": next_ms,
            "time": self.replay.now_ms,
        }

    def _fund(self, symbol: str, kline: Kline) -> None:
        rates = self.funding.get(symbol)
        if rates is None:
            return
        end = int(np.searchsorted(rates.ts, kline.close_ms * _NS_PER_MS, side="right"))
        asset = self.settle_asset(symbol)
        for index in range(self._settled[symbol], end):
            amount = self.positions[symbol].amount
            payment = -amount * kline.close * float(rates.rate[index])
            self._settled[symbol] = index + 1
            if not amount:
                continue
            self.free[asset] = self.free.get(asset, 0.0) + payment
            self.income.append(
                {
                    "symbol": symbol.replace("/", ""),
                    "incomeType": "FUNDING_FEE",
                    "income": fmt(payment),
                    "asset": asset,
                    "time": int(rates.ts[index]) // _NS_PER_MS,
                    "tranId": len(self.income) + 1,
                    "tradeId": "",
                    "info": "FUNDING_FEE",
                }
            )
            self._account_update("FUNDING_FEE", asset)
