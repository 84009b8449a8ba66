"""REST API (FastAPI) for tasks, sessions, scaffolds and evaluation jobs."""
