"""Typed run configuration: TOML in, frozen dataclasses out, unknown keys rejected.

In: a TOML file (and ``--set key=value`` overrides). Out: a `RunConfig`. Validation lives in
`engine.typed.build` (types, unknown keys with "did you mean") and in ``__post_init__``
methods here (ranges, cross-field rules). Every setting that changes a fill or a number is
documented on its field; the README lists them.

A complete example (``configs/sma_cross_btc.toml``)::

    [run]
    name = "sma_cross_btc"

    [account]
    initial_cash = 10000.0
    currency = "USDT"

    [[data]]
    path = "data/binance_BTC_USDT_1h_20201201_20210717.csv"
    symbol = "BTC/USDT"

    [[instruments]]
    symbol = "BTC/USDT"
    quote_currency = "USDT"
    tick_size = 0.01
    lot_size = 0.00001

    [strategy]
    path = "strategies.sma_cross:SmaCross"
    params = { fast = 10, slow = 30 }

    [execution]
    fee_rate = 0.001
    slippage_bps = 0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from engine.config_file import apply_overrides, read_toml
from engine.config_rules import (  # the value rules and ranges
    MAX_AMOUNT,
    MAX_LATENCY_NS,
    MAX_LEVERAGE,
    MAX_STEP,
    MAX_WARMUP_BARS,
    MIN_STEP,
    currency_code,
    in_range,
    require,
)
from engine.errors import ConfigError, did_you_mean
from engine.execution.costs_config import FeeConfig, SlippageConfig
from engine.feeds.news_config import NewsSourceConfig, news_tables, split_news
from engine.ml.config import MlConfig
from engine.risk.config import RiskConfig, sizer_lot_problem
from engine.typed import build, to_plain

__all__ = [
    "MAX_WARMUP_BARS",
    "AccountConfig",
    "DataSourceConfig",
    "ExecutionConfig",
    "FxRateConfig",
    "InstrumentConfig",
    "LiveSection",
    "PaperConfig",
    "RunConfig",
    "RunSection",
    "StrategyConfig",
    "apply_overrides",
    "dump_config",
    "load_config",
    "parse_config",
]


@dataclass(frozen=True)
class RunSection:
    """Run identity. ``name`` labels artifacts and the run store; ``seed`` feeds any RNG."""

    name: str = "backtest"
    seed: int = 0

    def __post_init__(self) -> None:  # the seeds numpy and scikit-learn accept
        require(0 <= self.seed < 2**32, f"run.seed must be in [0, 4294967295], got {self.seed}")


@dataclass(frozen=True)
class LiveSection:
    """``[live]``: real orders through ccxt (``kestrel live``; README "Live trading").

    ``mode = "live"`` is one of the two locks (the other is ``--live`` on the command line):
    any other mode makes ``kestrel live`` refuse. ``sandbox`` (default true) trades on the
    exchange's testnet; real money needs ``sandbox = false`` written down. Keys are never
    read from here: only from ``$KESTREL_API_KEY`` and ``$KESTREL_API_SECRET``, else from
    the OS keyring (``kestrel keys set EXCHANGE``), looked up under ``exchange``.
    ``warmup_bars``: closed bars per symbol the node warms its indicators with before its
    first live bar, on every start (`engine.runtime.live.warmup`); unset (default): as many
    as the strategy's indicators need; ``kestrel live --warmup-bars N`` overrides it.
    """

    mode: str = "paper"
    exchange: str = "binance"
    sandbox: bool = True
    warmup_bars: int | None = None

    def __post_init__(self) -> None:
        require(
            self.mode in ("paper", "live"),
            f'live.mode must be "paper" or "live", got {self.mode!r}',
        )
        require(
            self.warmup_bars is None or 0 <= self.warmup_bars <= MAX_WARMUP_BARS,
            f"live.warmup_bars must be in [0, {MAX_WARMUP_BARS}], got {self.warmup_bars}",
        )


@dataclass(frozen=True)
class AccountConfig:
    """The simulated account.

    Attributes:
        initial_cash: Starting cash in ``currency``, in (0, 1e15] (beyond, float64 loses
            the cents and order sizes overflow).
        currency: Account currency: cash, equity, fees, PnL and every risk limit are in
            it. An instrument quoted in another currency needs an ``[[fx]]`` rate series
            for that currency (see `FxRateConfig`).
        leverage: Max gross exposure / equity, in [1, 1000]. 1.0 is a cash account: buys
            must be paid in full from cash and shorts are limited to equity. Above 1.0 a
            margin account:
            cash may go negative (borrowed), risk caps gross exposure at equity × leverage.
        allow_short: Whether sells beyond the held quantity (short sales) are allowed.
        maintenance_margin: Fraction of gross exposure equity must stay at or above,
            checked after each bar's close is marked; below it the account is liquidated
            with market orders (see `engine.portfolio.accounts`). 0.0 (default): never.
            Must be below the initial margin ``1 / leverage``.
        borrow_rate: Annual fee on the value of short positions (0.05 = 5% a year, ACT/365),
            charged once per UTC day on shorts held over midnight. Perpetuals (symbols
            with a ``funding`` series) pay funding instead. 0.0 (default): free.
    """

    initial_cash: float = 10_000.0
    currency: str = "USD"
    leverage: float = 1.0
    allow_short: bool = True
    maintenance_margin: float = 0.0
    borrow_rate: float = 0.0

    def __post_init__(self) -> None:
        currency_code("account currency", self.currency)
        in_range("initial_cash", self.initial_cash, 0.0, MAX_AMOUNT, low_open=True)
        in_range("leverage", self.leverage, 1.0, MAX_LEVERAGE, low_open=False)
        require(
            0.0 <= self.maintenance_margin < 1.0 / self.leverage,
            f"maintenance_margin must be >= 0 and below the initial margin 1 / leverage = "
            f"{1.0 / self.leverage:g}, got {self.maintenance_margin}",
        )
        require(
            0.0 <= self.borrow_rate < 10.0,
            f"borrow_rate must be an annual fraction in [0, 10), got {self.borrow_rate}",
        )


@dataclass(frozen=True)
class DataSourceConfig:
    """One symbol's historical bars.

    Attributes:
        path: CSV/Parquet file; a relative path is looked up beside the config file,
            then under the project root, never in the working directory (`engine.paths`).
            May be omitted when the bars are passed from Python
            (``run_backtest(config, data={symbol: DataFrame})``).
        symbol: Symbol the bars belong to.
        kind: ``"bars"`` (OHLCV), ``"trades"`` (timestamp, price, amount/size, side) or
            ``"quotes"`` (timestamp, bid, ask, bid_size, ask_size): the broker matches on
            whatever the data gives (see `engine.execution.broker`).
        timeframe: Bar length ("1m", "1h", "1d"); inferred from the data when omitted.
        resample: Coarser timeframe to aggregate to before the run (e.g. "4h").
        start: Keep bars that open at or after this time (ISO-8601, UTC when naive).
        end: Keep bars that have closed by this time (``open + timeframe <= end``).
        funding: CSV of the symbol's funding rates (columns timestamp, rate; rate a
            fraction per payment), resolved like ``path``. The symbol is then a perpetual
            future: at each funding time its position pays ``quantity × price × rate``
            (longs pay shorts when the rate is positive). None (default): no funding.
        calendar: Which bar slots gap warnings count: ``"24/7"`` (every slot) or
            ``"weekdays"`` (weekend slots are not expected; holidays still count). None
            (default): inferred from the bars (none on weekends → ``"weekdays"``).
    """

    # path keeps its place (first: config.toml artifacts list it first); a default lets
    # it be omitted for DataFrame runs, so symbol needs one too and is checked below
    path: str = ""
    symbol: str = ""
    kind: Literal["bars", "trades", "quotes"] = "bars"
    timeframe: str | None = None
    resample: str | None = None
    start: str | None = None
    end: str | None = None
    funding: str | None = None
    calendar: Literal["24/7", "weekdays"] | None = None

    def __post_init__(self) -> None:
        require(bool(self.symbol), "data: every [[data]] table needs a symbol")
        require(
            self.funding is None or bool(self.funding.strip()),
            "funding path is empty; give the symbol's funding-rate CSV file or remove the key",
        )
        if self.kind != "bars":
            for name in ("timeframe", "resample", "start", "end", "funding", "calendar"):
                require(
                    getattr(self, name) is None,
                    f"{name} applies to bars, not to a source of kind {self.kind!r}",
                )


@dataclass(frozen=True)
class InstrumentConfig:
    """Venue rules for a symbol; a symbol without an entry gets these defaults.

    Ranges (checked when the config is read): ``tick_size`` and ``lot_size`` in
    [1e-12, 1e6]; ``min_quantity`` and ``min_notional`` (quote currency) in [0, 1e15].
    """

    symbol: str
    quote_currency: str | None = None  # defaults to the account currency
    tick_size: float = 0.01
    lot_size: float = 1e-8
    min_quantity: float = 0.0
    min_notional: float = 0.0

    def __post_init__(self) -> None:
        where = f"{self.symbol}: "
        if self.quote_currency is not None:
            currency_code(where + "quote_currency", self.quote_currency)
        for name in ("tick_size", "lot_size"):
            in_range(where + name, getattr(self, name), MIN_STEP, MAX_STEP, low_open=False)
        in_range(where + "min_quantity", self.min_quantity, 0.0, MAX_AMOUNT, low_open=False)
        in_range(where + "min_notional", self.min_notional, 0.0, MAX_AMOUNT, low_open=False)


@dataclass(frozen=True)
class FxRateConfig:
    """The rate series converting one foreign quote currency into the account currency.

    An ``[[fx]]`` table per currency that some instrument is quoted in and the account is
    not. The file is read like a ``[[data]]`` bar file (same formats and validation). The
    rate at time ``t`` is the close of the last rate bar that closed at or before ``t``
    (as of, never ahead); the first rate bar must close no later than the first bar of
    every instrument quoted in ``currency``. See `engine.portfolio.fx`.

    Attributes:
        currency: The foreign currency, as written in ``[[instruments]] quote_currency``.
        path: Bar file of the rate, resolved like ``[[data]] path``. Its close is the
            price of one unit of ``currency`` in the account currency (EURUSD for a EUR
            quote in a USD account), unless ``invert``.
        invert: True when the file quotes the other way round (the price of one account
            currency unit in ``currency``, e.g. EURUSD for a USD quote in a EUR account):
            the rate used is ``1 / close``.
        timeframe: Bar length of the rate file; inferred when omitted.
    """

    currency: str
    path: str
    invert: bool = False
    timeframe: str | None = None

    def __post_init__(self) -> None:
        currency_code("fx: currency", self.currency)
        require(bool(self.path.strip()), f"path is empty; give the {self.currency} rate file")


@dataclass(frozen=True)
class StrategyConfig:
    """Which strategy plugin to run and with which parameters.

    Attributes:
        path: ``"package.module:Class"``, ``"path/to/file.py:Class"`` or the name of an
            entry point in group ``kestrel.strategies``.
        params: Parameter values, checked against the strategy's ``Params`` class.
        id: Strategy id used in order ids and artifacts.
    """

    path: str
    params: dict[str, Any] = field(default_factory=dict)
    id: str = "S1"


@dataclass(frozen=True)
class ExecutionConfig:
    """Fill assumptions of the simulated broker (each one named; see README "Fills").

    Attributes:
        fee_rate: Fee per fill as a fraction of notional (0.001 = 0.1%).
        slippage_bps: Adverse price move applied to market and stop fills, in basis points.
        market_fill: ``"next_open"`` (default): an order decided on bar t fills at bar
            t+1's open. ``"same_close"``: fills at the close of the bar it was decided on
            (optimistic; only honest for strategies that could really trade the close);
            decided when its symbol's last close is older (on another symbol's bar
            delivered first, a shorter timeframe's bar, a timer, a headline), at the
            close of that symbol's next bar, never at a price before the decision.
        limit_fill: ``"through"`` (default): a limit fills only if the bar trades beyond
            its price (a bar that only opens at it has not). ``"touch"``: reaching the
            price is enough.
        cash_shortfall: What a cash-account buy does when, at the fill price, the cash
            cannot pay for it: ``"reduce"`` (default) fills the affordable quantity and
            cancels the rest; ``"cancel"`` cancels it whole.
        bracket_conflict: Which member of a one-cancels-other group fills when one bar
            reaches two, both first inside the bar: ``"stop_first"`` (default, pessimistic),
            ``"target_first"`` or ``"path"`` (first along open → nearer extreme → farther
            extreme → close). One the bar opens through fills, at the open, under every rule.
        volume_participation: Largest fraction of a bar's volume one order may fill in
            that bar (None: no cap). The remainder waits for later bars.
        latency_ns: Time from a decision to the order's arrival at the venue, in ns, at
            most one day; an order is matched from the first bar that opens at or after its
            arrival. Not with ``market_fill = "same_close"`` (refused).
        instrument_rules: ``"round"`` (default): quantities are rounded toward zero to
            the lot and prices to the tick passively (never more aggressive than asked: buy
            limits and sell stops down, sell limits and buy stops up); ``"reject"``: an
            order off the lot or tick grid is denied naming the rule.
        slippage_within_range: ``True`` (default): slippage never moves a fill beyond the
            prices the data shows — a bar's high (buys) or low (sells), a trade tick's
            price, a quote's ask (buys) or bid (sells); ``False``: the model's price as is.
            Either way a slipped price is put on the tick grid against the taker.
        fees: ``[execution.fees]`` table (``model = "percent" | "per_unit" | "tiered"``);
            when absent, ``fee_rate`` applies to makers and takers alike.
        slippage: ``[execution.slippage]`` table (``model = "fixed_bps" | "half_spread" |
            "volume_share"``); when absent, ``slippage_bps`` applies.
        target_sizing: When ``order_target_percent`` turns its fraction into a quantity:
            ``"close"`` (default) at the last close when the order is requested; ``"fill"``
            at the fill, from the equity then and the fill price after slippage, fees
            reserved (`engine.execution.fill_sizing`).
        exits_from: When exits attached to a fill at a bar's open (a bracket's OTO
            children, ``[risk.exits]`` stops, limits and trailing stops) are first matched:
            ``"next_bar"`` (default) from the next bar; ``"fill_bar"`` against the rest of
            the fill's own bar, as a venue does with exits placed right after the entry
            fills (needs ``latency_ns = 0``: the rest of the bar is from the open on).
    """

    fee_rate: float = 0.001
    slippage_bps: float = 0.0
    market_fill: Literal["next_open", "same_close"] = "next_open"
    limit_fill: Literal["through", "touch"] = "through"
    cash_shortfall: Literal["reduce", "cancel"] = "reduce"
    bracket_conflict: Literal["stop_first", "target_first", "path"] = "stop_first"
    volume_participation: float | None = None
    latency_ns: int = 0
    fees: FeeConfig | None = None
    slippage: SlippageConfig | None = None
    instrument_rules: Literal["round", "reject"] = "round"
    slippage_within_range: bool = True
    target_sizing: Literal["close", "fill"] = "close"
    exits_from: Literal["next_bar", "fill_bar"] = "next_bar"

    def __post_init__(self) -> None:
        require(
            self.exits_from == "next_bar" or self.latency_ns == 0,
            'exits_from = "fill_bar" needs latency_ns = 0 (exits arriving after a latency '
            "are matched from the first bar opening after they arrive)",
        )
        if self.volume_participation is not None:
            require(
                0 < self.volume_participation <= 1,
                f"volume_participation must be in (0, 1], got {self.volume_participation}",
            )
        require(
            0 <= self.latency_ns <= MAX_LATENCY_NS,
            f"latency_ns must be in [0, {MAX_LATENCY_NS}] (one day, in ns), got {self.latency_ns}",
        )
        require(
            self.market_fill == "next_open" or self.latency_ns == 0,
            'market_fill = "same_close" needs latency_ns = 0 (an order reaching the venue '
            "after a latency cannot fill at the close it was decided on; use "
            '"next_open" to model latency)',
        )
        require(0 <= self.fee_rate < 1, f"fee_rate must be in [0, 1), got {self.fee_rate}")
        require(
            0 <= self.slippage_bps < 10_000,
            f"slippage_bps must be in [0, 10000), got {self.slippage_bps}",
        )


@dataclass(frozen=True)
class PaperConfig:
    """``kestrel paper`` settings (backtests ignore them).

    Attributes:
        warmup_bars: A new paper account warms its indicators with this many closed bars
            per symbol before its start (the catalog file a ``[[data]]`` path names with
            ``catalog://``, else the exchange's ``fetch_ohlcv``), stored with the account.
            0 (default): none. ``kestrel paper --warmup-bars N`` overrides it.
    """

    warmup_bars: int = 0

    def __post_init__(self) -> None:
        require(
            0 <= self.warmup_bars <= MAX_WARMUP_BARS,
            f"paper.warmup_bars must be in [0, {MAX_WARMUP_BARS}], got {self.warmup_bars}",
        )


@dataclass(frozen=True)
class RunConfig:
    """Everything one backtest needs. Build it with `load_config` or `parse_config`."""

    data: list[DataSourceConfig]
    strategy: StrategyConfig
    run: RunSection = field(default_factory=RunSection)
    account: AccountConfig = field(default_factory=AccountConfig)
    instruments: list[InstrumentConfig] = field(default_factory=list)
    execution: ExecutionConfig = field(default_factory=ExecutionConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)
    fx: list[FxRateConfig] = field(default_factory=list)
    ml: MlConfig | None = None  # [ml]: features, label, model (engine.ml.config)
    live: LiveSection = field(default_factory=LiveSection)
    paper: PaperConfig = field(default_factory=PaperConfig)
    # [[data]] tables of kind = "news" (engine.feeds.news_config): taken out of ``data`` by
    # parse_config, put back by dump_config
    news: list[NewsSourceConfig] = field(default_factory=list, metadata={"config": False})
    base_dir: str = field(default=".", compare=False, metadata={"config": False})

    def __post_init__(self) -> None:
        require(len(self.data) > 0, "data: at least one [[data]] source is required")
        symbols = [source.symbol for source in self.data]
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        require(not duplicates, f"data: symbol {duplicates} appears in more than one source")
        listed = [instrument.symbol for instrument in self.instruments]
        twice = sorted({s for s in listed if listed.count(s) > 1})
        require(not twice, f"instruments: symbol {twice} has more than one [[instruments]] entry")
        known = set(symbols)
        for instrument in self.instruments:
            require(
                instrument.symbol in known,
                f"instruments: {instrument.symbol!r} has no [[data]] source",
            )
        currencies = [rate.currency for rate in self.fx]
        repeated = sorted({c for c in currencies if currencies.count(c) > 1})
        require(not repeated, f"fx: currency {repeated} has more than one [[fx]] table")
        require(
            self.account.currency not in currencies,
            f"fx: {self.account.currency} is the account currency and needs no rate series",
        )
        quoted = {i.quote_currency for i in self.instruments if i.quote_currency}
        for currency in currencies:
            require(
                currency in quoted,
                f"fx: no instrument is quoted in {currency!r} (instrument quote currencies: "
                f"{sorted(quoted) or 'none'}); remove the [[fx]] table or fix the currency",
            )
        for instrument in self.instruments:
            quote = instrument.quote_currency
            require(
                quote is None or quote == self.account.currency or quote in currencies,
                f"instruments: {instrument.symbol} is quoted in {quote} but the account is "
                f"in {self.account.currency}; add an [[fx]] table with currency = "
                f"{quote!r} and the path of its rate series",
            )

        lots = {instrument.symbol: instrument.lot_size for instrument in self.instruments}
        lot_problem = sizer_lot_problem(self.risk.sizer, lots)
        require(not lot_problem, lot_problem)
        for key in ("allowed_symbols", "blocked_symbols"):
            for symbol in getattr(self.risk, key) or ():
                require(
                    symbol in known,
                    f"risk: {key} names {symbol!r}, which has no [[data]] source"
                    f"{did_you_mean(symbol, symbols)}",
                )

        for index, source in enumerate(self.news):
            for symbol in source.symbols:
                require(
                    symbol in known,
                    f"data: news table {index + 1} keeps symbol {symbol!r}, which has no bar "
                    f"[[data]] source{did_you_mean(symbol, symbols)}",
                )
        if self.ml is not None and self.ml.symbol:
            require(
                self.ml.symbol in known,
                f"ml: symbol {self.ml.symbol!r} has no [[data]] source"
                f"{did_you_mean(self.ml.symbol, symbols)}",
            )

    @property
    def symbols(self) -> list[str]:
        """Return the traded symbols in config order."""
        return [source.symbol for source in self.data]


def parse_config(document: dict[str, Any], base_dir: str | Path = ".") -> RunConfig:
    """Return a validated `RunConfig` from a parsed TOML document.

    Raises:
        ConfigError: Unknown key, wrong type or out-of-range value.
    """
    rest, news = split_news(document)
    config = build(RunConfig, rest)
    checks = [replace(entry, base_dir=str(base_dir)) for entry in config.risk.checks]
    try:  # replace runs the checks again, now with the news sources; file checks: base_dir
        risk = replace(config.risk, checks=checks)
        return replace(config, news=news, base_dir=str(base_dir), risk=risk)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    """Read a TOML run config, apply ``key=value`` overrides, validate it.

    Raises:
        ConfigError: The file is missing or not TOML, or the content is invalid.
    """
    document = read_toml(path)
    document = apply_overrides(document, overrides or [])
    return parse_config(document, base_dir=Path(path).parent)


def dump_config(config: RunConfig) -> dict[str, Any]:
    """Return ``config`` as a TOML-writable dict (the resolved config of a run)."""
    plain: dict[str, Any] = to_plain(config)
    if not plain.get("fx"):
        plain.pop("fx", None)  # single-currency configs dump exactly as before [[fx]] existed
    if config.live == LiveSection():
        plain.pop("live", None)  # as fx: configs without [live] keep their run ids
    if config.paper == PaperConfig():
        plain.pop("paper", None)  # likewise: a config without [paper] dumps without it
    if config.news:  # after the bar tables, as kind = "news" tables (read back the same)
        plain["data"] = [*plain["data"], *news_tables(config.news)]
    return plain
