"""The written forms of the same words, so that a pattern written in one form reads the
others.

Mail programs and servers write one message in several ways, and a rule or a signature is
written from one of them. In Latin scripts, a server that answers in 7-bit ASCII drops the
accents ("TLS fur RCPT-Domain erforderlich", "Loi 421: May chu tam thoi khong san sang") and
German is also written with its umlauts spelled out ("unterstuetzt", "Empfaenger"). English
negations come in full or contracted ("does not support", "doesn't support"; "cannot",
"can not", "can't"). Chinese is written in simplified or traditional characters (认证失败,
認證失敗), one for one (the Unicode Han database's pairs: ``han_variants``). In Japanese:

- a katakana loanword with or without its final long-vowel mark: サーバ and サーバー,
  ユーザ and ユーザー (JIS Z 8301 and older programs drop it; Microsoft's style guide has
  written it since 2008, and most programs have followed);
- punctuation in its full-width or its ASCII form, as the input method or the program
  leaves it: "：" or ":", "（" or "(";
- a space between Japanese and Latin words, or none: "SMTP AUTH が" or "SMTP AUTHが".

``widen`` rewrites a regular expression's source so that each such place accepts every
form (a letter with a diacritic also reads as its base letter, an umlaut also as its
spelled-out form, ß as ss, a Han character as its other script's form). It changes only
literal characters outside character classes (and adds the plain twin of a character
inside one); escapes, groups and quantifiers are copied as they are. Pure; used where the
rule base and the client-error signatures compile their patterns (``smtpprobe.core.rules``,
``smtpprobe.core.client_errors``; the signatures read a text through ``plain_form``: without
diacritics and in simplified characters, one character for one).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from typing import Literal, NamedTuple

from smtpprobe.core.han_variants import PAIRS

__all__ = ["plain_form", "widen"]

# Loanwords whose final long-vowel mark is written or not (the word's stem without it).
# Only words that end a stem in -a/-i/-u/-e/-o + ー in English "-er/-or/-ar/-y" loans.
_STEMS = (
    "サーバ", "ユーザ", "コンピュータ", "プリンタ", "ブラウザ", "フォルダ", "パラメータ",
    "ドライバ", "ヘッダ", "プロバイダ", "アダプタ", "ルータ", "フィルタ", "マネージャ",
    "エンコーダ", "デコーダ", "メンバ", "コントローラ", "ハンドラ", "スキャナ", "モニタ",
    "バッファ", "カウンタ", "セキュリティ", "ディレクトリ", "エントリ", "メモリ", "カテゴリ",
    "リポジトリ", "ライブラリ", "バイナリ", "ヘルパ", "レイヤ", "キャリア", "プロキシ",
)  # fmt: skip
# Words that are written in kana or in kanji (できません/出来ません), or in the polite or the
# plain form (拒否しました/拒否した), by one program or another: either is read. The longest
# first.
_SPELLINGS = (
    ("しました", "し(?:まし)?た"),
    ("でき", "(?:でき|出来)"),
    ("出来", "(?:出来|でき)"),
    ("した", "し(?:まし)?た"),
)
_SPELLING_FIRSTS = frozenset(word[0] for word, _ in _SPELLINGS)
# English negations, written in full or contracted by one program or another ("does not
# support" / "doesn't support", "cannot" / "can not" / "can't"): either is read.
_AUXILIARIES = frozenset(
    {"do", "does", "did", "is", "are", "was", "were", "has", "have", "had", "could", "would",
     "should"}
)  # fmt: skip
_NEGATION_FIRSTS = frozenset({"c", "d", "i", "a", "w", "h", "s"})
_NEGATION_HINT = re.compile(
    r"(?i)\b(?:can|(?:do|does|did|is|are|was|were|has|have|had|could|would|should)"
    r"(?: not|n\W{1,6}t)\b)"
)
_STEM_FIRSTS = frozenset(stem[0] for stem in _STEMS)
# Full-width forms of ASCII punctuation (U+FF01-FF5E without letters and digits, which the
# paste reader narrows already) and the ideographic comma and full stop are not included:
# 、 and 。 have no one ASCII twin.
_FULL_TO_ASCII = {
    chr(code): chr(code - 0xFEE0)
    for code in range(0xFF01, 0xFF5F)
    if not chr(code - 0xFEE0).isalnum()
}
_ASCII_TO_FULL = {ascii: full for full, ascii in _FULL_TO_ASCII.items()}
# Punctuation whose full-width twin is read beside Japanese words only (not in English
# patterns, where a class in place of each "(" would cost the literal anchors).
_TWINNED_BESIDE_JAPANESE = frozenset(":;,!?()[]")
# Letters whose plain form is no decomposition of them (Unicode gives them none).
_PLAIN_LETTER = {
    "ı": "i", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ø": "o", "Ø": "O", "ё": "е", "Ё": "Е",
}  # fmt: skip
# German's spelled-out umlauts and ß (Duden: "ae", "oe", "ue", "ss" where the letter is missing).
_SPELLED_OUT = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
_QUANTIFIERS = frozenset("?*+{")
# The tables below are made on first use (functools.cache): a few milliseconds that a probe,
# which never reads a paste and loads its rules from the compiled cache, need not spend at
# start-up.


@functools.cache
def _simplified() -> dict[str, str]:
    """A traditional Han character's simplified form."""
    return {PAIRS[i]: PAIRS[i + 1] for i in range(0, len(PAIRS), 2)}


