"""The benchmark's reader of the servers' access logs: the remote proxy's, on lines captured
from the dev environment's second cluster (swiftclient, Swift's container-sync daemon, SLO
subrequests, the bench's own observer connection), and moto's, on lines captured from the
devenv's moto (``devenv.launch``: boto3 PUTs, a multipart upload, the bench's observer)."""
import os
import shutil
import tempfile
import unittest

from bench import accesslog

P = 'remote-proxy: '
AUTH = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/34 GET /auth/v1.0 HTTP/1.0 200 - '
        'python-swiftclient-4.11.0 - - - - tx94616bbcd1d348ab82344-006b0f40ee - 0.0045 - - '
        '1796161774.751536608 1796161774.755987644 - remote:tester')
CONTAINER_INFO = (P + '- - 01/Dec/2026/21/49/34 HEAD /v1/AUTH_remote/sample HTTP/1.0 404 - '
                  'Swift - - - - tx12c1e761aedc4c67826a8-006b0f40ee - 0.0004 CS - '
                  '1796161774.767524958 1796161774.767955542 - -')
AUTOCREATE = P + "autocreate account '/AUTH_remote' (txn: tx12c1e761aedc4c67826a8-006b0f40ee)"
WARNING = (P + 'The following digest algorithms are allowed by default but deprecated: sha1. '
           'Support will be disabled by default in a future release, and later removed '
           'entirely.')
CONTAINER_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/34 PUT /v1/AUTH_remote/sample '
                 'HTTP/1.0 201 - python-swiftclient-4.11.0 AUTH_tkb2ba13ed2... - - - '
                 'tx12c1e761aedc4c67826a8-006b0f40ee - 0.0671 - - 1796161774.764849663 '
                 '1796161774.831937551 0 remote:tester')
SEGMENT_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/34 PUT '
               '/v1/AUTH_remote/sample_segments/big/000001 HTTP/1.0 201 - '
               'python-swiftclient-4.11.0 AUTH_tkb2ba13ed2... 1024 - - '
               'tx4d2cb768d4d242918c303-006b0f40ee - 0.0627 - - 1796161774.878257513 '
               '1796161774.940918922 0 remote:tester')
UNICODE_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/34 PUT '
               '/v1/AUTH_remote/sample/caf%25C3%25A9%2520x HTTP/1.0 201 - '
               'python-swiftclient-4.11.0 AUTH_tkb2ba13ed2... 5 - - '
               'tx96ed5cb6bc9542418a5bb-006b0f40ee - 0.0188 - - 1796161774.943318129 '
               '1796161774.962105513 0 remote:tester')
SLO_SUBREQUEST = (P + '- - 01/Dec/2026/21/49/34 HEAD /v1/AUTH_remote/sample_segments/big/000001 '
                  'HTTP/1.0 200 - python-swiftclient-4.11.0%20SLO%20MultipartPUT '
                  'AUTH_tkb2ba13ed2... - - - tx243a0e279beb4a998b739-006b0f40ee - 0.0031 SLO - '
                  '1796161774.965724707 1796161774.968806505 0 -')
MANIFEST_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/34 PUT '
                '/v1/AUTH_remote/sample/big%3Fmultipart-manifest%3Dput HTTP/1.0 201 - '
                'python-swiftclient-4.11.0 AUTH_tkb2ba13ed2... 105 - '
                '9df6f185ffcc6bc5aa3c5b91638651fb tx243a0e279beb4a998b739-006b0f40ee - 0.0144 '
                '- - 1796161774.964184284 1796161774.978583813 0 remote:tester')
NOT_FOUND_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/49/35 PUT /v1/AUTH_remote/nosuch/x '
                 'HTTP/1.0 404 - python-swiftclient-4.11.0 AUTH_tkb2ba13ed2... - 70 - '
                 'txa66f08232a1847898a25f-006b0f40ef - 0.0051 - - 1796161775.005076885 '
                 '1796161775.010128498 0 remote:tester')
CSYNC_HEAD = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/50/48 HEAD '
              '/v1/AUTH_remote/csdest/two%2520words HTTP/1.0 404 - Python-urllib/3.11 - - - - '
              'tx8dee01a42f3042c390555-006b0f4138 - 0.0032 - cs:valid 1796161848.817651749 '
              '1796161848.820821762 0 -')
