"""More O(1) streams replacing the window engine: MFI, ULTOSC, VORTEX, VHF, BETA, CORREL,
FRACTAL and PERCENTILE.

Each replays its batch kernel's running state bar by bar (sums over a deque of the values
they must drop, monotonic deques for extremes, periodically re-anchored sums for CORREL,
a sorted window for PERCENTILE), so fed the same rows it returns the batch numbers.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

NAN = math.nan
