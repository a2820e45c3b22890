"""The local all-in-one environment: real Swift clusters and S3 servers.

    python -m devenv up|down|status [--base DIR]

or from Python::

    from devenv import Environment
    env = Environment(base)
    env.up(); env.info; env.down()

It belongs to the checkout, not to the installed product: run it from the
repo root, or with the root on PYTHONPATH.

Everything binds to loopback and lives under one base dir (default
``$S3SYNC_DEVENV_BASE`` or /tmp/s3sync-devenv). See ``topology`` for what
runs where and ``info`` for what ``BASE/env.json`` holds.
"""

from devenv.environment import Environment  # noqa: F401
from devenv.errors import DevenvError  # noqa: F401
