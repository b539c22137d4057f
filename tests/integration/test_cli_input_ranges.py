"""Numbers, URLs and symbols on the command line outside what they can mean (an audit).

Each is one line on stderr and exit 2 before anything is written or connected: a
non-finite or absurd ``--risk-free-rate`` (``report``, ``live-report``), a ``--trials``
count past what the deflated Sharpe ratio can compute, ``optimize``/``walkforward``
budgets, seeds and worker counts, ``sweeps show --top``, an ``--exchange-url`` that is not
http(s) (``live``, ``paper``, ``$KESTREL_EXCHANGE_URL``) and a ``--symbol`` that is not
BASE/QUOTE (``exchange serve``). ``live-report`` leaves no half-written folder when a step
fails after the inputs were checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.runtime.live.report as live_report_module
from engine.cli import main
from engine.persistence import RunStore
from engine.persistence.sweeps import SweepStore
from tests.integration.conftest import REPO, CliRunner, assert_one_line_error
from tests.integration.test_live_crash import CONFIG
from tests.integration.test_live_report_cli import ROWS, _account

BTC = REPO / "configs" / "sma_cross_btc.toml"
PAPER = REPO / "configs" / "paper_btc.toml"


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "run"
    assert main(["backtest", str(BTC), "--no-db", "--out", str(folder)]) == 0
    return folder


BAD_RATES = ["nan", "inf", "-inf", "-5", "-1", "1", "1e308"]


@pytest.mark.parametrize("rate", BAD_RATES)
def test_report_refuses_a_risk_free_rate_out_of_range(
    kestrel: CliRunner, tmp_path: Path, run_folder: Path, rate: str
) -> None:
    page = tmp_path / "r.html"
    result = kestrel("report", str(run_folder), "--out", str(page), "--risk-free-rate", rate)
    assert_one_line_error(result, "--risk-free-rate", "(-1, 1)")
    assert not page.exists()
    assert not (tmp_path / "_assets").exists()


def test_report_takes_a_sane_risk_free_rate(
    kestrel: CliRunner, tmp_path: Path, run_folder: Path
) -> None:
    page = tmp_path / "r.html"
    result = kestrel("report", str(run_folder), "--out", str(page), "--risk-free-rate", "-0.005")
    assert result.code == 0, result.err
    assert page.is_file()


@pytest.fixture
def live_config(tmp_path: Path) -> Path:
    path = tmp_path / "rep.toml"
    path.write_text(CONFIG.replace('name = "crash"', 'name = "rep"'))
    return path


@pytest.mark.parametrize("rate", BAD_RATES)
def test_live_report_refuses_a_risk_free_rate_out_of_range_and_writes_nothing(
    kestrel: CliRunner, tmp_path: Path, live_config: Path, rate: str
) -> None:
    db, out = tmp_path / "k.db", tmp_path / "out"
    _account(db, ROWS)
    result = kestrel(
        "live-report", str(live_config), "--db", f"sqlite:///{db}", "--out", str(out),
        "--risk-free-rate", rate,
    )  # fmt: skip
    assert_one_line_error(result, "--risk-free-rate", "(-1, 1)")
    assert not out.exists()


def _names(folder: Path) -> list[str]:
    """The names in ``folder`` but the store's (``k.db`` and its WAL files)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("k.db"))


