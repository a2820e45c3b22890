"""PNG plots of a run, written beside the report: throughput per contender with its spread over
the rounds, the lag distribution, RSS over the large-object syncs.

matplotlib is a bench dependency only (``setup.cfg`` extra ``bench``), never the product's; a
machine without it gets the report without plots and one line saying why.
"""
import os


def draw(results, out_dir):
    """The file names of the plots written into ``out_dir``."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        results['plots_note'] = 'no plots: matplotlib is not installed (pip install .[bench])'
        return []
    written = []
    for name, fn in (('throughput', throughput), ('lag', lag), ('rss', rss)):
        fig = fn(plt, results)
        if fig is None:
            continue
        path = 'bench-%s.png' % name
        fig.savefig(os.path.join(out_dir, path), dpi=90, bbox_inches='tight')
        plt.close(fig)
        written.append(path)
    return written


def throughput(plt, results):
    panels = [(k, results[k]) for k in ('small', 'medium')
              if k in results and 'summary' in results[k]]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4), squeeze=False)
    for ax, (_key, data) in zip(axes[0], panels):
        names = list(data['runs'])
        for i, name in enumerate(names):
            values = [r['window_objs_per_s'] for r in data['runs'][name]
                      if r.get('ok') and r.get('window_objs_per_s')]
            if values:
                ax.scatter([i] * len(values), values, color='tab:blue', alpha=0.6)
                lo, mid, hi = min(values), sorted(values)[len(values) // 2], max(values)
                ax.errorbar([i], [mid], yerr=[[mid - lo], [hi - mid]], fmt='_',
                            color='black', capsize=6, markersize=20)
            failed = sum(1 for r in data['runs'][name] if not r.get('ok'))
            if failed:
                ax.annotate('%d failed' % failed, (i, 0), color='red', ha='center')
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=30, ha='right')
        ax.set_ylabel('objects/s (first to last PUT)')
        ax.set_title(data['label'])
        ax.set_ylim(bottom=0)
    fig.suptitle('Throughput per contender: every round (dots), median and min-max (bars)')
    return fig


def lag(plt, results):
    lags = (results.get('lag') or {}).get('lags')
    if not lags:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(lags, bins=40, color='tab:green')
    ax.set_xlabel('lag, s (S3 answered our PUT - client PUT returned)')
    ax.set_ylabel('objects')
    ax.set_title('Sync lag, client writing at %.1f PUT/s (aimed at %s; %d objects)' % (
        results['lag'].get('achieved_rate') or 0, results['lag'].get('rate'), len(lags)))
    return fig


def rss(plt, results):
    series = {k: v for k, v in ((results.get('large') or {}).get('rss_series') or {}).items()
              if v}
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, points in series.items():
        times = [t for t, _v in points]
        worst = [max([x for x in values if x] or [0]) for _t, values in points]
        ax.plot(times, worst, label=label)
    ax.set_xlabel('seconds since the daemons started')
    ax.set_ylabel('RSS of the largest node daemon, MiB')
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.set_title('Daemon memory while syncing large objects')
    return fig
