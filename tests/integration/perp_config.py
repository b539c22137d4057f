"""The live config of the perpetual tests: BTC/USDT at leverage 3 with funding.

`perpetual_config` writes what every perpetual CLI test shares (account, data, instrument,
costs); each test names its strategy, its span and any extra ``[account]`` lines.
"""

from __future__ import annotations

from pathlib import Path

from tests.contract.conftest import BTC_CSV

SYMBOL = "BTC/USDT"


def perpetual_config(
    path: Path,
    *,
    name: str,
    start: str,
    end: str,
    funding: Path,
    strategy: str,
    strategy_id: str,
    params: str,
    account_extra: str = "",
) -> Path:
    """Write the config to ``path`` and return it (``params``: an inline TOML table body)."""
    path.write_text(f"""
[live]
mode = "live"

[run]
name = "{name}"

[account]
initial_cash = 10000.0
currency = "USDT"
leverage = 3
{account_extra}

[[data]]
path = "{BTC_CSV}"
symbol = "{SYMBOL}"
start = "{start}"
end = "{end}"
funding = "{funding}"

[[instruments]]
symbol = "{SYMBOL}"
tick_size = 0.01
lot_size = 0.00001
min_quantity = 0.00001
min_notional = 10.0

[strategy]
path = "{strategy}"
id = "{strategy_id}"
params = {{ {params} }}

[execution]
fee_rate = 0.0004
slippage_bps = 0.0
""")
    return path
