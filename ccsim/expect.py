"""Expectations on simulated metrics: ``handoff_gap_p95 <= 30s``, ``service_level >= 80%``.

An expectation is *metric path*, *comparison*, *number with an optional unit*::

    expectation := path op quantity
    path        := METRIC | ("directories" | "groups") "." NAME "." METRIC
    op          := "<" | "<=" | ">" | ">=" | "=="
    quantity    := NUMBER [UNIT]        (UNIT: ms s m min h d for times, % for ratios)

Text is split by a small regular-expression tokenizer and read by a hand-written parser;
nothing is ever passed to ``eval``. A misspelt metric or scope gets a did-you-mean, and
units are checked against the metric (``wait_p90 <= 30s`` but not ``service_level <= 30s``),
so a CI gate never silently compares seconds with a ratio.

The scenario schema validates the ``expect:`` list of a file with :func:`parse_expectation`
at load time, importing this module inside its validator. The metric names come from
:mod:`ccsim.metric_names`, not :mod:`ccsim.results`, so that loading a scenario with an
``expect:`` list imports no numerical library.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ccsim.metric_names import (
    AGENT_METRICS,
    CHAT_METRICS,
    COUNT_METRICS,
    METRICS,
    RATIO_METRICS,
    TIME_METRICS,
)
from ccsim.scenario.units import parse_duration

SCOPES = {"directories": CHAT_METRICS, "groups": AGENT_METRICS}

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
_TIME_UNITS = ("ms", "s", "m", "min", "h", "d")


class ExpectationError(ValueError):
    """An expectation that cannot be read or does not fit the scenario (bad input)."""


class EstimateLike(Protocol):
    """What :meth:`Expectation.evaluate` needs: ``ccsim.results.Estimate`` fits."""

    mean: float
    ci_low: float
    ci_high: float
    n: int


class SummaryLike(Protocol):
    overall: Mapping[str, Any]
    directories: Mapping[str, Mapping[str, Any]]
    groups: Mapping[str, Mapping[str, Any]]


# --------------------------------------------------------------------------- tokenizer

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<op><=|>=|==|=<|=>|!=|<|>|=)
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?(?:[a-z]+|%)?
                (?:(?:\d+(?:\.\d*)?|\.\d+)[a-z]+)*)
  | (?P<name>[A-Za-z_][\w-]*(?:\.[A-Za-z_0-9][\w-]*)*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # op, number, name, other
    text: str
    column: int  # 1-based, for messages


def tokenize(text: str) -> list[Token]:
    """Split an expectation into tokens; whitespace is dropped."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind != "space":
            tokens.append(Token(kind, match.group(), match.start() + 1))
    return tokens


# --------------------------------------------------------------------------- formatting


def format_metric_value(metric: str, value: float, signed: bool = False) -> str:
    """Ratios as percentages, times in seconds, counts as numbers (``-`` for no value);
    ``signed`` for differences (ratios then in percentage points)."""
    if value is None or math.isnan(value):
        return "-"
    sign = "+" if signed else ""
    if metric in RATIO_METRICS:  # a difference of ratios is in percentage points
        return f"{100 * value:+.2f}pp" if signed else f"{100 * value:.1f}%"
    if metric in TIME_METRICS:
        digits = 2 if signed and abs(value) < 10 else 1
        return f"{value:{sign}.{digits}f}s"
    if metric in COUNT_METRICS:
        return f"{value:{sign},.1f}" if value != int(value) else f"{int(value):{sign},}"
    return f"{value:{sign}.4g}"


def format_interval(metric: str, low: float, high: float, signed: bool = False) -> str:
    if math.isnan(low) or math.isnan(high):
        return "no interval"
    low_text = format_metric_value(metric, low, signed)
    high_text = format_metric_value(metric, high, signed)
    return f"[{low_text}, {high_text}]"


# --------------------------------------------------------------------------- expectations


