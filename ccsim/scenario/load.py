"""Read scenario files, apply ``--set`` overrides, and turn every failure into a
:class:`ScenarioError` whose lines name the field path (``directories.sales.patience.mean:
must be positive``). Nothing here prints; the CLI decides how to show the error.

Pydantic's own messages are rewritten for people who write YAML: union branches
(``LeaveAfter``, ``lognormal``) never appear in a path, a value that matches no branch of a
union gets one line saying what is accepted, unknown keys get a did-you-mean, and bounds and
types are said plainly ("must be at most 1", "expected a number, got 'abc'").

Every problem comes in one report: when fields fail, the cross-field checks run again on
the mapping as written (:mod:`ccsim.scenario.crosscheck`). Files are read safely (a
regular file of bounded size, see :mod:`ccsim.safe_read`) and YAML is bounded in nesting
and alias expansion, so no input hangs the loader or grows its memory without bound.
"""

from __future__ import annotations

import copy
import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ValidationError
from pydantic.fields import FieldInfo

from ccsim.safe_read import FileProblem, read_text
from ccsim.scenario.limits import (
    MAX_SCENARIO_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_VALUES,
    format_seconds_limit,
)
from ccsim.scenario.schema import Arrivals, Constant, Scenario, _duration, _rate
from ccsim.scenario.units import compact_duration


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


