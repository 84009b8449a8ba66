"""Joining a cluster: which addresses count as loopback, what `auto` and `local` resolve to, the env glue."""

from __future__ import annotations

import gymnasium
import pytest
from swefarm.cluster.connect import LOOPBACK_ENV, is_loopback, loopback_only, resolve


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("127.0.0.1:6379", True), ("localhost:6379", True), ("[::1]:6379", True), ("127.0.0.5:1", True),
     ("10.0.0.2:6379", False), ("192.0.2.2:6379", False), ("head.example:6379", False)],
)  # fmt: skip
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


def test_resolve(monkeypatch):
    assert resolve(None) is None and resolve("local") is None and resolve("") is None
    assert resolve("10.0.0.2:6379") == "10.0.0.2:6379"
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:7000")
    assert resolve("auto") == "127.0.0.1:7000"


def test_loopback_only_reaches_ray_already_imported(monkeypatch):
    import ray  # noqa: F401  (imported first: its constant was read already)
    from ray._private import ray_constants, services

    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", True)
    monkeypatch.delenv(LOOPBACK_ENV, raising=False)
    loopback_only()
    import os

    assert os.environ[LOOPBACK_ENV] == "0" and ray_constants.ENABLE_RAY_CLUSTER is False
    assert services.get_node_ip_address() == "127.0.0.1"


def test_unknown_backends_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="local or ray"):
        gymnasium.make("swe/Task-v0", task="x", backend="kubernetes")
    with pytest.raises(ValueError, match="local or ray"):
        gymnasium.make("swe/Sampler-v0", backend="kubernetes")
