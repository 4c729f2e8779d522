"""CLI commands defined outside ccsim.cli; each module registers itself on ``ccsim.cli.app``."""
