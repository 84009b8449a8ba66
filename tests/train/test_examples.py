"""The example configs load into the real trainers' own config types and point at our classes."""

from __future__ import annotations

from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "train" / "examples"


def test_trl_example_is_a_grpo_config_and_a_rollout(tmp_path):
    from swefarm.train.trl_adapter import SwefarmRollout
    from trl import GRPOConfig

    data = yaml.safe_load((EXAMPLES / "trl_grpo.yaml").read_text())
    config = GRPOConfig(output_dir=str(tmp_path), use_cpu=True, **data["grpo"])
    assert config.num_generations == 4 and config.beta == 0.0 and not config.gradient_checkpointing
    rollout = SwefarmRollout(**data["rollout"])
    assert rollout.env_config["tools"] == ["editor", "submit"]


def test_verl_examples_name_our_agent_loop_and_fit_verls_trainer_config():
    import hydra.utils
    from omegaconf import OmegaConf
    from swefarm.train.verl_adapter import SwefarmAgentLoop
    from verl.experimental.agent_loop.agent_loop import AgentLoopBase

    (entry,) = yaml.safe_load((EXAMPLES / "verl_agent_loops.yaml").read_text())
    assert hydra.utils.get_class(entry["_target_"]) is SwefarmAgentLoop
    assert issubclass(SwefarmAgentLoop, AgentLoopBase)
    import verl.trainer.config as verl_config

    base = OmegaConf.load(Path(verl_config.__file__).parent / "_generated_ppo_trainer.yaml")
    OmegaConf.set_struct(base, True)  # an unknown key would raise
    merged = OmegaConf.merge(base, OmegaConf.load(EXAMPLES / "verl_grpo.yaml"))
    assert merged.actor_rollout_ref.rollout.agent.default_agent_loop == "swefarm"
    agent_loops = Path(merged.actor_rollout_ref.rollout.agent.agent_loop_config_path)
    assert (EXAMPLES.parents[1] / agent_loops).exists()


def test_skyrl_example_configures_our_env():
    data = yaml.safe_load((EXAMPLES / "skyrl_swefarm.yaml").read_text())
    name = data["environment"]["env_class"]
    from swefarm.train.skyrl_adapter import ENV_NAME

    assert name == ENV_NAME and set(data["environment"]["skyrl_gym"][name]) == {"store", "env"}
