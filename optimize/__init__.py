"""Scaffold self-optimisation over REST: evaluate, propose a change, evaluate, keep or revert, remember why.

    from swefarm.optimize import optimize, MutationProposer, Memory
    result = optimize(client, "agent", config, policy="openai:http://127.0.0.1:8000/v1", tasks=Tasks(split="test"),
                      rounds=10, proposer=MutationProposer(seed=0), memory=Memory("runs/agent"))

Everything goes through `api.client`, so the loop runs the same against a farm on this machine or
a remote one. The reward spec is the objective and is never mutated.
"""

from swefarm.optimize.loop import Round, Tasks, optimize
from swefarm.optimize.memory import Memory
from swefarm.optimize.mutations import OPERATORS, select_operators
from swefarm.optimize.proposers import ModelProposer, MutationProposer, Proposal

__all__ = [
    "OPERATORS",
    "Memory",
    "ModelProposer",
    "MutationProposer",
    "Proposal",
    "Round",
    "Tasks",
    "optimize",
    "select_operators",
]
