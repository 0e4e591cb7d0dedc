"""The word matcher: keyword overlap with typo tolerance over each entry's phrasings. Used when no
embedding model is configured (agent.embedding_model = "none") or the model failed to load."""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rapidfuzz import fuzz

# Words that say nothing about which question is meant. Greetings and thanks are here too, so a
# message made only of them has no content left and cannot match anything.
_STOPWORDS_TEXT = """
a about am an and any are as at be been but by can could did do does doing for from get got had has have
how i if in into is it its just me my of on or our please should so that the their them then there these
this to too us was we were what when where which who why will with would you your want need like know
tell let also still yet already really very much many some im ive id youre dont cant wont isnt doesnt
didnt hasnt havent wasnt arent couldnt shouldnt wouldnt don won isn doesn didn hasn haven wasn aren
couldn shouldn wouldn hi hello hey hiya yo thanks thank thx ty cheers ok okay good morning afternoon
evening bye goodbye dear team sir madam there
el la los las un una unos unas de del que y o en es por para con mi mis tu como cual donde cuando hola
gracias buenos buenas dias tardes noches hay se me lo le
der die das den dem des ein eine einen und oder ist sind ich mein meine meinen wie was wo wann mit zu
von fur auf bei hallo danke guten tag morgen bitte es
le les des du et est je mon ma mes comment quel quelle ou quand avec pour sur bonjour salut merci svp
ce une il vous nous
и в во не на я как что мой моя мое мои это с со по для где когда ли а но же у к о от за из привет
спасибо здравствуйте добрый день пожалуйста вы мне меня
"""


def _normalize(text: str) -> str:
    """Casefolded, accents stripped, punctuation turned into spaces: the form all matching uses."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join("".join(char if char.isalnum() else " " for char in bare).split())


_STOPWORDS = frozenset(_normalize(_STOPWORDS_TEXT).split())


def _content_words(normalized: str) -> list[str]:
    # Single letters are mostly the remains of contractions ("can't" -> "can t").
    return [word for word in normalized.split() if word not in _STOPWORDS and len(word) > 1]


def _same_word(a: str, b: str) -> bool:
    """Typo and inflection tolerant: "pasword" ~ "password", "refunds" ~ "refund", "ship" ~ "shipping"."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return a.startswith(b) or b.startswith(a) or fuzz.ratio(a, b) >= 80



@dataclass(frozen=True)
class _Phrasing:
    normalized: str
    words: tuple[str, ...]


class WordIndex:
    """Entries' phrasings pre-normalized, and how rare each word is across the entries."""

    def __init__(self, phrasings: list[tuple[str, ...]]) -> None:
        entries = phrasings
        self.phrasings = [[_Phrasing(n, tuple(_content_words(n))) for n in map(_normalize, questions)]
                          for questions in phrasings]
        vocabulary = [{w for p in phrasings for w in p.words} for phrasings in self.phrasings]
        used_by = Counter(w for words in vocabulary for w in words)
        self.weights = {w: 1.0 + math.log(len(entries) / count) for w, count in used_by.items()}

    def weight(self, word: str) -> float:
        return self.weights.get(word, 1.0)

    def score(self, query: _Phrasing, phrasing: _Phrasing) -> float:
        if not query.words or not phrasing.words:
            return 0.0  # nothing but greetings, thanks or filler words: never a confident match
        # Keyword overlap, words that few entries use weighing more. Covering the question's words is
        # what counts (one shared word with a two-word question is not enough); extra words in the
        # message cost little, as customers write long. Character similarity then refines the score.
        covered = sum(self.weight(q) for q in phrasing.words if any(_same_word(q, w) for w in query.words))
        if not covered:
            return 0.0
        found = sum(self.weight(w) for w in query.words if any(_same_word(w, q) for q in phrasing.words))
        recall = covered / sum(self.weight(q) for q in phrasing.words)
        precision = found / sum(self.weight(w) for w in query.words)
        token_set = fuzz.token_set_ratio(" ".join(query.words), " ".join(phrasing.words)) / 100
        whole = fuzz.WRatio(query.normalized, phrasing.normalized) / 100
        return round(recall * math.pow(precision, 0.3) * (0.7 + 0.18 * token_set + 0.12 * whole), 4)

    def scores(self, question: str) -> list[float]:
        """One score from 0 to 1 per entry: its best phrasing's."""
        normalized = _normalize(question)
        query = _Phrasing(normalized, tuple(_content_words(normalized)))
        return [max(self.score(query, p) for p in phrasings) for phrasings in self.phrasings]
