"""The listening socket the API server and each worker serve on."""

from __future__ import annotations

import socket


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0: a free port), for uvicorn to serve on."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by connections: no 40 ms stalls
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock
