"""What bounds the shunt's and proxymc's read figures, from sides timed in the same alternation.

A target such as "archived GET <= 1.2x a direct GET" means something only next to what any
implementation could reach on the same machine in the same minutes:

* **the shunt's sequential floor**: an archived GET may use the remote only after Swift said
  404 (the newest write wins), so it costs at least a local miss (the same GET through the proxy
  without the shunt, of a name that exists nowhere) plus the direct GET from the S3 server.
  ``floor / direct`` is the least a sequential shunt reaches; ``archived / floor`` is what the
  shunt adds to it (below 1 only by overlapping the two, see ``s3_sync.shunt.early``). The
  shunt's proxy also relays the body: the same GET through the bare relay (below) bounds any
  shunt, and miss + relayed GET is the sequential floor with that hop counted.
* **proxymc's relay ceiling**: the simplest relay process (``bench.relay``) between the same
  client library and the S3 server. ``relay / direct`` is the least any relay process reaches;
  ``proxymc / relay`` is what proxymc adds to a bare relay (for throughput: the inverse ratios).
* **proxymc's pipeline floor**: the relay has none of the Swift middlewares proxymc must run
  behind (auth, s3api, proxy-logging, ...). The least app behind the same middlewares
  (``bench.pipeline_floor``), read by the same client: ``floor / direct`` is the least any app
  behind that pipeline reaches, ``proxymc / floor`` what proxymc's own code adds.
* **the spliced listing**: the plain local listing plus the S3 server's own listing of the
  archived half is what a splice must at least read.

Every formula takes each side's median within one round; the figures are (min, median, max)
over the rounds (``alternation.per_round``).
"""
from bench.alternation import per_round, side_median


def shunt_floor(blocks, archived=0, miss=1, direct=2, relay=None):
    """Sides: the archived GET through the shunt, the local miss alone, the direct GET (and,
    with ``relay``, the same GET through the bare relay: the shunt's proxy relays the body
    too, so miss + relayed GET is the floor of a sequential shunt with the hop counted)."""
    def floor(*m):
        return m[miss] + m[direct]
    out = {
        'miss_ms': side_median(blocks, miss),
        'miss_vs_direct': per_round(blocks, lambda *m: m[miss] / m[direct]),
        'floor_vs_direct': per_round(blocks, lambda *m: floor(*m) / m[direct]),
        'vs_floor': per_round(blocks, lambda *m: m[archived] / floor(*m))}
    if relay is not None:
        out.update(
            relay_ms=side_median(blocks, relay),
            relay_vs_direct=per_round(blocks, lambda *m: m[relay] / m[direct]),
            relayed_floor_vs_direct=per_round(
                blocks, lambda *m: (m[miss] + m[relay]) / m[direct]),
            vs_relayed_floor=per_round(blocks, lambda *m: m[archived] / (m[miss] + m[relay])))
    return out


def relay_ceiling(blocks, proxy=0, relay=1, direct=2, size=None):
    """Sides: the GET through proxymc, through the bare relay, straight from the S3 server.
    With ``size`` (bytes), throughput figures too: a ratio of rates is the inverse ratio of
    times."""
    return _bound(blocks, proxy, relay, direct, size, 'relay')


def pipeline_floor(blocks, proxy=0, floor=1, direct=2, size=None):
    """As ``relay_ceiling``, with the GET through the least app behind proxymc's Swift
    middlewares (``bench.pipeline_floor``) for the relay: keys say ``pipeline``."""
    return _bound(blocks, proxy, floor, direct, size, 'pipeline')


def _bound(blocks, proxy, bound, direct, size, name):
    out = {'%s_ms' % name: side_median(blocks, bound),
           'vs_%s' % name: per_round(blocks, lambda *m: m[proxy] / m[bound]),
           '%s_vs_direct' % name: per_round(blocks, lambda *m: m[bound] / m[direct])}
    if size:
        out.update({
            '%s_mib_s' % name: size / (out['%s_ms' % name] / 1000) / 2 ** 20,
            'throughput_vs_%s' % name: per_round(blocks, lambda *m: m[bound] / m[proxy]),
            '%s_throughput_vs_direct' % name: per_round(blocks,
                                                        lambda *m: m[direct] / m[bound])})
    return out


def listing_floor(blocks, spliced=0, local=1, remote=2):
    """Sides: the spliced listing, the plain local listing, the S3 server's own listing of
    the archived half."""
    return {'remote_direct_ms': side_median(blocks, remote),
            'floor_vs_local': per_round(blocks, lambda *m: (m[local] + m[remote]) / m[local]),
            'vs_both_plain': per_round(blocks, lambda *m: m[spliced] / (m[local] + m[remote]))}
