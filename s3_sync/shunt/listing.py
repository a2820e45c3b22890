"""Container GET: the local listing and the remote one spliced into one sorted listing.

The parameters are first checked with Swift's own validation, so a bad one gets Swift's 400 or
412 (and a ``limit`` that makes Swift's check fail gets 400, not Swift's 500). Then the client's
own request goes to Swift (as JSON), so whatever Swift decides about it (authorization, a missing
container) is the answer: only a local 200 is spliced. Then the remote is listed over the same
range and the two sorted lists are merged, capped at ``limit``:

* a name only local is shown as Swift has it, with no ``content_location``;
* a name only remote carries ``content_location: ["<remote location>"]``;
* a name on both sides (restored, or a subdir with objects on both sides) appears once, as the
  remote entry with ``content_location: ["<remote location>", "swift"]``, the original's wire
  format.

``marker``, ``end_marker``, ``prefix``, ``delimiter`` and ``reverse`` mean the same on both
sides (the original dropped ``end_marker`` and ``reverse`` on the remote side); a NUL in them,
which no remote takes, is turned into the NUL-free request that selects the same names. Remote
stores list forward only, so a ``reverse`` listing reads the remote range forward, keeping the
last ``limit`` entries; that costs one remote page per 1000 remote names in the range.

Rendering: in a Swift 2.x pipeline ``listing_formats`` sits above us, forces JSON and renders the
client's format from our JSON (``swift.format_listing`` in the environ says so); without it we
render json/xml/plain ourselves with the same Swift functions.
"""
import bisect
import collections
import json

from swift.common.middleware.listing_formats import (container_to_xml, get_listing_content_type,
                                                     listing_to_text)
from swift.common.request_helpers import validate_container_params
from swift.common.swob import HTTPBadGateway, HTTPBadRequest, HTTPException, Request
from swift.common.utils import RESERVED, config_true_value

from s3_sync.providers.base import RemoteError

REMOTE_PAGE = 1000
SWIFT_LOCATION = 'swift'


def entry_key(entry):
    return entry['name'] if 'name' in entry else entry['subdir']


def listing_params(req):
    """``(marker, end_marker, prefix, delimiter, limit, reverse)`` as native strings, checked
    with the function Swift's proxy checks them with, in its order: HTTPBadRequest for a value
    that is not UTF-8, HTTPPreconditionFailed for a limit above the maximum. A limit that is not
    a plain number is ignored (the default limit), as Swift does."""
    try:
        params = validate_container_params(req)
    except ValueError:
        # Digits int() cannot read ("²", "①" pass str.isdigit()): Swift's check raises here and
        # its proxy answers 500. The parameter is the client's mistake.
        raise HTTPBadRequest(request=req, content_type='text/plain',
                             body=b'"limit" parameter not valid')
    return (params.get('marker') or '', params.get('end_marker') or '',
            params.get('prefix') or '', params.get('delimiter') or '',
            params['limit'], config_true_value(params.get('reverse')))


def _in_range(key, lower, upper):
    return (not lower or key > lower) and (not upper or key < upper)


# Object names never hold a NUL (Swift refuses them, and its listings leave out the reserved
# namespace that starts with one), while remote stores refuse or choke on one in a listing
# request. So a bound holding a NUL is replaced by a NUL-free one that selects the same names:
# ``n > p + NUL + rest`` is ``n > p``, and ``n < p + NUL + rest`` is ``n < p + chr(1)``.
def _remote_lower(bound):
    return bound.split(RESERVED, 1)[0]


def _remote_upper(bound):
    return bound.split(RESERVED, 1)[0] + chr(1) if RESERVED in bound else bound


def _subdir_listed(provider, subdir, lower, upper):
    """Whether Swift lists ``subdir``: it rolls up a name inside the range and is not the
    lower bound itself (Swift's rule, even for a subdir below the marker: marker ``d/x``,
    name ``d/y``, delimiter ``/`` list ``d/``).

    A remote may report subdirs holding no name in range: moto lists every common prefix
    whatever the marker, and an S3 end_marker is applied after the roll-up. A subdir that
    holds a bound is therefore checked with one listing of its names in range."""
    if subdir == lower or (upper and subdir >= upper):
        return False
    holds_lower = bool(lower) and lower.startswith(subdir)
    if lower and subdir < lower and not holds_lower:
        return False
    if not (holds_lower or (upper and upper.startswith(subdir))):
        return True
    probe = provider.list_objects(marker=_remote_lower(lower), limit=1, prefix=subdir,
                                  end_marker=_remote_upper(upper))
    return any(_in_range(entry_key(e), lower, upper) for e in probe)


