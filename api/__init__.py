"""The REST API of a swefarm env farm (FastAPI), its workers, its Python client and the optimisation loop.

- `swefarm.api.app.create_app(settings)`: the API; `swefarm.api.server.serve` runs it with local workers
  (`swefarm serve`).
- `swefarm.api.worker`: a worker process holding sessions' sandboxes and running evaluation episodes (`swefarm worker`).
- `swefarm.api.client.SwefarmClient` / `RemoteEnv`: the client, and a Gymnasium env that plays over REST.
- `swefarm.api.optimize`: scaffold self-optimisation over REST (`swefarm optimize`).
- `swefarm.api.farm`: the farm's Docker image for `docker compose up` (compose.yaml).

Resources: /v1/tasks, /v1/sessions, /v1/scaffolds, /v1/evaluations, /v1/workers, /v1/health, /metrics;
OpenAPI at /openapi.json and /docs. Every endpoint but health (and the OpenAPI document) needs a
bearer token; sessions, scaffolds and jobs belong to the token that made them.
"""
