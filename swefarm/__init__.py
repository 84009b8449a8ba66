"""swefarm: real GitHub pull requests as Docker-sandboxed Gymnasium environments with test-based rewards.

The repository's top-level folders are this package's subpackages (`swefarm.envs`, `swefarm.sandbox`,
`swefarm.harness`, ...; a package-dir mapping in pyproject.toml), so nothing but `swefarm` is
installed at the top level. Importing it registers the Gymnasium ids (`swe/<instance_id>-v0`,
`swe/Task-v0`, `swe/Sampler-v0`); `gymnasium.make("swefarm.envs:swe/...")` works with no import.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("swefarm")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"

from swefarm import envs as _envs  # noqa: E402, F401  (registers the env ids)

__all__ = ["__version__"]
