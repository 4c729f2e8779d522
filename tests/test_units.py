"""Durations and rates as written in scenario files, and their short display form."""

from __future__ import annotations

import math

import pytest

from ccsim.scenario.units import compact_duration, format_duration, parse_duration, parse_rate


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        (0, 0.0),
        ("90", 90.0),
        ("2.5", 2.5),
        ("30s", 30.0),
        ("4m", 240.0),
        ("5min", 300.0),
        ("1h", 3600.0),
        ("1.5h", 5400.0),
        ("1h30m", 5400.0),
        ("1h 30m", 5400.0),
        (" 4 M ", 240.0),
        ("1m30.5s", 90.5),
        ("250ms", 0.25),
        (".5s", 0.5),
        ("2d", 172800.0),
        ("1e3", 1000.0),
        ("-1m", -60.0),  # read, so that the schema can say "must not be negative" with a path
        ("-5", -5.0),
    ],
)
def test_parse_duration(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_duration_returns_float() -> None:
    assert isinstance(parse_duration(90), float)
    assert isinstance(parse_duration("90"), float)


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "m", "1h30", "30 seconds", "1.5.3", "4m-", "h1", "inf", "nan", "30s!", "1/h"],
)
def test_parse_duration_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a duration such as 90, 30s, 4m or 1h30m"):
        parse_duration(bad)


@pytest.mark.parametrize("bad", [True, False, None, [1], {"mean": 3}, math.inf, math.nan])
def test_parse_duration_rejects_other_types(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


def test_parse_duration_message_shows_the_value() -> None:
    with pytest.raises(ValueError, match=r"got 'abc'$"):
        parse_duration("abc")
    with pytest.raises(ValueError, match=r"got true$"):
        parse_duration(True)
    with pytest.raises(ValueError, match=r"got a mapping$"):
        parse_duration({"x": 3})


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("180/h", 0.05),
        ("3/m", 0.05),
        ("3/min", 0.05),
        ("0.05/s", 0.05),
        ("0.05/sec", 0.05),
        ("180/hour", 0.05),
        ("4320/d", 0.05),
        ("4320/day", 0.05),
        ("180 / H", 0.05),
        ("0.05", 0.05),
        (0.05, 0.05),
        (2, 2.0),
        ("1e-3", 0.001),
        ("-3/h", -3 / 3600),  # read; the schema says "must be positive"
    ],
)
def test_parse_rate(text: object, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("bad", ["", "abc", "/h", "180/w", "180 per hour", "3m", "inf"])
def test_parse_rate_rejects_bad_strings(bad: str) -> None:
    with pytest.raises(ValueError, match="expected a rate such as 180/h"):
        parse_rate(bad)


@pytest.mark.parametrize("bad", [True, False, None, [1], math.nan, -math.inf])
def test_parse_rate_rejects_other_types(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a rate"):
        parse_rate(bad)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0.0s"),
        (30, "30.0s"),
        (2.26, "2.3s"),
        (59.96, "1m00s"),  # rounds up to a minute, never "60.0s"
        (95, "1m35s"),
        (3600, "1h00m"),
        (5400, "1h30m"),
        (90000, "25h00m"),
        (-90, "-1m30s"),
        (math.nan, "-"),
        (math.inf, "inf"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (30, "30s"), (90.5, "1m30.5s"), (240, "4m"), (5400, "1h30m"), (-60, "-1m")],
)
def test_compact_duration_reads_back(seconds: float, text: str) -> None:
    assert compact_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)
