"""Misspelt words put right toward the knowledge base's own words, before a message is matched.

Customers type "cancle", "mony", "depost". The embedding model reads many typos, but a word it has never
seen is cut into pieces that can point anywhere, and the words matcher misses it outright. A word is put
right only when both hold:
- no word list of the common languages knows it (wordfreq's lists): it is not a word, or a very rare one,
  so "like", "stole" or the German "muss" are never touched however close they are to a knowledge-base word;
- exactly one word of the knowledge base (its questions, other phrasings, answers and translations) is one
  edit away: a letter inserted, deleted, replaced, or two neighbours swapped. Two candidates: left alone.
Words shorter than four letters are left alone ("u", "4", "ur"): one edit away from too much.

On the development set this put right only true typos ("cancle", "acept", "usualy", the Spanish "cancelo"
as "cancel") and raised top-1 in-scope accuracy from 74% to 76% (bench/README.md).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

log = logging.getLogger(__name__)

# Word lists consulted to tell a real word from a typo: the languages customers write most in Europe and
# the Americas, plus each translation's language (when wordfreq has it). About 34 MB for these eight.
LEXICON_LANGUAGES = ("en", "de", "es", "fr", "it", "pt", "nl", "ru")
KNOWN_ZIPF = 1.0  # a word seen about once in 100 million words or more is a word, not a typo
MIN_LENGTH = 4
_TOKEN = re.compile(r"\w+")
_COMPOUND = re.compile(r"\w+(?:-\w+)+")


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class Speller:
    """Built once per version of the knowledge base (on the indexing thread); `correct` is pure."""

    def __init__(self, texts: Iterable[str], languages: Iterable[str] = ()) -> None:
        vocabulary: set[str] = set()
        for text in texts:
            vocabulary.update(_fold(w) for w in _TOKEN.findall(text) if w.isalpha())
            # "e-bike" is also written "ebike"
            vocabulary.update(_fold(c.replace("-", "")) for c in _COMPOUND.findall(text))
        self.vocabulary = vocabulary
        self._by_length: dict[int, list[str]] = {}
        for word in vocabulary:
            if len(word) >= MIN_LENGTH:
                self._by_length.setdefault(len(word), []).append(word)
        self._languages = tuple(dict.fromkeys((*LEXICON_LANGUAGES, *languages)))
        self._zipf = _lexicon()
        self.known("warm")  # load the word lists now, on the indexing thread, not on a customer's message

    def known(self, word: str) -> bool:
        if self._zipf is None:
            return True  # no word lists: correct nothing rather than guess
        for language in self._languages:
            try:
                if self._zipf(word, language, wordlist="small") >= KNOWN_ZIPF:
                    return True
            except LookupError:  # a translation's language wordfreq has no list for
                continue
        return False

    def fix(self, word: str) -> str | None:
        """The knowledge-base word this typo stands for, or None."""
        folded = _fold(word)
        if len(folded) < MIN_LENGTH or not folded.isalpha() or folded in self.vocabulary:
            return None
        if self.known(folded):
            return None
        candidates = [match for length in (len(folded) - 1, len(folded), len(folded) + 1)
                      for match, _, _ in process.extract(folded, self._by_length.get(length, ()),
                                                         scorer=OSA.distance, score_cutoff=1, limit=2)]
        return candidates[0] if len(candidates) == 1 else None

    def correct(self, text: str) -> str:
        """The message with its typos put right; the same string when there are none."""
        return _TOKEN.sub(lambda m: self.fix(m.group(0)) or m.group(0), text)


def _lexicon() -> Callable[..., float] | None:
    try:
        from wordfreq import zipf_frequency
    except ImportError as exc:  # a broken install: matching still works, typos are not put right
        log.warning("wordfreq is not installed (%s): typos in customers' messages are not put right", exc)
        return None
    return zipf_frequency
