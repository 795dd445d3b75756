"""What every source client raises when a request can never succeed as configured."""


class RequestRejected(Exception):
    """The request is wrong, not the moment: a mistyped URL or host, a 4xx, an invalid query
    or parameter. Retrying it, in the client or as a retried step, only delays the error the
    operator has to read."""
