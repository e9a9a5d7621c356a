"""Reading the evidence: what kind of fact a question wants, and whether a passage holds one.

Question answering has long used the expected answer type as a cheap check: a question that asks
"what number do I call" is not answered by a passage without a phone number, "until what time"
needs a time, "how much" an amount. The checks are written per language as data.
"""

from __future__ import annotations

import re

from bot.textnorm import fold

# Cues in a (folded: lower case, no accents) question -> the answer type they ask for.
ANSWER_TYPE_CUES: dict[str, re.Pattern[str]] = {
    "phone": re.compile(
        r"phone|number (?:do i|to|should i) call|call\b|hotline|contact number|"
        r"telefono|celular|numero de|numero (?:para|al que)|llamo|llamar|"
        r"電話|手機|號碼|幾號|專線"
    ),
    "time": re.compile(
        r"what time|by what time|until when|until what|opening hours|\bhours\b|open(?:s|ed)? on|"
        r"open until|when .* open|que hora|horario|hasta que hora|a que hora|abre|"
        r"幾點|營業|開放時間|時段"
    ),
    "amount": re.compile(
        r"how much|how many|cost|fee|price|pay|percentage|score|"
        r"cuanto|cuanta|cuantos|cuantas|cuesta|costo|precio|pagan|porcentaje|"
        r"多少|幾題|費用|幾分|價錢|幾個|幾天|多久"
    ),
    # A price is more than any number: "how much is a monthly bus pass" is not answered by a
    # passage saying the bus ride takes 20-25 minutes.
    "price": re.compile(
        r"\bcosts?\b|\bfees?\b|\bprices?\b|\bfares?\b|\bcharged?\b|how much (?:is|are|does|do|for)\b"
        r"(?!.*\b(?:time|long|hours?|days?)\b)|"
        r"cuesta|cuestan|costo|precio|tarifa|cobran|\bcobra\b|cuanto (?:sale|vale|hay que pagar|pago)|"
        r"多少錢|費用|價錢|價格|收費|票價|要付多少"
    ),
    "rate": re.compile(r"pass rate|percentage|porcentaje|tasa de|比率|及格率|通過率|錄取率|百分比"),
    "date": re.compile(
        r"\bwhen\b|what date|which day|what day|deadline|"
        r"cuando|que dia|fecha|desde cuando|"
        r"什麼時候|哪一天|幾月|日期|何時|截止"
    ),
    "place": re.compile(
        r"\bwhere\b|which room|what room|address|"
        r"donde|en que salon|que salon|direccion|"
        r"哪裡|在哪|哪一間|哪間|地址|地點|試場"
    ),
    "email": re.compile(r"e-?mail|correo|信箱"),
}

# What each answer type looks like in a passage.
ANSWER_TYPE_EVIDENCE: dict[str, re.Pattern[str]] = {
    "phone": re.compile(r"\+?\d[\d\- ]{5,}\d|\b1\d{2,3}\b"),
    "time": re.compile(
        r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}\s?(?:am|pm)\b|24 ?(?:hours|horas)|\d+ ?(?:minutes|minutos|hours|horas)|"
        r"\d+\s*(?:分鐘|小時)|[上下]午|週[一二三四五六日]|星期|sunday|saturday|sabado|domingo"
    ),
    "amount": re.compile(r"\d"),
    "price": re.compile(
        r"nt\$|\bntd\b|\$ ?\d|\d[\d,.]* ?(?:元|塊|dollars?|pesos|mxn|usd)|\bfree\b|gratis|gratuit|"
        r"免費|不收費|no cost|sin costo|\d ?%|reembols|refund|退費|退還"
    ),
    "rate": re.compile(r"\d ?%|percent|por ?ciento|百分之|\d成"),
    "date": re.compile(
        r"\d{4}-\d{2}-\d{2}|\d+\s*月\s*\d+\s*日|\b\d{1,2}\b|january|february|march|april|may|june|"
        r"july|august|september|october|november|december|enero|febrero|marzo|abril|mayo|junio|"
        r"julio|agosto|septiembre|octubre|noviembre|diciembre|每|day|dia|天"
    ),
    "place": re.compile(
        r"\b[a-z]{1,3}\d{3}\b|room|building|floor|hall|station|gate|salon|edificio|piso|"
        r"estacion|puerta|sala|[樓室館站門區]|\d{6}|no\. \d"
    ),
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
}


def answer_types(question: str) -> list[str]:
    folded = fold(question)
    return [name for name, cue in ANSWER_TYPE_CUES.items() if cue.search(folded)]


def types_met(types: list[str], passage: str, *, folded: bool = False) -> float:
    """Share of the asked answer types that the passage can supply (1.0 when none was asked).
    `folded`: the passage is already folded (`bot.textnorm.fold`)."""
    if not types:
        return 1.0
    text = passage if folded else fold(passage)
    return sum(1 for t in types if ANSWER_TYPE_EVIDENCE[t].search(text)) / len(types)
