"""Words in each of their written forms (smtpprobe.core.written_forms).

A rule or a signature is written from one program's message; another program, or the
same one in another version, writes the same words with or without a katakana word's final
long-vowel mark (サーバ/サーバー), with full-width or ASCII punctuation ("："/":"), with
or without a space between Japanese and Latin words, with or without a letter's
diacritics, contracted or not ("doesn't"), and in simplified or traditional Chinese
characters. Each pattern reads all of them.
"""

from __future__ import annotations

import re

import pytest

from smtpprobe.core.client_errors import find_client_errors
from smtpprobe.core.written_forms import plain_form, widen
from smtpprobe.loading import load_rulebook
from smtpprobe.paste import client_errors


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        ("サーバーに接続できません", ["サーバーに接続できません", "サーバに接続できません"]),
        ("サーバに接続", ["サーバに接続", "サーバーに接続"]),
        ("ユーザー名", ["ユーザ名", "ユーザー名"]),
        (
            "送信できません: すべての宛先",
            [
                "送信できません: すべての宛先",
                "送信できません：すべての宛先",
                "送信できません:すべての宛先",
            ],
        ),
        ("大きすぎます（最大", ["大きすぎます（最大", "大きすぎます(最大"]),
        (r"大きすぎます\(最大", ["大きすぎます(最大", "大きすぎます（最大"]),
        ("SMTP AUTH が利用", ["SMTP AUTH が利用", "SMTP AUTHが利用"]),
        ("SMTP AUTHが利用", ["SMTP AUTHが利用", "SMTP AUTH が利用"]),
        (r"SMTP\s{1,3}AUTH\s{1,3}が", ["SMTP AUTH が", "SMTP AUTHが"]),
        ("TLSが必要", ["TLS が必要", "TLSが必要"]),
        # kana or kanji, polite or plain form
        ("接続できません", ["接続できません", "接続出来ません"]),
        ("利用出来ません", ["利用出来ません", "利用できません"]),
        ("認証を拒否しました", ["認証を拒否しました", "認証を拒否した"]),
        ("認証を拒否した", ["認証を拒否した", "認証を拒否しました"]),
    ],
)
def test_each_written_form_is_read(pattern: str, texts: list[str]) -> None:
    widened = re.compile(widen(pattern), re.IGNORECASE)
    for text in texts:
        assert widened.fullmatch(text), (pattern, widen(pattern), text)


def test_what_is_not_japanese_is_left_as_it_is() -> None:
    for pattern in (r"relay (access )?denied", r"\(#5\.7\.1\)", r"Error: 550", r"[：:]x"):
        assert widen(pattern) == pattern
    # Words stay words: no form reads another word.
    assert not re.fullmatch(widen("サーバー"), "サーバント")
    assert not re.search(widen("SMTP AUTH が利用"), "SMTP AUTH を利用")


def test_a_lookbehind_keeps_its_width() -> None:
    # Python's lookbehind must have a fixed width: nothing in it becomes optional.
    widened = widen("(?<!サーバ)エラー(?<=ー：)")
    re.compile(widened)
    assert "(?<!サーバ)" in widened


def test_escapes_groups_and_quantifiers_are_kept() -> None:
    for pattern in (r"(?P<host>サーバ)ー*", r"(?:サーバー?|ホスト){1,2}", r"\d{3}が", r"[（(]x\)"):
        re.compile(widen(pattern))
    assert widen(r"\d{3}が") == r"\d{3}が"  # a class or a count beside it is no Latin word


