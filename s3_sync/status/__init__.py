"""Operations: "is it synced yet?" — the figures of one node and of the whole cluster.

- ``report.py``: the node report, computed from this node's container DB replicas and the
  daemon's status files (read only): per mapping and container, rows behind, lag, bytes
  pending, deferred and failed rows.
- ``recon.py``: the recon-style cache file per node (``<recon_cache_path>/s3_sync.recon``):
  the last pass, the last report, throttles and delete rails.
- ``cluster.py``: each daemon publishes its report into the cluster (a hidden account, through
  its InternalClient), so ``status --cluster`` on any node reads every node's at once.
- ``metrics.py``: the same figures as statsd gauges and a Prometheus text file.
- ``render.py``: the readable table.
- ``reporter.py``: the daemon side: writes all of the above every ``stats_interval``.
"""

# The cluster's hidden account where our daemons keep what the nodes share (node reports, the
# migrator's listing pages), and the container of the node reports: here, not in ``cluster``,
# so the proxy's shunt can name it without importing the report code.
ACCOUNT = '.s3_sync'
STATUS_CONTAINER = 'node-status'


class StatusError(Exception):
    """A one-line reason why a status figure cannot be given (bad input, corrupt file)."""
