"""Spike detection finds a planted spike and nothing in flat or noisy-but-stationary data."""
import numpy as np
import pandas as pd

from analytics.analyst.spikes import detect_spikes, robust_z, volume_spikes


def series(values):
    return pd.DataFrame({"posts": values}, index=pd.date_range("2026-01-01", periods=len(values), freq="D"))


def test_planted_spike_is_found_exactly():
    rng = np.random.default_rng(0)
    v = rng.poisson(100, 60).astype(float)
    v[40] = 400
    found = detect_spikes(series(v), "posts")
    assert list(found.index) == [pd.Timestamp("2026-02-10")]
    assert found["z"].iloc[0] > 10 and 90 < found["baseline"].iloc[0] < 110


def test_no_spike_in_flat_or_stationary_noise():
    assert detect_spikes(series([50.0] * 60), "posts").empty
    rng = np.random.default_rng(1)
    assert detect_spikes(series(rng.poisson(100, 90).astype(float)), "posts").empty


def test_robust_z_exact_on_small_input():
    z = robust_z(pd.Series([10.0, 12, 10, 12, 10, 30]), baseline=5, min_periods=5)
    # baseline [10,12,10,12,10]: median 10, |x-10| = [0,2,0,2,0] -> MAD 0 -> Poisson floor sqrt(10)
    assert z.iloc[:5].isna().all() and z.iloc[5] == 20 / np.sqrt(10)
    share = robust_z(pd.Series([0.30, 0.31, 0.30, 0.31, 0.30, 0.50]), baseline=5, min_periods=5, kind="share")
    assert abs(share.iloc[5] - 0.20 / 0.02) < 1e-9  # MAD 0 -> floor of two percentage points


def test_volume_spikes_per_group_fills_missing_days_with_zero():
    rng = np.random.default_rng(2)
    days = pd.date_range("2026-01-01", periods=30, freq="D")
    a = pd.DataFrame({"day": days, "topic": "a", "posts": rng.poisson(50, 30)})
    b = pd.DataFrame({"day": days[::2], "topic": "b", "posts": 3})  # no rows on odd days: zeros, not gaps
    a.loc[25, "posts"] = 300
    found = volume_spikes(pd.concat([a, b]))
    assert found[["day", "topic", "posts"]].values.tolist() == [[days[25], "a", 300]]
    assert volume_spikes(b).empty
