"""A TCP proxy on 127.0.0.1 that can stop forwarding: a network partition between kugetsu-tui and the server.

While partitioned, both sides' connections stay open and what they send is read and dropped, as on a
network that lost its route: nothing is refused or reset, not even a close gets through, and the caller
just never hears back.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class PartitionProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.forwarding = threading.Event()
        self.forwarding.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def partition(self) -> None:
        self.forwarding.clear()

    def heal(self) -> None:
        self.forwarding.set()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=30)
        for sock in [self.listener, *self._sockets]:
            with contextlib.suppress(OSError):
                sock.close()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ, None)
        while not self._closed.is_set():
            for key, _ in selector.select(timeout=0.1):
                if key.data is None:
                    client, _ = self.listener.accept()
                    try:
                        server = socket.create_connection(self.upstream, timeout=10)
                    except OSError:
                        client.close()
                        continue
                    self._sockets += [client, server]
                    selector.register(client, selectors.EVENT_READ, server)
                    selector.register(server, selectors.EVENT_READ, client)
                    continue
                source, target = key.fileobj, key.data
                assert isinstance(source, socket.socket)
                try:
                    chunk = source.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:  # partitioned, the other side never hears of the close either
                    for sock in (source, target) if self.forwarding.is_set() else (source,):
                        with contextlib.suppress(KeyError, ValueError):
                            selector.unregister(sock)
                        with contextlib.suppress(OSError):
                            sock.close()
                    continue
                if self.forwarding.is_set():
                    with contextlib.suppress(OSError):
                        target.sendall(chunk)
        selector.close()
