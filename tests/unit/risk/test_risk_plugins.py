"""``[[risk.checks]]``: plugin checks loaded by ``"module:Class"`` and run like built-ins."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import parse_config
from engine.errors import ConfigError, PluginError
from engine.model import OrderRequested
from engine.risk.checks import RiskState
from engine.risk.config import build_limit_checks

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
