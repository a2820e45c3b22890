"""The ``cloud-shunt`` proxy filter (``egg:swift-s3-sync#cloud-shunt``).

Serves archived objects from the remote and splices listings. Not built yet: in this version the
filter passes every request through unchanged, so it can already sit in a pipeline.
"""


class CloudShunt:
    def __init__(self, app, conf):
        self.app = app
        self.conf_file = conf.get('conf_file', '/etc/swift-s3-sync/sync.json')

    def __call__(self, env, start_response):
        return self.app(env, start_response)


def filter_factory(global_conf, **local_conf):
    conf = dict(global_conf, **local_conf)

    def factory(app):
        return CloudShunt(app, conf)
    return factory
