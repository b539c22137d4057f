"""The live error contract, one test per class: ccxt's own binance turns each answer into an
exception (``handle_errors``, no network), and `classify` must pick the contract's row."""

from __future__ import annotations

import json
from pathlib import Path

import ccxt
import pytest

from engine.adapters.ccxt.contract import (
    CONTRACT,
    Action,
    classify,
    contract_markdown,
    http_status,
    would_trigger,
)
from engine.errors import (
    ExchangeError,
    ExchangeFatalError,
    ExchangeInputError,
    ExchangeStateUnknownError,
    ExchangeTransientError,
)

README = Path(__file__).resolve().parents[3] / "README.md"
URL = "https://api.binance.com/api/v3/order"


def binance_raises(status: int, code: int, msg: str, compact: bool = True) -> BaseException:
    """Return what ccxt 4.5's binance raises for HTTP ``status`` with body ``{code, msg}``."""
    separators = (",", ":") if compact else (", ", ": ")
    body = json.dumps({"code": code, "msg": msg}, separators=separators)
    with pytest.raises(ccxt.BaseError) as raised:
        ccxt.binance().handle_errors(status, "X", URL, "POST", {}, body, json.loads(body), {}, "")
    return raised.value


CASES = [
    # (status, code, msg) -> action, engine error when it gives up
    ((429, -1003, "Too many requests."), Action.RATE_LIMITED, ExchangeTransientError),
    ((418, -1003, "Way too many requests; IP banned."), Action.HALT, ExchangeFatalError),
    ((400, -1021, "Timestamp outside of the recvWindow."), Action.RESYNC, ExchangeFatalError),
    (
        (500, -1006, "Unexpected response from the message bus. Execution status unknown."),
        Action.UNKNOWN,
        ExchangeStateUnknownError,
    ),
    (
        (408, -1007, "Timeout waiting for response from backend server."),
        Action.UNKNOWN,
        ExchangeStateUnknownError,
    ),
    ((400, -2013, "Order does not exist."), Action.NOT_FOUND, ExchangeStateUnknownError),
    ((400, -2010, "Duplicate order sent."), Action.LOOK_UP, ExchangeStateUnknownError),
    (
        (400, -2010, "Account has insufficient balance for requested action."),
        Action.REJECT,
        ExchangeInputError,
    ),
    # a stop its price is through: sent as its market (limit) order instead
    ((400, -2010, "Order would trigger immediately."), Action.TRIGGERED, ExchangeInputError),
    ((400, -2010, "Stop price would trigger immediately."), Action.TRIGGERED, ExchangeInputError),
    # a post-only limit that would take: the same ccxt class, still a rejection
    ((400, -2010, "Order would immediately match and take."), Action.REJECT, ExchangeInputError),
    ((400, -1013, "Filter failure: NOTIONAL"), Action.REJECT, ExchangeInputError),
    ((400, -1022, "Signature for this request is not valid."), Action.STOP, ExchangeInputError),
    ((401, -2015, "Invalid API-key, IP, or permissions."), Action.STOP, ExchangeInputError),
]


@pytest.mark.parametrize(("answer", "action", "error"), CASES)
def test_each_binance_answer_gets_its_row(
    answer: tuple[int, int, str], action: Action, error: type[ExchangeError]
) -> None:
    verdict = classify(binance_raises(*answer))
    assert verdict.action is action
    raised = verdict.error("binance", "creating order kst-1")
    assert type(raised) is error
    assert str(raised).startswith("binance: creating order kst-1 failed (")


def test_429_and_418_both_arrive_as_ddos_protection_and_are_told_apart() -> None:
    rate, ban = binance_raises(429, -1003, "Too many."), binance_raises(418, -1003, "Banned.")
    assert type(rate) is type(ban) is ccxt.DDoSProtection
    assert (http_status(str(rate)), http_status(str(ban))) == (429, 418)
    assert (classify(rate).action, classify(ban).action) == (Action.RATE_LIMITED, Action.HALT)


def test_execution_unknown_is_read_from_spaced_bodies_too() -> None:
    spaced = binance_raises(500, -1006, "Execution status unknown.", compact=False)
    assert type(spaced) is ccxt.OperationFailed  # not a NetworkError: the body decides
    assert classify(spaced).action is Action.UNKNOWN


