"""The API's parts without a server: settings, tokens, scaffold validation, the job queue's bookkeeping,
what leaves a worker, the mutation operators."""

from __future__ import annotations

import json
import math
import random

import pytest
from sqlalchemy import select
from swefarm.api.contract.errors import ConflictError, InvalidRequestError, NotFoundError, UnauthorizedError, error_for
from swefarm.api.contract.schemas import ScaffoldConfig, SessionCreate
from swefarm.api.farm import db, evaluations
from swefarm.api.farm.settings import Settings
from swefarm.api.server.auth import Authenticator, owner_id
from swefarm.api.worker.hosting import public_info
from swefarm.optimize import OPERATORS, Memory, MutationProposer, select_operators
from swefarm.optimize.memory import config_hash

TOKEN = "a-long-enough-token-1234"


def test_settings_come_from_the_environment_and_overrides_win(tmp_path):
    env = {"SWEFARM_PORT": "9100", "SWEFARM_ALLOWED_POLICIES": "oracle, empty", "SWEFARM_API_TOKENS": f"{TOKEN},x" * 1}
    settings = Settings.from_env(env, port=9200, host=None)
    assert settings.port == 9200 and settings.host == "127.0.0.1"
    assert settings.allowed_policies == ["oracle", "empty"]
    with pytest.raises(ValueError, match="shorter than 16"):
        settings.tokens()
    with pytest.raises(ValueError, match="SWEFARM_API_TOKENS"):
        Settings.from_env({}).tokens()
    tokens = tmp_path / "tokens"
    tokens.write_text(f"# farm tokens\n{TOKEN}\n\n")
    assert Settings.from_env({"SWEFARM_API_TOKENS_FILE": str(tokens)}).tokens() == [TOKEN]
    assert Settings.from_env(Settings(port=1, allowed_policies=["a", "b"]).to_env()).allowed_policies == ["a", "b"]


def test_tokens_name_owners_and_anything_else_is_refused():
    auth = Authenticator([TOKEN, TOKEN[::-1]])
    assert auth.owner(f"Bearer {TOKEN}") == owner_id(TOKEN) != auth.owner(f"bearer {TOKEN[::-1]}")
    assert TOKEN not in owner_id(TOKEN)
    for header in (None, "", TOKEN, f"Basic {TOKEN}", "Bearer", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}"):
        with pytest.raises(UnauthorizedError):
            auth.owner(header)


def test_errors_round_trip_by_name_and_status():
    assert isinstance(error_for(404, "gone", "NotFoundError"), LookupError)
    assert isinstance(error_for(409, "busy"), ConflictError)
    assert isinstance(error_for(418, "teapot"), InvalidRequestError)
    assert error_for(500, "boom").status == 500


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"system_prompt": "{workdir.__class__}"}, "unknown placeholder"),
        ({"system_prompt": "{0}"}, "unknown placeholder"),
        ({"instance_prompt": "{problem_statement"}, "not a valid template"),
        ({"tools": ["bash", "laser"]}, "unknown tool kind"),
        ({"tools": ["bash", "bash"]}, "listed twice"),
        ({"tool_names": {"bash": "run shell"}}, "identifiers"),
        ({"tool_format": "yaml"}, "tool format"),
        ({"reward": "/etc/passwd"}, "unknown reward preset"),
        ({"reward": {"weights": {"luck": 1}}}, "unknown reward component"),
        ({"perturbation": "../spec.yaml"}, "perturbation"),
        ({"sandbox": {"network": True}}, "sandbox"),
        ({"max_steps": 0}, "max_steps"),
    ],
)
def test_a_bad_scaffold_fails_when_it_is_made_not_mid_session(fields, words):
    with pytest.raises(ValueError, match=words):
        ScaffoldConfig(**fields)


def test_a_scaffold_becomes_the_env_config_of_its_episodes():
    config = ScaffoldConfig(tools=["bash", "submit"], tool_format="bash", max_steps=7, reward="partial")
    env = config.env_config(pool_size=0)
    assert (env.tools, env.tool_format, env.max_steps, env.pool_size) == (["bash", "submit"], "bash", 7, 0)
    assert env.reward.weights["fail_to_pass_fraction"] == 0.5
    assert SessionCreate(task_id="t", perturbation="system, tools").perturbation == "system, tools"


