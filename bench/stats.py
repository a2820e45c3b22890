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


def spread(values):
    """(min, median, max) of the figures present; (None, None, None) when none is."""
    values = [v for v in values if v is not None]
    if not values:
        return (None, None, None)
    return (min(values), statistics.median(values), max(values))


def fmt_spread(values, spec='%.2f', missing='n/a'):
    """'median (min-max)' of a (min, median, max) triple, or of a list of figures."""
    if values and not isinstance(values, tuple):
        values = spread(values)
    lo, mid, hi = values or (None, None, None)
    if mid is None:
        return missing
    if lo == hi:
        return spec % mid
    return '%s (%s–%s)' % (spec % mid, spec % lo, spec % hi)
