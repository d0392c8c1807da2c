"""Spike detection on time series: robust z-score of each window against its trailing baseline."""
from __future__ import annotations

import numpy as np
import pandas as pd


def _baseline(values: pd.Series, baseline: int, min_periods: int, kind: str) -> tuple[pd.Series, pd.Series]:
    prev = values.shift(1).rolling(baseline, min_periods=min_periods)
    med = prev.median()
    mad = prev.apply(lambda w: np.median(np.abs(w - np.median(w))), raw=True)
    # Floors keep a too-quiet baseline from turning noise into spikes: Poisson noise (sqrt of the median, at
    # least 1) for counts, two percentage points for shares.
    floor = np.maximum(np.sqrt(med.clip(lower=0)), 1.0) if kind == "count" else 0.02
    return med, np.maximum(1.4826 * mad, floor)


def robust_z(values: pd.Series, baseline: int = 14, min_periods: int = 7, kind: str = "count") -> pd.Series:
    """(x - median) / (1.4826 * MAD) of each value against the `baseline` windows before it (NaN while too short).

    `kind` is 'count' (volumes) or 'share' (fractions in 0..1); it sets the floor of the scale.
    """
    med, scale = _baseline(values, baseline, min_periods, kind)
    return (values - med) / scale


def detect_spikes(df: pd.DataFrame, column: str, z: float = 4.0, baseline: int = 14, min_periods: int = 7,
                  kind: str = "count", min_value: float = 0.0) -> pd.DataFrame:
    """Rows of time-indexed `df` where `column` departs upward from its trailing baseline by more than `z`.

    Returns the flagged rows with added columns baseline (trailing median) and z (robust z-score).
    `min_value` ignores windows whose value is below it.
    """
    s = df[column].astype(float)
    med, scale = _baseline(s, baseline, min_periods, kind)
    out = df.assign(baseline=med, z=(s - med) / scale)
    return out[(out["z"] > z) & (s >= min_value)]


def volume_spikes(df: pd.DataFrame, time: str = "day", group: str = "topic", value: str = "posts",
                  **kwargs) -> pd.DataFrame:
    """detect_spikes (kind 'count') per `group` of a long frame (time, group, value); buckets a group has no rows
    for count as 0. Returns time, group, value, baseline, z of the flagged buckets, strongest first."""
    wide = df.pivot_table(index=time, columns=group, values=value, aggfunc="sum", fill_value=0).sort_index()
    found = [detect_spikes(wide[[g]].rename(columns={g: value}), value, kind="count", **kwargs)
             .rename_axis(time).reset_index().assign(**{group: g}) for g in wide.columns]
    cols = [time, group, value, "baseline", "z"]
    found = [x for x in found if not x.empty]
    if not found:
        return pd.DataFrame(columns=cols)
    return pd.concat(found)[cols].sort_values("z", ascending=False, ignore_index=True)
