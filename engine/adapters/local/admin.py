"""The local exchange's admin routes: faults, stepping and state (`ExchangeApp`'s part).

``POST /_admin/fault`` (JSON ``{"kind": ...}``, see `engine.adapters.local.faults`),
``POST /_admin/advance`` (``{"bars": n}``), ``POST /_admin/pause``, ``POST /_admin/resume``,
``POST /_admin/adjust`` (``{"asset": "USDT", "amount": -250}``: a transfer in or out of the
wallet made by hand, which no trade explains), ``GET /_admin/state``. `LocalExchange.inject`
arms faults through `AdminRoutes.arm`.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from engine.adapters.local.faults import Faults, HttpFault

if TYPE_CHECKING:
    from engine.adapters.local.replay import Replay
    from engine.adapters.local.streams import StreamHub
    from engine.adapters.local.venue import Venue

__all__ = ["AdminRoutes"]


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":"))
    return web.Response(text=body, status=status, content_type="application/json")


class AdminRoutes:
    """The admin handlers; the exchange app provides the attributes declared here."""

    faults: Faults
    hub: StreamHub
    replay: Replay
    venue: Venue
    running: asyncio.Event

    @property
    def now(self) -> int:
        """The replay clock in ms."""
        return self.replay.now_ms

    async def step(self) -> bool:  # pragma: no cover - the exchange app's
        """Advance the replay one boundary (see `ExchangeApp.step`)."""
        raise NotImplementedError

    async def admin_fault(self, request: web.Request) -> web.Response:
        """POST /_admin/fault ``{"kind": ..., "count": n, ...}`` arms one fault."""
        spec = await request.json()
        try:
            await self.arm(dict(spec))
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, status=400)
        return _json({"armed": spec})

    async def arm(self, spec: dict[str, Any]) -> None:
        """Arm the fault described by ``spec`` (see `engine.adapters.local.faults`)."""
        kind = spec.pop("kind")
        if kind in ("rate_limit", "ban", "server_error", "timeout"):
            self.faults.arm_http(HttpFault(kind=kind, count=int(spec.pop("count", 1)), **spec))
        elif kind == "reject":
            self.faults.reject(int(spec.get("count", 1)))
        elif kind == "partial":
            self.faults.partial(int(spec.get("count", 1)), float(spec.get("fraction", 0.5)))
        elif kind == "not_found":
            self.faults.not_found(int(spec.get("queries", 1)))
        elif kind == "ws_drop":
            await self.hub.drop_all()
        elif kind == "ws_stall":
            self.faults.stalled = True
        elif kind == "ws_resume":
            self.faults.stalled = False
        else:
            raise ValueError(f"unknown fault kind {kind!r}")

    async def admin_advance(self, request: web.Request) -> web.Response:
        """POST /_admin/advance ``{"bars": n}`` steps the replay n boundaries."""
        spec = await request.json() if request.can_read_body else {}
        for _ in range(int(spec.get("bars", 1))):
            if not await self.step():
                break
        return _json({"now": self.now})

    async def admin_adjust(self, request: web.Request) -> web.Response:
        """POST /_admin/adjust ``{"asset": ..., "amount": x}`` moves x into the wallet (< 0:
        out), as a transfer by hand: no trade, no income row, no user-data event."""
        spec = await request.json()
        try:
            asset, amount = str(spec["asset"]), float(spec["amount"])
        except (KeyError, TypeError, ValueError) as exc:
            return _json({"error": f"adjust needs an asset and an amount: {exc}"}, status=400)
        self.venue.free[asset] = self.venue.free.get(asset, 0.0) + amount
        return _json({"asset": asset, "free": self.venue.free[asset]})

    async def admin_pause(self, request: web.Request) -> web.Response:
        """POST /_admin/pause stops the replay clock."""
        self.running.clear()
        return _json({"now": self.now, "paused": True})

    async def admin_resume(self, request: web.Request) -> web.Response:
        """POST /_admin/resume restarts the replay clock."""
        self.running.set()
        return _json({"now": self.now, "paused": False})

    async def admin_state(self, request: web.Request) -> web.Response:
        """GET /_admin/state: clock, balances and orders."""
        orders = [o.as_json() for o in self.venue.orders.values()]
        state = {
            "now": self.now,
            "finished": self.replay.finished,
            "paused": not self.running.is_set(),
            "balances": self.venue.balances_json(),
            "orders": orders,
        }
        return _json(state)
