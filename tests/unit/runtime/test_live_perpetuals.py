"""Which symbols a live run trades as perpetuals, and the account set up for them."""

from __future__ import annotations

from typing import Any

import pytest

from engine import parse_config
from engine.config import RunConfig
from engine.errors import ConfigError
from engine.runtime.live.perpetuals import perpetual_symbols, prepare_perpetuals


def config(leverage: float = 2.0, funded: tuple[str, ...] = ("BTC/USDT",)) -> RunConfig:
    data = [
        {"path": "x.csv", "symbol": s, "funding": "rates.csv" if s in funded else None}
        for s in ("BTC/USDT", "ETH/USDT")
    ]
    return parse_config(
        {
            "account": {"initial_cash": 1000.0, "currency": "USDT", "leverage": leverage},
            "data": [{k: v for k, v in d.items() if v is not None} for d in data],
            "strategy": {"path": "unused:Unused"},
        }
    )


class Client:
    """What `prepare_perpetuals` reads of the ccxt client: its markets and margin modes."""

    def __init__(self, linear: frozenset[str], isolated: frozenset[str]) -> None:
        self.markets = {s: {"linear": s in linear} for s in linear | {"BTC/USD:USD"}}
        self.isolated = isolated

    def fetch_margin_mode(self, swap: str) -> dict[str, str]:
        return {"symbol": swap, "marginMode": "isolated" if swap in self.isolated else "cross"}


class Account:
    """What `prepare_perpetuals` uses of `CcxtExchange`."""

    exchange_id = "binance"

    def __init__(
        self,
        perpetuals: frozenset[str],
        hedged: bool = False,
        isolated: frozenset[str] = frozenset(),
    ) -> None:
        self.perpetuals = perpetuals
        self.hedged = hedged
        self.leverages: dict[str, int] = {}
        swaps = frozenset(self.market_symbol(s) for s in ("BTC/USDT", "ETH/USDT"))
        self.exchange = Client(swaps, frozenset(self.market_symbol(s) for s in isolated))

    def market_symbol(self, symbol: str) -> str:
        return f"{symbol}:{symbol.partition('/')[2]}"

    def read(self, what: str, call: Any) -> Any:
        return call()

    def load(self) -> None:
        """The markets are there from the start."""

    def hedge_mode(self, symbol: str) -> bool:
        return self.hedged

    def set_leverage(self, symbol: str, leverage: int) -> None:
        self.leverages[symbol] = leverage


def test_a_symbol_with_a_funding_series_is_a_perpetual() -> None:
    both = ("BTC/USDT", "ETH/USDT")
    assert perpetual_symbols(config(funded=both)) == frozenset(both)
    assert perpetual_symbols(config(funded=())) == frozenset()


def test_spot_and_perpetuals_in_one_config_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"not both: \['BTC/USDT'\] have a funding series"):
        perpetual_symbols(config())


def test_the_leverage_is_set_per_perpetual() -> None:
    account = Account(frozenset({"BTC/USDT", "ETH/USDT"}))
    assert prepare_perpetuals(account, config(3.0)) == 3  # type: ignore[arg-type]
    assert account.leverages == {"BTC/USDT": 3, "ETH/USDT": 3}


@pytest.mark.parametrize(
    ("account", "leverage", "message"),
    [
        (Account(frozenset({"BTC/USDT"})), 2.5, "leverage = 2.5: perpetuals trade at a whole"),
        (Account(frozenset({"BTC/USDT"}), hedged=True), 2.0, "is in hedge mode"),
        (
            Account(frozenset({"ETH/USDT"}), isolated=frozenset({"ETH/USDT"})),
            2.0,
            "ETH/USDT perpetual is in isolated margin mode",
        ),
        (Account(frozenset({"BTC/USD"})), 2.0, "no linear perpetual BTC/USD:USD .*coin-margined"),
        (Account(frozenset({"XRP/USDT"})), 2.0, "no linear perpetual XRP/USDT:USDT"),
    ],
)
def test_a_fractional_leverage_hedge_or_isolated_mode_or_no_linear_swap_is_refused(
    account: Any, leverage: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        prepare_perpetuals(account, config(leverage))
    assert account.leverages == {}
