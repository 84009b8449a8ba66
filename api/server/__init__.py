"""The API server: the FastAPI app (one router per resource, bearer-token auth as a dependency), the
worker directory it forwards sessions to, the monitor, `swefarm serve`, and the farm's Docker image (`image`)."""