def did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one expectation on one estimate."""

    expectation: Expectation
    holds: bool
    mean: float
    ci_low: float
    ci_high: float
    n: int
    confidence: bool
    reason: str  # why it failed ("" when it holds)
    level: float = 0.95  # the confidence level of the interval (``--confidence``)

    @property
    def value_text(self) -> str:
        metric = self.expectation.metric
        text = f"{format_metric_value(metric, self.mean)}"
        if self.n > 1:
            interval = format_interval(metric, self.ci_low, self.ci_high)
            text += f", {100 * self.level:g}% CI {interval}"
        return text + f" ({self.n} replication{'s' if self.n != 1 else ''})"

    @property
    def message(self) -> str:
        """``handoff_gap_p95 <= 30s: value 41.2s, 95% CI [35.0s, 47.3s] (10 replications)``."""
        text = f"{self.expectation.text}: {self.value_text}"
        return f"{text}; {self.reason}" if self.reason else text

    def as_dict(self) -> dict[str, Any]:
        def number(value: float) -> float | None:
            return None if math.isnan(value) else value

        return {
            "expectation": self.expectation.text,
            "path": self.expectation.path,
            "holds": self.holds,
            "mean": number(self.mean),
            "ci_low": number(self.ci_low),
            "ci_high": number(self.ci_high),
            "replications": self.n,
            "confidence": self.confidence,
            "level": self.level,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Expectation:
    """``path op threshold``; ``threshold`` is in the metric's own unit (seconds, ratio)."""

    text: str
    scope: str | None  # None (overall), "directories" or "groups"
    name: str | None  # directory or group name
    metric: str
    op: str
    threshold: float

    @property
    def path(self) -> str:
        """The path of :meth:`ccsim.results.Summary.lookup`."""
        return self.metric if self.scope is None else f"{self.scope}.{self.name}.{self.metric}"

    def __str__(self) -> str:
        return self.text

    def check_names(self, directories: Collection[str], groups: Collection[str]) -> None:
        """Raise :class:`ExpectationError` if the directory or group is not in the scenario."""
        if self.scope is None:
            return
        known = directories if self.scope == "directories" else groups
        if self.name not in known:
            kind = "directory" if self.scope == "directories" else "agent group"
            listed = ", ".join(sorted(known)) or "none"
            raise ExpectationError(
                f"{self.text!r}: unknown {kind} {self.name!r}"
                f"{did_you_mean(str(self.name), known)}; the scenario has {listed}"
            )

    def estimate_in(self, summary: SummaryLike) -> EstimateLike:
        """This expectation's estimate in a ``Summary`` (names checked first)."""
        self.check_names(summary.directories, summary.groups)
        if self.scope is None:
            table: Mapping[str, Any] = summary.overall
        elif self.scope == "directories":
            table = summary.directories[str(self.name)]
        else:
            table = summary.groups[str(self.name)]
        if self.metric not in table:
            raise ExpectationError(f"{self.text!r}: the results have no {self.path!r}")
        return table[self.metric]

    def evaluate(
        self, estimate: EstimateLike, confidence: bool = False, level: float = 0.95
    ) -> Verdict:
        """Whether the mean satisfies the comparison, or with ``confidence`` the whole
        interval does (both ends: the interval is convex, so every point inside too).
        ``level`` is the interval's confidence level, for the messages."""
        compare = COMPARISONS[self.op]
        mean, low, high = float(estimate.mean), float(estimate.ci_low), float(estimate.ci_high)
        n = int(getattr(estimate, "n", 0))
        limit = format_metric_value(self.metric, self.threshold)
        reason = ""
        if math.isnan(mean):
            reason = "no value: the metric is undefined in every replication"
        elif confidence and (math.isnan(low) or math.isnan(high)):
            reason = "no confidence interval (needs at least 2 replications)"
        elif confidence:
            outside = [end for end in (low, high) if not compare(end, self.threshold)]
            if outside:
                reason = (
                    f"the {100 * level:g}% interval is not entirely {self.op} {limit} "
                    f"({format_metric_value(self.metric, outside[0])} is not)"
                )
        elif not compare(mean, self.threshold):
            reason = f"the mean is not {self.op} {limit}"
        return Verdict(self, not reason, mean, low, high, n, confidence, reason, level)


