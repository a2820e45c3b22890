"""The daemon's InternalClient, built from a config against the real local cluster: named as
the config says (internal_client_logname), and able to read."""
from s3_sync.config import validate_config
from s3_sync.swift_env import make_internal_client, setup_swift
from test.integration.env import IntegrationTest


def loggers(app):
    """The log names of every filter and app of an InternalClient pipeline."""
    names = []
    while app is not None:
        logger = getattr(app, 'logger', None)
        if logger is not None:
            names.append(getattr(logger, 'server', None))
        app = getattr(app, 'app', None)
    return names


class TestInternalClient(IntegrationTest):
    def client(self, **keys):
        setup_swift(self.env['swift_dir'])
        # No internal-client.conf: the built-in pipeline, which names no log_name itself.
        conf = validate_config(dict(keys, swift_dir=self.env['swift_dir'],
                                    internal_client_path='/nonexistent/internal-client.conf'),
                               for_daemon=False)
        return make_internal_client(conf)

    def test_internal_client_logname_names_the_pipelines_log_lines(self):
        client = self.client(internal_client_logname='NodeCrawler')
        self.assertEqual(set(loggers(client.app)), {'NodeCrawler'})
        conn = self.swift_conn()
        container = self.make_container(conn)
        conn.put_object(container, 'o', b'x')
        account = self.env['users']['test:tester']['account']
        self.assertEqual(client.get_object_metadata(account, container, 'o')['content-length'],
                         '1')

    def test_default_logname_is_the_originals(self):
        self.assertEqual(set(loggers(self.client().app)), {'ContainerCrawler'})
