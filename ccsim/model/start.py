"""Where a run starts: chats already waiting and chats already held, as plain data.

The snapshot file a planner writes (or the end state of another run) is read and checked
against the scenario in :mod:`ccsim.initial`; the model receives only this resolved form:
names that exist, a member for every held chat, times in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WaitingChat:
    """A chat in ``directory``'s queue at the start, after waiting ``waited`` seconds."""

    directory: str
    waited: float


@dataclass(frozen=True)
class HeldChat:
    """A chat that member ``member`` of ``group`` is handling at the start, for
    ``directory``, with ``work_left`` seconds of handling to go (then the chat ends)."""

    group: str
    member: int
    directory: str
    work_left: float


@dataclass(frozen=True)
class StartState:
    """The chats in the center when the run starts (time 0)."""

    waiting: tuple[WaitingChat, ...] = ()
    held: tuple[HeldChat, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.waiting and not self.held
