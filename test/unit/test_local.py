"""Reading local objects: the streaming body reader hands bytes on in whatever sizes asked."""
import unittest

from s3_sync.local import BodyReader

DATA = bytes(range(256)) * 1000
CHUNKS = [DATA[i:i + 65536] for i in range(0, len(DATA), 65536)]


class Closing(list):
    closed = False

    def close(self):
        self.closed = True


class TestBodyReader(unittest.TestCase):
    def read_all(self, reader, size):
        out = []
        while True:
            data = reader.read(size)
            if not data:
                return b''.join(out)
            out.append(data)

    def test_any_read_size_returns_the_body_unchanged(self):
        for size in (1, 8192, 65536, 100000, 7):
            self.assertEqual(self.read_all(BodyReader(CHUNKS), size), DATA, size)

    def test_read_without_size_returns_the_rest(self):
        reader = BodyReader(CHUNKS)
        head = reader.read(10)
        self.assertEqual(head + reader.read(), DATA)
        self.assertEqual(reader.read(), b'')
        self.assertEqual(reader.bytes_read, len(DATA))

    def test_empty_chunks_are_skipped_not_taken_for_the_end(self):
        self.assertEqual(self.read_all(BodyReader([b'', b'ab', b'', b'c']), 2), b'abc')

    def test_close_closes_the_response(self):
        body = Closing(CHUNKS)
        BodyReader(body).close()
        self.assertTrue(body.closed)


if __name__ == '__main__':
    unittest.main()
