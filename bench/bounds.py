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
    out = {'relay_ms': side_median(blocks, relay),
           'vs_relay': per_round(blocks, lambda *m: m[proxy] / m[relay]),
           'relay_vs_direct': per_round(blocks, lambda *m: m[relay] / m[direct])}
    if size:
        out.update(
            relay_mib_s=size / (out['relay_ms'] / 1000) / 2 ** 20,
            throughput_vs_relay=per_round(blocks, lambda *m: m[relay] / m[proxy]),
            relay_throughput_vs_direct=per_round(blocks, lambda *m: m[direct] / m[relay]))
    return out


def listing_floor(blocks, spliced=0, local=1, remote=2):
    """Sides: the spliced listing, the plain local listing, the S3 server's own listing of
    the archived half."""
    return {'remote_direct_ms': side_median(blocks, remote),
            'floor_vs_local': per_round(blocks, lambda *m: (m[local] + m[remote]) / m[local]),
            'vs_both_plain': per_round(blocks, lambda *m: m[spliced] / (m[local] + m[remote]))}
