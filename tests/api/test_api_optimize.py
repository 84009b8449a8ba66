"""`swefarm optimize` against a real farm: rounds of propose -> evaluate -> keep or revert, with the memory,
the history and the best scaffold stored; a model proposer behind an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import uvicorn
import yaml
from fastapi import FastAPI
from swefarm.cli.main import app
from typer.testing import CliRunner

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TASK = "fixture__calc-2"
# The oracle needs two steps on the calc task (edit, submit): with one step and no grading on
# truncation it scores 0, so giving it more steps is a real improvement the loop must keep.
START = {"max_steps": 1, "grade_on_truncation": False, "tools": ["bash", "editor", "submit"]}


@pytest.fixture
def start_file(tmp_path):
    path = tmp_path / "cramped.yaml"
    path.write_text(yaml.safe_dump(START))
    return path


def run_cli(farm, monkeypatch, *args):
    monkeypatch.setenv("SWEFARM_API_TOKEN", farm.token)
    result = CliRunner().invoke(app, ["optimize", "--api", farm.url, *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_the_loop_keeps_an_improvement_reverts_the_rest_and_remembers_why(farm, monkeypatch, start_file, tmp_path):
    out = tmp_path / "run"
    args = ["--scaffold", str(start_file), "--policy", "oracle", "--tasks", TASK, "--rounds", "2"]
    result = run_cli(farm, monkeypatch, *args, "--operators", "steps_up", "--out", str(out))
    history = json.loads((out / "history.json").read_text())
    rounds = [(r["round"], r["scaffold"], r["decision"], r["score"]) for r in history["rounds"]]
    assert rounds == [
        (0, "cramped@1", "baseline", 0.0),
        (1, "cramped@2", "kept", 1.0),
        (2, "cramped@3", "reverted", 1.0),
    ]
    assert history["best"] == {"scaffold": "cramped@2", "score": 1.0, "round": 1}
    assert "max_steps 1 -> 2" in history["rounds"][1]["change"] and history["rounds"][1]["why"]
    memory = (out / "memory.md").read_text()
    assert "## Round 1: kept" in memory and "## Round 2: reverted" in memory and "best before: 1.000" in memory
    assert yaml.safe_load((out / "best.yaml").read_text())["max_steps"] == 2
    assert (out / "history.svg").read_text().startswith("<svg")
    assert "scaffold optimisation" in result.output and "best: cramped@2" in result.output
    with farm.client() as client:  # the farm holds the history too
        versions = client.scaffold_versions("cramped")
        assert [(v.version, v.parent) for v in versions] == [(1, None), (2, 1), (3, 2)]
        assert "why:" in versions[1].note
        assert [v.metadata["optimize"]["decision"] for v in versions] == ["baseline", "kept", "reverted"]
        assert versions[1].metadata["optimize"]["best"] is True
    shown = CliRunner().invoke(app, ["optimize", "--show", str(out)])
    assert shown.exit_code == 0 and "cramped@2" in shown.output


EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[2] / "examples" / "start.yaml"


def test_the_readmes_command_runs_on_a_small_store_and_a_rerun_resumes_never_duplicates(farm, monkeypatch, tmp_path):
    """`--tasks test` on a one-task store, the shipped example scaffold, the README's token variable
    (SWEFARM_API_TOKENS, as the farm's operator exports it); the same --out again is refused, --resume goes on."""
    out = tmp_path / "runs" / "agent"
    monkeypatch.delenv("SWEFARM_API_TOKEN", raising=False)
    monkeypatch.setenv("SWEFARM_API_TOKENS", farm.token)
    args = ["optimize", "--api", farm.url, "--scaffold", str(EXAMPLE), "--policy", "oracle", "--tasks", "test",
            "--operators", "limits", "--out", str(out)]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--rounds", "1"])
    assert first.exit_code == 0, first.output + repr(first.exception)
    again = CliRunner().invoke(app, [*args, "--rounds", "1"])
    said = " ".join(again.output.split())  # rich wraps at the terminal's width, where the path's length falls
    assert again.exit_code == 1 and "already holds a run" in said and "--resume" in said, again.output
    resumed = CliRunner().invoke(app, [*args, "--rounds", "1", "--resume"])
    assert resumed.exit_code == 0, resumed.output + repr(resumed.exception)
    rounds = json.loads((out / "history.json").read_text())["rounds"]
    assert [r["round"] for r in rounds] == [0, 1, 2] and rounds[0]["decision"] == "baseline"
    with farm.client() as client:
        versions = client.scaffold_versions("start")
        assert len(versions) == 3  # the start and one per round: nothing registered twice
        assert versions[0].metadata["optimize"]["score"] == 1.0


def test_a_failed_run_registers_no_version(farm, monkeypatch, tmp_path):
    monkeypatch.setenv("SWEFARM_API_TOKEN", farm.token)
    args = ["optimize", "--api", farm.url, "--scaffold", str(EXAMPLE), "--name", "never", "--policy", "oracle",
            "--tasks", "train", "--rounds", "1", "--out", str(tmp_path / "failed")]  # fmt: skip
    result = CliRunner().invoke(app, args)  # one task in the store: it is the test split, train is empty
    assert result.exit_code == 1 and "no valid task matches" in result.output
    with farm.client() as client:
        assert "never" not in {s.name for s in client.scaffolds()}


class ScriptedModel:
    """An OpenAI-compatible chat endpoint on 127.0.0.1 that always proposes the same change."""

    def __init__(self, answer: dict):
        self.prompts: list[list[dict]] = []
        api = FastAPI()

        @api.post("/v1/chat/completions")
        def chat(body: dict):
            self.prompts.append(body["messages"])
            content = f"<think>more room</think>{json.dumps(answer)}"
            return {"choices": [{"message": {"role": "assistant", "content": content}}]}

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
        self.server = uvicorn.Server(uvicorn.Config(api, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)

    def __enter__(self):
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def test_a_model_proposes_and_the_operators_step_in_when_its_answer_is_stale(farm, monkeypatch, start_file, tmp_path):
    out = tmp_path / "model-run"
    answer = {"change": "allow three steps", "why": "the agent needs to edit and submit", "config": {"max_steps": 3}}
    with ScriptedModel(answer) as model:
        args = ["--scaffold", str(start_file), "--name", "modelled", "--policy", "oracle", "--tasks", TASK]
        run_cli(farm, monkeypatch, *args, "--rounds", "2", "--proposer", f"openai:{model.url}#scripted",
                "--operators", "limits", "--out", str(out))  # fmt: skip
    rounds = json.loads((out / "history.json").read_text())["rounds"]
    assert rounds[1]["change"] == "model: allow three steps" and rounds[1]["decision"] == "kept"
    assert rounds[2]["change"].split(":")[0] in {"steps_up", "steps_down", "timeout_up", "timeout_down",
                                                  "observation_up", "observation_down"}  # fmt: skip
    assert "already tried" in rounds[2]["why"] and "fell back to an operator" in rounds[2]["why"]
    assert "max_steps" in model.prompts[0][1]["content"] and "Round 0: baseline" in model.prompts[0][1]["content"]
    assert "reward" not in json.loads(model.prompts[0][1]["content"].split("\n\n")[0].split(":\n", 1)[1])
