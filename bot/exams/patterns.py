"""The word and date tables (regular expressions) that `parse_exam_question` reads questions with.

Patterns cover es / en / zh-TW. Only `bot.exams.questions` uses them.
"""

from __future__ import annotations

import re

_A = r"(?<![A-Za-z0-9])"  # ASCII word boundaries: CJK characters count as \w for `\b`
_Z = r"(?![A-Za-z0-9])"

_SESSION_ID_RE = re.compile(_A + r"([A-Za-z]{2,3})[\s\-_]?(\d{4})[\s\-_]?(\d{2})" + _Z + r"(?![-/.]\d)")
_ROOM_TIGHT_RE = re.compile(_A + r"([A-Za-z]{1,3})-?(\d{3})" + _Z)
_ROOM_SPACED_RE = re.compile(_A + r"([A-Z]{1,3}|[Cc][Cc]|[Aa][Ii])\s(\d{3})" + _Z)
_NOT_ROOM_PREFIX = {"IN", "ON", "AT", "IS", "A", "DE", "EN", "EL", "LA", "TO", "BY", "OR", "Y", "L", "LV",
                    "NT", "NTD", "NO", "NR", "ES", "AN", "AM", "PM", "I"}

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9, "壹": 1, "貳": 2, "參": 3}
_ZH_NUM = r"[零〇一二兩三四五六七八九十壹貳參]{1,3}"

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "uno": 1, "dos": 2, "tres": 3, "i": 1, "ii": 2, "iii": 3}

_LEVEL_RES = (
    re.compile(_A + r"(?:level|nivel|lvl|lv)\.?\s*[-#]?\s*(\d|one|two|three|uno|dos|tres|iii|ii|i)" + _Z,
               re.IGNORECASE),
    re.compile(_A + r"L(\d)" + _Z),
    re.compile(r"(\d)(?:st|nd|rd)[\s-]level" + _Z, re.IGNORECASE),
    re.compile(r"第?\s*([一二三壹貳參])\s*級"),
    re.compile(r"(?<![\d.])第?\s*(\d)\s*級"),
)

_MONTHS_EN = {name: i for i, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1) for name in names}
_MONTHS_ES = {name: i for i, name in enumerate((
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre"), start=1)}
_MONTHS_ES["setiembre"] = 9
_EN_MONTH = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_ES_MONTH = "|".join(sorted(_MONTHS_ES, key=len, reverse=True))

_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_ZH_DATE_RE = re.compile(r"(?:(\d{2,4})\s*年\s*)?(\d{1,2}|" + _ZH_NUM + r")\s*月\s*(\d{1,2}|" + _ZH_NUM
                         + r")\s*[日號号]?")
_ES_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\s+de\s+(" + _ES_MONTH + r")(?:\s+(?:de|del)\s+(\d{4}))?" + _Z,
                         re.IGNORECASE)
_EN_MD_RE = re.compile(_A + r"(" + _EN_MONTH + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?" + _Z,
                       re.IGNORECASE)
_EN_DM_RE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + _EN_MONTH + r")(?:,?\s+(\d{4}))?"
                       + _Z, re.IGNORECASE)
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\d/])")
_ZH_MONTH_RE = re.compile(r"(?:(\d{2,4})\s*年\s*)?(\d{1,2}|" + _ZH_NUM + r")\s*月(?:份)?")
_ES_MONTH_ONLY_RE = re.compile(_A + r"(?:en|de|durante|para)\s+(" + _ES_MONTH + r")(?:\s+(?:de|del)\s+(\d{4}))?"
                               + _Z, re.IGNORECASE)
_EN_MONTH_ONLY_RE = re.compile(_A + r"(?:(?:in|during|for|of|this|next)\s+(" + _EN_MONTH + r")(?:\s+(\d{4}))?"
                               + _Z + r"|(" + _EN_MONTH + r")(?:\s+(\d{4}))?\s+(?=(?:exam|session|test|sitting)s?\b))",
                               re.IGNORECASE)


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# "Is this about an exam?"
_EXAM_WORDS = _rx(
    r"\bexams?\b", r"\bexamination", r"\bex[aá]men(?:es)?\b", r"\btests?\b", r"\bsessions?\b",
    r"\bsesi[oó]n(?:es)?\b", r"\bsittings?\b", r"\bcertification\b", r"\bcertificaci[oó]n\b",
    r"考試", r"場次", r"考場", r"試場", r"認證", r"檢定", r"應試", r"測驗", r"報考", r"開考", r"考\b",
)
_CERT_WORDS = _rx(r"\bcertification\b", r"\bcertificaci[oó]n\b", r"認證", r"\bAI\b", r"場次",
                  r"\bsessions?\b", r"\bsesi[oó]n(?:es)?\b")