def _failing_metrics(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device", "metrics.json")


def test_live_report_that_fails_midway_leaves_no_half_written_folder(
    kestrel: CliRunner, tmp_path: Path, live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = tmp_path / "k.db", tmp_path / "deep" / "out"
    _account(db, ROWS)
    monkeypatch.setattr(live_report_module, "write_metrics", _failing_metrics)
    args = ("live-report", str(live_config), "--db", f"sqlite:///{db}", "--out", str(out))
    result = kestrel(*args)
    assert_one_line_error(result, "No space left on device")
    assert not (tmp_path / "deep").exists()  # nor the parent it created
    assert _names(tmp_path) == ["rep.toml"]


def test_live_report_that_fails_midway_keeps_the_previous_report(
    kestrel: CliRunner, tmp_path: Path, live_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db, out = tmp_path / "k.db", tmp_path / "out"
    _account(db, ROWS)
    args = ("live-report", str(live_config), "--db", f"sqlite:///{db}", "--out", str(out))
    first = kestrel(*args)
    assert first.code == 0, first.err
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert {str(p) for p in before} >= {"report.html", "metrics.json", "equity.csv"}
    with monkeypatch.context() as patch:
        patch.setattr(live_report_module, "write_metrics", _failing_metrics)
        assert kestrel(*args).code == 2
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after.keys() == before.keys()
    assert all(after[name] == before[name] for name in before if name.name != "report.html")
    assert _names(tmp_path) == ["out", "rep.toml"]
    again = kestrel(*args)  # and a later run replaces it as before
    assert again.code == 0, again.err
    assert (out / "metrics.json").read_bytes() == before[Path("metrics.json")]


@pytest.mark.parametrize(
    ("trials", "fragment"),
    [("1000000000000000000", "--trials"), ("0", "--trials"), ("-3", "--trials")],
)
def test_report_refuses_a_trial_count_out_of_range(
    kestrel: CliRunner, tmp_path: Path, run_folder: Path, trials: str, fragment: str
) -> None:
    page = tmp_path / "r.html"
    result = kestrel("report", str(run_folder), "--out", str(page), "--trials", trials)
    assert_one_line_error(result, fragment)
    assert not page.exists()


def test_report_takes_a_million_trials(
    kestrel: CliRunner, tmp_path: Path, run_folder: Path
) -> None:
    page = tmp_path / "r.html"
    result = kestrel("report", str(run_folder), "--out", str(page), "--trials", "1000000")
    assert result.code == 0, result.err


def _sweep_config(folder: Path) -> Path:
    config = folder / "sweep.toml"
    config.write_text(
        f'[run]\nname = "ranges"\n[[data]]\npath = "{REPO / "data" / "GOOG.csv"}"\n'
        'symbol = "GOOG"\n[strategy]\npath = "strategies.sma_cross:SmaCross"\n'
        "params = { fast = 10, slow = 30 }\n"
    )
    return config


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--workers", "1000000000000000000"], "--workers must be in [1, 1024]"),
        (["--method", "optuna", "--trials", "2", "--seed", "-5"], "--seed must be in [0, "),
        (["--method", "random", "--seed", str(2**64)], "--seed must be in [0, "),
        (["--method", "random", "--trials", "1000000000000000000"], "--trials must be in [1, "),
        (["--method", "optuna", "--trials", "1000000000000000000"], "--trials must be in [1, "),
    ],
)
def test_optimize_refuses_counts_out_of_range_before_storing(
    kestrel: CliRunner, tmp_path: Path, args: list[str], fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    html = tmp_path / "sweep.html"
    result = kestrel(
        "optimize", str(_sweep_config(tmp_path)), "--param", "fast=5:10:5", "--db", url,
        "--html", str(html), *args,
    )  # fmt: skip
    assert_one_line_error(result, fragment)
    assert not html.exists()
    store = RunStore(url)
    assert SweepStore(store).list_sweeps() == []
    store.engine.dispose()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--workers", "1000000000000000000"], "--workers must be in [1, 1024]"),
        (["--method", "random", "--seed", "-1"], "--seed must be in [0, "),
        (["--method", "random", "--trials", "1000000000000000000"], "--trials must be in [1, "),
    ],
)
def test_walkforward_refuses_counts_out_of_range(
    kestrel: CliRunner, tmp_path: Path, args: list[str], fragment: str
) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel(
        "walkforward", "configs/sma_cross_goog.toml", "--param", "fast=5:10:5",
        "--in-sample", "500", "--out-of-sample", "100", "--db", url,
        "--out", str(tmp_path / "wf"), *args,
    )  # fmt: skip
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "wf").exists()


def test_sweeps_show_refuses_a_negative_top(kestrel: CliRunner, tmp_path: Path) -> None:
    # --top -1 showed every trial but the last one, as if the sweep had one trial less
    url = f"sqlite:///{tmp_path / 'k.db'}"
    result = kestrel("sweeps", "show", "any", "--top", "-1", "--db", url)
    assert_one_line_error(result, "--top must be >= 0, got -1")


def _live_config(tmp_path: Path) -> Path:
    text = PAPER.read_text().replace('path = "data/', f'path = "{REPO}/data/')
    path = tmp_path / "live.toml"
    path.write_text(text.replace("[run]", '[live]\nmode = "live"\n\n[run]', 1))
    return path


