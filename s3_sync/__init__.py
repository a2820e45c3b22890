"""swift-s3-sync: keep a Swift cluster and remote object stores in one namespace."""
import warnings

__version__ = '0.2.0'

# Swift runs on eventlet, so we do too; its import-time deprecation banner would otherwise be
# the first ten lines of every command's output (and of every one-line error).
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
