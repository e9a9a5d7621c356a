"""Loaders: one function per format, each turning a file into structural blocks.

Markdown is parsed with markdown-it-py (CommonMark + tables), HTML with BeautifulSoup, DOCX with
python-docx, PDF with pypdf, CSV with the csv module. Front matter (YAML between `---` lines at
the top of Markdown or text files) becomes document metadata; other formats can carry the same
fields in a sidecar `<file name>.meta.yaml`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from bot.ingestion.documents import Block, LoadedDocument, LoaderError

FRONT_MATTER_FIELDS = ("title", "language", "audience", "doc_type", "updated")
MAX_FILE_BYTES = 25 * 1024 * 1024  # a knowledge file larger than this is skipped
MAX_UNPACKED_BYTES = 50 * 1024 * 1024  # a DOCX (a zip) that inflates beyond this is skipped
MAX_FRONT_MATTER_BYTES = 16 * 1024


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors and aliases: a few hundred bytes of aliases can expand to millions of
    characters (a "billion laughs"); metadata never needs them."""

    def compose_node(self, parent, index):  # PyYAML's signature
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed here", event.start_mark
            )
        return super().compose_node(parent, index)


def safe_yaml(text: str):
    """`yaml.safe_load` without aliases (`yaml.YAMLError` for one)."""
    return yaml.load(text, Loader=_NoAliasLoader)  # safe: a SafeLoader subclass
