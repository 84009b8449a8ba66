"""What the cluster's failures are: every one infrastructure; a function's own exception passes as it was raised."""

from __future__ import annotations

import pytest
from swefarm.cluster.errors import ClusterError, HostLostError, NoCapacityError, PolicyUnavailableError
from swefarm.cluster.hosts import host_lost, job_error

from swefarm.errors import InfrastructureError


def test_every_cluster_failure_is_infrastructure():
    for cls in (ClusterError, HostLostError, NoCapacityError, PolicyUnavailableError):
        assert issubclass(cls, InfrastructureError), cls


def test_a_function_error_comes_back_as_it_was_raised_and_rays_own_as_a_cluster_error():
    from ray.exceptions import ActorDiedError, RaySystemError, RayTaskError

    raised = RayTaskError("play_item", "Traceback ...", KeyError("grade"))
    cause = job_error(raised)
    assert isinstance(cause, KeyError) and not isinstance(cause, InfrastructureError)  # a bug stays a bug
    assert not host_lost(raised)
    ray_failed = job_error(RaySystemError("the object store is full"))
    assert isinstance(ray_failed, ClusterError) and "RaySystemError" in str(ray_failed)
    assert host_lost(ActorDiedError())  # a lost host: the scheduler re-runs or ends the work instead
    plain = ValueError("x")
    assert job_error(plain) is plain


def test_a_policy_a_host_cannot_load_says_which_and_why(tmp_path):
    from swefarm.cluster.context import HostContext

    ctx = HostContext(client=None, node_id="n", work_dir=tmp_path, pool_size=1)
    with pytest.raises(PolicyUnavailableError, match="'no-such-policy' could not be loaded"):
        ctx.policy("no-such-policy")
    assert ctx.policy("oracle") is ctx.policy("oracle")  # loaded once per spec and options
    ctx.close()
