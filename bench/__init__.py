"""The benchmark: ``./tools/bench`` (``python -m bench``).

Every contender (our three node daemons, a plain copy loop, rclone, Swift's container-sync) runs
in ONE invocation against the same objects, through the same request-counting proxy in front of
the same S3 server, so that ratios between them are meaningful on a noisy shared machine.
Figures are medians of repeated runs. See ``bench/RESULTS.md`` for the latest figures.
"""
