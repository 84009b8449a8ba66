"""The API server: the FastAPI app (one router per resource, bearer-token auth as a dependency), the
worker directory it forwards sessions to, the monitor, `swefarm serve`, and a farm on this machine
(`local.LocalFarm`) and its Docker image (`image`)."""
