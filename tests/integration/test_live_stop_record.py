"""Every ``kestrel live`` run that wrote its ``start`` record ends with a ``stop`` record, an
error too (audit F10: a run that ended on a 418 ban or an exchange gone down left none), and
the orders it refused or cut before sending are in ``events.jsonl`` (audit F5).

The local exchange runs in this process, paused 24 bars into the BTC/USDT sample; the node
is a ``kestrel live`` subprocess stepped one bar at a time (`BuyOnce`: 0.05 BTC at its first
bar, from a wallet of 1,000 USDT).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.adapters.local import LocalExchange
from engine.feeds import BarFrame
from tests.integration.test_live_perpetual_cli import Node, records
from tests.integration.test_live_start_checks import CONFIG, HISTORY, rig  # noqa: F401

FUNDED = CONFIG.replace("initial_cash = 10000.0", "initial_cash = 1000.0")


@pytest.mark.slow
def test_a_run_ending_on_a_ban_writes_its_stop_record(
    rig: tuple[BarFrame, Path, LocalExchange],  # noqa: F811
    tmp_path: Path,
) -> None:
    _, config, local = rig
    config.write_text(FUNDED)
    node = Node(config, local, tmp_path)
    node.started()
    local.inject("ban", count=10_000)  # every request from now on: 418, the node stops
    local.advance(1)  # the bar that decides the buy: the order meets the ban
    _, err = node.process.communicate(timeout=90)
    assert node.process.returncode == 5, err.decode()
    stop = records(tmp_path / "log", "stop")
    assert len(stop) == 1, stop
    assert stop[0]["reason"].startswith("error: "), stop[0]
    assert "418" in stop[0]["reason"] or "ban" in stop[0]["reason"].lower(), stop[0]
    assert stop[0]["exit_code"] == 5
    assert "halted" in stop[0]  # a read met the ban (the wallet cap), not an order call


@pytest.mark.slow
def test_orders_refused_before_sending_are_in_the_log(
    rig: tuple[BarFrame, Path, LocalExchange],  # noqa: F811
    tmp_path: Path,
) -> None:
    frame, config, local = rig
    config.write_text(FUNDED)
    local.venue.free["USDT"] = 1000.0
    node = Node(config, local, tmp_path)
    node.started()
    local.venue.free["USDT"] = 5.0  # spent elsewhere after the start: the buy pays for dust
    node.step(int(frame.ts_close_ns[HISTORY]))
    node.stop()
    refused = records(tmp_path / "log", "order_refused")
    assert [(r["order_id"].endswith("-000001"), r["symbol"]) for r in refused] == [
        (True, "BTC/USDT")
    ]
    assert "below the minimum notional 10 of BTC/USDT; nothing sent" in refused[0]["reason"]


@pytest.mark.slow
def test_orders_the_risk_engine_denies_are_in_the_log(
    rig: tuple[BarFrame, Path, LocalExchange],  # noqa: F811
    tmp_path: Path,
) -> None:
    frame, config, local = rig
    (tmp_path / "buy_once.py").write_text(
        (tmp_path / "buy_once.py").read_text().replace("0.05)", "0.000001)")
    )  # under the lot 0.00001: the risk engine denies it before the venue
    config.write_text(FUNDED)
    node = Node(config, local, tmp_path)
    node.started()
    node.step(int(frame.ts_close_ns[HISTORY]))
    node.stop()
    denied = records(tmp_path / "log", "order_denied")
    assert [(d["symbol"], d["reason"]) for d in denied] == [
        ("BTC/USDT", "quantity 1e-06 rounds to 0 at lot size 1e-05")
    ]
    assert denied[0]["check"]
    assert local.venue.orders == {}