def test_what_leaves_a_worker_has_no_test_names_and_is_valid_json():
    info = {
        "grade": {"resolved": True, "fail_to_pass_passed": 1, "tests": {"tests/t.py::test_x": "passed"},
                  "log_tail": "tests/t.py::test_x PASSED", "reverted": ["conftest.py"]},
        "timing": {"step_s": math.nan},
        "messages": [{"role": "system"}, {"role": "user"}, {"role": "assistant"}],
    }  # fmt: skip
    out = public_info(info, messages_from=2)
    assert out["grade"] == {"resolved": True, "fail_to_pass_passed": 1}
    assert out["timing"]["step_s"] is None and out["messages"] == [{"role": "assistant"}]
    assert "test_x" not in json.dumps(out, allow_nan=False)


def test_a_hosted_session_sends_each_message_once_unless_asked_for_more():
    from swefarm.api.worker.host import HostedSession

    session = HostedSession("s-1", env=None, idle_timeout_s=60)
    chat = [{"role": "system"}, {"role": "user"}]
    assert session.window({"messages": chat}, None, False)["messages"] == chat  # the opening: everything
    chat += [{"role": "assistant"}, {"role": "tool"}]
    out = session.window({"messages": chat}, None, False)
    assert out["messages"] == chat[2:] and out["messages_from"] == 2  # a step: only what is new
    chat += [{"role": "assistant"}, {"role": "tool"}]
    assert session.window({"messages": chat}, None, True)["messages"] == chat  # full_history
    chat += [{"role": "assistant"}, {"role": "tool"}]
    assert session.window({"messages": chat}, 1, False)["messages"] == chat[1:]  # an explicit index wins
    chat += [{"role": "assistant"}, {"role": "tool"}]
    assert session.window({"messages": chat}, None, False)["messages_from"] == 8
    floor = HostedSession("s-2", env=None, idle_timeout_s=60)
    floor.messages_floor = 10**6  # "send me no messages" (a client that keeps its own chat)
    assert floor.window({"messages": chat}, None, False)["messages"] == []
    assert floor.window({"messages": chat + [{"role": "tool"}]}, None, False)["messages"] == []


@pytest.fixture
def database(tmp_path):
    database = db.Database(f"sqlite:///{tmp_path / 'state.db'}")
    yield database
    database.close()


def _job(database, **options) -> str:
    with database.write() as conn:
        return evaluations.create(
            conn, "owner", scaffold=None, config={}, policy="empty", policy_options={}, perturbation=None, seed=0,
            keep_trajectories=False, task_ids=["a", "b"], repeats=1, **options,
        )  # fmt: skip


def _claim(database, job: str, worker: str, attempts: int) -> int:
    with database.write() as conn:
        item = conn.execute(select(db.items).where(db.items.c.evaluation_id == job).order_by(db.items.c.id)).first()
        conn.execute(
            db.items.update()
            .where(db.items.c.id == item.id)
            .values(status="running", worker_id=worker, claim="c", attempts=attempts)
        )
    return item.id


def test_an_episode_whose_worker_is_lost_is_requeued_then_failed_with_the_reason(database):
    job = _job(database)
    item = _claim(database, job, "w-1", attempts=1)
    with database.write() as conn:
        assert evaluations.requeue_from(conn, "w-1", "worker w-1 was lost: its process is gone", 3) == [job]
    with database.read() as conn:
        row = conn.execute(select(db.items).where(db.items.c.id == item)).first()
    assert (row.status, row.worker_id) == ("queued", None)
    _claim(database, job, "w-2", attempts=3)
    with database.write() as conn:
        evaluations.requeue_from(conn, "w-2", "worker w-2 was lost: no heartbeat for 30 s", 3)
    with database.read() as conn:
        row = conn.execute(select(db.items).where(db.items.c.id == item)).first()
    assert row.status == "failed" and "lost 3 times" in row.infra_error and "no heartbeat" in row.infra_error
    with database.write() as conn:  # the other episode finishes with an infrastructure error too
        conn.execute(db.items.update().where(db.items.c.status == "queued").values(status="done", infra_error="boom"))
    assert evaluations.finalize(database, job)
    public = evaluations.public(database, "owner", job)
    assert public.status == "failed" and "no episode could be scored" in public.error
    assert any("failed" in e and "3 attempts" in e for e in public.events)
    assert public.summary.infra_errors == 2 and public.summary.score is None
    with pytest.raises(NotFoundError):
        evaluations.public(database, "someone else", job)
    with pytest.raises(ConflictError, match="already ended"):
        evaluations.cancel(database, "owner", job)


