"""``swift-s3-migrator``: pulling an S3 bucket or another Swift's containers into this cluster
while clients keep working (behaviour 1.3 and 7).

``runner`` (the cycle over migrations and containers), ``container_pass`` (one source container,
page by page), ``merge`` (the merge-join of a source page with the local listing), ``copy`` and
``large`` (one object; SLOs, multipart and oversize objects), ``pages`` (the source listing
pages one node lists and the others read), ``headers`` (what a migrated copy
carries: the source's time and metadata, the migrator's mark), ``local_store`` (the local
writes), ``placement`` (which node migrates what), ``status`` (the status file).
"""
