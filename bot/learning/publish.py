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
import threading
from collections.abc import Callable
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
        *, approver_name: Callable[[int | None], str] = lambda _id: "",
    ) -> None:  # fmt: skip
        self.folder = Path(knowledge_dir) / FOLDER
        self.reindex = reindex
        self.approver_name = approver_name
        self._lock = threading.Lock()

    def paths(self, candidate_id: int) -> list[Path]:
        return sorted(self.folder.glob(f"faq-{candidate_id:04d}.*.md"))

    def publish(self, candidate: Candidate) -> list[Path]:
        """Write (or rewrite) the candidate's files and index them."""
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            written = []
            for language in candidate.languages:
                path = self.folder / f"faq-{candidate.id:04d}.{language}.md"
                _write_atomic(path, self.render(candidate, language))
                written.append(path)
            for stale in set(self.paths(candidate.id)) - set(written):
                stale.unlink()
            self._reindex()
            return written

    def withdraw(self, candidate: Candidate) -> int:
        """Remove the candidate's files and index without them; the number of files removed."""
        with self._lock:
            removed = 0
            for path in self.paths(candidate.id):
                path.unlink()
                removed += 1
            if removed:
                self._reindex()
            return removed

    def render(self, candidate: Candidate, language: str) -> str:
        variants = [v for v in candidate.variants if v.language == language]
        approved = (candidate.reviewed_at.date().isoformat() if candidate.reviewed_at else "")
        title = TITLES.get(language, TITLES["en"]).format(date=approved)
        main, others = variants[0], variants[1:]
        cases = ", ".join(str(i) for i in candidate.case_ids)
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
