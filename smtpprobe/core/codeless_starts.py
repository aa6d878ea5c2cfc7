"""Replies that start without a basic code: an enhanced code alone, qmail's ending, .NET's name.

Exchange NDRs and DSN fields quote only the enhanced code ("5.7.57 SMTP; …"), a log's field
holds it in a quoted value (``msg="4.4.1 …"``), a sentence opens with it after another, qmail
ends its texts with it ("… (#5.1.1)"), and .NET's SmtpException names the code in a sentence
before "The server response was:". ``smtpprobe.core.reply_starts`` tries these last, after
every shape that carries a basic code. Pure; each pattern runs on one line in linear time
(``tests/core/test_regex_safety.py``).
"""

from __future__ import annotations

import re

from smtpprobe.core.lazyre import GuardedPattern
from smtpprobe.core.line_start import CLOSE_QUOTE, LETTER, WRAPPER_ENDS, Start

__all__ = ["QMAIL_TAIL", "enhanced_start", "qmail_start"]

# Exchange NDRs and DSN fields often quote only the enhanced code: "5.7.57 SMTP; …".
# Not before a heading's underline: "5.2.0\n-----" is a changelog's version (Symfony Mailer's
# CHANGELOG.md, the negative corpus's development part), not an enhanced code and its words.
_START_ENHANCED = GuardedPattern(
    r"(?:^|(?<=[:;：|]))\s*([45])\.(\d{1,3})\.(\d{1,3})\s+(?=\S)(?![-=]{3})"
)
# qmail ends its texts with the enhanced code, "… allowed rcpthosts (#5.7.1)", and
# qmail-local's own bounce has no basic code at all: "Sorry, no mailbox here by that
# name. (#5.1.1)". Others write it after the code: "552 #5.3.4 message size exceeds limit".
QMAIL_TAIL = GuardedPattern(r"\(#(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\)\s{0,8}$")
# An enhanced code that opens a sentence after another ("milter-reject for END-OF-MESSAGE.
# 5.7.1 rejected by DMARC policy …"): only with a subject RFC 3463 defines (0-7) and words.
_SENTENCE_ENHANCED = GuardedPattern(r"(?<=\.\s)([45])\.([0-7])\.(\d{1,3})\s+(?=[^\W\d_])")
# A log's key=value field whose quoted value opens with an enhanced code and words: Haraka's
# 'retval=DENYSOFT msg="4.4.1 Connection timed out. …"' (github.com/haraka/Haraka/issues/2321,
# development corpus). Only after a key that names a reply, and with a subject RFC 3463
# defines: a quoted "4.2.1 beta" after version= is no reply.
_KEYED_ENHANCED = GuardedPattern(
    r"\b(?:msg|message|response|reply|error|reason)\s{0,2}[=:]\s{0,2}[bu]?(?P<quote>[\"'])"
    r"(?P<cls>[45])\.[0-7]\.\d{1,3}\s+(?=[^\W\d_])",
    re.I,
)
# .NET's SmtpException writes the reply's code as a sentence and then "The server response
# was: " with the reply's text, which may lack the code: "Syntax error in parameters or
# arguments. The server response was: 5.6.0 …" is a 501. The sentences and their codes are
# .NET's own (dotnet/runtime, System.Net.Mail: SmtpException.GetMessageForStatus, Strings.resx,
# SmtpStatusCode.cs). "Mailbox unavailable." stands for 450 and 550 alike, so the enhanced
# code's class decides; "Syntax error, command unrecognized." is also what .NET writes for any
# code it has no name for (535 among them), so it says nothing of the code. Pastes also have
# "requires a secure connection, or the client …" (github.com/PatchMyPCTeam/kbs.patchmypc.com,
# development corpus): commas are left out of the comparison.
_DOTNET_STATUS = {
    "Service not available, closing transmission channel.": 421,
    "Error in processing.": 451,
    "Insufficient system storage.": 452,
    "Client does not have permission to submit mail to this server.": 454,
    "Syntax error in parameters or arguments.": 501,
    "Command not implemented.": 502,
    "Bad sequence of commands.": 503,
    "Command parameter not implemented.": 504,
    "The SMTP server requires a secure connection or the client was not authenticated.": 530,
    "User not local; please try a different path.": 551,
    "Exceeded storage allocation.": 552,
    "Mailbox name not allowed.": 553,
    "Transaction failed.": 554,
}
# Localised .NET says the same in the system's language; only the sentences seen in real
# texts are here: the 530 as Microsoft's Reporting Services docs quote it in Brazilian
# Portuguese, after "Falha ao enviar o email: " (github.com/zelanko/sql-docs.pt-br), in
# French (github.com/zelanko/sql-docs.fr-fr) and in German
# (github.com/ChristophMuthmann/sql-docs.de-de; all development corpus). Compared without case
# (a sentence quoted after another's colon starts lower-case) and with one apostrophe.
_DOTNET_RESPONSES = {
    "The server response was:": _DOTNET_STATUS,
    "A resposta do servidor foi:": {
        "O servidor SMTP requer uma conexão segura ou o cliente não foi autenticado.": 530,
    },
    "La réponse du serveur était :": {
        "Le serveur SMTP requiert une connexion sécurisée ou le client n'était pas "
        "authentifié.": 530,
    },
    "Die Serverantwort war:": {
        "Für den SMTP-Server ist eine sichere Verbindung erforderlich oder der Client wurde "
        "nicht authentifiziert.": 530,
    },
}


