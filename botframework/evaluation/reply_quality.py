"""Metrics that catch bad replies, on plain lists of prompts and replies (``eval`` and ``tune``).

* broken-reply rate (:func:`is_broken`): the reply ends on a word that cannot end a sentence, or
  says a word twice in a row;
* repeated-word rate (:func:`repeated_words`): the reply says a content word twice, anywhere
  ("Probably to europe or europe"), or greets twice ("Hi hey hello!");
* copy rate (:func:`copy_share`): the share of the reply's content words already in the prompt;
* average length in words (:func:`average_words`);
* generic-reply rate against the default dull list (:func:`default_generic_rate`);
* well-formatted share (:func:`is_well_formatted`): the reply reads as written text.

The relevance of a reply to its prompt, which needs a sentence-embedding model, is in
:mod:`botframework.evaluation.relevance`. :func:`reply_quality` computes every metric here at once.
Words are those of :func:`botframework.text.words` (lower-cased, no punctuation).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from collections.abc import Callable

from botframework.text import DEFAULT_DULL_REPLIES, dull_rate, generic_replies, words

DETERMINERS = frozenset({"a", "an", "the", "every", "each", "another"})
POSSESSIVES = frozenset({"my", "your", "our", "their", "its", "whose"})
CONJUNCTIONS = frozenset({"and", "but", "or", "nor", "because", "although", "if", "unless", "than"})
#: Counted only when the reply is not a question ("where are you from?" is fine).
PREPOSITIONS = frozenset({"of", "to", "from", "with", "in", "on", "at", "for", "about", "into", "by"})
AUXILIARIES = frozenset(
    {"is", "are", "was", "were", "am", "be", "been", "has", "have", "had", "do", "does", "did",
     "can", "could", "will", "would", "should", "must", "haven't", "don't", "can't", "isn't"}
)
#: A trailing auxiliary after one of these is an elliptical answer ("yes, i do"), not broken.
SUBJECTS = frozenset({"i", "you", "he", "she", "it", "we", "they", "that", "there", "this", "who"})
#: Words people do say twice in a row ("no no", "very very").
REPEATABLE_WORDS = frozenset({"ha", "haha", "no", "very", "so", "bye", "yes", "yeah", "really", "la"})
#: Words that carry no content of their own: what copy rate leaves out.
FUNCTION_WORDS = (
    DETERMINERS | POSSESSIVES | CONJUNCTIONS | PREPOSITIONS | AUXILIARIES | SUBJECTS
    | frozenset({"me", "him", "her", "us", "them", "i'm", "you're", "it's", "that's", "what",
                 "not", "no", "yes", "so", "too", "just", "some", "any", "these", "those"})
)
#: Words a reply may say more than once ("I like dogs and I like cats"): the function words, the
#: words people say twice in a row, and common verbs and adverbs. Any other word said twice is a
#: repeated content word (:func:`repeated_words`).
MAY_REPEAT = (
    FUNCTION_WORDS
    | REPEATABLE_WORDS
    | frozenset({"how", "when", "where", "why", "which", "as", "all", "one", "more", "much", "out",
                 "up", "here", "then", "well", "also", "like", "love", "think", "know", "get",
                 "got", "go", "going", "want", "i've", "i'll", "i'd", "you've", "we're",
                 "they're", "there's", "what's", "let's", "didn't", "doesn't", "won't",
                 "wouldn't", "aren't", "wasn't"})
)
#: The contractions above as people type them in chat, without the apostrophe ("im", "dont").
MAY_REPEAT |= frozenset(word.replace("'", "") for word in MAY_REPEAT if "'" in word)

#: Words a greeting opens with, and the two-word greetings ("good morning").
GREETING_WORDS = frozenset({"hi", "hey", "hello", "hiya", "howdy", "yo", "sup", "morning", "gm"})
#: The greeting words a reply says at most one of (:func:`repeated_words`); "morning" can follow
#: one ("Hey, good morning!").
ONE_GREETING = GREETING_WORDS - {"morning"}
GREETING_PAIRS = frozenset(
    {("good", "morning"), ("good", "afternoon"), ("good", "evening"), ("whats", "up"),
     ("what's", "up")}
)
#: Words that may come before a greeting without making it any less of one ("Oh hey!").
INTERJECTIONS = frozenset(
    {"oh", "ah", "aw", "aww", "ha", "haha", "hahaha", "hehe", "lol", "lmao", "well", "wow", "ok",
     "okay", "um", "uh", "hmm", "yes", "yeah", "yep", "no", "nope", "so"}
)
#: At most this many interjections are looked past.
MAX_INTERJECTIONS = 2
#: What ends a conversation ("I have to go now", "nice talking to you", "good night"), as words.
FAREWELL_PHRASES = tuple(
    tuple(phrase.split())
    for phrase in (
        "bye", "goodbye", "good night", "goodnight", "see you later", "talk to you later",
        "talk to you tomorrow", "have to go", "got to go", "gotta go", "need to go", "must go",
        "nice talking", "nice chatting", "good talking", "good chatting", "great talking",
        "great chatting", "thanks for chatting", "thanks for talking", "thanks for the chat",
        "have a good day", "have a good night", "have a great day", "have a great night",
        "have a nice day",
    )
)
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s[.,!?;:)]")
_LOWER_I = re.compile(r"(?<![\w'])i(?:'(?:m|ve|ll|d))?(?![\w'])")
_ZEROS = re.compile(r"(?<![\d.,])0{2,}(?![\d.,])")


def ends_badly(said: list[str], question: bool) -> bool:
    """Whether the last of the words ``said`` cannot end a sentence (see :func:`is_broken`)."""
    last = said[-1]
    if last in DETERMINERS or last in POSSESSIVES or last in CONJUNCTIONS:
        return True
    if last in PREPOSITIONS:
        return not question
    if last in AUXILIARIES:
        return len(said) < 2 or said[-2] not in SUBJECTS
    return False


def repeats_word(said: list[str]) -> bool:
    """Whether a word comes twice in a row (:data:`REPEATABLE_WORDS` words excepted)."""
    return any(a == b and a not in REPEATABLE_WORDS for a, b in zip(said, said[1:]))


def repeated_words(said: Sequence[str]) -> list[str]:
    """The words of ``said`` that repeat an earlier one, in order, each once, leaving out
    :data:`MAY_REPEAT` words. Every :data:`ONE_GREETING` word counts as the same word: "Hi hey
    hello!" greets three times."""
    seen: set[str] = set()
    repeated: list[str] = []
    for word in said:
        same = "hi" if word in ONE_GREETING else word
        if same in seen and word not in MAY_REPEAT and word not in repeated:
            repeated.append(word)
        seen.add(same)
    return repeated


