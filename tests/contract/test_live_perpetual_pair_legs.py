"""A leg of an OCO pair on a USDⓈ-M perpetual modified live (issue 15), through ccxt against
the local exchange: the take-profit's price amended in place, the stop moved (cancel, new
algo order), each keeping its pair (``list_id``) and reduce-only; a new quantity refused
(`engine.runtime.live.modify`); and a pair's reduction saved but never sent, which a
restart settles without telling the kernel of a modification it never asked for
(`engine.runtime.live.amend.settle`).

Replay and pair as in `tests.contract.test_live_perpetual_pairs`: long 0.02 at 18818.05,
a sell stop ``s-000002`` and a take-profit ``s-000003`` in one OCO group; row 100 in
progress (high 18932, low 18800), row 101: open 18863.90, high 18970, low 18840.69.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from engine.clock import SimClock
from engine.persistence import RunStore
from engine.runtime.live import LiveLedger
from engine.runtime.live.restore import restore
from engine.runtime.live.venue import live_mode
from engine.runtime.node import TradingNode
from tests.contract.test_live_perpetual import INSTRUMENTS, local, position  # noqa: F401
from tests.contract.test_live_perpetual_pairs import Crash, algos, heard, limits, pair
from tests.contract.test_live_perpetual_stop_moves import manager_of
from tests.contract.test_live_perpetual_stops import Rig
from tests.integration.test_live_perpetual_parity import (
    funding_file,
    long_short,
    perpetual_config,
)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(f"sqlite:///{tmp_path / 'live.db'}")


def rows(store: RunStore, order_id: str) -> list[tuple[str, float, bool, str | None]]:
    """The order's exchange orders in the store: (status, quantity, reduce-only, list id)."""
    return [(r.status.value, r.quantity, r.reduce_only, r.list_id)
            for r in LiveLedger(store, "acct").orders() if r.order_id == order_id]  # fmt: skip


class Restarted:
    """The node restarted as ``kestrel live`` does: a fresh manager (``settle_ms`` 0: any
    request in flight can no longer arrive), `restore`, the kernel's events recorded."""

    def __init__(self, local: Any, store: RunStore, tmp_path: Path) -> None:  # noqa: F811
        self.manager = manager_of(local, store, settle_ms=0)
        config = perpetual_config(funding_file(tmp_path))
        config = replace(config, strategy=replace(config.strategy, id="s"))
        clock = SimClock(local.replay.now_ms * 1_000_000)
        self.node = TradingNode(config, clock=clock, strategy=long_short(0),
                                mode=live_mode(self.manager))  # fmt: skip
        self.restored = restore(self.node, self.manager, INSTRUMENTS)
        self.events: list[Any] = []
        self.node.kernel.bus.subscribe_all(self.events.append)
        self.venue = self.node.kernel.venue

    def heard(self) -> list[tuple[Any, ...]]:
        """`heard` of the order events only (the node's bus carries the portfolio's too)."""
        self.events = [e for e in self.events if type(e).__name__.startswith("Order")]
        return heard(self)  # type: ignore[arg-type]


def test_the_take_profits_price_is_amended_in_place_and_the_pair_still_binds_it(
    local: Any,  # noqa: F811
    store: RunStore,
    tmp_path: Path,
) -> None:
    rig = Rig(local, store)
    pair(rig, local, 18700.0, 19500.0, partial="none")
    (before,) = limits(local)
    rig.venue.modify("s-000003", None, 18950.0, None)  # below row 101's high 18970
    assert heard(rig) == [("modified", "s-000003", 0.02, 18950.0, None)]
    assert limits(local) == [(before[0], "NEW", 18950.0, 0.02, 0.0, True)]  # the same order
    (stop_row,) = rows(store, "s-000002")
    assert rows(store, "s-000003") == [("open", 0.02, True, stop_row[3])]  # still paired
    again = Restarted(local, store, tmp_path)  # a restart between the change and the fill
    assert sorted(again.restored.adopted) == ["s-000002", "s-000003"]
    local.advance(2)  # row 101 reaches 18970: the take-profit fills at its new price
    again.venue.poll()
    assert again.heard() == [
        ("filled", "s-000003", 0.02, 18950.0, 0.0),
        ("OrderCanceled", "s-000002", "oco: the other leg filled"),
    ]
    assert [a[0] for a in algos(local)] == ["CANCELED"]
    assert position(local) == 0.0