CSYNC_PUT = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/50/48 PUT '
             '/v1/AUTH_remote/csdest/two%2520words HTTP/1.0 201 - Python-urllib/3.11 - 2 - '
             'b6d767d2f8ed5d21a44b0e5886680cb9 txb53ffe17670c49ef8696b-006b0f4138 - 0.0086 - '
             'cs:valid 1796161848.830007792 1796161848.838574648 0 -')
CSYNC_PUT_EARLIER = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/50/48 PUT /v1/AUTH_remote/csdest/one '
                     'HTTP/1.0 201 - Python-urllib/3.11 - 1 - c4ca4238a0b923820dcc509a6f75849b '
                     'tx5009cd8b0fd84422b0efd-006b0f4138 - 0.0089 - cs:valid '
                     '1796161848.314018965 1796161848.322938204 0 -')
OBSERVER_LISTING = (P + '127.0.0.1 127.0.0.1 01/Dec/2026/21/50/50 GET '
                    '/v1/AUTH_remote/csdest%3Fformat%3Djson%26states%3Dlisting HTTP/1.0 200 - '
                    's3sync-bench-observer AUTH_tkb2ba13ed2... - 334 - '
                    'txc92e31e10b97442c9473b-006b0f413a - 0.0086 - - 1796161850.954418182 '
                    '1796161850.963047504 0 remote:tester')

M = '127.0.0.1 127.0.0.1 01/Dec/2026/23/58/11 '
MOTO_BUCKET_PUT = (M + 'PUT /b-1 HTTP/1.1 200 - s3sync-bench-observer - - - - - - 0.0040 - - '
                   '1796169491.101000 1796169491.105000 - -')
MOTO_PUT = (M + 'PUT /b-1/ab12/AUTH_test/c/caf%25C3%25A9%2520x HTTP/1.1 200 - '
            'Boto3/1.40.0%20md/Botocore%231.40.0 - 4096 - - - - 0.0061 - - '
            '1796169491.200000 1796169491.206100 - -')
MOTO_CREATE_UPLOAD = (M + 'POST /b-1/ab12/AUTH_test/c/big%3Fuploads HTTP/1.1 200 - Boto3/1.40.0 '
                      '- - - - - - 0.0030 - - 1796169491.300000 1796169491.303000 - -')
MOTO_PART = (M + 'PUT /b-1/ab12/AUTH_test/c/big%3FpartNumber%3D1%26uploadId%3Dxyz HTTP/1.1 '
             '200 - Boto3/1.40.0 - 5242880 - - - - 0.0500 - - 1796169491.310000 '
             '1796169491.360000 - -')
MOTO_COMPLETE = (M + 'POST /b-1/ab12/AUTH_test/c/big%3FuploadId%3Dxyz HTTP/1.1 200 - '
                 'Boto3/1.40.0 - 120 - - - - 0.0100 - - 1796169491.370000 1796169491.380000 '
                 '- -')
MOTO_OBSERVER_LIST = (M + 'GET /b-1%3Flist-type%3D2 HTTP/1.1 200 - s3sync-bench-observer - - - '
                      '- - - 0.0050 - - 1796169491.400000 1796169491.405000 - -')


