"""O(1) streams for element-wise indicators (math, price transforms) and fixed lags (MOM, ROC).

Element-wise functions use the ``math`` module (tens of nanoseconds) and fall back to numpy
for the inputs where ``math`` raises instead of returning NaN or infinity, so results match
the batch form exactly, special values included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass
