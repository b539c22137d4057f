"""The README links nothing outside the repository, and every file it links exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_links_stay_inside_the_repository() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    assert "docs/strategy-api.md" in links
    for link in links:
        assert not re.match(r"^[a-z]+:", link), f"external link {link}"
        target = (ROOT / link.split("#", 1)[0]).resolve()
        assert target.is_relative_to(ROOT), f"{link} points outside the repository"
        assert target.exists(), f"{link} does not exist"
    # paths in code spans are references too: none may leave the repository
    # (spans are read pairwise, left to right, so the "/" between `runs`/`report` is no span)
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    # a span is a reference outside when it climbs out (../), is a web address off this
    # machine, or is an absolute file path (/work/..., /home/...); server paths such as the
    # local exchange's /api/v3 are not files
    outside = [
        span
        for span in spans
        if span.startswith("../")
        or re.match(r"https?://(?!127\.0\.0\.1|localhost)", span)
        or (re.match(r"/\w", span) and Path("/", span[1:].split("/")[0]).is_dir())
    ]
    assert outside == []
