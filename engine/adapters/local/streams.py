"""Websocket side of the local exchange: market streams, user-data stream, ws-api.

Endpoints (the shapes are Binance's):

* ``/ws`` and ``/ws/<name>``: raw payloads. ``<name>`` may be a stream (``btcusdt@kline_1h``,
  subscribed at once), a listenKey (the user-data stream) or anything else (ccxt.pro opens
  ``/ws/0``). An exchange of perpetuals serves the same under ``/market/ws``,
  ``/public/ws`` and ``/private/ws`` (USDⓈ-M's addresses), a listenKey also given as
  ``?listenKey=``. ``{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[...],"id":N}`` is acked with
  ``{"result":null,"id":N}``; ``LIST_SUBSCRIPTIONS`` answers the list.
* ``/stream?streams=a/b``: combined streams, each payload wrapped ``{"stream":s,"data":...}``.
* ``/ws-api/v3``: requests ``{"id","method","params"}``; ``userDataStream.subscribe.signature``
  (signed like REST) and ``userDataStream.subscribe`` start the user-data events, wrapped
  ``{"subscriptionId":0,"event":{...}}``; ``ping`` and ``time`` answer.

Streams: ``<symbol>@kline_<interval>`` (an open-only kline when a bar opens, the full kline
with ``"x": true`` when it closes), ``<symbol>@trade`` / ``@aggTrade`` (the synthetic trade of
each bar open), ``<symbol>@depth`` / ``@depth@100ms`` (diffs of the synthetic book, update
ids continuing the REST snapshot's ``lastUpdateId``).

A kline subscription (``SUBSCRIBE`` or a stream named in the URL) is answered at once with
the stream's latest kline, if one was published: Binance pushes the current kline every
2 s, while this exchange pushes only when a bar opens or closes, so without it a client
subscribing after the replay's last bar (``--speed max`` runs ahead of it) would never hear
the stream and never learn of the bars it missed. The connection listens from before that
kline is sent, so what a step publishes meanwhile follows it (a client missing a bar's
close between the two would see that bar's opening, then the next bar).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from engine.adapters.local.faults import Faults
from engine.adapters.local.replay import Replay
from engine.adapters.local.venue import BinanceError

__all__ = ["Connection", "HubApp", "StreamHub"]


@dataclass(eq=False)
class Connection:
    """One websocket client and what it listens to."""

    socket: web.WebSocketResponse
    combined: bool = False
    streams: set[str] = field(default_factory=set)
    user: bool = False
    user_wrapped: bool = False  # ws-api subscription: events wrapped with subscriptionId


class HubApp(Protocol):
    """What the hub uses of the server's app (``server.ExchangeApp`` satisfies it).

    A protocol rather than an import of ``server``: the server owns the hub, so importing the
    server here would make the two modules an import cycle.
    """

    replay: Replay
    faults: Faults
    listen_keys: set[str]

    def http_fault(self, request: web.Request) -> web.Response | None:
        """Return the armed HTTP fault's response for ``request``, or None."""
        ...

    def check_ws_signature(self, params: dict[str, str]) -> BinanceError | None:
        """Return the error a signed ws-api request deserves, or None when it is valid."""
        ...


