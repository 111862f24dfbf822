"""Engagement people can trust (SPEC §10): machine opens and bot clicks, by rules kept as
data (``rules.toml``) and applied by the refresh."""
