"""``kestrel live`` on a perpetual reconciles its money with the futures wallet (issue 15:
"refuse to trade (exit with a clear report) on a mismatch it cannot explain").

The rig of ``test_live_perpetual_cli`` (BTC/USDT hours as a USDⓈ-M perpetual, 8-hourly
funding, `LongShort` at leverage 3, the exchange moved one bar at a time). The node trades,
stops holding a position and is down while funding is paid on it: restarted, it explains
it (the start record's wallet is the exchange's) and trades on (a fill while down: the
contract test ``test_live_perpetual_wallet``; market orders fill as they are sent here).
Then a transfer out of the wallet by hand (``POST /_admin/adjust``): the next start refuses
with one line naming both figures and the difference, exit 5, nothing sent.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import CliRunner, assert_one_line_error
from tests.integration.test_live_perpetual_cli import (  # noqa: F401 (rig: a fixture)
    HISTORY,
    SECRET,
    SYMBOL,
    Node,
    rig,
)
from tests.integration.test_live_restart_cli import _records as records


def wallet(local: Any) -> float:
    return float(local.venue.account_json()["assets"][0]["walletBalance"])


def test_funding_while_down_is_explained_and_a_transfer_by_hand_refuses(
    rig: Any,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
    kestrel: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame, config, local = rig
    node = Node(config, local, tmp_path)
    node.started()
    index = HISTORY
    while index < HISTORY + 4 or not local.venue.positions[SYMBOL].amount:
        node.step(int(frame.ts_close_ns[index]))
        index += 1
    node.stop()
    payments = len(local.venue.income)
    for _ in range(10):  # down: funding is paid on the position at 08:00
        local.advance(1)
    assert len(local.venue.income) > payments
    node = Node(config, local, tmp_path)
    start = node.started()
    assert start["wallet"]["wallet USDT"] == pytest.approx(wallet(local), abs=1e-8)
    assert start["restored_funding"] != 0.0
    orders = len(local.venue.orders)
    for later in range(index + 10, index + 16):
        node.step(int(frame.ts_close_ns[later]))  # it trades on
    assert len(local.venue.orders) > orders
    node.stop()

    before = wallet(local)
    body = json.dumps({"asset": "USDT", "amount": -250.0}).encode()
    request = urllib.request.Request(local.urls["http"] + "/_admin/adjust", body, method="POST")
    with urllib.request.urlopen(request) as answer:
        assert answer.status == 200
    orders = len(local.venue.orders)
    monkeypatch.setenv("KESTREL_API_KEY", "perp-key")
    monkeypatch.setenv("KESTREL_API_SECRET", SECRET)
    db = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel("live", str(config), "--live", "--exchange-url", local.urls["http"],
                     "--db", db, "--log-dir", str(node.log))  # fmt: skip
    assert_one_line_error(
        result,
        f"USDT futures wallet: the exchange holds {before - 250:.8f}, the store expects "
        f"{before:.8f} (difference -250.00000000",
        "Refusing to trade",
        code=5,
    )
    assert len(local.venue.orders) == orders  # nothing sent
    assert len(records(node.log, "start")) == 2  # the refused start never began trading
