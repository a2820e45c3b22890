"""swift-s3-sync: keep a Swift cluster and remote object stores in one namespace."""

__version__ = '0.2.0'
