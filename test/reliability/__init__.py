"""The reliability suite: kill -9, remote faults and local faults against the real local
environment (devenv), with the same invariants checked after every scenario.

    ./tools/reliability            # full run: >= 2,000 objects, >= 10 kills, every fault kind
    ./tools/reliability --quick    # the same scenarios, smaller, a few minutes

Modules: ``figures`` (what is counted and printed), ``checker`` (the invariants, written once),
``workload`` (what a client writes and what it expects), ``lanes`` (one mapped container and
its remote, seen directly), ``daemons`` (the node daemons, kills and their checkpoints),
``kills`` (when to kill), ``localfaults`` (object server down, container replica missing,
sharding), ``scenarios`` (the runs), ``__main__`` (the command).
"""