# --------------------------------------------------------------------------- reading


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (YAML would silently keep the last one) and
    nesting deeper than ``MAX_YAML_DEPTH`` (PyYAML's composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"nested more than {MAX_YAML_DEPTH} levels deep",
                    self.peek_event().start_mark,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
            continue
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first given at line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Sexagesimal(str):
    """An unquoted ``8:00`` or ``1:30:00`` as written. YAML 1.1 reads it as a base-60
    number (480, 5400), which would be taken silently as seconds; the loader keeps the
    text instead, so a clock field (``start``) reads it as the clock time it is and every
    other field refuses it, naming its path and what was probably meant."""

    @property
    def base60(self) -> float:
        """What YAML 1.1 would have made of it (``8:00`` -> 480)."""
        sign = -1 if self.startswith("-") else 1
        value = 0.0
        for part in self.lstrip("+-").replace("_", "").split(":"):
            value = value * 60 + float(part)
        return sign * value


_SEXAGESIMAL_TAG = "tag:ccsim:sexagesimal"
# YAML 1.1's base-60 int and float forms (PyYAML's own patterns for them).
_SEXAGESIMAL = re.compile(
    r"^(?:[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*)$"
)
_Loader.add_implicit_resolver(_SEXAGESIMAL_TAG, _SEXAGESIMAL, list("-+0123456789"))
for _first in "-+0123456789":  # ahead of the int and float resolvers, which match first
    _resolvers = _Loader.yaml_implicit_resolvers[_first]
    _resolvers.insert(0, _resolvers.pop())
_Loader.add_constructor(
    _SEXAGESIMAL_TAG,
    lambda loader, node: Sexagesimal(loader.construct_scalar(node)),  # type: ignore[arg-type]
)
# Fields whose text may look like 8:00: the clock itself, and free text.
_SEXAGESIMAL_ALLOWED = {("start",), ("name",), ("description",)}


def sexagesimal_problems(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    """``(path, message)`` for every unquoted ``8:00``-like value outside a clock or text
    field: YAML 1.1 reads it as a base-60 number (``8:00`` is 480), never what was meant."""
    found: list[tuple[str, str]] = []
    if isinstance(data, Sexagesimal) and path not in _SEXAGESIMAL_ALLOWED:
        where = _join(list(path))
        parts = [float(p or 0) for p in data.lstrip("+-").replace("_", "").split(":")]
        if len(parts) == 2:
            meant = (
                f"{compact_duration(parts[0] * 3600 + parts[1] * 60)} if hours:minutes, "
                f"{compact_duration(parts[0] * 60 + parts[1])} if minutes:seconds"
            )
        else:
            meant = compact_duration(data.base60)
        found.append(
            (
                where,
                f"{where}: {data} is read by YAML 1.1 as the base-60 number {data.base60:g}, "
                f"not a time; write a duration with units: {meant}",
            )
        )
    elif isinstance(data, Mapping):
        for key, value in data.items():
            found += sexagesimal_problems(value, (*path, key))
    elif isinstance(data, list | tuple):
        for index, value in enumerate(data):
            found += sexagesimal_problems(value, (*path, index))
    return found


def load_scenario(
    path: str | Path,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    *,
    allow_outside_data: bool = False,
) -> Scenario:
    """Read a YAML scenario, apply overrides (``"a.b=value"`` strings or a mapping).

    Data files it names (``empirical`` csv) are read from the scenario's folder only,
    unless ``allow_outside_data``: a scenario from elsewhere must not read your files.
    """
    path = Path(path)
    data = read_scenario_data(path, overrides)
    return scenario_from_dict(
        data, base_dir=path.parent, source=str(path), allow_outside_data=allow_outside_data
    )


def read_scenario_data(
    path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()
) -> dict[str, Any]:
    """The mapping of a scenario file as written, overrides applied, not yet validated
    (what :func:`ccsim.scenario.warnings.scenario_warnings` reads bare numbers from).

    The file must be a regular UTF-8 text file of at most ``MAX_SCENARIO_BYTES``: a FIFO,
    a device or a huge file is refused at once rather than read without bound.
    """
    source = str(path)
    try:
        text = read_text(path, MAX_SCENARIO_BYTES, "a scenario file")
    except FileProblem as problem:
        message = str(problem)
        if message == "is a folder, not a scenario file":
            message = "is a directory, not a scenario file"
        raise ScenarioError([message], source) from None
    data = parse_yaml(text, source)
    return apply_overrides(data, overrides, source)


def parse_yaml(text: str, source: str = "scenario") -> dict[str, Any]:
    """Parse the text of a scenario file; the top level must be a mapping."""
    data = _safe_yaml(text, source)
    if data is None:
        raise ScenarioError(
            ["the file is empty; a scenario needs duration, directories, agents"], source
        )
    if not isinstance(data, dict):
        raise ScenarioError(
            [
                "the top level must be a mapping of keys (name, duration, directories, "
                f"agents, ...), got {_show(data)}"
            ],
            source,
        )
    return data


def _safe_yaml(text: str, source: str) -> Any:
    """Safe YAML of bounded nesting, whose aliases expand to at most ``MAX_YAML_VALUES``
    values (no billion laughs); every failure is a :class:`ScenarioError`."""
    try:
        loader = _Loader(text)  # a SafeLoader that also refuses duplicate keys
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_expansion(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ScenarioError([f"malformed YAML{where}: {problem}"], source) from None
    except ScenarioError:
        raise
    except ValueError as error:  # a constructor: a number of 5000 digits, a bad date
        why = "a number with too many digits" if "digits" in str(error) else str(error)
        raise ScenarioError([f"malformed YAML: a value cannot be read ({why})"], source) from None
    except RecursionError:
        raise ScenarioError(
            [f"malformed YAML: nested more than {MAX_YAML_DEPTH} levels deep"], source
        ) from None


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse aliases that expand past ``MAX_YAML_VALUES`` values or ``MAX_YAML_DEPTH``
    levels, or that refer to themselves; one pass, each distinct node counted once."""
    sizes: dict[int, tuple[int, int]] = {}  # id -> (values, depth) once expanded
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]

    def children(node: yaml.Node) -> list[yaml.Node]:
        if isinstance(node, yaml.MappingNode):
            return [part for pair in node.value for part in pair]
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        return []

    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            parts = [sizes[id(child)] for child in children(node)]
            count = 1 + sum(size for size, _ in parts)
            depth = 1 + max((d for _, d in parts), default=0)
            if count > MAX_YAML_VALUES or depth > MAX_YAML_DEPTH:
                what = (
                    f"more than {MAX_YAML_VALUES:,} values"
                    if count > MAX_YAML_VALUES
                    else f"more than {MAX_YAML_DEPTH} levels"
                )
                raise ScenarioError(
                    [
                        f"malformed YAML at line {node.start_mark.line + 1}: aliases (*name) "
                        f"expand to {what}"
                    ],
                    source,
                )
            sizes[key] = (count, depth)
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ScenarioError(
                [
                    f"malformed YAML at line {node.start_mark.line + 1}: an alias (*name) "
                    "refers to a value that contains it"
                ],
                source,
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in children(node) if id(child) not in sizes)


def scenario_from_dict(
    data: Mapping[str, Any],
    base_dir: str | Path = ".",
    source: str = "scenario",
    *,
    allow_outside_data: bool = False,
    read_files: bool = True,
) -> Scenario:
    """Validate a plain mapping (as read from YAML) into a :class:`Scenario`.

    Every problem is reported at once: when fields fail, pydantic skips the scenario's
    cross-field checks, so they are run again on the mapping as written
    (:mod:`ccsim.scenario.crosscheck`). Data files named inside are read from
    ``base_dir`` (and below, unless ``allow_outside_data``); ``read_files=False``, for
    saved results, reads none.
    """
    data = dict(data)
    context = {
        "base_dir": str(base_dir),
        "allow_outside_data": allow_outside_data,
        "read_files": read_files,
    }
    base60 = sexagesimal_problems(data)
    try:
        scenario = Scenario.model_validate(data, context=context)
    except ValidationError as error:
        lines = format_validation_error(error, data)
        if not any(item["loc"] == () for item in error.errors(include_url=False)):
            # A field failed, so the scenario's own cross-field validator did not run.
            from ccsim.scenario.crosscheck import cross_field_problems

            lines += [line for line in cross_field_problems(data) if line not in lines]
        raise ScenarioError(_with_base60(lines, base60), source) from None
    if base60:
        raise ScenarioError(_with_base60([], base60), source)
    return scenario


def _with_base60(lines: list[str], base60: list[tuple[str, str]]) -> list[str]:
    """The base-60 problems in place of what validation said about the same values
    ("expected a duration, got '8:00'"), which would hide what went wrong."""
    paths = [path for path, _ in base60]
    kept = [
        line
        for line in lines
        if not any(line.startswith((f"{path}:", f"{path}.")) for path in paths)
    ]
    return [message for _, message in base60] + kept


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``agents.sales.count=12`` into the path and a YAML-typed value."""
    if "=" not in text:
        raise ScenarioError(
            [f"--set {text!r}: write path=value, e.g. agents.sales_team.count=12"], "--set"
        )
    path, raw = text.split("=", 1)
    if not raw.strip():
        return path.strip(), ""
    try:
        value = _safe_yaml(raw, "--set")
    except ScenarioError as error:
        if any("expand" in p or "nested" in p or "cannot be read" in p for p in error.problems):
            raise ScenarioError([f"--set {text[:60]!r}: {error.problems[0]}"], "--set") from None
        value = raw  # not YAML: the text itself, which validation then reads or refuses
    return path.strip(), value


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[str] | Mapping[str, Any], source: str = "--set"
) -> dict[str, Any]:
    """Return a copy of ``data`` with each dotted path set; list items by index.

    Values are YAML-typed (``count=12`` is an int, ``arrivals=200/h`` a string the rate
    parser reads). A failure is a :class:`ScenarioError` naming the path and the override.
    """
    if isinstance(overrides, Mapping):
        pairs = [(str(path), value, f"{path}={value}") for path, value in overrides.items()]
    else:
        pairs = []
        for text in overrides:
            try:
                path, value = parse_override(text)
            except ScenarioError as error:
                raise ScenarioError(error.problems, source) from None
            pairs.append((path, value, text))
    result = copy.deepcopy(dict(data))
    for path, value, text in pairs:
        try:
            set_path(result, path, value)
        except ScenarioError as error:
            raise ScenarioError([f"{p} (--set {text})" for p in error.problems], source) from None
    return result


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``data[a][b][0]... = value`` for ``path = "a.b.0"``.

    Missing mappings are created (a plain value given sub-keys becomes a mapping), except
    when a missing key below the top level looks like a misspelling of an existing one; list
    items must exist. Unknown keys at the top level are left to validation, which names them
    with a did-you-mean.
    """
    keys = path.split(".")
    if not path or any(not key for key in keys):
        raise ScenarioError([f"{path!r}: not a path; write keys joined by dots, e.g. seed"])
    node: Any = data
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = ".".join(keys[: depth + 1])
        parent = ".".join(keys[:depth])
        if isinstance(node, list):
            if not key.isdigit():
                raise ScenarioError([f"{where}: {parent} is a list; use an item number"])
            if int(key) >= len(node):
                items = f"items 0-{len(node) - 1}" if node else "no items"
                raise ScenarioError([f"{where}: no item {key}; {parent} has {items}"])
            if last:
                node[int(key)] = value
            else:
                node = node[int(key)]
        elif isinstance(node, dict):
            if last:
                node[key] = value
                return
            following = keys[depth + 1]
            child = node.get(key)
            if key not in node and depth > 0:
                close = difflib.get_close_matches(key, [str(k) for k in node], n=1)
                if close:
                    raise ScenarioError(
                        [
                            f"{where}: no such key (did you mean {close[0]!r}?); to add it, "
                            f"set it whole: {where}={{...}}"
                        ]
                    )
            if not isinstance(child, dict | list):
                if following.isdigit():
                    raise ScenarioError(
                        [f"{where}: no item {following}; {where} is not a list here"]
                    )
                # Missing, empty, or a plain value (such as a constant duration) given sub-keys.
                child = node[key] = {}
            node = child
        else:
            raise ScenarioError([f"{parent}: is {_show(node)}, cannot set {key!r} inside it"])


# --------------------------------------------------------------------------- validation errors


def format_validation_error(error: ValidationError, data: Any = None) -> list[str]:
    """Readable lines, one per problem, each starting with the field path.

    ``data`` (the validated input) lets messages show what was written at a union field.
    """
    errors = [_walk(item, data) for item in error.errors(include_url=False)]
    resolved = _resolve(errors, data)
    # A missing field that an unknown key's did-you-mean names is the same typo: say it once.
    hinted = {
        (tuple(err.path[:-1]), _closest(str(err.path[-1]), _fields(err.owner)))
        for err in resolved
        if isinstance(err, _Err) and err.item["type"] == "extra_forbidden" and err.path
    }
    # A list too short only because its failing items were dropped is not a problem of its own.
    lists_with_failing_items = {
        tuple(err.path[:i])
        for err in resolved
        if isinstance(err, _Err)
        for i, part in enumerate(err.path)
        if isinstance(part, int)
    }

    def said_elsewhere(err: _Err) -> bool:
        kind = err.item["type"]
        if kind == "missing":
            return (tuple(err.path[:-1]), _last(err)) in hinted
        return kind == "too_short" and tuple(err.path) in lists_with_failing_items

    lines: list[str] = []
    for err in resolved:
        if isinstance(err, str):
            new = [err]
        elif said_elsewhere(err):
            continue
        else:
            new = _message(err)
        lines += [line for line in new if line not in lines]
    return lines or [str(error)]


def _last(err: _Err) -> str | None:
    return str(err.path[-1]) if err.path else None


# ---- walking pydantic's locations along the schema


@dataclass
class _Each:
    """Every value of a ``dict[str, X]`` or item of a ``tuple[X, ...]``."""

    item: Any
    metadata: list[Any] = field(default_factory=list)


@dataclass
class _Union:
    """``A | B | ...``; pydantic names the branch it tried in the location."""

    branches: list[Any]
    discriminator: str | None = None
    metadata: list[Any] = field(default_factory=list)


@dataclass
class _Leaf:
    annotation: Any
    metadata: list[Any] = field(default_factory=list)


@dataclass
class _Err:
    item: dict[str, Any]
    path: list[Any]  # what people wrote: keys and list indexes
    unions: list[tuple[int, _Union, int]]  # (position in path, union, branch index)
    node: Any  # schema node at the error
    owner: Any  # the model whose keys the last path part is among
    key_error: bool = False
    done: int = 0  # unions already resolved


def _node(annotation: Any, metadata: Iterable[Any] = (), discriminator: Any = None) -> Any:
    """Describe an annotation: a model class, ``_Each``, ``_Union`` or ``_Leaf``."""
    meta = list(metadata)
    while typing.get_origin(annotation) is typing.Annotated:
        inner, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, FieldInfo):
                meta.extend(extra.metadata)
                discriminator = discriminator or extra.discriminator
            else:
                meta.append(extra)
        annotation = inner
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        if len(members) == 1:
            return _node(members[0], meta, discriminator)
        return _Union(members, discriminator if isinstance(discriminator, str) else None, meta)
    if origin is dict and len(args) == 2:
        return _Each(args[1], meta)
    if origin in (tuple, list) and args:
        return _Each(args[0], meta)
    return _Leaf(annotation, meta)


def _field_node(info: FieldInfo) -> Any:
    return _node(info.annotation, info.metadata, info.discriminator)


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    return model.model_fields.get(name) or next(
        (f for f in model.model_fields.values() if f.alias == name), None
    )


def _fields(model: Any) -> list[str]:
    """The keys a model accepts, as written in files (aliases such as ``from``)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or name for name, f in model.model_fields.items()]
    return []


def _tag(model: Any) -> str:
    """The ``dist`` value that selects a distribution model (read from its Literal)."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return ""
    info = model.model_fields.get("dist")
    if info is None:
        return ""
    if typing.get_origin(info.annotation) is Literal:
        return str(typing.get_args(info.annotation)[0])
    return str(info.default) if isinstance(info.default, str) else ""


def _branch_for(union: _Union, part: str) -> tuple[int, Any] | None:
    """The branch (index, node) that pydantic names ``part`` in a location, if any."""
    for index, branch in enumerate(union.branches):
        node = _node(branch)
        if isinstance(node, type) and part in (node.__name__, _tag(node)):
            return index, node
        if isinstance(node, _Leaf):
            if typing.get_origin(node.annotation) is Literal and part.startswith("literal["):
                return index, node
            if part == getattr(node.annotation, "__name__", None):
                return index, node
    return None


_MISSING = object()


def _lookup(data: Any, path: list[Any]) -> Any:
    node = data
    for part in path:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not in_list and not (isinstance(node, Mapping) and part in node):
            return _MISSING
        node = node[part]
    return node


def _walk(item: dict[str, Any], data: Any) -> _Err:
    """Split pydantic's location into the path people wrote and the union branches."""
    err = _Err(item=item, path=[], unions=[], node=Scenario, owner=None)
    node: Any = Scenario
    skip_value = False
    for part in item["loc"]:
        text = str(part)
        if text == "[key]":
            err.key_error = True
            continue
        if isinstance(node, _Union):
            found = _branch_for(node, text)
            if found is not None:
                index, branch = found
                err.unions.append((len(err.path), node, index))
                # A plain duration is read as {dist: constant, value: ...}: no 'value' to show.
                written = _lookup(data, err.path)
                if written is _MISSING:  # no data: a dict input means {dist: constant, ...}
                    written = item["input"]
                skip_value = branch is Constant and not isinstance(written, Mapping)
                node = branch
                continue
        if isinstance(node, type) and issubclass(node, BaseModel):
            err.owner = node
            info = _field(node, text)
            if skip_value and text == "value":
                skip_value = False
                node = _field_node(info) if info is not None else None
                continue
            err.path.append(part)
            node = _field_node(info) if info is not None else None
        elif isinstance(node, _Each):
            err.path.append(part)
            node = _node(node.item)
        else:
            err.path.append(part)
            node = None
        skip_value = False
    err.node = node
    return err


# ---- unions: one line saying what is accepted, unless one branch clearly fits


_SHAPE_ERRORS = {
    "literal_error",
    "model_type",
    "model_attributes_type",
    "dict_type",
    "string_type",
    "union_tag_invalid",
    "union_tag_not_found",
}


def _resolve(errors: list[_Err], data: Any) -> list[_Err | str]:
    groups: dict[tuple[Any, ...], list[_Err]] = {}
    order: list[_Err | tuple[Any, ...]] = []
    for err in errors:
        if err.done < len(err.unions):
            position = err.unions[err.done][0]
            key = tuple(err.path[:position])
            if key not in groups:
                groups[key] = []
                order.append(key)
            groups[key].append(err)
        else:
            order.append(err)
    out: list[_Err | str] = []
    for entry in order:
        if isinstance(entry, _Err):
            out.append(entry)
        else:
            out += _resolve_union(groups[entry], data)
    return out


def _resolve_union(errors: list[_Err], data: Any) -> list[_Err | str]:
    position, union, _ = errors[0].unions[errors[0].done]
    path = errors[0].path[:position]
    by_branch: dict[int, list[_Err]] = {}
    for err in errors:
        by_branch.setdefault(err.unions[err.done][2], []).append(err)
        err.done += 1
    if len(by_branch) == 1:
        return _resolve(errors, data)
    fitting = [key for key, errs in by_branch.items() if _fits(errs, position)]
    if len(fitting) == 1:
        return _resolve(by_branch[fitting[0]], data)
    value = _lookup(data, path)
    if value is _MISSING:
        value = _union_input(errors, position)
    return [_union_line(path, union, value)]


def _fits(errors: list[_Err], position: int) -> bool:
    """Whether a branch's errors are about values inside it rather than its shape."""
    for err in errors:
        depth = len(err.path) - position
        kind = err.item["type"]
        if depth == 0 and kind in _SHAPE_ERRORS:
            return False
        if depth == 1 and kind in ("missing", "extra_forbidden"):
            return False
    return True


def _union_input(errors: list[_Err], position: int) -> Any:
    """What was written at a union field, recovered from the errors when data is unknown."""
    for err in errors:
        if len(err.path) == position:
            return err.item["input"]
    for err in errors:
        if len(err.path) == position + 1 and err.item["type"] == "missing":
            return err.item["input"]
    return {err.path[position]: err.item["input"] for err in errors if len(err.path) > position}


def _union_line(path: list[Any], union: _Union, value: Any) -> str:
    nodes = [_node(branch) for branch in union.branches]
    options: list[str] = []
    literals: list[str] = []
    keys: list[str] = []
    for node in nodes:
        if isinstance(node, type) and issubclass(node, BaseModel):
            options.append(_describe_model(node))
            keys += [k for k in _fields(node) if k not in keys]
        elif isinstance(node, _Leaf) and typing.get_origin(node.annotation) is Literal:
            values = [str(v) for v in typing.get_args(node.annotation)]
            options += values
            literals += values
        else:
            options.append(_placeholder(node))
    line = f"{_join(path)}: must be {_either(options)}"
    if isinstance(value, Mapping):
        unknown = [str(k) for k in value if str(k) not in keys]
        if unknown:
            hints = [f"unknown key {k!r}{_did_you_mean(k, keys)}" for k in unknown]
            return f"{line}; " + "; ".join(hints)
        return f"{line} (got {_show(value)})"
    if isinstance(value, str) and not isinstance(value, bool):
        close = _closest(value, literals)
        if close:
            return f"{line} (got {value!r}; did you mean {close!r}?)"
    return f"{line} (got {_show(value)})"


def _describe_model(model: type[BaseModel]) -> str:
    parts = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        if info.is_required():
            parts.append(f"{key}: {_placeholder(_field_node(info))}")
        else:
            parts.append(f"{key}: ...")
    return "{" + ", ".join(parts) + "}"


def _placeholder(node: Any) -> str:
    if isinstance(node, _Leaf):
        funcs = {getattr(m, "func", None) for m in node.metadata if isinstance(m, BeforeValidator)}
        if _duration in funcs:
            return "DURATION"
        if _rate in funcs:
            return "RATE"
        if typing.get_origin(node.annotation) is Literal:
            return "|".join(str(v) for v in typing.get_args(node.annotation))
        return {str: "NAME", int: "N", float: "NUMBER", bool: "true|false"}.get(
            node.annotation, "..."
        )
    return "..."


def _either(options: list[str]) -> str:
    if len(options) <= 1:
        return "".join(options)
    return ", ".join(options[:-1]) + " or " + options[-1]


# ---- one message per remaining error


_DIST_HINT = "a duration or a distribution such as {dist: exponential, mean: 4m}"
_DISTS = "constant, exponential, lognormal, gamma, uniform, empirical, mixture"
_TYPE_NAMES = {
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "text",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "a mapping",
}
_RELATIVE = re.compile(r"^([A-Za-z_]\w*|\d+)((?:\.(?:[A-Za-z_]\w*|\d+))*): (.+)$")


def _message(err: _Err) -> list[str]:
    item, node = err.item, err.node
    kind = item["type"]
    ctx = item.get("ctx") or {}
    value = item.get("input")
    where = _join(err.path)
    if err.key_error:
        if kind == "value_error":  # a name that cannot be addressed (see limits.name_problem)
            text = str(item["msg"]).removeprefix("Value error, ")
            return [f"{_join(err.path[:-1])}: {text}"]
        return [f"{where}: a name must be text, got {_show(err.path[-1])} (quote it)"]
    if kind == "extra_forbidden":
        known = _fields(err.owner)
        key = str(err.path[-1])
        hint = _did_you_mean(key, known)
        if not hint and known:
            hint = f"; allowed: {', '.join(known)}"
        return [f"{where}: unknown key{hint}"]
    if kind == "missing":
        return [f"{where}: required key is missing"]
    if kind in ("value_error", "assertion_error"):
        text = str(item["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            text = text.removeprefix(prefix)
        return [_relative(err, where, line) for line in text.split("\n") if line.strip()]
    if kind == "literal_error" and isinstance(node, _Leaf):
        options = [str(v) for v in typing.get_args(node.annotation)]
        got = f"got {_show(value)}"
        close = _closest(value, options) if isinstance(value, str) else None
        if close:
            got += f"; did you mean {close!r}?"
        return [f"{where}: must be {_either(options)} ({got})"]
    if kind in ("too_short", "too_long"):
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return [
            f"{where}: needs {'at least' if kind == 'too_short' else 'at most'} {bound} "
            f"item(s), got {ctx.get('actual_length')}"
        ]
    if kind == "union_tag_invalid" and ctx.get("tag") == "mixture":
        return [f"{where}: a mixture's component cannot itself be a mixture"]
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        hint = _did_you_mean(str(tag), _DISTS.split(", "))
        return [f"{where}: unknown dist {tag!r}{hint}; use one of {_DISTS}"]
    if kind == "union_tag_not_found":
        return [f"{where}: a distribution needs 'dist' ({_DISTS}), e.g. {{dist: exponential, ...}}"]
    if kind in ("model_type", "model_attributes_type"):
        return [f"{where}: expected {_expected_mapping(node)}, got {_show(value)}"]
    if kind in _TYPE_NAMES:
        return [f"{where}: expected {_TYPE_NAMES[kind]}, got {_show(value)}"]
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return [f"{where}: {_bound(kind, ctx, node)} (got {_show_number(value, node)})"]
    if kind == "finite_number":
        return [f"{where}: must be a finite number"]
    message = str(item["msg"])
    return [f"{where}: {message[:1].lower()}{message[1:]}" if where else message]


def _relative(err: _Err, where: str, line: str) -> str:
    """Join a validator's message to the path; it may begin with a sub-path ("shifts: ...")."""
    if not where:
        return line  # the scenario's own checks already name full paths
    match = _RELATIVE.match(line)
    if match:
        head = match.group(1)
        node = err.node
        if (isinstance(node, type) and head in _fields(node)) or (
            isinstance(node, _Each) and head.isdigit()
        ):
            return f"{where}.{head}{match.group(2)}: {match.group(3)}"
    return f"{where}: {line}"


def _expected_mapping(node: Any) -> str:
    if isinstance(node, _Union) and node.discriminator == "dist":
        return _DIST_HINT
    if node is Arrivals:
        return "a rate such as 180/h, or {schedule: [{from: 0h, rate: 180/h}, ...]}"
    if isinstance(node, type) and issubclass(node, BaseModel):
        return f"a mapping of keys ({', '.join(_fields(node))})"
    return "a mapping"


def _bound(kind: str, ctx: dict[str, Any], node: Any) -> str:
    metadata = getattr(node, "metadata", [])
    bounds = {type(m).__name__: m for m in metadata}
    ge, le = getattr(bounds.get("Ge"), "ge", None), getattr(bounds.get("Le"), "le", None)
    if ge == 0 and le == 1:
        return "must be a probability between 0 and 1"
    funcs = {getattr(m, "func", None) for m in metadata}

    def limit_text(limit: Any) -> str:
        if _duration in funcs:
            return format_seconds_limit(float(limit))
        if _rate in funcs:
            return f"{float(limit):.15g}/s"
        if isinstance(limit, int) and abs(limit) >= 10_000:
            return f"{limit:,}"
        return f"{limit:g}"

    if kind == "greater_than":
        limit = ctx.get("gt")
        return "must be positive" if limit == 0 else f"must be more than {limit_text(limit)}"
    if kind == "greater_than_equal":
        limit = ctx.get("ge")
        return "must not be negative" if limit == 0 else f"must be at least {limit_text(limit)}"
    if kind == "less_than":
        return f"must be less than {limit_text(ctx.get('lt'))}"
    return f"must be at most {limit_text(ctx.get('le'))}"


def _show_number(value: Any, node: Any) -> str:
    funcs = {getattr(m, "func", None) for m in getattr(node, "metadata", [])}
    if _duration in funcs and isinstance(value, int | float) and not isinstance(value, bool):
        return compact_duration(value) if abs(value) < 1e9 else f"{value:.3g}s"
    if funcs & {_duration, _rate} and isinstance(value, str):
        return value.strip()  # as written: 'got -5m', not "got '-5m'"
    return _show(value)


def _show(value: Any) -> str:
    """A short, YAML-flavoured rendering of what was written."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, int) and abs(value) >= 10**15:
        digits = len(str(abs(value))) if abs(value) < 10**4000 else "over 4000"
        return f"a number of {digits} digits"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, Mapping):
        if not value:
            return "an empty mapping"
        return "a mapping with keys " + ", ".join(str(k) for k in value)
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def _join(path: list[Any]) -> str:
    """The path as people write it; control characters in names are shown escaped."""
    parts = (str(part) for part in path)
    return ".".join(p if p.isprintable() else p.encode("unicode_escape").decode() for p in parts)


def _closest(word: str, known: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(known), n=1)
    return close[0] if close else None


def _did_you_mean(word: str, known: Iterable[str]) -> str:
    close = _closest(word, known)
    return f" (did you mean {close!r}?)" if close else ""
