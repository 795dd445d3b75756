"""What every source client raises when a request can never succeed as configured, and how a
transport failure is told apart from that."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests

from orchestration.lib.retries import Retryable

# Resolver answers that a host name does not exist: a typo, not a network hiccup.
_NO_SUCH_HOST = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


class RequestRejected(Exception):
    """The request is wrong, not the moment: a mistyped URL or host, a 4xx, an invalid query
    or parameter. Retrying it, in the client or as a retried step, only delays the error the
    operator has to read."""


def body_head(body: bytes) -> str:
    """The start of a response body, for an error message: enough to tell an HTML error page,
    a provider's JSON error or a truncated answer apart."""
    return body[:300].decode("utf-8", "replace")


def unresolved_host(exc: BaseException) -> socket.gaierror | None:
    """The resolver's answer when a connection error says the host does not exist."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        if isinstance(error, socket.gaierror):
            return error if error.errno in _NO_SUCH_HOST else None
        # requests, urllib3 and httpx wrap the resolver's error in `args`, `reason`, causes.
        pending += [error.__cause__, error.__context__, getattr(error, "reason", None)]
        pending += [a for a in error.args if isinstance(a, BaseException)]
    return None


@contextmanager
def requests_transport(source: str, url: str, rejected: type[RequestRejected]) -> Iterator[None]:
    """Around one `requests` call to `url`: a URL that can never work (no http(s) scheme, a
    host that does not resolve) raises `rejected` naming `source`; any other transport
    failure is `Retryable`."""
    try:
        yield
    except (requests.exceptions.InvalidSchema, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidURL) as exc:  # fmt: skip
        raise rejected(f"{source}: {url!r} is not a valid http(s) URL") from exc
    except requests.RequestException as exc:
        unresolved = unresolved_host(exc)
        if unresolved is not None:
            raise rejected(
                f"{source} ({url}): the host {urlsplit(url).hostname!r} does not resolve "
                f"({unresolved.strerror})"
            ) from exc
        raise Retryable(f"{type(exc).__name__}: {exc}") from exc
