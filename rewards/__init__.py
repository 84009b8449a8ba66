"""Reward components (tests, partial credit, wall-clock speed, costs) and RewardSpec."""
