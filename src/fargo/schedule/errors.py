"""The one error type of the schedule engine."""

from __future__ import annotations


class ScheduleError(ValueError):
    """An expression or time zone AWS would reject; carries one message per problem found."""

    def __init__(self, messages: list[str] | str) -> None:
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("; ".join(self.messages))
