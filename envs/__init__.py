"""Gymnasium environments for software-engineering tasks.

`import swefarm` (or `swefarm.envs`) registers `swe/<instance_id>-v0` for every task in the task store,
`swe/Task-v0` (any task, `task=` an id or a Task) and `swe/Sampler-v0` (a task
per reset from a dataset), so `gymnasium.make("swe/...")` works; see
`swefarm.envs.registration`. The env itself is `swefarm.envs.swe_env.SWEEnv`; tools live in
`swefarm.envs.tools`, tool-call formats in `swefarm.envs.formats`, the asyncio API in `swefarm.envs.aio`.
"""

from swefarm.envs.registration import VERSION, env_id, register_envs

register_envs()

__all__ = ["VERSION", "env_id", "register_envs"]
