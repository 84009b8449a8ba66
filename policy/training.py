"""From trajectories to a training batch: what an RL trainer (TRL, verl, OpenRLHF style) needs.

    from swefarm.policy.trajectory import read_jsonl
    from swefarm.policy.training import to_batch, token_logprobs, ppo_loss

    trajectories = [t for t in read_jsonl("runs/x/trajectories.jsonl") if t.token_ids_exact]
    batch = to_batch(trajectories, pad_id=tokenizer.pad_token_id)
    new = token_logprobs(model, batch["input_ids"], batch["attention_mask"], sampling_temperature(trajectories))
    loss = ppo_loss(new, batch["old_logprobs"], batch["advantages"], batch["loss_mask"])
    loss.backward(); optimizer.step()

Each episode is one sequence (every turn's context is a prefix of it), so one
forward pass scores all its turns; `loss_mask` keeps the loss on the model's
own tokens, never on tool output or the chat template. Advantages are the
episode reward minus the mean reward of the episodes on the same task (a
GRPO-style group baseline), spread over the episode's model tokens.
"""

from __future__ import annotations

from collections import defaultdict


def to_batch(trajectories, pad_id: int, device: str = "cpu") -> dict:
    """Right-padded tensors (B, T): input_ids, attention_mask, loss_mask, old_logprobs, advantages; and rewards (B)."""
    import torch

    usable = [t for t in trajectories if t.token_ids and t.token_ids_exact]
    if not usable:
        raise ValueError("no trajectory with exact token ids to train on")
    by_task = defaultdict(list)
    for t in usable:
        by_task[t.task].append(t.reward)
    baseline = {task: sum(r) / len(r) for task, r in by_task.items()}
    width = max(len(t.token_ids) for t in usable)
    shape = (len(usable), width)
    batch = {
        "input_ids": torch.full(shape, pad_id, dtype=torch.long),
        "attention_mask": torch.zeros(shape, dtype=torch.long),
        "loss_mask": torch.zeros(shape, dtype=torch.float32),
        "old_logprobs": torch.zeros(shape, dtype=torch.float32),
        "advantages": torch.zeros(shape, dtype=torch.float32),
        "rewards": torch.tensor([t.reward for t in usable], dtype=torch.float32),
    }
    for row, t in enumerate(usable):
        n = len(t.token_ids)
        batch["input_ids"][row, :n] = torch.tensor(t.token_ids)
        batch["attention_mask"][row, :n] = 1
        mask = torch.tensor(t.loss_mask, dtype=torch.float32)
        batch["loss_mask"][row, :n] = mask
        batch["old_logprobs"][row, :n] = torch.tensor(t.logprobs, dtype=torch.float32)
        batch["advantages"][row, :n] = (t.reward - baseline[t.task]) * mask
    return {k: v.to(device) for k, v in batch.items()}


def token_logprobs(model, input_ids, attention_mask, temperature: float = 1.0):
    """log p(token_i | tokens_<i) for every position (position 0 gets 0): aligned with `old_logprobs`.

    `temperature` scales the logits as the sampler did: the transformers backend records the logprob
    of each sampled id under the distribution it sampled from (temperature applied), so score with
    the trajectories' own `sampling["temperature"]` (see `sampling_temperature`) or the ratio is not 1
    at step 0.
    """
    import torch

    if temperature <= 0:
        raise ValueError("temperature must be > 0 (greedy turns have no distribution to score: use 1.0)")
    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits.float() / temperature
    logp = torch.log_softmax(logits[:, :-1], dim=-1).gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    return torch.cat([torch.zeros_like(logp[:, :1]), logp], dim=1)


def sampling_temperature(trajectories) -> float:
    """The temperature the trajectories were sampled at (one for all; 1.0 for greedy ones); ValueError if mixed."""
    temps = {float(t.sampling.get("temperature", 1.0)) or 1.0 for t in trajectories}
    if len(temps) != 1:
        raise ValueError(f"trajectories sampled at several temperatures {sorted(temps)}: batch them apart")
    return temps.pop()


def ppo_loss(new_logprobs, old_logprobs, advantages, loss_mask, clip: float = 0.2):
    """The clipped surrogate objective, averaged over the model's tokens."""
    import torch

    ratio = torch.exp(new_logprobs - old_logprobs)
    surrogate = torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - clip, 1 + clip) * advantages)
    return -(surrogate * loss_mask).sum() / loss_mask.sum().clamp(min=1)