@functools.cache
def _han_forms() -> dict[str, str]:
    """Every form of a Han character written two ways (the simplified one first): one
    script's character reads the other's."""
    traditional: defaultdict[str, list[str]] = defaultdict(list)
    for trad, simple in _simplified().items():
        traditional[simple].append(trad)
    return {
        ch: simple + "".join(trads)
        for simple, trads in traditional.items()
        for ch in (simple, *trads)
    }


@functools.cache
def _markless() -> tuple[dict[int, str], re.Pattern[str]]:
    """What ``plain_form`` translates, and a search for any character it would."""
    # An umlaut too reads as its plain letter, as a server that drops the dots writes it;
    # a traditional Han character as its simplified form.
    table = {ord(ch): plain for ch, plain in _PLAIN_LETTER.items()}
    table.update((ord(trad), simple) for trad, simple in _simplified().items())
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00)):
        plain = _plain(chr(code))
        if plain is not None:
            table[code] = plain
    return table, re.compile("[" + "".join(sorted({chr(c) for c in table})) + "]")


_SPECIAL = frozenset("()|*+?.^$")
_GROUP_OPEN = re.compile(r"\(\?(?:[:=!>]|<[=!]|P<\w+>|P=\w+\)|[aiLmsux-]+[:)])")
_REPEAT = re.compile(r"\{\d*(?:,\d*)?\}")
_AT_LEAST_ONE = re.compile(r"\+|\{1,(\d+)\}")


class _Token(NamedTuple):  # a tuple: a long family of patterns makes some 700,000 of them
    text: str  # as written in the pattern
    literal: str | None = None  # the one character it matches, if it is a literal


def _is_japanese(ch: str | None) -> bool:
    if ch is None:
        return False
    code = ord(ch)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF
        or 0x4E00 <= code <= 0x9FFF  # CJK ideographs
        or 0xFF01 <= code <= 0xFF5E  # full-width forms
        or 0x3000 <= code <= 0x303F  # CJK punctuation
    )


def _tokens(pattern: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            literal = nxt if not nxt.isalnum() else None  # "\(" is "(", "\d" a class
            tokens.append(_Token(pattern[i : i + 2], literal))
            i += 2
        elif ch == "[":
            end = _class_end(pattern, i)
            tokens.append(_Token(_widened_class(pattern[i:end])))
            i = end
        elif ch == "(" and (group := _GROUP_OPEN.match(pattern, i)):
            tokens.append(_Token(group.group()))
            i = group.end()
        elif ch == "{" and (repeat := _REPEAT.match(pattern, i)):
            tokens.append(_Token(repeat.group()))
            i = repeat.end()
        elif ch in _SPECIAL:
            tokens.append(_Token(ch))
            i += 1
        else:
            tokens.append(_Token(ch, ch))
            i += 1
    return tokens


def _class_end(pattern: str, start: int) -> int:
    """The index after the class that opens at ``start`` (its "]" may come first)."""
    i = start + 1
    if i < len(pattern) and pattern[i] == "^":
        i += 1
    if i < len(pattern) and pattern[i] == "]":
        i += 1
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]":
            return i + 1
        i += 1
    return len(pattern)  # unclosed: re.compile will say so


