"""Plugin loader: module path, file path, entry point; params validated with suggestions."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from engine.errors import ConfigError, PluginError
from engine.strategy import (
    NoParams,
    Strategy,
    available_strategies,
    load_strategy_class,
    make_strategy,
)
from strategies.sma_cross import SmaCross, SmaCrossParams

PLUGIN = """
from dataclasses import dataclass

from engine.strategy import Strategy


@dataclass(frozen=True)
class Params:
    period: int = 5
    label: str = "{label}"


class Mine(Strategy):
    Params = Params


class Other(Strategy):
    pass


def helper():
    return 1
"""


def write_plugin(folder: Path, label: str = "x", name: str = "my_plugin.py") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(PLUGIN.format(label=label)))
    return path


def test_module_path() -> None:
    assert load_strategy_class("strategies.sma_cross:SmaCross") is SmaCross


def test_entry_point_name() -> None:
    assert available_strategies()["sma_cross"] == "strategies.sma_cross:SmaCross"
    assert load_strategy_class("sma_cross") is SmaCross


def test_absolute_file_path(tmp_path: Path) -> None:
    path = write_plugin(tmp_path / "plugins")
    cls = load_strategy_class(f"{path}:Mine")
    assert issubclass(cls, Strategy)
    assert cls.__name__ == "Mine"
    assert cls().params.label == "x"
    assert load_strategy_class(f"{path}:Mine") is cls  # imported once


def test_relative_file_path_is_found_beside_the_config(tmp_path: Path) -> None:
    write_plugin(tmp_path / "strats", label="beside")
    cls = load_strategy_class("strats/my_plugin.py:Mine", base_dir=tmp_path)
    assert cls().params.label == "beside"


def test_relative_file_path_resolves_beside_the_config_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "project" / "configs"
    config_dir.mkdir(parents=True)
    (tmp_path / "project" / "pyproject.toml").write_text("")
    write_plugin(config_dir / "strats", label="beside")
    write_plugin(tmp_path / "project" / "strats", label="root")
    write_plugin(tmp_path / "elsewhere" / "strats", label="cwd")
    monkeypatch.chdir(tmp_path / "elsewhere")
    cls = load_strategy_class("strats/my_plugin.py:Mine", base_dir=config_dir)
    assert cls().params.label == "beside"


def test_relative_file_path_falls_back_to_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_dir = tmp_path / "project" / "configs"
    config_dir.mkdir(parents=True)
    (tmp_path / "project" / "pyproject.toml").write_text("")
    write_plugin(tmp_path / "project" / "root_strats", label="root")
    write_plugin(tmp_path / "root_strats", label="cwd")
    monkeypatch.chdir(tmp_path)
    cls = load_strategy_class("root_strats/my_plugin.py:Mine", base_dir=config_dir)
    assert cls().params.label == "root"


def test_a_missing_strategy_file_names_both_places_tried(tmp_path: Path) -> None:
    config_dir = tmp_path / "project" / "configs"
    config_dir.mkdir(parents=True)
    (tmp_path / "project" / ".git").mkdir()
    with pytest.raises(PluginError) as info:
        load_strategy_class("strats/none.py:Mine", base_dir=config_dir)
    message = str(info.value)
    assert str(config_dir / "strats" / "none.py") in message
    assert str(tmp_path / "project" / "strats" / "none.py") in message


def test_two_files_with_the_same_name_do_not_shadow_each_other(tmp_path: Path) -> None:
    first = write_plugin(tmp_path / "one", label="one")
    second = write_plugin(tmp_path / "two", label="two")
    a = load_strategy_class(f"{first}:Mine")
    b = load_strategy_class(f"{second}:Mine")
    assert a is not b
    assert (a().params.label, b().params.label) == ("one", "two")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("sma_crss", "unknown strategy 'sma_crss' (did you mean 'sma_cross'?)"),
        ("zzzzzz", "unknown strategy 'zzzzzz' (valid: '"),
        ("strategies.sma_cross:SmaCros", "has no class 'SmaCros' (did you mean 'SmaCross'?)"),
        ("strategies.sma_cross:SmaCrossParams", "is not a subclass of engine.strategy.Strategy"),
        ("strategies.no_such_module:X", "strategy module 'strategies.no_such_module' not found"),
        ("no_such_package_kestrel.mod:X", "'no_such_package_kestrel.mod' not found"),
        ("missing/dir/plugin.py:X", "strategy file 'missing/dir/plugin.py' does not exist"),
    ],
)
def test_bad_references_are_plugin_errors(reference: str, message: str) -> None:
    with pytest.raises(PluginError) as info:
        load_strategy_class(reference)
    assert message in str(info.value)


def test_an_unknown_name_lists_every_registered_strategy_sorted() -> None:
    with pytest.raises(PluginError) as info:
        load_strategy_class("zzzzzz")
    listed = str(info.value).split("(valid: ", 1)[1]
    names = [part.strip(" ')") for part in listed.split(";")[0].split(",")]
    assert "sma_cross" in names
    assert names == sorted(names)


def test_missing_class_in_a_file_suggests_strategy_classes(tmp_path: Path) -> None:
    path = write_plugin(tmp_path)
    with pytest.raises(PluginError, match=r"has no class 'Mien' \(did you mean 'Mine'\?\)"):
        load_strategy_class(f"{path}:Mien")
    with pytest.raises(PluginError, match="is not a subclass"):
        load_strategy_class(f"{path}:helper")


def test_a_file_that_fails_to_import(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("raise RuntimeError('broken plugin')\n")
    for _ in range(2):  # not half-registered after the first failure
        with pytest.raises(PluginError, match="failed to import: RuntimeError"):
            load_strategy_class(f"{path}:X")
    assert not [name for name in sys.modules if name.startswith("kestrel_plugin_broken_")]


def test_a_module_whose_own_import_fails_is_not_called_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kestrel_ut_needs_dep.py").write_text("import kestrel_ut_absent_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        load_strategy_class("kestrel_ut_needs_dep:X")
    assert "failed to import" in str(info.value)
    assert "kestrel_ut_absent_dependency" in str(info.value)


def test_make_strategy_builds_typed_params() -> None:
    strategy = make_strategy(SmaCross, {"fast": 5, "slow": 20, "target_percent": 0.5})
    assert isinstance(strategy, SmaCross)
    assert strategy.params == SmaCrossParams(fast=5, slow=20, target_percent=0.5)
    assert make_strategy(SmaCross, {}).params == SmaCrossParams()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"fsat": 5}, "unknown key 'strategy.params.fsat' (did you mean 'fast'?)"),
        ({"slwo": 5}, "(did you mean 'slow'?)"),
        ({"fast": "5"}, "strategy.params.fast: expected a whole number, got str '5'"),
        ({"fast": 2.5}, "strategy.params.fast: expected a whole number, got 2.5"),
        ({"allow_short": "yes"}, "strategy.params.allow_short: expected true or false"),
        ({"fast": 30, "slow": 10}, "slow (10) must be greater than fast (30)"),
        ({"fast": 0}, "fast must be >= 1, got 0"),
        ({"target_percent": 1.5}, "target_percent must be in (0, 1], got 1.5"),
    ],
)
def test_bad_params_are_config_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_strategy(SmaCross, params)
    assert message in str(info.value)


def test_a_strategy_without_params_refuses_any() -> None:
    class Bare(Strategy):
        pass

    assert Bare.Params is NoParams
    assert isinstance(make_strategy(Bare, {}).params, NoParams)
    with pytest.raises(ConfigError, match=r"unknown key 'strategy\.params\.x'"):
        make_strategy(Bare, {"x": 1})


def test_a_missing_dependency_whose_name_prefixes_the_module_is_not_called_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "kestrel_ut_sma_plus" fails on "import kestrel_ut_sma": a string prefix of its own
    # name, but a different module; the user must hear that the dependency is missing
    (tmp_path / "kestrel_ut_sma_plus.py").write_text("import kestrel_ut_sma\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        load_strategy_class("kestrel_ut_sma_plus:X")
    assert "failed to import" in str(info.value)
    assert "No module named 'kestrel_ut_sma'" in str(info.value)


def test_a_missing_submodule_of_an_existing_package_is_not_found() -> None:
    with pytest.raises(PluginError, match=r"strategy module 'strategies\.sma_cross\.deeper' not"):
        load_strategy_class("strategies.sma_cross.deeper:X")