def _compared(sentence: str) -> str:
    """A sentence as _dotnet_code compares it: no commas, no case, one apostrophe."""
    return sentence.replace(",", "").replace("\u2019", "'").casefold()


def _dotnet_code(wrapper: str, cls: int) -> int | None:
    """The code .NET's SmtpException named before "The server response was:" (or that
    sentence in the system's language, ``_DOTNET_RESPONSES``), if it did."""
    response = next((r for r in _DOTNET_RESPONSES if wrapper.endswith(r)), None)
    if response is None:
        return None
    statuses = _DOTNET_RESPONSES[response]
    named = _compared(wrapper[: -len(response)].rstrip())
    if named.endswith("mailbox unavailable."):
        return cls * 100 + 50
    for sentence, code in statuses.items():
        if named.endswith(_compared(sentence)):
            return code if code // 100 == cls else None
    return None


def enhanced_start(text: str) -> Start | None:
    for match in _START_ENHANCED.finditer(text):
        wrapper = text[: match.start()].strip()
        if wrapper and not wrapper.endswith(WRAPPER_ENDS):
            continue
        # No basic code in the text: the one .NET's sentence before it names, or the usual
        # one of the enhanced class (X.Y.Z class 4 or 5, RFC 3463 section 3.1);
        # Found.code_inferred says so.
        cls = int(match.group(1))
        code = _dotnet_code(wrapper, cls) or cls * 100 + 50
        return Start(wrapper, code, " ", text[match.start() :].strip(), inferred=True)
    keyed = _KEYED_ENHANCED.search(text)
    if keyed is not None:
        rest = text[keyed.start("cls") :]
        close = CLOSE_QUOTE[keyed.group("quote")].search(rest)
        return Start(
            text[: keyed.start("quote")].strip(),
            int(keyed.group("cls")) * 100 + 50,
            " ",
            (rest[: close.start()] if close is not None else rest).strip(),
            inferred=True,
            sealed=close is not None,
            quote=None if close is not None else keyed.group("quote"),
        )
    sentence = _SENTENCE_ENHANCED.search(text)
    if sentence is not None:
        code = int(sentence.group(1)) * 100 + 50
        rest = text[sentence.start() :].strip()
        return Start(text[: sentence.start()].strip(), code, " ", rest, inferred=True, weak=True)
    return None


def qmail_start(text: str) -> Start | None:
    tail = QMAIL_TAIL.search(text)
    if tail is None or not LETTER.search(text[: tail.start()]):
        return None
    enhanced = tail.group("enhanced")
    rest = f"{enhanced} {text}"
    return Start("", int(enhanced[0]) * 100 + 50, " ", rest, inferred=True)
