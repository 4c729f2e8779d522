"""The ``ccsim`` commands: :mod:`ccsim.commands.common` holds the typer ``app`` and what the
commands share; each other module registers its commands on that ``app`` when imported
(``ccsim.cli`` imports them all, in the order ``--help`` lists them)."""
