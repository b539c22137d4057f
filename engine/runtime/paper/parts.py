"""A paper account's config identity: a hash per part of its config that decides its numbers.

In: a `RunConfig` and the `TradingNode` built from it (its strategy's module file and its
own files are hashed), and at a resume the hashes the account stored. Out: the parts
(`config_parts`), or the one-line `ConfigError` refusing a resume whose parts changed
(`check_parts`): the account's journal would replay through other rules into another
history.

Parts: ``strategy`` (its path and id), ``params``, ``instruments`` (the symbols and their
rules), ``account``, ``execution``, ``risk``, ``code`` (the bytes of the strategy's module
file) and, when given, ``timeframes`` (the bar timeframe of each symbol the feed
delivers); with ``[[data]] kind = "news"`` tables, ``news`` (the tables: the journal's news
rows name their sources by position); with an ``[ml]`` section, ``ml`` (the section); and
one per file the strategy reads of its own (`engine.ml.bind.strategy_files`, named by the
parameter that names it: an `MlSignal`'s ``model``, the exact ``model.skops`` a model folder
resolved to; a TF-IDF scorer's ``training``): the SHA-256 of its bytes. Such a parameter is
left out of ``params``: the file is identified by its bytes, not its path, so a model
folder's version pinned (``model = "models/x/v1"``) resumes an account started on
``models/x`` while ``v1`` was its latest. The run name, data paths and windows are not
parts: paper data comes from the feed. Parts are added only where they apply (news
tables, an ``[ml]`` section, the strategy's files), so other accounts keep the hashes they
stored.

Accounts stored before ``ml`` and the file parts existed lack them, and their ``params``
hashed the file's parameter: such an account is compared in that older form (its model
cannot be checked: nothing recorded which file it loaded), then resumes and has the full
parts stored, so every later resume checks them.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from engine.config import RunConfig, dump_config
from engine.errors import ConfigError
from engine.feeds.news_config import news_tables
from engine.ml.bind import strategy_files
from engine.runtime.node import TradingNode

__all__ = ["check_parts", "config_parts", "config_values"]


def config_parts(
    config: RunConfig,
    node: TradingNode,
    timeframes: Mapping[str, int] | None = None,
    *,
    files: bool = True,
) -> dict[str, str]:
    """Return a hash per part of ``config`` that decides the account's numbers (the module).

    ``files=False``: the parts as accounts stored them before the ``ml`` and file parts.
    """
    strategy = node.kernel.runner.strategy
    cls = type(strategy)
    module_file = getattr(sys.modules.get(cls.__module__), "__file__", None)
    code = Path(module_file).read_bytes() if module_file else cls.__qualname__.encode()
    plain = dump_config(config)
    parts = config_values(plain, config.symbols)
    named = strategy_files(strategy) if files else {}
    parts["params"] = {k: v for k, v in parts["params"].items() if k not in named}
    hashed = {name: _hash(value) for name, value in parts.items()}
    hashed["code"] = hashlib.sha256(code).hexdigest()
    if timeframes is not None:
        text = json.dumps(dict(sorted(timeframes.items())))
        hashed["timeframes"] = hashlib.sha256(text.encode()).hexdigest()
    if config.news:  # only then: accounts without news keep their parts
        text = json.dumps(news_tables(config.news), sort_keys=True)
        hashed["news"] = hashlib.sha256(text.encode()).hexdigest()
    if files and config.ml is not None:  # likewise
        hashed["ml"] = _hash(plain["ml"])
    for name, path in named.items():
        hashed[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashed


def config_values(plain: Mapping[str, Any], symbols: Sequence[str]) -> dict[str, Any]:
    """Return the parts of a dumped config (`dump_config`) that decide an account's numbers.

    ``strategy``, ``params``, ``instruments`` (``symbols``, the traded ones, and their
    rules), ``account``, ``execution`` and ``risk``, as plain values: `config_parts` hashes
    them, ``kestrel live-report`` compares them with a live account's stored config.
    """
    strategy = plain.get("strategy", {})
    return {
        "strategy": [strategy.get("path"), strategy.get("id")],
        "params": strategy.get("params", {}),
        "instruments": [list(symbols), plain.get("instruments", [])],
        "account": plain.get("account", {}),
        "execution": plain.get("execution", {}),
        "risk": plain.get("risk", {}),
    }


def check_parts(
    account: str,
    stored: Mapping[str, str],
    config: RunConfig,
    node: TradingNode,
    timeframes: Mapping[str, int] | None = None,
    started_symbols: Sequence[str] | None = None,
) -> dict[str, str] | None:
    """Refuse to resume ``account`` if a part of ``config`` changed since it ``stored`` them.

    ``started_symbols``: the symbols the account was started with (its stored config's),
    named in the refusal when the config's differ.

    Returns:
        The full parts to store when the account lacked some (it was stored before they
        existed, see the module docstring), else None.

    Raises:
        ConfigError: A part changed: one line naming the parts, and for a model file, the
            version the account was started on.
    """
    parts = config_parts(config, node, timeframes)
    older = not set(parts) <= _OLDER_PARTS and set(stored) <= _OLDER_PARTS
    current = config_parts(config, node, timeframes, files=False) if older else parts
    # a part the account has and the config lost counts too (news tables removed: the
    # journal's news rows would name sources the config no longer has); timeframes are a
    # part only when the caller knows them
    lost = [name for name in stored if name not in current and name != "timeframes"]
    changed = [name for name in [*current, *lost] if stored.get(name) != current.get(name)]
    if changed:
        start = (
            f"paper account {account!r} was started with a different config "
            f"({', '.join(changed)} changed)"
        )
        if started_symbols is not None and list(started_symbols) != config.symbols:
            start += (
                f": it trades {', '.join(started_symbols)} and this config "
                f"{', '.join(config.symbols)}"
            )
        hint = _model_hint(config, node, stored.get("model")) if "model" in changed else None
        raise ConfigError(
            f"{start}: {hint}, or start a new account with --account NEW_NAME"
            if hint
            else f"{start}; run it with its original config, or start a new account "
            "with --account NEW_NAME"
        )
    return parts if older else None


# the parts accounts stored before ``ml`` and the strategy's files were parts: an account
# with none but these whose config now has more is an older account (module docstring)
_OLDER_PARTS = frozenset(
    {"strategy", "params", "instruments", "account", "execution", "risk", "code", "timeframes"}
    | {"news"}
)


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _model_hint(config: RunConfig, node: TradingNode, started_on: str | None) -> str | None:
    """Return what to do about a changed model file: the version to pin, when one matches."""
    path = strategy_files(node.kernel.runner.strategy).get("model")
    reference = config.strategy.params.get("model")
    if path is None or not isinstance(reference, str) or started_on is None:
        return None
    name = path.parent.parent  # <name>/v<N>/model.skops
    for version in sorted(name.glob("v*/" + path.name)):
        if hashlib.sha256(version.read_bytes()).hexdigest() == started_on:
            return (
                f"strategy.params.model {reference!r} loads {path} now, the account was "
                f"started on {version.parent.name}; pin it (model = {str(version.parent)!r}) "
                "to resume the account"
            )
    return (
        f"strategy.params.model {reference!r} loads {path} now, and no version of "
        f"{str(name)!r} holds the model file the account was started on"
    )
