"""A task's images from one node to another without a registry: `docker save` on a node that has
them, through Ray's object store in chunks, `docker load` on the node that lacks them.

The source host streams the saved image in `CHUNK` pieces; the destination asks for the next
piece while it feeds the current one to its engine, so neither side holds the whole image in
memory and Ray's object store holds at most two pieces of it.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator

import docker
import docker.errors
from swefarm.cluster.errors import ClusterError

CHUNK = 16 * 1024 * 1024


class ImageTransferError(ClusterError):
    """An image could not be copied between nodes."""


def _rechunk(stream: Iterator[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in stream:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


class Exports:
    """The saves a source host is streaming out, by id (one reader each)."""

    def __init__(self):
        self._open: dict[str, tuple[Iterator[bytes], threading.Lock, float]] = {}
        self._lock = threading.Lock()

    def begin(self, client: docker.DockerClient, image: str, chunk: int = CHUNK) -> dict:
        try:
            size = client.images.get(image).attrs.get("Size", 0)
            stream = _rechunk(client.api.get_image(image, chunk_size=chunk), chunk)
        except docker.errors.ImageNotFound:
            raise ImageTransferError(f"the source node has no image {image}") from None
        except docker.errors.APIError as exc:
            raise ImageTransferError(f"saving {image} failed: {exc}") from None
        export_id = uuid.uuid4().hex
        with self._lock:
            self._drop_stale()
            self._open[export_id] = (stream, threading.Lock(), time.monotonic())
        return {"export_id": export_id, "size": size}

    def next(self, export_id: str) -> bytes:
        """The next piece, or b"" at the end (then the export is gone)."""
        with self._lock:
            entry = self._open.get(export_id)
        if entry is None:
            raise ImageTransferError(f"no export {export_id} (finished, or dropped as stale)")
        stream, lock, _ = entry
        with lock:
            piece = next(stream, b"")
        with self._lock:
            if piece:
                self._open[export_id] = (stream, lock, time.monotonic())
            else:
                self._open.pop(export_id, None)
        return piece

    def _drop_stale(self, after_s: float = 600.0) -> None:
        now = time.monotonic()
        for key, (_, _, last) in list(self._open.items()):
            if now - last > after_s:  # its reader died
                del self._open[key]


def pull(client: docker.DockerClient, source, image: str) -> dict:
    """Load `image` into this node's engine from the host actor `source`; bytes moved and seconds taken."""
    import ray

    start = time.perf_counter()
    begun = ray.get(source.export_begin.remote(image))
    moved = 0

    def pieces() -> Iterator[bytes]:
        nonlocal moved
        ref = source.export_chunk.remote(begun["export_id"])
        for _ in itertools.count():
            piece = ray.get(ref)
            if not piece:
                return
            ref = source.export_chunk.remote(begun["export_id"])  # the next piece travels while this one loads
            moved += len(piece)
            yield piece

    try:
        for _ in client.api.load_image(pieces()):
            pass
        client.images.get(image)
    except (docker.errors.APIError, docker.errors.ImageNotFound) as exc:
        raise ImageTransferError(f"loading {image} from another node failed: {exc}") from None
    return {"image": image, "bytes": moved, "image_size": begun["size"], "seconds": time.perf_counter() - start}
