"""Read scenario files, apply ``--set`` overrides, and turn every failure into a
:class:`ScenarioError` whose lines name the field path (``directories.sales.patience.mean:
must be positive``). Nothing here prints; the CLI decides how to show the error.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ccsim.scenario.schema import Scenario


class ScenarioError(ValueError):
    """A scenario could not be read or validated; ``problems`` is one line per fault."""

    def __init__(self, problems: list[str], source: str = "scenario") -> None:
        self.problems = problems
        self.source = source
        super().__init__(f"{source}: " + "; ".join(problems))

    def __str__(self) -> str:
        lines = [f"{self.source} is not a valid scenario:"]
        lines += [f"  - {problem}" for problem in self.problems]
        return "\n".join(lines)


def load_scenario(
    path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()
) -> Scenario:
    """Read a YAML scenario, apply overrides (``"a.b=value"`` strings or a mapping)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ScenarioError([f"cannot read the file: {error.strerror}"], str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError([f"malformed YAML: {where}{problem}"], str(path)) from None
    if not isinstance(data, dict):
        raise ScenarioError(["the file must hold a mapping of keys (name, directories, ...)"],
                            str(path))
    data = apply_overrides(data, overrides, str(path))
    return scenario_from_dict(data, base_dir=path.parent, source=str(path))


def scenario_from_dict(
    data: Mapping[str, Any], base_dir: str | Path = ".", source: str = "scenario"
) -> Scenario:
    """Validate a plain mapping (as read from YAML) into a :class:`Scenario`."""
    try:
        return Scenario.model_validate(dict(data), context={"base_dir": str(base_dir)})
    except ValidationError as error:
        raise ScenarioError(format_validation_error(error), source) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``agents.sales.count=12`` into the path and a YAML-typed value."""
    if "=" not in text:
        raise ScenarioError([f"--set {text!r}: write path=value, e.g. agents.sales.count=12"],
                            "--set")
    path, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any], source: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted path set; list items by index."""
    pairs = overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides)
    result = copy.deepcopy(dict(data))
    for path, value in pairs:
        set_path(result, path, value)
    return result


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][0]... = value`` for ``path = "a.b.0"``; missing mappings are created."""
    keys = path.split(".")
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise ScenarioError([f"{where}: no item {key} (the list has {len(node)})"],
                                    "--set")
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
            else:
                if key not in node or node[key] is None:
                    node[key] = {}
                elif not isinstance(node[key], dict | list):
                    # A plain value (such as a constant duration) being given sub-keys.
                    node[key] = {}
                node = node[key]
        else:
            raise ScenarioError([f"{where}: cannot set a key inside {node!r}"], "--set")


def format_validation_error(error: ValidationError) -> list[str]:
    """One readable line per pydantic error, with a did-you-mean for unknown keys."""
    lines: list[str] = []
    for item in error.errors(include_url=False):
        location = _location(item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            key = str(item["loc"][-1])
            known = _known_fields(item["loc"][:-1])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            if known:
                hint += f"; allowed: {', '.join(sorted(known))}"
            lines.append(f"{location}: unknown key{hint}")
            continue
        message = str(item["msg"])
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        if kind == "union_tag_invalid":
            tag = item.get("ctx", {}).get("tag")
            expected = item.get("ctx", {}).get("expected_tags", "")
            message = f"unknown dist {tag!r}; use one of {expected}"
        elif kind == "missing":
            message = "required field is missing"
        elif kind == "greater_than" and item.get("ctx", {}).get("gt") == 0:
            message = "must be positive"
        elif kind == "greater_than_equal" and item.get("ctx", {}).get("ge") == 0:
            message = "must not be negative"
        for part in message.split("\n"):
            lines.append(f"{location}: {part}" if location and not _has_path(part) else part)
    return lines or [str(error)]


def _has_path(message: str) -> bool:
    head = message.split(":", 1)[0]
    return ":" in message and " " not in head


def _location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        text = str(part)
        # Pydantic adds union branch and discriminator names; people never wrote those.
        if text in {"constant", "exponential", "lognormal", "gamma", "uniform", "empirical",
                    "ToDirectory", "ToGroup", "LeaveAfter", "DeclineToDirectory",
                    "function-before[_plain_to_constant(), tagged-union[Constant,Exponential,"
                    "LogNormal,Gamma,Uniform,Empirical]]"}:
            continue
        if text.startswith(("function-", "literal[", "tagged-union[", "str", "int")):
            continue
        parts.append(text)
    return ".".join(parts)


def _known_fields(loc: tuple[Any, ...]) -> list[str]:
    """The keys allowed at ``loc``, found by walking the schema."""
    node: Any = Scenario
    for part in loc:
        text = str(part)
        if isinstance(node, _Each):  # a dict key or a list index
            node = node.item
        elif isinstance(node, _OneOf):  # pydantic names the union branch it tried
            node = next((m for m in node.models if text in (m.__name__, _tag(m))), None)
        elif isinstance(node, type) and issubclass(node, BaseModel):
            field = node.model_fields.get(text) or next(
                (f for f in node.model_fields.values() if f.alias == text), None
            )
            node = _inner_model(field.annotation) if field is not None else None
        else:
            return []
    if isinstance(node, _OneOf) and len(node.models) == 1:
        node = node.models[0]
    if isinstance(node, type) and issubclass(node, BaseModel):
        return [f.alias or name for name, f in node.model_fields.items()]
    return []


def _tag(model: type[BaseModel]) -> str:
    field = model.model_fields.get("dist")
    return str(field.default) if field is not None and field.default else ""


def _inner_model(annotation: Any) -> Any:
    """Describe the models inside ``dict[str, M]``, ``tuple[M, ...]``, ``A | B | None``."""
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _inner_model(args[0])
    if origin is dict and len(args) == 2:
        return _Each(_inner_model(args[1]))
    if origin is tuple and args:
        return _Each(_inner_model(args[0]))
    models = [m for m in (_inner_model(arg) for arg in args) if m is not None]
    flat: list[Any] = []
    for m in models:
        flat.extend(m.models if isinstance(m, _OneOf) else [m])
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else _OneOf(flat)


class _Each:
    """The value model of every key of a dict or item of a tuple."""

    def __init__(self, item: Any) -> None:
        self.item = item


class _OneOf:
    """The models of a union; the next location part names the branch."""

    def __init__(self, models: list[Any]) -> None:
        self.models = models
