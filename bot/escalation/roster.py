"""The desk roster: who covers which trainees, topics, languages and hours (a YAML file).

`load_roster(path)` validates the file and raises `RosterError` naming the line and the field of
every problem, e.g. `roster.yaml:14: people[1].languages[0]: Input should be 'es', 'en' or 'zh-TW'`.
`roster.example.yaml` at the repository root documents every field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.errors import SetupError
from bot.escalation.hours import InvalidHours, WeeklyHours
from bot.topics import Topic

Language = Literal["es", "en", "zh-TW"]
Role = Literal["counselor", "mentor", "exam_staff", "desk_admin", "staff"]


class RosterError(SetupError, ValueError):
    """A roster that cannot be used; `problems` holds (line, field, message) for each issue."""

    def __init__(self, source: str, problems: list[tuple[int | None, str, str]]) -> None:
        self.source = source
        self.problems = problems
        lines = [
            f"{source}:{line if line is not None else '?'}: {field}: {message}"
            for line, field, message in problems
        ]
        super().__init__("invalid roster\n" + "\n".join(lines))

    @property
    def line(self) -> int | None:
        return self.problems[0][0] if self.problems else None

    @property
    def field(self) -> str:
        return self.problems[0][1] if self.problems else ""


# --- the file's shape (pydantic) ------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonModel(_Strict):
    id: int = Field(gt=0)
    name: str = Field(min_length=1)
    username: str | None = None
    languages: list[Language] = Field(min_length=1)
    topics: list[Topic] = Field(default_factory=list)
    roles: list[Role] = Field(min_length=1)
    hours: str | list[str] | None = None
    on_duty: bool | None = None

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None:
            try:
                WeeklyHours.parse(value)
            except InvalidHours as exc:
                raise ValueError(str(exc)) from None
        return value


class DeskModel(_Strict):
    chat_id: int
    thread_id: int | None = Field(default=None, gt=0)
    language: Language = "en"


class RosterModel(_Strict):
    timezone: str = "Asia/Taipei"
    default_hours: str = "Mon-Fri 08:30-17:00"
    desk: DeskModel
    backup: int | None = None
    people: list[PersonModel] = Field(min_length=1)
    mentors: dict[str, int] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("default_hours")
    @classmethod
    def _default_hours(cls, value: str) -> str:
        try:
            WeeklyHours.parse(value)
        except InvalidHours as exc:
            raise ValueError(str(exc)) from None
        return value


# --- what the rest of the desk uses -------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    languages: tuple[str, ...]
    topics: frozenset[str]
    roles: frozenset[str]
    hours: WeeklyHours
    on_duty: bool | None = None
    username: str | None = None

    def available(self, local: datetime) -> bool:
        """On duty now. `on_duty` overrides the hours when set (true: on call; false: away)."""
        if self.on_duty is not None:
            return self.on_duty
        return self.hours.is_open(local)

    def speaks(self, language: str) -> bool:
        return language in self.languages

    @property
    def language(self) -> str:
        """The language to write to this person in."""
        return self.languages[0]


@dataclass(frozen=True)
class DeskChat:
    chat_id: int
    thread_id: int | None = None
    language: str = "en"


@dataclass(frozen=True)
class Roster:
    people: dict[int, Person]
    mentors: dict[str, int]  # trainee id as text, or "@username" in lower case -> mentor id
    desk: DeskChat
    backup_id: int | None
    tz: ZoneInfo

    def person(self, person_id: int | None) -> Person | None:
        return self.people.get(person_id) if person_id is not None else None

    @property
    def backup(self) -> Person | None:
        return self.person(self.backup_id)

    def mentor_for(self, user_id: int, username: str | None = None) -> Person | None:
        mentor_id = self.mentors.get(str(user_id))
        if mentor_id is None and username:
            mentor_id = self.mentors.get("@" + username.lstrip("@").lower())
        return self.person(mentor_id)

    def with_role(self, role: str) -> list[Person]:
        return [p for p in self.people.values() if role in p.roles]

    def with_topic(self, topic: str) -> list[Person]:
        return [p for p in self.people.values() if topic in p.topics]

    def is_admin(self, person_id: int) -> bool:
        person = self.person(person_id)
        return bool(person and "desk_admin" in person.roles)

    def local(self, now: datetime) -> datetime:
        return now.astimezone(self.tz)


# --- loading ----------------------------------------------------------------------------------


def load_roster(path: str | Path) -> Roster:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RosterError(str(path), [(None, "file", exc.strerror or str(exc))]) from None
    return parse_roster(text, source=str(path))


def parse_roster(text: str, *, source: str = "<roster>") -> Roster:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise RosterError(source, [(line, "yaml", str(exc.problem))]) from None
    if not isinstance(data, dict):
        raise RosterError(source, [(1, "roster", "expected a mapping (desk:, people:, ...)")])
    if isinstance(data.get("mentors"), dict):
        # Trainee ids may be written as numbers; keys are compared as text.
        data["mentors"] = {_mentor_key(k): v for k, v in data["mentors"].items()}
    try:
        model = RosterModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = [p for p in error["loc"] if not _is_union_tag(p)]
            problems.append((_line_of(root, loc), _field_name(loc), error["msg"]))
        raise RosterError(source, problems) from None
    problems = _cross_check(model, root)
    if problems:
        raise RosterError(source, problems)
    return _build(model)


def _cross_check(model: RosterModel, root: yaml.Node) -> list[tuple[int | None, str, str]]:
    problems: list[tuple[int | None, str, str]] = []
    seen: set[int] = set()
    for i, person in enumerate(model.people):
        if person.id in seen:
            loc = ["people", i, "id"]
            problems.append((_line_of(root, loc), _field_name(loc), f"duplicate id {person.id}"))
        seen.add(person.id)
    if model.backup is not None and model.backup not in seen:
        problems.append((_line_of(root, ["backup"]), "backup", f"{model.backup} is not in people"))
    for trainee, mentor in model.mentors.items():
        loc = ["mentors", trainee]
        if mentor not in seen:
            problems.append((_line_of(root, loc), _field_name(loc), f"{mentor} is not in people"))
        if not _MENTOR_KEY.fullmatch(str(trainee).strip()):
            problems.append((
                _line_of(root, loc), _field_name(loc),
                f"{trainee!r} is neither a Telegram user id nor an @username (5-32 letters, "
                "digits or _)",
            ))  # fmt: skip
    if not any("desk_admin" in p.roles for p in model.people):
        problems.append((
            _line_of(root, ["people"]), "people",
            "nobody has the desk_admin role: at least one desk admin must be able to resolve or "
            "reassign any case",
        ))  # fmt: skip
    return problems


_MENTOR_KEY = re.compile(r"\d+|@[A-Za-z0-9_]{5,32}")


def _build(model: RosterModel) -> Roster:
    default = WeeklyHours.parse(model.default_hours)
    people = {
        p.id: Person(
            id=p.id,
            name=p.name,
            languages=tuple(p.languages),
            topics=frozenset(p.topics),
            roles=frozenset(p.roles),
            hours=WeeklyHours.parse(p.hours) if p.hours is not None else default,
            on_duty=p.on_duty,
            username=p.username.lstrip("@") if p.username else None,
        )
        for p in model.people
    }
    return Roster(
        people=people,
        mentors=dict(model.mentors),
        desk=DeskChat(model.desk.chat_id, model.desk.thread_id, model.desk.language),
        backup_id=model.backup,
        tz=ZoneInfo(model.timezone),
    )


def _mentor_key(key: Any) -> str:
    text = str(key).strip()
    return text.lower() if text.startswith("@") else text


def _is_union_tag(part: Any) -> bool:
    # pydantic adds the tried type to the location of union errors: ('hours', 'str').
    return isinstance(part, str) and (part in {"str", "int", "list[str]", "bool"} or "[" in part)


def _field_name(loc: list[Any]) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "roster"


def _line_of(root: yaml.Node | None, loc: list[Any]) -> int | None:
    """The 1-based line of the deepest YAML node on `loc` (the key's line for a missing field)."""
    node = root
    line = root.start_mark.line + 1 if root is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(
                ((k, v) for k, v in node.value if _mentor_key(k.value) == _mentor_key(part)), None
            )
            if match is None:
                return line
            key_node, node = match
            line = key_node.start_mark.line + 1
            if not isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
                line = node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
