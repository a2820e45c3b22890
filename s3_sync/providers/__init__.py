"""Remote stores behind one interface (``base.Provider``); ``create_provider`` picks one.

Provider modules are imported on demand so a process that only talks to S3 never imports
swiftclient, and the other way round.
"""


def create_provider(mapping, container=None, logger=None, retry_policy=None, shared=None):
    """The provider for one ``containers[]`` mapping (``container``: the real container of a
    ``"/*"`` mapping; ``retry_policy``: the daemon's by default; ``shared``: a
    ``providers.shared.Shared`` to take clients and logins from). ValueError names an unknown
    ``protocol``."""
    protocol = mapping.protocol
    if protocol == 's3':
        from s3_sync.providers.s3 import S3Provider
        return S3Provider(mapping, container, logger, retry_policy, shared=shared)
    if protocol == 'swift':
        from s3_sync.providers.swift import SwiftProvider
        return SwiftProvider(mapping, container, logger, retry_policy, shared=shared)
    raise ValueError('protocol %r is not one of "s3" or "swift"' % (protocol,))