# Exams of the training program, not the certification (handbook.*.md)
_PROGRAM_EXAM_WORDS = _rx(
    r"\bmodules?\b", r"\bm[oó]dulos?\b", r"\bmid-?course\b", r"\bmid-?term\b", r"\bfinal\b", r"\bquiz",
    r"\boral\b", r"\bTOCFL\b", r"\binterview\b", r"\bentrevista\b", r"\bparcial\b", r"\bclass\b",
    r"\bclase\b", r"模組", r"期中", r"期末", r"口試", r"小考", r"華語課", r"中文課",
)
# Other topics of the rules (fees, ID, refunds...) and the venue guide.
_RULES_WORDS = _rx(
    r"\bfees?\b", r"\bcosts?\b", r"\bprice", r"\bpay(?:ment|ing)?\b", r"\brefund", r"how much",
    r"\bmoney\b", r"NT\$", r"\bdiscount", r"\bID\b", r"\bpassport", r"\bARC\b", r"\bbring\b",
    r"\ballowed\b", r"\bprohibit", r"\bphones?\b", r"\bcalculator", r"\bwater\b", r"\bfood\b",
    r"\blate\b", r"\bpass(?:ing)?\b", r"\bscores?\b", r"\bresults?\b", r"\bcertificates?\b",
    r"\beligib", r"\brequirements?\b", r"\bcheat", r"\bpenalt", r"\bpark", r"\bbus\b", r"\btrain\b",
    r"\btaxi\b", r"\blockers?\b", r"\btoilet", r"\baccommodation", r"\btransfer", r"\bcancel",
    r"\btyphoon", r"\bwithdraw", r"\bappeal", r"\bretake", r"\bresit", r"\bre-take", r"\brules?\b",
    r"\bpolicy\b", r"volver a (?:presentar|hacer|tomar)", r"\brepetir\b", r"重考", r"再考", r"補考",
    r"\bcost(?:o|ar)\b", r"\bcuesta", r"\bprecio", r"\bpag(?:ar|o)\b", r"\bcuota", r"\btarifa",
    r"\breembolso", r"\bdevoluci[oó]n", r"cu[aá]nto (?:cuesta|es|pago|cobran|vale)",
    r"\bidentificaci[oó]n", r"\bpasaporte", r"\bllevar\b", r"\btraer\b", r"\bpermitid", r"\bprohibid",
    r"\bcelular", r"\btel[eé]fono", r"\bcalculadora", r"\bagua\b", r"\bcomida", r"\baprobar",
    r"\bcalificaci[oó]n", r"\bresultados?\b", r"\bcertificado", r"\brequisito", r"\bestacionamiento",
    r"\bautob[uú]s", r"\btren\b", r"\bcasillero", r"\bcancelar", r"\btif[oó]n", r"\breglas?\b",
    r"\bpol[ií]tica", r"費用", r"報名費", r"多少錢", r"價格", r"繳費", r"付款", r"退費", r"退款", r"優惠",
    r"證件", r"身分證", r"護照", r"居留證", r"攜帶", r"帶什麼", r"可以帶", r"禁止", r"手機", r"計算機",
    r"遲到", r"及格", r"分數", r"成績", r"證書", r"資格", r"作弊", r"停車", r"公車", r"火車",
    r"計程車", r"置物櫃", r"颱風", r"取消", r"轉換場次", r"延期", r"規則", r"規定", r"怎麼去", r"交通",
    # what the exam covers, and when registration opens (rules.*.md sections 2 and 3)
    r"\bcover", r"\bcontent", r"\btopics?\b", r"\bsyllabus", r"\bformat\b", r"\bquestions\b",
    r"\bwhat(?:'s| is) on\b", r"\btemario", r"\bcontenido", r"\bpreguntas\b", r"\btemas\b", r"範圍",
    r"題目", r"內容", r"題型",
)
# When registration opens (60 days before, rules.*.md section 3) is not in the calendar.
_REGISTRATION_OPENS = _rx(
    r"registration (?:open|start|begin)s?\b", r"\b(?:open|start|begin)s? (?:the )?registration\b",
    r"(?:abre|empieza|inicia|comienza)n? (?:la )?(?:inscripci[oó]n|registro)", r"開始報名", r"報名.{0,3}開始",
    r"開放報名",
)

_NEXT_WORDS = _rx(r"\bnext\b", r"\bsoonest\b", r"\bearliest\b", r"\bpr[oó]xim[oa]\b", r"\bsiguiente\b",
                  r"下一場", r"下一次", r"下次", r"最近", r"下一個", r"下個場次", r"最快")
_UPCOMING_WORDS = _rx(r"\bupcoming\b", r"\bcoming\b", r"\bfuture\b", r"\bpr[oó]xim[oa]s\b",
                      r"\bsiguientes\b", r"接下來", r"之後", r"未來", r"即將")
