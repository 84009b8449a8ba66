"""A task's images from one node to another without a registry: `docker save` on a node that has
them, through Ray's object store in chunks, `docker load` on the node that lacks them.

The source host saves the image into the object store as `CHUNK`-sized objects it owns (Ray
spills them to disk past the store's size) and hands out their references; a destination pulls
them one at a time (Ray moves each from node to node) and feeds them to its engine as they
arrive, so it never holds more than a chunk in memory. One export can serve many destinations.
"""

from __future__ import annotations

import time
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


def export(client: docker.DockerClient, image: str, chunk: int = CHUNK) -> dict:
    """`docker save` of `image` into the object store: its size, the bytes saved and the chunks' references."""
    import ray

    start = time.perf_counter()
    try:
        size = client.images.get(image).attrs.get("Size", 0)
        refs, saved = [], 0
        for piece in _rechunk(client.api.get_image(image, chunk_size=1024 * 1024), chunk):
            refs.append(ray.put(piece))
            saved += len(piece)
    except docker.errors.ImageNotFound:
        raise ImageTransferError(f"the source node has no image {image}") from None
    except docker.errors.APIError as exc:
        raise ImageTransferError(f"saving {image} failed: {exc}") from None
    return {"image": image, "image_size": size, "bytes": saved, "chunks": refs,
            "save_s": time.perf_counter() - start}  # fmt: skip


def load(client: docker.DockerClient, bundle: dict) -> dict:
    """`docker load` of an export on this node's engine, chunk by chunk; what it moved and how long it took."""
    import ray

    start = time.perf_counter()

    def pieces() -> Iterator[bytes]:
        for ref in bundle["chunks"]:
            yield ray.get(ref)

    try:
        for _ in client.api.load_image(pieces()):
            pass
        client.images.get(bundle["image"])
    except (docker.errors.APIError, docker.errors.ImageNotFound) as exc:
        raise ImageTransferError(f"loading {bundle['image']} from another node failed: {exc}") from None
    return {"image": bundle["image"], "image_size": bundle["image_size"], "bytes": bundle["bytes"],
            "save_s": bundle.get("save_s"), "load_s": time.perf_counter() - start}  # fmt: skip


def pull(client: docker.DockerClient, source, image: str) -> dict:
    """Load `image` here from the host actor `source`; what moved and the seconds it took, end to end."""
    import ray

    start = time.perf_counter()
    moved = load(client, ray.get(source.export_image.remote(image)))
    return {**moved, "seconds": time.perf_counter() - start}