def test_the_summary_drops_infrastructure_errors_and_reports_the_gap():
    class Row:
        def __init__(self, variant, reward, resolved=False, infra=None, status="done", steps=3, task_id="t"):
            self.variant, self.reward, self.resolved, self.infra_error = variant, reward, resolved, infra
            self.status, self.steps, self.task_id = status, steps, task_id

    summary = evaluations.summarise(
        [Row("plain", 1.0, True), Row("plain", 0.0), Row("plain", 0.0, infra="SandboxDiedError: ..."),
         Row("perturbed", 0.5), Row("perturbed", 0.0), Row("perturbed", None, status="queued")]
    )  # fmt: skip
    assert (summary.score, summary.resolved_rate, summary.scored, summary.infra_errors) == (0.5, 0.5, 2, 1)
    assert (summary.perturbed_score, summary.perturbed_scored) == (0.25, 2)
    assert summary.generalisation_gap == 0.25
    assert summary.pass_at_k == {"pass@1": 0.5, "pass@2": 1.0}  # task t: 1 of 2 scored repeats resolved


def test_every_operator_gives_a_valid_scaffold_and_never_touches_the_reward():
    base = ScaffoldConfig(reward="fast").model_dump()
    rng = random.Random(0)
    for op in OPERATORS.values():
        changed = op.apply(dict(base), rng)
        if changed is None:
            continue
        config, description = changed
        assert ScaffoldConfig.model_validate(config).reward == "fast" and description
    assert {op.group for op in select_operators(["tools"])} == {"tools"}
    assert [op.name for op in select_operators(["steps_up"])] == ["steps_up"]
    with pytest.raises(ValueError, match="unknown operator"):
        select_operators(["teleport"])


def test_a_down_operator_never_raises_a_limit_nor_an_up_operator_lowers_one():
    import random

    from swefarm.optimize.mutations import OPERATORS

    rng = random.Random(0)
    config = ScaffoldConfig(max_steps=4).model_dump()
    assert OPERATORS["steps_down"].apply(config, rng) is None  # 4 * 0.5 is below the floor of 5: no "4 -> 5"
    assert OPERATORS["steps_down"].apply({**config, "max_steps": 50}, rng)[1] == "max_steps 50 -> 25"
    assert OPERATORS["steps_up"].apply({**config, "max_steps": 500}, rng) is None
    assert OPERATORS["steps_up"].apply(config, rng)[1] == "max_steps 4 -> 8"


def test_a_small_store_still_has_a_test_split_and_the_splits_do_not_overlap():
    from swefarm.api.server.tasks import split_ids
    from swefarm.envs.sources import in_split

    one = ["fixture__calc-2"]
    assert split_ids(one, "test", 0.2) == one and split_ids(one, "train", 0.2) == []
    few = [f"acme__widgets-{n}" for n in range(4)]
    test, train = split_ids(few, "test", 0.2), split_ids(few, "train", 0.2)
    assert test and sorted(test + train) == sorted(few) and not set(test) & set(train)
    many = [f"acme__widgets-{n}" for n in range(200)]  # large enough: exactly the hash split
    assert split_ids(many, "test", 0.2) == [i for i in many if in_split(i, "test", 0.2)]
    assert split_ids(many, "all", 0.2) == many


def test_the_mutation_proposer_never_repeats_what_memory_holds(tmp_path):
    memory = Memory(tmp_path)
    proposer = MutationProposer(["steps_up", "steps_down"], seed=1)
    best = ScaffoldConfig(max_steps=10).model_dump()
    seen = {config_hash(best)}
    from swefarm.optimize.memory import Entry

    memory.record(Entry(round=0, scaffold="s@1", change="-", why="-", score=0.0, best_before=None,
                        decision="baseline", config_hash=config_hash(best)))  # fmt: skip
    for number in range(1, 4):
        proposal = proposer.propose(best, memory)
        if proposal is None:
            break
        assert config_hash(proposal.config) not in seen
        seen.add(config_hash(proposal.config))
        entry = Entry(round=number, scaffold=f"s@{number + 1}", change=proposal.change, why=proposal.why, score=0.0,
                      best_before=0.0, decision="reverted", config_hash=config_hash(proposal.config))  # fmt: skip
        memory.record(entry)
    assert len(seen) == 3  # 10 -> 20 and 10 -> 5; then nothing new is left
    assert "## Round 2: reverted" in (tmp_path / "memory.md").read_text()
    assert Memory(tmp_path).entries[-1].round == 2  # the history reloads