_SPACES = re.compile(r"[ \t\u00a0]+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoaderError(f"not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc


def split_front_matter(text: str) -> tuple[dict, str]:
    """Return (front matter, body). A front matter that opens but is broken raises LoaderError."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines(keepends=True)
    if lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            header = "".join(lines[1:i])
            body = "".join(lines[i + 1 :])
            if len(header.encode("utf-8")) > MAX_FRONT_MATTER_BYTES:
                raise LoaderError(f"front matter over {MAX_FRONT_MATTER_BYTES // 1024} KB")
            try:
                data = safe_yaml(header) or {}
            except yaml.YAMLError as exc:
                raise LoaderError(f"broken front matter: {exc}".replace("\n", " ")) from exc
            if not isinstance(data, dict):
                raise LoaderError("broken front matter: expected 'key: value' lines")
            return {k: str(v) for k, v in data.items() if v is not None}, body
    raise LoaderError("broken front matter: no closing '---' line")


def _sidecar_metadata(path: Path) -> dict:
    """Front-matter fields for a format without front matter: `name.meta.yaml` beside `name.csv`
    (or `name.csv.meta.yaml`)."""
    candidates = (path.with_suffix(".meta.yaml"), path.with_name(path.name + ".meta.yaml"))
    sidecar = next((c for c in candidates if c.exists()), None)
    if sidecar is None:
        return {}
    try:
        text = sidecar.read_text(encoding="utf-8")
        if len(text) > MAX_FRONT_MATTER_BYTES:
            raise LoaderError(f"metadata file {sidecar.name} over {MAX_FRONT_MATTER_BYTES} bytes")
        data = safe_yaml(text) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise LoaderError(f"broken metadata file {sidecar.name}: {exc}") from exc
    return {k: str(v) for k, v in data.items() if v is not None} if isinstance(data, dict) else {}


def _row_text(headers: list[str], cells: list[str]) -> str:
    if len(headers) == len(cells) and any(headers):
        return " · ".join(f"{h}: {c}" if h else c for h, c in zip(headers, cells) if c)
    return " · ".join(c for c in cells if c)


# --- Markdown ---------------------------------------------------------------------------------


def _inline_text(token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return _clean("".join(parts))


def markdown_blocks(body: str) -> tuple[list[Block], str | None]:
    """Blocks of a Markdown body, each with its heading path; also the first H1 (a title)."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    blocks: list[Block] = []
    headings: dict[int, str] = {}
    h1: str | None = None

    def section() -> tuple[str, ...]:
        path = tuple(headings[level] for level in sorted(headings) if level >= 2)
        return path or ((h1,) if h1 else ())

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "heading_open":
            level = int(tok.tag[1])
            text = _inline_text(tokens[i + 1])
            if level == 1 and h1 is None:
                h1 = text
            for deeper in [lv for lv in headings if lv >= level]:
                del headings[deeper]
            headings[level] = text
            i += 3
            continue
        if tok.type in ("bullet_list_open", "ordered_list_open") and tok.level == 0:
            i = _markdown_list(tokens, i, blocks, section())
            continue
        if tok.type == "table_open":
            i = _markdown_table(tokens, i, blocks, section())
            continue
        if tok.type == "paragraph_open":
            text = _inline_text(tokens[i + 1])
            if text:
                blocks.append(Block("text", text, section()))
            i += 3
            continue
        if tok.type in ("fence", "code_block") and tok.content.strip():
            blocks.append(Block("text", tok.content.strip(), section()))
        i += 1
    return blocks, h1


def _markdown_list(tokens, i: int, blocks: list[Block], section: tuple[str, ...]) -> int:
    """Each top-level list item (with its nested items) becomes one block."""
    close = tokens[i].type.replace("_open", "_close")
    depth, item_parts = 0, []
    i += 1
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == close and tok.level == 0:
            return i + 1
        if tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                item_parts = []
        elif tok.type == "list_item_close":
            depth -= 1
            if depth == 0 and item_parts:
                blocks.append(Block("item", _clean(" ".join(item_parts)), section))
        elif tok.type == "inline":
            item_parts.append(_inline_text(tok))
        i += 1
    return i


def _markdown_table(tokens, i: int, blocks: list[Block], section: tuple[str, ...]) -> int:
    """Each body row becomes one block carrying the header names."""
    headers: list[str] = []
    row: list[str] = []
    in_head = False
    while i < len(tokens):
        tok = tokens[i]
        if tok.type == "table_close":
            return i + 1
        if tok.type == "thead_open":
            in_head = True
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row = []
        elif tok.type == "inline":
            row.append(_inline_text(tok))
        elif tok.type == "tr_close":
            if in_head:
                headers = row
            elif any(row):
                blocks.append(Block("row", _row_text(headers, row), section, row_id=row[0] or None))
        i += 1
    return i


def load_markdown(path: Path) -> tuple[list[Block], dict]:
    meta, body = split_front_matter(_decode(path))
    blocks, h1 = markdown_blocks(body)
    if h1 and "title" not in meta:
        meta["title"] = h1
    return blocks, meta


# --- Plain text -------------------------------------------------------------------------------


def _paragraphs(text: str) -> list[str]:
    paras = [_clean(p.replace("\n", " ")) for p in re.split(r"\n\s*\n", text)]
    return [p for p in paras if p]


def load_text(path: Path) -> tuple[list[Block], dict]:
    meta, body = split_front_matter(_decode(path))
    return [Block("text", p) for p in _paragraphs(body)], meta


# --- CSV --------------------------------------------------------------------------------------


def load_csv(path: Path) -> tuple[list[Block], dict]:
    """One block per row, with the header names, so an id or a date finds its row."""
    text = _decode(path)
    reader = csv.reader(io.StringIO(text))
    try:
        rows = [r for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as exc:
        raise LoaderError(f"malformed CSV: {exc}") from exc
    if not rows:
        raise LoaderError("empty CSV file")
    headers = [h.strip() for h in rows[0]]
    blocks = []
    for cells in rows[1:]:
        cells = [c.strip() for c in cells]
        row_id = cells[0] if cells else None
        blocks.append(Block("row", _row_text(headers, cells), (row_id,) if row_id else (), row_id))
    return blocks, _sidecar_metadata(path)


# --- HTML -------------------------------------------------------------------------------------

_HTML_BLOCKS = ("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "pre", "dd", "dt")


def load_html(path: Path) -> tuple[list[Block], dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(_decode(path), "lxml")
    meta = _sidecar_metadata(path)
    if soup.title and soup.title.string and "title" not in meta:
        meta["title"] = _clean(soup.title.string)
    if soup.html and soup.html.get("lang") and "language" not in meta:
        meta["language"] = str(soup.html["lang"])
    for tag in soup(["script", "style", "nav", "footer", "noscript"]):
        tag.decompose()
    root = soup.body or soup
    blocks: list[Block] = []
    headings: dict[int, str] = {}
    h1: str | None = None
    for el in root.find_all(_HTML_BLOCKS):
        if el.find_parent(["li", "table", "pre", "p"]):
            continue
        if el.name[0] == "h" and el.name[1:].isdigit():
            level, text = int(el.name[1]), _clean(el.get_text(" "))
            if level == 1 and h1 is None:
                h1 = text
            for deeper in [lv for lv in headings if lv >= level]:
                del headings[deeper]
            headings[level] = text
            continue
        section = tuple(headings[lv] for lv in sorted(headings) if lv >= 2) or ((h1,) if h1 else ())
        if el.name == "table":
            headers = [_clean(th.get_text(" ")) for th in el.find_all("th")]
            for tr in el.find_all("tr"):
                cells = [_clean(td.get_text(" ")) for td in tr.find_all("td")]
                if cells:
                    blocks.append(Block("row", _row_text(headers, cells), section, cells[0]))
            continue
        text = _clean(el.get_text(" "))
        if text:
            blocks.append(Block("item" if el.name == "li" else "text", text, section))
    if h1 and "title" not in meta:
        meta["title"] = h1
    return blocks, meta


# --- DOCX -------------------------------------------------------------------------------------


def load_docx(path: Path) -> tuple[list[Block], dict]:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    _check_unpacked_size(path)
    try:
        document = docx.Document(str(path))
    except Exception as exc:  # python-docx raises several types for a corrupt package
        raise LoaderError(f"not a readable DOCX file: {exc}") from exc
    meta = _sidecar_metadata(path)
    props = document.core_properties
    if props.title and "title" not in meta:
        meta["title"] = props.title
    if props.language and "language" not in meta:
        meta["language"] = props.language
    blocks: list[Block] = []
    headings: dict[int, str] = {}
    h1: str | None = None
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        section = tuple(headings[lv] for lv in sorted(headings) if lv >= 2) or ((h1,) if h1 else ())
        if tag == "p":
            para = Paragraph(child, document)
            text = _clean(para.text)
            style = (para.style.name if para.style is not None else "") or ""
            if not text:
                continue
            match = re.match(r"Heading (\d)", style)
            if match or style == "Title":
                level = int(match.group(1)) if match else 1
                if level == 1 and h1 is None:
                    h1 = text
                for deeper in [lv for lv in headings if lv >= level]:
                    del headings[deeper]
                headings[level] = text
            else:
                kind = "item" if style.startswith("List") else "text"
                blocks.append(Block(kind, text, section))
        elif tag == "tbl":
            rows = [[_clean(c.text) for c in r.cells] for r in Table(child, document).rows]
            if rows:
                for cells in rows[1:]:
                    blocks.append(Block("row", _row_text(rows[0], cells), section, cells[0] or None))
    if h1 and "title" not in meta:
        meta["title"] = h1
    return blocks, meta


def _check_unpacked_size(path: Path) -> None:
    """A DOCX is a zip: refuse one whose members inflate beyond `MAX_UNPACKED_BYTES`."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoaderError(f"not a readable DOCX file: {exc}") from exc
    if unpacked > MAX_UNPACKED_BYTES:
        raise LoaderError(
            f"inflates to {unpacked // 2**20} MB (over {MAX_UNPACKED_BYTES // 2**20} MB)"
        )


# --- PDF --------------------------------------------------------------------------------------


def load_pdf(path: Path) -> tuple[list[Block], dict]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise LoaderError(f"not a readable PDF file: {exc}") from exc
    meta = _sidecar_metadata(path)
    info = reader.metadata
    if info and info.title and "title" not in meta:
        meta["title"] = str(info.title)
    blocks = []
    for number, page_text in enumerate(pages, start=1):
        for para in _paragraphs(page_text):
            blocks.append(Block("text", para, (f"p. {number}",)))
    if not blocks:
        raise LoaderError("no extractable text (a scanned PDF needs OCR first)")
    return blocks, meta


LOADERS: dict[str, Callable[[Path], tuple[list[Block], dict]]] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".txt": load_text,
    ".csv": load_csv,
    ".html": load_html,
    ".htm": load_html,
    ".docx": load_docx,
    ".pdf": load_pdf,
}


def load_document(path: Path, root: Path) -> LoadedDocument:
    """Load one file; raise LoaderError with a reason when it cannot be read."""
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise LoaderError(f"unsupported format {path.suffix!r}")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise LoaderError(f"{size // 2**20} MB, over the {MAX_FILE_BYTES // 2**20} MB limit")
    try:
        blocks, meta = loader(path)
    except LoaderError:
        raise
    except RecursionError:
        raise LoaderError("too deeply nested to read") from None
    except Exception as exc:  # a hostile or broken file: skip it, never abort
        raise LoaderError(f"could not be read ({type(exc).__name__}: {exc})"[:300]) from exc
    source = path.relative_to(root).as_posix()
    meta = {k: v for k, v in meta.items() if k in FRONT_MATTER_FIELDS}
    return LoadedDocument(source=source, blocks=blocks, metadata=meta)
