"""Ingestion: loaders, chunk metadata, and the incremental, idempotent pipeline.

Fast: the embedder is `tests.fakes.HashEmbedder`; Chroma and BM25 are real, in `tmp_path`. The
fixture files are generated here (PDF with fpdf2, DOCX with python-docx, the rest as text).
"""

from __future__ import annotations

import json
import os
import random
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest

from bot.index import (
    CHUNKS,
    COLLECTION,
    MANIFEST,
    Chunk,
    IndexCorrupt,
    IndexMissing,
    IndexModelMismatch,
    chroma_client,
    dense_search,
    open_index,
    read_chunks,
)
from bot.ingestion.pipeline import IngestReport, ingest
from bot.retrieval import HybridRetriever
from tests.conftest import KNOWLEDGE
from tests.fakes import HashEmbedder

FILE_DATE = datetime(2026, 3, 14, 12, 0)  # the mtime given to files without front matter

HOUSING_MD = """\
---
title: Trainee handbook
language: en
audience: trainee
doc_type: handbook
updated: 2026-09-01
---

# Trainee handbook

Welcome to the programme. This handbook explains where you live and how the weeks are organised.

## Housing

Trainees live in Dormitory 3 on the north side of the campus, two people to a room.

### Laundry

Washing machines are in the basement of Dormitory 3 and take a prepaid laundry card.

| Machine | Price | Hours |
|---|---|---|
| Washer | NT$20 | 06:00-23:00 |
| Dryer | NT$10 | 06:00-23:00 |

- Bring your own detergent; the shop in the lobby sells it.
- Lost cards are replaced at the dormitory office for NT$100.

### Quiet hours

Quiet hours run from 23:00 to 07:00 every night, and visitors must leave by 22:00.

## Meals

The cafeteria serves breakfast from 07:00 and lunch from 11:30; meal vouchers are given every Monday.
"""

WELCOME_TXT = """\
---
title: Bienvenida
language: es
audience: trainee
doc_type: notice
updated: 2026-08-20
---
Bienvenidos al programa de formación en Tainan. La orientación empieza el lunes a las nueve.

El autobús del aeropuerto sale cada hora desde la terminal dos.
"""

NOTES_TXT = """\
La biblioteca del campus abre de lunes a viernes de ocho de la mañana a diez de la noche.

Los estudiantes pueden pedir prestados hasta cinco libros durante dos semanas.
"""

SESSIONS_CSV = """\
session_id,level,date,room,checkin_opens
SC-2703-01,Level 1,2027-03-06,CC301,08:45
SC-2703-02,Level 1,2027-03-06,CC301,13:15
SC-2703-03,Level 2,2027-03-20,CC302,08:45
"""

TRANSPORT_HTML = """\
<!doctype html>
<html lang="en">
<head><title>Getting around</title><style>p { color: red; }</style></head>
<body>
<nav>Home | About | Contact</nav>
<h1>Getting around Tainan</h1>
<p>Most trainees use buses and the city bike share to move around the city.</p>
<h2>Buses</h2>
<p>City buses accept the EasyCard; a ride costs NT$18 for adults.</p>
<h3>Airport shuttle</h3>
<ul>
  <li>The airport shuttle leaves from the main gate every hour.</li>
  <li>Tickets are sold on board.</li>
</ul>
<h2>Bike share</h2>
<table>
  <tr><th>Station</th><th>Bikes</th></tr>
  <tr><td>Main gate</td><td>40</td></tr>
  <tr><td>Library</td><td>25</td></tr>
</table>
<script>var tracking = "should not be indexed";</script>
</body>
</html>
"""


def write_pdf(path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Campus facts")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.multi_cell(0, 8, "The library opens at 08:00 on weekdays and closes at 22:00.")
    pdf.add_page()
    pdf.multi_cell(0, 8, "Parking permits cost NT$300 a semester at the security office.")
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))


