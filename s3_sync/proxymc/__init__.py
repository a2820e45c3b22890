"""``proxymc``: a standalone Swift-API endpoint serving the shared namespace from the cloud side.

Not built yet; the paste app answers 501 so the entry point is registered and the layout final.
"""


BODY = b'proxymc: not built yet\n'


def app_factory(global_conf, **local_conf):
    def app(env, start_response):
        start_response('501 Not Implemented', [('Content-Type', 'text/plain'),
                                               ('Content-Length', str(len(BODY)))])
        return [BODY]
    return app