def test_every_built_in_pattern_is_widened_and_compiles() -> None:
    # The rule base and the signatures load with their patterns widened (a pattern that did
    # not compile would fail the load); and they do read the other forms.
    rules = load_rulebook(None)
    assert rules
    errors = client_errors()
    for text in ("SMTP AUTHが利用できません", "SMTP AUTH が利用できません"):
        found = find_client_errors(text, errors)
        assert [f.failure for f in found] == ["auth-not-offered"], text


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        # A server that answers in 7-bit ASCII drops the accents; German spells umlauts out.
        (
            "unterstützt keine Verschlüsselung",
            ["unterstützt keine Verschlüsselung", "unterstuetzt keine Verschluesselung",
             "unterstutzt keine Verschlusselung"],
        ),
        ("Größe", ["Größe", "Groesse", "Grosse"]),
        ("Lỗi 421: Máy chủ", ["Lỗi 421: Máy chủ", "Loi 421: May chu"]),
        ("Oturum açılamadı", ["Oturum açılamadı", "Oturum acilamadi"]),
        ("[éè]chec", ["échec", "èchec", "echec"]),
    ],
)  # fmt: skip
def test_a_letter_reads_with_or_without_its_diacritics(pattern: str, texts: list[str]) -> None:
    either = re.compile(widen(pattern), re.IGNORECASE)
    plain = re.compile(widen(pattern, marks="plain"), re.IGNORECASE)
    for text in texts:
        assert either.fullmatch(text), (pattern, text)
        # The signatures' way: the text is read without its diacritics, one for one.
        assert len(plain_form(text)) == len(text)
        assert plain.fullmatch(plain_form(text)), (pattern, text)
    assert not either.fullmatch("unterstatzt keine Verschlusselung".replace("statzt", "stotzt"))


def test_a_lookbehind_keeps_its_width_with_diacritics_too() -> None:
    for marks in ("either", "plain"):
        re.compile(widen("(?<!ü)x(?<!ß)", marks=marks))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        # Programs write a negation in full or contracted; a pattern reads either.
        ("Server does not support", ["Server does not support", "Server doesn't support"]),
        ("first record doesn't look", ["first record does not look", "first record doesn't look"]),
        ("couldn.t connect", ["could not connect", "couldn't connect", "couldn`t connect"]),
        ("can not validate", ["cannot validate", "can't validate", "can not validate"]),
        ("Cannot", ["cannot", "can not", "can't"]),
    ],
)
def test_a_negation_reads_in_full_or_contracted(pattern: str, texts: list[str]) -> None:
    widened = re.compile(widen(pattern), re.IGNORECASE)
    for text in texts:
        assert widened.fullmatch(text), (pattern, widen(pattern), text)


def test_a_negation_is_a_whole_word() -> None:
    for pattern in ("candid nothing", "isnotable", "scan not", "(?<!does not )x", "does not+"):
        assert widen(pattern) == pattern


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        # Simplified and traditional Chinese, one character for one (Unihan's pairs); the
        # words other programs write (NetEase's "认证失败", Taiwan's "認證失敗").
        ("认证失败", ["认证失败", "認證失敗", "認证失败"]),
        ("連接逾時", ["連接逾時", "连接逾时"]),
        ("发信频率", ["发信频率", "發信頻率"]),
        ("[认認]证", ["认证", "認證"]),
    ],
)
def test_a_han_character_reads_in_either_script(pattern: str, texts: list[str]) -> None:
    either = re.compile(widen(pattern))
    plain = re.compile(widen(pattern, marks="plain"))
    for text in texts:
        assert either.fullmatch(text), (pattern, text)
        assert len(plain_form(text)) == len(text)
        assert plain.fullmatch(plain_form(text)), (pattern, text)
    # Other characters stay other words; a character no script changes is kept.
    assert not either.fullmatch("认识失败")
    assert widen("送信") == "送信"


def test_the_han_table_is_one_for_one() -> None:
    from smtpprobe.core.han_variants import PAIRS

    assert len(PAIRS) % 2 == 0
    traditional, simplified = PAIRS[0::2], PAIRS[1::2]
    assert len(set(traditional)) == len(traditional)  # one simplified form each
    assert not set(simplified) & set(traditional)  # never simplified twice
    assert all(
        t != s and ord(t) <= 0xFFFF and ord(s) <= 0xFFFF
        for t, s in zip(traditional, simplified, strict=True)
    )
    # Unihan's kSimplifiedVariant for a few well-known characters.
    pairs = dict(zip(traditional, simplified, strict=True))
    assert [pairs[c] for c in "發認證連郵線"] == list("发认证连邮线")
    # A lookbehind keeps its width: a class is one character.
    for marks in ("either", "plain"):
        re.compile(widen("(?<!連)接(?<=認證)", marks=marks))  # type: ignore[arg-type]
