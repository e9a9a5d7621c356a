"""`Assistant.answer()`: the one place that decides to answer, abstain or escalate.

  1. language: the person's explicit choice, else detection (es / en / zh-TW, or unsupported)
  2. triage: crisis / sensitive / explicit request for a person -> an escalation record (a
     learned classifier over the message's embedding, computed once and shared with the search)
  3. exam logistics: an exact answer from the session calendar
  4. hybrid retrieval, then an extractive answer (or an LLM's, when one is configured)
  5. the confidence gate: answer, or say the documents do not cover it and offer a counselor
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import bot.index  # called as `bot.index.open_index`, the name a test counts the calls by
from bot.answering.confidence import Vocabulary
from bot.answering.extractive import (
    CLOSE_RATIO,
    LEARNED_RATIOS,
    RUNNER_UP_RATIO,
    citation_for,
    compose,
    short_title,
    sources_line,
)
from bot.answering.gate import GATE_FEATURES, AnswerGate, signals
from bot.answering.train import MODEL_PATH
from bot.anticipated import QuestionBank
from bot.clock import Clock, utcnow
from bot.config import Settings
from bot.conversation.followup import (
    NONE,
    STRONG,
    WEAK,
    carried_terms,
    ellipsis,
)
from bot.exams import load_calendar, parse_exam_question
from bot.i18n import Translator, default_translator
from bot.informal import search_text as to_search_text
from bot.language import LanguageDetector, to_traditional
from bot.mandarin.lookup import Lookup, parse, render
from bot.mandarin.vocabulary import Vocabulary as MandarinVocabulary
from bot.ranking import PassageRanker
from bot.records import AnswerRecord, Citation, Turn
from bot.retrieval import Hit, HybridRetriever
from bot.textnorm import HAN_CLASS, han_ratio, has_han, tokenize
from bot.textsplit import split_text
from bot.triage import NONE as NO_TRIAGE
from bot.triage import Triager

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 4096  # a whole Telegram message: nothing a person wrote is cut
TRIAGE_WINDOW = 1200  # characters triaged per part of a longer message (the embedding reads ~512 tokens)
# Taiwan's national numbers for an ambulance and for suicide prevention: the two a safety note
# under an ordinary answer carries (the crisis reply carries the handbook's whole table).
NOTE_NUMBERS = ("119", "1925")
_PHONE = re.compile(r"(?<![\w+])(?:\+?\d[\d\- ]{5,}\d|1\d{2,3})(?![\w])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_HAN_RUNS = re.compile(rf"[{HAN_CLASS}]+")
# a phrase taught in a document: Chinese in corner brackets, then its pinyin in parentheses
_TAUGHT_PHRASE = re.compile(rf"「[^」]*[{HAN_CLASS}][^」]*」\s*[(（][^)）]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ]")

@dataclass
class CrisisLines:
    """Emergency and crisis numbers found in the handbook, per language, with their source."""

    text: str
    citation: Citation | None

    @property
    def short(self) -> str:
        """The rows for an emergency and for suicide prevention on one line ("Fire and
        ambulance: 119 · Suicide-prevention line (24 hours): 1925"); the whole table when the
        handbook has neither."""
        rows = [line.lstrip("• ").strip() for line in self.text.splitlines()]
        wanted = [r for r in rows if any(re.search(rf"(?<!\d){n}(?!\d)", r) for n in NOTE_NUMBERS)]
        return " · ".join(wanted) if wanted else " · ".join(r for r in rows if r)

class SharedUse:
    """Many readers at once, or one writer: answers read the index, a reload swaps it. A writer
    waiting stops new readers from starting, so it never starves; answers take milliseconds."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextlib.contextmanager
    def reading(self):
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextlib.contextmanager
    def writing(self):
        with self._cond:
            while self._writing:
                self._cond.wait()
            self._writing = True
            while self._readers:
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()

class Assistant:
    """Built once per process from the settings; `answer` is thread-safe and fast (ms)."""

    def __init__(
        self,
        settings: Settings,
        retriever: HybridRetriever,
        *,
        translator: Translator | None = None,
        calendar=None,
        llm=None,
        detector=None,
        triager=None,
        clock=None,
        gate=None,
        vocabulary=None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever
        self.tr = translator or default_translator()
        self.calendar = calendar
        self.llm = llm
        self.detector = detector or LanguageDetector()
        embedder = getattr(retriever, "embedder", None)
        self.triager = triager or Triager(embedder_name=getattr(embedder, "name", None))
        # `clock`: a Clock, or a `() -> datetime` (a test's) read in the settings' time zone
        self.clock = clock if isinstance(clock, Clock) else Clock.from_settings(settings, clock or utcnow)
        self.vocabulary = Vocabulary(retriever.index)
        self.gate = gate  # bot.answering.gate.AnswerGate, or None: the hand-weighted score
        self.mandarin = None  # bot.mandarin.lookup.Lookup over the lessons' vocabulary, or None
        if vocabulary is not None:
            self.mandarin = Lookup(vocabulary)
        self._titles: dict[str, str] | None = None
        self._crisis: dict[str, CrisisLines] = {}
        self._lock = threading.Lock()
        self._index_use = SharedUse()  # answers share the index; reload_index swaps it alone

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """Load the embedding model, the index, the exam calendar and the optional LLM, once."""
        # bot.embeddings imports langchain_core and loads torch models (heavy): deferred.
        from bot.embeddings import load_embedder

        embedder = load_embedder(settings.embedding_model, device=settings.embedding_device)
        index = bot.index.open_index(
            settings.data_dir, embedder, chroma_host=settings.chroma_host, chroma_port=settings.chroma_port
        )

        name = getattr(embedder, "name", None)
        bank = attach_bank(QuestionBank.load(), name, index, embedder)
        ranker, gate = usable_answering_model(index, *load_answering_model(name), bank)
        retriever = HybridRetriever(index, embedder, ranker=ranker, bank=bank)
        return cls(
            settings, retriever, calendar=load_calendar(settings), llm=build_llm(settings), gate=gate,
            vocabulary=MandarinVocabulary.read(settings.data_dir),
        )

    def reload_index(self, data_dir: Path | None = None) -> int:
        """Open the index again (after an incremental ingest, such as an approved FAQ) and swap
        it in: answers already running finish on the old one, the next ones use the new one.
        Returns the number of chunks now searched."""
        old = self.retriever
        index = bot.index.open_index(
            data_dir or self.settings.data_dir, old.embedder,
            chroma_host=self.settings.chroma_host, chroma_port=self.settings.chroma_port,
        )  # fmt: skip
        ranker, gate = getattr(old, "ranker", None), self.gate
        bank = getattr(old, "bank", None)
        if bank is not None:  # the same anticipated questions, tied to the new index's chunks
            bank = attach_bank(bank.source, getattr(old.embedder, "name", None), index, old.embedder)
        if ranker is not None:  # the gate reads the ranker: both stay, or both go
            ranker, gate = usable_answering_model(index, ranker, gate, bank)
        retriever = HybridRetriever(
            index, old.embedder, candidates=old.candidates, ranker=ranker, bank=bank
        )
        vocabulary = Vocabulary(index)
        with self._index_use.writing(), self._lock:
            self.retriever, self.vocabulary, self.gate = retriever, vocabulary, gate
            self._titles = None
        return len(index.chunks)

    def open(self) -> None:
        """Pay the one-off costs (language models, the Chinese segmenter, the first query) when
        the bot starts (`Services.open`, in post_init), not when the first person waits."""
        for text in ("¿dónde está la lavandería?", "where is the laundry?", "洗衣房在哪裡？"):
            self.answer(text)

    # --- the decision ------------------------------------------------------------------------

    def detect_language(self, text: str) -> str | None:
        return self.detector.detect(text)

    def answer(
        self, text: str, *, language: str | None = None, user_id: int | None = None,
        history: Sequence[Turn] = (),
    ) -> AnswerRecord:  # fmt: skip
        """Answer one message. `history`: the conversation's earlier turns (`bot.conversation`),
        oldest first; a follow-up ("¿y el domingo?") is read with the last one's topic. An
        answer reads one index from start to end (`reload_index` waits for it)."""
        with self._index_use.reading():
            return self._answer(text, language=language, history=history)

    def _answer(
        self, text: str, *, language: str | None, history: Sequence[Turn],
    ) -> AnswerRecord:  # fmt: skip
        question = _CONTROL.sub(" ", text or "").strip()[:MAX_QUESTION_CHARS]
        if not question or not tokenize(question, keep_stopwords=True):
            lang = language or "en"
            return AnswerRecord(text or "", lang, self.tr.t(lang, "answers.empty"), answered=False)
        detected = self.detector.detect(question)
        own = detected  # the message's own language: a crisis reply is in it
        earlier = history[-1] if history else None
        if earlier is not None and language is None and (detected is None or _mixed(question)):
            # "SC-2703-02?", "¿y el de 請勿進入?": nothing, or a word of another language, to
            # tell the language by; the conversation's
            detected = earlier.language
        if language is None and detected is None:
            return AnswerRecord(
                question, "en", self.tr.t("en", "answers.unsupported_language"),
                answered=False, unsupported_language=True,
            )
        lang = language or detected or "en"
        search_lang = detected or lang
        search_text, vector, verdict = self._triage(question, lang, search_lang, own)
        if verdict.reason is not None:  # triage reads the message alone: a danger is heard as said
            return self.escalation_reply(question, language or own or lang, verdict)
        record = self._reply(question, search_text, lang, search_lang, vector, history)
        if (
            record.carried and language is None and lang != earlier.language and _short(question)
        ):  # "dame el pinyin", read as part of a Spanish conversation, is answered in Spanish
            record = self._reply(question, search_text, earlier.language, search_lang, vector, history)
        if verdict.caution and not record.escalate:
            self._add_safety_note(record, record.language)
        record.question = question
        if record.turn is not None:
            record.turn = dataclasses.replace(record.turn, question=question)
        return record

    def _reply(
        self, question: str, search_text: str, lang: str, search_lang: str, vector,
        history: Sequence[Turn],
    ) -> AnswerRecord:  # fmt: skip
        earlier = history[-1] if history else None
        record = self._vocabulary_answer(question, search_text, lang, search_lang, vector, earlier)
        if record is not None:
            return record
        if earlier is None:
            return self._standalone(search_text, lang, search_lang, vector)
        if self.llm is not None and ellipsis(question, search_lang) != NONE:
            record = self._condensed(question, lang, search_lang, history)
            if record is not None:
                return record
        return self._follow_up(question, search_text, lang, search_lang, vector, earlier)

    def _condensed(
        self, question: str, lang: str, search_lang: str, history: Sequence[Turn]
    ) -> AnswerRecord | None:
        """With an LLM: the follow-up rewritten as a standalone question by the model (the
        LangChain way), then answered like any question; None (the offline carry-over then)
        when the model fails or the rewritten question is not answered."""
        standalone = self.llm.condense([t.question for t in history], question, lang)
        if standalone is None or standalone.strip() == question.strip():
            return None
        verdict = self._heard(standalone, lang, search_lang)
        if verdict.reason is not None:  # read with its context, the message asks for a person
            return self.escalation_reply(question, lang, verdict)
        record = self._standalone(to_search_text(standalone, search_lang), lang, search_lang, None)
        if not record.answered:
            return None
        return self._introduced(record, lang, standalone)

    def _standalone(
        self, search_text: str, lang: str, search_lang: str, vector, *, llm: bool = True
    ) -> AnswerRecord:
        calendar_record = self._calendar_answer(search_text, lang)
        if calendar_record is not None:
            return calendar_record
        return self._document_answer(search_text, lang, search_lang, vector, llm=llm)

    def _follow_up(
        self, question: str, search_text: str, lang: str, search_lang: str, vector, earlier: Turn
    ) -> AnswerRecord:
        """A message after an earlier turn: searched alone and with the earlier topic carried
        over; the answer gate decides which reading answers (`bot.conversation.followup`)."""
        leaning = ellipsis(question, search_lang)
        if leaning != NONE and earlier.kind == "calendar" and _asks_calendar(search_text, lang):
            record = self._calendar_answer(search_text, lang, earlier=earlier)
            if record is not None:
                return self._carried(record, earlier, lang)
        # Both readings are gated without the LLM; the one chosen is answered by it (once).
        alone = self._standalone(search_text, lang, search_lang, vector, llm=False)
        if alone.turn is not None and alone.turn.kind == "calendar":
            return alone
        is_rare = getattr(self.retriever, "is_rare", None)
        rare = (lambda t: is_rare(t, share=CARRY_RARE_SHARE)) if is_rare else None
        terms = carried_terms(earlier.resolved, search_text, rare)
        expanded_text = f"{search_text} {' '.join(terms)}"
        prior = frozenset(earlier.sources) if earlier.kind == "documents" else frozenset()
        if not terms:
            return self._with_llm(alone, search_text, lang, search_lang, vector)
        expanded = self._document_answer(expanded_text, lang, search_lang, None, prior=prior, llm=False)
        use_expanded = expanded.answered and (
            leaning == STRONG
            or not alone.answered
            or (leaning == WEAK and expanded.confidence > alone.confidence)
        )
        # After a turn that cited nothing (declined, say) there is no section to continue: an
        # elliptical message ("how much is a taxi?" after a declined question on the way from
        # the HSR station) is then read with the earlier topic when the reply speaks of both its
        # own words and the earlier topic's; a message with no sign of being a follow-up is not.
        after_nothing = leaning == WEAK and not earlier.sources
        if leaning != STRONG and use_expanded and not after_nothing and not _continues(expanded, earlier):
            use_expanded = False  # a question of its own that the earlier topic only seems to answer
        if after_nothing and use_expanded and not _speaks_of(expanded, terms):
            use_expanded = False  # "is there a gym?" after a declined question on scooter parking
        check_words = leaning == NONE or after_nothing
        if check_words and use_expanded and not self._holds_own_words(expanded, search_text, lang, terms, rare):
            use_expanded = False  # "¿me pasas el celular del profesor Wang?" after the laundry hours
        if not use_expanded:
            return self._with_llm(alone, search_text, lang, search_lang, vector)
        expanded = self._with_llm(expanded, expanded_text, lang, search_lang, None, prior=prior)
        return self._carried(expanded, earlier, lang, terms) if expanded.answered else expanded

    def _holds_own_words(
        self, record: AnswerRecord, question: str, lang: str, carried: list[str], rare
    ) -> bool:
        """Whether a reply read with the earlier topic mentions at least half of the message's
        own topic words (when it has any, and the reply quotes a passage in the message's
        language): a message with no sign of being a follow-up, most of whose words the reply
        never mentions, was answered by the carried words alone."""
        carried_set = set(carried)
        own = {t for t in tokenize(question) if t not in carried_set and (rare is None or rare(t))}
        said = record.body or record.answer
        if not own or self.detector.detect(said) not in (lang, None):
            return True  # nothing of its own, or a passage in another language: no words to compare
        return 2 * len(own & set(tokenize(said))) >= len(own)

    def _with_llm(self, record: AnswerRecord, text: str, lang: str, search_lang: str, vector,
                  **kwargs) -> AnswerRecord:  # fmt: skip
        """A documents answer chosen without the LLM, answered again by it when one is set."""
        if self.llm is None or not record.answered or record.turn is None or record.turn.kind != "documents":
            return record
        return self._document_answer(text, lang, search_lang, vector, **kwargs)

    def _vocabulary_answer(
        self, question: str, search_text: str, lang: str, search_lang: str, vector,
        earlier: Turn | None,
    ) -> AnswerRecord | None:  # fmt: skip
        """A question about a Mandarin word, from the lessons' vocabulary index; None when the
        message is not one (or names a word the index lacks and may be about something else)."""
        if self.mandarin is None:
            return None
        after = None
        if earlier is not None and earlier.kind == "vocabulary":
            after = earlier.data.get("intent")
        elif earlier is not None and earlier.sources and all(
            source in self._lesson_sources() for source, _ in earlier.sources
        ):
            after = "lesson"  # answered from a lesson: "what about diarrhea?" may ask for a word
        asked = parse(question, after_vocabulary=after)
        if asked is None:
            return None
        if after == "lesson" and asked.intent == "lesson":
            asked = dataclasses.replace(asked, intent="say", explicit=False)
        if asked.term is None:  # "dame el pinyin": of the word just shown
            entry = self.mandarin.find(earlier.data.get("word", "")) if earlier is not None else None
        else:
            entry = self.mandarin.find(asked.term)
        verdict = None
        if asked.term:
            # "how do you say 'I want to die'": the quoted words are heard too, by the floor's
            # cues. The model reads whole messages (this one was read whole before it came
            # here); on a bare phrase it is guessing: it escalated 20 of 600 questions about the
            # lessons' own words ("how do you say 'sorry'?" as a crisis) and "I have a headache"
            # or "I have a cold" as a crisis. So a phrase in no lesson that it reads as a
            # possible danger gets the note of the numbers, and alerts nobody.
            verdict = self.triager.cue(asked.term)
            if verdict.reason is None and entry is None:
                heard = self._heard(asked.term, lang, search_lang)
                if heard.escalate or heard.caution:
                    verdict = dataclasses.replace(NO_TRIAGE, matched="model", caution=True,
                                                  probability=heard.probability)  # fmt: skip
            if verdict.reason is not None:
                return self.escalation_reply(question, lang, verdict)
        if entry is None:
            if not asked.explicit or asked.term is None:
                return None
            # Not a word of the tables: a practice exercise may still have it, or a document that
            # gives the phrase in Chinese ("you can ask 「這個有豬肉嗎？」" in the FAQ on food);
            # else, no guessing.
            record = self._standalone(search_text, lang, search_lang, vector)
            from_lessons = record.answered and all(
                c.source in self._lesson_sources() for c in record.sources
            )
            if not (from_lessons or self._gives_chinese(record, lang, asked.term)):
                turn = Turn(question, question, lang, "declined")
                if self._in_lesson_text(asked.term):
                    # a Chinese term the lessons do write ("兩", "不是") is not said to be in
                    # none: the question about it was not understood; the plain decline
                    text, confidence = self.tr.t(lang, "answers.not_covered"), 0.0
                else:
                    text = self.tr.t(lang, "answers.vocabulary.not_in_lessons", term=asked.term)
                    confidence = 1.0
                record = AnswerRecord(question, lang, text, answered=False, confidence=confidence,
                                      turn=turn, offer_counselor=True)  # fmt: skip
            if verdict is not None and verdict.caution:  # a possible danger quoted: the numbers
                self._add_safety_note(record, lang)
            return record
        lesson = self.mandarin.vocabulary.lessons.get(entry.lesson)
        title = (lesson.titles.get(lang) or lesson.titles.get("en", "")) if lesson else entry.source
        body = render(entry, lang, self.tr, lesson_title=title, aspect=asked.aspect)
        citation = Citation(entry.source, entry.section, title)
        text = body + "\n\n" + sources_line([citation], lang, self.tr)
        intent = asked.intent if asked.intent != "aspect" else (after or "say")
        turn = Turn(
            question, question, lang, "vocabulary", ((entry.source, entry.section),), entry.hanzi,
            {"intent": intent, "word": entry.hanzi},
        )
        carried = entry.hanzi if asked.term is None else None
        return AnswerRecord(
            question, lang, text, answered=True, sources=[citation], confidence=1.0, body=body,
            turn=turn, carried=carried,
        )

    def _gives_chinese(self, record: AnswerRecord, lang: str, term: str) -> bool:
        """Whether an answer comes from documents in Spanish or English that give a phrase in
        Chinese: quoted with its pinyin (「這個有豬肉嗎？」 (Zhège yǒu zhūròu ma?…), as a phrase
        to say is taught), or in brackets right after the words asked for ("doctor's note
        (診斷證明書)"). Other Chinese in a passage is a name or a term of its own (a building,
        the sick-leave note when "sick leave" was asked), and a Chinese document, Chinese
        throughout, gives no translation."""
        body = record.body or record.answer
        if not record.answered or lang == "zh-TW" or not has_han(body):
            return False
        glossed = re.search(re.escape(term.strip()) + rf"\s*[(（]\s*[{HAN_CLASS}]", body, re.IGNORECASE)
        if not (_TAUGHT_PHRASE.search(body) or glossed):
            return False
        by_source = self._index_facts()[0]
        languages = set().union(*(by_source.get(c.source, set()) for c in record.sources))
        return bool(languages) and languages <= {"en", "es"}

    def _in_lesson_text(self, term: str) -> bool:
        """Whether a Chinese term is written in a lesson (a dialogue, a note), word table or not."""
        runs = _HAN_RUNS.findall(to_traditional(term))  # the lessons are in Traditional
        texts = self._index_facts()[1]
        return bool(runs) and all(any(run in text for text in texts) for run in runs)

    def _index_facts(self) -> tuple[dict[str, set], list[str]]:
        """Once per loaded index: each source's languages, and the lessons' texts without
        spaces (for `_gives_chinese` and `_in_lesson_text`)."""
        index = self.retriever.index
        facts = getattr(self, "_facts", None)
        if facts is None or facts[0] is not index:
            lessons = self._lesson_sources()
            languages: dict[str, set] = {}
            texts = []
            for chunk in index.chunks:
                languages.setdefault(chunk.source, set()).add(chunk.metadata.get("language"))
                if chunk.source in lessons:
                    texts.append(re.sub(r"\s+", "", chunk.text))
            facts = (index, languages, texts)
            self._facts = facts
        return facts[1], facts[2]

    def _lesson_sources(self) -> frozenset[str]:
        if self.mandarin is None:
            return frozenset()
        return frozenset(lesson.source for lesson in self.mandarin.vocabulary.lessons.values())

    def _carried(
        self, record: AnswerRecord, earlier: Turn, lang: str, terms: list[str] | None = None
    ) -> AnswerRecord:
        """Say what the follow-up was taken to be about: "Sobre «Lavandería»: …"."""
        chain = earlier.data.get("calendar") or [earlier.question]  # the calendar question it refines
        topic = earlier.topic or (" ".join(terms) if terms else chain[0])
        return self._introduced(record, lang, topic)

    def _introduced(self, record: AnswerRecord, lang: str, topic: str) -> AnswerRecord:
        """The reply led by what it was read as: "About “Level 2 exams in English?”:"."""
        lead = self.tr.t(lang, "answers.carried", topic=topic)
        record.answer = f"{lead}\n{record.answer}"
        if record.body is not None:
            record.body = f"{lead}\n{record.body}"
        record.carried = topic
        return record

    def _heard(self, text: str, lang: str, search_lang: str):
        """Triage of a text other than the message (a quoted term, an LLM's rewrite), with its
        own embedding."""
        embed = getattr(self.retriever, "embed_query", None)
        vector = embed(to_search_text(text, search_lang)) if embed is not None else None
        return self.triager.classify(text, lang, vector=vector)

    def _triage(self, question: str, lang: str, search_lang: str, own: str | None = None):
        """(search text, query vector, triage verdict). Search in the language the question is
        written in (a /lang choice only changes the reply), with chat spellings spelled out ("a q
        hora" -> "a que hora"); Simplified Chinese in Traditional, as the documents are written.
        The embedding is computed once: triage reads it, and so does the search. The floor's
        cues also hear the spelled-out text, in the message's `own` language too when the
        conversation's is searched ("me kiero matar, 真的" in a Chinese conversation)."""
        embed = getattr(self.retriever, "embed_query", None)  # None: a retriever that embeds nothing
        parts = split_text(question, TRIAGE_WINDOW) if len(question) > TRIAGE_WINDOW else [question]
        read = []
        for part in parts:
            text = to_search_text(part, search_lang)
            vector = embed(text) if embed is not None else None
            verdict = self.triager.classify(part, lang, vector=vector)
            if verdict.reason != "crisis":
                spelled = [text] + ([to_search_text(part, own)] if own and own != search_lang else [])
                heard = next((h for h in map(self.triager.cue, spelled) if h.escalate), None)
                verdict = heard or verdict
            read.append((text, vector, verdict))
        if len(read) == 1:
            return read[0]
        # A long message: every part was triaged (a danger written after two pages of context is
        # read), the gravest verdict stands; the search reads the part that asks (the last part
        # with a question mark, else the last part).
        # The whole text is read too, by the floor cues and the n-gram model (no second
        # embedding): a phrase cut between two parts (Chinese has no spaces to split at) is
        # still heard.
        whole = self.triager.classify(question, lang, vector=None)
        verdict = max([whole] + [v for _, _, v in read], key=_gravity)
        if (whole.danger or any(v.danger for _, _, v in read)) and not verdict.danger and verdict.escalate:
            verdict = dataclasses.replace(verdict, danger=True)
        if not verdict.danger and not verdict.caution and any(v.caution for v in [whole] + [v for _, _, v in read]):
            verdict = dataclasses.replace(verdict, caution=True)  # a possible danger in one part
        asks = [i for i, part in enumerate(parts) if "?" in part or "？" in part]
        text, vector, _ = read[asks[-1] if asks else -1]
        return text, vector, verdict

    def assess(self, text: str, *, language: str | None = None):
        """Triage alone (a message inside an open case): (reply language, verdict)."""
        question = _CONTROL.sub(" ", text or "").strip()[:MAX_QUESTION_CHARS]
        if not question:
            return language or "en", NO_TRIAGE
        detected = self.detector.detect(question)
        lang = language or detected or "en"
        return lang, self._triage(question, lang, detected or lang)[2]

    def safety_note(self, lang: str, *, person: bool = False) -> str:
        """The short note of the emergency and suicide-prevention numbers; `person`: the reply
        already says a person will read the message (the note then offers none)."""
        key = "answers.safety_note_escalated" if person else "answers.safety_note"
        return self.tr.t(lang, key, numbers=self.crisis_lines(lang).short)

    def _add_safety_note(self, record: AnswerRecord, lang: str) -> None:
        """Triage heard a possible danger in the message (`caution`) and the reply does not carry
        the numbers: it ends with the emergency and suicide-prevention numbers, in one short
        note. The note alerts nobody and says nothing about anyone being alerted (an escalated
        reply, which says a person will read it, gets the note without the offer of one). Once
        per reply."""
        if record.caution:
            return
        note = self.safety_note(lang, person=record.escalate)
        if record.body is not None and record.answer.startswith(record.body):
            rest = record.answer[len(record.body) :]
            record.body = f"{record.body}\n\n{note}"
            record.answer = record.body + rest
        else:
            if record.body is not None:
                record.body = f"{record.body}\n\n{note}"
            record.answer = f"{record.answer}\n\n{note}"
        record.caution = True

    # --- the three kinds of reply --------------------------------------------------------------

    def escalation_reply(self, question: str, lang: str, verdict) -> AnswerRecord:
        """What a person reads first when their message goes to a person. A crisis, or any
        message with a danger signal, leads with the emergency and crisis numbers. Nothing here
        says that someone was alerted: the desk says so once the case is stored."""
        sources: list[Citation] = []
        parts = []
        if verdict.reason != "crisis":
            parts.append(self.tr.t(lang, f"answers.{verdict.reason}"))
        if verdict.reason == "crisis" or verdict.danger:
            lines = self.crisis_lines(lang)
            parts += [self.tr.t(lang, "answers.crisis_lead"), lines.text]
            if verdict.reason == "crisis":
                parts.append(self.tr.t(lang, "answers.crisis_tail"))
            if lines.citation:
                sources.append(lines.citation)
        record = AnswerRecord(
            question, lang, "\n".join(p for p in parts if p), answered=False, sources=sources,
            confidence=1.0, escalate=True, escalation_reason=verdict.reason, topic=verdict.topic,
            danger=verdict.reason == "crisis" or verdict.danger,
        )
        if verdict.caution and not record.danger:  # a possible danger heard: the short note
            self._add_safety_note(record, lang)
        return record

    def _calendar_answer(
        self, question: str, lang: str, *, earlier: Turn | None = None
    ) -> AnswerRecord | None:
        """An exact answer from the session calendar. After a calendar answer, a follow-up
        ("那英文場次呢？", "¿y para el nivel 2?") keeps the earlier question's filters and asks
        where it says nothing new; what it names replaces what the earlier one named."""
        if self.calendar is None:
            return None
        said = [*(earlier.data.get("calendar", []) if earlier is not None else []), question]
        query = None
        for position, text in enumerate(said):
            parsed = parse_exam_question(text, lang, follow_up=position > 0)
            query = _merged_query(query, parsed) if query is not None else parsed
        if query is None or not _names_sessions(query):
            return None
        if earlier is not None and query.mentions_rules:
            return None  # "¿y cuánto cuesta?": a fee is in the rules, not in the calendar
        result = self.calendar.answer(query, lang, self.today())
        if result is None or not result.found:
            return None
        text = result.text
        title = self._document_title(self.settings.exam_calendar_file, lang)
        sources = [Citation(c.source, c.section, title or c.title) for c in result.citations]
        if query.mentions_rules or query.asks and "checkin" in query.asks:
            rules = self._rules_passage(question, lang)
            if rules is not None:
                text += "\n" + rules.chunk.text
                sources.append(citation_for(rules, lang))
        full = text + "\n\n" + sources_line(sources, lang, self.tr)
        # No topic name: a follow-up's reply is introduced by the first question of the chain
        # it refines ("About “Level 2 exams in English?”:"), which says what was kept of it.
        turn = Turn(
            question, question, lang, "calendar", tuple((c.source, c.section) for c in sources),
            None, {"calendar": said[-MAX_CARRIED_TURNS:]},
        )
        return AnswerRecord(
            question, lang, full, answered=True, sources=sources, confidence=0.95, body=text,
            turn=turn,
        )

    def _rules_passage(self, question: str, lang: str) -> Hit | None:
        hits = self.retriever.search(question, k=6, language=lang)
        for h in hits:
            if h.chunk.metadata.get("doc_type") == "rules" and h.chunk.metadata.get("kind") != "row":
                return h
        return None

    def draft_answer(self, question: str, lang: str, search_lang: str, vector=None):
        """(the composed reply, the gate's signals) for a question's search text."""
        shared = {"query_vector": vector} if vector is not None else {}
        hits = self.retriever.search(question, k=self.settings.top_k, language=search_lang, **shared)
        is_rare = getattr(self.retriever, "is_rare", None)
        rare = (lambda t: is_rare(t, share=0.2)) if is_rare else None
        learned = getattr(self.retriever, "ranker", None) is not None
        ratios = LEARNED_RATIOS if learned else (CLOSE_RATIO, RUNNER_UP_RATIO)
        draft = compose(question, lang, hits, self.tr, rare=rare, ratios=ratios)
        return draft, signals(question, search_lang, hits, draft.hits, self.vocabulary)

    def _document_answer(
        self, question: str, lang: str, search_lang: str, vector=None, *,
        prior: frozenset[tuple[str, str]] = frozenset(), llm: bool = True,
    ) -> AnswerRecord:  # fmt: skip
        draft, signals = self.draft_answer(question, lang, search_lang, vector)
        if self.gate is not None:
            score, threshold = self.gate.decide(signals, not draft.hits or draft.hits[0].covered)
        else:  # no trained gate: the hand-weighted score and the configured threshold
            score, threshold = float(signals[HAND_SCORE]), self.settings.answer_threshold
        if prior and draft.hits and _section_of(draft.hits[0]) in prior:
            # A follow-up answered from the very section that answered the turn before: the
            # conversation is evidence too ("weekends?" after the library's weekday hours).
            threshold *= CONTINUATION_RELAX
        declined = Turn(question, question, lang, "declined")
        if not draft.hits or score < threshold:
            return AnswerRecord(
                question, lang, self.tr.t(lang, "answers.not_covered"), answered=False,
                confidence=score, offer_counselor=True, turn=declined,
            )
        text, body = draft.text, draft.body
        if self.llm is not None and llm:
            text, grounded = self.llm.answer_with_status(
                question, lang, draft.hits, fallback=draft.text
            )
            if not grounded:
                logger.info("the LLM found no answer in the passages; not answering")
                return AnswerRecord(
                    question, lang, self.tr.t(lang, "answers.not_covered"), answered=False,
                    confidence=score, offer_counselor=True, turn=declined,
                )
            body = draft.body if text == draft.text else _without_sources_line(text, lang, self.tr)
        cited = draft.citations
        turn = Turn(
            question, question, lang, "documents", tuple((c.source, c.section) for c in cited),
            _topic_name(cited[0].section) if cited and cited[0].section else None,
        )
        return AnswerRecord(
            question, lang, text, answered=True, sources=cited, confidence=score, body=body,
            turn=turn,
        )

    # --- helpers -------------------------------------------------------------------------------

    def _document_title(self, source: str, lang: str) -> str | None:
        if self._titles is None:  # once: source -> title, from the loaded index
            self._titles = {}
            for chunk in self.retriever.index.chunks:
                self._titles.setdefault(chunk.source, chunk.metadata.get("title", chunk.source))
        title = self._titles.get(source)
        return short_title(title, lang) if title else None

    def audience_of(self, record: AnswerRecord) -> str:
        """Whom a question was from, as the report counts it: the audience of the documents that
        answered it (trainee or examinee), an exam question's "examinee", else "unknown"."""
        index = self.retriever.index
        by_source = getattr(self, "_audiences", None)
        if by_source is None or by_source[0] is not index:
            by_source = (index, {c.source: c.metadata.get("audience", "") for c in index.chunks})
            self._audiences = by_source
        for citation in record.sources:
            audience = by_source[1].get(citation.source)
            if audience in ("trainee", "examinee"):
                return audience
        return "examinee" if record.topic == "exams" else "unknown"

    def today(self) -> date:
        """The calendar's "today" (`PUENTE_TODAY`, else the local date): the one clock's."""
        return self.clock.today()

    def crisis_lines(self, lang: str) -> CrisisLines:
        """The handbook's emergency table in the asker's language (English when it has none)."""
        with self._lock:
            if lang not in self._crisis:
                self._crisis[lang] = self._find_crisis_lines(lang)
            return self._crisis[lang]

    def _find_crisis_lines(self, lang: str) -> CrisisLines:
        queries = {
            "en": "emergency phone numbers police ambulance suicide prevention line",
            "es": "números de emergencia policía ambulancia línea de prevención del suicidio",
            "zh-TW": "緊急電話 警察 救護車 自殺防治專線",
        }
        chunks = self.retriever.index.chunks
        for wanted in (lang, "en", "es"):
            hits = self.retriever.search(queries.get(wanted, queries["en"]), k=20, language=wanted)
            rows = [
                h for h in hits
                if h.chunk.metadata.get("kind") == "row"
                and h.chunk.metadata.get("language") == wanted
                and _PHONE.search(h.chunk.text)
            ]
            if not rows:
                continue
            best = rows[0].chunk
            table = [
                c for c in chunks
                if c.source == best.source and c.section == best.section
                and c.metadata.get("kind") == "row" and _PHONE.search(c.text)
            ]
            lines = "\n".join("• " + _row_line(c.text) for c in table)
            return CrisisLines(lines, citation_for(rows[0], lang))
        logger.error("no emergency numbers found in the knowledge folder")
        return CrisisLines("110 / 119", None)

HAND_SCORE = GATE_FEATURES.index("hand_score")  # without a trained gate, this signal decides
CARRY_RARE_SHARE = 0.1  # an earlier word is a topic word when at most this share of passages use it
MAX_CARRIED_TURNS = 3  # calendar questions a follow-up merges (the earliest ones drop out)
_NUMBERING = re.compile(r"^\s*(?:\d+[.)]|[A-Z][.)])\s+")

# A follow-up whose best passage is in the section that answered the turn before needs this
# share of the gate's threshold (tuned on eval/conversations/train.jsonl: 1.0 -> 0.8 answers
# 3 more of 112 conversations correctly, none wrongly).
CONTINUATION_RELAX = 0.8

def _section_of(hit: Hit) -> tuple[str, str]:
    meta = hit.chunk.metadata
    return meta.get("source", hit.chunk.source), meta.get("section") or meta.get("row_id") or ""

def _topic_name(section: str) -> str:
    """A section heading as a topic: "4. ¿Puedo usar el gimnasio?" -> "¿Puedo usar el gimnasio?";
    a table row ("Need: Police · Number: 110") by its first cell's value."""
    name = _NUMBERING.sub("", section.split(" › ")[-1]).strip()
    return name[:80]

def _continues(record: AnswerRecord, earlier: Turn) -> bool:
    """Whether a reply read with the earlier topic comes from the section that answered the
    earlier turn: without a connective ("y…", "and…"), that is what tells a follow-up
    ("weekends?" after the library's hours) from a question of its own that the carried words
    only pull towards the earlier topic ("horario lavandería?" after an exam fee)."""
    if not record.sources:
        return False
    first = record.sources[0]
    return (first.source, first.section) in set(earlier.sources)

def _speaks_of(record: AnswerRecord, terms: list[str]) -> bool:
    """Whether a reply mentions at least one of the carried topic words (as words, any case)."""
    said = set(tokenize(record.body or record.answer))
    return any(set(tokenize(term)) & said for term in terms)


def _mixed(text: str) -> bool:
    """Chinese characters inside a Spanish or English sentence ("¿y el de 請勿進入?")."""
    return has_han(text) and bool(re.search(r"[A-Za-zÀ-ÿ]{2,}", text)) and han_ratio(text) < 0.6

SHORT_MESSAGE_WORDS = 3

def _short(text: str) -> bool:
    """A few Latin words, too few to tell Spanish from English reliably."""
    return not has_han(text) and len(re.findall(r"[^\W\d_]+", text)) <= SHORT_MESSAGE_WORDS

def _asks_calendar(text: str, lang: str) -> bool:
    """Whether a message asks the calendar something of its own (a field, a filter)."""
    query = parse_exam_question(text, lang, follow_up=True)
    return query is not None and not query.mentions_rules

def _merged_query(earlier, query):
    """The earlier calendar question with what the new one names put in its place."""
    if query is None:
        return earlier
    changes = {}
    for f in dataclasses.fields(query):
        value = getattr(query, f.name)
        if f.name == "text" or value not in (None, (), False):
            changes[f.name] = value
    if query.dates or query.month or query.relative_days:
        changes.setdefault("dates", query.dates)
        changes.setdefault("month", query.month)
        changes.setdefault("relative_days", query.relative_days)
    if query.session_ids:  # a named session replaces every earlier filter
        return query
    return dataclasses.replace(earlier, **changes)

CALENDAR_FIELDS = frozenset({"room", "date", "checkin", "deadline", "seats", "language"})

def _names_sessions(query) -> bool:
    """A question for the calendar names sessions (an id, a date, a room, "next"), or a level
    together with a calendar field ("which room is the Level 3 exam in?"). "How long is the Level 2
    exam?" is a rules question, not a calendar one."""
    specific = (
        query.session_ids or query.dates or query.month or query.room or query.relative_days
        or query.next or query.upcoming or query.deadline_dates or query.seats
    )
    return bool(specific or (query.level and CALENDAR_FIELDS & set(query.asks)))

def _without_sources_line(text: str, lang: str, tr: Translator) -> str:
    prefix = tr.t(lang, "answers.sources", sources="").strip()
    head, _, last = text.rpartition("\n\n")
    return head if head and last.startswith(prefix) else text

def _row_line(text: str) -> str:
    """'Need: Police · Number: 110' -> 'Police: 110'."""
    cells = [cell.split(": ", 1)[-1] for cell in text.split(" · ")]
    return ": ".join(cells) if len(cells) == 2 else text

def load_answering_model(embedder_name: str | None, path: Path | None = None):
    """(passage ranker, answer gate) from `bot/answering/model.json`, or (None, None), logged,
    when it is missing or was trained with another embedding model (its signals would differ)."""
    path = path or MODEL_PATH
    if not path.exists():
        logger.warning("no answering model at %s: hand-weighted ranking and gate", path)
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        logger.warning("the answering model in %s cannot be read (%s): hand-weighted", path, exc)
        return None, None
    if data.get("embedder") != embedder_name:
        logger.warning(
            "the answering model was trained with %s, not %s: hand-weighted ranking and gate "
            "(retrain: python -m bot.answering train)", data.get("embedder"), embedder_name,
        )
        return None, None
    try:
        ranker = PassageRanker.from_dict(data["ranker"])
        ranker.anticipated = data.get("anticipated_sha256")  # checked against the bank in use
        return ranker, AnswerGate.from_dict(data["gate"])
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("the answering model in %s does not fit this code (%s): hand-weighted "
                       "ranking and gate (retrain: python -m bot.answering train)", path, exc)  # fmt: skip
        return None, None

def attach_bank(bank, embedder_name: str | None, index, embedder=None):
    """The anticipated questions tied to the index's chunks, or None (logged) when there are none
    or they were embedded with another model (their cosines would mean nothing). `embedder`
    embeds the questions of sections they do not cover (approved FAQs)."""
    if bank is None:
        return None
    if bank.embedder != embedder_name:
        logger.warning("the anticipated questions were embedded with %s, not %s: not used "
                       "(python -m bot.answering train)", bank.embedder, embedder_name)  # fmt: skip
        return None
    return bank.attach(index.chunks, embedder)


def usable_answering_model(index, ranker, gate, bank=None):
    """(ranker, gate) when the index has what they were trained with (the passage vectors in
    memory, the sentence vectors and the anticipated questions), else (None, None), logged: the
    gate reads the ranker's probabilities, and the ranker's features would shift without them."""
    if ranker is None:
        return None, None
    if bank is None:
        logger.warning("no anticipated questions for this index: hand-weighted ranking and gate")
        return None, None
    if getattr(ranker, "anticipated", None) != getattr(bank.source, "corpus", None):
        logger.warning("the answering model was trained with other anticipated questions: "
                       "hand-weighted ranking and gate (python -m bot.answering train)")  # fmt: skip
        return None, None
    if index.vectors is None or index.sentence_vectors is None:
        logger.warning(
            "the index has no %s: hand-weighted ranking and gate (run `python ingest.py`)",
            "sentence vectors" if index.vectors is not None else "in-memory vectors (too many chunks)",
        )
        return None, None
    return ranker, gate


def build_llm(settings: Settings):
    if not settings.llm_enabled:
        return None
    from bot.answering.llm import LLMAnswerer  # deferred: loads LangChain, only with an LLM

    return LLMAnswerer.from_settings(settings)

_GRAVITY = {"crisis": 3, "sensitive": 2, "explicit_request": 1, None: 0}

def _gravity(verdict) -> tuple[int, float]:
    """Order of triage verdicts: crisis > sensitive > a request for a person > nothing; then the
    model's probability."""
    return _GRAVITY[verdict.reason], verdict.probability or 0.0
