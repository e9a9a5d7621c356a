"""The learning loop's domain: personal details removed, drafts from resolved cases, one policy,
duplicates across languages merged, approval written as files, rejection and expiry withdrawn.
The end-to-end path through Telegram and the real index is tests/e2e/test_learning_e2e.py."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.config import Settings
from bot.escalation.cases import InvalidTransition, NotAllowed
from bot.escalation.roster import parse_roster
from bot.escalation.service import EscalationDesk, card_buttons
from bot.i18n import t
from bot.learning.duplicates import MODEL_PATH, DuplicateFinder, PairModel, Text, facts
from bot.learning.faq import EmptyDraft, FaqDesk, FaqStateError, split_text
from bot.learning.pii import scrub
from bot.learning.publish import Publisher
from bot.learning.store import APPROVED, EXPIRED, MERGED, PENDING, REJECTED, FaqStore
from bot.storage import Database

COUNSELOR, MENTOR, ADMIN, OTHER, ADMIN2 = 11, 12, 15, 14, 16
TRAINEE = 5001
ROSTER = parse_roster(f"""
timezone: Asia/Taipei
desk: {{chat_id: -100500, language: en}}
people:
  - {{id: {COUNSELOR}, name: Lin Mei-hua, languages: [en, es], topics: [wellbeing], roles: [counselor], on_duty: true}}
  - {{id: {MENTOR}, name: Chen Wei, languages: [en], topics: [housing, academic], roles: [mentor], on_duty: true}}
  - {{id: {OTHER}, name: Wang, languages: [en], topics: [visa], roles: [staff], on_duty: true}}
  - {{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: true}}
  - {{id: {ADMIN2}, name: Second, languages: [zh-TW], roles: [desk_admin], on_duty: true}}
