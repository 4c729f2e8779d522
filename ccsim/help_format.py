"""Readable ``--help``: value names instead of typer's internal type tags.

Typer shows each option's Python type (``<list[str]>``, ``<int range>``, ``<bool>`` even
for a flag, ``[0<=x<=9223372036854775807]``). :class:`ReadableGroup`, the class of the
``ccsim`` app, gives every option without a ``metavar`` of its own a value name when
help is shown: nothing for a flag, ``N`` for counts, ``SEED``, ``PATH=VALUE`` for
``--set``, ``TEXT``/``NUMBER``/``PATH`` otherwise; and a range up to a huge number shows
its lower bound only. Options that name their own ``metavar`` keep it. Parsing is not
touched: only what help prints.
"""

from __future__ import annotations

from typing import Any

import typer.core

#: Value names by option name (the Python parameter's name).
NAMED = {
    "replications": "N",
    "workers": "N",
    "seed": "SEED",
    "set_": "PATH=VALUE",
    "scheduler": "ADDRESS",
    "metric": "METRIC",
    "confidence": "LEVEL",
    "freq": "DURATION",
    "fmt": "csv|parquet",
}
#: Value names by typer's type tag (``<int range>`` -> ``int range``, lists unwrapped).
TYPED = {
    "int": "INTEGER",
    "int range": "INTEGER",
    "float": "NUMBER",
    "float range": "NUMBER",
    "str": "TEXT",
    "path": "PATH",
    "file": "PATH",
    "directory": "PATH",
}
#: Above this, a range's upper bound is a technical limit, not advice: not shown.
HUGE = 2**31


def _type_tag(param: Any, ctx: Any) -> str:
    try:
        tag = str(param.display_type(ctx))
    except Exception:  # help must never fail over a cosmetic
        return ""
    tag = tag.strip("<>").strip()
    if tag.startswith("list[") and tag.endswith("]"):
        tag = tag[5:-1]
    return tag


def make_readable(param: Any, ctx: Any) -> None:
    """Give ``param`` a readable value name (see the module's docstring)."""
    if getattr(param, "param_type_name", "") != "option":
        return
    if getattr(param, "metavar", "unset") is None:
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif param.name in NAMED:
            param.metavar = NAMED[param.name]
        else:
            tag = _type_tag(param, ctx)
            if tag in TYPED:
                param.metavar = TYPED[tag]
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if isinstance(high, int) and high >= HUGE:
        text = f"x>={low}" if low is not None else None
        param._get_number_range_help_str = lambda: text


class ReadableGroup(typer.core.TyperGroup):
    """The ``ccsim`` group: commands (and the group itself) show readable value names."""

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            make_readable(param, ctx)
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            for param in command.get_params(ctx):
                make_readable(param, ctx)
        return command


__all__ = ["ReadableGroup", "make_readable"]
