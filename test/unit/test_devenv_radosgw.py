"""devenv's radosgw plumbing without Ceph: the request switch, ports under the offset, the
generated ceph.conf (loopback only), and the one-line errors that come before any process."""
import json
import os
import shutil
import socket
import tempfile
import unittest
from unittest import mock

from devenv import radosgw, settings
from devenv.errors import DevenvError


class TestRequested(unittest.TestCase):
    def test_only_a_true_value_asks_for_radosgw(self):
        for value, expected in (('1', True), ('true', True), ('YES', True), ('0', False),
                                ('', False), ('no', False)):
            self.assertEqual(radosgw.requested({'S3SYNC_RADOSGW': value}), expected, value)
        self.assertFalse(radosgw.requested({}))


class TestSettings(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix='devenv-rgw-unit-')
        self.addCleanup(shutil.rmtree, self.base)

    def test_radosgw_ports_move_with_the_offset(self):
        got = settings.resolve(self.base, environ={settings.OFFSET_VAR: '8000'})
        self.assertEqual((got['radosgw_port'], got['radosgw_mon_port'],
                          got['radosgw_osd_port']), (13058, 14789, 14800))

    def test_a_base_from_before_radosgw_takes_the_new_ports_without_a_wipe(self):
        old = settings.defaults()
        for key in ('radosgw_port', 'radosgw_mon_port', 'radosgw_osd_port'):
            del old[key]
        old = {k: v + 8000 if k in settings.PORT_KNOBS else v for k, v in old.items()}
        with open(os.path.join(self.base, 'settings.json'), 'w') as fp:
            json.dump(old, fp)
        got = settings.resolve(self.base, environ={settings.OFFSET_VAR: '8000'})
        self.assertEqual(got['radosgw_port'], 13058)
        with self.assertRaises(settings.SettingsError):   # stored ports stay pinned
            settings.resolve(self.base, environ={settings.OFFSET_VAR: '7000'})


class TestCephConf(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix='devenv-rgw-unit-')
        self.addCleanup(shutil.rmtree, self.base)
        self.rgw = radosgw.Radosgw(self.base, settings.resolve(
            self.base, environ={settings.OFFSET_VAR: '8000'}))

    def test_everything_is_on_loopback_and_under_the_base(self):
        conf = radosgw.ceph_conf(self.rgw, 'f' * 8)
        self.assertIn('mon host = 127.0.0.1:14789\n', conf)
        self.assertIn('public addr = 127.0.0.1\n', conf)
        self.assertIn('cluster addr = 127.0.0.1\n', conf)
        self.assertIn('ms bind port min = 14800\nms bind port max = 14849\n', conf)
        self.assertIn('rgw frontends = beast endpoint=127.0.0.1:13058 tcp_nodelay=1\n', conf)
        self.assertIn('osd objectstore = memstore\n', conf)
        for line in conf.splitlines():
            if line.startswith('/') or ' = /' in line:
                self.assertIn(self.base, line)
        self.assertEqual(self.rgw.endpoint, 'http://127.0.0.1:13058')
        self.assertTrue(self.rgw.asok(radosgw.OSD).startswith(self.base))

    def test_info_is_an_s3_target(self):
        info = self.rgw.info()
        self.assertEqual((info['name'], info['aws_endpoint'], info['region']),
                         ('radosgw', 'http://127.0.0.1:13058', 'us-east-1'))
        self.assertEqual((info['aws_identity'], info['aws_secret']), radosgw.IDENTITY)


class TestErrorsBeforeAnyProcess(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix='devenv-rgw-unit-')
        self.addCleanup(shutil.rmtree, self.base)

    def test_missing_packages_without_root_name_the_install_command(self):
        with mock.patch.object(radosgw, 'missing_binaries', return_value=['radosgw']), \
                mock.patch('os.geteuid', return_value=1000):
            with self.assertRaises(DevenvError) as caught:
                radosgw.ensure_installed(os.path.join(self.base, 'setup.log'))
        message = str(caught.exception)
        self.assertEqual(len(message.splitlines()), 1)
        self.assertIn('apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd',
                      message)

    def test_a_taken_port_is_one_line_and_starts_nothing(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            conf = dict(settings.defaults(), radosgw_port=port, radosgw_mon_port=port)
            rgw = radosgw.Radosgw(self.base, conf)
            with mock.patch.object(radosgw, 'ensure_installed', return_value=0.0), \
                    mock.patch.object(rgw, '_bootstrap') as bootstrap:
                with self.assertRaises(DevenvError) as caught:
                    rgw.up(timeout=5)
        self.assertFalse(bootstrap.called)
        self.assertEqual(len(str(caught.exception).splitlines()), 1)
        self.assertIn('127.0.0.1:%d is in use' % port, str(caught.exception))
        self.assertIn('S3SYNC_RADOSGW_MON_PORT', str(caught.exception))
        self.assertEqual(rgw.running(), [])


if __name__ == '__main__':
    unittest.main()
