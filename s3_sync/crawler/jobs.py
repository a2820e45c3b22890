"""The unit of crawl work: one container DB replica crawled for one mapping.

A mapping names a container (or ``"/*"``: every container of the account). Each local primary
replica of it is a job. A sharded root adds one job per local replica of each shard: the shard
DB is opened under its own ``.shards_<account>`` name, but progress goes to the *root's* status
file and rows go to the root's ContainerSync, so the remote sees one container.

Shards are placed by the ring like any container, so a node may hold a shard but no replica of
its root. For such roots the cluster is asked (a HEAD for the sharding state, then a listing of
``.shards_<account>``), as the original did.
"""
import collections

from swift.common.utils import ShardName

SHARDS_ACCOUNT_PREFIX = '.shards_'

DbJob = collections.namedtuple('DbJob', [
    'mapping',       # the containers[] entry (unchanged, also for "/*")
    'mapping_index',  # its position in containers[]
    'account',       # root account and container: status file, ContainerSync, log lines
    'container',
    'db_account',    # the names the DB is registered under (differ for shards)
    'db_container',
    'db_path',
    'index',         # replica position among the DB's primaries and their number: ownership
    'count',
    'root',          # False for shard DBs: no container-info call, no shard discovery
])


def job_key(job):
    return (job.db_path, job.mapping_index, job.account, job.container)


def mapping_jobs(mapping_index, mapping, node, list_containers, logger, find_shards=None):
    """Jobs for one ``containers[]`` entry; problems are logged as one line and skipped.

    ``find_shards(account, container)`` lists the (account, container) of the shards of a root
    that has no local replica."""
    account, container = mapping.account, mapping.container
    if mapping.per_account:
        names = list_containers(account)
    else:
        names = [container]
    jobs = []
    for name in names:
        replicas = node.replicas(account, name)
        if not replicas:
            shards = find_shards(account, name) if find_shards else []
            if not shards:
                logger.debug('%s/%s: no local primary replica; skipped', account, name)
            root = DbJob(mapping, mapping_index, account, name, account, name, None, 0, 1, True)
            jobs.extend(shard_jobs(root, shards, node))
            continue
        for rep in replicas:
            jobs.append(DbJob(mapping, mapping_index, account, name, account, name,
                              rep.db_path, rep.index, rep.count, True))
    return jobs


def shard_jobs(root_job, shards, node):
    """Jobs for the local replicas of a root's shards, given as (account, container) pairs."""
    jobs = []
    for shard_account, shard_container in shards:
        for rep in node.replicas(shard_account, shard_container):
            jobs.append(root_job._replace(
                db_account=shard_account, db_container=shard_container,
                db_path=rep.db_path, index=rep.index, count=rep.count, root=False))
    return jobs


def remote_shards(internal_client, account, container):
    """(account, container) of the shards of ``account/container``, asked of the cluster.

    The listing prefix is ``<container>-`` and each name is parsed, so the shards of ``foo-bar``
    are not taken for shards of ``foo`` (the original matched on the bare name)."""
    meta = internal_client.get_container_metadata(account, container,
                                                  acceptable_statuses=(2, 404))
    if meta.get('x-backend-sharding-state') not in ('sharding', 'sharded'):
        return []
    shards_account = SHARDS_ACCOUNT_PREFIX + account
    found = []
    for item in internal_client.iter_containers(shards_account, prefix=container + '-'):
        try:
            parsed = ShardName.parse('%s/%s' % (shards_account, item['name']))
        except ValueError:
            continue
        if parsed.root_container == container:
            found.append((shards_account, item['name']))
    return found
