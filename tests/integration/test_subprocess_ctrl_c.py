"""The CLI processes that tests start take Ctrl-C as from a terminal, however the suite started.

A shell starts a background job (``make test &``, some CI runners) with SIGINT ignored, and
an ignored signal stays ignored in every process started below it. Python then installs no
``KeyboardInterrupt`` handler, so a ``kestrel`` subprocess that a test stops with SIGINT
(``exchange serve``, ``optimize``) never stops: the test timed out in such runs, on
whichever pytest worker had not yet run a paper or live command in-process (asyncio's signal
handling resets the disposition as a side effect). `tests/conftest.py` restores Python's
handler in every test process; this test starts a child the way those tests do and checks
what it inherited.
"""

from __future__ import annotations

import subprocess
import sys


def test_a_started_process_takes_ctrl_c_as_keyboard_interrupt() -> None:
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "True", "SIGINT is ignored in processes the tests start"
