"""A refusal's words without their code, and the word families of client-side errors.

Apps' dialogs, logs and forum posts often give a server's words and drop the code
("Relay access denied", "Mailbox size limit exceeded"). When a paste holds no reply and no
client-side error, ``words_without_a_code`` tries the rules that decide by words alone on
the parts of the paste that are read, then the client-error word families. Pure: no I/O.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace

from smtpprobe.core.bounce import NOT_SENT_MARK, Found
from smtpprobe.core.client_errors import ClientErrors, read_parts, scan
from smtpprobe.core.guess import GuessFunction
from smtpprobe.core.lazyre import IdentityCache, LazyPattern
from smtpprobe.core.no_failure import in_documentation
from smtpprobe.core.paste_facts import CODELESS, FAMILY
from smtpprobe.core.rules import MAX_MATCH_TEXT, Rule, Situation, first_match

# Words that say something went wrong, in the programs' languages: errno names (ECONNRESET),
# the usual English words, and their Japanese, Chinese and European counterparts.
ERROR_WORDS = re.compile(
    r"error|fail|exception|abort|denied|refused|reject|block|timed? ?out|unable|could ?n[o']t"
    r"|can(?:no|')t|unreachable|no route|not (?:found|known|allowed|permitted|accepted)|unknown"
    r"|invalid|reset|closed|broken|expired|too many|limit|quota|exceeded|problem|wrong|bad\b"
    r"|\bEOF\b|end of file|not support|mismatch|(?:un|not )available|defer|not been delivered"
    r"|undeliver|(?-i:\bE[A-Z]{4,}\b)|エラー|失敗|リセット|接続できません|できません|できませんでした|拒否|タイムアウト"
    r"|見つかりません|制限|ブロック|切断|失败|错误|拒绝|超时|fehler|échec|erreur|fallo|falha"
    # Refusal and trouble words beyond "error" and "fail": what providers' help pages and
    # bounce templates say instead (a disabled or full mailbox, a spam block, "try again").
    r"|sorry|disabled|suspended|deactivated|inactive|locked|forbidden|prohibited|banned"
    r"|black ?list|block ?list|deny ?list|unauthori[sz]ed|not authori[sz]ed|unauthenticated"
    r"|does(?: not|n.t) exist|no such|non-?existent|try again|temporar|insufficient|over ?quota"
    r"|(?:is|box) full|(?:could|did|was|is|are|wo)n.t|bounced|returned mail|violat|illegal"
    r"|malformed|ません|無効|不正|誤り|間違|超え|容量|満杯|停止|規制|不明|不達|返送|届か"
    r"|許可され|認められ|受け付け|不存在|无效|無效|禁止|限制|退信|退回|无法|無法|不能|未能|频繁"
    r"|頻繁|已满|已滿|abgelehnt|nicht|verweigert|refusé|rejeté|impossible|rechazad"
    r"|denegad|no se pudo|não foi possível|recusad|rifiutat|отклонен|ошибк|невозможно"
    r"|не удалось|오류|실패|거부",
    re.IGNORECASE,
)


# Refusal words without a code: an app's dialog, a log or a forum post often gives the
# server's words and drops the code ("Relay access denied", "Mailbox size limit
# exceeded"). When nothing else was found, the rules that decide by words alone (no code,
# no enhanced code, no failure kind) are tried on the paste, window by window, in the parts
# where words are read (``read_parts``: the first and last 64 KB): enough for any paste
# that is one error, and linear.
_WINDOW_OVERLAP = 512
_CONTEXT = 1024


# Words-only rules' single words that are a topic as much as a refusal ("DMARC" in a help
# page on its report tags, "malware=" in Exim's list of new features, "PTR:" in a page on
# Microsoft's headers: the negative corpus's development part).
_TOPIC_WORDS = frozenset(
    {"spam", "unsolicited", "phishing", "dmarc", "malware", "macro", "macros", "ptr"}
)


# How near a topic word its trouble word must stand (characters either side, white space
# as one): a page about DMARC or PTR records names failures further on ("DNS · TXT (DMARC)"
# over "… mail that fails SPF or DKIM", the negative corpus's development part). Chosen
# 2026-12-07 over both development parts: anywhere in the window, negative texts without a
# false answer 380 of 400 and labeled texts right 5,226; 100 characters, 385 and 5,227; 60,
# 386 and 5,225; 40, 386 and 5,226.
_TOPIC_NEAR = 100


# Refusal words found in settings or documentation, passed over before giving up.
_PASSED_OVER_AT_MOST = 8


def words_without_a_code(
    text: str,
    rules: Sequence[Rule],
    client_errors: ClientErrors,
    guess: GuessFunction | None,
) -> tuple[int, Found] | None:
    """The first refusal's words without a code (a words-only rule), else the first
    client-error word family, that is not part of settings or documentation."""
    start = 0
    for _ in range(_PASSED_OVER_AT_MOST):
        found = codeless(text[start:], rules)
        if found is None:
            break
        at = start + found[0]
        if not in_documentation(text, at, guess):
            return at, found[1]
        end = text.find("\n", at)  # the next line on: the words after may be an error's
        if end < 0:
            return None
        start = end + 1
    fitted = family(text, client_errors)
    if fitted is not None and in_documentation(text, fitted[0], guess):
        return None
    return fitted


# A DMARC record's policy tags ("v=DMARC1; p=reject; sp=quarantine"): a policy, not a
# refusal's trouble word (a DMARC check's output, the negative corpus's development part).
_POLICY_TAGS = LazyPattern(r"\bs?p\s*=\s*(?:reject|quarantine|none)\b", re.IGNORECASE)


# A check that passed, as Authentication-Results and its kin write it (RFC 8601: "method=
# result" and its properties, up to the next ";"): "dmarc=pass (p=reject)" names DMARC and
# "reject" and reports no refusal (headers of delivered mail, the negative corpus's
# development part). Blanked, at the same length, before a refusal's words are looked for.
_PASSED = LazyPattern(
    r"\b(?:spf|dkim|dmarc|arc|iprev|auth|bimi|compauth|dkim-atps|smime|x-[\w-]{1,30})=pass"
    r"\b[^;\n]{0,400}",
    re.IGNORECASE,
)


# A line Postfix wrote with warn_if_reject (``NOT_SENT_MARK``): the refusal a restriction
# would have made and did not (postconf(5)); its words are no refusal either.
_NOT_SENT_LINE = LazyPattern(rf"^[^\n]{{0,500}}{re.escape(NOT_SENT_MARK)}[^\n]*", re.MULTILINE)


def _blank(match: re.Match[str]) -> str:
    return " " * len(match.group())


def codeless(text: str, rules: Sequence[Rule]) -> tuple[int, Found] | None:
    """The first words-only rule that the paste's words match, as a reply-less ``Found``."""
    words_rules = wording(rules)
    if not words_rules:
        return None
    step = MAX_MATCH_TEXT - _WINDOW_OVERLAP
    starts = (
        range(base, base + max(len(part) - _WINDOW_OVERLAP, 1), step)
        for base, part in read_parts(text)
    )
    read = _PASSED.sub(_blank, text) if "=pass" in text.lower() else text
    if NOT_SENT_MARK in read:
        read = _NOT_SENT_LINE.sub(_blank, read)
    for start in itertools.chain.from_iterable(starts):
        # Each run of white space as one space: a dialog or a PDF pasted over several lines
        # ("… because it does\n\nnot allow relaying") keeps the words the rules know.
        window, where = one_spaced(read[start : start + MAX_MATCH_TEXT])
        situation = Situation(text=window, facts=frozenset({"pasted"}))
        match = first_match(words_rules, situation)
        if match is None or not isinstance(match[1], re.Match):
            continue
        topic = match[1].group().lower() in _TOPIC_WORDS
        near = window[max(match[1].start() - _TOPIC_NEAR, 0) : match[1].end() + _TOPIC_NEAR]
        if topic and not ERROR_WORDS.search(_POLICY_TAGS.sub(" ", near)):
            # A word that names a topic, not a refusal, in a text that says nothing went
            # wrong ("Spam musubi is a popular snack"). A refusal's own phrases need no
            # trouble word ("we do not relay", "Message exceeds maximum fixed size"); these
            # single words do ("Message rejected as spam").
            continue
        at = start + where[match[1].start()]
        end = start + where[max(match[1].end() - 1, match[1].start())] + 1
        # The lines the words are on (at most _CONTEXT characters either side): the
        # evidence shown, and the text explain_found matches the rules against again.
        first = max(text.rfind("\n", 0, at) + 1, at - _CONTEXT)
        last = text.find("\n", max(end - 1, at))
        last = min(last if last >= 0 else len(text), end + _CONTEXT)
        words = text[first:last].strip()
        return at, Found(reply=None, evidence=words, facts=frozenset({CODELESS}))
    return None


