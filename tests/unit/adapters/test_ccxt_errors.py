"""ccxt errors become the engine's error tree; only transient ones are retried, bounded."""

from __future__ import annotations

import ccxt
import pytest

from engine.adapters.ccxt import RetryPolicy, call_with_retry, capabilities, translate
from engine.adapters.ccxt.download import open_exchange
from engine.adapters.ccxt.errors import retry_after_s
from engine.errors import (
    ExchangeError,
    ExchangeFatalError,
    ExchangeInputError,
    ExchangeTransientError,
    UserInputError,
)


@pytest.mark.parametrize(
    "error",
    [
        ccxt.NetworkError,
        ccxt.RequestTimeout,
        ccxt.ExchangeNotAvailable,
        ccxt.RateLimitExceeded,
        ccxt.DDoSProtection,
    ],
)
def test_transient_ccxt_errors_are_retryable(error: type[Exception]) -> None:
    translated = translate(error("binance GET /klines 503"), "binance", "fetching candles")
    assert isinstance(translated, ExchangeTransientError)
    assert not isinstance(translated, UserInputError)
    assert str(translated) == (
        f"binance: fetching candles failed: {error.__name__}: binance GET /klines 503"
    )


@pytest.mark.parametrize(
    "error", [ccxt.BadSymbol, ccxt.AuthenticationError, ccxt.PermissionDenied, ccxt.BadRequest]
)
def test_input_errors_are_refused(error: type[Exception]) -> None:
    translated = translate(error("nope"), "binance", "loading markets")
    assert isinstance(translated, ExchangeInputError)
    assert isinstance(translated, UserInputError)  # refused: the input must change
    assert "refused" in str(translated)


def test_a_suspended_account_stops_the_node_rather_than_asking_for_new_input() -> None:
    translated = translate(ccxt.AccountSuspended("banned"), "binance", "ordering")
    assert isinstance(translated, ExchangeFatalError)
    assert not isinstance(translated, UserInputError)
    assert str(translated) == "binance: ordering failed: account suspended: banned"


def test_other_exchange_errors_are_neither() -> None:
    translated = translate(ccxt.InsufficientFunds("no money"), "binance", "ordering")
    assert type(translated) is ExchangeError
    assert not isinstance(translated, ExchangeTransientError | UserInputError)


def test_transient_errors_are_retried_with_doubling_backoff() -> None:
    pauses: list[float] = []
    failures = [ccxt.RequestTimeout("slow"), ccxt.ExchangeNotAvailable("503")]

    def flaky() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    policy = RetryPolicy(attempts=3, backoff_s=0.5, sleep=pauses.append)
    assert call_with_retry(policy, "binance", "x", flaky) == "ok"
    assert pauses == [0.5, 1.0]


def test_retry_after_lengthens_the_pause_up_to_the_cap() -> None:
    pauses: list[float] = []
    failures = [ccxt.DDoSProtection("429"), ccxt.DDoSProtection("429"), ccxt.DDoSProtection("x")]

    def limited() -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    asked = iter([7.0, 500.0, None])
    policy = RetryPolicy(attempts=4, backoff_s=1.0, sleep=pauses.append, max_pause_s=60.0)
    assert call_with_retry(policy, "binance", "x", limited, lambda: next(asked)) == "ok"
    assert pauses == [7.0, 60.0, 4.0]  # Retry-After 7 s; 500 s capped; the backoff 1*2**2


def test_retry_after_is_read_from_the_last_response_headers() -> None:
    class Client:
        def __init__(self, headers: dict[str, str]) -> None:
            self.last_response_headers = headers

    assert retry_after_s(Client({"retry-after": "3"})) == 3.0
    assert retry_after_s(Client({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) is None
    assert retry_after_s(Client({})) is None


def test_retries_are_bounded() -> None:
    pauses: list[float] = []
    calls: list[int] = []

    def down() -> None:
        calls.append(1)
        raise ccxt.ExchangeNotAvailable("503")

    policy = RetryPolicy(attempts=3, backoff_s=2.0, sleep=pauses.append)
    with pytest.raises(ExchangeTransientError, match="gave up after 3 attempts"):
        call_with_retry(policy, "binance", "x", down)
    assert (len(calls), pauses) == (3, [2.0, 4.0])


def test_input_errors_are_not_retried() -> None:
    pauses: list[float] = []
    calls: list[int] = []

    def bad() -> None:
        calls.append(1)
        raise ccxt.BadSymbol("binance does not have market symbol X/Y")

    with pytest.raises(ExchangeInputError):
        call_with_retry(RetryPolicy(attempts=5, sleep=pauses.append), "binance", "x", bad)
    assert (len(calls), pauses) == (1, [])


def test_unknown_exchange_id_suggests_the_nearest() -> None:
    with pytest.raises(
        ExchangeInputError, match=r"unknown exchange 'krakn' \(did you mean 'kraken'"
    ):
        open_exchange("krakn", None)


def test_local_url_points_every_api_at_the_local_exchange() -> None:
    exchange = open_exchange("binance", "http://127.0.0.1:9999")
    assert exchange.urls["api"]["public"] == "http://127.0.0.1:9999/api/v3"
    assert exchange.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:9999/ws"
    assert exchange.enableRateLimit


def test_capabilities_are_data_with_a_default() -> None:
    assert capabilities("binance").ohlcv_page_limit == 1000
    assert capabilities("binance").trades_window_ms == 3_600_000
    assert capabilities("some-new-exchange").ohlcv_page_limit == 500