class TestMotoLines(unittest.TestCase):
    """moto's lines: one parser for both servers, objects one segment below the bucket."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        with open(os.path.join(self.dir, accesslog.MOTO_LOG_NAME), 'w') as f:
            f.write(' * Running on http://127.0.0.1:5055\n')
        self.log = accesslog.AccessLog.of_moto({'log_dir': self.dir})
        with open(self.log.path, 'a') as f:
            f.write('\n'.join([MOTO_BUCKET_PUT, MOTO_PUT, MOTO_CREATE_UPLOAD, MOTO_PART,
                               MOTO_COMPLETE, MOTO_OBSERVER_LIST]) + '\n')

    def test_the_line_devenv_writes_is_the_line_parsed(self):
        from devenv.launch import access_line

        class Handler:
            client_address = ('127.0.0.1', 40000)
            command, request_version = 'PUT', 'HTTP/1.1'
            path = '/b-1/ab12/AUTH_test/c/caf%C3%A9%20x'
            headers = {'User-Agent': 'Boto3/1.40.0 md/Botocore#1.40.0', 'Content-Length': '4096'}
        line = access_line(Handler(), 200, 1796169491.2, 1796169491.2061)
        self.assertEqual(line.split()[3:], MOTO_PUT.split()[3:])
        self.assertEqual(accesslog.parse_line(line), accesslog.parse_line(MOTO_PUT))

    def test_object_put_names_key_and_agent(self):
        r = accesslog.parse_line(MOTO_PUT)
        self.assertEqual((r.method, r.path, r.query, r.status, r.received),
                         ('PUT', '/b-1/ab12/AUTH_test/c/caf\u00e9 x', '', 200, 4096))
        self.assertEqual(r.agent, 'Boto3/1.40.0 md/Botocore#1.40.0')

    def test_whole_object_puts_only_not_buckets_or_parts(self):
        self.assertEqual(self.log.count_ok_puts(), 1)
        self.assertEqual([p for _s, _e, p in self.log.ok_puts()],
                         ['/b-1/ab12/AUTH_test/c/caf\u00e9 x'])
        self.assertEqual(self.log.first_puts(),
                         {'/b-1/ab12/AUTH_test/c/caf\u00e9 x': 1796169491.2061})

    def test_by_method_leaves_the_observer_out_and_keeps_upload_queries(self):
        self.assertEqual(self.log.by_method(), {'PUT': 2, 'POST': 2})
        paths = [p for _s, _e, m, p, _st in self.log.snapshot() if m == 'POST']
        self.assertEqual(paths, ['/b-1/ab12/AUTH_test/c/big?uploads',
                                 '/b-1/ab12/AUTH_test/c/big?uploadId=xyz'])


class TestParseLine(unittest.TestCase):
    def test_container_sync_put_gives_start_end_method_name_status_agent(self):
        r = accesslog.parse_line(CSYNC_PUT)
        self.assertEqual(r.method, 'PUT')
        self.assertEqual(r.path, '/v1/AUTH_remote/csdest/two words')
        self.assertEqual(r.query, '')
        self.assertEqual(r.status, 201)
        self.assertEqual(r.agent, 'Python-urllib/3.11')
        self.assertAlmostEqual(r.start, 1796161848.830007792, places=6)
        self.assertAlmostEqual(r.end, 1796161848.838574648, places=6)

    def test_end_is_start_plus_request_time(self):
        for line in (CSYNC_PUT, SEGMENT_PUT, MANIFEST_PUT, AUTH):
            r = accesslog.parse_line(line)
            duration = float(line.split()[-7])
            self.assertAlmostEqual(r.end - r.start, duration, delta=0.0001)

    def test_query_split_from_path_and_names_unquoted(self):
        r = accesslog.parse_line(MANIFEST_PUT)
        self.assertEqual((r.path, r.query), ('/v1/AUTH_remote/sample/big',
                                             'multipart-manifest=put'))
        self.assertEqual(accesslog.parse_line(UNICODE_PUT).path,
                         '/v1/AUTH_remote/sample/caf\u00e9 x')
        self.assertEqual(accesslog.parse_line(OBSERVER_LISTING).query,
                         'format=json&states=listing')

    def test_subrequests_and_other_lines_are_left_out(self):
        for line in (CONTAINER_INFO, SLO_SUBREQUEST, AUTOCREATE, WARNING, '', P):
            self.assertIsNone(accesslog.parse_line(line), line)

    def test_only_successful_object_puts_are_object_puts(self):
        def put(line):
            return accesslog.is_object_put(accesslog.parse_line(line))
        self.assertTrue(put(SEGMENT_PUT))
        self.assertTrue(put(MANIFEST_PUT))
        self.assertTrue(put(CSYNC_PUT))
        self.assertFalse(put(CONTAINER_PUT))
        self.assertFalse(put(NOT_FOUND_PUT))
        self.assertFalse(put(CSYNC_HEAD))
        self.assertFalse(put(AUTH))


class TestAccessLog(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, accesslog.LOG_NAME)
        self.write(AUTH, SEGMENT_PUT)

    def write(self, *lines, end='\n'):
        with open(self.path, 'a') as f:
            f.write('\n'.join(lines) + end)

    def test_reads_only_what_came_after_reset(self):
        log = accesslog.AccessLog.of_remote({'log_dir': self.dir})
        self.assertEqual(log.requests(), [])
        self.write(CSYNC_PUT)
        self.assertEqual([r.path for r in log.requests()], ['/v1/AUTH_remote/csdest/two words'])
        log.reset()
        self.write(CSYNC_HEAD)
        self.assertEqual(log.by_method(), {'HEAD': 1})

    def test_a_line_being_written_counts_once_it_is_whole(self):
        log = accesslog.AccessLog(self.path)
        half = len(CSYNC_PUT) // 2
        self.write(CSYNC_PUT[:half], end='')
        self.assertEqual(log.count_ok_puts(), 0)
        self.write(CSYNC_PUT[half:])
        self.assertEqual(log.count_ok_puts(), 1)
        self.assertEqual(len(log.requests()), 1)

    def test_counter_figures_leave_out_subrequests_and_the_observer(self):
        log = accesslog.AccessLog(self.path)
        self.write(AUTH, CONTAINER_INFO, CONTAINER_PUT, SEGMENT_PUT, SLO_SUBREQUEST,
                   MANIFEST_PUT, OBSERVER_LISTING, AUTOCREATE, NOT_FOUND_PUT)
        self.assertEqual(log.by_method(), {'GET': 1, 'PUT': 4})
        self.assertEqual(log.count_ok_puts(), 2)
        self.assertEqual([p for _s, _e, p in log.ok_puts()],
                         ['/v1/AUTH_remote/sample_segments/big/000001',
                          '/v1/AUTH_remote/sample/big'])
        self.assertIn((1796161774.964184284, 1796161774.978583813, 'PUT',
                       '/v1/AUTH_remote/sample/big?multipart-manifest=put', 201),
                      log.snapshot())

    def test_puts_ordered_by_end_and_first_put_of_each_object_kept(self):
        log = accesslog.AccessLog(self.path)
        self.write(CSYNC_PUT, CSYNC_PUT_EARLIER, CSYNC_PUT)
        self.assertEqual([p for _s, _e, p in log.ok_puts()],
                         ['/v1/AUTH_remote/csdest/one'] + ['/v1/AUTH_remote/csdest/two words'] * 2)
        self.assertEqual(log.first_puts(), {'/csdest/one': 1796161848.322938204,
                                            '/csdest/two words': 1796161848.838574648})

    def test_wait_for_puts_answers_the_end_of_the_nth(self):
        log = accesslog.AccessLog(self.path)
        self.write(CSYNC_PUT, CSYNC_PUT_EARLIER)
        self.assertEqual(log.wait_for_puts(2, timeout=1), 1796161848.838574648)

    def test_wait_for_puts_gives_up_when_every_process_exited(self):
        class Exited:
            def poll(self):
                return 0
        log = accesslog.AccessLog(self.path)
        self.write(CSYNC_PUT)
        self.assertIsNone(log.wait_for_puts(2, timeout=30, procs=[Exited()]))


class TestWaitQuiet(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        self.path = os.path.join(self.dir, accesslog.MOTO_LOG_NAME)
        with open(self.path, 'w') as f:
            f.write(AUTH + '\n')

    def test_a_log_that_stopped_growing_ends_the_wait_after_the_quiet_time(self):
        waited = accesslog.wait_quiet(self.path, quiet=0.1, most=5)
        self.assertGreaterEqual(waited, 0.1)
        self.assertLess(waited, 2)

    def test_a_line_written_meanwhile_restarts_the_quiet_time(self):
        import threading
        writer = threading.Timer(0.2, lambda: open(self.path, 'a').write(CSYNC_PUT + '\n'))
        writer.start()
        self.addCleanup(writer.join)
        waited = accesslog.wait_quiet(self.path, quiet=1.0, most=10)
        self.assertGreaterEqual(waited, 1.2)

    def test_a_log_that_keeps_growing_is_waited_for_at_most_the_limit(self):
        import threading
        stop = threading.Event()

        def grow():
            while not stop.wait(0.02):
                with open(self.path, 'a') as f:
                    f.write(CSYNC_PUT + '\n')
        thread = threading.Thread(target=grow)
        thread.start()
        try:
            waited = accesslog.wait_quiet(self.path, quiet=0.5, most=0.8)
        finally:
            stop.set()
            thread.join()
        self.assertGreaterEqual(waited, 0.8)
        self.assertLess(waited, 3)

    def test_a_missing_log_is_quiet(self):
        waited = accesslog.wait_quiet(os.path.join(self.dir, 'none.log'), quiet=0.05, most=5)
        self.assertLess(waited, 1)


if __name__ == '__main__':
    unittest.main()
