"""Exchanges through ccxt: history download into the catalog, the live feed, error
translation, capabilities.

ccxt is imported lazily inside the functions that call it (the CLI's start-up stays fast).
"""

from engine.adapters.ccxt.capabilities import Capabilities, capabilities
from engine.adapters.ccxt.download import LOCAL_URL_ENV, Download, Gap, SymbolResult, download
from engine.adapters.ccxt.errors import RetryPolicy, call_with_retry, translate
from engine.adapters.ccxt.feed import CcxtFeed, FeedOptions, FeedStats, open_feed

__all__ = [
    "LOCAL_URL_ENV",
    "Capabilities",
    "CcxtFeed",
    "Download",
    "FeedOptions",
    "FeedStats",
    "Gap",
    "RetryPolicy",
    "SymbolResult",
    "call_with_retry",
    "capabilities",
    "download",
    "open_feed",
    "translate",
]
