"""`triggers up` port checks: a port left in TIME_WAIT by a stopped stack is free again."""

import socket

import pytest

from devtools.stack import StackError, ensure_free


def time_wait_port() -> int:
    """A loopback port whose only socket is in TIME_WAIT: the server side closed a connection first."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        client = socket.create_connection(("127.0.0.1", port))
        server_side, _ = listener.accept()
        server_side.close()
        client.recv(1)
        client.close()
    return port


def test_port_with_only_time_wait_sockets_counts_as_free() -> None:
    # Given a port whose last server stopped moments ago (a plain bind is refused)
    port = time_wait_port()
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))

    # When / Then the check lets `triggers up` start again at once
    ensure_free(port, "API")


def test_port_with_a_listener_is_in_use() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])

        with pytest.raises(StackError, match=rf"127.0.0.1:{port} \(API\) is in use"):
            ensure_free(port, "API")
