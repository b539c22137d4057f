"""Write the SYNTHETIC sample headline files (data/sample_headlines_*.csv). Not real news.

The headlines are invented from a few templates: the scored file has one headline every
4 to 20 hours for BTC/USDT from 2020-12-01 to 2021-02-28 UTC, its tone (positive,
negative, neutral) drawn at random with a fixed seed, independent of prices; the
labelled file (for training the TF-IDF scorer) has about 60 headlines dated before the scored
period (November 2020), labelled by the template's tone. Any result on them is noise: they
exist to exercise the code path. Real use needs a real, timestamped news source.

    python tools/make_sample_headlines.py    # rewrites both files, byte for byte
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEED = 17
TEMPLATES = {
    1: [
        "{who} adds bitcoin to its balance sheet",
        "Bitcoin rallies as {who} reports record inflows",
        "Analysts upbeat on bitcoin after strong week",
        "{who} launches bitcoin custody, shares surge",
        "Bitcoin gains as investors welcome clearer rules",
    ],
    0: [
        "Bitcoin slides as {who} warns of crackdown",
        "Exchange hack sparks fears, bitcoin drops",
        "{who} sells bitcoin holdings amid losses",
        "Regulators threaten ban, crypto market tumbles",
        "Bitcoin plunges after {who} flags fraud risks",
    ],
    -1: [
        "{who} to publish crypto report next month",
        "Bitcoin trading volume steady on Tuesday",
        "{who} comments on digital asset markets",
    ],
}
WHO = ["A large bank", "An asset manager", "A payments firm", "A central bank", "A fund"]


def _rows(
    rng: np.random.Generator, start: datetime, end: datetime, labelled: bool
) -> list[dict[str, str]]:
    rows = []
    t = start
    while t < end:
        tone = int(rng.choice([1, 0, -1], p=[0.4, 0.4, 0.2] if not labelled else [0.5, 0.5, 0.0]))
        template = TEMPLATES[tone][int(rng.integers(len(TEMPLATES[tone])))]
        text = template.format(who=WHO[int(rng.integers(len(WHO)))])
        row = {
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "symbol": "BTC/USDT",
            "headline": text,
        }
        if labelled:
            row["label"] = str(tone)
        rows.append(row)
        t += timedelta(hours=int(rng.integers(4, 21)), minutes=int(rng.integers(60)))
    return rows


def main() -> None:
    """Write both files."""
    rng = np.random.default_rng(SEED)
    scored = _rows(
        rng, datetime(2020, 12, 1, 3, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC), False
    )
    labelled = _rows(
        rng, datetime(2020, 11, 1, tzinfo=UTC), datetime(2020, 11, 30, tzinfo=UTC), True
    )
    for name, rows in (
        ("sample_headlines_btc.csv", scored),
        ("sample_headlines_labelled.csv", labelled),
    ):
        with (ROOT / "data" / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
        print(f"data/{name}: {len(rows)} headlines")


if __name__ == "__main__":
    main()
