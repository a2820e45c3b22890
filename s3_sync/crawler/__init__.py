"""The container crawler: finds this node's replicas of mapped container DBs, splits their rows
between replicas, hands rows to :mod:`s3_sync.sync` and keeps the per-DB checkpoints."""
