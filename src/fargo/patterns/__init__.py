"""EventBridge event patterns: checked as EventBridge checks them, matched as it matches events.

Imports nothing else of fargo. Public surface:
- `check(pattern)`: one message per problem, each naming the field (`detail.state[0]`);
- `matches(pattern, event)`: whether EventBridge would deliver `event` to a rule with `pattern`;
- `sample(pattern)`: an event the pattern matches, with EventBridge's envelope filled in.
"""

from fargo.patterns.check import PATTERN_MAX_CHARS, check
from fargo.patterns.match import matches
from fargo.patterns.sample import sample

__all__ = ["PATTERN_MAX_CHARS", "check", "matches", "sample"]
