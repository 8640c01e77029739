"""Reaching the client's TCP socket from inside a WSGI view, to drop a connection or tune it.

Django's dev/live server hands the socket's reader to the app as `wsgi.input` (wrapped in LimitedStream, which
keeps only bound `read` methods); gunicorn exposes `gunicorn.socket` and wraps its socket in Body/Reader/Unreader
objects. Whatever the server, the socket is found by following the reader's attributes.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any

from django.http import HttpRequest

_SOCKET_PATHS = ("_sock", "sock", "raw", "stream", "_stream", "rfile", "reader", "unreader", "_read", "read")


def client_socket(request: HttpRequest) -> socket.socket | None:
    """The socket the request came in on, or None when the server hides it."""
    sock = request.META.get("gunicorn.socket")
    if isinstance(sock, socket.socket):
        return sock
    return _find_socket(request.META.get("wsgi.input"), depth=0)


def drop_connection(request: HttpRequest) -> None:
    """Close the client's socket so that it gets no response at all (a connection reset mid-request).

    Shutting the socket down makes the server's later write fail quietly (a broken pipe, which servers expect
    from clients that go away) and the client see the connection closed without a status line.
    """
    sock = client_socket(request)
    if sock is None:
        raise RuntimeError("this WSGI server does not expose the client socket; cannot drop the connection")
    with contextlib.suppress(OSError):  # the client may already be gone
        sock.shutdown(socket.SHUT_RDWR)


def disable_nagle(request: HttpRequest) -> None:
    """Send small writes at once on this connection.

    Django's dev server writes the status line and headers, then the body, in separate unbuffered sends. On a
    kept-alive connection Nagle's algorithm holds the body back until the client acknowledges the headers, which
    a delayed ACK postpones by ~40 ms: every call of a client that reuses connections would take 40 ms longer.
    """
    sock = client_socket(request)
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _find_socket(obj: Any, *, depth: int) -> socket.socket | None:
    if isinstance(obj, socket.socket):
        return obj
    if obj is None or depth > 8:
        return None
    for name in _SOCKET_PATHS:
        child = getattr(obj, name, None)
        if child is None:
            continue
        child = getattr(child, "__self__", child)  # a bound method leads to the object that owns it
        if child is obj:
            continue
        found = _find_socket(child, depth=depth + 1)
        if found is not None:
            return found
    return None
