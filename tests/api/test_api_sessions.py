"""Sessions over REST against a real farm: the oracle to reward 1, isolation between tokens, what the
agent may see, expiry, and a worker killed mid-episode."""

from __future__ import annotations

import json
import signal

import pytest
from api_helpers import sandboxes_of, wait_for
from swefarm.api.contract.errors import ConflictError, InvalidRequestError, NotFoundError
from swefarm.policy.episode import play
from swefarm.policy.scripted import EmptyPolicy, OraclePolicy

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASK = "fixture__calc-2"


def bash(command: str) -> dict:
    return {"name": "bash", "arguments": {"command": command}}


def test_the_oracle_reaches_reward_one_over_rest_and_a_reset_starts_a_new_episode(farm, valid_calc_task):
    with farm.client() as client:
        env = client.make_env(TASK, seed=3)
        episode = play(env, OraclePolicy(valid_calc_task.patch))
        assert episode.terminated and not episode.truncated
        assert episode.reward == 1.0
        assert episode.info["reward_components"] == {"resolved": 1.0}
        assert episode.info["grade"]["fail_to_pass_passed"] == len(valid_calc_task.FAIL_TO_PASS)
        roles = [m["role"] for m in episode.info["messages"]]
        assert roles[:2] == ["system", "user"] and roles.count("assistant") == episode.steps
        session = client.session(env.session.id)
        assert (session.status, session.steps, session.reward, session.episodes) == ("ended", episode.steps, 1.0, 1)
        again = play(env, EmptyPolicy())  # reset() on an ended session: a new episode in the same session
        assert again.terminated and again.reward == 0.0
        assert client.session(env.session.id).episodes == 2
        session_id = env.session.id
        env.close()
        assert client.session(session_id).status == "closed"
        with pytest.raises(ConflictError, match="closed"):
            client.step(session_id, bash("true"))