def _plain(ch: str) -> str | None:
    """A Latin letter's form without its diacritics ("é" -> "e"), or None."""
    if ch.isascii() or not ch.isalpha():
        return None
    if ch in _PLAIN_LETTER:
        return _PLAIN_LETTER[ch]
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base != ch and base.isascii() and base.isalpha() else None


def plain_form(text: str) -> str:
    """``text`` with each Latin letter's diacritics dropped and each traditional Han
    character simplified, one character for one (so that every offset stays the text's
    own): what a pattern widened with ``marks="plain"`` reads."""
    if text.isascii():  # most pastes: nothing to translate
        return text
    table, marked = _markless()
    return text.translate(table) if marked.search(text) else text


def _widened_class(source: str) -> str:
    twins = [_FULL_TO_ASCII[ch] for ch in source if ch in _FULL_TO_ASCII]
    twins += [plain for ch in source if (plain := _plain(ch)) is not None]
    twins += [form for ch in source for form in _han_forms().get(ch, "")]
    if not twins or not source.endswith("]"):
        return source
    added = "".join(t if t.isalnum() else "\\" + t for t in dict.fromkeys(twins) if t not in source)
    return source[:-1] + added + "]"


def _either(ch: str, other: str) -> str:
    return "[" + "".join("\\" + c if not _is_japanese(c) else c for c in (ch, other)) + "]"


def widen(pattern: str, *, marks: Literal["either", "plain"] = "either") -> str:
    """``pattern`` with the other written forms of its words accepted too.

    ``marks="either"``: a letter with a diacritic reads as itself or its base letter
    ("[ée]"), a Han character as any of its forms ("[认認]"). ``marks="plain"``: as its
    base letter alone ("e"), or its simplified form ("认"), for a text read through
    ``plain_form``; a pattern keeps more of its literal words that way.
    """
    if pattern.isascii() and not _NEGATION_HINT.search(pattern):
        return pattern
    tokens = _tokens(pattern)
    fixed = _in_lookbehind(tokens)
    # Every change is made at or beside a character that is not ASCII: the tokens two or
    # more away from any such are copied as they are (most of a long family of patterns).
    near = [False] * len(tokens)
    for k, token in enumerate(tokens):
        if not token.text.isascii():
            near[max(k - 2, 0) : k + 3] = [True] * (min(k + 3, len(tokens)) - max(k - 2, 0))
    out: list[str] = []
    n = len(tokens)
    i = 0
    while i < n:
        token = tokens[i]
        negation = None if fixed[i] else _negation_at(tokens, i)
        if negation is not None:
            length, either = negation
            out.append(either)
            i += length
            continue
        if not near[i]:
            out.append(token.text)
            i += 1
            continue
        if fixed[i]:  # a lookbehind must keep its width: only one character for another
            ch = token.literal
            plain = _plain(ch) if ch is not None else None
            if ch in _FULL_TO_ASCII:
                out.append(_either(ch, _FULL_TO_ASCII[ch]))
            elif ch is not None and plain is not None:
                out.append(plain if marks == "plain" else f"[{ch}{plain}]")
            elif ch is not None and ch in _SPELLED_OUT and marks == "plain" and ch != "ß":
                out.append(_markless()[0][ord(ch)])
            else:
                out.append(_han(token.text, ch, marks))
            i += 1
            continue
        before = tokens[i - 1].literal if i > 0 else None
        after = tokens[i + 1].literal if i + 1 < n else None
        quantified = i + 1 < n and tokens[i + 1].text[0] in _QUANTIFIERS and after is None
        ch = token.literal
        two_ways = _spelling_at(tokens, i)
        if two_ways is not None:
            word, either = two_ways
            out.append(either)
            i += len(word)
            continue
        stem = _stem_at(tokens, i)
        if stem:
            out.extend(t.text for t in tokens[i : i + stem])
            i += stem
            following = tokens[i] if i < n else None
            if following is not None and following.literal == "ー":
                out.append("ー")
                i += 1
                if not (i < n and tokens[i].text[0] in _QUANTIFIERS):
                    out.append("?")
            elif not (following is not None and following.text[0] in _QUANTIFIERS):
                out.append("ー?")
            continue
        if token.text == "\\s" and i + 1 < n and _mixes(before, _literal(tokens, i + 2)):
            # "SMTP\s{1,3}AUTH\s{1,3}が…": the space beside Japanese may be none at all
            repeat = _AT_LEAST_ONE.fullmatch(tokens[i + 1].text)
            if repeat:
                most = repeat.group(1)
                out.append("\\s*" if most is None else "\\s{0," + most + "}")
                i += 2
                continue
        plain = _plain(ch) if ch is not None else None
        if ch is not None and ch in _SPELLED_OUT:
            spelled = _SPELLED_OUT[ch]  # ä: ä, a or ae; ß: ß, s or ss
            if marks == "plain" and ch != "ß":
                out.append(spelled + "?")  # the text's ä is read as a
            else:
                out.append(f"(?:{ch}|{spelled}?)")
        elif ch is not None and plain is not None:
            out.append(plain if marks == "plain" else f"[{ch}{plain}]")
        elif ch is not None and ch in _FULL_TO_ASCII:
            out.append(_either(ch, _FULL_TO_ASCII[ch]))
        elif (
            ch is not None
            and ch in _TWINNED_BESIDE_JAPANESE
            and (_is_japanese(before) or _is_japanese(after))
        ):
            out.append(_either(ch, _ASCII_TO_FULL[ch]))
        elif ch == " " and not quantified and _optional_space(tokens, i):
            out.append(" ?")
        else:
            out.append(_han(token.text, ch, marks))
            if ch is not None and not quantified and after is not None and _mixes(ch, after):
                out.append(" ?")
        i += 1
    return "".join(out)


