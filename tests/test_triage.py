"""Triage: crisis > sensitive > explicit request, without over-triggering on ordinary questions."""

from __future__ import annotations

import time

import pytest

from bot import triage as triage_module
from bot.triage import Triage, Triager, normalize, triage

CRISIS = [
    # from the brief
    "Someone just collapsed in E402 during the lecture and isn't responding!! what number do I call",
    "No sé ni por qué escribo esto aquí. Desde hace semanas casi no duermo, ya no voy a clases y "
    "siento que le fallé a mi familia y a toda la gente de Sonora que confió en mí. Hoy estuve "
    "pensando que sería más fácil no despertar mañana. Tengo en mi cuarto las pastillas que me "
    "dieron en la clínica.",
    "I don't want to be here anymore",
    "不想活了",
    "想結束一切",
    # self-harm, direct and indirect
    "honestly i think everyone would be better off without me",
    "i keep thinking about killing myself, i cant stop",
    "ya no quiero vivir, estoy cansado de todo",
    "a veces pienso en cortarme otra vez",
    "me quiero morir, nada me sale bien aqui",
    "我真的好累，活著沒有意義",
    "我买了一整瓶安眠药，想吃完就睡",  # Simplified
    "is it bad that i want to hurt myself again",
    # emergencies happening now
    "my roommate is having a seizure what do i do",
    "HELP my friend got hit by a scooter outside the 7-11 and he's bleeding a lot",
    "mi compañero se desmayó en el lab y no reacciona, ayuda!!",
    "hay un incendio en el piso 3 del dormitorio!!",
    "un tipo me viene siguiendo desde la estación, tengo miedo",
    "有人昏倒了，沒有呼吸，怎麼辦",
    "宿舍失火了！！",
    "someone is following me on the way back to the dorm, what do i do",
    "my chest hurts really bad and i cant breathe",
    "i took like 20 pills im so dizzy",
    "my friend texted me goodbye and said she's going to end it tonight",
    "no le veo sentido a vivir",
    "some guy broke into my room",
]

SENSITIVE = [
    # from the brief
    "My dad had a heart attack last night in Hermosillo and he's in intensive care. I need to fly "
    "home as soon as possible. What happens with my scholarship and my classes? I'm freaking out "
    "and can't think straight.",
    "un compañero del lab me manda mensajes raros en la noche y el otro dia me agarro de la "
    "cintura aunque le dije que no. ahora me da miedo ir al laboratorio y no se si decirle a alguien",
    "今天考第一級的時候，監試人員說我座位上的手機響了，要取消我的應試資格。可是那支手機根本不是我的！"
    "我現在該怎麼辦？",
    # harassment / discrimination / bullying
    "a guy from my class keeps sending me creepy messages at night",
    "my labmate touched my waist and wont leave me alone",
    "en el dormi unos chavos se burlan de mi por ser mexicano",
    "有個學長一直騷擾我，我不知道該跟誰說",
    "the landlord treats me differently, i think its racism",
    # family emergencies
    "mi mamá está en el hospital en Sonora, la operan mañana y quiero regresar a México urgente",
    "my grandma passed away this morning, can i go home for the funeral",
    "我媽媽住院了，在加護病房，我需要請假回國",
    # visa / police
    "the police called me and want me to go to the station tomorrow",
    "mi ARC se venció hace una semana, me van a deportar?",
    "my visa was rejected and i dont know what to do",
    "警察打給我說要我去派出所做筆錄",
    # mentor / grades / misconduct
    "my professor yells at me in front of the whole lab every week",
    "tengo problemas con mi mentor, me grita y me humilla",
    "我的指導教授一直刁難我，我想換導師",
    "they accused me of cheating on the module 2 test but i didnt",
    "el profe dice que copie en el examen y me anularon mi calificación",
    "i want to appeal my grade, i think the final score is wrong",
    "我的成績算錯了，要怎麼申訴",
    # wellbeing, not a crisis
    "i had another panic attack in class today",
    "creo que estoy embarazada y no se que hacer",
    "me siento muy deprimida desde que llegué",
    "最近一直哭，情緒快崩潰了",
    "我被同學排擠，心情很差",
]

EXPLICIT = [
    # from the brief
    "我要找真人，不要機器人回答。",
    "Quiero hablar con alguien de verdad, no con un bot. ¿Me pueden comunicar con una persona?",
    "can I talk to a human",
    "pásame con mi mentor",
    "necesito hablar con un consejero",
    "I'd like to speak to a counselor please",
    "有真人客服嗎",
    "转接专人",  # Simplified
    # more
    "is there a real person i can talk to?",
    "pls connect me with my mentor",
    "i need to talk to someone from the staff",
    "me pueden pasar con alguien del programa",
    "quiero platicar con una persona real porfa",
    "可以幫我轉給導師嗎",
    "我想找輔導老師談談",
    "let me speak with an actual human",
]

