"""`Publisher`: an approved FAQ candidate as Markdown files under `knowledge/learned/`, indexed.

One file per language, `learned/faq-0007.es.md`, `learned/faq-0007.en.md` (parallel versions of one
document, so the asker's language is preferred), each with its front matter (language, audience,
approved by, date, case ids, review-by date) and one section per question: the heading is the
question, the other phrasings people used follow as a line, then the answer. The title is what a
citation shows: "Answered by the counselling desk, approved on 2026-12-01".

`reindex` (an incremental ingest, then the assistant's index swapped in) runs after every write or
removal, one at a time; answers keep flowing meanwhile on the previous index.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from datetime import timezone, tzinfo
from pathlib import Path

from bot.learning.store import Candidate

logger = logging.getLogger(__name__)

FOLDER = "learned"
TITLES = {
    "en": "Answered by the counselling desk, approved on {date}",
    "es": "Respondido por el equipo de consejería, aprobado el {date}",
    "zh-TW": "輔導團隊的回答，{date} 核准",
}
ALSO_ASKED = {"en": "Also asked as", "es": "También se preguntó así", "zh-TW": "其他問法"}


class Publisher:
    def __init__(
        self, knowledge_dir: Path, reindex: Callable[[], object] | None = None,
        *, approver_name: Callable[[int | None], str] = lambda _id: "", tz: tzinfo = timezone.utc,
    ) -> None:  # fmt: skip
        self.folder = Path(knowledge_dir) / FOLDER
        self.reindex = reindex
        self.approver_name = approver_name
        self.tz = tz  # the desk's time zone: "approved on" is its local date
        self._lock = threading.Lock()

    def paths(self, candidate_id: int) -> list[Path]:
        return sorted(self.folder.glob(f"faq-{candidate_id:04d}.*.md"))

    def publish(self, candidate: Candidate) -> list[Path]:
        """Write (or rewrite) the candidate's files from its approved versions and index them;
        on a failure the folder is put back as it was, so no unapproved text stays behind."""
        with self._lock:
            return self._apply({candidate.id: self._files(candidate)}, [candidate.id])

    def withdraw(self, candidate: Candidate) -> int:
        """Remove the candidate's files and index without them (on a failure they come back)."""
        with self._lock:
            removed = len(self.paths(candidate.id))
            if removed:
                self._apply({candidate.id: {}}, [candidate.id])
            return removed

    def sync(self, live: list[Candidate]) -> bool:
        """The folder holds exactly the files of `live` (with these contents): what a failed
        write or another replica's approval left different is put right, then indexed."""
        with self._lock:
            wanted = {c.id: self._files(c) for c in live}
            present = {int(m.group(1)) for p in self.folder.glob("faq-*.md")
                       if (m := re.match(r"faq-(\d+)\.", p.name))}  # fmt: skip
            changed = []
            for cid in sorted(set(wanted) | present):
                files = wanted.get(cid, {})
                current = {p.name: p.read_text(encoding="utf-8") for p in self.paths(cid)}
                if current != {path.name: text for path, text in files.items()}:
                    changed.append(cid)
            if not changed:
                return False
            self._apply({cid: wanted.get(cid, {}) for cid in changed}, changed)
            return True

    def _files(self, candidate: Candidate) -> dict[Path, str]:
        languages = dict.fromkeys(v.language for v in candidate.published)
        return {self.folder / f"faq-{candidate.id:04d}.{lang}.md": self.render(candidate, lang)
                for lang in languages}  # fmt: skip

    def _apply(self, files: dict[int, dict[Path, str]], ids: list[int]) -> list[Path]:
        """Make each candidate's files exactly `files[id]`, then re-index; undo on a failure."""
        before = {p: p.read_text(encoding="utf-8") for cid in ids for p in self.paths(cid)}
        written: list[Path] = []
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for cid in ids:
                wanted = files.get(cid, {})
                for path, text in wanted.items():
                    _write_atomic(path, text)
                    written.append(path)
                for stale in set(self.paths(cid)) - set(wanted):
                    stale.unlink()
            self._reindex()
        except Exception:
            for cid in ids:
                for path in self.paths(cid):
                    path.unlink()
            for path, text in before.items():
                _write_atomic(path, text)
            raise
        return written

    def render(self, candidate: Candidate, language: str) -> str:
        variants = [v for v in candidate.published if v.language == language]
        reviewed = candidate.reviewed_at
        approved = reviewed.astimezone(self.tz).date().isoformat() if reviewed else ""
        title = TITLES.get(language, TITLES["en"]).format(date=approved)
        main, others = variants[0], variants[1:]
        cases = ", ".join(str(i) for i in sorted({v.case_id for v in variants if v.case_id}))
        front = [
            "---",
            f"title: {_quoted(title)}",
            f"language: {language}",
            f"audience: {candidate.audience}",
            "doc_type: faq",
            f"updated: {approved}",
            f"approved_by: {_quoted(self.approver_name(candidate.reviewed_by))}",
            f"review_by: {candidate.review_by.isoformat() if candidate.review_by else ''}",
            f"case_ids: {_quoted(cases)}",
            f"faq_candidate: {candidate.id}",
            "---",
            "",
            f"# {title}",
            "",
            f"## {_one_line(main.question)}",
            "",
        ]
        if others:
            also = "; ".join(f"«{_one_line(v.question)}»" for v in others)
            front += [f"{ALSO_ASKED.get(language, ALSO_ASKED['en'])}: {also}", ""]
        front += [main.answer.strip(), ""]
        return "\n".join(front)

    def _reindex(self) -> None:
        if self.reindex is not None:
            self.reindex()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _one_line(text: str) -> str:
    return " ".join(text.split()).lstrip("#").strip()


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
