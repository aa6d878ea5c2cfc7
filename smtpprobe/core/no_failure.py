"""Whether a refusal's words stand in settings or documentation, which report no failure.

A paste is often more than its error: the settings page it came from, a guide, a config
file. Their sentences hold the words of refusals ("My outgoing server requires
authentication = true", "p=reject", "Use App Password") and report none, and a cause
named for them is a false answer. A refusal's words without a code are the weakest
evidence ``explain`` reads, so where they stand in a paragraph that reads like the texts
that report no failure (the learned guess's ``no-failure`` category, counted from the
negative corpus's development part, ``tests/data/negative``) and so does their own
line, they give no answer, and ``explain`` looks on for words after them: "Relay access
denied" under a pasted ``main.cf`` is still the answer. Pure: no I/O.
"""

from __future__ import annotations

import re

from smtpprobe.core.guess import NO_FAILURE, ONE_MESSAGE, GuessFunction

__all__ = ["in_catalog", "in_documentation", "is_catalog", "without_clean_sessions"]

_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _paragraph(text: str, offset: int) -> str:
    """The paragraph (the lines between blank lines) that holds ``offset``."""
    start = 0
    for blank in _BLANK_LINE.finditer(text, 0, offset):
        start = blank.end()
    after = _BLANK_LINE.search(text, offset)
    return text[start : after.start() if after else len(text)]


# A gettext catalog (".po"): an entry's "msgid" and its translation's "msgstr", each a quoted
# string that may go on over lines that are quoted strings too. Its strings are an
# interface's words, errors among them, waiting to be shown: a catalog pasted whole reports
# no failure (the negative corpus's development part: evolution-data-server's "POP before
# SMTP", Claws Mail's and Sylpheed's SMTP AUTH settings), nor do its "#" comments (the
# source file an entry comes from, "#: src/camel/camel-sasl-popb4smtp.c:36"). A translated
# message alone, as a program shows it, carries no "msgstr".
_CATALOG_ENTRY = re.compile(r'^[ \t]*msgid(?:_plural)? "', re.MULTILINE)
_CATALOG_STRING = re.compile(
    r'^[ \t]*(?:#|(?:(?:msgid(?:_plural)?|msgstr(?:\[\d{1,3}\])?|msgctxt) )?")'
)


# A setting's line that ends in its on/off value: "My outgoing server requires
# authentication = true", "TLSが必要:はい" (the negative corpus's development part: a
# product's settings page, a provider's table of settings). An error states what happened;
# it does not end in "= true" or ": yes".
_SWITCH = re.compile(
    r"[=:：][ \t]{0,3}[\"']?(?:true|false|yes|no|on|off|はい|いいえ)[\"']?"
    r"[ \t]{0,3}[,;]?[ \t]{0,3}$",
    re.IGNORECASE,
)


# A Markdown table: a documentation page's options or codes, one per row ("| secure | Boolean |
# Optional |", a cell's words running on to "SMTP server requires authentication. |"; the
# negative corpus's development part). A row starts or ends with "|", and a table has at
# least two lines that start with one. A pasted error is no table.
_TABLE_ROW_START = re.compile(r"^[ \t]*\|", re.MULTILINE)
_TABLE_ROW = re.compile(r"^[ \t]*\||\|[ \t]*$")


def _in_table(text: str, offset: int) -> bool:
    if not _TABLE_ROW.search(_line(text, offset)):
        return False
    rows = _TABLE_ROW_START.finditer(text)
    return next(rows, None) is not None and next(rows, None) is not None


def is_catalog(text: str) -> bool:
    """Whether ``text`` holds a gettext catalog's entry: a msgid at a line's start, and a
    msgstr."""
    return "msgstr" in text and bool(_CATALOG_ENTRY.search(text))


def in_catalog(text: str, offset: int) -> bool:
    """Whether ``offset`` is on a quoted string or a comment of a gettext catalog's entry, in
    a text that holds at least one msgid with its msgstr."""
    return is_catalog(text) and bool(_CATALOG_STRING.match(_line(text, offset)))


def _line(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = text.find("\n", offset)
    return text[start : end if end >= 0 else len(text)]


def in_documentation(text: str, offset: int, guess: GuessFunction | None) -> bool:
    """Whether the words at ``offset`` stand in settings or documentation: by their line's
    form (a gettext catalog's string, a setting's on/off value, a Markdown table's row), or
    because their paragraph, longer than one message, reads most like texts that report no
    failure, and so does their own line. A line too short to say either is taken as an
    error's: by cross-validation over the development parts, 5 fewer of 188 negative texts
    then go without a false answer, and errors pasted beside settings keep their answer more
    often than with no such check at all (``tests/core/test_negative_corpus.py``)."""
    # By their form first: a catalog's string, a switch's value, a table's row.
    if in_catalog(text, offset) or _SWITCH.search(_line(text, offset)) or _in_table(text, offset):
        return True
    if guess is None:
        return False
    around = _paragraph(text, offset)
    if len(around.strip()) < ONE_MESSAGE:
        return False
    said = guess(around)
    if said is None or said.category != NO_FAILURE:
        return False
    own = guess(_line(text, offset))
    return own is not None and own.category == NO_FAILURE


# Postfix smtpd's end-of-session line where every command succeeded: it writes each command's
# count as "name=ok/total" where some failed, and "commands=N" with no "/total" only when none
# did (smtpd.c, https://github.com/vdukhovni/postfix/blob/17830e5c13c160d51c95cb971d137a46de84e48c/postfix/src/smtpd/smtpd.c#L6385);
# with "quit=" the client ended the session itself (the negative corpus's development part).
# Without QUIT the client went away after its last command, which may be the error
# (github.com/Chocobozzz/PeerTube/issues/373: "starttls=1 commands=2" from a client that
# then refused the certificate; development corpus).
_CLEAN_DISCONNECT = re.compile(
    r"(?m)^[^\n]{0,300}?\bdisconnect from [^\n]{0,500}?\squit=\d{1,9} "
    r"(?:[^\n]{0,100}? )?commands=\d{1,9}(?![\d/])[^\n]{0,300}$"
)


def without_clean_sessions(text: str) -> str:
    """``text`` without a server's log lines of sessions in which nothing failed."""
    return _CLEAN_DISCONNECT.sub("", text)
