"""A farm worker: the process that holds sessions' envs (and so their sandboxes) and runs evaluation
episodes (`runner`), behind an internal HTTP endpoint only the API calls (`app`)."""
