"""Labels, their end bars and uniqueness weights against hand-computed small cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.ml.config import LabelConfig
from engine.ml.labels import _barrier_kernel, barrier_widths, make_labels, uniqueness_weights


def test_forward_return_labels_and_end_bars() -> None:
    close = np.array([100, 101, 103, 99, 98, 100, 102, 104.0])
    labels = make_labels(close, LabelConfig(kind="forward_return", horizon=2))
    # 103/100, 99/101, 98/103, 100/99, 102/98, 104/100; the last two have no t+2 bar
    np.testing.assert_array_equal(labels.y[:6], [1, 0, 0, 1, 1, 1])
    assert np.isnan(labels.y[6:]).all()
    np.testing.assert_array_equal(labels.end, [2, 3, 4, 5, 6, 7, -1, -1])


def test_forward_return_threshold() -> None:
    close = np.array([100, 100.5, 102.0])
    labels = make_labels(close, LabelConfig(kind="forward_return", horizon=1, threshold=0.01))
    # +0.5% is not above 1%, +1.49% is
    np.testing.assert_array_equal(labels.y[:2], [0, 1])


def test_triple_barrier_first_touch_decides_and_ends_the_label() -> None:
    close = np.array([100, 101, 103, 97, 100, 100, 100.0])
    width = np.full(7, 0.02)  # barriers at ±2% of each sample's close
    y, end = _barrier_kernel(close, width, 2, 1.0, 1.0, 0.0)
    # bar 0: 103 >= 102 at bar 2 -> 1, ends at 2
    # bar 1: upper 103.02, lower 98.98: 97 at bar 3 -> 0, ends at 3
    # bar 2: lower 100.94: 97 at bar 3 -> 0
    # bar 3: upper 98.94: 100 at bar 4 -> 1
    # bar 4: nothing touched by bar 6 = 4 + 2: time barrier, 100/100 - 1 = 0 -> 0, ends at 6
    # bars 5, 6: no touch, and bars 7, 8 are not in the data: unresolved
    np.testing.assert_array_equal(y[:5], [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(end, [2, 3, 3, 4, 6, -1, -1])
    assert np.isnan(y[5:]).all()


def test_triple_barrier_profit_take_and_stop_loss_are_scaled_separately() -> None:
    close = np.array([100, 98.5, 103.0])
    width = np.full(3, 0.01)
    # stop_loss 2σ: the lower barrier is 98, 98.5 does not touch it; the upper (pt 2σ) 102 does
    y, end = _barrier_kernel(close, width, 5, 2.0, 2.0, 0.0)
    assert (y[0], end[0]) == (1.0, 2)
    # stop_loss 1σ: 98.5 <= 99 touches first
    y, end = _barrier_kernel(close, width, 5, 2.0, 1.0, 0.0)
    assert (y[0], end[0]) == (0.0, 1)


def test_barrier_widths_are_the_trailing_return_stddev_times_sqrt_horizon() -> None:
    rng = np.random.default_rng(3)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, 60))
    cfg = LabelConfig(horizon=4, vol_window=10)
    width = barrier_widths(close, cfg)
    returns = close[1:] / close[:-1] - 1
    for t in (10, 11, 30, 59):
        expected = np.std(returns[t - 10 : t], ddof=0) * math.sqrt(4)
        assert width[t] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(width[:10]).all()


def test_labels_on_cut_closes_equal_the_full_series_once_resolved() -> None:
    rng = np.random.default_rng(5)
    close = 100 * np.cumprod(1 + rng.normal(0, 0.01, 400))
    cfg = LabelConfig(horizon=12, vol_window=20)
    full = make_labels(close, cfg)
    for cut in (50, 137, 300):
        part = make_labels(close[:cut], cfg)
        done = part.resolved
        assert (part.end[done] < cut).all()
        np.testing.assert_array_equal(part.y[done], full.y[:cut][done])
        np.testing.assert_array_equal(part.end[done], full.end[:cut][done])


def test_uniqueness_weights_hand_case() -> None:
    # spans (start, end]: label 0 bars 1-3, label 1 bar 2, label 2 bar 6
    # concurrency: bar 1: 1, bar 2: 2, bar 3: 1, bar 6: 1
    weights = uniqueness_weights(np.array([0, 1, 5]), np.array([3, 2, 6]))
    np.testing.assert_allclose(weights, [(1 + 0.5 + 1) / 3, 0.5, 1.0])


def test_uniqueness_of_fully_overlapping_labels_is_one_over_their_count() -> None:
    weights = uniqueness_weights(np.array([10, 10, 10, 10]), np.array([14, 14, 14, 14]))
    np.testing.assert_allclose(weights, [0.25] * 4)


def test_uniqueness_rejects_a_label_not_ending_after_its_start() -> None:
    with pytest.raises(ValueError, match="end after its start"):
        uniqueness_weights(np.array([3]), np.array([3]))
