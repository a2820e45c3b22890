"""Remote stores behind one interface (``base.Provider``); ``create_provider`` picks one.

Provider modules are imported on demand so a process that only talks to S3 never imports
swiftclient, and the other way round.
"""


def create_provider(mapping, container=None, logger=None):
    """The provider for one ``containers[]`` mapping (``container``: the real container of a
    ``"/*"`` mapping). ValueError names an unknown ``protocol``."""
    protocol = mapping.get('protocol') or 's3'
    if protocol == 's3':
        from s3_sync.providers.s3 import S3Provider
        return S3Provider(mapping, container=container, logger=logger)
    if protocol == 'swift':
        from s3_sync.providers.swift import SwiftProvider
        return SwiftProvider(mapping, container=container, logger=logger)
    raise ValueError('protocol %r is not one of "s3" or "swift"' % (protocol,))