def remote_range(provider, lower, upper, prefix, delimiter, want=None, local=None):
    """Remote entries with ``lower < key < upper`` (either bound optional), ascending, as Swift
    would list them (see ``_subdir_listed``).

    The first ``want`` of them, or all when ``want`` is None. Pages until an empty page: a short
    page is not the end (a provider may hide keys, e.g. SLO manifests sharing a custom prefix).

    ``local``: the keys of the local page the remote entries are spliced with (ascending): then
    only the remote entries that can make the first ``want`` of the splice are read (see
    ``_wanted``), not ``want`` of them whatever the local page holds."""
    entries = []
    marker = _remote_lower(lower)
    seen = None         # the last key of the previous page
    wanted = _Wanted(want, local)
    while True:
        ask = wanted.ask(entries)
        if ask <= 0:
            break
        page = provider.list_objects(marker=marker, limit=ask, prefix=prefix,
                                     delimiter=delimiter, end_marker=_remote_upper(upper))
        if not page:
            break
        for entry in page:
            key = entry_key(entry)
            # Paging by a subdir, S3 servers may return that subdir (or, moto, every common
            # prefix) again: only what lies past the previous page is new.
            if seen is not None and key <= seen:
                continue
            if 'subdir' in entry:
                if _subdir_listed(provider, key, lower, upper):
                    entries.append(entry)
            elif _in_range(key, lower, upper):
                entries.append(entry)
        last = entry_key(page[-1])
        if marker and last <= marker:
            break           # no progress: never loop on a misbehaving remote
        marker = seen = last
    return entries if want is None else entries[:want]


