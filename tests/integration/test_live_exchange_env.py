"""``$KESTREL_EXCHANGE_URL`` sends a live node's orders where it sends its market data.

Found while checking that variable: the market-data feed read it, the order client and
the user-data stream did not. ``kestrel live --live`` with the variable set and no
``--exchange-url`` then decided on the local server's prices and sent its orders, with
real keys, to the real exchange. Now the command resolves one URL (the option, else the
variable) and every client uses it: here the node trades against the local exchange.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from engine.adapters.local import LocalExchange
from engine.feeds import load_bars
from tests.contract.conftest import BTC, btc_rows
from tests.integration.conftest import REPO
from tests.integration.test_live_crash import CONFIG, SECRET, _wait_for_orders


def test_the_environment_url_serves_orders_as_well_as_bars(tmp_path: Path) -> None:
    config = tmp_path / "env.toml"
    config.write_text(CONFIG)
    db, log = tmp_path / "k.db", tmp_path / "log"
    frame = load_bars(btc_rows(300), symbol="BTC/USDT", timeframe="1h")
    local = LocalExchange([frame], {"BTC/USDT": BTC}, secret=SECRET, speed=20 * 3600.0,
                          history=100, paused=True)  # fmt: skip
    local.start()
    env = {**os.environ, "KESTREL_API_KEY": "any", "KESTREL_API_SECRET": SECRET}
    env.update(PYTHONPATH=str(REPO), KESTREL_EXCHANGE_URL=local.urls["http"])
    env.pop("KESTREL_DB_URL", None)
    command = [sys.executable, "-m", "engine.cli", "live", str(config), "--live",
               "--db", f"sqlite:///{db}", "--log-dir", str(log), "--max-bars", "60"]  # fmt: skip
    try:
        local.resume()
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, done.stderr
        assert _wait_for_orders(db, deadline_s=1.0), "the node's orders are stored"
        assert local.venue.orders, "and the local exchange received them"
    finally:
        local.stop()
