"""Triage before answering: crisis > sensitive > explicit request for a person > nothing.

A message is normalized once (lowercase, accents stripped, Simplified -> Traditional, letter runs
collapsed, apostrophes dropped), then matched against cue lexicons kept as data below, one regex
per cue, grouped by category and compiled once (lazily) into a `Triager`.

Context rules keep ordinary questions from escalating:
* Self-harm cues are a crisis whatever the form of the message ("what's the suicide hotline?"
  is answered by a human too), except the name of a support service asked for others or for the
  record ("for the poster", "para tenerlo anotado"): then only the rest of the message counts.
* Emergency cues (someone collapsed, not breathing, fire, being followed...) are a crisis unless
  the message is framed as an information question or a hypothetical ("what number do I call
  if...", "si alguien se desmaya", "如果有人昏倒") with no sign that it is happening now ("just",
  "!!", "help me", "ahorita", "剛剛", "救命"). "Noun" emergency cues (an accident, a fire) need a
  sign of injury or of urgency as well.
* Sensitive cues are personal: "they accused me of cheating", not "what happens if someone is
  caught cheating"; "my ARC expired", not "what happens if I lose my ARC".
* Requests for a person need a verb of talking/connecting and a person, and are dropped when
  negated in the same clause ("no quiero hablar con un humano") or asked as a rule question
  ("do I need to talk to my mentor before...").
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.language import to_traditional

__all__ = ["Triage", "Triager", "triage", "normalize", "default_triager"]

Reason = Literal["crisis", "sensitive", "explicit_request"]
Topic = Literal["wellbeing", "academic", "visa", "housing", "exams", "safety", "family", "conduct"]

# Kinds of cue:
#   self_harm  -> crisis, always
#   event      -> crisis unless hypothetical/informational without immediacy
#   noun       -> crisis only with immediacy or injury, and not hypothetical without immediacy
#   sensitive  -> sensitive
#   request    -> explicit_request (negatable, not in "do I need to..." rule questions)
Kind = Literal["self_harm", "event", "noun", "sensitive", "request"]


@dataclass(frozen=True)
class Triage:
    reason: Reason | None
    topic: str | None  # "wellbeing","academic","visa","housing","exams","safety","family","conduct"
    matched: str | None  # the cue that fired, for logs

    @property
    def escalate(self) -> bool:
        return self.reason is not None


NONE = Triage(None, None, None)

# ---------------------------------------------------------------------------------------------
# Cue lexicons (data). Patterns run over normalized text: lowercase, no accents, no apostrophes,
# Traditional Chinese, runs of 3+ equal letters collapsed to one. Words are wrapped in \b by the
# builder when a pattern starts/ends with a Latin letter.
# Each entry: (name, pattern, topic).
# ---------------------------------------------------------------------------------------------

_PERSON_EN = (
    r"(?:someone|somebody|some ?one|a (?:guy|man|woman|girl|boy|student|classmate|person|kid|worker)"
    r"|my (?:friend|roommate|room mate|classmate|labmate|lab mate|partner|girlfriend|boyfriend|"
    r"wife|husband|teacher|professor|mentor)|(?:the|our) (?:teacher|professor|student)|he|she|they"
    r"|a friend|my friend)"
)
_PERSON_ES = (
    r"(?:alguien|un (?:compa|companero|chavo|senor|hombre|tipo|chico|estudiante|alumno|maestro)"
    r"|una (?:companera|chava|senora|mujer|chica|estudiante|alumna|maestra)"
    r"|mi (?:amig[oa]|companer[oa]|compa|roomie|novi[oa]|espos[oa]|profe|profesor[a]?|mentor[a]?)"
    r"|el profe|la profe|el profesor|la profesora)"
)

SELF_HARM: list[tuple[str, str, str]] = [
    # en
    ("suicide", r"suicid(?:e|al|ing)?", "wellbeing"),
    ("kill myself", r"kill(?:ing)? (?:my ?self|him ?self|her ?self|them ?selves)|(?:want|wanna|going) to kill me", "wellbeing"),
    ("end my life", r"(?:end|take|ending|taking) (?:my|his|her) (?:own )?life", "wellbeing"),
    ("end it all", r"(?:end|ending|finish) (?:it all|everything)", "wellbeing"),
    ("want to die", r"(?:want|wanna|wish|planning|plan|ready|deserve) (?:to )?(?:just )?die|wish i (?:was|were) dead", "wellbeing"),
    ("better off dead", r"better off (?:dead|without me)|world without me", "wellbeing"),
    ("don't want to live", r"(?:dont|do not|no longer) (?:want|wanna) (?:to )?(?:live|be alive|exist|wake up|be here anymore|be here any ?more|be around)", "wellbeing"),
    ("no reason to live", r"(?:no reason|nothing left|no point|not worth) (?:to live|living|in living|going on|to go on)", "wellbeing"),
    ("never wake up", r"(?:never|not) wake up (?:again|tomorrow)|sleep (?:forever|and never wake)", "wellbeing"),
    ("hurt myself", r"(?:want|wanna|going|thinking (?:about|of)|urge|urges|keep|been|started|stop|to) (?:to )?(?:hurt|hurting|harm|harming|cut|cutting|burn|burning) my ?self|cutting my ?self|cut(?:ting)? my (?:wrists?|arms?|legs?|thighs?)|cuts on my (?:wrists?|arms?|legs?)", "wellbeing"),
    ("hurt himself", r"(?:going|gonna|wants?|wanna|threaten(?:s|ed|ing)?|trying|tried|about|says?|said|saying|keeps?|will|might)\b[^.!?]{0,30}\b(?:to )?(?:hurt|harm|cut|kill|hang|stab|burn) (?:him|her|them) ?(?:self|selves)|(?:is|are|keeps?|been|started) (?:cutting|hurting|harming) (?:him|her|them) ?(?:self|selves)", "wellbeing"),
    ("self-harm", r"self[- ]?harm(?:ing)?", "wellbeing"),
    ("overdose", r"overdos(?:e|ed|ing)|od(?:ed|d) on", "wellbeing"),
    ("all the pills", r"(?:take|took|swallow|swallowed|taking) (?:all |a lot of |lots of |many |a bunch of |the whole (?:bottle|box) of )?(?:my |the |these |those )?(?:pills|meds|medication|sleeping pills)(?! (?:for|before|after|with))(?=.*(?:die|end|all|at once|sleep forever|enough))", "wellbeing"),
    ("took pills", r"(?:took|taken|swallowed|popped|ate) (?:like |about |around |over |almost )?(?:[1-9]\d+|twenty|thirty|fifty|a handful of|a whole (?:bottle|box) of|the whole (?:bottle|box) of) (?:of )?(?:my |the )?(?:pills|tablets|meds|sleeping pills)|me (?:tome|trague) (?:como |unas |mas de )?(?:[1-9]\d+|veinte|treinta|todo el frasco de|un frasco de|todas) (?:las )?(?:pastillas|pildoras)|(?:吃|吞)了?(?:[1-9]\d+|幾十|二十|三十|一把)顆", "wellbeing"),
    ("end it tonight", r"(?:going to|gonna|want to|wanna|plan to|planning to|will|ready to) end it(?: all| tonight| today| now| soon)?(?=$|[.!?,])|life (?:has no meaning|is meaningless|is pointless)|whats the point (?:of|in) (?:living|life|going on)", "wellbeing"),
    ("sin sentido vivir", r"no (?:le )?(?:veo|encuentro|tiene) sentido (?:a |la )?(?:vivir|la vida|seguir(?: viviendo)?)|(?:la|mi) vida no tiene sentido", "wellbeing"),
    ("jump off", r"jump (?:off|from) (?:the |a |my )?(?:roof|building|bridge|balcony|window)", "wellbeing"),
    ("can't go on", r"(?:cant|cannot|can not) (?:go on|keep going|do this anymore|take it anymore)(?=.*(?:life|living|die|anymore|any more))", "wellbeing"),
    ("nobody would miss me", r"(?:nobody|no one|no ?one) (?:would|will) (?:miss|care|notice)(?: if)? (?:me|i)", "wellbeing"),
    # es
    ("suicidio", r"suicid(?:io|arme|arse|a|o)", "wellbeing"),
    ("matarme", r"matarme|me (?:voy|quiero) a? ?matar|quitarme la vida|acabar con mi vida|terminar con mi vida|se quiere matar", "wellbeing"),
    ("quiero morir", r"(?:quiero|quisiera|ganas de|deseo) (?:morir(?:me)?|estar muert[oa]|desaparecer(?: para siempre)?|dejar de existir)|me quiero morir", "wellbeing"),
    ("no quiero vivir", r"no (?:quiero|tengo ganas de) (?:seguir )?(?:vivir|viviendo|existir|despertar)", "wellbeing"),
    ("no despertar", r"(?:seria|es|seria mas facil|mejor) (?:mas facil |mejor )?no (?:despertar|existir|estar aqui|haber nacido)|no despertar (?:manana|nunca|mas)|dormir y no despertar", "wellbeing"),
    ("mejor muerto", r"mejor (?:estar )?muert[oa]|estarian mejor sin mi|nadie me extranaria", "wellbeing"),
    ("acabar con todo", r"(?:acabar|terminar) con todo|ya no (?:quiero|puedo) seguir viviendo", "wellbeing"),
    ("hacerme dano", r"(?:quiero|ganas de|pienso en|pensando en|pense en|tentacion de|volvi a) (?:hacerme dano|lastimarme|cortarme)|me estoy cortando|(?:me corte|cortarme) las venas|me sigo cortando", "wellbeing"),
    ("sobredosis", r"sobredosis|tomarme todas las (?:pastillas|pildoras)|tomar(?:me)? (?:muchas|todas) (?:las )?(?:pastillas|pildoras)", "wellbeing"),
    ("tirarme", r"(?:tirarme|aventarme|lanzarme) (?:del|de un|de la|desde)", "wellbeing"),
    ("se va a cortar", r"se (?:va a|quiere|iba a|esta|sigue|intento|trato de) (?:cortar|matar|lastimar|suicidar|ahorcar|colgar|hacer dano)|(?:cortarse|matarse|lastimarse|suicidarse|ahorcarse|quitarse la vida|hacerse dano)(?! (?:el|la|los|las|un|una) (?:pelo|cabello|unas|barba|dedo))", "wellbeing"),
    ("no vale la pena vivir", r"no vale la pena (?:vivir|seguir)", "wellbeing"),
    # zh
    ("自殺", r"自殺|輕生|尋死|尋短", "wellbeing"),
    ("不想活", r"不想活|活不下去|不想再活|活著沒(?:有)?(?:意義|意思)|活著好累|不如死了?|死了算了|死掉算了|想死|好想死|去死一死", "wellbeing"),
    ("結束一切", r"結束(?:一切|我的生命|生命|自己)|了結(?:自己|生命|一切)", "wellbeing"),
    ("傷害自己", r"傷害自己|自殘|割腕|割自己|劃自己", "wellbeing"),
    ("吞藥", r"(?:吞|吃)(?:了)?(?:一堆|很多|整瓶|所有的?|全部的?)(?:的)?(?:藥|安眠藥)|服藥過量|吃藥過量|(?:一整瓶|整瓶|整盒|一堆|全部)(?:的)?(?:安眠藥|藥)[^。！？!?]{0,10}(?:吃|吞)|(?:吃|吞)(?:完|光)(?:整瓶|所有|全部)?(?:的)?(?:安眠藥|藥)", "wellbeing"),
    ("跳樓", r"跳樓|燒炭|上吊|臥軌", "wellbeing"),
    ("不想醒來", r"不想(?:再)?醒來|永遠不要醒來|睡著就不要醒|消失(?:在這個世界|算了)|沒有我(?:會)?比較好", "wellbeing"),
]

EMERGENCY_EVENT: list[tuple[str, str, str]] = [
    # en — medical
    ("collapsed", r"(?:collapsed|collapsing|passed out|fainted|blacked out|fell unconscious|is unconscious|knocked out)", "safety"),
    ("not breathing", r"(?:not|isnt|isn t|stopped|cant|can not|cannot|is not|hardly|barely) breath(?:ing|e)", "safety"),
    ("unresponsive", r"(?:he|she|they|someone|somebody|friend|roommate|classmate|labmate|student|person|man|woman|guy|girl|mom|dad|teacher|professor|kid)\b[^.!?]{0,40}\b(?:is |s )?(?:unresponsive|(?:isnt|not|is not|wont|stopped) (?:responding|waking up|wake up|moving))", "safety"),
    ("seizure", r"(?:having|had) a seizure|seizing|convulsing|convulsions", "safety"),
    ("bleeding", r"(?:bleeding|losing) (?:a lot|heavily|badly|so much|lots of blood|a lot of blood|everywhere)|heavy bleeding|wont stop bleeding|blood everywhere|(?:is|im|i am|hes|shes) bleeding", "safety"),
    ("chest pain", r"chest (?:pain|hurts|is hurting)|(?:having|has) a heart attack|my chest hurts", "safety"),
    ("choking", r"(?:is |im )?choking|allergic reaction|anaphyla|throat is (?:closing|swelling)|having a stroke", "safety"),
    ("hit by a car", r"(?:got|was|been|just) (?:hit|run over) by (?:a )?(?:car|scooter|motorcycle|bike|truck|bus)", "safety"),
    # en — danger
    ("following me", r"(?:is|are|keeps?|been|someone|somebody|guy|man) (?:following|chasing) me|being (?:followed|chased)", "safety"),
    ("attacking me", r"(?:is|are|keeps|just) (?:hitting|beating|attacking|punching|choking|threatening) (?:me|her|him|us)|(?:attacked|assaulted|mugged|robbed|stabbed|beat|beaten) (?:me|up|my friend)|trying to (?:kill|hurt|attack) (?:me|us|her|him)", "safety"),
    ("weapon", r"(?:has|with|holding|pulled) a (?:knife|gun|weapon)", "safety"),
    ("fire", r"theres a fire|there is a fire|(?:is|are|caught) on fire|caught fire|building is burning|smoke everywhere|gas leak", "safety"),
    ("break in", r"(?:someone|somebody|some ?one|some guy|a man|a guy|a stranger|a person|he|they) (?:is |just |has |have )?(?:broke|broken|breaking|trying to break) (?:in|into)|(?:broke|breaking) into (?:my|our) (?:room|dorm|apartment|house|place)", "safety"),
    # es — medical
    ("se desmayo", r"se (?:desmayo|desmaya|desvanecio|cayo y no (?:se mueve|responde|reacciona))|(?:esta|quedo) inconsciente|perdio (?:el conocimiento|la conciencia)", "safety"),
    ("no respira", r"no (?:respira|puede respirar|puedo respirar)|(?:alguien|companer[oa]|compa|amig[oa]|el|ella|chico|chica|senor|senora|persona|estudiante|profe|roomie|hombre|mujer)\b[^.!?]{0,40}\bno (?:reacciona|responde|despierta|se mueve)(?! (?:mis|los|el|a mis|a los) )", "safety"),
    ("convulsion", r"convulsion(?:a|ando|es)?|le dio un ataque (?:epileptico|al corazon)|esta teniendo un (?:infarto|ataque)", "safety"),
    ("sangrando", r"(?:esta|estoy|sigue) sangrando|sangra mucho|mucha sangre|no (?:para|deja) de sangrar|hemorragia", "safety"),
    ("dolor de pecho", r"(?:me|le) duele (?:mucho )?el pecho|dolor (?:fuerte )?(?:en el|de) pecho", "safety"),
    ("atropellado", r"(?:lo|la|me|nos) atropell(?:o|aron)|atropellad[oa]|(?:lo|la|me) choc(?:o|aron)", "safety"),
    ("se ahoga", r"se (?:esta )?ahogando|reaccion alergica", "safety"),
    # es — danger
    ("me siguen", r"me (?:esta|estan|viene|vienen|anda|andan)? ?siguiendo|me sigue un|me persigue", "safety"),
    ("me atacan", r"me (?:esta|estan)? ?(?:golpeando|pegando|atacando|amenazando)|me (?:golpeo|golpearon|ataco|atacaron|asaltaron|asalto|apunalaron|robaron con)|me quiere(?:n)? (?:matar|pegar|golpear)|(?:lo|la) (?:estan|esta) golpeando", "safety"),
    ("arma", r"(?:tiene|trae|saco) un (?:cuchillo|arma|pistola|navaja)", "safety"),
    ("incendio", r"hay (?:un )?(?:incendio|fuego)|se (?:esta )?quemando|fuga de gas|huele (?:mucho )?a gas", "safety"),
    # zh — medical
    ("昏倒", r"昏倒|暈倒|昏過去|暈過去|倒在地上|倒下了|失去意識|沒有意識|叫不醒|不省人事", "safety"),
    ("沒有呼吸", r"沒(?:有)?(?:在)?呼吸|不能呼吸|無法呼吸|喘不過氣|(?:他|她|人|同學|室友|朋友|老師|學生)[^。！？!?，,]{0,8}(?:沒(?:有)?反應|叫不醒)|沒有心跳", "safety"),
    ("抽搐", r"抽搐|抽筋倒地|癲癇發作|羊癲瘋", "safety"),
    ("流血", r"(?:一直|大量|很多|血流)(?:在)?(?:流血|出血|不止)|流了?很多血|血流不止|止不住血", "safety"),
    ("胸痛", r"胸(?:口|部)?(?:很|好|非常)?(?:痛|悶)|心臟病發|中風了", "safety"),
    ("被車撞", r"被(?:車|機車|汽車|公車|卡車)撞", "safety"),
    # zh — danger
    ("跟蹤", r"(?:有人|一個人|他|那個人)(?:一直|正在|在)?跟(?:蹤|著)我|(?:一直|正在|偷偷)跟(?:蹤|著)我|跟蹤我|被跟蹤", "safety"),
    ("被打", r"(?:有人|他|她|他們)(?:在|正在|一直)?(?:打|攻擊|威脅|砍)我|被(?:打|攻擊|搶劫|搶|砍|刺)|要殺我|要打我|拿(?:著)?刀", "safety"),
    ("失火", r"失火|著火|起火|火災了|冒煙了|瓦斯外洩|瓦斯味", "safety"),
]

EMERGENCY_NOUN: list[tuple[str, str, str]] = [
    ("accident", r"(?:car|scooter|motorcycle|motorbike|bike|traffic) (?:accident|crash)|accident", "safety"),
    ("accidente", r"accidente|choque", "safety"),
    ("車禍", r"車禍|意外", "safety"),
    ("ambulance", r"(?:need|send|call|get) (?:an |a )?ambulance|(?:necesito|necesitamos|manden|llamen|llamar) (?:a )?(?:una )?ambulancia|(?:叫|需要|快叫)救護車", "safety"),
    ("fire noun", r"fire|incendio|火災", "safety"),
]

_INJURY = re.compile(
    r"\b(?:injur\w*|hurt|bleed\w*|broken|unconscious|herid[oa]s?|lastimad[oa]s?|sangr\w*|fractur\w*|"
    r"inconsciente)\b|受傷|流血|骨折|昏迷|送醫"
)
_IMMEDIACY = re.compile(
    r"\b(?:just|right now|now|hurry|asap|help me|help us|help pls|help please|please help|pls help|"
    r"acaba(?:n)? de|ahorita|ahora mismo|ahora|ayuda(?:me|nos)?|urgente|rapido|auxilio|socorro)\b|"
    r"help\s*!|!{2,}|剛剛|剛才|現在|正在|救命|快點|快來|趕快|緊急|馬上"
)
_HYPOTHETICAL = re.compile(
    r"\b(?:what|which) (?:is |s )?(?:the )?(?:number|phone)|\bnumber (?:for|to call|of)\b|"
    r"\bwhat number\b|\bif (?:someone|somebody|a person|anyone|i|my|there|you|we|he|she|a)\b|"
    r"\bin case\b|\bwhat (?:should|do|can) (?:i|we|you) do (?:if|when|in)\b|\bhow (?:do|can|should) "
    r"(?:i|you|we) (?:call|report|get|contact|help)\b|\bwhat happens (?:if|when)\b|"
    r"\bwhat to do (?:if|when|in)\b|\bprocedure\b|\bsafety (?:rules?|training|quiz)\b|"
    r"\bsi (?:alguien|alguno|alguna|una persona|un|una|hay|me|mi|tengo|pasa|veo|ocurre)\b|"
    r"\ben caso de\b|\bque (?:hago|hacemos|hacer|debo hacer|se hace|pasa) (?:si|en caso|cuando)\b|"
    r"\bcual es el (?:numero|telefono)\b|\b(?:numero|telefono) (?:de|para|del)\b|\bpara tenerlo\b|"
    r"\bcomo (?:llamo|se llama|reporto|pido|llamar)\b|"
    r"如果|萬一|假如|要是|的話|電話是?多少|號碼是?多少|電話幾號|要打幾號|打幾號|是幾號|哪支電話|怎麼叫|"
    r"要怎麼處理|該怎麼處理(?:呢)?[？?]?$"
)

# A support service's contact asked for others or for the record ("for the poster", "para tenerlo
# anotado", "做成清單"): the service's name ("suicide prevention line", "to report harassment") is
# not a cue then. Without such a purpose, asking for the suicide line stays a crisis; and any other
# cue in the message (what happened to the person) still counts.
_SERVICE_NAME = re.compile(
    r"\bsuicide (?:prevention )?(?:hot ?line|help ?line|line|center|centre|number)\b|"
    r"\b(?:domestic violence|sexual (?:assault|harassment|abuse)|harassment|abuse|violence)"
    r"(?: (?:and|or|&) (?:domestic violence|sexual (?:assault|harassment|abuse)|harassment|abuse))?"
    r"(?: prevention)? (?:hot ?line|help ?line|line|committee|office|email|mailbox|number)\b|"
    r"\b(?:hot ?line|help ?line|line|number|email|committee|office)(?: number)? (?:for|against) "
    r"(?:domestic violence|sexual (?:assault|harassment|abuse)|harassment|abuse|suicide)"
    r"(?: (?:and|or|&) (?:domestic violence|sexual (?:assault|harassment|abuse)|harassment|abuse))?\b|"
    r"\b(?:to|for) report(?:ing)? (?:sexual )?(?:harassment|abuse|assault|discrimination|bullying)\b|"
    r"\bgender equity committee\b|"
    r"\blinea (?:de )?(?:prevencion (?:del |de |al )?suicidio|contra el suicidio|de proteccion)\b|"
    r"\b(?:para |pa )?(?:reportar|denunciar) (?:el |un |casos de )?(?:acoso(?: sexual)?|abuso|"
    r"hostigamiento|discriminacion|violencia(?: domestica| sexual)?)\b|"
    r"\bcomite (?:de )?equidad de genero\b|"
    r"\b(?:linea|numero|telefono) (?:contra|de) (?:la )?violencia(?: domestica| sexual)?\b|"
    r"自殺防治(?:專線|中心|電話)?|安心專線|保護專線|性別平等(?:教育)?委員會|"
    r"(?:性騷擾|性侵害?|家暴|家庭暴力|霸凌)[^。！？!?]{0,6}(?:專線|申訴管道|申訴信箱|信箱|窗口|委員會|防治)"
)
_FOR_OTHERS = re.compile(
    r"\bfor (?:the|a|our|my) (?:record|list|poster|sign|flyer|flier|group|floor|talk|presentation|"
    r"orientation|welcome|newsletter|new (?:trainees|students|ones|people))\b|"
    r"\b(?:make|making|put together|putting together|writing|doing|preparing) (?:a |the |our )?"
    r"(?:list|poster|sign|flyer|guide|presentation|talk)\b|\bjust in case\b|"
    r"\bin case (?:someone|anyone|somebody)\b|\bto (?:write|note) (?:it |them )?down\b|"
    r"\bpara (?:tenerlo|tenerlos|anotarlo|apuntarlo|saberlo)\b|"
    r"\b(?:pa|para) (?:la|el|una|un|mi|nuestra|nuestro|los) (?:lista|poster|cartel|platica|charla|"
    r"presentacion|grupo|guia|mural|generacion|nuevos)\b|"
    r"\b(?:haciendo|armando|preparando) (?:una |la |un |el )?(?:lista|poster|cartel|platica|charla|"
    r"presentacion|guia)\b|\bpor si (?:acaso|alguien|algun)\b|"
    r"備用|以防萬一|記下來|抄下來|海報|清單|名單|宣導|簡報|以備不時之需"
)

_FAMILY_EN = (
    r"(?:dad|father|mom|mum|mother|parents?|brother|sister|grandma|grandpa|grandmother|"
    r"grandfather|granny|uncle|aunt|son|daughter|wife|husband|family)"
)
_FAMILY_ES = (
    r"(?:papa|padre|mama|madre|papas|padres|hermano|hermana|abuelo|abuela|abuelito|abuelita|"
    r"tio|tia|hijo|hija|esposo|esposa|familia)"
)
_FAMILY_ZH = r"(?:爸爸|媽媽|父親|母親|爸|媽|家人|奶奶|爺爺|外婆|外公|阿嬤|阿公|哥哥|姊姊|姐姐|弟弟|妹妹|老公|老婆|兒子|女兒|家裡)"
_STAFF_EN = r"(?:mentor|professor|prof|supervisor|advisor|adviser|teacher|boss|pi|tutor|lab head|instructor)"
_STAFF_ES = r"(?:mentor|mentora|profe|profesor|profesora|maestro|maestra|asesor|asesora|supervisor|supervisora|jefe|jefa|tutor|tutora|instructor)"
_STAFF_ZH = r"(?:導師|老師|教授|指導教授|主管|助教|mentor)"

SENSITIVE: list[tuple[str, str, str]] = [
    # --- harassment, abuse, discrimination (safety) ---
    ("harassment", r"harass(?:ed|ing|ment|es)?|sexual(?:ly)? (?:harass\w*|assault\w*|abus\w*|comments?|jokes?|messages?)|molest\w*|rape[ds]?|raping|groped?|groping", "safety"),
    ("touched me", r"(?:touch(?:ed|es|ing)?|grab(?:bed|s|bing)?|grop(?:ed|es|ing)|rubbed) me|touch(?:ed|es|ing)? my (?:body|leg|thigh|butt|ass|breast|chest|waist|hair)|grabbed my (?:waist|butt|ass|breasts?|chest|leg|thigh|arm|hand)", "safety"),
    ("no consent", r"(?:even though|although|after|when) i (?:said|told (?:him|her|them)) (?:no|to stop)|without my (?:consent|permission)|(?:wont|doesnt|didnt|wouldnt) leave me alone|(?:wont|doesnt|didnt|wouldnt) stop (?:texting|messaging|calling|touching|following|staring)", "safety"),
    ("creepy messages", r"(?:sends?|sending|sent|keeps? sending) me (?:weird|creepy|sexual|dirty|inappropriate|nude|explicit|disgusting|threatening)\b|(?:creepy|inappropriate|sexual|threatening) (?:messages|texts|photos|pictures|comments)", "safety"),
    ("stalking", r"stalk(?:s|ed|ing|er)", "safety"),
    ("bullying", r"bull(?:y|ied|ies|ying)|(?:make|makes|made) fun of me|(?:insult|insults|insulted|humiliat\w*) me|picking on me", "safety"),
    ("abuse", r"abus(?:e|ed|ive|ing)|domestic violence", "safety"),
    ("discrimination", r"discriminat\w*|racis[mt]\w*|(?:because|cuz|cause) (?:im|i am) (?:mexican|latin[oa]|foreign|a foreigner|a woman|gay|brown)|xenophob\w*", "safety"),
    ("acoso", r"acos(?:o|a|an|ando|ador|aron|o sexual)|hostig\w*|abus(?:o|aron|ando|ador)|violaron|violacion|me violo|manose\w*", "safety"),
    ("me agarro", r"me (?:agarro|agarra|toco|toca|tocaron|beso|besa|abrazo|abraza|jalo|nalgueo)(?: (?:de|la|el|mi|las|los|sin|aunque|a la fuerza))|me (?:agarro|toco|beso) (?:sin|aunque)|(?:cintura|nalgas?|trasero|pierna|pecho|senos|cuerpo) (?:aunque|sin)", "safety"),
    ("sin consentimiento", r"(?:aunque|a pesar de que|despues de que|cuando) (?:le|les) dije que no|sin mi (?:consentimiento|permiso)|a la fuerza|no me deja en paz", "safety"),
    ("mensajes raros", r"me (?:manda|mandan|envia|envian|escribe|escriben|mando|mandaron|sigue mandando) (?:mensajes|fotos|videos|cosas)(?: \w+)? (?:raros|feos|sexuales|inapropiados|obscenos|extranos|incomodos|de noche|en la noche|en las noches|a media noche)", "safety"),
    ("me da miedo", r"me da miedo (?:ir|volver|regresar|estar|salir|ver|quedarme|encontrarme)|tengo miedo de (?:ir|volver|regresar|estar|salir|ver|encontrarme)|im (?:scared|afraid) (?:to (?:go|be|see|return)|of (?:him|her|my))", "safety"),
    ("bullying es", r"bull?ying|se burlan? de mi|me (?:insulta|insultan|insulto|humilla|humillan|humillo|molestan por)|discrimin\w*|racis\w*|por ser (?:mexican[oa]|extranjer[oa]|latin[oa]|mujer)", "safety"),
    ("騷擾", r"騷擾|性侵|強暴|猥褻|亂摸|偷摸|摸我|碰我的?(?:身體|胸|屁股|腰|腿)|強吻|偷拍|跟蹤狂|一直傳(?:奇怪|色|噁心)", "safety"),
    ("霸凌", r"霸凌|欺負我|排擠我|被(?:同學|室友|學長|學姊|學姐|同事|大家|別人|人)?(?:排擠|欺負|歧視|嘲笑|孤立|言語攻擊)|歧視|嘲笑我|羞辱我|家暴|虐待", "safety"),
    ("不同意", r"我(?:說|已經說)(?:了)?不要|我拒絕了?(?:他|她)?還|不顧我的意願", "safety"),
    ("害怕不敢", r"(?:很|好|非常|超)?(?:害怕|怕)[^。！？!?]{0,8}不敢(?:出去|出門|回家|回宿舍|回去|離開|走|去)", "safety"),
    # --- family emergency (family) ---
    ("family in hospital", r"(?:my|our) " + _FAMILY_EN + r"(?:s)?\b[^.!?]{0,60}\b(?:(?:in|at|to) (?:the )?(?:hospital|icu|er|emergency room)|hospitali[sz]ed|admitted|icu|intensive care|heart attack|stroke|cancer|surgery|passed away|died|dying|accident|critical|coma|very sick|seriously ill|in a bad state)", "family"),
    ("passed away", r"passed away|(?:my|our) " + _FAMILY_EN + r" died|funeral|family emergency|(?:fly|go|travel|get) (?:back )?home (?:urgently|asap|as soon as possible|right away|immediately)", "family"),
    ("familia hospital", r"\bmi(?:s)? " + _FAMILY_ES + r"s?\b[^.!?]{0,60}\b(?:(?:en|al) (?:el )?hospital|hospitalizad[oa]|terapia intensiva|cuidados intensivos|infarto|murio|fallecio|se esta muriendo|accidente|grave|muy enferm[oa]|cancer|cirugia|operacion|coma|derrame|embolia|internad[oa])", "family"),
    ("fallecio", r"fallecio|falleci\w+|se murio|murio mi|velorio|funeral|emergencia familiar|(?:regresar|volver|viajar|volar) a (?:mexico|casa|mi casa|sonora|hermosillo)[^.!?]{0,30}(?:urgente|de emergencia|lo antes posible|cuanto antes|rapido)", "family"),
    ("家人住院", _FAMILY_ZH + r"[^。！？!?]{0,20}(?:住院|加護病房|急診|心臟病|中風|病危|車禍|開刀|手術|癌症|過世|去世|走了|昏迷|病倒)", "family"),
    ("過世", r"過世|去世|往生|喪禮|告別式|奔喪|家裡出事|家裡有急事|(?:馬上|趕快|緊急|立刻|盡快|趕緊)回國", "family"),
    # --- visa / ARC / police (visa) ---
    ("arrested", r"(?:got|been|was|were|am|im) (?:arrested|detained|deported|caught by (?:the )?police)|(?:police|cops|immigration) (?:called|stopped|arrested|detained|questioned|took|came (?:for|to)|are looking for|fined|want to see) (?:me|my|us|him|her)|trouble with (?:the )?(?:police|immigration|law)", "visa"),
    ("overstay", r"overstayed|(?:im|i am|been|were|we are) overstaying|deport(?:ed|ing me|ation order)|(?:my )?(?:visa|arc|residence permit|resident permit|permit) (?:has |is |already |just )?(?:expired|was (?:revoked|rejected|denied|cancelled|canceled)|got (?:revoked|rejected|denied|cancelled|canceled)|(?:is )?(?:revoked|rejected|denied|cancelled|canceled))", "visa"),
    ("arrestaron", r"me (?:arrestaron|detuvieron|deportan|van a deportar|multo migracion)|(?:estoy|estuve|quede) detenid[oa]|(?:la )?(?:policia|migracion) me (?:llamo|paro|detuvo|busca|esta buscando|multo|llevo|cito)|problemas? con (?:la )?(?:policia|migracion|inmigracion)|deporta\w*", "visa"),
    ("visa vencida", r"(?:visa|arc|residencia|permiso) (?:ya )?(?:vencid[oa]|rechazad[oa]|cancelad[oa]|negad[oa]|revocad[oa])|(?:se me|ya se|se) (?:vencio|expiro|caduco) (?:la |el |mi )?(?:visa|arc|residencia|permiso)|mi (?:visa|arc|residencia) (?:ya )?(?:se )?(?:vencio|expiro|caduco)|me quede mas tiempo", "visa"),
    ("被警察", r"被警察(?:抓|逮捕|拘留|帶走|約談)|被(?:逮捕|拘留)|警察(?:打給我|找我|來找|叫我|要我|把我)|逾期居留|(?:簽證|居留證|ARC|arc)(?:已經)?(?:過期|被拒|被取消|被註銷|到期了)|遣返|驅逐出境|移民署(?:找我|通知我|罰我|打給我)", "visa"),
    # --- conflict with mentor / professor (academic) ---
    ("staff conflict", r"\b" + _STAFF_EN + r"\b[^.!?]{0,50}\b(?:yell\w*|shout\w*|scream\w*|insult\w*|humiliat\w*|threaten\w*|mistreat\w*|treats? me (?:badly|bad|like)|hates me|is unfair|unfair to me|ignores me|blames me|refuses to (?:sign|let)|wont (?:sign|let me)|is (?:abusive|rude to me))", "academic"),
    ("problem with mentor", r"(?:problem|conflict|issue|trouble|fight|argument)s? with (?:my |the |our )?" + _STAFF_EN + r"|(?:change|switch) (?:my )?" + _STAFF_EN, "academic"),
    ("conflicto profe", r"\b" + _STAFF_ES + r"\b[^.!?]{0,50}\b(?:me (?:grita|grito|humilla|humillo|insulta|insulto|amenaza|amenazo|trata mal|ignora|odia|culpa)|es injust[oa]|no me (?:deja|quiere firmar))|(?:problemas?|conflicto|pleito) con (?:mi |el |la )?" + _STAFF_ES + r"|cambiar(?:me)? de " + _STAFF_ES, "academic"),
    ("導師衝突", _STAFF_ZH + r"[^。！？!?]{0,20}(?:罵我|吼我|兇我|羞辱|威脅|針對我|刁難|不公平|對我很差|不讓我|不理我)|(?:跟|和)" + _STAFF_ZH + r"(?:有|起)?(?:衝突|問題|吵架|不合)|換" + _STAFF_ZH, "academic"),
    # --- misconduct accusation / disqualification (exams or conduct) ---
    ("disqualified", r"disqualif(?:y|ied|ying) me|(?:i|im|i am) (?:was |got |been |being |going to be )?disqualified|my disqualification|(?:cancel\w*|void\w*|annul\w*|revok\w*|invalidat\w*) my (?:exam|test|score|result|qualification|grade|certificat\w*)|(?:invigilator|proctor|examiner|exam staff)[^.!?]{0,60}(?:accus\w*|said i|says i|told me i|took my|reported me|kicked me|threw me|cancel\w*|wants? to (?:cancel|disqualify)|made me leave)", "exams"),
    ("accused of cheating", r"(?:accus\w*|say|says|said|think|thinks|thought|claim\w*|suspect\w*) (?:me|that i|i) (?:of )?(?:cheat\w*|copied|copying|plagiar\w*|used my phone)|(?:caught|flagged|reported) me (?:for )?(?:cheating|copying|plagiar\w*)", "conduct"),
    ("me acusan", r"me (?:acusa|acusan|acuso|acusaron) de|dicen que (?:yo )?(?:copie|hice trampa|plagie)|me (?:cacharon|descalificaron|anularon|cancelaron (?:el|mi) (?:examen|prueba|calificacion))|me (?:quieren|van a) (?:descalificar|anular|cancelar)|(?:anular|cancelar)(?:me)? mi (?:examen|prueba|calificacion)", "exams"),
    ("說我作弊", r"(?:說|指控|認為|懷疑|誣賴|冤枉)我(?:在)?(?:作弊|抄襲|抄)|取消我的|(?:要|被)取消(?:我的)?(?:應試|考試)?資格|我的?(?:應試)?資格被取消|我的(?:成績|考試)被(?:取消|作廢)|(?:監試|監考)(?:人員|老師)?[^。！？!?]{0,20}(?:說我|指控|要取消|取消我|把我|趕出|叫我離開|沒收我)", "exams"),
    # --- own grade dispute / appeal (academic) ---
    ("grade appeal", r"(?:appeal|dispute|contest|challenge|complain about|recheck|regrade|re-grade|review) (?:of )?my (?:grade|score|mark|result)|my (?:[\w-]+ ){0,4}(?:grade|score|mark|result)s? (?:is|are|was|were|seems?|looks?) (?:wrong|unfair|incorrect|a mistake|an error|miscalculated|not right)|(?:unfair|wrong) (?:grade|score|mark)|(?:grade|score|mark)s?\b[^.!?]{0,80}\b(?:refuses?|refused|wont|will not|doesnt want) to (?:look at|review|recheck|regrade|change|fix)", "academic"),
    ("reclamar calificacion", r"(?:apelar|reclamar|revisar|impugnar|inconformarme con|quejarme de) (?:mi |la |el )?(?:calificacion|nota|resultado|puntaje)|mi (?:\w+ ){0,4}(?:calificacion|nota|resultado) (?:esta mal|es injusta|no es justa|esta equivocada|no es correcta)|(?:calificacion|nota) injusta|(?:no (?:me )?quiere|se niega a) (?:revisar|cambiar|corregir)(?:la|lo|me)?\b[^.!?]{0,20}\b(?:calificacion|nota|examen)", "academic"),
    ("成績申訴", r"(?:成績|分數)[^。！？!?]{0,12}申訴|申訴[^。！？!?]{0,12}(?:成績|分數)|(?:我的)?成績(?:有問題|不公平|算錯|錯了|有誤|不對)|分數(?:算錯|不對|有誤)|複查(?:我的)?(?:成績|分數)", "academic"),
    # --- pregnancy, mental-health distress (wellbeing) ---
    ("pregnant", r"pregnan\w*|embarazad[oa]|embarazo|懷孕|有身孕", "wellbeing"),
    ("panic attacks", r"panic attacks?|anxiety attacks?|depress(?:ed|ion)|hopeless|worthless|(?:cant|cannot) stop crying|(?:mental|nervous|emotional) breakdown|having a breakdown|im falling apart|im not ok(?:ay)?|feel like (?:a|such a) failure", "wellbeing"),
    ("ataques de panico", r"ataques? de (?:panico|ansiedad)|crisis de (?:ansiedad|panico)|deprimid[oa]|depresion|no puedo dejar de llorar|sin esperanza|le falle a|me siento (?:un )?(?:fracaso|inutil|vaci[oa])|ya no (?:aguanto|puedo mas)|no aguanto mas", "wellbeing"),
    ("恐慌", r"恐慌發作|焦慮發作|恐慌症|憂鬱|抑鬱|一直哭|(?:我|心情|情緒)(?:快|要|已經)?崩潰|崩潰大哭|撐不下去|好絕望|很絕望|沒有希望", "wellbeing"),
    # --- housing (housing) ---
    ("evicted", r"evict\w*|kicked out of (?:the |my )?(?:dorm|room|apartment|house)|me (?:corrieron|sacaron|quieren sacar) del? (?:dorm\w*|cuarto|departamento|depa|casa)|被趕出(?:宿舍|房間|家)", "housing"),
]

_PERSON_TARGET_EN = (
    r"(?:a |an |some |the |my |real |live |actual )*(?:human(?: being)?|person|people|someone|somebody|"
    r"staff|mentor|counsel+or|counsel+ing|advis[eo]r|agent|representative|rep|teacher|professor|"
    r"exam staff|operator|psychologist|therapist|coordinator|administrator|admin|officer)"
)
REQUESTS: list[tuple[str, str, str | None]] = [
    # en
    ("talk to a human", r"(?:talk|speak|chat|message|text|get in touch) (?:to|with) " + _PERSON_TARGET_EN, None),
    ("connect me", r"(?:connect|transfer|put|forward|pass|send|redirect) me (?:to|with|through to|through) " + _PERSON_TARGET_EN, None),
    ("want a human", r"(?:want|need|prefer|get me|give me) (?:a |an |to reach )?(?:real |actual |live )(?:human|person|people)|(?:want|need|prefer|get me|give me) (?:a |an )?human\b|(?:human|real person|a person) please|not (?:a |talking to a |with a )?(?:bot|robot|machine|ai)\b|(?:stop|enough of) (?:the )?(?:bot|robot)|(?:is there|are there|any) (?:a |an )?(?:real )?(?:human|person|people)(?: (?:here|there|i can|to|available|who))", None),
    ("see a counselor", r"(?:see|meet|book|appointment with|meet with|reach) (?:a |an |the |my )?(?:counsel+or|psychologist|therapist|mentor)(?= (?:please|pls|today|now|asap|soon)|$|[.!?]| about| because)", None),
    # es
    ("hablar con alguien", r"(?:hablar|platicar|chatear|comunicarme|comunicar|contactar|conectarme|conectar) (?:con|a) (?:alguien|una persona|un humano|un ser humano|persona|humano|gente|un agente|un asesor|una asesora|el asesor|un consejero|una consejera|el consejero|la consejera|un psicologo|una psicologa|(?:mi|el|la|un|una) (?:mentor|mentora|tutor|tutora|profe|profesor|profesora|coordinador|coordinadora|encargad[oa]|staff))", None),
    ("pasame con", r"(?:pasame|pasenme|pasame|comuniquenme|comunicame|conectame|conectenme|transfiereme|transfieranme|me (?:pueden|puedes|podrian|podrias) (?:comunicar|pasar|conectar|transferir)) (?:con|a)", None),
    ("quiero un humano", r"(?:quiero|necesito|prefiero) (?:a )?(?:un|una) (?:humano|persona|ser humano|persona real|agente)|(?:alguien|persona) (?:de verdad|real)|no (?:con )?(?:un |una )?(?:bot|robot|maquina|ia|inteligencia artificial)\b|(?:hay|habra) (?:alguien|una persona|algun humano)(?: (?:real|de verdad|que me (?:pueda )?(?:atienda|ayude|conteste)))", None),
    ("ver a un consejero", r"(?:ver|cita con|agendar (?:una )?cita con) (?:a )?(?:un |una |el |la |mi )?(?:consejer[oa]|psicolog[oa]|mentor[a]?|terapeuta)(?= (?:por favor|porfa|hoy|ya|pronto)|$|[.!?])", None),
    # zh
    ("找真人", r"真人|人工(?:客服|服務|回覆|回答|處理|接聽)|(?:轉|找|要)人工(?!智)|專人|活人|客服人員", None),
    ("轉接", r"轉(?:接|給)?(?:給)?(?:真人|專人|人工|客服|導師|輔導|老師|承辦人|工作人員)", None),
    ("找導師", r"(?:找|跟|和|聯絡|聯繫|約|見)(?:我的)?(?:導師|輔導老師|輔導員|諮商師|心理師|諮商老師|承辦人|工作人員|考務人員|老師)(?:談|聊|說話|講話|談談|聊聊|說|講|一下|嗎|$)", None),
    ("不要機器人", r"不要(?:跟)?機器人|不想(?:跟|和)機器人|不要AI|不要ai|不是機器人(?:回答|回覆)", None),
]

# Rule questions about contacting someone ("do I need to talk to my mentor before...").
_RULE_QUESTION = re.compile(
    r"\b(?:do|does|should|must|have) (?:i|we|you|students?) (?:need to|have to|must)?\s?(?:talk|speak|see|meet|contact)\b|"
    r"\bwhen (?:do|does|can|are|is)\b|\bwhat time\b|\bhow (?:do|can) (?:i|we|you) (?:make|book|get) an? appointment\b|"
    r"\b(?:tengo|tenemos|hay|debo|debemos) que (?:hablar|ver|contactar)\b|\bcuando (?:atienden|atiende|puedo)\b|"
    r"\ba que hora\b|\bhasta que hora\b|\bhorario\b|"
    r"需要先?(?:跟|和|找)|要先(?:跟|和|找)|什麼時候|幾點"
)
_NEGATION = re.compile(
    r"\b(?:dont|do not|didnt|doesnt|no need|never|not necessary|not want|not going|wont|would not|wouldnt)\b|"
    r"\bno (?:quiero|quisiera|necesito|deseo|hace falta|es necesario|me interesa|ocupo|tengo que)\b|"
    r"\b(?:nunca|tampoco)\b|不要|不用|不需要|不想|別|免了"
)
_CLAUSE_SPLIT = re.compile(r"[,.;!?¿¡，。；！？、\n]|\b(?:but|pero|sino)\b|但是|可是")

# Topic words for routing explicit requests (and as a fallback for other reasons).
_TOPIC_WORDS: list[tuple[str, re.Pattern[str]]] = [
    ("wellbeing", re.compile(r"counsel+(?:or|ing)|psycholog\w*|therap\w*|consejer\w*|psicolog\w*|terapeut\w*|輔導|諮商|心理")),
    ("exams", re.compile(r"\bexam staff\b|proctor|invigilat\w*|exam\b|examen|test center|考務|監試|監考|考試|考場|准考證|準考證|應試")),
    ("visa", re.compile(r"\bvisa\b|\barc\b|immigration|migracion|\bresidencia\b|簽證|居留證|移民署")),
    ("academic", re.compile(r"mentor\w*|professor|profe\w*|advis[eo]r|asesor\w*|tutor\w*|grade|calificacion|\bclass(?:es)?\b|clases?\b|導師|教授|老師|成績|課")),
    ("housing", re.compile(r"\bdorm\w*|housing|landlord|apartment|rent\b|cuarto|departamento|宿舍|房東|租屋")),
    ("family", re.compile(r"\bfamily\b|familia|家人|家裡")),
]


# ---------------------------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------------------------

_RUNS = re.compile(r"([a-z])\1{2,}")
_APOS = re.compile(r"(?<=[a-z])['’`´](?=[a-z])")
_SPACES = re.compile(r"[ \t]+")


def _has_han(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" or "\u3400" <= c <= "\u4dbf" for c in text)


def normalize(text: str) -> str:
    """Lowercase, accents stripped (ñ -> n), Simplified -> Traditional, apostrophes dropped
    ("don't" -> "dont"), runs of 3+ equal letters collapsed ("helppp" -> "help")."""
    text = unicodedata.normalize("NFKC", text or "")
    if _has_han(text):
        text = to_traditional(text)
    text = text.lower()
    text = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    text = unicodedata.normalize("NFC", text)
    text = _APOS.sub("", text)
    text = _RUNS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


# ---------------------------------------------------------------------------------------------
# Compiled cue tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cue:
    name: str
    regex: re.Pattern[str]
    topic: str | None


def _wrap(pattern: str) -> str:
    """Word boundaries where the pattern begins/ends with Latin text (not for Chinese)."""
    return rf"(?:(?<![a-z0-9])(?:{pattern})(?![a-z0-9]))"


def _compile(entries: list[tuple[str, str, str | None]]) -> tuple[re.Pattern[str], tuple[_Cue, ...]]:
    cues = tuple(_Cue(name, re.compile(_wrap(p)), topic) for name, p, topic in entries)
    combined = re.compile("|".join(_wrap(p) for _, p, _ in entries))
    return combined, cues


class Triager:
    """Holds the compiled cue tables; build once, then `classify` many messages."""

    def __init__(self) -> None:
        self._self_harm = _compile(SELF_HARM)
        self._event = _compile(EMERGENCY_EVENT)
        self._noun = _compile(EMERGENCY_NOUN)
        self._sensitive = _compile(SENSITIVE)
        self._request = _compile(REQUESTS)

    @staticmethod
    def _first(table: tuple[re.Pattern[str], tuple[_Cue, ...]], text: str) -> tuple[_Cue, re.Match[str]] | None:
        combined, cues = table
        if not combined.search(text):
            return None
        for cue in cues:
            m = cue.regex.search(text)
            if m:
                return cue, m
        return None  # pragma: no cover - the combined regex matched, so one cue does

    @staticmethod
    def _all(table: tuple[re.Pattern[str], tuple[_Cue, ...]], text: str):
        combined, cues = table
        if not combined.search(text):
            return
        for cue in cues:
            for m in cue.regex.finditer(text):
                yield cue, m

    def classify(self, text: str, language: str | None = None) -> Triage:
        """The triage verdict for one message. `language` is a hint only: every lexicon runs,
        since messages mix languages."""
        if not text or not text.strip():
            return NONE
        norm = normalize(text)
        raw = unicodedata.normalize("NFKC", text)
        if _FOR_OTHERS.search(norm):
            norm = _SERVICE_NAME.sub(" ", norm)

        # 1. crisis: self-harm, whatever the form
        hit = self._first(self._self_harm, norm)
        if hit:
            return Triage("crisis", hit[0].topic, hit[0].name)

        # 2. crisis: an emergency happening now
        immediate = bool(_IMMEDIACY.search(norm)) or "!!" in raw or "！！" in raw
        hypothetical = bool(_HYPOTHETICAL.search(norm))
        if not hypothetical or immediate:
            hit = self._first(self._event, norm)
            if hit:
                return Triage("crisis", hit[0].topic, hit[0].name)
            hit = self._first(self._noun, norm)
            if hit and (immediate or _INJURY.search(norm)):
                return Triage("crisis", hit[0].topic, hit[0].name)

        # 3. sensitive
        hit = self._first(self._sensitive, norm)
        if hit:
            return Triage("sensitive", hit[0].topic, hit[0].name)

        # 4. explicit request for a person
        if not _RULE_QUESTION.search(norm):
            for cue, m in self._all(self._request, norm):
                if cue.name != "不要機器人" and self._negated(norm, m.start()):
                    continue
                return Triage("explicit_request", self._topic(norm), cue.name)
        return NONE

    __call__ = classify

    @staticmethod
    def _negated(norm: str, start: int) -> bool:
        """A negation earlier in the same clause ("no quiero hablar con...", "不需要真人")."""
        clause_start = 0
        for m in _CLAUSE_SPLIT.finditer(norm, 0, start):
            clause_start = m.end()
        return bool(_NEGATION.search(norm[clause_start:start]))

    @staticmethod
    def _topic(norm: str) -> str | None:
        for topic, regex in _TOPIC_WORDS:
            if regex.search(norm):
                return topic
        return None


_default: Triager | None = None
_default_lock = threading.Lock()


def default_triager() -> Triager:
    """The shared triager, compiled on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Triager()
    return _default


def triage(text: str, language: str | None = None) -> Triage:
    """Triage one message with the shared `Triager`."""
    return default_triager().classify(text, language)