@pytest.mark.parametrize(
    ("exc", "action"),
    [
        (ccxt.RequestTimeout("binance POST timed out"), Action.UNKNOWN),
        (ccxt.NetworkError("binance connection reset"), Action.RETRY),
        (ccxt.ExchangeNotAvailable("binance 503 Service Unavailable"), Action.RETRY),
        (ccxt.RateLimitExceeded("binance too many"), Action.RATE_LIMITED),
        (ccxt.DDoSProtection("cloudflare says no"), Action.HALT),  # no status: the safe side
        (ccxt.PermissionDenied("binance no trading rights"), Action.STOP),
        (ccxt.AccountSuspended("binance account suspended"), Action.STOP),
        (ccxt.ExchangeError("binance something new"), Action.STOP),
    ],
)
def test_ccxt_classes_without_a_body(exc: BaseException, action: Action) -> None:
    assert classify(exc).action is action


def test_account_suspended_is_fatal_and_bad_keys_are_input() -> None:
    assert isinstance(classify(ccxt.AccountSuspended("x")).error("b", "w"), ExchangeFatalError)
    assert isinstance(classify(ccxt.AuthenticationError("x")).error("b", "w"), ExchangeInputError)


def test_the_readme_shows_the_contract_table_as_the_code_has_it() -> None:
    table = contract_markdown()
    assert len(table.splitlines()) == len(CONTRACT) + 2
    assert table in README.read_text(encoding="utf-8")


def test_reads_outside_the_order_path_stop_on_a_ban_too() -> None:
    from engine.adapters.ccxt.errors import translate

    ban = translate(binance_raises(418, -1003, "Banned."), "binance", "fetching candles")
    rate = translate(binance_raises(429, -1003, "Slow down."), "binance", "fetching candles")
    assert isinstance(ban, ExchangeFatalError)
    assert "IP banned (418)" in str(ban)
    assert isinstance(rate, ExchangeTransientError)


def test_a_duplicate_client_algo_id_on_usdm_is_looked_up_like_a_duplicate_order() -> None:
    """USDⓈ-M's algo order endpoint answers a reused ``clientAlgoId`` with -4116, which ccxt
    4.5.90 maps to InvalidOrder there: the order exists, so it is looked up, never rejected."""
    body = json.dumps({"code": -4116, "msg": "ClientOrderId is duplicated."})
    url = "https://fapi.binance.com/fapi/v1/algoOrder"
    with pytest.raises(ccxt.BaseError) as raised:
        ccxt.binance().handle_errors(400, "X", url, "POST", {}, body, json.loads(body), {}, "")
    assert type(raised.value) is ccxt.InvalidOrder
    assert classify(raised.value).action is Action.LOOK_UP


def test_usdm_refuses_an_algo_stop_already_through_with_minus_2021_which_is_triggered() -> None:
    """USDⓈ-M's algo order endpoint refuses a trigger the market is already through with
    -2021 "Order would immediately trigger." (ccxt: OrderImmediatelyFillable): the order
    the stop becomes is sent instead (`engine.runtime.live.triggered`)."""
    body = json.dumps({"code": -2021, "msg": "Order would immediately trigger."})
    url = "https://fapi.binance.com/fapi/v1/algoOrder"
    with pytest.raises(ccxt.BaseError) as raised:
        ccxt.binance().handle_errors(400, "X", url, "POST", {}, body, json.loads(body), {}, "")
    assert type(raised.value) is ccxt.OrderImmediatelyFillable
    assert classify(raised.value).action is Action.TRIGGERED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("binance Stop price would trigger immediately.", True),
        ('binance {"code":-2021,"msg":"Order would immediately trigger."}', True),
        ('binance {"code":-2010,"msg":"Order would trigger immediately."}', True),
        ("Stop price would trigger immediately.", True),  # a cancel-replace's bare msg
        ('binance {"code":-1013,"msg":"Stop price would trigger immediately."}', False),
        ("binance Order would immediately match and take.", False),
        ("binance Account has insufficient balance for requested action.", False),
    ],
)
def test_would_trigger_reads_the_text_and_any_code_quoted_with_it(
    text: str, expected: bool
) -> None:
    assert would_trigger(text) is expected
