"""``[[risk.checks]]``: plugin checks loaded by ``"module:Class"`` and run like built-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import parse_config
from engine.errors import ConfigError, PluginError, StrategyError
from engine.model import OrderRequested
from engine.risk.checks import RiskState
from engine.risk.config import build_limit_checks
from engine.runtime import BacktestResult

HERE = "tests.unit.risk.test_risk_plugins"
BASE = {"data": [{"path": "x", "symbol": "X"}], "strategy": {"path": "s"}}


class EvenQuantity:
    """A plugin check: quantities must be multiples of ``step``."""

    name = "even_quantity"

    def __init__(self, step: float = 2.0) -> None:
        self.step = step

    def check(self, order: OrderRequested, state: RiskState) -> str | None:
        if order.quantity % self.step:
            return f"quantity {order.quantity:g} is not a multiple of {self.step:g}"
        return None


class NotACheck:
    pass


def checks(*entries: dict[str, object], **risk: object) -> list[str]:
    config = parse_config({**BASE, "risk": {**risk, "checks": list(entries)}})
    return [check.name for check in build_limit_checks(config.risk)]


def test_plugin_checks_follow_the_limits_and_precede_the_rate_limit() -> None:
    entry = {"path": f"{HERE}:EvenQuantity", "params": {"step": 3.0}}
    names = checks(entry, max_order_quantity=5.0, order_rate_limit=3)
    assert names == ["max_order_quantity", "even_quantity", "order_rate"]
    config = parse_config({**BASE, "risk": {"checks": [entry]}})
    (plugin,) = build_limit_checks(config.risk)
    assert type(plugin).__name__ == "EvenQuantity"  # imported by path: another module object
    assert getattr(plugin, "step", None) == 3.0


@pytest.mark.parametrize(
    ("entry", "error", "message"),
    [
        ({"path": "no_such_module_x:Check"}, PluginError, "risk check module 'no_such_module_x'"),
        ({"path": f"{HERE}:EvenQuantty"}, PluginError, "did you mean 'EvenQuantity'"),
        ({"path": f"{HERE}:NotACheck"}, PluginError, "is not a risk check"),
        ({"path": f"{HERE}:EvenQuantity", "params": {"stride": 1}}, ConfigError, "stride"),
        ({"path": "no_colon"}, ConfigError, "path must be 'package.module:Class'"),
    ],
)
def test_bad_plugins_are_clear_errors(
    entry: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        checks(entry)


def test_a_plugin_module_calling_sys_exit_at_import_is_a_plugin_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "exits_on_import.py").write_text("import sys\nsys.exit(4)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        PluginError, match=r"'exits_on_import' failed to import: sys.exit\(4\) called"
    ):
        checks({"path": "exits_on_import:Check"})


class Answers:
    """A plugin check answering whatever it was built with."""

    name = "answers"

    def __init__(self, answer: object = None) -> None:
        self.answer = answer

    def check(self, order: OrderRequested, state: RiskState) -> object:
        return self.answer


def _run_with_answer(answer: object) -> BacktestResult:
    from tests.integration.scripted_run import FLAT, run

    entry = {"path": f"{HERE}:Answers", "params": {"answer": answer}}
    return run([FLAT] * 3, {0: [lambda ctx: ctx.buy("X", 1)]}, risk={"checks": [entry]})


def test_a_plugin_passes_with_none_and_denies_with_a_reason() -> None:
    assert len(_run_with_answer(None).recorder.fills) == 1
    denied = _run_with_answer("spread too wide")
    assert denied.recorder.fills == []
    (row,) = denied.recorder.orders.values()
    assert (row["status"], row["check"], row["reason"]) == (
        "denied",
        "answers",
        "spread too wide",
    )


@pytest.mark.parametrize("answer", [False, "", 0, True, ["x"]])
def test_a_plugin_answering_neither_none_nor_a_reason_is_an_error(answer: object) -> None:
    # was: False and "" denied the order with the reason "False" / an empty one
    with pytest.raises(StrategyError) as raised:
        _run_with_answer(answer)
    assert str(raised.value) == (
        f"risk check 'answers' ({__file__}:Answers) returned {answer!r}: a check returns None "
        "to pass or a non-empty str (the reason) to deny"
    )
