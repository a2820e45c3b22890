"""``selection_criteria``: which objects a mapping propagates, decided on their headers.

Grammar (compatible with the original): ``{}`` matches everything; otherwise a dict with exactly
one key: ``"AND": [c, ...]``, ``"OR": [c, ...]``, ``"NOT": c``, or ``"<header>": "<value>"``. A
header is looked up case-insensitively in the object's headers; a missing header does not match;
values compare case-insensitively.
"""


def matches(headers, criteria):
    """True when the object with these headers is selected by ``criteria``."""
    if not criteria:
        return True
    lowered = {k.lower(): v for k, v in headers.items()}
    return _match(lowered, criteria)


def _match(headers, criteria):
    (key, value), = criteria.items()
    if key == 'AND':
        return all(_match(headers, c) for c in value)
    if key == 'OR':
        return any(_match(headers, c) for c in value)
    if key == 'NOT':
        return not _match(headers, value)
    actual = headers.get(key.lower())
    return actual is not None and str(actual).lower() == str(value).lower()
