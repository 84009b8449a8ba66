"""The REST API of a swefarm env farm (FastAPI): its server, its workers, and the contract clients share.

- `contract/`: what the server, the workers and every client share: errors, request and response
  schemas, `ScaffoldConfig`.
- `client.py`: `SwefarmClient`, and `RemoteEnv`, a Gymnasium env that plays over REST.
- `server/`: the FastAPI app (`create_app`), bearer-token auth as a dependency, the worker directory,
  the monitor, `swefarm serve`, and the farm's Docker image (`server.image`).
- `local.py`: `LocalFarm`, a farm on this machine (`swefarm serve` with its workers) and a client for it.
- `worker/`: a worker process holding sessions' sandboxes and running evaluation episodes (`swefarm worker`).
- `farm/`: what the server and the workers share: settings, the database, the evaluation queue.

The scaffold self-optimisation loop is a client of this API and lives in `swefarm.optimize`.

Resources: /v1/tasks, /v1/sessions, /v1/scaffolds, /v1/evaluations, /v1/workers, /v1/health, /metrics;
OpenAPI at /openapi.json and /docs. Every endpoint but health (and the OpenAPI document) needs a
bearer token; sessions, scaffolds and jobs belong to the token that made them.
"""
