"""Perpetuals in a live run: which symbols they are, and the account set up to trade them.

A symbol is a perpetual future in a live run exactly when it is one in a backtest: its
``[[data]]`` table names a ``funding`` series (`engine.portfolio.accounts`). Live, it is
traded as the exchange's linear perpetual settled in its quote (ccxt ``BTC/USDT:USDT``,
Binance USDⓈ-M), in one-way position mode, at the leverage of ``[account] leverage`` (an
integer there: Binance sets whole leverages), set at the exchange on every start.

A config trades either spot symbols or perpetuals, not both: Binance keeps the futures
wallet apart from the spot wallet, and one ccxt client reads one of them.
"""

from __future__ import annotations

from engine.adapters.ccxt.venue import CcxtExchange
from engine.config import RunConfig
from engine.errors import ConfigError

__all__ = ["perpetual_symbols", "prepare_perpetuals"]


def perpetual_symbols(config: RunConfig) -> frozenset[str]:
    """Return the config's perpetuals (symbols with a funding series): all or none.

    Raises:
        ConfigError: Some symbols are perpetuals and others are not.
    """
    perpetuals = frozenset(s.symbol for s in config.data if s.funding is not None)
    spot = sorted(set(config.symbols) - perpetuals)
    if perpetuals and spot:
        raise ConfigError(
            f"live trading trades spot symbols or perpetuals, not both: {sorted(perpetuals)} "
            f"have a funding series (perpetuals), {spot} do not; run one node per wallet"
        )
    return perpetuals


def prepare_perpetuals(exchange: CcxtExchange, config: RunConfig) -> int:
    """Refuse a hedge-mode account and set each perpetual's leverage; return the leverage.

    Raises:
        ConfigError: ``[account] leverage`` is not a whole number, or the account is in
            hedge mode (long and short positions apart): switch it to one-way mode.
    """
    leverage = config.account.leverage
    if not exchange.perpetuals:
        return 0
    if leverage != int(leverage):
        raise ConfigError(
            f"[account] leverage = {leverage:g}: perpetuals trade at a whole leverage; "
            "set an integer"
        )
    exchange.load()
    for symbol in sorted(exchange.perpetuals):
        if exchange.hedge_mode(symbol):
            raise ConfigError(
                f"{exchange.exchange_id}'s account is in hedge mode (dual-side positions): "
                "Kestrel trades perpetuals in one-way mode; switch the position mode first"
            )
        exchange.set_leverage(symbol, int(leverage))
    return int(leverage)
