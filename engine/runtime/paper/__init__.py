"""Paper trading: a strategy on live bars with simulated fills, in a crash-safe account.

```
LiveFeed (engine.feeds.live) ─▶ session.PaperSession.process(bar)
                                   ├─▶ journal.PaperJournal.append   (committed first)
                                   ├─▶ TradingNode.on_bar            (engine.runtime.node)
                                   └─▶ journal.PaperJournal.write_outputs (orders, fills,
                                        equity, the runs row: idempotent)
restart: session.open_session ─▶ replay the journal through a fresh node ─▶ resume the feed
console.LiveView / console.JsonLog: what a running account shows and logs
```

The command is ``kestrel paper`` (`engine.cli_paper`); the policies (accounts, catch-up,
stops, what a config change does) are in `engine.runtime.paper.session`
and README "Paper trading".
"""

from engine.runtime.paper.journal import Account, Entry, Outputs, PaperJournal
from engine.runtime.paper.session import PaperSession, config_parts, open_session, run_id_of

__all__ = [
    "Account",
    "Entry",
    "Outputs",
    "PaperJournal",
    "PaperSession",
    "config_parts",
    "open_session",
    "run_id_of",
]
