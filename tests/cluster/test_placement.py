"""Placement rules, on plain host records (no Ray): locality first, then spread; nothing when all are full."""

from __future__ import annotations

from swefarm.cluster.hosts import Host, choose_host


def _host(name: str, images=(), running: int = 0, slots: int = 2, placed: int = 0, lost=None) -> Host:
    info = {"actor_id": name * 12, "node_id": name * 8, "hostname": "h", "pid": 1}
    return Host(actor=None, info=info, slots=slots, images=set(images), running=running, placed=placed, lost=lost)


def test_a_host_holding_the_image_wins_while_it_has_a_free_slot():
    a, b = _host("a", images={"img"}, running=1), _host("b")
    assert choose_host([a, b], "img") is a
    a.running = 2  # full: the job goes where the image must be copied rather than wait
    assert choose_host([a, b], "img") is b


def test_among_equals_the_least_loaded_and_least_used_host_wins():
    a, b, c = _host("a", {"img"}, running=1), _host("b", {"img"}), _host("c", {"img"}, placed=3)
    assert choose_host([a, b, c], "img") is b
    b.placed = 5
    assert choose_host([a, b, c], "img") is c


def test_back_pressure_and_lost_hosts():
    a, b = _host("a", running=2), _host("b", lost="node died")
    assert choose_host([a, b], None) is None
    a.running = 1
    assert choose_host([a, b], None) is a