BAD_URLS = ["notaurl", "ftp://x", "http://", "http:///path", "https://host:99999", "localhost:8765"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_live_refuses_an_exchange_url_that_is_not_http_before_connecting(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("KESTREL_API_KEY", "key")
    monkeypatch.setenv("KESTREL_API_SECRET", "secret")
    result = kestrel(
        "live", str(_live_config(tmp_path)), "--live", "--exchange-url", url,
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, f"--exchange-url {url!r} is not an http(s) URL")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.toml"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_paper_refuses_an_exchange_url_that_is_not_http_before_connecting(
    kestrel: CliRunner, tmp_path: Path, url: str
) -> None:
    result = kestrel(
        "paper", str(_live_config(tmp_path)), "--exchange-url", url,
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, f"--exchange-url {url!r} is not an http(s) URL")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.toml"]


def test_paper_refuses_a_bad_exchange_url_from_the_environment(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KESTREL_EXCHANGE_URL", "ftp://x")
    result = kestrel(
        "paper", str(_live_config(tmp_path)), "--exchange", "binance",
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, "$KESTREL_EXCHANGE_URL 'ftp://x' is not an http(s) URL")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.toml"]


@pytest.mark.parametrize("symbol", ["/", "XUSD", "X/", "/USDT", "BTC/USDT/X", "BTC /USDT", " "])
def test_exchange_serve_refuses_a_symbol_that_is_not_base_quote(
    kestrel: CliRunner, symbol: str
) -> None:
    result = kestrel("exchange", "serve", "data/GOOG.csv", "--symbol", symbol, "--port", "0")
    assert_one_line_error(result, f"--symbol {symbol!r}", "use BASE/QUOTE, e.g. BTC/USDT")


def test_the_exchange_url_variable_checked_is_the_one_ccxt_reads() -> None:
    from engine.adapters.ccxt.download import LOCAL_URL_ENV
    from engine.cli_exchange import LOCAL_URL_ENV as CHECKED

    assert CHECKED == LOCAL_URL_ENV


def test_paper_refuses_more_warm_up_bars_than_a_config_may_ask_for(
    kestrel: CliRunner, tmp_path: Path
) -> None:
    # 10**18 warm-up bars swallowed the whole replay as warm-up: a resumed-looking account
    # with 0 new bars, exit 0 ([paper] warmup_bars and `live --warmup-bars` stop at 1e6)
    result = kestrel(
        "paper", str(PAPER), "--replay", str(PAPER), "--speed", "max", "--max-bars", "3",
        "--warmup-bars", "1000000000000000000", "--db", f"sqlite:///{tmp_path / 'k.db'}",
        "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, "--warmup-bars")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value"),
    [("--poll", "inf"), ("--poll", "1e300"), ("--stale-after", "inf"), ("--stale-after", "1e9")],
)
def test_paper_refuses_a_poll_or_silence_interval_longer_than_a_day(
    kestrel: CliRunner, tmp_path: Path, option: str, value: str
) -> None:
    # --poll inf was taken: a feed that never asks for a candle, waiting for ever in silence
    result = kestrel(
        "paper", str(_live_config(tmp_path)), option, value,
        "--exchange-url", "http://127.0.0.1:9",  # never reached: the option is refused first
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, option)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.toml"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--user-check-every", "inf"), ("--user-grace", "inf"), ("--user-grace", "1e9")],
)
def test_live_refuses_a_stream_check_interval_longer_than_a_day(
    kestrel: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    # --user-grace inf: a user-data stream that stalls is never declared stale
    monkeypatch.setenv("KESTREL_API_KEY", "key")
    monkeypatch.setenv("KESTREL_API_SECRET", "secret")
    result = kestrel(
        "live", str(_live_config(tmp_path)), "--live", option, value,
        "--exchange-url", "http://127.0.0.1:9",  # never reached: the option is refused first
        "--db", f"sqlite:///{tmp_path / 'k.db'}", "--log-dir", str(tmp_path / "log"),
    )  # fmt: skip
    assert_one_line_error(result, option)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live.toml"]


TIERED = 'execution.fees={model="tiered",tiers=[{maker=0.001,taker=0.001}],window_days=%s}'


@pytest.mark.parametrize(
    ("setting", "fragments"),
    [
        (TIERED % "1e300", ["window_days", "3650"]),
        (TIERED % "3651", ["window_days", "3650"]),
        (TIERED % "inf", ["window_days"]),
        ('data.0.resample="99999999999999999d"', ["99999999999999999d", "3650d"]),
        ('data.0.timeframe="99999999999999999d"', ["99999999999999999d", "3650d"]),
        ('data.0.resample="3651d"', ["3651d", "longer than", "3650d"]),
    ],
)
def test_a_config_duration_past_ten_years_is_refused_in_one_line(
    kestrel: CliRunner, tmp_path: Path, setting: str, fragments: list[str]
) -> None:
    out = tmp_path / "run"
    result = kestrel("backtest", str(BTC), "--no-db", "--out", str(out), "--set", setting)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_a_fee_window_of_ten_years_runs(kestrel: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = kestrel("backtest", str(BTC), "--no-db", "--out", str(out), "--set", TIERED % "3650")
    assert result.code == 0, result.err
