"""One request and its answer, over a connection made by us to an address already checked.

The time allowed is a total deadline, not only a per-read timeout: a server that sends one byte a
second would otherwise keep a worker forever. A watchdog timer shuts the socket down when the
deadline passes, whatever the exchange is waiting for (connecting, TLS, headers, body)."""

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection

from newsdesk.fetching import conf
from newsdesk.fetching.addresses import IPAddress, Target
from newsdesk.fetching.errors import FetchError, Timeout


class Deadline:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self, doing: str) -> float:
        left = self.remaining()
        if left <= 0:
            raise Timeout(f"gave up after {self.seconds:g} s ({doing})")
        return left


@dataclass
class _Watch:
    connection: HTTPConnection | None = None
    fired: bool = False

    def fire(self) -> None:
        self.fired = True
        sock = self.connection.sock if self.connection is not None else None
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _connect(target: Target, address: IPAddress, timeout: float, watch: _Watch) -> HTTPConnection:
    if target.scheme == "https":
        # Connected to the checked address; the certificate is still checked against the host name,
        # which is also sent as SNI.
        connection: HTTPConnection = HTTPSConnection(
            str(address),
            target.port,
            timeout=timeout,
            server_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        connection = HTTPConnection(str(address), target.port, timeout=timeout)
    watch.connection = connection
    try:
        connection.connect()
    except BaseException:
        connection.close()  # a socket half set up (TLS refused) is not left open
        raise
    return connection


def _connect_failure(error: BaseException) -> str:
    # urllib3's NewConnectionError (refused, unreachable) is a subclass of its ConnectTimeoutError.
    if isinstance(error, urllib3.exceptions.NewConnectionError):
        return str(error).rsplit(": ", 1)[-1] or "refused"
    if isinstance(error, TimeoutError | urllib3.exceptions.TimeoutError):
        return "timed out"
    return str(error)


@contextmanager
def exchange(
    target: Target, addresses: list[IPAddress], *, headers: dict[str, str], deadline: Deadline
) -> Iterator[urllib3.BaseHTTPResponse]:
    """The answer to a GET of `target`, its body still to be read (raw, not decompressed) inside the
    `with`. Any failure, including while the body is read, comes out as a FetchError."""
    watch = _Watch()
    timer = threading.Timer(deadline.check("before connecting"), watch.fire)
    timer.daemon = True
    timer.start()
    connection = None
    try:
        failures, timeouts = [], 0
        for address in addresses:
            try:
                timeout = min(conf.connect_timeout(), deadline.check("connecting"))
                connection = _connect(target, address, timeout, watch)
                break
            except (OSError, urllib3.exceptions.HTTPError) as error:
                if watch.fired:
                    raise
                why = _connect_failure(error)
                failures.append(f"{address}: {why}")
                timeouts += why == "timed out"
        if connection is None:
            failed = Timeout if timeouts == len(addresses) else FetchError
            raise failed(f"cannot connect to {target.host_key} ({'; '.join(failures)})"[:300])
        connection.timeout = deadline.check("sending the request")
        connection.request(
            "GET", target.path, headers={"Host": target.host_header, **headers}, preload_content=False,
            decode_content=False,
        )  # fmt: skip
        response = connection.getresponse()
        yield response
        if watch.fired:  # the socket was shut under a body read to its "end": cut short, not complete
            raise Timeout(f"gave up after {deadline.seconds:g} s ({target.host_key})")
    except FetchError:
        raise
    except (OSError, http.client.HTTPException, urllib3.exceptions.HTTPError, ValueError) as error:
        if watch.fired or deadline.remaining() <= 0:
            raise Timeout(f"gave up after {deadline.seconds:g} s ({target.host_key})") from None
        if isinstance(error, TimeoutError | socket.timeout | urllib3.exceptions.TimeoutError):
            raise Timeout(f"timed out talking to {target.host_key}: {error}") from None
        raise FetchError(f"connection to {target.host_key} failed: {error}"[:300]) from None
    finally:
        timer.cancel()
        if connection is not None:
            connection.close()
