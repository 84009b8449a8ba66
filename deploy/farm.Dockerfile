# The swefarm farm image: the REST API (`swefarm serve`) and the workers (`swefarm worker`).
# Built by `swefarm farm build` (which adds the host's CA bundle, for networks behind a TLS proxy)
# or by `docker compose build` from the repository root.
ARG BASE_IMAGE=swefarm/base:py3.11
FROM ${BASE_IMAGE}
USER root
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    PATH=/opt/swefarm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# deploy/farm-ca.crt, when the build context has one, replaces the image's CA bundle
COPY deploy/farm.Dockerfile deploy/farm-ca.cr[t] /opt/swefarm-build/
RUN if [ -f /opt/swefarm-build/farm-ca.crt ]; then cp /opt/swefarm-build/farm-ca.crt /etc/ssl/certs/ca-certificates.crt; fi \
 && python3 -m venv /opt/swefarm
# dependencies first (this layer is reused while pyproject.toml and the requirements stay the same)
COPY pyproject.toml deploy/farm-requirements.txt /opt/swefarm-deps/
RUN python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('/opt/swefarm-deps/pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /opt/swefarm-deps/project-requirements.txt \
 && pip install -q -r /opt/swefarm-deps/farm-requirements.txt -r /opt/swefarm-deps/project-requirements.txt
COPY . /opt/swefarm-src/
RUN pip install -q --no-deps --force-reinstall /opt/swefarm-src && rm -rf /opt/swefarm-src /opt/swefarm-deps \
 && swefarm --help >/dev/null
WORKDIR /tmp
CMD ["swefarm", "serve"]
