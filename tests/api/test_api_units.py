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
        def __init__(self, variant, reward, resolved=False, infra=None, status="done", steps=3):
            self.variant, self.reward, self.resolved, self.infra_error = variant, reward, resolved, infra
            self.status, self.steps = status, steps

    summary = evaluations.summarise(
        [Row("plain", 1.0, True), Row("plain", 0.0), Row("plain", 0.0, infra="SandboxDiedError: ..."),
         Row("perturbed", 0.5), Row("perturbed", 0.0), Row("perturbed", None, status="queued")]
    )  # fmt: skip
    assert (summary.score, summary.resolved_rate, summary.scored, summary.infra_errors) == (0.5, 0.5, 2, 1)
    assert (summary.perturbed_score, summary.perturbed_scored) == (0.25, 2)
    assert summary.generalisation_gap == 0.25


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


def test_serve_without_a_token_says_how_to_make_one(monkeypatch, tmp_path):
    from swefarm.cli.main import app
    from typer.testing import CliRunner

    for name in ("SWEFARM_API_TOKENS", "SWEFARM_API_TOKENS_FILE"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["serve", "--db", f"sqlite:///{tmp_path / 'x.db'}", "--port", "0"])
    assert result.exit_code == 2 and "SWEFARM_API_TOKENS" in result.output and "token_urlsafe" in result.output


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