""")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[tuple[int, tuple[str, ...]]] = []
        self.withdrawn: list[int] = []

    def publish(self, candidate) -> None:
        self.published.append((candidate.id, tuple(candidate.languages)))

    def withdraw(self, candidate) -> None:
        self.withdrawn.append(candidate.id)


@pytest.fixture
def world(tmp_path):
    clock = Clock()
    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    desk = EscalationDesk(db, ROSTER, Settings(_env_file=None), clock=clock)
    desk.open()
    publisher = FakePublisher()
    faq = FaqDesk(desk.cases, ROSTER, FaqStore(db, clock=clock), publisher=publisher, clock=clock)
    yield desk, faq, publisher, clock
    desk.close()


_trainees = iter(range(600_000, 700_000))


def resolved_case(desk, question: str, answer: str, *, language: str = "es", by: int = MENTOR,
                  name: str = "Sofía Ramírez", topic: str = "housing") -> int:  # fmt: skip
    from bot.records import AnswerRecord

    trainee = next(_trainees)
    record = AnswerRecord(question, language, "…", answered=False, escalate=True,
                          escalation_reason="explicit_request", topic=topic)  # fmt: skip
    handoff = desk.escalate(record=record, user_id=trainee, chat_id=trainee, name=name,
                            username="sofi_rmz")  # fmt: skip
    case_id = handoff.case.id
    desk.claim(case_id, by)
    desk.reply(case_id, by, answer, where=(by, None))
    desk.resolve(case_id, by)
    return case_id


# --- personal details ---------------------------------------------------------------------------


def test_personal_details_are_removed_and_facts_kept() -> None:
    text = (
        "Hola, soy Ana Torres, mi correo es ana.t@gmail.com y mi cel 0912-345-678, ARC AB12345678. "
        "Call +52 662 123 4567 or @maria_lopez. 我叫王小明，身分證 A123456789。"
    )
    out = scrub(text)
    for gone in ("Ana Torres", "ana.t@gmail.com", "0912-345-678", "AB12345678", "662 123 4567",
                 "@maria_lopez", "王小明", "A123456789"):  # fmt: skip
        assert gone not in out.text
    assert set(out.removed) == {"e-mail", "phone", "id", "username", "name"}
    kept = "El examen SC-2703-02 es el 2027-03-02 en el salón CC302 a las 8:30; cuesta NT$1,800."
    assert scrub(kept).text == kept and not scrub(kept)
    assert scrub("soy nuevo y soy mexicano").text == "soy nuevo y soy mexicano"
    assert scrub("Carlos dice que sí", ["Carlos Pérez"]).text == "[name] dice que sí"


# --- drafts -------------------------------------------------------------------------------------


def test_a_draft_comes_from_the_resolved_case_without_personal_details(world) -> None:
    desk, faq, _, _ = world
    case_id = resolved_case(
        desk, "Hola, soy Sofía. ¿Puedo guardar mi bici dentro del cuarto? Mi cel es 0987 654 321",
        "Hola Sofía: no, las bicis van en el área techada junto a la entrada B; regístrala en "
        "recepción (NT$100 al año). Dudas: lin.mh@stust.example.edu.tw",
    )
    draft = faq.draft(case_id, MENTOR)
    [variant] = draft.candidate.variants
    assert draft.candidate.status == "draft" and variant.language == "es" and variant.case_id == case_id
    assert "bici dentro del cuarto" in variant.question and "NT$100" in variant.answer
    for gone in ("Sofía", "0987 654 321", "lin.mh@stust"):
        assert gone not in variant.question + variant.answer
    assert {"phone", "e-mail", "name"} <= set(draft.removed)
    assert faq.draft(case_id, MENTOR).candidate.id == draft.candidate.id  # one per case


def test_who_may_draft_submit_and_review(world) -> None:
    desk, faq, publisher, _ = world
    case_id = resolved_case(desk, "¿Hay lavadoras en el dormitorio?", "Sí, en el sótano.")
    for outsider in (OTHER, COUNSELOR, 999, TRAINEE):  # not the one who resolved it, nor an admin
        with pytest.raises(NotAllowed):
            faq.draft(case_id, outsider)
    draft = faq.draft(case_id, ADMIN).candidate  # a desk admin may
    with pytest.raises(NotAllowed):
        faq.submit(draft.id, MENTOR)  # the admin's draft, not the mentor's
    faq.submit(draft.id, ADMIN)
    for not_admin in (MENTOR, COUNSELOR, OTHER):
        with pytest.raises(NotAllowed):
            faq.approve(draft.id, not_admin)
        with pytest.raises(NotAllowed):
            faq.reject(draft.id, not_admin)
    assert faq.get(draft.id).status == PENDING and publisher.published == []


def test_a_case_still_open_or_sensitive_or_unanswered_is_not_drafted(world) -> None:
    desk, faq, _, _ = world
    from bot.records import AnswerRecord

    record = AnswerRecord("¿A qué hora cierra la biblioteca?", "es", "…", answered=False,
                          escalate=True, escalation_reason="explicit_request", topic="housing")  # fmt: skip
    open_case = desk.escalate(record=record, user_id=777, chat_id=777, name="X").case
    desk.claim(open_case.id, MENTOR)
    with pytest.raises(InvalidTransition):
        faq.draft(open_case.id, MENTOR)
    sensitive = AnswerRecord("mi roomie me pega", "es", "…", answered=False, escalate=True,
                             escalation_reason="sensitive", topic="safety")  # fmt: skip
    case = desk.escalate(record=sensitive, user_id=778, chat_id=778, name="Y").case
    desk.claim(case.id, COUNSELOR)
    desk.reply(case.id, COUNSELOR, "Voy para allá.", where=(COUNSELOR, None))
    desk.resolve(case.id, COUNSELOR)
    with pytest.raises(NotAllowed, match="sensitive"):
        faq.draft(case.id, COUNSELOR)
    assert card_buttons(desk.tr, "en", desk.case(case.id)) is None  # no Save-as-FAQ button
    silent = desk.escalate(record=record, user_id=779, chat_id=779, name="Z").case
    desk.resolve(silent.id, MENTOR)
    with pytest.raises(EmptyDraft):
        faq.draft(silent.id, MENTOR)


def test_the_resolved_card_offers_save_as_faq(world) -> None:
    desk, _, _, _ = world
    case_id = resolved_case(desk, "¿Hay lavadoras?", "Sí.")
    markup = card_buttons(desk.tr, "en", desk.case(case_id))
    assert markup == {"buttons": [[{"text": "💡 Save as FAQ", "data": f"faq:draft:{case_id}"}]]}


def test_editing_a_draft_and_a_review(world) -> None:
    desk, faq, _, _ = world
    case_id = resolved_case(desk, "¿lavadoras?", "sí")
    draft = faq.draft(case_id, MENTOR).candidate
    edited = faq.edit(draft.id, MENTOR, "P: ¿Hay lavadoras en el dormitorio?\nR: Sí, en el sótano; "
                                        "llama al 06-253-3131 si no funcionan.")  # fmt: skip
    [variant] = edited.candidate.variants
    assert variant.question == "¿Hay lavadoras en el dormitorio?"
    # What a person writes is kept (an office's number may belong in an answer), and flagged.
    assert variant.answer == "Sí, en el sótano; llama al 06-253-3131 si no funcionan."
    assert edited.contains == ("phone",)
    with pytest.raises(EmptyDraft):
        faq.edit(draft.id, MENTOR, "only one line")
    faq.submit(draft.id, MENTOR)
    with pytest.raises(NotAllowed):
        faq.edit(draft.id, MENTOR, "Q\nA")  # pending: the admins' now
    both = faq.edit(draft.id, ADMIN, "Are there washing machines in the dorm?\nYes, in the basement.",
                    language="en").candidate  # fmt: skip
    assert both.languages == ["es", "en"]
    assert split_text("問：宿舍有洗衣機嗎？\n答：有，在地下室。") == ("宿舍有洗衣機嗎？", "有，在地下室。")


def test_approval_publishes_and_rejection_or_expiry_withdraws(world) -> None:
    desk, faq, publisher, clock = world
    first = faq.draft(resolved_case(desk, "¿lavadoras?", "sí, en el sótano"), MENTOR).candidate
    faq.submit(first.id, MENTOR)
    approved = faq.approve(first.id, ADMIN)
    assert approved.status == APPROVED and approved.reviewed_by == ADMIN
    assert approved.review_by == date(2026, 12, 1) + timedelta(days=180)
    assert publisher.published == [(first.id, ("es",))]
    with pytest.raises(FaqStateError):
        faq.approve(first.id, ADMIN)

    second = faq.draft(resolved_case(desk, "¿secadoras?", "no hay"), MENTOR).candidate
    faq.submit(second.id, MENTOR)
    assert faq.reject(second.id, ADMIN).status == REJECTED
    assert publisher.withdrawn == []  # never published
    with pytest.raises(FaqStateError):
        faq.approve(second.id, ADMIN)  # a rejected candidate never reaches the index

    assert faq.withdraw(first.id, ADMIN).status == REJECTED  # taken out after approval
    assert publisher.withdrawn == [first.id]

    third = faq.draft(resolved_case(desk, "¿gimnasio?", "sí, gratis"), MENTOR).candidate
    faq.submit(third.id, MENTOR)
    faq.approve(third.id, ADMIN)
    assert faq.expire() == []
    clock.now += timedelta(days=181)
    assert faq.expire() == [third.id]
    assert faq.get(third.id).status == EXPIRED and publisher.withdrawn[-1] == third.id


def test_two_admins_cannot_both_win_and_a_stale_card_approves_nothing(world) -> None:
    desk, faq, publisher, _ = world
    candidate = faq.draft(resolved_case(desk, "¿lavadoras?", "sí"), MENTOR).candidate
    shown = faq.submit(candidate.id, MENTOR).candidate  # the card the admins got
    faq.edit(candidate.id, ADMIN2, "¿Hay lavadoras?\nSí, en el sótano, 24 horas.")
    with pytest.raises(FaqStateError):  # what ADMIN saw is not what it is now
        faq.approve(candidate.id, ADMIN, revision=shown.revision)
    now = faq.get(candidate.id)
    assert faq.reject(candidate.id, ADMIN2, revision=now.revision).status == REJECTED
    with pytest.raises(FaqStateError):  # the other admin's press, a moment later
        faq.approve(candidate.id, ADMIN, revision=now.revision)
    assert publisher.published == [] and faq.get(candidate.id).status == REJECTED


def test_an_admin_does_not_approve_their_own_answer_when_another_admin_exists(world) -> None:
    desk, faq, _, _ = world
    case_id = resolved_case(desk, "¿wifi?", "la red es STUST-Dorm", by=ADMIN)
    draft = faq.draft(case_id, ADMIN).candidate
    faq.submit(draft.id, ADMIN)
    with pytest.raises(NotAllowed, match="another desk admin"):
        faq.approve(draft.id, ADMIN)
    assert faq.approve(draft.id, ADMIN2).status == APPROVED


def test_a_new_version_of_an_approved_answer_waits_for_review(world, tmp_path) -> None:
    desk, faq, _, _ = world
    faq.publisher = Publisher(tmp_path / "knowledge")
    first = faq.draft(resolved_case(desk, "¿lavadoras?", "Sí, en el sótano."), MENTOR).candidate
    faq.submit(first.id, MENTOR)
    faq.approve(first.id, ADMIN)
    es = tmp_path / "knowledge" / "learned" / f"faq-{first.id:04d}.es.md"
    published = es.read_text(encoding="utf-8")
    # A merged version (forced here: no duplicate model) or an edit does not reach trainees.
    other = faq.draft(resolved_case(desk, "¿lavadoras?", "Sí, y cuestan NT$20."), MENTOR).candidate
    faq.store.move_variants(other.id, first.id)
    faq.store.transition(first.id, (APPROVED,), status=PENDING)
    faq.edit(first.id, ADMIN, "Washing machines?\nYes, in the basement.", language="en")
    assert faq.sync() is False and es.read_text(encoding="utf-8") == published
    assert not (es.parent / f"faq-{first.id:04d}.en.md").exists()
    # Rejected: the additions go, the approved answer stays as it was.
    kept = faq.reject(first.id, ADMIN)
    assert kept.status == APPROVED and len(kept.variants) == 1 and es.read_text(encoding="utf-8") == published
    # Correcting the approved text itself takes it out until it is approved again.
    faq.edit(first.id, ADMIN, "¿Hay lavadoras?\nSí, en el sótano, 24 horas.")
    assert not es.exists() and faq.get(first.id).status == PENDING
    faq.approve(first.id, ADMIN2)
    assert "24 horas" in es.read_text(encoding="utf-8")


def test_editing_a_merged_draft_is_refused_cleanly(world, finder) -> None:
    desk, faq, _, _ = world
    faq.duplicates = finder
    a = faq.draft(resolved_case(desk, "¿Se puede pagar el examen con tarjeta de crédito?",
                                "Sí, al registrarte en línea aceptan tarjeta de crédito."), MENTOR).candidate  # fmt: skip
    faq.submit(a.id, MENTOR)
    b = faq.draft(resolved_case(desk, "Can I pay the exam fee with a credit card?",
                                "Yes, credit cards are accepted when you register online.", language="en"),
                  MENTOR).candidate  # fmt: skip
    assert faq.submit(b.id, MENTOR).merged
    with pytest.raises(FaqStateError):
        faq.edit(b.id, MENTOR, "Q?\nA.")


def test_forget_removes_a_persons_words_from_unapproved_candidates(world) -> None:
    desk, faq, _, _ = world
    case_id = resolved_case(desk, "¿Puedo pintar mi cuarto?", "No, está prohibido.")
    trainee = desk.case(case_id).user_id
    draft = faq.draft(case_id, MENTOR).candidate
    assert faq.forget_user(trainee) == 1
    assert faq.get(draft.id).status == REJECTED and faq.get(draft.id).variants == ()
    assert faq.draft(case_id, MENTOR).candidate.id != draft.id  # a closed draft does not block


def test_a_failed_index_puts_the_files_back(world, tmp_path) -> None:
    desk, faq, _, _ = world

    def broken() -> None:
        raise RuntimeError("disk full")

    faq.publisher = Publisher(tmp_path / "knowledge", broken)
    candidate = faq.draft(resolved_case(desk, "¿lavadoras?", "sí"), MENTOR).candidate
    faq.submit(candidate.id, MENTOR)
    with pytest.raises(RuntimeError):
        faq.approve(candidate.id, ADMIN)
    assert faq.get(candidate.id).status == PENDING
    assert list((tmp_path / "knowledge" / "learned").glob("*.md")) == []
    # A stray file (another replica, a crash) is put right by the daily sync.
    stray = tmp_path / "knowledge" / "learned" / "faq-0099.es.md"
    stray.write_text("---\ntitle: x\n---\nold", encoding="utf-8")
    faq.publisher.reindex = None
    assert faq.sync() is True and not stray.exists()


def test_only_a_reply_to_a_draft_or_review_card_is_an_edit(world) -> None:
    from bot.channels.telegram.desk.faq import CARD_TAG, render

    desk, faq, _, _ = world
    candidate = faq.draft(resolved_case(desk, "¿lavadoras?", "sí"), MENTOR).candidate
    for lang in ("es", "en", "zh-TW"):
        for review in (False, True):
            match = CARD_TAG.match(render(lang, candidate, review=review))
            assert match and int(match.group(1)) == candidate.id
    relayed = t("en", "desk.from_trainee", case_id=5, name="Sofía", text="💡 FAQ #2 · hola")
    assert CARD_TAG.match(relayed) is None


# --- files ----------------------------------------------------------------------------------------


def test_the_published_files_carry_the_front_matter_and_every_phrasing(world, tmp_path) -> None:
    desk, faq, _, _ = world
    reindexed = []
    publisher = Publisher(tmp_path / "knowledge", lambda: reindexed.append(1),
                          approver_name=lambda pid: ROSTER.person(pid).name)  # fmt: skip
    faq.publisher = publisher
    candidate = faq.draft(resolved_case(desk, "¿Puedo tener bici en el cuarto?", "No, en el área techada."),
                          MENTOR).candidate  # fmt: skip
    faq.edit(candidate.id, MENTOR, "¿Puedo tener bici en el cuarto?\nNo, va en el área techada de la entrada B.")
    faq.submit(candidate.id, MENTOR)
    faq.edit(candidate.id, ADMIN2, "Can I keep a bike in my room?\nNo, park it by entrance B.", language="en")
    faq.store.add_variant(candidate.id, language="es", question="¿dónde dejo la bicicleta?",
                          answer="En el área techada.", author=MENTOR)  # fmt: skip
    faq.approve(candidate.id, ADMIN)
    es, en = (tmp_path / "knowledge" / "learned" / f"faq-{candidate.id:04d}.{x}.md" for x in ("es", "en"))
    text = es.read_text(encoding="utf-8")
    assert text.startswith("---\ntitle: \"Respondido por el equipo de consejería, aprobado el 2026-12-01\"")
    for line in ("language: es", "audience: trainee", "approved_by: \"Boss\"", "review_by: 2027-05-30",
                 f"case_ids: \"{candidate.case_ids[0]}\""):  # fmt: skip
        assert line in text
    assert "## ¿Puedo tener bici en el cuarto?" in text and "«¿dónde dejo la bicicleta?»" in text
    assert "No, va en el área techada de la entrada B." in text
    assert "Answered by the counselling desk, approved on 2026-12-01" in en.read_text(encoding="utf-8")
    assert reindexed == [1]
    faq.withdraw(candidate.id, ADMIN)
    assert not es.exists() and not en.exists() and reindexed == [1, 1]


# --- duplicates across languages -----------------------------------------------------------------


@pytest.fixture(scope="module")
def finder():
    from bot.embeddings import load_embedder

    embedder = load_embedder(Settings(_env_file=None).embedding_model)
    model = PairModel.load(embedder.name)
    assert model is not None, f"{MODEL_PATH} is missing: python -m bot.learning train"
    return DuplicateFinder(embedder.embed_query, model)


def test_facts_are_read_the_same_in_every_language() -> None:
    assert facts("La cuota es NT$1,800 y cierra 21 días antes, a las 23:59.") == {"1800", "21", "23:59"}
    assert facts("報名費 NT$1,800，考前 21 天 23:59 截止。") == {"1800", "21", "23:59"}


def test_the_same_question_in_two_languages_becomes_one_candidate(world, finder) -> None:
    desk, faq, _, _ = world
    faq.duplicates = finder
    es = faq.draft(resolved_case(
        desk, "oigan, ¿me pueden depositar la beca en mi cuenta de BBVA México?",
        "No se puede: la beca solo se deposita en una cuenta de Chunghwa Post en Taiwán. La abres "
        "la primera semana con tu ARC y la oficina del programa te acompaña.",
    ), MENTOR).candidate  # fmt: skip
    assert faq.submit(es.id, MENTOR).merged is False
    en = faq.draft(resolved_case(
        desk, "Can the monthly allowance be paid into my bank account back home in Mexico?",
        "No, it is only paid into a Chunghwa Post account in Taiwan. You open it in your first "
        "week with your ARC; the program office goes with you.", language="en",
    ), MENTOR).candidate  # fmt: skip
    done = faq.submit(en.id, MENTOR)
    assert done.merged and done.candidate.id == es.id
    assert done.candidate.languages == ["es", "en"] and len(done.candidate.case_ids) == 2
    assert faq.get(en.id).status == MERGED
    # A different question on the same topic stays apart.
    other = faq.draft(resolved_case(
        desk, "What day of the month is the allowance paid?",
        "On the 10th of each month, or the working day before when the 10th is a weekend.",
        language="en",
    ), MENTOR).candidate  # fmt: skip
    assert faq.submit(other.id, MENTOR).merged is False
    assert [c.id for c in faq.pending(ADMIN)] == [es.id, other.id]


def test_the_duplicate_model_keeps_near_misses_apart(finder) -> None:
    same = finder.probability(
        Text("zh-TW", "請問報名費可以刷卡嗎？", "可以，線上報名時可用信用卡付款，手續費由中心負擔。"),
        Text("en", "Can I pay the exam fee by credit card?", "Yes, credit cards are accepted when you "
             "register online, and the centre covers the card fee."),
    )  # fmt: skip
    near = finder.probability(
        Text("en", "Can I get a refund if I cancel my exam?", "Yes, 80% back if you cancel 14 or "
             "more days before the exam; after that, no refund."),
        Text("en", "How long does the exam refund take to arrive?", "Refunds take 4 to 6 weeks "
             "to reach your account after the cancellation is approved."),
    )  # fmt: skip
    assert same >= finder.model.threshold > near


# --- swapping the index under running answers ---------------------------------------------------


def test_a_reload_waits_for_the_answers_running_and_new_ones_wait_for_it() -> None:
    import threading

    from bot.assistant import SharedUse

    use = SharedUse()
    order: list[str] = []
    reading, release = threading.Event(), threading.Event()

    def answer(name: str, hold: threading.Event | None = None) -> None:
        with use.reading():
            order.append(f"{name} reads")
            reading.set()
            if hold is not None:
                assert hold.wait(10)

    first = threading.Thread(target=answer, args=("first", release))
    first.start()
    assert reading.wait(10)

    def reload() -> None:
        with use.writing():
            order.append("swap")

    writer = threading.Thread(target=reload)
    writer.start()
    # The writer is waiting for "first"; a new answer must now queue behind the writer.
    with use._cond:
        assert use._cond.wait_for(lambda: use._writing, timeout=10)
    second = threading.Thread(target=answer, args=("second",))
    second.start()
    assert order == ["first reads"]
    release.set()
    for thread in (first, writer, second):
        thread.join(10)
    assert order == ["first reads", "swap", "second reads"]


# --- the question log: kept as /privacy says ----------------------------------------------------


def test_the_question_log_keeps_words_only_when_declined_and_forgets(tmp_path) -> None:
    from bot.learning.questions import QuestionLog
    from bot.records import AnswerRecord
    from bot.storage import UserStore
    from bot.storage.retention import purge

    clock = Clock()
    db = Database(f"sqlite:///{tmp_path / 'q.db'}")
    db.migrate()
    log = QuestionLog(db, clock=clock)
    answered = AnswerRecord("¿lavandería?", "es", "…", answered=True)
    declined = AnswerRecord("¿hay piscina?", "es", "…", answered=False)
    escalated = AnswerRecord("quiero hablar con alguien", "es", "…", answered=False, escalate=True,
                             escalation_reason="explicit_request", topic="housing")  # fmt: skip
    for user, record in ((1, answered), (1, declined), (2, escalated), (2, declined)):
        log.record(user, record, audience="trainee")
    rows = log.between(clock.now - timedelta(days=1), clock.now + timedelta(days=1))
    assert [(r.outcome, r.question) for r in rows] == [
        ("answered", None), ("declined", "¿hay piscina?"), ("escalated", None),
        ("declined", "¿hay piscina?"),
    ]  # fmt: skip
    assert rows[2].reason == "explicit_request" and rows[2].topic == "housing"
    UserStore(db).forget_user(1)
    assert {r.user_id for r in log.between(clock.now - timedelta(days=1), clock.now + timedelta(days=1))} == {2}
    purge(db, clock.now + timedelta(days=91))  # the words go after 90 days, the counts stay
    rows = log.between(clock.now - timedelta(days=1), clock.now + timedelta(days=1))
    assert len(rows) == 2 and all(r.question is None for r in rows)
    purge(db, clock.now + timedelta(days=366))
    assert log.between(clock.now - timedelta(days=1), clock.now + timedelta(days=1)) == []
