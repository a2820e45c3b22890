"""Timing two or more sides of one figure alternately, request by request, in rounds.

Each step of a round asks every side once, always in the same order, so all sides see the same
noise; a figure is then a formula of each side's median within a round (``per_round``), given as
min / median / max over the rounds. A side may come with a check of its answer, run outside its
timing: a short or wrong answer must never look fast, and checking must not narrow the gaps.
"""
import time

from bench.stats import median, percentile, spread

WARM_UP = 3


def timed(call, check=None):
    """Milliseconds ``call()`` took; ``check(answer)`` runs afterwards, untimed."""
    start = time.perf_counter()
    answer = call()
    elapsed = (time.perf_counter() - start) * 1000
    if check is not None:
        check(answer)
    return elapsed


def ms(call):
    return timed(call)


def alternate(sides, n, rounds):
    """``sides``: callables, or ``(callable, check)`` pairs. -> one block per round, each a
    list (one per side, in order) of ``n`` timings in ms. Every side is warmed up first
    (connections, tokens, caches), outside the timing."""
    sides = [side if isinstance(side, tuple) else (side, None) for side in sides]
    for _ in range(WARM_UP):
        for call, check in sides:
            timed(call, check)
    blocks = []
    for _ in range(rounds):
        times = [[] for _ in sides]
        for _ in range(n):
            for mine, (call, check) in zip(times, sides):
                mine.append(timed(call, check))
        blocks.append(times)
    return blocks


def per_round(blocks, formula):
    """(min, median, max) over the rounds of ``formula(median of side 0, of side 1, ...)``."""
    return spread([formula(*[median(side) for side in block]) for block in blocks])


def side_median(blocks, index):
    """The median of one side over all its timings (the rounds pooled)."""
    return median([t for block in blocks for t in block[index]])


def compare(blocks, a=0, b=1, overhead=False):
    """Side ``a`` against side ``b``: per-round ratio of medians (or its overhead in %), and
    each side's median and p99 over all rounds."""
    all_a = [t for block in blocks for t in block[a]]
    all_b = [t for block in blocks for t in block[b]]
    ratios = [median(block[a]) / median(block[b]) for block in blocks]
    out = {'a_median_ms': median(all_a), 'b_median_ms': median(all_b),
           'a_p99_ms': percentile(all_a, 99), 'b_p99_ms': percentile(all_b, 99),
           'ratio': spread(ratios), 'each': len(all_a)}
    if overhead:
        out['overhead_pct'] = spread([(r - 1) * 100 for r in ratios])
    return out