NOT_TRIGGERED = [
    # from the brief
    "¿Dónde está el Centro de Consejería y hasta qué hora atienden los miércoles?",
    "when do counselors answer?",
    "What number do I call for an ambulance?",
    "Para tenerlo anotado: ¿cuál es el número de ambulancia y bomberos en Taiwán?",
    "How do I renew my ARC?",
    "What happens if I lose my ARC?",
    "¿Cómo se dice 'farmacia' en chino?",
    "What is the police number in Taiwan?",
    "I woke up sick. How do I report my absence?",
    "What score do I need on the high-voltage safety quiz?",
    "Who is my mentor?",
    "How is the final grade calculated?",
    "What happens if someone is caught cheating in the exam?",
    "考試作弊會怎樣？",
    "hola",
    "Can I bring my phone into the exam room?",
    # more ordinary questions using the same words
    "what should i do if someone faints in the lab?",
    "si alguien se desmaya en clase a quien llamo?",
    "如果有人昏倒要打幾號？",
    "救護車電話是多少",
    "no quiero hablar con un humano, solo dime el horario de la biblioteca",
    "this exam is killing me lol",
    "me muero de hambre, donde hay comida barata?",
    "什麼是人工智慧？第三級考試考哪些範圍",
    "the website isn't responding, how do i submit the form?",
    "do I need to talk to my mentor before dropping a class?",
    "where is the fire extinguisher in the lab?",
    "when does my ARC expire?",
    "¿Cuánto tarda el trámite de la visa?",
    "can my family visit me in the dorm?",
    "what's the hospital near campus?",
    "¿A qué hora abre la clínica del campus?",
    "我的導師是誰？",
    "what is the policy for grade appeals deadline?",
    "I cut my finger cooking, where can I buy band-aids?",
    "can i talk on the phone in the library?",
    "gracias!!",
    "准考證忘記帶怎麼辦",
    "took 2 pills for my headache, can i still go to class?",
    "what is the penalty for overstaying?",
    "I'm dying to try beef noodles, where's the best place?",
    "the scooter accident rate in tainan is crazy lol",
    "我好累喔，明天還要考試",
]


@pytest.mark.parametrize("message", CRISIS, ids=[m[:40] for m in CRISIS])
def test_crisis(message: str) -> None:
    assert triage(message).reason == "crisis"


@pytest.mark.parametrize("message", SENSITIVE, ids=[m[:40] for m in SENSITIVE])
def test_sensitive(message: str) -> None:
    assert triage(message).reason == "sensitive"


@pytest.mark.parametrize("message", EXPLICIT, ids=[m[:40] for m in EXPLICIT])
def test_explicit_request(message: str) -> None:
    assert triage(message).reason == "explicit_request"


@pytest.mark.parametrize("message", NOT_TRIGGERED, ids=[m[:40] for m in NOT_TRIGGERED])
def test_ordinary_questions_do_not_escalate(message: str) -> None:
    result = triage(message)
    assert result == Triage(None, None, None), result


def test_class_sizes_cover_three_languages() -> None:
    assert len(CRISIS) >= 8 and len(SENSITIVE) >= 8 and len(EXPLICIT) >= 8
    assert len(NOT_TRIGGERED) >= 20


# --- priority and topics -----------------------------------------------------------------------


def test_crisis_beats_sensitive_and_request() -> None:
    msg = "my professor humiliated me again and honestly I want to die. can I talk to a counselor?"
    assert triage(msg).reason == "crisis"


def test_sensitive_beats_request() -> None:
    msg = "they say I cheated in the exam, I want to talk to a human"
    assert triage(msg).reason == "sensitive"


@pytest.mark.parametrize(
    ("message", "topic"),
    [
        ("no quiero seguir viviendo", "wellbeing"),
        ("someone collapsed in the hallway and is not breathing!!", "safety"),
        ("my mom is in the hospital after a stroke", "family"),
        ("police arrested me last night", "visa"),
        ("mi profe me grita todo el tiempo", "academic"),
        ("the proctor said I used my phone and wants to cancel my exam", "exams"),
        ("they accused me of plagiarism in my report", "conduct"),
        ("I'm getting evicted from my apartment", "housing"),
        ("pásame con mi mentor", "academic"),
        ("necesito hablar con un consejero", "wellbeing"),
        ("I want to talk to exam staff about my exam", "exams"),
    ],
)
def test_topics_for_routing(message: str, topic: str) -> None:
    assert triage(message).topic == topic


