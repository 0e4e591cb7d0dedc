"""Typos put right toward the knowledge base's words, with the real word lists: only words no language
list knows, and only when exactly one knowledge-base word is one edit away."""

from __future__ import annotations

from bot.agent.faq import FaqAgent
from bot.agent.spelling import Speller
from tests.bot.agent.test_faq import KB

SHOP = Speller(["Can I cancel my booking?", "We refund the money in full until 24 hours before.",
                "How far does an e-bike go?", "Do you rent bikes? Must I book ahead?"])


def test_a_typo_one_edit_from_one_knowledge_base_word_is_put_right() -> None:
    assert SHOP.correct("cant come, do i get my mony back if i cancle?") == \
        "cant come, do i get my money back if i cancel?"
    assert SHOP.correct("Refnud please") == "refund please"  # two letters swapped is one edit


def test_real_words_are_left_alone_in_any_common_language() -> None:
    # "like" and "hikes" are a letter from "bike(s)", "muss" (German) from "must": all real words.
    for text in ("I like hikes", "Muss ich vorher buchen?", "¿Cancelan ustedes?"):
        assert SHOP.correct(text) == text


def test_short_words_and_ambiguous_typos_are_left_alone() -> None:
    speller = Speller(["the bike and the bake"])
    assert speller.correct("u r 2 late") == "u r 2 late"
    assert speller.fix("bqke") is None  # "bike" and "bake" are both one edit away


def test_a_hyphenated_word_written_joined_is_a_known_word() -> None:
    assert SHOP.fix("ebike") is None
    assert "ebike" in SHOP.vocabulary


def test_the_agent_matches_the_corrected_message_and_says_how_it_read_it() -> None:
    agent = FaqAgent.from_text(KB)
    decision = agent.decide("how do i ordr a brithday cake")
    assert decision.read_as == "how do i order a birthday cake"
    assert decision.best is not None and decision.best.title == "How do I order a birthday cake?"
    assert agent.decide("how do I order a birthday cake").read_as == ""
