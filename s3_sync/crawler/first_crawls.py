"""First crawls under way: a DB whose first crawl a kill cut short is checked, not sent again.

A DB's status-file entry is what makes a restart check the rows a killed run may have sent
(:class:`s3_sync.crawler.passes.Resume`). A DB's first crawl hands rows before it saves one,
so before it hands any the DB is noted here: a line appended to this process's
``<status_dir>/.first-crawls-<process>`` (a dot file beside the account directories, which
the status-file pruning leaves alone), kept open: one ``write``, where an entry saved ahead
would cost a file created, written and renamed for every new container. Like such an entry,
the line only has to outlive a kill of the daemon, which the page cache does: not synced.

A start reads the file: a DB noted there that still has no entry is crawled as one that has
(:meth:`FirstCrawls.noted`). After full cycles the file is rewritten with only the DBs still
without a saved entry.
"""
import os

from s3_sync.crawler.progress import atomic_write
from s3_sync.log import one_line

NAME = '.first-crawls-%d'


class FirstCrawls:
    def __init__(self, status_dir, process, logger):
        self.path = os.path.join(status_dir, NAME % process)
        self.logger = logger
        self.unsaved = self._read()     # DB ids noted, their entries not known to be saved
        self.lines = len(self.unsaved)  # DB ids in the file
        self._file = None

    def _read(self):
        try:
            with open(self.path, encoding='utf-8') as f:
                return {line.strip() for line in f if line.strip()}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError) as exc:
            # Only a lost saving: the DBs it named are taken for new ones (sent again).
            self.logger.warning('cannot read %s: %s; first crawls a kill cut short send '
                                'their rows again', self.path, one_line(exc, first_line=True))
            return set()

    def noted(self, db_id):
        """True when a crawl (of this run, or of a killed one) handed rows of DB ``db_id``
        before saving its entry."""
        return db_id in self.unsaved

    def note(self, db_id):
        """Before a DB's first crawl hands a row."""
        if db_id in self.unsaved:
            return
        if self._file is None:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            self._file = open(self.path, 'a', encoding='utf-8')
        self._file.write(db_id + '\n')
        self._file.flush()
        self.unsaved.add(db_id)
        self.lines += 1

    def saved(self, db_id):
        """The entry of DB ``db_id`` is on disk: its line is no longer needed."""
        self.unsaved.discard(db_id)

    def compact(self):
        """Rewrite the file with the DBs still without an entry, when that leaves lines out."""
        if self.lines == len(self.unsaved):
            return
        self.close()
        atomic_write(self.path, ''.join(db_id + '\n' for db_id in sorted(self.unsaved)),
                     durable=False)
        self.lines = len(self.unsaved)

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
