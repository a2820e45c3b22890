"""The sync factory shares what does not depend on the container: one remote client per
connection settings (one throttle hook on it; each provider keeps its mapping's throttle), one
Swift login, one bucket check (one request for the checks asked while it is in flight); an
evicted container's provider never closes the shared client."""
import shutil
import tempfile
import unittest
from unittest import mock

import eventlet
from botocore.stub import Stubber

from s3_sync.providers.base import RemoteError
from s3_sync.providers.s3 import S3Provider
from s3_sync.sync.outcome import DestinationUnavailable

from s3_sync.sync.factory import SyncFactory
from s3_sync.throttle import Throttles
from test.unit.fakes import NullLogger, make_conf, make_mapping


def throttle_hooks(client):
    """The throttles' before-send handlers registered on a boto3 client."""
    found = client.meta.events._emitter._handlers.prefix_search('before-send.s3')
    return [h for h in found if getattr(h, '__name__', '') == 'take_throttle']


class SharedClientsTest(unittest.TestCase):
    def setUp(self):
        self.status_dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.status_dir, True)

    def factory(self, max_cached=1000, **conf_keys):
        conf = make_conf(status_dir=self.status_dir, **conf_keys)
        factory = SyncFactory(conf, None, NullLogger(), max_cached=max_cached)
        self.addCleanup(factory.close)
        return factory

    def test_containers_of_a_per_account_mapping_share_one_client_and_one_bucket_check(self):
        factory = self.factory()
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        first = factory.for_container(mapping, 'AUTH_test', 'c1')
        second = factory.for_container(mapping, 'AUTH_test', 'c2')
        self.assertIsNot(first, second)
        self.assertIs(first.provider.client, second.provider.client)
        self.assertEqual(len(factory.shared), 1)
        with Stubber(first.provider.client) as stub:
            stub.add_response('list_objects', {'Contents': []},
                              {'Bucket': 'bucket', 'Prefix': first.provider.prefix,
                               'MaxKeys': 1})
            first.ready()
            second.ready()      # no second request: the Stubber would refuse it
            stub.assert_no_pending_responses()

    def test_a_failed_bucket_check_is_not_remembered(self):
        factory = self.factory()
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        provider = factory.for_container(mapping, 'AUTH_test', 'c1').provider
        with Stubber(provider.client) as stub:
            stub.add_client_error('list_objects', 'NoSuchBucket', http_status_code=404)
            stub.add_response('list_objects', {'Contents': []})
            with self.assertRaises(Exception):
                provider.check()
            provider.check()
            stub.assert_no_pending_responses()

    def test_concurrent_bucket_checks_send_one_request(self):
        factory = self.factory()
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        syncs = [factory.for_container(mapping, 'AUTH_test', 'c%d' % i) for i in range(5)]
        sent = []

        def list_one(provider, op, **params):
            sent.append(op)
            eventlet.sleep(0.01)    # the answer takes a while: the others come meanwhile
        with mock.patch.object(S3Provider, '_retried', autospec=True, side_effect=list_one):
            pool = eventlet.GreenPool()
            for sync in syncs:
                pool.spawn(sync.ready)
            pool.waitall()
            self.assertEqual(sent, ['list_objects'])
            factory.for_container(mapping, 'AUTH_test', 'c9').ready()
        self.assertEqual(sent, ['list_objects'])

    def test_a_failed_bucket_check_in_flight_fails_its_waiters_and_is_not_remembered(self):
        factory = self.factory()
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        syncs = [factory.for_container(mapping, 'AUTH_test', 'c%d' % i) for i in range(3)]
        sent = []

        def missing(provider, op, **params):
            sent.append(op)
            eventlet.sleep(0.01)
            raise RemoteError(404, 'NoSuchBucket', code='NoSuchBucket')
        with mock.patch.object(S3Provider, '_retried', autospec=True, side_effect=missing):
            threads = [eventlet.spawn(sync.ready) for sync in syncs]
            for thread in threads:
                with self.assertRaises(DestinationUnavailable):
                    thread.wait()
        self.assertEqual(sent, ['list_objects'])
        with mock.patch.object(S3Provider, '_retried', autospec=True) as answered:
            factory.for_container(mapping, 'AUTH_test', 'c9').ready()
        self.assertEqual(answered.call_count, 1)

    def test_mappings_with_other_settings_get_their_own_client_and_limits_do_not(self):
        factory = self.factory()
        factory.throttles = Throttles(factory.conf)
        base = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        other_key = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1',
                                 aws_identity='other')
        limited = make_mapping(container='c', aws_endpoint='http://127.0.0.1:1',
                               max_requests_per_second=5)
        providers = [factory.for_container(m, 'AUTH_test', 'c').provider
                     for m in (base, other_key, limited)]
        self.assertEqual(len({id(p.client) for p in providers}), 2)
        self.assertIs(providers[0].client, providers[2].client)
        # a limit of its own is its provider's throttle, not a client of its own
        self.assertIsNot(providers[0].throttle, providers[2].throttle)
        self.assertEqual(factory.throttles.for_mapping(limited), providers[2].throttle)

    def test_throttle_hooks_are_registered_once_per_client(self):
        factory = self.factory(max_requests_per_second=50)
        factory.throttles = Throttles(factory.conf)
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1',
                               max_requests_per_second=5)
        syncs = [factory.for_container(mapping, 'AUTH_test', name)
                 for name in ('c1', 'c2', 'c3')]
        self.assertEqual({id(s.provider.client) for s in syncs}, {id(syncs[0].provider.client)})
        self.assertEqual(len(throttle_hooks(syncs[0].provider.client)), 1)

    def test_an_evicted_container_leaves_the_shared_client_open(self):
        factory = self.factory(max_cached=1)
        mapping = make_mapping(container='/*', aws_endpoint='http://127.0.0.1:1')
        first = factory.for_container(mapping, 'AUTH_test', 'c1')
        client = first.provider.client
        closed = []
        client.close = lambda: closed.append(True)
        second = factory.for_container(mapping, 'AUTH_test', 'c2')     # evicts c1
        self.assertEqual(closed, [])
        self.assertIs(second.provider.client, client)
        factory.close()
        self.assertEqual(closed, [True])

    def test_swift_containers_of_one_mapping_share_one_login(self):
        factory = self.factory()
        mapping = make_mapping(container='/*', protocol='swift',
                               aws_endpoint='http://127.0.0.1:1/auth/v1.0')
        first = factory.for_container(mapping, 'AUTH_test', 'c1').provider
        second = factory.for_container(mapping, 'AUTH_test', 'c2').provider
        self.assertIs(first.shared, second.shared)
        first.shared.learn('http://127.0.0.1:1/v1/AUTH_test', 'tok')
        self.assertEqual(second.shared.token, 'tok')


if __name__ == '__main__':
    unittest.main()