def is_broken(reply: str) -> bool:
    """Whether ``reply`` is broken: empty, ending on a determiner, possessive, conjunction,
    preposition (unless it is a question) or auxiliary (unless a subject comes just before it:
    "yes, i do"), or saying a word twice in a row."""
    said = words(reply)
    if not said:
        return True
    return ends_badly(said, reply.rstrip().endswith("?")) or repeats_word(said)


def copy_share(prompt: str, reply: str) -> float:
    """The share of the reply's distinct content words (not :data:`FUNCTION_WORDS`) that the
    prompt holds too; 0 when the reply has no content word."""
    content = {word for word in words(reply) if word not in FUNCTION_WORDS}
    return len(content & set(words(prompt))) / len(content) if content else 0.0


def is_well_formatted(reply: str) -> bool:
    """Whether ``reply`` reads as written text: it holds a letter (a reply of digits or zeros
    never does), its first letter is a capital, no space comes before punctuation, "I" is a
    capital and no number is a run of zeros ("00", "000")."""
    letters = [char for char in reply if char.isalpha()]
    return bool(
        letters
        and letters[0].isupper()
        and not _SPACE_BEFORE_PUNCTUATION.search(reply)
        and not _LOWER_I.search(reply)
        and not _ZEROS.search(reply)
    )


def greeting_words_after(said: Sequence[str]) -> frozenset[str]:
    """The words that, said next, would make a reply beginning with the words ``said`` open with
    a greeting: any greeting word after at most :data:`MAX_INTERJECTIONS` :data:`INTERJECTIONS`
    ("Oh" -> "hey"), the second word of a two-word greeting after its first ("good" ->
    "morning"); none once the reply has opened otherwise."""
    skipped = 0
    while skipped < min(MAX_INTERJECTIONS, len(said)) and said[skipped] in INTERJECTIONS:
        skipped += 1
    rest = said[skipped:]
    if not rest:
        return GREETING_WORDS
    if len(rest) == 1:
        return frozenset(second for first, second in GREETING_PAIRS if first == rest[0])
    return frozenset()