def _han(text: str, ch: str | None, marks: Literal["either", "plain"]) -> str:
    """A token as written, or, for a Han character written two ways, its forms."""
    forms = _han_forms().get(ch, "") if ch is not None else ""
    if not forms:
        return text
    return forms[0] if marks == "plain" else f"[{forms}]"


def _in_lookbehind(tokens: list[_Token]) -> list[bool]:
    """For each token, whether it is inside a lookbehind ("(?<=…)", "(?<!…)")."""
    inside: list[bool] = []
    stack: list[bool] = []
    for token in tokens:
        if token.literal is None and token.text.startswith("("):
            stack.append(token.text in ("(?<=", "(?<!") or (bool(stack) and stack[-1]))
            inside.append(stack[-1])
        elif token.literal is None and token.text == ")":
            inside.append(bool(stack) and stack[-1])
            if stack:
                stack.pop()
        else:
            inside.append(bool(stack) and stack[-1])
    return inside


def _optional_space(tokens: list[_Token], i: int) -> bool:
    """Whether the space at ``i`` sits beside Japanese, or beside punctuation that does
    ("できません: すべて" is also typed "できません：すべて")."""
    before = tokens[i - 1].literal if i > 0 else None
    after = tokens[i + 1].literal if i + 1 < len(tokens) else None
    if _is_japanese(before) or _is_japanese(after):
        return True
    two_before = tokens[i - 2].literal if i > 1 else None
    two_after = tokens[i + 2].literal if i + 2 < len(tokens) else None
    return (before in _TWINNED_BESIDE_JAPANESE and _is_japanese(two_before)) or (
        after in _TWINNED_BESIDE_JAPANESE and _is_japanese(two_after)
    )


def _literal(tokens: list[_Token], i: int) -> str | None:
    return tokens[i].literal if 0 <= i < len(tokens) else None


