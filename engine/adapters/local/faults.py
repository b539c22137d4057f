"""Faults the local exchange injects on command (Python API and ``POST /_admin/fault``).

Each fault is armed with a count and fires on the next matching requests or orders, then
disarms itself. HTTP faults may be limited to paths containing ``path`` and may let the
first ``after`` matching requests through (to break a download mid-way).

| kind         | effect                                                    | ccxt raises           |
|--------------|-----------------------------------------------------------|-----------------------|
| rate_limit   | HTTP 429, ``Retry-After``, ``{"code":-1003,...}``         | DDoSProtection (429)  |
| ban          | HTTP 418, ``Retry-After``, ``{"code":-1003,...}``         | DDoSProtection        |
| server_error | HTTP ``status`` (default 503), plain-text body            | ExchangeNotAvailable  |
| timeout      | the request is *processed* (an order is created), then    | RequestTimeout        |
|              | the answer waits ``delay_s`` (past the client's timeout)  |                       |
| reject       | the next orders are refused with ``-2010``                | InvalidOrder          |
| partial      | the next orders fill only ``fraction`` at first; the rest |                       |
|              | fills on the next matching bar                            |                       |
| not_found    | the next new order answers ``-2013`` to its first         | OrderNotFound         |
|              | ``queries`` look-ups (query and cancel), then is found    |                       |
| ws_drop      | every websocket is closed by the server now               | NetworkError on watch |
| ws_stall     | websockets stay open but receive nothing until resumed    | (silence)             |
|              | (all of them, those opened during the stall too)          |                       |

ccxt's binance maps both 418 and 429 to ``DDoSProtection`` before it reads the body (so a
429 does not reach ``RateLimitExceeded``); the adapters tell them apart by the status in the
message: a 429 is retried after ``Retry-After``, a 418 stops (`engine.adapters.ccxt.errors`
for reads, `engine.adapters.ccxt.contract` for orders).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = ["FAULT_KINDS", "Faults", "HttpFault"]

FAULT_KINDS = (
    "rate_limit",
    "ban",
    "server_error",
    "timeout",
    "reject",
    "partial",
    "not_found",
    "ws_drop",
    "ws_stall",
    "ws_resume",
)


@dataclass
class HttpFault:
    """An armed HTTP fault: ``kind``, how many requests it hits, and where."""

    kind: str
    count: int
    path: str = ""
    after: int = 0
    status: int = 503
    retry_after_s: int = 1
    delay_s: float = 30.0


class Faults:
    """Thread-safe fault counters shared by the server thread and the test thread."""

    def __init__(self) -> None:
        """Start with nothing armed."""
        self._lock = threading.Lock()
        self._http: list[HttpFault] = []
        self._rejects = 0
        self._partials: list[float] = []
        self._not_found_queries = 0
        self._hidden: dict[int, int] = {}
        self.stalled = False

    def arm_http(self, fault: HttpFault) -> None:
        """Arm an HTTP-level fault (rate_limit, ban, server_error, timeout)."""
        with self._lock:
            self._http.append(fault)

    def reject(self, count: int = 1) -> None:
        """Refuse the next ``count`` orders with ``-2010``."""
        with self._lock:
            self._rejects += count

    def partial(self, count: int = 1, fraction: float = 0.5) -> None:
        """Fill only ``fraction`` of each of the next ``count`` orders at first."""
        with self._lock:
            self._partials.extend([fraction] * count)

    def not_found(self, queries: int = 1) -> None:
        """Answer ``-2013`` to the first ``queries`` look-ups of the next new order."""
        with self._lock:
            self._not_found_queries = queries

    def clear(self) -> None:
        """Disarm everything and resume stalled websockets."""
        with self._lock:
            self._http.clear()
            self._rejects = 0
            self._partials.clear()
            self._not_found_queries = 0
            self._hidden.clear()
            self.stalled = False

    # -- used by the server -------------------------------------------------------------

    def take_http(self, path: str) -> HttpFault | None:
        """Return the fault that hits this request, consuming one of its count, or None."""
        with self._lock:
            for fault in self._http:
                if fault.path not in path:
                    continue
                if fault.after > 0:
                    fault.after -= 1
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self._http.remove(fault)
                return fault
        return None

    def take_reject(self) -> bool:
        """Return True (and consume one) if the next order is to be rejected."""
        with self._lock:
            if self._rejects > 0:
                self._rejects -= 1
                return True
        return False

    def take_partial(self) -> float:
        """Return the first-fill fraction of a new order (1.0 = no fault)."""
        with self._lock:
            return self._partials.pop(0) if self._partials else 1.0

    def note_new_order(self, order_id: int) -> None:
        """Hide a new order from its first look-ups if ``not_found`` is armed."""
        with self._lock:
            if self._not_found_queries > 0:
                self._hidden[order_id] = self._not_found_queries
                self._not_found_queries = 0

    def hide_order(self, order_id: int) -> bool:
        """Return True (and count down) while the order is still to be reported missing."""
        with self._lock:
            left = self._hidden.get(order_id, 0)
            if left <= 0:
                return False
            self._hidden[order_id] = left - 1
            return True
