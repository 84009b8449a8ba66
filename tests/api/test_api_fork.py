"""POST /v1/sessions/{id}/fork against a real farm: n new sessions that go on from the parent's state,
each grading on its own; limits and ended episodes are refused without touching the parent."""

from __future__ import annotations

import pytest
from swefarm.api.contract.errors import ConflictError, InvalidRequestError, NotFoundError, TooManyRequestsError

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASK = "fixture__calc-2"
FIX = "sed -i 's/a - b/a + b/' /testbed/src/calc/__init__.py"


def bash(command: str) -> dict:
    return {"name": "bash", "arguments": {"command": command}}


def test_a_fork_makes_sessions_that_go_on_from_the_parents_state(make_farm):
    farm = make_farm(pool_size=3, max_sessions_per_token=4)
    with farm.client() as client, farm.client(farm.tokens[1]) as stranger:
        env = client.make_env(TASK, seed=1)
        env.reset()
        env.step(bash("cd src && export STAGE=forked && echo '# wip' >> calc/__init__.py"))
        with pytest.raises(NotFoundError):
            stranger.fork_session(env.session.id, 1)  # another token's session does not exist for it
        with pytest.raises(InvalidRequestError):
            client.request("POST", f"/v1/sessions/{env.session.id}/fork", {"n": 0})
        with pytest.raises(TooManyRequestsError, match="does not fit"):
            client.fork_session(env.session.id, 4)  # 1 live + 4 > 4
        fixed, unfixed = env.fork(2)
        for sibling in (fixed, unfixed):
            record = client.session(sibling.session.id)
            assert (record.status, record.steps, record.task_id) == ("active", 1, TASK)
            obs, _, _, _, info = sibling.step(bash('pwd; echo "$STAGE"; tail -1 calc/__init__.py'))
            assert obs.splitlines() == ["/testbed/src", "forked", "# wip"]
            assert info["step"] == 2 and info["messages"][:4] == env._messages[:4]
        fixed.step(bash(FIX))
        assert fixed.step({"name": "submit", "arguments": {}})[1] == 1.0
        assert unfixed.step({"name": "submit", "arguments": {}})[1] == 0.0
        assert client.session(fixed.session.id).reward == 1.0
        with pytest.raises(ConflictError, match="only an active episode"):
            client.fork_session(fixed.session.id, 1)
        _, reward, *_ = env.step({"name": "submit", "arguments": {}})
        assert reward == 0.0  # the parent never saw a sibling's fix
        for e in (env, fixed, unfixed):
            e.close()
        assert {s.status for s in client.sessions()} == {"closed"}
