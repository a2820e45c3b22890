"""The one exception type of the dev environment.

Its ``str()`` is meant for the user as is: one line naming what is wrong,
optionally followed by the tail of a server log.
"""


class DevenvError(Exception):
    pass
