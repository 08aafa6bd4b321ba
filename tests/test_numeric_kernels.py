"""Window kernels of analytics._numeric against plain per-row reductions."""

import numpy as np
import pytest

from analytics._numeric import prior_extreme

SYMBOLS = 17
NAN_SHARE = 0.05


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("sessions", [1, 2, 3, 10, 30, 300])
@pytest.mark.parametrize("lookback", [1, 2, 7, 29, 251])
def test_prior_extreme_matches_a_plain_window_reduction(order, sessions, lookback):
    """Check every row's prior window max/min, NaN propagating, in both layouts."""
    rng = np.random.default_rng(sessions * 1000 + lookback)
    a = np.asarray(rng.normal(size=(sessions, SYMBOLS)), order=order)
    a[rng.random(a.shape) < NAN_SHARE] = np.nan
    for op, reduce in ((np.maximum, np.max), (np.minimum, np.min)):
        got = prior_extreme(a, lookback, op)
        rows = [reduce(a[r - lookback : r], axis=0) for r in range(lookback, sessions)]
        expected = np.array(rows).reshape(max(sessions - lookback, 0), SYMBOLS)
        assert got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True)