def opens_with_greeting(text: str) -> bool:
    """Whether ``text`` starts with a greeting ("Hi again!", "good morning", "hey, how are you"),
    after at most :data:`MAX_INTERJECTIONS` :data:`INTERJECTIONS` ("Oh hey!", "Haha hi")."""
    said = words(text)[: MAX_INTERJECTIONS + 2]
    return any(word in greeting_words_after(said[:i]) for i, word in enumerate(said))


def _farewell_endings() -> dict[tuple[str, ...], frozenset[str]]:
    """Each farewell phrase's words but the last -> the last words that complete it."""
    endings: dict[tuple[str, ...], set[str]] = {}
    for phrase in FAREWELL_PHRASES:
        endings.setdefault(phrase[:-1], set()).add(phrase[-1])
    return {start: frozenset(last) for start, last in endings.items()}


_FAREWELL_ENDINGS = _farewell_endings()
_FAREWELL_START_LENGTHS = sorted({len(start) for start in _FAREWELL_ENDINGS})


def farewell_words_after(said: Sequence[str]) -> frozenset[str]:
    """The words that, said next, would complete one of the :data:`FAREWELL_PHRASES` at the end
    of the words ``said`` ("i have to" -> "go", "nice" -> "talking", "chatting")."""
    return frozenset().union(
        *(
            _FAREWELL_ENDINGS.get(tuple(said[len(said) - length :]), frozenset())
            for length in _FAREWELL_START_LENGTHS
            if length <= len(said)
        )
    )


def says_farewell(text: str) -> bool:
    """Whether ``text`` holds one of the :data:`FAREWELL_PHRASES` anywhere ("Yes, but I have to go
    now.", "Nice talking to you!", "Bye!")."""
    said = words(text)
    return any(word in farewell_words_after(said[:i]) for i, word in enumerate(said))


def _share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def broken_rate(replies: Sequence[str]) -> float:
    """The share of ``replies`` that :func:`is_broken`; 0 for none."""
    return _share([is_broken(reply) for reply in replies])


def repeat_rate(replies: Sequence[str]) -> float:
    """The share of ``replies`` that say a content word twice (:func:`repeated_words`); 0 for
    none."""
    return _share([bool(repeated_words(words(reply))) for reply in replies])


def copy_rate(prompts: Sequence[str], replies: Sequence[str]) -> float:
    """The mean :func:`copy_share` of each reply to its prompt; 0 for none."""
    shares = [copy_share(p, r) for p, r in zip(prompts, replies, strict=True)]
    return sum(shares) / len(shares) if shares else 0.0


def greeting_rate(prompts: Sequence[str], replies: Sequence[str]) -> float:
    """The share of replies that open with a greeting, among the replies to prompts that do not
    (a greeting answers a greeting, not a question); 0 for none."""
    pairs = zip(prompts, replies, strict=True)
    return _share([opens_with_greeting(r) for p, r in pairs if not opens_with_greeting(p)])


def farewell_rate(prompts: Sequence[str], replies: Sequence[str]) -> float:
    """The share of replies that say goodbye, among the replies to prompts that do not (a
    visitor's question should not end the conversation); 0 for none."""
    pairs = zip(prompts, replies, strict=True)
    return _share([says_farewell(r) for p, r in pairs if not says_farewell(p)])


def average_words(
    replies: Sequence[str], split: Callable[[str], list[str]] = words
) -> float:
    """Words per reply, cut by ``split`` (:func:`~botframework.text.words` by default); 0 for none."""
    return sum(len(split(reply)) for reply in replies) / len(replies) if replies else 0.0


def default_generic_rate(replies: Sequence[str]) -> float:
    """The share of generic replies against the default dull list and the short generic replies
    (:func:`~botframework.text.generic_replies`): comparable across bots."""
    return dull_rate(replies, generic_replies(DEFAULT_DULL_REPLIES))


def format_rate(replies: Sequence[str]) -> float:
    """The share of ``replies`` that :func:`is_well_formatted`; 0 for none."""
    return _share([is_well_formatted(reply) for reply in replies])


def reply_quality(prompts: Sequence[str], replies: Sequence[str]) -> dict[str, float]:
    """Every metric of this module for replies to ``prompts`` (one reply each), by row name."""
    return {
        "average length (words)": average_words(replies),
        "generic-reply rate, default list": default_generic_rate(replies),
        "broken-reply rate": broken_rate(replies),
        "repeated-word rate": repeat_rate(replies),
        "copy rate": copy_rate(prompts, replies),
        "greeting rate (prompts that are not greetings)": greeting_rate(prompts, replies),
        "farewell rate (prompts that are not farewells)": farewell_rate(prompts, replies),
        "well-formatted share": format_rate(replies),
    }