SPACES = re.compile(r"\s+")


def one_spaced(text: str) -> tuple[str, list[int]]:
    """``text`` with each run of white space as one space, and for each character of the
    result its offset in ``text``."""
    if "\n" not in text and "  " not in text and "\t" not in text:
        return text, list(range(len(text)))
    pieces: list[str] = []
    where: list[int] = []
    done = 0
    for match in SPACES.finditer(text):
        pieces.append(text[done : match.start()])
        where.extend(range(done, match.start()))
        pieces.append(" ")
        where.append(match.start())
        done = match.end()
    pieces.append(text[done:])
    where.extend(range(done, len(text)))
    return "".join(pieces), where


def family(text: str, client_errors: ClientErrors) -> tuple[int, Found] | None:
    """The first client-error word family the paste's words fit, marked as such."""
    if not client_errors.families:
        return None
    families = ClientErrors(signatures=client_errors.families)
    # Compatibility forms folded (NFKC): Japanese programs still print half-width katakana
    # (nPOP's "ｻｰﾊﾞのﾛｸﾞｲﾝに失敗しました") and full-width letters ("ＳＭＴＰ"); the families'
    # words are written in the usual forms. The evidence shown is the folded line (NFKC
    # changes lengths, so the words cannot be mapped back); no offset is used after this.
    for base, part in read_parts(text):
        folded = unicodedata.normalize("NFKC", part)
        for incident in scan(folded, families):
            if incident.found.failure is not None:
                found = replace(incident.found, facts=incident.found.facts | {FAMILY})
                return base + incident.offset, found  # near enough to order the findings
    return None


def wording(rules: Sequence[Rule]) -> Sequence[Rule]:
    """The rules that decide by a reply's words alone: no code, enhanced code or failure
    (worked out once for a rule book that cannot change: a tuple); and those that decide a
    paste by what the words beside it add alone (a ``pasted`` fact-only rule: Exim's
    logged TLS record beside its words without their reply code)."""
    if isinstance(rules, tuple):
        return _wording_of(rules)
    return _words_only(rules)


def _words_only(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    return tuple(
        r
        for r in rules
        if (r.text is not None or "pasted" in r.facts) and not (r.codes or r.enhanced or r.failures)
    )


_wording_of: IdentityCache[tuple[Rule, ...], tuple[Rule, ...]] = IdentityCache(_words_only)