def _mixes(left: str | None, right: str | None) -> bool:
    """Whether one side is a Latin letter or digit and the other a Japanese letter."""
    if left is None or right is None:
        return False

    def latin(c: str) -> bool:
        return c.isascii() and c.isalnum()

    def kana_kanji(c: str) -> bool:
        return _is_japanese(c) and not 0x3000 <= ord(c) <= 0x303F and c not in _FULL_TO_ASCII

    return (latin(left) and kana_kanji(right)) or (kana_kanji(left) and latin(right))


def _is_letter(token: _Token | None) -> bool:
    return token is not None and token.literal is not None and token.literal.isalnum()


def _is_apostrophe(token: _Token) -> bool:
    """An apostrophe as patterns write it: ', ’, any character (.), or a class of them."""
    return token.literal in ("'", "’") or token.text in (".", "['’]", "[’']")


def _negation_at(tokens: list[_Token], i: int) -> tuple[int, str] | None:
    """An English negation that starts at ``i`` ("does not", "doesn't", "cannot", "can't"):
    the number of its tokens and the pattern for all its forms (case kept as written)."""
    first = tokens[i].literal
    if first is None or first.lower() not in _NEGATION_FIRSTS:
        return None
    if i > 0 and _is_letter(tokens[i - 1]):
        return None
    n = len(tokens)
    word = ""
    k = i
    while k < n and _is_letter(tokens[k]) and len(word) < 7:
        word += (tokens[k].literal or "").lower()
        k += 1
    head = "".join(t.text for t in tokens[i:k])

    def ends(at: int) -> bool:  # the form must end a word and carry no quantifier
        return at >= n or not (
            _is_letter(tokens[at])
            or (tokens[at].literal is None and tokens[at].text[0] in _QUANTIFIERS)
        )

    def literal_run(at: int, text: str) -> bool:
        return at + len(text) <= n and all(
            (tokens[at + m].literal or "").lower() == c for m, c in enumerate(text)
        )

    def apostrophe(at: int) -> str:  # as the pattern wrote it: "." keeps any character
        return "['’]" if tokens[at].literal in ("'", "’") else tokens[at].text

    if word in ("cannot", "can"):
        base, apos = head[:3], "['’]"
        if word == "can" and literal_run(k, " not") and ends(k + 4):
            k += 4
        elif word == "can" and k + 1 < n and _is_apostrophe(tokens[k]):
            if not (literal_run(k + 1, "t") and ends(k + 2)):
                return None
            apos, k = apostrophe(k), k + 2
        elif not (word == "cannot" and ends(k)):
            return None
        return k - i, base + f"(?:no| no|{apos})t"
    if word in _AUXILIARIES and literal_run(k, " not") and ends(k + 4):
        return k + 4 - i, head + "(?: no|n['’])t"
    contracted = word.endswith("n") and word[:-1] in _AUXILIARIES and k + 1 < n
    if contracted and _is_apostrophe(tokens[k]) and literal_run(k + 1, "t") and ends(k + 2):
        return k + 2 - i, head[:-1] + f"(?: no|n{apostrophe(k)})t"
    return None


def _spelling_at(tokens: list[_Token], i: int) -> tuple[str, str] | None:
    """A word written two ways that starts at ``i`` (not before a quantifier, which would
    apply to its last character only): the word and the pattern for both spellings."""
    if tokens[i].literal not in _SPELLING_FIRSTS:  # most characters start none
        return None
    for word, either in _SPELLINGS:
        end = i + len(word)
        if end <= len(tokens) and all(tokens[i + k].literal == c for k, c in enumerate(word)):
            if (
                end < len(tokens)
                and tokens[end].literal is None
                and tokens[end].text[0] in _QUANTIFIERS
            ):
                return None
            return word, either
    return None


def _stem_at(tokens: list[_Token], i: int) -> int:
    """The number of tokens of a loanword stem that starts at ``i`` (0 if none)."""
    if tokens[i].literal not in _STEM_FIRSTS:  # most characters start none
        return 0
    for stem in _STEMS:
        if i + len(stem) <= len(tokens) and all(
            tokens[i + k].literal == c for k, c in enumerate(stem)
        ):
            return len(stem)
    return 0
