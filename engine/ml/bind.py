"""Hand a run's ``[ml]`` section to a strategy that asks for it.

In: the strategy instance and the `RunConfig`. Out: nothing; a strategy with a
``configure_ml(ml, seed, base_dir)`` method is given the section, the run's seed and the
config folder before its ``on_start``; one with a ``configure_paths(base_dir)`` method is
given the config folder (to resolve files named in its parameters, as data paths are).
A strategy that reads files of its own which decide its numbers (a saved model, a training
file) names them, resolved by then, in an ``input_files()`` method (`strategy_files`): a
backtest hashes their bytes into its inputs (`engine.runtime.runs`), a paper account
into its config parts (`engine.runtime.paper.parts`).
Called by `engine.runtime.backtest.run_backtest` and `engine.runtime.node.TradingNode`,
the two places a strategy is made for a run, so backtest and paper/live configure it the
same way. Imports nothing heavy (no sklearn).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ConfigError

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.strategy import Strategy

__all__ = ["attach_ml", "strategy_files"]


def attach_ml(strategy: Strategy, config: RunConfig) -> None:
    """Give ``strategy`` the ``[ml]`` section if it has a ``configure_ml`` method.

    Raises:
        ConfigError: The strategy needs an ``[ml]`` section and the config has none.
    """
    locate = getattr(strategy, "configure_paths", None)
    if locate is not None:  # strategies reading their own files (headlines) resolve them here
        locate(config.base_dir)
    configure = getattr(strategy, "configure_ml", None)
    if configure is None:
        return
    if config.ml is None:
        raise ConfigError(
            f"strategy {type(strategy).__name__} needs an [ml] section (features, label, "
            "model); see configs/ml_signal_btc.toml"
        )
    configure(config.ml, config.run.seed, config.base_dir)


def strategy_files(strategy: Strategy) -> dict[str, Path]:
    """Return the files ``strategy`` reads that decide its numbers, by name (``model``).

    What its ``input_files()`` method returns (after `attach_ml`), sorted by name; none
    without that method.
    """
    named = getattr(strategy, "input_files", None)
    return dict(sorted(named().items())) if named is not None else {}