_LIST_WORDS = _rx(
    r"\bwhich (?:exams?|sessions?)\b", r"\bwhat (?:exams?|sessions?)\b", r"\bschedule\b",
    r"\bcalendar\b", r"\bexam dates\b", r"\bdates\b", r"\bany (?:exams?|sessions?)\b",
    # "is there / hay / 有沒有" list sessions only when sessions are what is asked about ("is there a
    # room where I can pump breast milk at the exam building?" is not a calendar question)
    r"\b(?:is|are) there (?:an? |any |more |other )?(?:(?:level \d|ai|english|chinese) )?(?:exams?|sessions?|tests?)\b",
    r"\bqu[eé] (?:ex[aá]menes|sesiones|ex[aá]men)\b",
    r"\bcalendario\b", r"\bhorarios?\b", r"\bfechas\b",
    r"\bhay (?:alg[uú]n |alguna |m[aá]s |otros? |otras? )?(?:ex[aá]men(?:es)?|sesi[oó]n(?:es)?|fechas?)\b",
    r"哪些", r"有沒有.{0,8}(?:考試|場次|考)", r"有幾場",
    r"時間表", r"場次表", r"考試日期", r"有.{0,6}(?:考試|場次)嗎", r"什麼(?:考試|場次)", r"哪幾場",
)
_MORNING_WORDS = _rx(r"\bmorning\b", r"\d\s*a\.?m\.?(?![A-Za-z])", r"\ba\.m\.", r"\b(?:por|de) la ma[ñn]ana\b",
                     r"\bmatutin", r"上午", r"早上", r"早場")
_AFTERNOON_WORDS = _rx(r"\bafternoon\b", r"\d\s*p\.?m\.?(?![A-Za-z])", r"\bp\.m\.", r"\b(?:por|de) la tarde\b",
                       r"\bvespertin", r"下午", r"午場", r"晚場")
_RELATIVE_DAYS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, _rx(r"\bday after tomorrow\b", r"\bpasado ma[ñn]ana\b", r"後天")),
    (1, _rx(r"\btomorrow\b", r"(?<!pasado )(?<!la )\bma[ñn]ana\b", r"明天", r"明日")),
    (0, _rx(r"\btoday\b", r"\bhoy\b", r"今天", r"今日")),
)
_ENGLISH_WORDS = _rx(r"\benglish\b", r"\bingl[eé]s\b", r"英文", r"英語")
_CHINESE_WORDS = _rx(r"\bchinese\b", r"\bmandarin\b", r"\bchino\b", r"\bmandar[ií]n\b", r"中文",
                     r"華語", r"國語")
_LANGUAGE_ASK = _rx(r"\blanguages?\b", r"\bidiomas?\b", r"\blengua\b", r"語言", r"語文", r"哪種語", r"什麼語")

# Asked fields: "strong" phrases are specific to the calendar; "weak" ones only count when the
# question mentions no other topic of the rules.
_CHECKIN_PHRASES = (
    r"\bcheck[\s-]?in\b", r"\bregistro de entrada\b", r"\bregistrarme en el sitio\b", r"報到",
)
_CHECKIN_STRONG = _rx(
    r"(?:what time|when)\b.{0,40}\bcheck[\s-]?in", r"\bcheck[\s-]?in (?:time|opens?|starts?|begins?)",
    r"\bcheck[\s-]?in\b.{0,20}\b(?:open|start|begin)", r"\bhora\b.{0,30}\bcheck[\s-]?in",
    r"(?:幾點|何時|什麼時候|時間).{0,8}報到", r"報到.{0,6}(?:幾點|時間|何時|什麼時候)",
    r"\barrive\b", r"\bllegar\b", r"\bpresentarme\b", r"幾點到",
    r"\bhora\b.{0,25}\b(?:abre|empieza|comienza|inicia)\b.{0,10}\bregistro\b",
)
_CHECKIN_WEAK = _rx(*_CHECKIN_PHRASES, r"\barrival\b", r"\bllegada\b")
_CHECKIN_REMOVE = _rx(
    r"\bcheck[\s-]?in (?:opens?|starts?|begins?)\b", r"\b(?:open|start|begin)s?(?: of| the| of the)? check[\s-]?in\b",
    r"開始報到", r"報到.{0,4}開始", r"(?:empieza|comienza|inicia|abre)(?: el| la)? (?:check[\s-]?in|registro)\b",
)
_START_STRONG = _rx(
    r"\bstart", r"\bbegin", r"\bempiez", r"\bcomienz", r"\binicia", r"開始", r"開考",
)
_TIME_WEAK = _rx(r"\bwhat time\b", r"\ba qu[eé] hora\b", r"\bhorario\b", r"\btimes?\b", r"\bhoras?\b",
                 r"幾點", r"時間", r"何時開")
