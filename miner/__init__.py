"""The miner: GitHub pull requests and issues, or local git history, in; validated tasks out."""