class _Wanted:
    """How many remote entries to ask for next, so that the splice with the local page
    (``local``, its keys) gets its first ``want`` entries right.

    Without a local page: ``want`` minus those already read. With one, once remote entries
    up to key K are read, the splice's entries up to K are known (the local keys up to K and
    the remote ones, a name on both sides once), so at most ``want`` minus their count of
    further remote entries can still make the cut: nothing more once that reaches 0.

    The first ask is a guess below the worst case: a full local page leaves room for fewer
    remote entries, half the page's as a first guess (a remote listing costs the store work per
    key, and paging a half-archived container by 1,000 read twice the remote keys it showed);
    a short one, for the rest of the page. When the guess falls short, the next ask is what is
    still wanted (one more request)."""

    def __init__(self, want, local):
        self.want = want
        self.local = local
        self.first = True

    def ask(self, entries):
        if self.want is None:
            return REMOTE_PAGE
        if self.local is None:
            left = self.want - len(entries)
        else:
            left = self.want - self._spliced_upto(entries)
        if self.first and self.local is not None:
            self.first = False
            return min(REMOTE_PAGE, max(self.want - len(self.local), (self.want + 1) // 2))
        self.first = False
        return min(REMOTE_PAGE, left + 1) if left > 0 else 0

    def _spliced_upto(self, entries):
        if not entries:
            return 0
        last = entry_key(entries[-1])
        upto = bisect.bisect_right(self.local, last)
        local_names = set(self.local[:upto])
        return upto + sum(1 for e in entries if entry_key(e) not in local_names)


def remote_entries(provider, marker, end_marker, prefix, delimiter, limit, reverse,
                   local=None):
    """Up to ``limit`` remote entries in the order the client asked for; ``local``: the keys
    of the local page they are spliced with, if known (see ``_Wanted``)."""
    if RESERVED in prefix:
        return []           # no name holds a NUL (see _remote_lower)
    if RESERVED in delimiter:
        delimiter = ''      # found in no name: rolls nothing up
    if not reverse:
        return remote_range(provider, marker, end_marker, prefix, delimiter, limit, local)
    # reverse: names below ``marker`` and above ``end_marker``, the highest first
    tail = collections.deque(
        remote_range(provider, end_marker, marker, prefix, delimiter), maxlen=limit)
    return list(reversed(tail))


def splice(local, remote, limit, reverse=False, local_location=None):
    """Merge two listings sorted the same way; see the module docstring for the annotations.

    ``local_location``: the ``content_location`` of local-only entries (none by default: the
    shunt's local side is the Swift cluster itself)."""
    out = []
    i = j = 0
    before = (lambda a, b: a > b) if reverse else (lambda a, b: a < b)
    while len(out) < limit and (i < len(local) or j < len(remote)):
        lkey = entry_key(local[i]) if i < len(local) else None
        rkey = entry_key(remote[j]) if j < len(remote) else None
        if rkey is None or (lkey is not None and before(lkey, rkey)):
            out.append(local[i] if local_location is None else
                       dict(local[i], content_location=[local_location]))
            i += 1
            continue
        entry = dict(remote[j])
        location = [entry.get('content_location')]
        if lkey == rkey:
            location.append(SWIFT_LOCATION)
            i += 1
        entry['content_location'] = location
        out.append(entry)
        j += 1
    return out


def render(listing, content_type, container):
    """``(body, content_type)`` for json, xml or plain, as Swift's listing_formats renders."""
    if content_type.endswith('/xml'):
        body = container_to_xml([dict(e) for e in listing], container)
    elif content_type == 'text/plain':
        body = listing_to_text(listing)
    else:
        body = json.dumps(listing).encode('ascii')
    return body, content_type + '; charset=utf-8'


class ListingSplice:
    """``__call__(env, start_response, provider, container)`` for one mapped container GET.

    ``app`` answers the local listing; ``local_location`` see ``splice``."""

    def __init__(self, app, logger=None, local_location=None):
        self.app = app
        self.logger = logger
        self.local_location = local_location

    def __call__(self, env, start_response, provider, container, listed_remote=None):
        """``listed_remote``: called with the names this listing found on the remote side
        alone (``early`` may then start their reads early)."""
        req = Request(env)
        try:
            params = listing_params(req)
            if 'path' in req.params:
                # pseudo-hierarchical ?path=: Swift's alone (once the parameters are known not
                # to make it fail)
                return self.app(env, start_response)
            out_type = 'application/json' if env.get('swift.format_listing') else \
                get_listing_content_type(req)
        except HTTPException as err:
            return err(env, start_response)
        query = req.params
        query['format'] = 'json'
        req.params = query
        status, headers, body = req.call_application(self.app)
        if not self._is_json_200(status, headers):
            start_response(status, headers)
            return body
        raw = _read_all(body)
        local = _parse_listing(raw)
        if local is None:       # not a listing after all (e.g. a staticweb page): as it came
            start_response(status, headers)
            return [raw]
        try:
            remote = remote_entries(provider, *params, local=[entry_key(e) for e in local])
        except RemoteError as err:
            if err.status == 404:
                # Nothing synced yet (the remote container or bucket is made on first
                # upload): the remote half is empty, the local half is the answer.
                remote = []
            else:
                return self._remote_failed(req, provider, err, env, start_response)
        listing = splice(local, remote, params[4], params[5], self.local_location)
        if listed_remote is not None and remote:
            local_keys = {entry_key(e) for e in local}
            listed_remote([e['name'] for e in remote
                           if 'name' in e and e['name'] not in local_keys])
        out, content_type = render(listing, out_type, container)
        if not out:
            status = '204 No Content'
        kept = [(k, v) for k, v in headers
                if k.lower() not in ('content-length', 'content-type')]
        start_response(status, kept + [('Content-Type', content_type),
                                       ('Content-Length', str(len(out)))])
        return [out]

    def _remote_failed(self, req, provider, err, env, start_response):
        if self.logger:
            self.logger.error('cloud-shunt: listing %s failed: %s',
                              provider.content_location.split(';')[0], err)
        return HTTPBadGateway(request=req, body=b'The remote store did not answer.',
                              content_type='text/plain')(env, start_response)

    @staticmethod
    def _is_json_200(status, headers):
        ctype = dict((k.lower(), v) for k, v in headers).get('content-type', '')
        return status.startswith('200') and ctype.startswith('application/json')


def _read_all(body):
    try:
        return b''.join(body)
    finally:
        if hasattr(body, 'close'):
            body.close()


def _parse_listing(raw):
    try:
        listing = json.loads(raw)
    except ValueError:
        return None
    if isinstance(listing, list) and all(isinstance(e, dict) for e in listing):
        return listing
    return None
