"""The one topic vocabulary: what triage emits, what the roster lists, what routing and the
desk's texts know (`desk.topics.<topic>` in every language; a test checks each has a route and a
text).

- wellbeing: mood, loneliness, suicide and self-harm        -> counselors
- health:    medical emergencies, illness, pregnancy         -> counselors
- safety:    violence, threats, being followed, fire         -> counselors
- family:    family at home                                  -> counselors
- conduct:   harassment, discrimination, accusations         -> staff listing it, else counselors
- academic:  grades, mentors, courses, attendance            -> the trainee's faculty mentor
- exams:     the certification exams                         -> exam staff
- visa, housing, finance                                     -> staff listing the topic
- other:     anything else                                   -> the desk chat
"""

from __future__ import annotations

from typing import Literal, get_args

Topic = Literal[
    "wellbeing", "health", "safety", "family", "conduct", "academic", "exams", "visa",
    "housing", "finance", "other",
]  # fmt: skip
TOPICS: tuple[str, ...] = get_args(Topic)

# Topics a counselor handles; a case on another sensitive topic that nobody lists goes to the
# counselors too, never to the desk group with its text.
COUNSELING_TOPICS = frozenset({"wellbeing", "health", "safety", "family"})
# Topics whose cases are confidential whatever the reason (redacted in the desk group).
SENSITIVE_TOPICS = frozenset({"wellbeing", "health", "safety", "family", "conduct"})


def as_topic(value: str | None) -> str | None:
    """A known topic, or None (an unknown or missing one is routed as "no topic")."""
    return value if value in TOPICS else None
