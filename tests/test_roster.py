"""The roster file: the example loads, and mistakes are reported with their line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.escalation.roster import RosterError, load_roster, parse_roster

EXAMPLE = Path(__file__).resolve().parents[1] / "roster.example.yaml"

VALID = """\
timezone: Asia/Taipei
desk:
  chat_id: -1001000000001
  thread_id: 3
backup: 100000009
people:
  - id: 100000001
    name: Lin
    languages: [zh-TW, en]
    roles: [counselor]
  - id: 100000009
    name: Night
    languages: [en]
    roles: [counselor, desk_admin]
    on_duty: true
mentors:
  200000001: 100000001
  "@Sofia_HMO": 100000001
"""


def test_the_example_roster_loads():
    roster = load_roster(EXAMPLE)
    assert roster.desk.chat_id == -1001000000001 and roster.desk.thread_id == 2
    assert roster.backup.name == "Night duty officer"
    assert roster.mentor_for(200000001).name == "Dr. Chen Wei"
    assert roster.mentor_for(999, "sofia_hmo").name == "Prof. Huang Li-ting"
    assert {p.id for p in roster.with_role("counselor")} == {100000001, 100000002, 100000009}
    assert roster.is_admin(100000009) and not roster.is_admin(100000001)


def test_mentors_by_id_or_username_case_insensitive():
    roster = parse_roster(VALID)
    assert roster.mentor_for(200000001).id == 100000001
    assert roster.mentor_for(123, "@sofia_hmo").id == 100000001
    assert roster.mentor_for(123, "someone") is None


def _error(text: str) -> RosterError:
    with pytest.raises(RosterError) as info:
        parse_roster(text, source="roster.yaml")
    return info.value


def test_a_bad_language_names_its_line_and_field():
    error = _error(VALID.replace("languages: [en]", "languages: [en, fr]"))
    assert (error.line, error.field) == (13, "people[1].languages[1]")
    assert "roster.yaml:13: people[1].languages[1]" in str(error)


def test_a_missing_field_points_at_its_person():
    error = _error(VALID.replace("    name: Lin\n", ""))
    assert error.field == "people[0].name" and error.line == 7
    assert "Field required" in str(error)


def test_bad_hours_name_the_line():
    text = VALID.replace("    on_duty: true\n", '    hours: "Mon-Fri 9-17"\n')
    error = _error(text)
    assert (error.line, error.field) == (15, "people[1].hours")
    assert "time range" in str(error)


def test_an_unknown_mentor_and_backup_are_reported_together():
    text = VALID.replace("backup: 100000009", "backup: 555").replace(
        '"@Sofia_HMO": 100000001', '"@Sofia_HMO": 777'
    )
    error = _error(text)
    assert [(line, field) for line, field, _ in error.problems] == [
        (5, "backup"),
        (18, "mentors.@sofia_hmo"),
    ]


def test_duplicate_ids_and_unknown_keys():
    error = _error(
        VALID.replace("id: 100000009", "id: 100000001").replace("backup: 100000009\n", "")
    )
    assert error.problems[0][1] == "people[1].id" and error.problems[0][0] == 10
    error = _error(VALID.replace("  thread_id: 3", "  thred_id: 3"))
    assert (error.line, error.field) == (4, "desk.thred_id")


def test_yaml_syntax_errors_have_a_line():
    error = _error(VALID.replace("roles: [counselor]\n", "roles: [counselor\n", 1))
    assert error.field == "yaml" and error.line is not None


def test_a_missing_file_is_a_roster_error(tmp_path):
    with pytest.raises(RosterError):
        load_roster(tmp_path / "nope.yaml")