def test_serve_refuses_a_short_token_and_says_why(monkeypatch, tmp_path):
    """(With no token at all it makes one: tests/api/test_farm_defaults.py.)"""
    from swefarm.cli.main import app
    from typer.testing import CliRunner

    monkeypatch.setenv("SWEFARM_API_TOKENS", "short")
    monkeypatch.delenv("SWEFARM_API_TOKENS_FILE", raising=False)
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--port", "0"])
    assert result.exit_code == 2 and "shorter than 16 characters" in result.output


def test_a_scaffold_declares_no_env_config_field_again():
    from swefarm.api.contract.scaffold import ScaffoldConfig
    from swefarm.envs.config import EnvConfig, Scaffold

    own = set(ScaffoldConfig.__annotations__)
    assert own == {"reward", "perturbation"}  # the rest is inherited from envs.config.Scaffold
    assert set(Scaffold.model_fields) < set(ScaffoldConfig.model_fields)
    assert set(ScaffoldConfig().env_config().model_dump()) == set(EnvConfig.model_fields)
    with pytest.raises(ValueError, match="at most 1,000,000"):
        ScaffoldConfig(max_observation_chars=2_000_000)


def test_the_farm_image_context_holds_every_package_folder(tmp_path):
    import tomllib

    from swefarm.api.server.image import ROOT, _context

    _context(tmp_path)
    folders = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"].values())
    assert folders <= {p.name for p in tmp_path.iterdir()}
    assert (tmp_path / "api" / "server" / "image.py").is_file() and (tmp_path / "pyproject.toml").is_file()


def test_an_env_failure_becomes_the_api_error_a_client_can_act_on(caplog):
    import gymnasium
    from swefarm.api.contract.errors import ApiError, UnavailableError
    from swefarm.api.worker.hosting import public_error
    from swefarm.sandbox.errors import SandboxDiedError
    from swefarm.tasks.store import TaskNotFoundError

    assert isinstance(public_error(TaskNotFoundError("no task x")), NotFoundError)
    assert isinstance(public_error(gymnasium.error.ResetNeeded("reset first")), ConflictError)
    assert isinstance(public_error(SandboxDiedError("gone")), UnavailableError)
    assert isinstance(public_error(ValueError("bad action")), InvalidRequestError)
    same = ConflictError("busy")
    assert public_error(same) is same
    bug = public_error(ZeroDivisionError("oops"))
    assert type(bug) is ApiError and bug.status == 500 and "ZeroDivisionError" in str(bug)
    assert "worker call failed" in caplog.text  # a bug is logged with its traceback


def test_the_server_takes_the_directory_it_is_handed(tmp_path):
    """`create_app(settings, directory)`: where sessions live is a seam (`swefarm serve --ray` hands its own)."""
    from fastapi.testclient import TestClient
    from swefarm.api.server.app import create_app

    made = []

    class Directory:
        def __init__(self, database, settings, metrics):
            self.swept = 0
            made.append(self)

        def alive_count(self) -> int:
            return 3

        def listing(self) -> list:
            return []

        def sweep(self) -> list[str]:
            self.swept += 1
            return []

        async def aclose(self) -> None:
            self.closed = True

    settings = Settings(api_tokens=[TOKEN], database_url=f"sqlite:///{tmp_path / 'api.db'}", local_workers=0)
    with TestClient(create_app(settings, Directory)) as client:
        assert client.get("/v1/health").json()["workers_alive"] == 3
        assert client.get("/v1/workers", headers={"authorization": f"Bearer {TOKEN}"}).json() == []
    assert len(made) == 1 and made[0].swept >= 1 and made[0].closed  # the monitor swept it; shutdown closed it
