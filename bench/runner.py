"""Runs the chosen measurements in order; one that fails is recorded as a one-line error and the
others carry on (a benchmark that dies at minute 12 over one missing feature helps nobody)."""
import traceback

from bench import phases, throughput
from bench.accesslog import AccessLog


def run_all(benv, results, only, plan, workers, scratch, log):
    counter = AccessLog.of_moto(benv.info)    # moto's own log: nothing in the S3 path
    for name in only:
        log('== %s' % name)
        with phases.phase(name, log):
            try:
                results[name] = MEASURE[name](benv, counter, plan, workers, scratch, log)
            except Exception as exc:
                detail = traceback.format_exc().strip().splitlines()[-1]
                log('%s failed: %s' % (name, detail))
                results[name] = {'error': '%s: %s' % (type(exc).__name__, exc)}
            finally:
                try:
                    benv.reset_moto()
                except Exception:
                    pass
        if isinstance(results.get(name), dict) and results[name].get('interrupted'):
            log('%s was interrupted: no section after it runs' % name)
            break


def small(benv, counter, plan, workers, scratch, log):
    return throughput.run_workload(benv, counter, '%d x 4 KiB' % plan['small'], plan['small'],
                                   4096, plan['rounds'], workers, scratch, log)


def medium(benv, counter, plan, workers, scratch, log):
    # --quick measures the raw sides (local-get, s3-put) on small objects only: no target
    # reads them, and each run is mostly process start-up at --quick sizes
    contenders = tuple(c for c in throughput.CONTENDERS
                       if not (plan.get('quick') and c in ('local-get', 's3-put')))
    return throughput.run_workload(benv, counter, '%d x 1 MiB' % plan['medium'],
                                   plan['medium'], 2 ** 20, plan['rounds'], workers, scratch,
                                   log, contenders=contenders)


def _lazy(module, func='measure'):
    def call(*args):
        import importlib
        return getattr(importlib.import_module('bench.' + module), func)(*args)
    return call


MEASURE = {
    'small': small,
    'medium': medium,
    'large': _lazy('large'),
    'processes': _lazy('processes'),
    'growth': _lazy('growth'),
    'lag': _lazy('lag'),
    'idle': _lazy('idle'),
    'shunt': _lazy('shunt'),
    'proxymc': _lazy('proxymc'),
    'container_sync': _lazy('container_sync'),
    'migrator': _lazy('migrator'),
    'profile': _lazy('profile'),
}
