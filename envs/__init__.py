"""Gymnasium environments (swe/...): SWEEnv, tools and episode logic. Built in issue 4."""