def write_docx(path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Dormitory rules", 1)
    document.add_paragraph("These rules apply to every trainee who lives on campus.")
    document.add_heading("Kitchen", 2)
    document.add_paragraph("The shared kitchen on each floor closes at midnight for cleaning.")
    document.add_paragraph("Label your food with your room number.", style="List Bullet")
    table = document.add_table(rows=3, cols=2)
    for r, (a, b) in enumerate([("Appliance", "Floor"), ("Microwave", "2nd"), ("Fridge", "3rd")]):
        table.cell(r, 0).text = a
        table.cell(r, 1).text = b
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def write(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def make_knowledge(root: Path) -> Path:
    """A small knowledge folder with one file of every supported format."""
    write(root / "program" / "housing.md", HOUSING_MD)
    write(root / "program" / "welcome.txt", WELCOME_TXT)
    write(root / "notes" / "library.txt", NOTES_TXT)
    write(root / "certification" / "sessions.csv", SESSIONS_CSV)
    write(root / "guides" / "transport.html", TRANSPORT_HTML)
    write_pdf(root / "guides" / "campus.pdf")
    write_docx(root / "guides" / "dorm.docx")
    write(root / "README.md", "# Not content\n\nThe README is skipped.\n")
    stamp = FILE_DATE.timestamp()
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (stamp, stamp))
    return root


def run(knowledge: Path, data: Path, embedder: HashEmbedder, **kwargs) -> IngestReport:
    from bot.language import detect_language

    embedder.reset()
    return ingest(
        knowledge,
        data,
        lambda: embedder,
        embedding_model=embedder.name,
        progress=False,
        detect_language=detect_language,
        **kwargs,
    )


def chroma_count(data: Path) -> int:
    return chroma_client(data).get_collection(COLLECTION).count()


def chroma_ids(data: Path) -> set[str]:
    return set(chroma_client(data).get_collection(COLLECTION).get(include=[])["ids"])


def by_source(chunks: list[Chunk], source: str) -> list[Chunk]:
    return [c for c in chunks if c.source == source]


def one(chunks: list[Chunk], needle: str) -> Chunk:
    found = [c for c in chunks if needle in c.text]
    assert len(found) == 1, f"{needle!r} in {len(found)} chunks: {[c.text for c in found]}"
    return found[0]


@pytest.fixture
def knowledge(tmp_path) -> Path:
    return make_knowledge(tmp_path / "knowledge")


@pytest.fixture
def data(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def built(knowledge, data, embedder):
    """The small knowledge folder ingested once: (report, chunks)."""
    report = run(knowledge, data, embedder)
    return report, read_chunks(data)


# --- loaders and chunks -------------------------------------------------------------------------


def test_every_format_is_ingested_and_readme_skipped(built):
    report, chunks = built
    sources = {c.source for c in chunks}
    assert sources == {
        "program/housing.md",
        "program/welcome.txt",
        "notes/library.txt",
        "certification/sessions.csv",
        "guides/transport.html",
        "guides/campus.pdf",
        "guides/dorm.docx",
    }
    assert report.files == 7
    assert report.skipped == []
    assert report.rebuilt is True
    assert report.added == len(chunks) == report.embedded
    assert "embedded" in report.summary()


def test_markdown_sections_follow_headings(built):
    _, chunks = built
    md = by_source(chunks, "program/housing.md")
    assert one(md, "Washing machines are in the basement").section == "Housing > Laundry"
    assert one(md, "Quiet hours run from 23:00").section == "Housing > Quiet hours"
    assert one(md, "Trainees live in Dormitory 3").section == "Housing"
    assert one(md, "cafeteria serves breakfast").section == "Meals"
    # Text before any H2 belongs to the document's H1.
    assert one(md, "Welcome to the programme").section == "Trainee handbook"


def test_markdown_table_rows_stay_whole_with_their_headers(built):
    _, chunks = built
    md = by_source(chunks, "program/housing.md")
    washer = one(md, "Washer")
    assert washer.text == "Machine: Washer · Price: NT$20 · Hours: 06:00-23:00"
    assert washer.metadata["kind"] == "row"
    assert washer.metadata["row_id"] == "Washer"
    assert washer.section == "Housing > Laundry"
    assert one(md, "Dryer").text == "Machine: Dryer · Price: NT$10 · Hours: 06:00-23:00"


def test_markdown_list_items_stay_whole(built):
    _, chunks = built
    md = by_source(chunks, "program/housing.md")
    detergent = one(md, "Bring your own detergent")
    assert "• Bring your own detergent; the shop in the lobby sells it." in detergent.text
    assert detergent.section == "Housing > Laundry"
    # An item is never cut in the middle.
    assert "Lost cards are replaced at the dormitory office for NT$100." in one(md, "Lost cards").text


def test_embed_text_carries_title_and_section(built):
    _, chunks = built
    washer = one(by_source(chunks, "program/housing.md"), "Washer")
    assert washer.embed_text.startswith("Trainee handbook › Housing > Laundry\n")
    assert washer.embed_text.endswith(washer.text)


def test_csv_one_chunk_per_row_with_header_names(built):
    _, chunks = built
    rows = by_source(chunks, "certification/sessions.csv")
    assert len(rows) == 3
    row = one(rows, "SC-2703-02")
    assert row.text == (
        "session_id: SC-2703-02 · level: Level 1 · date: 2027-03-06 · room: CC301 · "
        "checkin_opens: 13:15"
    )
    assert row.metadata["kind"] == "row"
    assert row.metadata["row_id"] == "SC-2703-02"
    assert row.section == "SC-2703-02"


def test_csv_row_is_found_by_its_id(built, data, embedder):
    retriever = HybridRetriever(open_index(data, embedder), embedder)
    for query in ("SC-2703-02", "When does check-in open for sc-2703-02?"):
        for mode in ("bm25", "hybrid"):
            top = retriever.search(query, k=3, mode=mode)[0].chunk
            assert top.metadata.get("row_id") == "SC-2703-02", (query, mode, top.text)


def test_docx_headings_paragraphs_items_and_table(built):
    _, chunks = built
    doc = by_source(chunks, "guides/dorm.docx")
    assert one(doc, "These rules apply").section == "Dormitory rules"
    kitchen = one(doc, "shared kitchen")
    assert kitchen.section == "Kitchen"
    assert "Label your food with your room number." in one(doc, "Label your food").text
    assert one(doc, "Label your food").section == "Kitchen"
    microwave = one(doc, "Microwave")
    assert microwave.text == "Appliance: Microwave · Floor: 2nd"
    assert microwave.section == "Kitchen"
    assert microwave.metadata["kind"] == "row"
    assert one(doc, "Fridge").text == "Appliance: Fridge · Floor: 3rd"
    assert all(c.metadata["title"] == "Dormitory rules" for c in doc)


def test_html_sections_items_and_table(built):
    _, chunks = built
    html = by_source(chunks, "guides/transport.html")
    assert one(html, "bike share to move around").section == "Getting around Tainan"
    assert one(html, "EasyCard").section == "Buses"
    shuttle = one(html, "airport shuttle leaves")
    assert shuttle.section == "Buses > Airport shuttle"
    assert "Tickets are sold on board." in one(html, "Tickets are sold").text
    assert one(html, "Main gate").text == "Station: Main gate · Bikes: 40"
    assert one(html, "Library").text == "Station: Library · Bikes: 25"
    assert one(html, "Library").section == "Bike share"
    everything = " ".join(c.text for c in html)
    assert "tracking" not in everything and "Contact" not in everything and "color" not in everything
    assert all(c.metadata["title"] == "Getting around" for c in html)
    assert all(c.metadata["language"] == "en" for c in html)  # from <html lang>


def test_pdf_page_text_with_page_sections(built):
    _, chunks = built
    pdf = by_source(chunks, "guides/campus.pdf")
    assert "The library opens at 08:00 on weekdays" in one(pdf, "library opens").text
    assert one(pdf, "library opens").section == "p. 1"
    assert one(pdf, "Parking permits cost NT$300").section == "p. 2"
    assert all(c.metadata["title"] == "Campus facts" for c in pdf)


def test_txt_front_matter_is_metadata_not_text(built):
    _, chunks = built
    txt = by_source(chunks, "program/welcome.txt")
    joined = " ".join(c.text for c in txt)
    assert "Bienvenidos al programa" in joined and "autobús del aeropuerto" in joined
    assert "doc_type" not in joined and "---" not in joined
    assert {c.metadata["language"] for c in txt} == {"es"}
    assert {c.metadata["title"] for c in txt} == {"Bienvenida"}


def test_every_chunk_has_the_metadata_fields(built):
    _, chunks = built
    for c in chunks:
        for key in ("source", "section", "language", "audience", "doc_type", "updated", "title"):
            assert c.metadata.get(key) is not None, (c.id, key)
        assert c.id.startswith(c.source + "#")
        assert c.metadata["language"] in ("en", "es", "zh-TW"), c.metadata
        date.fromisoformat(c.metadata["updated"])


def test_front_matter_metadata_wins(built):
    _, chunks = built
    for c in by_source(chunks, "program/housing.md"):
        assert (c.metadata["language"], c.metadata["audience"], c.metadata["doc_type"]) == (
            "en",
            "trainee",
            "handbook",
        )
        assert c.metadata["updated"] == "2026-09-01"
        assert c.metadata["title"] == "Trainee handbook"


def test_defaults_without_front_matter(built):
    """No front matter: the language is detected, the date is the file's, the type its folder."""
    _, chunks = built
    library = by_source(chunks, "notes/library.txt")
    assert library
    for c in library:
        assert c.metadata["language"] == "es"  # detected from the Spanish text
        assert c.metadata["audience"] == "all"
        assert c.metadata["doc_type"] == "notes"
        assert c.metadata["updated"] == FILE_DATE.date().isoformat()
        assert c.metadata["title"] == "notes/library.txt"  # no title anywhere: the path
    csv_rows = by_source(chunks, "certification/sessions.csv")
    assert {c.metadata["doc_type"] for c in csv_rows} == {"certification"}


def test_metadata_reaches_chroma(built, data):
    _, chunks = built
    got = chroma_client(data).get_collection(COLLECTION).get(include=["metadatas"])
    metas = dict(zip(got["ids"], got["metadatas"]))
    assert set(metas) == {c.id for c in chunks}
    for c in chunks:
        for key in ("source", "section", "language", "audience", "doc_type", "updated", "title"):
            assert metas[c.id][key] == c.metadata[key]


# --- Mandarin lesson vocabulary ----------------------------------------------------------------


@pytest.mark.parametrize("query", ["藥局", "yaoju", "pharmacy", "farmacia", "yàojú"])
def test_lesson_vocabulary_row_found_in_every_form(query, lesson_retriever):
    top = lesson_retriever.search(query, k=3, mode="bm25")
    assert top, query
    assert "藥局" in top[0].chunk.text, (query, [h.chunk.text[:80] for h in top])
    assert top[0].chunk.metadata["kind"] == "row"
    assert top[0].chunk.section == "Vocabulary / Vocabulario"


@pytest.fixture(scope="module")
def lesson_retriever(tmp_path_factory):
    knowledge = tmp_path_factory.mktemp("lesson") / "knowledge"
    (knowledge / "chinese").mkdir(parents=True)
    shutil.copy(KNOWLEDGE / "chinese" / "lesson-07.md", knowledge / "chinese" / "lesson-07.md")
    data = tmp_path_factory.mktemp("lesson-data")
    embedder = HashEmbedder()
    report = run(knowledge, data, embedder)
    assert report.skipped == [] and report.embedded > 0
    return HybridRetriever(open_index(data, embedder), embedder)


def test_lesson_vocabulary_row_text(lesson_retriever):
    rows = [
        c for c in lesson_retriever.index.chunks
        if "藥局" in c.text and c.metadata["kind"] == "row" and c.section.startswith("Vocabulary")
    ]
    assert len(rows) == 1
    text = rows[0].text
    for part in ("藥局", "yàojú", "pharmacy", "farmacia", "Hanyu Pinyin:"):
        assert part in text
    assert rows[0].metadata["language"] == "zh-TW"
    assert rows[0].section == "Vocabulary / Vocabulario"


# --- idempotent and incremental ---------------------------------------------------------------


def test_second_ingest_embeds_nothing(built, knowledge, data, embedder):
    first, chunks = built
    manifest_before = (data / MANIFEST).read_text(encoding="utf-8")
    second = run(knowledge, data, embedder)
    assert embedder.embedded == 0
    assert second.embedded == 0
    assert second.unchanged == len(chunks) == first.embedded
    assert (second.added, second.updated, second.removed) == (0, 0, 0)
    assert second.rebuilt is False
    assert [c.id for c in read_chunks(data)] == [c.id for c in chunks]
    assert (data / MANIFEST).read_text(encoding="utf-8") == manifest_before
    assert chroma_count(data) == len(chunks)


def test_changing_one_paragraph_reembeds_only_that_chunk(built, knowledge, data, embedder):
    _, before = built
    path = knowledge / "program" / "housing.md"
    old_quiet = one(before, "Quiet hours run from 23:00")
    path.write_text(
        HOUSING_MD.replace("visitors must leave by 22:00", "visitors must leave by 21:30"),
        encoding="utf-8",
    )
    report = run(knowledge, data, embedder)
    assert report.embedded == embedder.embedded - report.sentences == 1
    assert (report.updated, report.added, report.removed) == (1, 0, 0)
    assert report.unchanged == len(before) - 1
    after = read_chunks(data)
    new_quiet = one(after, "Quiet hours run from 23:00")
    assert "21:30" in new_quiet.text and new_quiet.id != old_quiet.id
    assert old_quiet.id not in {c.id for c in after}
    assert chroma_ids(data) == {c.id for c in after}
    retriever = HybridRetriever(open_index(data, embedder), embedder)
    assert "21:30" in retriever.search("visitors leave quiet hours", k=1)[0].chunk.text


def test_adding_a_paragraph_embeds_only_the_new_chunk(built, knowledge, data, embedder):
    _, before = built
    extra = "\n## Sports\n\nThe gym is free for trainees and opens at 06:00 with a student card.\n"
    (knowledge / "program" / "housing.md").write_text(HOUSING_MD + extra, encoding="utf-8")
    report = run(knowledge, data, embedder)
    assert report.embedded == embedder.embedded - report.sentences == 1
    assert (report.added, report.updated, report.removed) == (1, 0, 0)
    assert one(read_chunks(data), "gym is free").section == "Sports"
    assert chroma_count(data) == len(before) + 1


def test_deleting_a_file_removes_its_chunks_everywhere(built, knowledge, data, embedder):
    _, before = built
    gone = by_source(before, "guides/transport.html")
    assert gone
    (knowledge / "guides" / "transport.html").unlink()
    report = run(knowledge, data, embedder)
    assert report.removed == len(gone)
    assert report.embedded == embedder.embedded - report.sentences == 0
    after = read_chunks(data)
    assert not by_source(after, "guides/transport.html")
    assert len(after) == len(before) - len(gone)
    assert chroma_count(data) == len(after)
    assert not {c.id for c in gone} & chroma_ids(data)
    manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    assert "guides/transport.html" not in manifest["files"]
    retriever = HybridRetriever(open_index(data, embedder), embedder)
    for mode in ("hybrid", "dense", "bm25"):
        hits = retriever.search("EasyCard bus bike share station", k=20, mode=mode)
        assert all(h.chunk.source != "guides/transport.html" for h in hits), mode


def test_sentence_vectors_cover_every_chunk_and_follow_reingests(built, knowledge, data, embedder):
    """Every sentence, item and row of every chunk has a vector in sentences.npz; a second ingest
    embeds none; a changed paragraph re-embeds only its own units; a deleted file's go."""
    from bot.index import passage_units, read_sentences

    first, chunks = built
    ids, vectors = read_sentences(data)
    assert first.sentences == len(ids) == sum(len(passage_units(c.text)) for c in chunks)
    assert set(ids.tolist()) == {c.id for c in chunks} and vectors.shape[0] == len(ids)
    assert run(knowledge, data, embedder).sentences == 0
    path = knowledge / "program" / "housing.md"
    path.write_text(HOUSING_MD.replace("visitors must leave by 22:00", "visitors must leave by 21:30"),
                    encoding="utf-8")  # fmt: skip
    report = run(knowledge, data, embedder)
    changed = one(read_chunks(data), "Quiet hours run from 23:00")
    assert report.sentences == len(passage_units(changed.text)) >= 1
    ids, _ = read_sentences(data)
    assert set(ids.tolist()) == {c.id for c in read_chunks(data)}
    path.unlink()
    run(knowledge, data, embedder)
    ids, _ = read_sentences(data)
    assert set(ids.tolist()) == {c.id for c in read_chunks(data)}
    index = open_index(data, embedder)
    assert index.sentence_vectors is not None
    assert len(index.sentence_vectors[1]) == len(ids)


def test_touching_a_file_without_changing_it_embeds_nothing(built, knowledge, data, embedder):
    path = knowledge / "guides" / "campus.pdf"
    os.utime(path, None)
    path.write_bytes(path.read_bytes())
    report = run(knowledge, data, embedder)
    assert report.embedded == embedder.embedded - report.sentences == 0


# --- exact dense search ----------------------------------------------------------------------


class _NoGraph:
    """A Chroma collection whose approximate (HNSW) query must not be used."""

    def query(self, *args, **kwargs):
        raise AssertionError("the dense side asked Chroma's HNSW graph, not the exact vectors")


def test_dense_search_is_exact_and_follows_reingests(built, knowledge, data, embedder):
    """The dense side ranks every chunk by cosine over the vectors Chroma stores, in chunk order
    (not the approximate HNSW graph, whose neighbours can change from one ingest to the next), and
    an index reopened after a re-ingest searches the new vectors."""
    queries = ["washing machines laundry card", "SC-2703-02 check-in", "Microwave floor", "zzz"]
    for step in range(2):
        index = open_index(data, embedder)
        assert index.vectors is not None and index.vectors.shape[0] == len(index.chunks)
        index.collection = _NoGraph()
        for query in queries:
            q = embedder.vector(query)
            truth = {c.id: float(embedder.vector(c.embed_text) @ q) for c in index.chunks}
            for k in (1, 5, len(index.chunks)):
                got = [(index.chunks[pos].id, sim) for pos, sim in dense_search(index, q, k)]
                assert len(got) == k
                for cid, sim in got:  # each similarity is the chunk's own ...
                    assert sim == pytest.approx(truth[cid], abs=1e-5), (step, query, cid)
                sims = [sim for _, sim in got]
                assert sims == sorted(sims, reverse=True)  # ... best first ...
                left_out = [truth[cid] for cid in truth if cid not in dict(got)]
                assert all(t <= sims[-1] + 1e-5 for t in left_out), (step, query, k)  # ... none missed
        housing = knowledge / "program" / "housing.md"
        housing.write_text(
            housing.read_text(encoding="utf-8").replace("laundry", "launderette"), encoding="utf-8"
        )
        run(knowledge, data, embedder)
    index = open_index(data, embedder)
    top = index.chunks[dense_search(index, embedder.vector("launderette"), 1)[0][0]]
    assert "launderette" in top.text


# --- broken files -----------------------------------------------------------------------------


def _break_some_files(knowledge: Path) -> dict[str, str]:
    """Write three unreadable files; return {source: a word the reason must contain}."""
    write(knowledge / "program" / "broken.md", "---\ntitle: Never closed\nlanguage: en\n\n# Body\n\nText.\n")
    write(knowledge / "program" / "invalid.md", "---\ntitle: [unbalanced\n---\n\n# Body\n\nText.\n")
    rng = random.Random(42)
    (knowledge / "guides" / "corrupt.pdf").write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
    (knowledge / "notes" / "latin1.txt").write_bytes("Año académico: información útil.".encode("cp1252"))
    return {
        "program/broken.md": "front matter",
        "program/invalid.md": "front matter",
        "guides/corrupt.pdf": "PDF",
        "notes/latin1.txt": "UTF-8",
    }


def test_broken_files_are_reported_and_the_rest_ingested(knowledge, data, embedder):
    expected = _break_some_files(knowledge)
    report = run(knowledge, data, embedder)
    skipped = dict(report.skipped)
    assert set(skipped) == set(expected)
    for source, word in expected.items():
        assert word in skipped[source], (source, skipped[source])
        assert f"skipped {source}: " in report.summary()
    chunks = read_chunks(data)
    sources = {c.source for c in chunks}
    assert not sources & set(expected)
    assert "program/housing.md" in sources and "guides/dorm.docx" in sources
    assert report.files == 7 + len(expected)
    assert report.embedded == len(chunks) == chroma_count(data)


def test_a_file_that_breaks_later_loses_its_chunks(built, knowledge, data, embedder):
    _, before = built
    old = by_source(before, "program/welcome.txt")
    (knowledge / "program" / "welcome.txt").write_bytes(b"\xff\xfe broken \x80\x81")
    report = run(knowledge, data, embedder)
    assert [s for s, _ in report.skipped] == ["program/welcome.txt"]
    assert report.removed == len(old)
    after = read_chunks(data)
    assert not by_source(after, "program/welcome.txt")
    assert chroma_count(data) == len(after)
    open_index(data, embedder)  # still consistent


# --- model change, rebuild, and a broken index ---------------------------------------------


def test_another_embedding_model_forces_a_full_rebuild(built, knowledge, data, embedder):
    _, chunks = built
    other = HashEmbedder(name="test/other-hash-embedder", dim=32)
    report = run(knowledge, data, other)
    assert report.rebuilt is True
    assert report.embedded == other.embedded - report.sentences == len(chunks)
    manifest = json.loads((data / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["embedding_model"] == "test/other-hash-embedder"
    index = open_index(data, other)
    assert len(index.chunks) == len(chunks)
    assert chroma_count(data) == len(chunks)
    hits = HybridRetriever(index, other).search("washing machines laundry card", k=3, mode="dense")
    assert hits and hits[0].chunk.source == "program/housing.md"


def test_opening_with_another_model_names_the_rebuild(built, data):
    other = HashEmbedder(name="test/other-hash-embedder")
    with pytest.raises(IndexModelMismatch) as err:
        open_index(data, other)
    message = str(err.value)
    assert "ingest.py --rebuild" in message
    assert "test/hash-embedder" in message and "test/other-hash-embedder" in message


def test_rebuild_starts_over(built, knowledge, data, embedder):
    _, chunks = built
    report = run(knowledge, data, embedder, rebuild=True)
    assert report.rebuilt is True
    assert report.embedded == embedder.embedded - report.sentences == len(chunks)
    assert report.unchanged == 0 and report.added == len(chunks)
    assert chroma_count(data) == len(chunks)
    assert len(open_index(data, embedder).chunks) == len(chunks)


def test_open_index_on_an_empty_folder(tmp_path, embedder):
    with pytest.raises(IndexMissing) as err:
        open_index(tmp_path, embedder)
    assert "ingest.py" in str(err.value)


@pytest.mark.parametrize("damage", ["manifest-garbage", "manifest-fields", "chunks-garbage", "chunks-short"])
def test_a_corrupt_index_names_the_rebuild(built, data, embedder, damage):
    if damage == "manifest-garbage":
        (data / MANIFEST).write_text("{not json", encoding="utf-8")
    elif damage == "manifest-fields":
        (data / MANIFEST).write_text(json.dumps({"files": {}}), encoding="utf-8")
    elif damage == "chunks-garbage":
        with (data / CHUNKS).open("a", encoding="utf-8") as handle:
            handle.write("this is not json\n")
    else:
        lines = (data / CHUNKS).read_text(encoding="utf-8").splitlines(keepends=True)
        (data / CHUNKS).write_text("".join(lines[:-2]), encoding="utf-8")
    with pytest.raises(IndexCorrupt) as err:
        open_index(data, embedder)
    assert "ingest.py --rebuild" in str(err.value)


def test_ingest_recovers_from_a_corrupt_manifest(built, knowledge, data, embedder):
    _, chunks = built
    (data / MANIFEST).write_text("{not json", encoding="utf-8")
    report = run(knowledge, data, embedder)
    assert report.rebuilt is True and report.embedded == len(chunks)
    assert len(open_index(data, embedder).chunks) == len(chunks)


def test_missing_knowledge_folder(tmp_path, embedder):
    with pytest.raises(FileNotFoundError):
        run(tmp_path / "nope", tmp_path / "data", embedder)
