"""The `swefarm` command line."""
