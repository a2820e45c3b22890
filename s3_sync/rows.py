"""What a container DB row says about time, in one place.

A row's ``created_at`` packs three timestamps (data, content-type, metadata); Swift's
``decode_timestamps`` unpacks them, and the metadata one is the newest of the three.
"""
from swift.common.utils import decode_timestamps


def row_timestamps(row):
    """(data, content-type, metadata) Timestamps of a row."""
    return decode_timestamps(row['created_at'])


def is_archiver_tombstone(row):
    """A delete row written by the archiver (its deletes carry a timestamp offset; a
    client's never do)."""
    return bool(row['deleted']) and row_timestamps(row)[0].offset > 0


def meta_timestamp(row):
    """When the row's newest part (data, content-type or metadata) was written, epoch secs."""
    return float(row_timestamps(row)[2])
