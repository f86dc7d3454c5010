"""What a chat message asks for, without a model: plain rules over the words, no I/O.

`understand` peels off politeness ("could you", "please"), turns intentions ("I need to ...")
into additions, and matches the rest against the RULES table (first match wins). Tasks are named
by number ("task 3", "three"), by words of their title ("the milk task") or as "it"; the
offline agent resolves those against the user's tasks. Anything else is small talk, out of scope
or not understood, and never becomes a task.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["all", "pending", "completed"]


@dataclass(frozen=True)
class Target:
    """How the user named a task: its id, words of its title, or "it" (the one just mentioned)."""

    task_id: int | None = None
    words: str | None = None
    pronoun: bool = False
    ordinal: int | None = None  # "the second one": a position among offered choices


@dataclass(frozen=True)
class Intent:
    action: str
    target: Target | None = None
    title: str | None = None
    description: str | None = None
    status: Status = "all"
    count: bool = False
    fields: dict[str, str] = field(default_factory=dict)


NUMBER_WORDS = {
    word: number
    for number, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
}
ORDINALS = {
    word: number
    for number, word in enumerate(
        ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth"],
        start=1,
    )
} | {"last": -1}

# --- normalising ------------------------------------------------------------------------------

OPENERS = re.compile(
    r"^(?:(?:hey|hi|hello|ok|okay|so|um+|uh+|well|oh|alright|right|and|also|then|now|actually"
    r"|assistant|bot)\b[,!.]?\s+)+",
    re.IGNORECASE,
)
POLITE = re.compile(
    r"^(?:please|pls|plz|kindly|just|quickly|go ahead and|let's|lets"
    r"|(?:could|can|would|will)\s+(?:you|u)(?:\s+please)?(?:\s+kindly)?"
    r"|(?:i'd|i would|i)\s+(?:like|want|need)\s+you\s+to"
    r"|i'd like to|i would like to|i want to|i wanna|help me)\b[,]?\s+",
    re.IGNORECASE,
)
TRAILERS = re.compile(
    r"[\s,]+(?:please|pls|plz|for me|thanks|thank you|thx|now|right now|asap|ok|okay)$",
    re.IGNORECASE,
)
INTENTION = re.compile(
    r"^(?:i\s+(?:really\s+|still\s+|also\s+)?(?:need to|have to|must|should|gotta|ought to)"
    r"|i've got to|i have got to|i got to"
    r"|remind me to|remind me that i (?:need|have) to|don't let me forget to"
    r"|do not let me forget to|don't forget to|remember to|i mustn't forget to"
    r"|note to self:?|to-?do:|to do:)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)


def normalise(message: str) -> str:
    """One line, plain quotes, no closing punctuation, politeness peeled off both ends."""
    text = " ".join(message.replace("\u2019", "'").replace("\u2018", "'").split())
    text = text.replace("\u201c", '"').replace("\u201d", '"')
    previous = None
    while previous != text:
        previous = text
        text = text.strip().rstrip(".!?,;:) ").strip()
        text = TRAILERS.sub("", text)
        stripped = OPENERS.sub("", text)
        text = POLITE.sub("", stripped) if stripped else text
    return text


# --- naming tasks -----------------------------------------------------------------------------

PRONOUN = re.compile(
    r"^(?:it|that|this|that one|this one|that task|this task|the task|the same task"
    r"|the one i just added|the last one i added)$",
    re.IGNORECASE,
)
NUMBERED = re.compile(
    r"^(?:(?:task|item|todo)\s+)?(?:number\s+|no\.?\s*|#)?(?P<n>\d+|"
    + "|".join(NUMBER_WORDS)
    + r")(?:\s+(?:task|item))?$",
    re.IGNORECASE,
)
ORDINAL = re.compile(
    r"^(?:the\s+)?(?P<o>" + "|".join(ORDINALS) + r")(?:\s+(?:one|task|item))?$", re.IGNORECASE
)
# Words around a title that are not part of it.
TARGET_NOISE = re.compile(
    r"^(?:the|my|that|this|a)\s+|\s+(?:task|item|to-?do|one|thing|entry)$"
    r"|\s+(?:from|off|on|in)\s+(?:my|the)\s+(?:list|tasks|to-?do list|todo list)$",
    re.IGNORECASE,
)


def target(phrase: str) -> Target | None:
    """How `phrase` names a task; None when it names nothing ("", "a task")."""
    phrase = phrase.strip().strip("\"'").strip()
    if PRONOUN.match(phrase):
        return Target(pronoun=True)
    if numbered := NUMBERED.match(phrase):
        n = numbered["n"].lower()
        return Target(task_id=int(n) if n.isdigit() else NUMBER_WORDS[n])
    if ordinal := ORDINAL.match(phrase):
        return Target(ordinal=ORDINALS[ordinal["o"].lower()])
    previous = None
    while previous != phrase:
        previous, phrase = phrase, TARGET_NOISE.sub("", phrase).strip().strip("\"'")
    if not phrase or phrase.lower() in ("task", "tasks", "one", "something", "all", "everything"):
        return None
    return Target(words=phrase)


# --- adding -----------------------------------------------------------------------------------

LIST_NAMES = r"(?:list|to-?do list|todo list|tasks|to-?dos|task list)"
TITLE_NOISE = re.compile(
    r"^(?:a\s+)?(?:new\s+)?(?:task|to-?do|item|reminder|entry|note)\b\s*"
    r"(?::|to|called|named|for|that says|saying)?\s*"
    r"|\s+(?:to|on|in|onto)\s+(?:my|the)\s+" + LIST_NAMES + r"$"
    r"|\s+as\s+a\s+(?:new\s+)?(?:task|to-?do)$",
    re.IGNORECASE,
)
EMPTY_TITLES = {"", "a task", "task", "new task", "a new task", "something", "it", "one", "a todo"}


def clean_title(raw: str) -> str | None:
    """The task title in `raw`, or None when it holds no title ("a task")."""
    title = raw.strip()
    previous = None
    while previous != title:
        previous = title
        title = TITLE_NOISE.sub("", title).strip()
        title = title.strip("\"'").strip()
    return None if title.lower() in EMPTY_TITLES else title


# --- the rules --------------------------------------------------------------------------------

DONE = r"(?:done|complete|completed|finished|checked off|ticked off|crossed off)"
NOT_DONE = (
    r"(?:not done|undone|not complete|not completed|incomplete|unfinished|not finished|pending"
    r"|open|to do|todo|active|outstanding)"
)
T = r"(?P<t>.+?)"


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    build: Callable[[re.Match[str]], Intent | None]


def _rule(regex: str, build: Callable[[re.Match[str]], Intent | None]) -> Rule:
    return Rule(re.compile(f"^(?:{regex})$", re.IGNORECASE), build)


QUESTION_WORDS = re.compile(
    r"^(?:what|which|how|who|anything|any|everything|all|nothing|my tasks|tasks)\b", re.IGNORECASE
)


def _on_target(action: str) -> Callable[[re.Match[str]], Intent | None]:
    def build(match: re.Match[str]) -> Intent | None:
        if QUESTION_WORDS.match(match["t"]):
            return None  # "which tasks are done?" is a question, not a task called "which"
        named = target(match["t"])
        return Intent(action, named) if named else Intent("which_task", fields={"action": action})

    return build


def _rename(match: re.Match[str]) -> Intent | None:
    named, title = target(match["t"]), clean_title(match["new"])
    if named is None or title is None:
        return None
    return Intent("rename", named, title=title)


def _describe(match: re.Match[str]) -> Intent | None:
    named = target(match["t"])
    return Intent("describe", named, description=match["d"].strip("\"' ")) if named else None


def _add(match: re.Match[str]) -> Intent:
    title = clean_title(match["title"] or "")
    return Intent("add", title=title) if title else Intent("ask_title")


def _fixed(intent: Intent) -> Callable[[re.Match[str]], Intent]:
    return lambda _match: intent


RULES: tuple[Rule, ...] = (
    # Answers to a question the assistant asked.
    _rule(
        r"yes|y|yeah|yep|yup|sure|confirm|do it|go ahead|yes please|yes,? delete it"
        r"|yes do it|correct|affirmative",
        _fixed(Intent("confirm")),
    ),
    _rule(
        r"no|n|nope|nah|no thanks|no thank you|cancel|never ?mind|stop|keep it|don't|do not",
        _fixed(Intent("decline")),
    ),
    _rule(
        r"undo|undo (?:that|it|this|the last (?:change|action|one|thing|step))|revert(?: that| it)?"
        r"|take (?:that|it) back|put (?:that|it) back|oops,? undo(?: that)?"
        r"|cancel (?:that|the last (?:change|action))|reverse (?:that|it)|restore (?:that|it)",
        _fixed(Intent("undo")),
    ),
    # A negated command does nothing (intentions like "don't forget to" were taken before).
    _rule(
        r"(?:don't|do not|dont|never|no need to)\s+(?:add|create|delete|remove|complete|finish"
        r"|mark|rename|change|update|drop|erase)\b.*",
        _fixed(Intent("declined_command")),
    ),
    # Reopen before complete: "mark 3 as not done" must not complete task 3.
    _rule(
        rf"(?:reopen|re-open|uncomplete|un-complete|unmark|uncheck|untick)\s+{T}",
        _on_target("reopen"),
    ),
    _rule(
        rf"(?:mark|set|put|move)\s+{T}\s+(?:as\s+|to\s+|back to\s+)?{NOT_DONE}(?: again)?",
        _on_target("reopen"),
    ),
    _rule(
        rf"{T}\s+(?:is|was)(?:n't| not)\s+(?:done|finished|complete|completed)"
        r"(?: after all| yet)?",
        _on_target("reopen"),
    ),
    _rule(
        r"i\s+(?:didn't|did not|haven't|have not)\s+(?:finish|finished|complete|completed)"
        rf"\s+{T}(?: after all| yet)?",
        _on_target("reopen"),
    ),
    # Complete.
    _rule(rf"(?:complete|finish|check off|tick off|cross off|close)\s+{T}", _on_target("complete")),
    _rule(
        rf"(?:mark|set|check|tick|cross)\s+{T}\s+(?:as\s+|to\s+)?(?:{DONE}|off)",
        _on_target("complete"),
    ),
    _rule(rf"{T}\s+(?:is|was|has been|are)\s+{DONE}", _on_target("complete")),
    _rule(
        rf"(?:i|i've|i have|we)\s+(?:just\s+)?(?:finished|completed|did|done)\s+{T}",
        _on_target("complete"),
    ),
    _rule(rf"(?:(?:i'm|i am)\s+)?(?:done|finished) with\s+{T}", _on_target("complete")),
    # Rename and describe before add and delete ("change", "update" and "edit" are theirs).
    _rule(rf"(?:rename|retitle)\s+{T}\s+(?:to|as|into)\s+(?P<new>.+)", _rename),
    _rule(
        rf"(?:change|update|edit|set)\s+(?:the\s+)?(?:title|name)\s+of\s+{T}\s+to\s+(?P<new>.+)",
        _rename,
    ),
    _rule(
        rf"(?:change|update|edit|set)\s+{T}(?:'s)?\s+(?:title|name)\s+(?:to\s+)?(?P<new>.+)",
        _rename,
    ),
    _rule(
        rf"(?:change|update|edit|set)\s+(?:the\s+)?description\s+of\s+{T}\s+to\s+(?P<d>.+)",
        _describe,
    ),
    _rule(
        rf"(?:change|update|edit|set)\s+{T}(?:'s)?\s+description\s+(?:to\s+)?(?P<d>.+)",
        _describe,
    ),
    _rule(
        rf"(?:add|put)\s+(?:a\s+)?(?:note|description)\s+(?:to|on)\s+{T}:\s*(?P<d>.+)", _describe
    ),
    _rule(rf"describe\s+{T}\s+as\s+(?P<d>.+)", _describe),
    _rule(rf"(?:change|update|edit)\s+{T}\s+to\s+(?P<new>.+)", _rename),
    # Delete.
    _rule(
        r"(?:delete|remove|drop|erase|get rid of|trash|scrap|discard|cancel|forget about)"
        rf"\s+{T}",
        _on_target("delete"),
    ),
    # Add.
    _rule(
        r"(?:add|create|new|jot down|write down|note down|note|put)"
        r"(?:\s+(?P<title>.+?))?(?:\s+(?:to|on|onto)\s+(?:my|the)\s+" + LIST_NAMES + r")?",
        _add,
    ),
    _rule(r"(?:new\s+)?(?:task|to-?do):\s*(?P<title>.+)", _add),
)

# --- questions, small talk, out of scope --------------------------------------------------------

LIST_CUE = re.compile(
    r"^(?:show|list|see|view|display|give|get|read|print|check|tell|what|what's|whats|which"
    r"|anything|any|how|do|is|are|have|did|where|can)\b",
    re.IGNORECASE,
)
LIST_VERB = re.compile(
    r"^(?:show|list|see|view|display|give|get|read|print|check)(?:\s+me)?(?:\s+out)?\b\s*",
    re.IGNORECASE,
)
DOMAIN = re.compile(
    r"\b(?:tasks?|to-?dos?|list|plate|agenda|pending|left|remaining|outstanding|open|done|finish"
    r"|finished|complete|completed|checked off|ticked off|to do|unfinished|incomplete|stuff to do"
    r"|things to do|do next|do today|work on)\b",
    re.IGNORECASE,
)
PENDING_WORDS = re.compile(
    r"\b(?:pending|left|remaining|outstanding|open|to do|todo|unfinished|incomplete|not done"
    r"|not completed|not finished|not complete|haven't (?:done|finished|completed)"
    r"|still (?:need|have)|do next|do today|work on|isn't done|aren't done|undone|active)\b",
    re.IGNORECASE,
)
COMPLETED_WORDS = re.compile(
    r"\b(?:done|finished|finish|completed|complete|checked off|ticked off|crossed off"
    r"|not pending|aren't pending|isn't pending|not open|not left)\b",
    re.IGNORECASE,
)
NEGATED_DONE = re.compile(
    r"(?:\bnot|n't|\bnever)\s+(?:i\s+|you\s+|we\s+)?(?:yet\s+)?(?:been\s+)?(?:done|finished"
    r"|completed|complete|finish|do|did)\b",
    re.IGNORECASE,
)
NEGATED_PENDING = re.compile(r"(?:\bnot|n't)\s+(?:pending|open|left)\b", re.IGNORECASE)

SMALL_TALK = (
    (
        "greeting",
        r"hi|hello|hey|hey there|hi there|hello there|yo|howdy|hiya"
        r"|good (?:morning|afternoon|evening)",
    ),
    (
        "thanks",
        r"thanks|thank you|thx|ty|cheers|great|awesome|perfect|cool|nice|ok|okay|got it|good"
        r"|thanks a lot|thank you so much|much appreciated|great,? thanks|cool,? thanks|lol|haha",
    ),
    (
        "bye",
        r"bye|goodbye|good bye|see you|see you later|see ya|later|good night|cya|talk later"
        r"|catch you later|that's all|that is all|i'm done|i am done",
    ),
    ("how_are_you", r"how are you|how's it going|how are things|what's up|whats up|sup"),
    (
        "who",
        r"who are you|what are you|what's your name|what is your name|are you a bot"
        r"|are you human|are you real",
    ),
    ("sorry", r"sorry|my bad|oops"),
)
HELP = re.compile(
    r"^(?:help|help me|what can you do|what do you do|how does this work|how do i use this"
    r"|commands|what can i say|what can i ask|how do you work|options|menu|\?+)$",
    re.IGNORECASE,
)
OUT_OF_SCOPE = re.compile(
    r"\b(?:weather|joke|poem|song|story|recipe|ideas?|news|translate|calculate|capital|meaning"
    r"|stock|price|movie|film|essay|email|code|program|sing|write|explain|define|who is|who was"
    r"|time is it|date today|play|book a|order|buy me|search|google|wikipedia|math|sum of"
    r"|suggest|recommend)\b",
    re.IGNORECASE,
)


BARE_LIST = re.compile(
    r"^(?:(?:show|list|see|view|display)(?:\s+me)?\s+)?(?:all\s+)?(?:my\s+|the\s+)?(?:(?:pending|open"
    r"|completed|done|finished)\s+)?(?:tasks|to-?dos|list|to-?do list|todo list|task list"
    r"|everything|all)$",
    re.IGNORECASE,
)


def _list_intent(text: str) -> Intent | None:
    """A question about the list ("what's pending?", "how many are done?"), else None."""
    if BARE_LIST.match(text):
        return Intent("list", status=_status(text))
    if not LIST_CUE.match(text):
        return None
    rest = LIST_VERB.sub("", text, count=1)  # "list 3 ideas": the verb is not the noun "list"
    if not DOMAIN.search(rest) or OUT_OF_SCOPE.search(rest):
        return None
    count = bool(re.match(r"^how many\b", text, re.IGNORECASE))
    return Intent("list", status=_status(rest), count=count)


def _status(text: str) -> Status:
    if NEGATED_PENDING.search(text):
        return "completed"
    if NEGATED_DONE.search(text):
        return "pending"
    if re.search(
        r"\b(?:did i|have i|i've|i have) (?:\w+ )?(?:do|done|finish|finished|complete|completed)\b",
        text,
        re.IGNORECASE,
    ):
        return "completed"  # "what did I do today?" asks what is finished
    if PENDING_WORDS.search(text):
        return "pending"
    if COMPLETED_WORDS.search(text):
        return "completed"
    return "all"


def _small_talk(text: str) -> Intent | None:
    for kind, words in SMALL_TALK:
        if re.fullmatch(f"(?:{words})(?:,? (?:bot|assistant|buddy|friend|there))?", text, re.I):
            return Intent("small_talk", fields={"kind": kind})
    return None


# --- the entry point --------------------------------------------------------------------------


def understand(message: str) -> Intent:
    """What `message` asks for; Intent("unknown") when it is not a request we understand."""
    raw = " ".join(message.replace("\u2019", "'").split()).rstrip(".!? ")
    if HELP.match(raw) or HELP.match(normalise(message)):
        return Intent("help")
    if (chat := _small_talk(raw)) is not None:
        return chat
    text = normalise(message)
    if not text:
        return _small_talk(raw) or Intent("unknown")
    if intention := INTENTION.match(text):
        return _intended(intention["rest"])
    return _command(text) or _small_talk(text) or _fallback(text)


def _command(text: str) -> Intent | None:
    for rule in RULES:
        match = rule.pattern.match(text)
        intent = rule.build(match) if match else None
        if intent is not None:
            return intent
    return _list_intent(text)


def _intended(rest: str) -> Intent:
    """'I need to X': X is a task to add, unless X is itself an addition or a question."""
    rest = normalise(rest)
    command = _command(rest)
    if command is not None and command.action in ("add", "list"):
        return command
    title = clean_title(rest)
    return Intent("add", title=title) if title else Intent("ask_title")


def _fallback(text: str) -> Intent:
    if OUT_OF_SCOPE.search(text) or re.match(
        r"^(?:what|who|why|when|where|how|is|are|can|could|will|would|should|do|does|tell)\b",
        text,
        re.IGNORECASE,
    ):
        return Intent("out_of_scope")
    return Intent("unknown")
