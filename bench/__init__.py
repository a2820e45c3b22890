"""The benchmark: ``./tools/bench`` (``python -m bench``).

Every contender (our three node daemons, copy loops that read the way the daemon does, the raw
sides alone, rclone, Swift's container-sync) runs in ONE invocation against the same objects,
through the same request-counting proxy in front of the same S3 server, so that ratios between
them are meaningful on a noisy shared machine. The cost of a contender is the CPU of every
process of the environment per synced object (``bench.cost``); every run is verified
(``bench.verify``); figures are min / median / max over rounds, and the targets table is
judged from them (``bench.targets``). See ``bench/RESULTS.md`` for the latest figures.
"""
