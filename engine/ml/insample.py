"""Say when a run trades on what its model or scorer learned from the run's own period.

In: what was trained (a saved model's ``trained_until``, the last headline of a TF-IDF
training file), when that training data ends (ns UTC) and the run's first decision (the
close time of the first bar the strategy decides on). Out: one ``warning:`` line on
stderr when the first decision is at or before the end of the training data: every
decision up to then used a model fitted on those bars' own outcomes, so the results there
are in-sample, not a test. The run still runs (a warning, not a refusal: replaying a
model's own period is a legitimate check, e.g. a paper replay against its backtest).

Also the strategies' other warnings (`warn`): stderr, so the same line reaches the user in
a backtest, a sweep's worker, paper and live.
"""

from __future__ import annotations

from engine.errors import DataError, warn
from engine.feeds.timeframe import format_timestamp, parse_timestamp

__all__ = ["check_in_sample", "warn"]


def check_in_sample(trained: str, until: str | int, first_ns: int, why: str, advice: str) -> bool:
    """Warn if the run decides at ``first_ns`` on data ``trained`` saw; return whether it did.

    Args:
        trained: What was trained on what, as the line begins (``"model 'models/x' (v1)
            was trained on labels known"``).
        until: The end of its training data: ns UTC, or ISO-8601 text (``trained_until``;
            text that is no time, e.g. from a hand-made model.json, is not checked).
        first_ns: The close time of the run's first decision bar (ns UTC).
        why: Why those results are in-sample (in brackets).
        advice: What to do instead (the line's end).
    """
    try:
        until_ns = until if isinstance(until, int) else parse_timestamp(until)
    except (DataError, ValueError, OverflowError):
        return False
    if first_ns > until_ns:
        return False
    end = format_timestamp(until_ns)
    warn(
        f"{trained} until {end}, and this run decides from {format_timestamp(first_ns)}: its "
        f"results up to {end} are in-sample ({why}), not a test; {advice}"
    )
    return True