def test_the_stops_move_keeps_its_pair_and_reduce_only_and_a_fill_ends_the_other_leg(
    local: Any,  # noqa: F811
    store: RunStore,
    tmp_path: Path,
) -> None:
    """The stop moved from 18700 to 18810 (the restart in between): row 100's low 18800
    reaches it, the local exchange fills it at its stop; the take-profit is canceled."""
    rig = Rig(local, store)
    pair(rig, local, 18700.0, 19500.0, partial="none")
    rig.venue.modify("s-000002", None, None, 18810.0)
    assert heard(rig) == [("modified", "s-000002", 0.02, None, 18810.0)]
    assert algos(local) == [("CANCELED", 18700.0, 0.02, True), ("NEW", 18810.0, 0.02, True)]
    (first, moved) = rows(store, "s-000002")
    assert (first[0], moved) == ("canceled", ("open", 0.02, True, first[3]))  # same pair
    again = Restarted(local, store, tmp_path)
    assert sorted(again.restored.adopted) == ["s-000002", "s-000003"]
    local.advance(2)
    again.venue.poll()
    assert again.heard() == [
        ("filled", "s-000002", 0.02, 18810.0, 0.0),
        ("OrderCanceled", "s-000003", "oco: the other leg filled"),
    ]
    assert limits(local)[0][1] == "CANCELED"
    assert position(local) == 0.0


def test_a_new_quantity_for_a_leg_is_refused_with_why_and_nothing_is_sent(
    local: Any,  # noqa: F811
    store: RunStore,
) -> None:
    rig = Rig(local, store)
    pair(rig, local, 18700.0, 19500.0, partial="none")
    before = (algos(local), limits(local))
    rig.venue.modify("s-000003", 0.01, 19400.0, None)
    rig.venue.modify("s-000002", 0.01, None, 18650.0)
    why = ("a leg of an OCO pair on a perpetual takes new prices only: a new quantity would"
           " change what is left of the pair (cancel the pair, place anew)")  # fmt: skip
    assert heard(rig) == [("OrderModifyRejected", "s-000003", why),
                          ("OrderModifyRejected", "s-000002", why)]  # fmt: skip
    assert (algos(local), limits(local)) == before


def test_a_reduction_saved_but_never_sent_is_not_a_rejected_modification_after_a_restart(
    local: Any,  # noqa: F811
    store: RunStore,
    tmp_path: Path,
) -> None:
    """The stop-limit (stop 18810, limit 18850) fills half; the node saves the take-profit's
    reduction to 0.01 and dies before sending it. The restart finds the old terms past
    ``settle_ms``: the kernel, which asked for no modification, hears none refused; the
    next look reduces the take-profit (the backtest's OrderModified)."""
    rig = Rig(local, store)
    pair(rig, local, 18810.0, 19500.0, partial="stop", limit=18850.0)
    local.advance(1)
    exchange = rig.manager.exchange

    def dying(*args: Any) -> Any:
        raise Crash  # the row says ``amending``; the request never left

    amend = exchange.amend
    exchange.amend = dying  # type: ignore[method-assign]
    with pytest.raises(Crash):
        rig.venue.poll()
    exchange.amend = amend  # type: ignore[method-assign]
    assert [(s, q) for _, s, p, q, _, _ in limits(local) if p == 19500.0] == [("NEW", 0.02)]
    again = Restarted(local, store, tmp_path)
    again.venue.report(again.restored.updates)
    again.venue.poll()
    assert [e for e in again.heard() if e[0] == "OrderModifyRejected"] == []
    assert ("modified", "s-000003", 0.01, 19500.0, None) in again.heard()
    assert [(s, q) for _, s, p, q, _, _ in limits(local) if p == 19500.0] == [("NEW", 0.01)]