def _read_path(token: Token, text: str) -> tuple[str | None, str | None, str]:
    parts = token.text.split(".")
    if len(parts) == 1:
        metric = parts[0]
        if metric in SCOPES:
            raise ExpectationError(
                f"{text!r}: {metric!r} needs a name and a metric, e.g. {metric}.NAME.wait_p90"
            )
        _check_metric(metric, METRICS, text)
        return None, None, metric
    if len(parts) == 2 and parts[0] == "overall":
        _check_metric(parts[1], METRICS, text)
        return None, None, parts[1]
    scope = parts[0]
    if scope not in SCOPES:
        singular = {"directory": "directories", "group": "groups"}.get(scope)
        hint = f" (did you mean {singular!r}?)" if singular else did_you_mean(scope, SCOPES)
        raise ExpectationError(
            f"{text!r}: unknown scope {scope!r}{hint}; a path is METRIC, "
            "directories.NAME.METRIC or groups.NAME.METRIC"
        )
    if len(parts) != 3:
        raise ExpectationError(
            f"{text!r}: {token.text!r} is not a metric path; write {scope}.NAME.METRIC"
        )
    _, name, metric = parts
    allowed = SCOPES[scope]
    if metric in METRICS and metric not in allowed:
        if scope == "directories":
            why = f"{metric!r} is an agent metric: write groups.NAME.{metric} or {metric}"
        else:
            why = f"{metric!r} is a chat metric: write directories.NAME.{metric} or {metric}"
        raise ExpectationError(f"{text!r}: {why}")
    _check_metric(metric, allowed, text)
    return scope, name, metric


def parse_metric_path(
    text: str,
    directories: Collection[str] | None = None,
    groups: Collection[str] | None = None,
) -> str:
    """A metric path as ``ccsim check`` reads it, in the form of
    :meth:`ccsim.results.Summary.lookup`: ``service_level`` (also ``overall.service_level``),
    ``directories.NAME.METRIC`` or ``groups.NAME.METRIC``.

    Unknown metrics and scopes raise :class:`ExpectationError` with a did-you-mean; with
    ``directories`` and ``groups`` given, so do names the scenario does not have.
    """
    shown = str(text).strip()
    tokens = tokenize(shown)
    if len(tokens) != 1 or tokens[0].kind != "name":
        raise ExpectationError(
            f"{shown!r}: not a metric path; write METRIC, directories.NAME.METRIC or "
            "groups.NAME.METRIC, e.g. directories.sales.service_level"
        )
    scope, name, metric = _read_path(tokens[0], shown)
    if scope is not None and directories is not None and groups is not None:
        Expectation(shown, scope, name, metric, ">=", 0.0).check_names(directories, groups)
    return metric if scope is None else f"{scope}.{name}.{metric}"


def _check_metric(metric: str, allowed: Iterable[str], text: str) -> None:
    if metric not in allowed:
        hint = did_you_mean(metric, allowed)
        listed = "" if hint else f"; metrics: {', '.join(allowed)}"
        raise ExpectationError(f"{text!r}: unknown metric {metric!r}{hint}{listed}")


_OP_FIXES = {"=": "==", "=<": "<=", "=>": ">="}


