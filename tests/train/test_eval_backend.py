"""Who plays a learning run's evaluations: an explicit backend is honoured, "auto" follows what is installed,
and a typo fails before any work with a message naming the choices."""

from __future__ import annotations

import subprocess
import sys

import pytest
from swefarm.bench.learn import LearnPlan
from swefarm.train.evaluate import policy_spec, resolve_backend


def test_policy_spec_honours_an_explicit_backend_and_rejects_an_unknown_one():
    assert policy_spec(None, "transformers") == "transformers"
    assert policy_spec("runs/sft/model", "transformers") == "transformers:runs/sft/model"
    assert policy_spec(None) in ("vllm", "transformers")
    with pytest.raises(ValueError, match="auto, transformers, vllm"):
        policy_spec(None, "tensorrt")


def test_auto_picks_vllm_exactly_when_a_vllm_python_is_installed(monkeypatch, tmp_path):
    from swefarm.policy import vllm_backend

    monkeypatch.setattr(vllm_backend, "vllm_python", lambda python=None: str(tmp_path / "python"))
    assert resolve_backend("auto") == "vllm" and resolve_backend("vllm") == "vllm"
    assert policy_spec("runs/sft/model") == "vllm:runs/sft/model"
    assert resolve_backend("transformers") == "transformers"

    def missing(python=None):
        raise vllm_backend.VLLMUnavailableError("no Python with vLLM found: run `swefarm setup --vllm`")

    monkeypatch.setattr(vllm_backend, "vllm_python", missing)
    assert resolve_backend("auto") == "transformers"
    with pytest.raises(vllm_backend.VLLMUnavailableError, match="swefarm setup --vllm"):
        resolve_backend("vllm")  # asked for by name and missing: said at once, not after the family is built
    assert LearnPlan.quick().eval_backend == "transformers"  # CI's one-episode run never waits for a server


def test_the_cli_rejects_an_unknown_backend_before_building_anything(tmp_path):
    cmd = [sys.executable, "-m", "swefarm.cli.main", "bench", "learn", "--eval-backend", "tensorrt"]
    cmd += ["--store", str(tmp_path / "tasks.db"), "--out", str(tmp_path / "out")]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert "unknown evaluation backend 'tensorrt'" in res.stderr
    assert not (tmp_path / "tasks.db").exists() and not (tmp_path / "out").exists()
