"""Medians, percentiles and ratios; every figure may be missing (``None``) and stays so."""
import statistics


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values, pct):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    index = min(len(values) - 1, max(0, int(round(pct / 100.0 * len(values) + 0.5)) - 1))
    return values[index]


def ratio(ours, theirs):
    if ours is None or not theirs:
        return None
    return ours / theirs


def fmt(value, spec='%.2f', missing='n/a'):
    return missing if value is None else spec % value