def test_the_agent_never_sees_the_patch_the_tests_or_their_names(farm, valid_calc_task):
    with farm.client() as client:
        listed = client.tasks(status="valid")
        assert [t.instance_id for t in listed.items] == [TASK] and listed.total == 1
        raw = client.request("GET", f"/v1/tasks/{TASK}")
        assert raw["fail_to_pass_count"] == len(valid_calc_task.FAIL_TO_PASS)
        for hidden in ("patch", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS", "environment", "provenance"):
            assert hidden not in raw
        env = client.make_env(TASK)
        obs, info = env.reset()
        oracle = OraclePolicy(valid_calc_task.patch)
        oracle.begin(obs, info)
        while True:
            obs, reward, terminated, truncated, info = env.step(oracle.act(obs, info))
            if terminated or truncated:
                break
        env.close()
        assert reward == 1.0
        text = json.dumps(info)
        assert "tests" not in info["grade"] and "log_tail" not in info["grade"]
        assert "test_add" not in text and valid_calc_task.test_patch not in text
        assert "test_add" not in json.dumps(raw)


def test_a_session_belongs_to_its_token(farm):
    with farm.client() as mine, farm.client(farm.tokens[1]) as theirs:
        started = mine.start_session(TASK)
        sid = started.session.id
        try:
            for call in (
                lambda: theirs.session(sid),
                lambda: theirs.step(sid, bash("echo hi")),
                lambda: theirs.reset_session(sid),
                lambda: theirs.close_session(sid),
            ):
                with pytest.raises(NotFoundError, match=f"no session {sid}"):
                    call()
            assert sid not in [s.id for s in theirs.sessions()]
            assert mine.step(sid, bash("echo still mine")).observation.strip() == "still mine"
        finally:
            mine.close_session(sid)


def test_malformed_actions_get_an_explanation_and_the_session_lives_on(farm):
    with farm.client() as client:
        sid = client.start_session(TASK, config={"max_steps": 20}).session.id
        try:
            for action in ("no call here", {"weird": True}, [1, 2], {"name": "bash", "arguments": "{bad"}, "\ud800"):
                result = client.step(sid, action)
                assert result.observation and not (result.terminated or result.truncated)
                assert any(r["error"] for r in result.info["tool_results"])
            assert "alive" in client.step(sid, bash("echo alive")).observation
        finally:
            client.close_session(sid)


def test_only_new_messages_travel_and_the_client_rebuilds_the_chat(farm):
    """A step's answer carries the messages the client has not had yet (not the whole chat again), the whole
    chat on request, or the messages from an index; `messages_from` given at creation holds for later steps."""
    with farm.client() as client:
        env = client.make_env(TASK)
        env.reset()
        env.step(bash("echo one"))
        obs, _, _, _, info = env.step(bash("echo two"))
        sid = env.session.id

        def raw(**body):
            return client.request("POST", f"/v1/sessions/{sid}/step", {"action": bash("echo more"), **body})

        new = raw()  # by default: only what is new since the last answer
        full = raw(full_history=True)
        delta = raw(messages_from=8)
        after = raw()
        env.close()
        assert [m["role"] for m in info["messages"]] == ["system", "user", "assistant", "tool", "assistant", "tool"]
        assert [m["role"] for m in new["info"]["messages"]] == ["assistant", "tool"] and new["info"][
            "messages_from"
        ] == 6
        assert len(full["info"]["messages"]) == 10 and full["info"]["messages_from"] == 0
        assert (
            full["info"]["messages"][:6] == info["messages"]
            and full["info"]["messages"][6:8] == new["info"]["messages"]
        )
        assert [m["role"] for m in delta["info"]["messages"]] == ["assistant", "tool"] * 2
        assert delta["info"]["messages_from"] == 8
        assert after["info"]["messages_from"] == 12 and len(after["info"]["messages"]) == 2

        # messages_from at creation: the opening messages are skipped, and so is everything before it later on
        started = client.start_session(TASK, messages_from=3)
        try:
            assert started.info["messages"] == [] and started.info["messages_from"] == 3
            first = client.step(started.session.id, bash("echo a"))  # messages 2 and 3: only 3 is sent
            assert [m["role"] for m in first.info["messages"]] == ["tool"] and first.info["messages_from"] == 3
            second = client.step(started.session.id, bash("echo b"))
            assert [m["role"] for m in second.info["messages"]] == ["assistant", "tool"]
            assert second.info["messages_from"] == 4
        finally:
            client.close_session(started.session.id)


def test_a_registered_scaffold_drives_the_session(farm, valid_calc_task):
    with farm.client() as client:
        v1 = client.create_scaffold("bash-only", {"tools": ["bash", "submit"], "tool_format": "bash"}, note="first")
        v2 = client.create_scaffold("bash-only", {**v1.config.model_dump(), "max_steps": 7}, parent=1, note="fewer")
        assert (v1.version, v2.version, v2.parent) == (1, 2, 1)
        with farm.client(farm.tokens[1]) as other, pytest.raises(NotFoundError):
            other.scaffold("bash-only")
        env = client.make_env(TASK, scaffold="bash-only@1")
        obs, info = env.reset()
        assert info["tool_format"] == "bash"
        assert [s["function"]["name"] for s in info["tools"]] == ["bash", "submit"]
        env.close()
        episode = play(client.make_env(TASK, scaffold="bash-only"), OraclePolicy(valid_calc_task.patch))
        assert episode.reward == 1.0
        assert client.sessions(status="ended")[0].scaffold == "bash-only@2"
        client.close_session(client.sessions(status="ended")[0].id)
        with pytest.raises(NotFoundError):
            client.start_session(TASK, scaffold="bash-only@9")
        with pytest.raises(NotFoundError, match="no task"):
            client.start_session("nope__nope-1")
        with pytest.raises(InvalidRequestError, match="limits"):
            client.start_session(TASK, config={"max_steps": 100_000})


def test_a_perturbed_session_records_what_was_varied(farm, valid_calc_task):
    with farm.client() as client:
        env = client.make_env(TASK, perturbation="system,tools", seed=5)
        episode = play(env, OraclePolicy(valid_calc_task.patch))
        env.close()
        assert episode.reward == 1.0
        families = [record["family"] for record in episode.info["perturbation"]]
        assert families == ["system", "tools"]
        with pytest.raises(InvalidRequestError, match="perturbation"):
            client.start_session(TASK, perturbation="/etc/passwd")
        with pytest.raises(InvalidRequestError, match="perturbation"):
            client.start_session(TASK, perturbation="no_such_family")


def test_an_idle_session_expires_and_its_sandbox_is_removed(farm, docker_client):
    with farm.client() as client:
        started = client.start_session(TASK, idle_timeout_s=1.5)
        sid = started.session.id
        assert client.step(sid, bash("echo busy")).observation.strip() == "busy"
        session = wait_for(lambda: (s := client.session(sid)).status == "expired" and s, what="the session to expire")
        assert "idle" in session.error
        wait_for(lambda: not sandboxes_of(docker_client, farm.seen_pids), what="its sandboxes to be removed")
        with pytest.raises(ConflictError, match="expired"):
            client.step(sid, bash("true"))


def test_metrics_and_the_workers_list(farm):
    with farm.client() as client:
        text = client.metrics()
        assert "swefarm_http_requests_total" in text and 'route="/v1/sessions/{session_id}/step"' in text
        assert "swefarm_session_step_seconds_bucket" in text and 'swefarm_workers{status="alive"} 1.0' in text
        workers = client.workers()
        assert len(workers) == 1 and workers[0].status == "alive"


def test_a_worker_killed_mid_episode_fails_the_session_and_its_sandboxes_are_reaped(make_farm, docker_client):
    farm = make_farm(workers=1)
    with farm.client() as client:
        sid = client.start_session(TASK).session.id
        client.step(sid, bash("echo working"))
        (pid,) = farm.worker_pids()
        farm.seen_pids.add(pid)
        assert sandboxes_of(docker_client, [pid])  # the session's sandbox (and the warm pool)
        import os

        os.kill(pid, signal.SIGKILL)
        result = client.step(sid, bash("echo anyone there"))
        assert result.truncated and not result.terminated and result.reward == 0.0
        assert "lost mid-episode" in result.info["infra_error"]
        session = client.session(sid)
        assert session.status == "failed" and "lost" in session.error
        again = client.step(sid, bash("true"))  # the episode stays an infra error, never a scored step
        assert again.truncated and not again.terminated and again.info["infra_error"] == session.error
        with pytest.raises(ConflictError, match="failed"):
            client.reset_session(sid)
        wait_for(lambda: not sandboxes_of(docker_client, [pid]), what="the dead worker's sandboxes to be reaped")
        dead = [w for w in client.workers() if w.pid == pid]
        assert dead[0].status == "dead" and "gone" in dead[0].dead_reason
        # the server started a fresh worker: the farm serves again
        wait_for(lambda: any(w.status == "alive" for w in client.workers()), what="a new worker")
        farm.seen_pids.update(farm.worker_pids())
        fresh = client.start_session(TASK)
        assert client.step(fresh.session.id, bash("echo back")).observation.strip() == "back"
        client.close_session(fresh.session.id)