_END_STRONG = _rx(r"\bends?\b", r"\bfinish", r"\bover\b", r"\btermina", r"\bacaba", r"結束", r"考完",
                  r"\bending\b")
_DURATION = _rx(r"\bhow long\b", r"\bduraci[oó]n\b", r"\bcu[aá]nto dura\b", r"多久", r"多長")
_ROOM_STRONG = _rx(
    r"\b(?:which|what) (?:room|classroom)\b", r"\broom number\b", r"\bin which room\b",
    r"\b(?:qu[eé]|cu[aá]l) (?:sal[oó]n|aula|sala)\b", r"哪一?間", r"哪個(?:試場|教室|考場)",
    r"(?:試場|教室|考場)在", r"什麼(?:試場|教室)", r"幾號(?:試場|教室)", r"哪棟", r"哪一棟",
    r"\bwhich building\b", r"\bqu[eé] edificio\b",
)
_ROOM_WEAK = _rx(
    r"\brooms?\b", r"\bclassroom\b", r"\bwhere\b", r"\bbuilding\b", r"\bsal[oó]n\b", r"\baula\b",
    r"\bsala\b", r"\bd[oó]nde\b", r"\bedificio\b", r"試場", r"教室", r"考場", r"哪裡", r"在哪", r"大樓",
    r"地點", r"\blugar\b", r"\blocation\b", r"\bvenue\b",
)
_DEADLINE_STRONG = _rx(
    r"\bregistration (?:deadline|closes?|ends?|period)\b", r"\bdeadline (?:to|for) (?:register|sign|registration|enrol)",
    r"\blast day to (?:register|sign up|enrol)", r"\bregister (?:by|before|until)\b",
    r"\bfecha l[ií]mite (?:de|para) (?:inscripci[oó]n|registro|inscribir)",
    r"\b(?:plazo|cierre) (?:de|para) (?:la )?(?:inscripci[oó]n|registro|inscribir)",
    r"報名截止", r"截止報名", r"報名期限", r"報名.{0,6}(?:到|至)(?:什麼時候|何時|幾號|哪天)",
    r"\bstill (?:register|sign up|enrol)", r"\btodav[ií]a (?:puedo|me puedo) (?:inscribir|registrar)",
    r"還(?:能|可以)報名", r"可以報名嗎", r"\bopen for (?:registration|enrol)", r"\babiert[oa]s? (?:para|a) (?:la )?inscripci",
)
_REGISTRATION = _rx(r"\bregist", r"\bsign(?:ing)? up\b", r"\benrol", r"\binscrib", r"\binscripci",
                    r"報名")
_DEADLINE_WEAK = _rx(r"\bdeadline", r"\bfecha l[ií]mite\b", r"\bplazo\b", r"截止", r"期限")
_WHEN_WORDS = _rx(r"\bwhen\b", r"\buntil\b", r"\bcu[aá]ndo\b", r"\bhasta\b", r"什麼時候", r"何時", r"幾號",
                  r"哪天", r"哪一天", r"\bwhat day\b", r"\bqu[eé] d[ií]a\b", r"\bdate\b", r"\bfecha\b",
                  r"日期", r"\bwhich day\b", r"幾月")
_SEATS = _rx(r"\bseats?\b", r"\bcapacity\b", r"\bhow many (?:people|candidates|places|spots)\b",
             r"\bplaces\b", r"\bcupos?\b", r"\blugares\b", r"\basientos?\b", r"\bplazas\b",
             r"\bcapacidad\b", r"座位", r"名額", r"人數", r"容納", r"幾位", r"幾個位")

# A date named as a registration deadline ("報名截止日是 2026-12-19", "deadline is March 6",
# "fecha límite el 6 de marzo"): the sessions are looked up by their deadline, not their date.
_DEADLINE_DATE = _rx(
    r"(?:截止(?:日期?)?|報名期限|deadline|fecha l[ií]mite|plazo|registration closes?|"
    r"inscripci[oó]n cierra|cierre de (?:la )?inscripci[oó]n)"
    r"(?:\s*(?:是|為|在|:|\b(?:is|es|el|on|of|del?|de la)\b)){0,2}\s*(?P<date>(?:\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ene|abr|ago|dic)[a-z]*\b)"
    r"[^,;?？。，]{2,22})"
)
# A seat count asked as a filter ("sessions with 30 seats", "只有 30 個座位", "de 30 lugares")
_SEAT_COUNT = _rx(
    r"(?P<n1>\d{1,3})\s*(?:seats?|places|spots|asientos|lugares|cupos|plazas|個座位|個位子|位|名額|人)",
    r"(?:seats?|asientos|lugares|cupos|座位|名額)\D{0,8}?(?P<n2>\d{1,3})\b",
)
