"""Append-only rendering of an episode into token ids, with the model's chat template.

The first prompt is the template applied to the system and user messages.
After that nothing is ever re-rendered: each turn's prompt is the previous
prompt, plus the ids the model generated (verbatim, never re-tokenised), plus
the ids of what came back (the tool messages and the next generation prompt).
Only that last part is new text, and it is cut out of the template's own
rendering of a stand-in conversation, so it is exactly what the template would
put between an assistant turn and the next one.

Because earlier assistant turns are never re-rendered, a template that drops
the reasoning of earlier turns (many do) cannot drop ours: every thought the
model wrote stays in context.
"""

from __future__ import annotations

from typing import Any

_MARK = "\u2063swefarm-assistant-turn\u2063"
_STAND_IN = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
THINK_OPEN = "<think>\n"


class TemplateError(ValueError):
    """The chat template cannot render the episode's messages."""


class ChatRenderer:
    """Renders an episode's messages for one tokenizer (a transformers tokenizer with a chat template)."""

    def __init__(self, tokenizer, observation_role: str = "auto"):
        if not getattr(tokenizer, "chat_template", None):
            raise TemplateError("the tokenizer has no chat template; give a model with one (or set chat_template)")
        if observation_role not in ("auto", "tool", "user"):
            raise ValueError("observation_role is auto, tool or user")
        self.tokenizer = tokenizer
        self.observation_role = observation_role
        self.end_ids = end_of_turn_ids(tokenizer)

    # -- text ---------------------------------------------------------------------------
    def _apply(self, messages: list[dict[str, Any]], generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)

    # -- the two kinds of prompt text ----------------------------------------------------------
    def start(self, messages: list[dict[str, Any]]) -> list[int]:
        """The first prompt: the system and user messages, and the generation prompt."""
        plain = [{"role": m["role"], "content": m.get("content") or ""} for m in messages]
        return self.encode(self._apply(plain, True))

    def continuation(self, new_messages: list[dict[str, Any]], turn_closed: bool) -> list[int]:
        """What goes after the model's last completion: the end of its turn unless it wrote that itself,
        then `new_messages` (the env's tool and user messages) and the next generation prompt."""
        text = self._between(self._observations(new_messages))
        if turn_closed:
            for end in self._end_texts():
                if text.startswith(end):
                    text = text[len(end) :]
                    break
        return self.encode(text)

    def _between(self, messages: list[dict[str, Any]]) -> str:
        stand_in = [*_STAND_IN, {"role": "assistant", "content": _MARK}]
        try:
            full = self._apply(stand_in + messages, True)
        except Exception as exc:
            if any(m["role"] == "tool" for m in messages):  # the template knows no tool role: send them as user
                return self._between([{"role": "user", "content": m["content"]} for m in messages])
            raise TemplateError(f"the chat template cannot render the env's messages: {exc}") from exc
        if _MARK not in full or any(m["content"] and m["content"] not in full for m in messages):
            if any(m["role"] == "tool" for m in messages):
                return self._between([{"role": "user", "content": m["content"]} for m in messages])
            raise TemplateError("the chat template drops the env's messages")
        return full[full.index(_MARK) + len(_MARK) :]

    def _observations(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for m in messages:
            role = m["role"]
            if role == "tool" and self.observation_role == "user":
                role = "user"
            message = {"role": role, "content": m.get("content") or ""}
            if role == "tool":
                for key in ("tool_call_id", "name"):
                    if m.get(key):
                        message[key] = m[key]
            out.append(message)
        return out

    def _end_texts(self) -> list[str]:
        """The text the model's end-of-turn ids stand for, longest first."""
        texts = {self.decode([i]) for i in self.end_ids}
        return sorted((t for t in texts if t), key=len, reverse=True)


def end_of_turn_ids(tokenizer) -> set[int]:
    """Ids that end an assistant turn: the tokenizer's EOS and the template's own end marker when it is one token."""
    ids = set()
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    for token in ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>"):
        token_id = tokenizer.convert_tokens_to_ids(token)
        if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id >= 0:
            ids.add(token_id)
    return ids