def _read_quantity(token: Token, metric: str, text: str) -> float:
    """The threshold in the metric's unit: seconds for times, a fraction for ratios."""
    match = re.fullmatch(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(.*)", token.text, re.I)
    assert match is not None  # the tokenizer only makes number tokens that start so
    number, unit = float(match.group(1)), match.group(2).lower()
    if not math.isfinite(number):
        raise ExpectationError(f"{text!r}: the number must be finite")
    if unit == "%":
        if metric not in RATIO_METRICS:
            raise ExpectationError(
                f"{text!r}: '%' applies to ratios ({', '.join(sorted(RATIO_METRICS))}), "
                f"not to {metric!r}"
            )
        return number / 100
    if unit:
        if metric not in TIME_METRICS:
            kind = "a ratio (write 0.8 or 80%)" if metric in RATIO_METRICS else "a count"
            raise ExpectationError(
                f"{text!r}: {metric!r} is {kind}, it takes no time unit ({token.text!r})"
            )
        try:
            return parse_duration(token.text)
        except ValueError:
            raise ExpectationError(
                f"{text!r}: {token.text!r} is not a duration; use a number of seconds or "
                f"units {', '.join(_TIME_UNITS)} (30s, 1m30s, 2m)"
            ) from None
    if metric in RATIO_METRICS and not -1 <= number <= 1:
        raise ExpectationError(
            f"{text!r}: {metric!r} is a ratio between 0 and 1; write {number / 100:g} "
            f"or {number:g}%"
        )
    return number


def _join_units(tokens: list[Token]) -> list[Token]:
    """Read "30 s" and "80 %" (a unit after a space) as "30s" and "80%"."""
    joined: list[Token] = []
    for token in tokens:
        previous = joined[-1] if joined else None
        is_unit = token.text == "%" or (token.kind == "name" and token.text.lower() in _TIME_UNITS)
        bare = previous is not None and previous.kind == "number" and previous.text[-1].isdigit()
        if previous is not None and bare and is_unit:
            joined[-1] = Token("number", previous.text + token.text, previous.column)
            continue
        joined.append(token)
    return joined


def parse_expectation(text: str) -> Expectation:
    """Read ``"handoff_gap_p95 <= 30s"`` into an :class:`Expectation`.

    Raises :class:`ExpectationError` (a ``ValueError``) with a readable message for bad
    syntax, unknown metrics or scopes (with a did-you-mean) and units that do not fit.
    Directory and group names are checked later against a scenario
    (:meth:`Expectation.check_names`).
    """
    if not isinstance(text, str):
        raise ExpectationError(f"an expectation must be text, got {text!r}")
    shown = text.strip()
    tokens = tokenize(shown)
    example = "e.g. 'handoff_gap_p95 <= 30s' or 'groups.support_team.utilization < 0.85'"
    if not tokens:
        raise ExpectationError(f"empty expectation; write METRIC OP NUMBER, {example}")
    tokens = _join_units(tokens)
    for token in tokens:
        if token.kind == "other":
            raise ExpectationError(
                f"{shown!r}: unexpected {token.text!r} at column {token.column}; {example}"
            )
    if tokens[0].kind != "name":
        raise ExpectationError(f"{shown!r}: must start with a metric path, {example}")
    scope, name, metric = _read_path(tokens[0], shown)
    if len(tokens) < 2 or tokens[1].kind != "op":
        found = f"{tokens[1].text!r}" if len(tokens) > 1 else "the end"
        raise ExpectationError(
            f"{shown!r}: expected a comparison (<, <=, >, >=, ==) after {tokens[0].text!r}, "
            f"found {found}"
        )
    op = tokens[1].text
    if op in _OP_FIXES or op == "!=":
        hint = f"; did you mean {_OP_FIXES[op]!r}?" if op in _OP_FIXES else ""
        raise ExpectationError(
            f"{shown!r}: {op!r} is not a comparison; use <, <=, >, >= or =={hint}"
        )
    if len(tokens) < 3 or tokens[2].kind != "number":
        found = f"{tokens[2].text!r}" if len(tokens) > 2 else "the end"
        raise ExpectationError(
            f"{shown!r}: expected a number (with an optional unit: 30s, 2m, 80%) after "
            f"{op!r}, found {found}"
        )
    threshold = _read_quantity(tokens[2], metric, shown)
    if len(tokens) > 3:
        extra = tokens[3]
        raise ExpectationError(
            f"{shown!r}: unexpected {extra.text!r} at column {extra.column}; one comparison "
            "per expectation (give several --expect instead)"
        )
    return Expectation(shown, scope, name, metric, op, threshold)


def parse_quantity(text: str | float, metric: str) -> float:
    """A number with an optional unit (``"5s"``, ``"2%"``, ``0.01``) in ``metric``'s unit."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    tokens = tokenize(str(text).strip())
    if len(tokens) != 1 or tokens[0].kind != "number":
        raise ExpectationError(f"{text!r}: expected a number with an optional unit (5s, 2%)")
    return _read_quantity(tokens[0], metric, str(text))


def evaluate_all(
    summary: SummaryLike,
    expectations: Iterable[Expectation],
    confidence: bool = False,
    level: float = 0.95,
) -> list[Verdict]:
    """Every expectation's verdict on a ``Summary`` (names are checked first, all of them);
    ``level`` is the confidence level the summary's intervals were computed at."""
    expectations = list(expectations)
    for expectation in expectations:
        expectation.check_names(summary.directories, summary.groups)
    return [e.evaluate(e.estimate_in(summary), confidence, level) for e in expectations]


__all__ = [
    "COMPARISONS",
    "METRICS",
    "Expectation",
    "ExpectationError",
    "Verdict",
    "did_you_mean",
    "evaluate_all",
    "format_metric_value",
    "parse_expectation",
    "parse_metric_path",
    "parse_quantity",
]
