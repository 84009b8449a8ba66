"""The environment image of a JavaScript/TypeScript task: a Node base, the project's dependencies installed.

`swefarm/base:nodeNN` (sandbox/node_bases.py) -> the repository at the environment-setup commit in
/testbed with its `node_modules` installed by the recipe's commands (harness/recipe_js.py) over the
host network and the host's CA bundle (NODE_EXTRA_CA_CERTS) -> the task layer, made the same way as
for Python (harness/images.py): what the install made is kept beside the base-commit snapshot and
ignored by git, so an agent's diff never carries `node_modules`. The package managers' caches are
removed; the runner's own command is checked to exist.
"""

from __future__ import annotations

import json
import shlex

from swefarm.tasks.models import Environment

STEP = "js-recipe"


def js_install_script(env: Environment, marker: str) -> str:
    """The bash script that installs the project and checks its runner (`marker` names the step that worked)."""
    lines = ["set -euo pipefail", "cd /testbed"]
    lines += [f"echo {shlex.quote(f'== step {STEP}: {c}')} && {c}" for c in env.install]
    if env.log_parser in ("jest", "vitest", "mocha"):
        binary = f"node_modules/.bin/{env.log_parser}"
        lines.append(f"test -x {binary} || {{ echo 'error: {binary} is missing after the install' >&2; exit 1; }}")
    lines += [
        "rm -rf /root/.npm /root/.cache /usr/local/share/.cache /root/.local/share/pnpm",
        f"echo '{marker} {STEP}'",
    ]
    return "\n".join(lines) + "\n"


def js_env_dockerfile(env: Environment, base: str) -> str:
    env_lines = "".join(f"ENV {k}={json.dumps(v)}\n" for k, v in sorted(env.env_vars.items()))
    return f"""FROM {base}
COPY ca.crt /etc/swefarm/ca.crt
ENV NODE_EXTRA_CA_CERTS=/etc/swefarm/ca.crt npm_config_update_notifier=false npm_config_fund=false \\
    npm_config_nodedir=/usr \\
    PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
{env_lines}COPY repo /testbed
COPY tracked.txt /opt/swefarm/env-tracked.txt
COPY install.sh /opt/swefarm/install.sh
WORKDIR /testbed
RUN bash /opt/swefarm/install.sh
"""