class StreamHub:
    """Every open websocket; fans replay and account events out to them."""

    def __init__(self, app: HubApp) -> None:
        """Serve the streams of ``app`` (its replay, venue, faults and listenKeys)."""
        self.app = app
        self.connections: set[Connection] = set()
        self.latest_klines: dict[str, dict[str, Any]] = {}  # stream -> its last kline event
        self.opened = 0  # websockets served since the start (a client that re-dials adds one)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/ws``, ``/ws/<name>`` and ``/stream``."""
        blocked = self.app.http_fault(request)
        if blocked is not None:
            return blocked
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        connection = Connection(socket, combined=request.path.startswith("/stream"))
        name = request.match_info.get("name", "") or request.query.get("listenKey", "")
        if name and name in self.app.listen_keys:
            connection.user = True
        elif "@" in name:
            connection.streams.add(name.lower())
        for stream in request.query.get("streams", "").split("/"):
            if stream:
                connection.streams.add(stream.lower())
        # Listening before the latest kline goes out: a step published while it is being
        # sent reaches this connection after it, never falls between the two.
        return await self._serve(connection, self._on_stream_message, self._send_latest)

    async def handle_api(self, request: web.Request) -> web.StreamResponse:
        """Serve ``/ws-api/v3`` (the websocket API: user-data subscription, ping, time)."""
        socket = web.WebSocketResponse(heartbeat=None)
        await socket.prepare(request)
        return await self._serve(Connection(socket), self._on_api_message)

    async def _serve(
        self,
        connection: Connection,
        on_message: Any,
        greet: Callable[[Connection, Any], Awaitable[None]] | None = None,
    ) -> web.WebSocketResponse:
        """Register ``connection``, ``greet`` it with its streams' latest klines, serve it."""
        self.connections.add(connection)
        self.opened += 1
        try:
            if greet is not None:
                await greet(connection, connection.streams)
            async for message in connection.socket:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(message.data)
                except ValueError:
                    await self._send(connection, {"code": 2, "msg": "Invalid JSON"})
                    continue
                await on_message(connection, payload)
        finally:
            self.connections.discard(connection)
        return connection.socket

    async def _on_stream_message(self, connection: Connection, payload: dict[str, Any]) -> None:
        method = payload.get("method")
        params = [str(p).lower() for p in payload.get("params") or []]
        if method == "SUBSCRIBE":
            connection.streams.update(params)
            await self._send(connection, {"result": None, "id": payload.get("id")})
            await self._send_latest(connection, params)
            return
        if method == "UNSUBSCRIBE":
            connection.streams.difference_update(params)
            answer = {"result": None, "id": payload.get("id")}
        elif method == "LIST_SUBSCRIPTIONS":
            answer = {"result": sorted(connection.streams), "id": payload.get("id")}
        else:
            answer = {"code": 1, "msg": f"Unknown method {method!r}", "id": payload.get("id")}
        await self._send(connection, answer)

    async def _on_api_message(self, connection: Connection, payload: dict[str, Any]) -> None:
        method = payload.get("method")
        request_id = payload.get("id")
        result: dict[str, Any] = {}
        if method in ("userDataStream.subscribe.signature", "userDataStream.subscribe"):
            if method.endswith("signature"):
                params = {str(k): str(v) for k, v in (payload.get("params") or {}).items()}
                error = self.app.check_ws_signature(params)
                if error is not None:
                    body = {"code": error.code, "msg": error.msg}
                    await self._send(
                        connection, {"id": request_id, "status": error.status, "error": body}
                    )
                    return
            connection.user = connection.user_wrapped = True
            result = {"subscriptionId": 0}
        elif method == "time":
            result = {"serverTime": self.app.replay.now_ms}
        elif method != "ping":
            unknown = {"code": -1100, "msg": f"Unknown method {method!r}."}
            await self._send(connection, {"id": request_id, "status": 400, "error": unknown})
            return
        await self._send(connection, {"id": request_id, "status": 200, "result": result})

    async def _send(self, connection: Connection, payload: dict[str, Any]) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await connection.socket.send_str(json.dumps(payload, separators=(",", ":")))

    async def _send_latest(self, connection: Connection, streams: Any) -> None:
        """Send ``connection`` the latest kline of each kline stream in ``streams``."""
        if self.app.faults.stalled:
            return
        for stream in sorted(streams):
            data = self.latest_klines.get(stream)
            if data is not None:
                payload = {"stream": stream, "data": data} if connection.combined else data
                await self._send(connection, payload)

    async def publish(self, stream: str, data: dict[str, Any]) -> None:
        """Send ``data`` to every connection subscribed to ``stream`` (dropped while stalled)."""
        if "@kline_" in stream:
            self.latest_klines[stream] = data  # what a later subscriber hears first
        if self.app.faults.stalled:
            return
        for connection in list(self.connections):
            if stream in connection.streams:
                payload = {"stream": stream, "data": data} if connection.combined else data
                await self._send(connection, payload)

    async def publish_user(self, events: list[dict[str, Any]]) -> None:
        """Send account events to every user-data listener (dropped while stalled)."""
        if self.app.faults.stalled:
            return
        for connection in list(self.connections):
            if not connection.user:
                continue
            for event in events:
                wrapped = {"subscriptionId": 0, "event": event}
                await self._send(connection, wrapped if connection.user_wrapped else event)

    async def drop_all(self) -> None:
        """Close every websocket from the server side (the ``ws_drop`` fault)."""
        for connection in list(self.connections):
            with contextlib.suppress(ConnectionError, RuntimeError):
                await connection.socket.close(code=1006, message=b"dropped (injected fault)")
        self.connections.clear()
