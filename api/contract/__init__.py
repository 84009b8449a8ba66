"""The client contract: what the server, its workers and every client share.

- `errors`: the API's exceptions, each with its HTTP status; the server answers with them, the client raises them.
- `schemas`: request and response models per resource (`XCreate` / `XPublic`).
- `scaffold`: `ScaffoldConfig`, the part of an episode's `EnvConfig` a client may choose.
"""

import socket

#: Request headers and body leave in two writes; without TCP_NODELAY, Nagle and delayed ACKs stall each by 40 ms.
NODELAY = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