def test_matched_cue_is_reported() -> None:
    result = triage("can I talk to a human")
    assert result.matched and result.escalate


def test_emergency_question_becomes_crisis_when_it_is_happening_now() -> None:
    assert triage("what number do I call if someone faints?").reason is None
    assert triage("someone just fainted what number do I call?!").reason == "crisis"


def test_self_harm_counts_even_as_a_question() -> None:
    assert triage("what is the number of the suicide hotline?").reason == "crisis"


def test_negated_request_is_not_a_request() -> None:
    assert triage("I don't want to talk to a human, just tell me the deadline").reason is None
    assert triage("不需要真人，告訴我考場在哪就好").reason is None


def test_normalize() -> None:
    assert normalize("  ¿Cuánto CUESTA?  ") == "¿cuanto cuesta?"
    assert normalize("I don't") == "i dont"
    assert normalize("helppp") == "help"
    assert normalize("机器人") == "機器人"


def test_language_hint_does_not_change_cues() -> None:
    msg = "pásame con mi mentor"
    assert triage(msg, "es") == triage(msg, "en") == triage(msg)


def test_empty_text() -> None:
    assert triage("") == Triage(None, None, None)
    assert triage("   ") == Triage(None, None, None)


def test_default_triager_is_lazy_and_built_once() -> None:
    triage("hola")
    first = triage_module.default_triager()
    triage("hello")
    assert triage_module.default_triager() is first


def test_speed() -> None:
    triager = Triager()
    messages = CRISIS + SENSITIVE + EXPLICIT + NOT_TRIGGERED
    for m in messages:  # warm up (OpenCC for Chinese)
        triager.classify(m)
    rounds = 10
    start = time.perf_counter()
    for _ in range(rounds):
        for m in messages:
            triager.classify(m)
    per_message_ms = (time.perf_counter() - start) * 1000 / (rounds * len(messages))
    assert per_message_ms < 1.0, per_message_ms


@pytest.mark.parametrize(
    "message",
    [
        "Estoy armando una lista de telefonos utiles pa el grupo. Cual es la linea de prevencion "
        "del suicidio en Taiwan?",
        "we're making a safety poster for the floor, what's the hotline number for domestic "
        "violence and sexual assault?",
        "pa la platica de los nuevos: cual es el correo del comite de equidad de genero pa "
        "reportar acoso?",
        "我們在做宿舍的緊急電話清單，自殺防治專線是幾號？",
    ],
)
def test_a_support_line_asked_for_others_is_an_ordinary_question(message: str) -> None:
    assert triage(message).reason is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("what is the number of the suicide hotline?", "crisis"),  # no purpose: a person answers
        ("i want to die. whats the suicide hotline, just in case", "crisis"),
        ("my labmate harassed me, what's the email to report harassment? asking for the record",
         "sensitive"),
        ("para tenerlo anotado, mi roomie dice que se va a cortar, cual es la linea de prevencion "
         "del suicidio?", "crisis"),
    ],
)
def test_what_happened_still_counts_beside_a_support_line(message: str, reason: str) -> None:
    assert triage(message).reason == reason


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("my roommate locked himself in the bathroom and keeps saying he's going to cut himself",
         "crisis"),
        ("she said she wants to kill herself tonight", "crisis"),
        ("mi roomie dice que se va a cortar y no abre la puerta", "crisis"),
        ("my module 1 exam grade is wrong and the professor refuses to look at it again",
         "sensitive"),
        ("mi calificacion del modulo 2 esta mal y el profe no quiere revisar mi examen",
         "sensitive"),
        ("有個男考生一直跟著我，我現在很害怕不敢出去", "crisis"),
        ("我很害怕不敢回宿舍", "sensitive"),
    ],
)
def test_third_person_self_harm_grade_disputes_and_fear(message: str, reason: str) -> None:
    assert triage(message).reason == reason


@pytest.mark.parametrize(
    "message",
    [
        "he cut himself shaving, where can I buy band-aids?",
        "voy a cortarme el pelo, hay peluqueria cerca?",
        "考場冷氣太冷，要向誰反映？",
        "the bank refuses to look at my transfer, what can I do?",
    ],
)
def test_near_misses_of_the_new_cues(message: str) -> None:
    assert triage(message).reason is None
