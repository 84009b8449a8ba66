"""Evaluation jobs on a real farm: progress, per-task results, trajectories, the aggregate score and the
generalisation gap; and a server killed mid-job that resumes it after a restart."""

from __future__ import annotations

import json
import os
import signal

import pytest
from api_helpers import sandboxes_of, wait_for
from swefarm.api.contract.errors import ForbiddenError, InvalidRequestError, NotFoundError

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASK = "fixture__calc-2"


def test_an_evaluation_job_reports_progress_results_score_and_gap(make_farm, valid_calc_task):
    farm = make_farm(worker_eval_slots=2)
    with farm.client() as client:
        client.create_scaffold("evaluated", {"max_steps": 10})
        job = client.evaluate("oracle", scaffold="evaluated", tasks=[TASK], repeats=2, perturbation="system,tools")
        assert (job.status, job.total, job.done, job.scaffold) == ("queued", 4, 0, "evaluated@1")
        seen = []
        job = client.wait(job.id, timeout=600, poll_s=0.3, progress=lambda j: seen.append(j.done))
        assert job.status == "done", job
        assert seen == sorted(seen) and seen[-1] == 4 and job.progress == 1.0
        assert job.summary.score == 1.0 and job.summary.resolved_rate == 1.0 and job.summary.scored == 2
        assert job.summary.perturbed_score == 1.0 and job.summary.generalisation_gap == 0.0
        assert job.summary.infra_errors == 0 and job.summary.mean_steps >= 2
        assert any("started on worker" in e for e in job.events) and "done: score 1.000" in job.events[-1]
        results = client.results(job.id)
        assert sorted((r.variant, r.repeat) for r in results) == [
            ("perturbed", 0), ("perturbed", 1), ("plain", 0), ("plain", 1)
        ]  # fmt: skip
        for r in results:
            assert (r.task_id, r.status, r.reward, r.resolved) == (TASK, "done", 1.0, True)
            assert r.reward_components == {"resolved": 1.0} and r.timing["env_s"] > 0
        perturbed = next(r for r in results if r.variant == "perturbed")
        assert [p["family"] for p in perturbed.perturbation] == ["system", "tools"]
        trajectory = client.trajectory(job.id, results[0].id)
        assert trajectory.messages[0]["role"] == "system" and trajectory.actions and trajectory.reward == 1.0
        assert "test_add" not in json.dumps(trajectory.model_dump())
        assert [j.id for j in client.evaluations()] == [job.id]
        with farm.client(farm.tokens[1]) as other:
            with pytest.raises(NotFoundError):
                other.evaluation(job.id)
            with pytest.raises(NotFoundError):
                other.trajectory(job.id, results[0].id)


def test_an_empty_policy_scores_zero_and_bad_jobs_are_refused(farm):
    with farm.client() as client:
        job = client.wait(client.evaluate("empty", tasks=[TASK]).id, timeout=300, poll_s=0.3)
        assert (job.status, job.summary.score, job.summary.resolved_rate) == ("done", 0.0, 0.0)
        with pytest.raises(ForbiddenError, match="not allowed"):
            client.evaluate("openai:http://example.invalid/v1", tasks=[TASK])
        with pytest.raises(InvalidRequestError, match="unknown policy"):
            client.evaluate("telepathy", tasks=[TASK])
        with pytest.raises(InvalidRequestError, match="no such task"):
            client.evaluate("empty", tasks=["nope__nope-1"])
        with pytest.raises(InvalidRequestError, match="no valid task"):
            client.evaluate("empty", repo="nobody/nothing")


def test_a_job_can_be_cancelled(farm):
    with farm.client() as client:
        job = client.evaluate("oracle", tasks=[TASK], repeats=20)
        cancelled = client.cancel(job.id)
        job = client.wait(job.id, timeout=300, poll_s=0.3)
        assert job.status == "cancelled" == cancelled.status
        assert any(r.status == "cancelled" for r in client.results(job.id))


def test_a_server_killed_mid_evaluation_resumes_the_job_after_a_restart(make_farm, docker_client):
    farm = make_farm(worker_eval_slots=1)
    with farm.client() as client:
        job = client.evaluate("oracle", tasks=[TASK], repeats=6)

        def one_done_one_running():
            statuses = [r.status for r in client.results(job.id)]
            return "done" in statuses and "running" in statuses

        wait_for(one_done_one_running, timeout=300, what="an episode done and the next one running")
        before = client.evaluation(job.id)
        pids = farm.worker_pids()
    assert before.done < before.total, "the job finished before the server could be killed"
    farm.seen_pids.update(pids)
    os.killpg(farm.proc.pid, signal.SIGKILL)  # the server and its worker die at once, as in a crash
    farm.proc.wait()
    farm.start()  # the same database: the restarted server finds the job and the dead worker
    farm.seen_pids.update(farm.worker_pids())
    with farm.client() as client:
        job = client.wait(job.id, timeout=600, poll_s=0.3)
        assert job.status == "done" and job.done == job.total == 6, job
        assert job.summary.score == 1.0 and job.summary.scored == 6
        assert any("requeued" in e and "was lost" in e for e in job.events), job.events
        results = client.results(job.id)
        assert all(r.status == "done" and r.reward == 1.0 for r in results)
        assert max(r.attempts for r in results) == 2  # the interrupted episode ran again
        dead = [w for w in client.workers() if w.pid in pids]
        assert dead and all(w.status == "dead" for w in dead)
    wait_for(lambda: not sandboxes_of(docker_client, pids), what="the killed worker's sandboxes to be reaped")
