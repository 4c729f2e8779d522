"""The covering problem (ccsim.planning.covering): the textbook case to its proven optimum,
small exact cases where breaks, shift limits and the on-duty limit bind."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ccsim.planning.covering import CoveringInfeasible, solve_covering
from ccsim.planning.templates import (
    ShiftOption,
    coverage_matrix,
    on_duty_steps,
    parse_templates,
)

# The two-day workforce example of pyworkforce (rodrigo-arenas/pyworkforce,
# examples/scheduling/min_required_resources.py): hourly requirements for two days and
# four shift patterns per day, at most 27 people working in any hour, at most 25 on one
# shift (pattern on one day). The Night pattern covers hours 0-4 and 21-23 of its own day.
TEXTBOOK_REQUIRED = [
    [9, 11, 17, 9, 7, 12, 5, 11, 8, 9, 18, 17, 8, 12, 16, 8, 7, 12, 11, 10, 13, 19, 16, 7],
    [13, 13, 12, 15, 18, 20, 13, 16, 17, 8, 13, 11, 6, 19, 11, 20, 19, 17, 10, 13, 14, 23, 16, 8],
]
TEXTBOOK_PATTERNS = {
    "Morning": [0] * 5 + [1] * 8 + [0] * 11,
    "Afternoon": [0] * 13 + [1] * 8 + [0] * 3,
    "Night": [1] * 5 + [0] * 16 + [1] * 3,
    "Mixed": [0] * 9 + [1] * 8 + [0] * 7,
}


def textbook_problem() -> tuple[np.ndarray, np.ndarray]:
    """48 hourly rows, 8 columns (each pattern on each day)."""
    patterns = np.array(list(TEXTBOOK_PATTERNS.values()), dtype=float)  # 4 x 24
    coverage = np.zeros((48, 8))
    for day in range(2):
        coverage[day * 24 : (day + 1) * 24, day * 4 : (day + 1) * 4] = patterns.T
    return coverage, np.array(TEXTBOOK_REQUIRED, dtype=float).ravel()


def brute_force_day(required: list[int], most_per_shift: int, most_at_once: int) -> int:
    """The fewest shifts covering one day, by trying every count of every pattern
    (26^4 combinations, vectorised): no solver involved."""
    patterns = np.array(list(TEXTBOOK_PATTERNS.values()), dtype=np.int16)
    counts = np.array(
        list(itertools.product(range(most_per_shift + 1), repeat=len(patterns))), dtype=np.int16
    )
    on_duty = counts @ patterns  # combinations x 24
    ok = np.all(on_duty >= np.array(required), axis=1) & np.all(on_duty <= most_at_once, axis=1)
    return int(counts[ok].sum(axis=1).min())


def test_textbook_two_days_four_patterns_is_113_agent_shifts() -> None:
    coverage, required = textbook_problem()
    solution = solve_covering(coverage, required, np.ones(8), column_max=[25] * 8, on_duty_max=27)
    independent = sum(brute_force_day(day, 25, 27) for day in TEXTBOOK_REQUIRED)
    assert solution.optimal
    assert solution.cost == independent == 113
    on_duty = coverage @ np.array(solution.counts)
    assert np.all(on_duty >= required) and np.all(on_duty <= 27)
    assert max(solution.counts) <= 25


def test_textbook_without_limits_has_the_same_optimum() -> None:
    """The limits do not bind in the textbook case: the optimum stays at its bound."""
    coverage, required = textbook_problem()
    solution = solve_covering(coverage, required, np.ones(8))
    assert solution.cost == sum(brute_force_day(day, 30, 10**4) for day in TEXTBOOK_REQUIRED)


def test_textbook_limit_below_a_required_hour_is_refused_naming_the_hour() -> None:
    coverage, required = textbook_problem()
    with pytest.raises(CoveringInfeasible) as caught:
        solve_covering(coverage, required, np.ones(8), on_duty_max=22)
    assert caught.value.intervals == [45]  # day 2, hour 21 needs 23
    assert "more than max_at_once (22)" in str(caught.value)


def _options(data: dict) -> list[ShiftOption]:
    spec = parse_templates({"groups": {"team": {"templates": data}}}).groups["team"]
    return [
        ShiftOption(name, float(start), template)
        for name, template in spec.templates.items()
        for start in template.start_values()
    ]


def test_break_time_does_not_cover_its_interval() -> None:
    """A 4h shift with a break from 1h to 2h is on duty in hours 0, 2 and 3 only; a
    30-minute break in an hour counts as half an agent."""
    options = _options(
        {
            "long": {"starts": [0], "length": "4h", "breaks": [{"at": "1h", "length": "1h"}]},
            "short": {"starts": [0, 3600], "length": "1h"},
            "halves": {"starts": [0], "length": "2h", "breaks": [{"at": "30m", "length": "30m"}]},
        }
    )
    edges = [(h * 3600.0, (h + 1) * 3600.0) for h in range(4)]
    coverage = coverage_matrix(options, edges)
    by_name = {(o.template, o.start): [row[j] for row in coverage] for j, o in enumerate(options)}
    assert by_name[("long", 0.0)] == [1, 0, 1, 1]
    assert by_name[("halves", 0.0)] == [0.5, 1, 0, 0]
    # cheapest: long (4h for cost 4) plus short at 1h; hour 1 is not covered by long's break
    costs = [o.spec.shift_cost for o in options]
    solution = solve_covering(coverage, [1, 1, 1, 1], costs)
    chosen = {(o.template, o.start): c for o, c in zip(options, solution.counts, strict=True) if c}
    assert chosen == {("long", 0.0): 1, ("short", 3600.0): 1}
    assert solution.cost == 5
    assert on_duty_steps(options, solution.counts, 4 * 3600.0) == [(0.0, 4 * 3600.0, 1)]


def test_max_per_shift_binds_and_the_dearer_shift_fills_the_rest() -> None:
    coverage = [[1, 1]]
    free = solve_covering(coverage, [3], [1, 2])
    capped = solve_covering(coverage, [3], [1, 2], column_max=[2, None])
    assert free.counts == (3, 0) and free.cost == 3
    assert capped.counts == (2, 1) and capped.cost == 4


def test_max_agents_on_a_template_binds_across_its_starts() -> None:
    # two starts of a cheap template (columns 0, 1), one dear all-day shift (column 2)
    coverage = [[1, 0, 1], [0, 1, 1]]
    free = solve_covering(coverage, [2, 2], [1, 1, 3])
    capped = solve_covering(coverage, [2, 2], [1, 1, 3], groups=[([0, 1], 2)])
    assert free.counts == (2, 2, 0) and free.cost == 4
    # at most 2 on the cheap template: 1 + 1 of it and 1 all-day shift
    assert capped.counts == (1, 1, 1) and capped.cost == 5


def test_max_at_once_binds_where_two_shifts_overlap() -> None:
    """Shifts of two hours starting at 0h and 1h overlap in hour 1; singles cost 1.5.
    Requirements 2, 0, 2: four long shifts (cost 4) put 4 on duty in hour 1; with at
    most 2 at once, hour 2 needs two singles instead (cost 2 + 3 = 5)."""
    coverage = [[1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 0, 1]]
    costs = [1, 1, 1.5, 1.5]
    free = solve_covering(coverage, [2, 0, 2], costs)
    capped = solve_covering(coverage, [2, 0, 2], costs, on_duty_max=2)
    assert free.counts == (2, 2, 0, 0) and free.cost == 4
    assert capped.cost == 5 and capped.counts in {(2, 0, 0, 2), (0, 2, 2, 0)}
    assert max(np.asarray(coverage) @ np.array(capped.counts)) <= 2


def test_limits_that_conflict_only_together_are_refused() -> None:
    with pytest.raises(CoveringInfeasible) as caught:
        solve_covering([[1, 1], [1, 1]], [2, 2], [1, 1], column_max=[1, 1], groups=[([0, 1], 1)])
    # each column alone could bring 1 agent, so no single interval is to blame
    assert caught.value.intervals == []
    assert "the limits together" in str(caught.value)


def test_an_interval_no_shift_covers_is_named() -> None:
    with pytest.raises(CoveringInfeasible) as caught:
        solve_covering([[1], [0]], [1, 1], [1])
    assert caught.value.intervals == [1]
    assert "no shift is on duty" in str(caught.value)


def test_nothing_required_costs_nothing() -> None:
    solution = solve_covering([[1, 0], [0, 1]], [0, 0], [1, 1])
    assert solution.counts == (0, 0) and solution.cost == 0
