"""Finding SMTP replies in whatever a user pastes: a reply, a bounce, a DSN, a log, an error.

Input arrives as bytes or text: one reply line, a multi-line reply
(``550-5.7.26 …`` continuations, often re-wrapped by the mail client), a Gmail
bounce in English or Japanese with its wrapper text ("The response from the
remote server was:" / "リモート サーバーからの応答:"), a Postfix or Exim bounce
("host X said: … (in reply to RCPT TO command)"), or a full RFC 3464 delivery
status notification with MIME parts, in UTF-8 (with or without a byte order mark),
UTF-16, ISO-2022-JP, Shift_JIS or EUC-JP.

A reply also comes inside what programs print around it (issue 8): Python
smtplib's tuples and reprs (``(535, b'5.7.8 …\\n5.7.8 …')``, ``{'a@b': (550, …)}``,
``reply: retcode (550); Msg: …``), the error objects of nodemailer, Java and .NET
(``response: '535 5.7.3 …'``, JSON strings with escaped line breaks), Exchange
NDRs (``Remote Server returned '550 5.7.1 …'``), ``+``-encoded IIS log lines,
qmail's ``(#5.1.1)``, transcripts of sendmail, swaks and curl (``<<< 550 …``,
``<~  535 …``, ``< 535 …``), quoted replies ('…', "…", “…”, 「…」) and a reply after
prose when it carries an enhanced status code of its class (``… failed: 550 5.1.1 …``,
``login - 553 5.3.0 …``), or without one where what follows the code is a reply's first
word, not a count or HTTP's reason phrase (``(535 Incorrect authentication data)``,
``…SMTP server, 553 Relaying disallowed …``, ``denial of connection (450) for …``). Postfix's
delivery log gives ``dsn=4.3.0, status=deferred (reason)``, and a few providers' fixed refusals
come without any code (Mailgun, Postmark, Amazon SES, Microsoft 365's report): those are read
with the code inferred. A program's summary of a reply ("450 No recipients accepted") gives way
to the more specific reply after it. A number in prose ("port 465", "2021 年", "Error 500 in
line 3", "(500 emails per day)") is not a reply.

``find_replies`` returns every negative reply (4xx/5xx) it can see, each with
what the surrounding text says about it: the SMTP stage it answered (a Postfix
tail, the transcript's command, a client's ``command: 'AUTH PLAIN'`` or exception
name), the host that sent it, the DSN ``Status:``, and whether the bounce comes
from Gmail's "Send mail as" (which means your own provider's server refused Gmail).
Everything here is pure: bytes in, values out.

Whatever is pasted, nothing here raises and nothing takes more than linear time:
bogus MIME charsets and broken base64 fall back to guessing the encoding, and
every pattern runs on lines of at most ``MAX_LINE`` characters (longer ones are
wrapped) or scans the text once without backtracking across it. The tests in
``tests/core/test_regex_safety.py`` hold each pattern to that.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from smtpprobe.core.lazyre import GuardedPattern, LazyPattern, literal_anchors, text_grams
from smtpprobe.core.pasted import HEADER_FIELD_START
from smtpprobe.core.record import record
from smtpprobe.core.reply import Reply, from_code_and_message
from smtpprobe.core.reply_context import (
    DSN_FIELD,
    ECHO_BARE,
    ECHO_MARKED,
    ENHANCED_CODE,
    STAGE_HINT,
    DsnBlocks,
    echoed_stage,
    first_stage,
    host_named,
    keyed_stage,
    recipient_named,
)

__all__ = ["MAX_LINE", "MAX_REPLIES", "Found", "find_replies"]

# RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets with its CRLF,
# and a reply line at most 512 (section 4.5.3.1.5). A longer pasted line (an
# HTML part on one line, a run of repeated words) is wrapped at a space near this
# width, as a mail client re-wraps a bounce: no pattern ever sees a longer line.
MAX_LINE = 1000
# More distinct replies than any bounce holds; past it a paste is not a bounce
# (a whole log, or the same words repeated), and explaining more helps nobody.
MAX_REPLIES = 200
# Replies read before duplicates are removed: a bounce repeats one reply a few times
# (the human part, the DSN); thousands of reply lines are a log, not a bounce.
_MAX_FOUND = 50 * MAX_REPLIES
# Where a refusal's reply may start: a 4xx/5xx code, or a 4.x.x/5.x.x enhanced code alone
# (qmail's "(#5.1.1)"); what a long log's lines are looked through for once positive
# replies are past _MAX_FOUND.
_MAY_REFUSE = re.compile(r"(?<![\d.])(?:[45]\d\d|[45]\.\d{1,3}\.\d{1,3})(?![\d])")

# A reply code where a reply can start: at the beginning of a line, or after a
# wrapper that ends in ":" or ";" ("said:", "応答:", "smtp;", "was:"). RFC 5321
# section 4.2.1 limits the second digit to 0-5; that keeps "465 SSL" out. Node's simplesmtp
# (nodemailer 0.x, Ghost) joins its words and the reply with " - ": "Mail from command
# failed - 501 …", "Invalid login - 535 …" (https://github.com/andris9/simplesmtp/blob/master/lib/client.js).
# A tab after the code, before an enhanced code, is a space a table or a tab-separated log
# put there ("550\t5.7.1 …"); before other words it is a table's number ("452\tmessages").
_START = GuardedPattern(
    r"(?:^|(?<=[:;：|])|(?<=command failed - )|(?<=Invalid login - )"
    r"|(?<=terminates connection - ))\s*([2-5][0-5]\d)([ -]|\t(?=[245]\.\d{1,3}\.\d{1,3}\s)|$)"
)
_DASH_WRAPPER = GuardedPattern(r"(?:command failed|Invalid login|terminates connection) -$")
# A source file's line number is no reply: "…/AbstractSmtpTransport.php:457 Stack trace: #0"
# (PHP), "smtplib.py:253", "Mailer.java:1142" (the colon before it is a path's, not a wrapper's).
_SOURCE_LINE = GuardedPattern(
    r"\w\.(?:php|py|rb|java|js|mjs|ts|cs|go|pl|pm|kt|scala|groovy|swift|cc|cpp|c|h|inc|vb)$",
    re.I,
)
# A count after its label is no reply: "Queue size: 452 messages", "Limit: 500 per day" (a
# red-team paste). Only where no enhanced code follows: "Limit: 550 5.7.1 …" still counts.
_QUANTITY_LABEL = GuardedPattern(
    r"\b(?:size|count|total|length|limit|number|max(?:imum)?|min(?:imum)?|used|quota|"
    r"messages|recipients|bytes|sent|queued?|pending|rate)\s{0,4}:$",
    re.I,
)
# Exchange NDRs and DSN fields often quote only the enhanced code: "5.7.57 SMTP; …".
# Not before a heading's underline: "5.2.0\n-----" is a changelog's version (Symfony Mailer's
# CHANGELOG.md, the negative corpus's development part), not an enhanced code and its words.
_START_ENHANCED = GuardedPattern(
    r"(?:^|(?<=[:;：|]))\s*([45])\.(\d{1,3})\.(\d{1,3})\s+(?=\S)(?![-=]{3})"
)
# Positive replies are only taken where they cannot be prose: with an enhanced
# code, or one of the replies a dialogue shows (RFC 5321 section 4.2.3).
_POSITIVE = frozenset({211, 214, 220, 221, 235, 250, 251, 252, 334, 354})
# A code repeated inside a re-wrapped or folded reply: "... did not 550-5.7.26 pass".
_INLINE_CODE = GuardedPattern(r"(?<![\w.])([2-5][0-5]\d)[ -]([245]\.\d{1,3}\.\d{1,3})?(?=\s|$)")

# --- where else a reply starts: the shapes people paste (issue 8) ---------------------
# Python's smtplib: "(535, b'5.7.8 …')", "{'a@b': (550, '5.1.1 …')}", "SMTPDataError:
# (432, '4.3.2 …')": the code, then the whole reply text as a (bytes) string literal.
_TUPLE_START = GuardedPattern(
    r"\(\s{0,8}(?P<code>[2-5][0-5]\d)\s{0,8},\s{0,8}[bu]?(?P<quote>[\"'])"
)
# smtplib's debug output: "reply: retcode (550); Msg: b'5.1.1 …'" (Python 3) or
# "reply: retcode (550); Msg: 5.1.1 …" (Python 2).
_RETCODE_START = GuardedPattern(
    r"retcode\s{0,8}\((?P<code>[2-5][0-5]\d)\);\s{0,8}Msg:\s{0,8}(?:[bu]?(?P<quote>[\"']))?"
)
# Google's SMTP error reference lists its replies as '421, "4.7.0", Try again later, …',
# and pages quoting it keep that form; its older German edition puts a dash after the
# enhanced code ('421, "4.4.5" – Server ist ausgelastet. …',
# support.google.com/a/answer/3726730?hl=de).
_GOOGLE_ROW = GuardedPattern(
    r"^(?P<code>[2-5][0-5]\d),\s{0,8}\"(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\"(?:,|\s{1,8}[–—-])\s{0,8}(?=\S)"
)
# Roundcube's "SMTP Error (550): Failed to add recipient …" and "Error SMTP (451): (…)".
_PAREN_CODE_START = re.compile(r"\((?P<code>[2-5][0-5]\d)\):\s{0,8}(?=\S)")
# A log's key=value fields: "ERROR [state=rcpt_to, code=550, text= 5.1.1 <…>: Recipient
# address rejected" (AOL's postmaster pages quote their MTA's log so), and PEAR Mail's
# "[SMTP: Invalid response code received from server (code: 451, response: Temporary local
# problem - please try later)]" (github.com/Wynncraft/Issues/issues/3158).
_KEYED_CODE_START = re.compile(
    r"\bcode\s{0,2}[=:]\s{0,2}(?P<code>[2-5][0-5]\d),\s{0,3}(?:text|msg|message|reason|response)\s{0,2}[=:]\s{0,3}(?=\S)"
)
# The same in square brackets, Roundcube's "Error SMTP: [550] Incorrect sender header" (and
# with an enhanced code: its German "SMTP Fehler: [451] 4.3.0 Error: queue file write error"). Not
# a process id: "smtpd[550]:" is glued to its name, and a bracket after a word is not this.
_BRACKET_CODE_START = re.compile(
    r"(?<![\w/\]\[])\[(?P<code>[2-5][0-5]\d)\]:?\s{1,8}(?=[A-Za-z]|[245]\.\d{1,3}\.\d)"
)
# lettre (Rust): "permanent error (535)" or "transient error (421): 4.7.0 …" — its Display
# of a negative reply, the words (when it keeps them) after a colon.
_LETTRE_START = re.compile(
    r"\b(?:permanent|transient) error \((?P<code>[45][0-5]\d)\)(?::\s{0,8}|(?=\s{0,8}$))",
    re.I,
)
# A client's message that keeps only the code of the reply it got: Swift Mailer's "Expected
# response code 354 but got code "503"" (its message part left out when the reply had no
# words; github.com/swiftmailer/swiftmailer, AbstractSmtpTransport::assertResponseCode) and
# curl's "MAIL failed: 530" (lib/smtp.c, its failf() of a negative reply to MAIL, RCPT or DATA),
# mailsend's "Expected smtp code 250, got 552" (github.com/muquit/mailsend, smtp.c errorMsg).
_CODE_ONLY_START = GuardedPattern(
    r"\bbut got code [\"\u201c\u201d](?P<code>[2-5][0-5]\d)[\"\u201c\u201d](?=\s{0,8}$)"
    r"|(?-i:\b(?:MAIL|RCPT|DATA) failed: )(?P<curl>[45][0-5]\d)(?=\s{0,8}$)"
    r"|(?-i:\bExpected smtp code [2-5]\d\d, got )(?P<mailsend>[45][0-5]\d)(?=\s{0,8}$)"
)
# smtplib's tuple with its opening bracket lost in a program's message: "SMTP Delivery Error:
# 554, b'5.0.0 Error: transaction failed: …')" (github.com/emersion/hydroxide/issues/173); only
# with a bytes literal after a colon, so that "said: 421, \"4.7.0\", …" stays Google's row.
_BARE_TUPLE_START = GuardedPattern(r"(?<=:\s)(?P<code>[2-5][0-5]\d),\s{0,8}b(?P<quote>[\"'])")
# A reply in parentheses after prose: "(535 Incorrect authentication data)" (Exim's 535 quoted
# by a webmail dialog), ZoneMTA's log "… (554 Blocked - see https://…)". What follows the code
# decides: an enhanced code of its class (taken by _PROSE_START), or a reply's first word —
# capitalised as replies write it, not a count's unit ("(500 emails per day)", "(500 Emails/day)",
# "(450 Messages per hour)"), and not HTTP's reason phrase of that code (_HTTP_REASONS).
_PAREN_REPLY = GuardedPattern(
    r"(?<![\w.])\((?P<code>[45][0-5]\d) (?=[A-Z][a-z'-]{0,30}(?:[\s,.:;!)]|$))"
    r"(?![A-Za-z'-]{1,31}\s{1,4}(?:per|a|an|each|every)\b)(?![^\s)]{0,31}/)"
)
# A code after a comma inside a sentence, the reply after it: "SendMail: Failed to close
# connection to SMTP server, 553 Relaying disallowed as @ - undefined" (Mattermost,
# github.com/mattermost/mattermost/issues/13224). The same test of the first word as above.
# A code right after the word "error" (or an exception's name) in a program's message:
# "SMTP error 451 Unable to complete command", "SMTPAuthentificationError 504 Unknown
# mechanism", with a colon or a dash after the code: "Error 550: Relay is not permitted"
# (neosoft.com's list of its replies), "SMTP error 552: Maximum message size exceeded" (maddy's
# log), and in the languages programs translate "error" into (GoDaddy's Vietnamese help page:
# "Lỗi 421: Máy chủ tạm thời …"). HTTP's "Error 503: Service Unavailable" stays out. The
# reply's first word is capitalised, as after the comma below (Latin letters with accents
# after the capital: Vietnamese, French, German).
_ERROR_REPLY = GuardedPattern(
    r"(?:(?<![\w.])(?i:error|fehler|erreur|errore|lỗi)|(?<=[a-z])(?:Error|Exception))"
    r"(?:\s{1,3}code)?:?\s{1,3}"
    r"(?P<code>[45][0-5]\d)(?::| -)? "
    r"(?=[A-Z][a-z\u00df-\u00f6\u00f8-\u00ff\u0100-\u017f\u1e00-\u1eff'-]{0,30}(?:[\s,.:;!)]|$))"
    r"(?![A-Za-z'-]{1,31}\s{1,4}(?:per|a|an|each|every)\b)(?![^\s)]{0,31}/)"
)
_COMMA_REPLY = GuardedPattern(
    r"(?<=[^\W\d_], )(?P<code>[45][0-5]\d) (?=[A-Z][a-z'-]{0,30}(?:[\s,.:;!]|$))"
    r"(?![A-Za-z'-]{1,31}\s{1,4}(?:per|a|an|each|every)\b)(?![^\s]{0,31}/)"
)
# The same after a spaced dash, with at least two words (a sentence, not "- 550 Points"):
# listmonk's "error sending message to campaign xyz - 450 Too many recipient attempts"
# (github.com/knadh/listmonk/issues/1300).
_DASH_REPLY = GuardedPattern(
    r"(?<=[^\W\d_] - )(?P<code>[45][0-5]\d) (?=[A-Z][a-z'-]{0,30} [a-z])"
    r"(?![A-Za-z'-]{1,31}\s{1,4}(?:per|a|an|each|every)\b)(?![^\s]{0,31}/)"
)
# A code alone in parentheses inside the refusal's own sentence: Trend Micro's "Temporary
# denial of connection (450) for Zombie matches (ERS)" (docs.trendmicro.com, Deep Discovery
# Email Inspector's SMTP error codes). A refusal word must come just before it: "page (500)"
# or "status (550)" is not a reply.
_DENIAL_PAREN = GuardedPattern(
    r"\b(?:[Dd]eni(?:al|ed)|[Rr]eject(?:ed|ion)|[Rr]efus(?:al|ed)|[Bb]locked|"
    r"[Dd]efer(?:red|ral))\b[^()\n]{0,40}?\((?P<code>[45][0-5]\d)\)(?=\s|$|[.,;:])"
)
# HTTP's reason phrases for the codes SMTP also uses (RFC 9110 section 15): after one of these
# the number is an HTTP status ("failed, 503 Service Unavailable"), not an SMTP reply.
_HTTP_REASONS = {
    421: "misdirected request",
    422: "unprocessable",
    423: "locked",
    424: "failed dependency",
    425: "too early",
    426: "upgrade required",
    428: "precondition required",
    429: "too many requests",
    431: "request header fields",
    451: "unavailable for legal",
    500: "internal server error",
    501: "not implemented",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway time",
    505: "http version",
}
# Postfix's delivery log gives the DSN status it recorded and the reason, without a reply code
# when the reason is its own: "… dsn=4.3.0, status=deferred (mail transport unavailable)"
# (github.com/YoRyan/mailrise/issues/117). Like a DSN's Status field with its diagnostic words,
# the status gives the enhanced code and the class (the basic code is X50, inferred).
_POSTFIX_DSN = GuardedPattern(
    r"\bdsn=(?P<enhanced>[45]\.\d{1,3}\.\d{1,3}),\s{0,8}status=[a-z]{1,20}\s{0,8}\((?=\S)"
)
# Reasons _POSTFIX_DSN leaves alone: what Postfix's SMTP and LMTP clients log (postfix/smtp[…]:)
# is either the remote server's reply ("host x said: 550 …", found where its code is) or the
# client's own account of the connection, its TLS or its login ("connect to", "lost connection
# with", "SASL authentication failed"), which are client-side errors
# (smtpprobe/data/client_errors.yaml) and explained as such; the reason's first words say so
# when the line's start was cut off.
_POSTFIX_CLIENT = GuardedPattern(r"/(?:smtp|lmtp)\[\d{1,10}\]:")
# Postfix's delivery log of a message the next server took: "… dsn=2.0.0, status=sent (250
# 2.0.0 OK …)", the parenthesis holding that server's reply to the end of the message.
_POSTFIX_SENT = GuardedPattern(r"\bstatus=sent\s{0,8}\((?P<code>2[0-5]\d)(?=[ -])")
_POSTFIX_NOT_REPLY = GuardedPattern(
    # (a reason may break its line after "lost connection", as a wrapped paste does)
    r"host\s|connect to\s|lost connection(?:\s|$)|conversation with\s|delivery temporarily|"
    r"host or domain name not found|name service error|tls is required|network is unreachable|"
    r"sasl authentication failed|server certificate|cannot start tls",
    re.I,
)
# Providers' fixed refusals quoted without a code (an API's error, a dashboard, a help page):
# where the wording is the provider's own and unmistakable, it is read as a reply whose basic
# code is X50 of the class the provider gives it (``Found.code_inferred``), like Exim's reject
# log above; the rules read the words. Each family cites where its wording comes from.
_PROVIDER_TEXTS: tuple[tuple[LazyPattern, int], ...] = (
    # Mailgun's sandbox domains and free plans may send only to authorised recipients:
    # "Sandbox subdomains are for test purposes only. Please add your own domain or add the
    # address to authorized recipients in Account Settings."
    # (github.com/leemunroe/grunt-email-workflow/issues/81), "free accounts are for test
    # purposes only" (github.com/mailgun/wordpress-plugin/issues/68).
    (
        GuardedPattern(
            r"\b(?:Sandbox subdomains|free accounts) are for test purposes only\b", re.I
        ),
        550,
    ),
    # Postmark's API: "Sender signature not defined for From address."
    # (github.com/ActiveCampaign/postmark-rails/issues/31).
    (GuardedPattern(r"\bSender signature not defined for From address\b", re.I), 550),
    # Amazon SES: "Message rejected: Email address is not verified. The following identities
    # failed the check in region US-EAST-1: …" (github.com/magepal/magento2-gmail-smtp-app/
    # issues/17).
    (
        GuardedPattern(
            r"\bEmail address is not verified\. The following identities failed\b", re.I
        ),
        550,
    ),
    # Gmail's DMARC refusal quoted without its 550 5.7.26: "Unauthenticated email from x is not
    # accepted due to domain's DMARC policy." (github.com/dongri/mailgun-rs/issues/1).
    (
        GuardedPattern(
            r"\bUnauthenticated email from \S{1,253} is not accepted due to domain.s DMARC policy"
        ),
        550,
    ),
    # Microsoft 365's non-delivery report: "Your message to x couldn't be delivered." then
    # "x wasn't found at example.com." (github.com/bwya77/O365-Admin-Center/issues/12).
    (GuardedPattern(r"^\S{1,64} wasn.t found at \S{1,253}\.?$"), 550),
    # Exchange's Japanese non-delivery report, 「無効な受信者」 under 「以下の受信者にメールを配信
    # できません」 (support.microsoft.com/ja-jp/kb/940620).
    (GuardedPattern(r"^無効な受信者$"), 550),
    # Trend Micro's Email Reputation Services: "Mail from [ip address] deferred using Trend
    # Micro Email Reputation database." (hardwaresecrets.com/understanding-email-bounce-
    # messages/4/), a temporary refusal.
    (GuardedPattern(r"\bdeferred using Trend Micro Email Reputation database\b", re.I), 450),
    # Comcast's block-list codes with their words and no reply: "BL000000 Email from your mail
    # server has been sent in patterns that are characteristic of spam."
    # (docs.hetrixtools.com/how-to-remove-your-ip-from-the-comcast-blacklist/); Comcast sends
    # them in a 554 at the greeting (pastebin.com/VQBiZTRb).
    (GuardedPattern(r"^BL0000\d\d \w", re.I), 554),
    # @nifty's table of its SMTP server's messages: "you have no account here"
    # (faq.support.nifty.com/?p=4076), a refused login.
    (GuardedPattern(r"^you have no account here\.?$", re.I), 550),
)


@functools.cache
def _anchored_providers() -> tuple[tuple[LazyPattern, int], ...]:
    # The provider texts with their literal anchors, parsed on first use, not at import
    # (start-up), as the rule files' patterns get theirs when they are read.
    import re._parser as sre_parse  # type: ignore[import-not-found]

    return tuple(
        (
            LazyPattern(
                pattern.pattern,
                pattern.flags,
                anchors=literal_anchors(sre_parse.parse(pattern.pattern, pattern.flags | re.I)),
            ),
            code,
        )
        for pattern, code in _PROVIDER_TEXTS
    )


def _providers_in(lowered: str) -> tuple[tuple[LazyPattern, int], ...]:
    """The provider texts that may be in a paste (``lowered``, the whole paste in lower
    case): a long paste's lines are then not each searched for all of them."""
    grams = text_grams(lowered)
    return tuple(
        provider for provider in _anchored_providers() if provider[0].may_match(lowered, grams)
    )


# A code outside RFC 5321's second digits (0-5) counts only with an enhanced code of its
# class, at the start of a line or after a wrapper: "571 5.7.1 Relay access denied".
_START_ODD = GuardedPattern(
    r"(?:^|(?<=[:;：]))\s*(?P<code>[45][6-9]\d)(?P<sep>[ -])(?=(?P<cls>[45])\.\d{1,3}\.\d{1,3}\s)"
)
# Postfix re-wraps its bounce at 80 columns: "… said: 550" with the words on the next lines.
_PENDING_WRAPPER = GuardedPattern(r"(?:said|reason|response|was)\s{0,8}[:;：]$", re.I)
_PENDING_TAIL = 20  # characters of a wrapper that _PENDING_WRAPPER reads
# Mailpile's "smtp_error": "530: 5.7.0 Must issue a STARTTLS command first".
_CODE_COLON_START = GuardedPattern(
    r"(?:^|(?<=[\s\"'(]))(?P<code>[2-5][0-5]\d):\s{1,8}(?=[245]\.\d{1,3}\.\d{1,3}\s)"
)
# A reply inside quotes: with message "530 5.7.1 …", response: '504 5.7.4 …', Remote Server
# returned '550 5.7.1 …', “…”, 「…」. The quote must open a string (at the start of a line or
# after a space or punctuation); a bytes or unicode prefix may precede it.
_QUOTED_START = GuardedPattern(
    r"(?:^|(?<=[\s:=(\[{,<]))[bu]?(?P<quote>[\"'“‘「『])\s?(?P<code>[2-5][0-5]\d)(?P<sep>[ -]|$)"
)
# Transcripts: sendmail -v "<<< 550 …", swaks "<~  535 …", "<-  220 …", "<** 530 …" (an error),
# (their positive replies are not taken, but for the closing "221": after it, swaks's "===
# Connection closed with remote host." is the end of a dialogue that worked, not a loss),
# "<~* 535 …" (an error over TLS), curl -v
# "< 535 …", a log's "SMTP<< 504 …". An arrow counts only at the start of a line (after a time
# stamp or a process number, no words): in pasted code, "x < 500 or …" is a comparison.
_ARROW_START = GuardedPattern(
    r"^[\d\s:.,/\[\]-]{0,40}?(?:<<<|<<|<~\*|<~|<-|<\*\*|<|SMTP<<)\s{1,8}"
    r"(?P<code>[2-5][0-5]\d)(?P<sep>[ -]|$)"
)
# OpenSMTPD's log: Failed command on session …: "RCPT TO:<a@b>" => 451 Temporary failure.
_RESULT_ARROW = GuardedPattern(r"[\"']\s{0,8}=>\s{1,8}(?P<code>[2-5][0-5]\d)(?P<sep>[ -]|$)")
# A program's log line: a time stamp (a date, "hh:mm[:ss]") and maybe a bracketed tag, then
# the reply, "[MTA ] 2004/12/22 08:15:15 550 Unknown user …". The time is required: a bare
# number at the start of a line is a list, not a log.
_STAMPED_START = GuardedPattern(
    r"^(?:\[[^\]\n]{0,30}\]\s{0,8})?(?:\d{2,4}[/.-]\d{1,2}[/.-]\d{1,4}(?:T|\s{1,2}))?"
    r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?\s{1,8}"
    r"(?:\[[^\]\n]{0,30}\]\s{0,8})?(?P<code>[2-5][0-5]\d)(?P<sep>[ -]|$)"
)
# A code written "421:" at the start of a line, the words after it ("421: Too many concurrent
# connections from this client"): help pages' tables and some logs. Letters must follow,
# or it is a numbered list.
_LEAD_COLON_START = GuardedPattern(r"^(?P<code>[45][0-5]\d):\s{1,8}(?=[^\W\d_])")
# A reply as an XML element's text: "<message>454 Throttling failure: …</message>" (Rails'
# and other frameworks' XML error bodies); the element's end tag ends the reply.
_ELEMENT_START = GuardedPattern(
    r"<[A-Za-z][\w:.-]{0,30}>\s{0,8}(?P<code>[2-5][0-5]\d)(?P<sep>[ -])(?=\S)"
)
_ELEMENT_END = GuardedPattern(r"</[A-Za-z][\w:.-]{0,30}>")
# maddy's log fields, in a JSON object with its keys sorted (github.com/foxcpp/maddy/issues/627):
# "smtp_code":550,"smtp_enchcode":"5.7.1","smtp_msg":"DMARC check failed".
_MADDY_FIELDS = GuardedPattern(
    r"\"smtp_code\":\s{0,4}(?P<code>[2-5][0-5]\d)"
    r"(?:,\s{0,4}\"smtp_enchcode\":\s{0,4}\"(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\")?"
    r",\s{0,4}\"smtp_msg\":\s{0,4}(?P<quote>\")"
)
# Rust's lettre prints a reply as its Debug form, the code spelled out digit by digit:
# Response { code: Code { severity: PermanentNegativeCompletion, category: MailSystem,
# detail: Four }, message: ["5.7.1 …"] } (src/transport/smtp/response.rs).
_LETTRE_RESPONSE = GuardedPattern(
    r"severity:\s{0,4}(?P<severity>[A-Za-z]{1,30}),\s{0,4}category:\s{0,4}(?P<category>\w{1,20}),"
    r"\s{0,4}detail:\s{0,4}(?P<detail>\w{1,8})\s{0,4}\}(?:,\s{0,4}message:\s{0,4}\[\s{0,4}(?P<quote>\"))?"
)
_REPLY_CODE = GuardedPattern(r"[2-5][0-5]\d")
_LETTRE_DIGITS = {
    "PositiveCompletion": "2",
    "PositiveIntermediate": "3",
    "TransientNegativeCompletion": "4",
    "PermanentNegativeCompletion": "5",
    "Syntax": "0",
    "Information": "1",
    "Connections": "2",
    "Unspecified3": "3",
    "Unspecified4": "4",
    "MailSystem": "5",
    **{
        name: str(digit)
        for digit, name in enumerate(
            ("Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")
        )
    },
}
# Exim's reject log gives its own words without the code it sent: "H=host [ip] F=<a>
# rejected RCPT <b>: Unrouteable address", "temporarily rejected RCPT <b>" (a 4xx with no
# words), "rejected after DATA: …", "rejected EHLO or HELO x: …", "rejected connection in
# \"connect\" ACL". The code is inferred from "rejected" (5xx) or "temporarily" (4xx).
# Not a program's own sentence about the server ("Server rejected AUTH CRAM-MD5", sSMTP):
# Exim's log says who was rejected, never "server".
_EXIM_REJECTED = GuardedPattern(
    r"(?<![Ss]erver )\b(?P<temporary>temporarily )?rejected "
    r"(?P<verb>RCPT|MAIL|after DATA|DATA|EHLO|HELO|connection|AUTH)\b"
    r"(?P<argument>[^:\n]{0,330}+)(?::\s{1,8}(?=\S)|\s{0,8}$)"
)
_EXIM_STAGES = {
    "RCPT": "rcpt",
    "MAIL": "mail",
    "after DATA": "data",
    "DATA": "data",
    "EHLO": "ehlo",
    "HELO": "ehlo",
    "connection": "greeting",
    "AUTH": "auth",
}
# After prose a reply counts only with an enhanced code of its class (RFC 3463 section 2):
# "Invalid login - 553 5.3.0 Auth failure", "… visit … for 550 5.7.26 instructions".
_PROSE_START = GuardedPattern(
    r"(?<![\w.#/+@-])(?P<code>[2-5][0-5]\d)(?P<sep>[ -])"
    r"(?=(?P<cls>[245])\.\d{1,3}\.\d{1,3}(?:[\s,;:.)\]」”'\"]|$))"
)
# qmail ends its texts with the enhanced code, "… allowed rcpthosts (#5.7.1)", and
# qmail-local's own bounce has no basic code at all: "Sorry, no mailbox here by that
# name. (#5.1.1)". Others write it after the code: "552 #5.3.4 message size exceeds limit".
_QMAIL_TAIL = GuardedPattern(r"\(#(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\)\s{0,8}$")
# An enhanced code that opens a sentence after another ("milter-reject for END-OF-MESSAGE.
# 5.7.1 rejected by DMARC policy …"): only with a subject RFC 3463 defines (0-7) and words.
_SENTENCE_ENHANCED = GuardedPattern(r"(?<=\.\s)([45])\.([0-7])\.(\d{1,3})\s+(?=[^\W\d_])")
# A DSN's Diagnostic-Code whose text has no code of its own (RFC 3464 section 2.3.6): "smtp;
# Unauthenticated email from …", or an "X-" type's words (Postfix's "X-Postfix; maildir
# delivery failed: …", Domino's "X-Notes; User … not listed …"). The Status field gives it.
_DIAGNOSTIC_WORDS = GuardedPattern(
    r"^Diagnostic-Code\s{0,8}:\s{0,8}(?:smtp|x-[a-z0-9-]{1,20})\s{0,8};\s{0,8}(?=[^\W\d_])", re.I
)
_HASH_ENHANCED = GuardedPattern(r"^#(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})(?:\s+|$)")
# IIS's SMTP log writes the reply with "+" for each space: "550+5.7.1+Unable+to+relay".
_PLUS_ENCODED = GuardedPattern(r"(?:^|(?<=[\s?]))[2-5][0-5]\d\+(?=\S)")
# qmail-send reports a remote delivery with "_" for each space and "/" between its parts, in
# its log and in the bounces that quote it: "192.0.2.1_does_not_like_recipient./Remote_host_said:
# _553_…_refused/Giving_up_on_192.0.2.1./". The reply is the part after "Remote_host_said:_".
_QMAIL_SAID = "Remote_host_said:_"
# A reply written on one line with escaped line breaks: a Python repr, a JSON string,
# Exim's log ("…\n550-5.7.1 …"); and the escaped quotes inside such strings.
_ESCAPED_BREAK = GuardedPattern(r"\\{1,4}r\\{1,4}n|\\{1,4}[nr]")
_ESCAPED_QUOTE = GuardedPattern(r"\\{1,4}([\"'])")
# Where a straight quote closes a string: before ")", ",", "}", … or at the end of the line;
# an apostrophe inside the text ("isn't", "users' accounts") is followed by a word.
_CLOSE_QUOTE = {
    "'": GuardedPattern(r"'(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
    '"': GuardedPattern(r"\"(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
    "’": GuardedPattern(r"’(?=\s{0,8}(?:[)\]},;>\"'.:]|$))"),
}
# PHPMailer's debug output pasted on one line: the next entry ends the reply.
_NEXT_ENTRY = GuardedPattern(
    r"\s(?:CLIENT -> (?:SERVER|SMTP)|SERVER -> CLIENT|SMTP -> (?:FROM SERVER|ERROR))"
)
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {"'": "'", '"': '"', "“": "”", "‘": "’", "「": "」", "『": "』"}


# The line before the returned copy of the user's own message in a bounce pasted as text:
# Gmail's "----- Original message -----", Outlook's "-----Original Message-----", qmail's
# "--- Below this line is a copy of the message." (qmail-send.c), Exim's "------ This is a
# copy of the message, including all the headers. ------" (deliver.c), Exchange's "Original
# message headers:", and a MIME part's header (the boundaries Sisimai's Lhost modules use).
_RETURNED_ORIGINAL = GuardedPattern(
    r"(?:(?<!-)-{2,}+\s*(?:original message|below this line is a copy of the message\.?"
    r"|this is a copy of the message, including all the headers\.?)\s*-*"
    r"|original message headers:|content-type:\s*(?:message/rfc822|text/rfc822-headers)\b.*)$",
    re.I,
)
# Gmail's bounce when a "Send mail as" address's own SMTP server refused Gmail:
# the refusing server is the user's provider, not the recipient's.
_SEND_MAIL_AS = GuardedPattern(
    r"send mail as|different address or alias|「名前」の機能|の機能を使用して別のアドレス|"
    r"送信元アドレス|他のメールアドレス|エイリアスから送信",
    re.I,
)
# Patterns used inside the functions below, compiled once and listed here so that the
# regex-safety test sees every pattern of this module.
_QUOTE_MARKERS = GuardedPattern(r"^(?:[ \t]*>)+[ \t]?")  # "> " quoting in replies and forwards
# A wrapper ends with one: "said:", "smtp;", "応答：", and a log's field separator ("Got: 503 |
# 503 Bad sequence of commands").
_WRAPPER_ENDS = (":", ";", "：", "|")
_LETTER = GuardedPattern(r"[^\W\d_]")
# A program saying the reply it waited for did not come: the textbook SMTP client's "220
# reply not received from server." (Kurose and Ross's socket lab, pasted with its traceback)
# names the code it expected, and is not that reply: read as one, it was an "ok".
_NOT_RECEIVED = LazyPattern(
    r"(?:reply|response)\s(?:was\s|has\s)?not\s(?:been\s)?(?:received|returned|given)\b", re.I
)
_WORDS_WITHIN = 200  # a reply's first word comes within this many characters of its code
# Postfix's reject log ends the reply with the envelope: "…; from=<a> to=<b> proto=ESMTP
# helo=<x>" (smtpd_check.c); not the server's words.
_POSTFIX_LOG_TAIL = GuardedPattern(r";\s{0,8}from=<[^<>\n]{0,320}>\s{1,8}to=<[^\n]{0,1000}$")
_ADDRESS_ONLY = GuardedPattern(r"^(?:[245]\.\d{1,3}\.\d{1,3}\s+)?<[^<>\s]{1,320}>[.:,;]?$")
_IN_REPLY_TO_TAIL = GuardedPattern(r"\s{0,8}\(in reply to\b[^()]{0,200}\)?\s{0,8}$", re.I)
# Gmail's "Send mail as" dialog ends the server's words with ", code: 535": its own note.
_GMAIL_CODE_TAIL = GuardedPattern(r"\s{0,8},\s{0,8}code:\s{0,8}-?\d{1,4}\s{0,8}$", re.I)
_CONTINUES = GuardedPattern(r"gsmtp|in reply to|^\(", re.I)
_SENTENCE_END = GuardedPattern(r"[。．]$")
# A line a mail client or Postfix re-wrapped ends inside a sentence: long, and without the
# punctuation that ends one.
_OPEN_SENTENCE = GuardedPattern(r"[^\s.!?。．:;)\]>]$")
_WRAP_WIDTH = 50  # a re-wrapped line is about this long at least (mail clients wrap at 72-80)
_NON_WORDS = GuardedPattern(r"\W+")

_MAX_REPLY_LINES = 100  # lines kept of one reply; a server's longest (EHLO) has about 20
_MAX_CONTINUATION = 30  # non-code lines absorbed into one reply before it is cut off
_MAX_TRAILING = 3  # lines after the final line, e.g. "… gsmtp (in reply to end of DATA command)"
_SUMMARY_NEAR = 4  # lines between a program's summary of a reply and the reply (see _specific)


@record
class Found:
    """One reply found in the input, with what its surroundings say about it.

    A client-side error (``smtpprobe.core.client_errors``) is a ``Found`` with no
    reply: ``failure`` names what happened instead (a ``FailureKind`` value).
    """

    reply: Reply | None
    stage: str | None = None  # the SMTP phase it answered, when the text says so
    host: str | None = None  # the server that sent it ("host X said", Remote-MTA)
    recipient: str | None = None  # the address it was about (Final-Recipient, "<x>: host")
    status: str | None = None  # the DSN "Status:" field
    wrapper: str = ""  # the words before it on its line ("said:", "応答:")
    send_mail_as: bool = False  # a Gmail "Send mail as" bounce
    code_inferred: bool = False  # no basic code was given; ``reply.code`` is X50 of its class
    failure: str | None = None  # a FailureKind value when no reply was given (client error)
    facts: frozenset[str] = frozenset()  # what the words add: "plaintext-record", "port:465"
    evidence: str = ""  # the words of a client error that matched


@record
class _Start:
    """Where a reply starts on a line, and how."""

    wrapper: str  # the words before it ("said:", "Remote Server returned")
    code: int
    separator: str  # "-" when more lines of the reply follow (RFC 5321 section 4.2.1)
    rest: str  # the text after the code: enhanced code and words
    inferred: bool = False  # only an enhanced code: ``code`` is X50
    quote: str | None = None  # the closing quote still awaited (a string not closed yet)
    sealed: bool = False  # the reply's string closed on this line
    whole: bool = False  # the string holds the whole reply (smtplib): it ends with it
    weak: bool = False  # found after prose, by its enhanced code
    pending: bool = False  # "said: 550": the words are on the next lines

    @property
    def enhanced(self) -> str | None:
        match = ENHANCED_CODE.match(self.rest)
        return match.group(0) if match else None


@dataclass(slots=True)
class _Building:
    code: int
    enhanced: str | None
    first_wrapper: str
    lines: list[str]
    raw: list[str]
    index: int  # line number where it started
    last: int  # line number of its last line
    group: int  # the pasted line its last line came from
    last_wrapper: str = ""
    inferred: bool = False  # the text had only an enhanced code
    final: bool = False  # the last line (code + space) has been seen
    quote: str | None = None  # inside a string: the quote that closes it
    sealed: bool = False  # the string has closed: the reply takes no more words
    whole: bool = False  # the string is the whole reply
    pending: bool = False  # the code ended its line: the words follow, up to a blank line
    trailing: int = 0
    gap: int = 0
    floor: int = 0  # no line before this one is read for its stage, host or recipient


def _may_refuse(line: str, fields: Mapping[str, str]) -> bool:
    """Whether a refusal's reply may start on ``line`` (``fields``: its DSN block's)."""
    return bool(_MAY_REFUSE.search(line)) or fields.get("status", "")[:1] in ("4", "5")


def _unfold(text: str) -> tuple[list[str], list[int]]:
    """Lines of at most ``MAX_LINE`` characters, each with the number of the pasted line
    it came from.

    RFC 5322 folded DSN fields are joined (while they fit) and quote markers removed;
    escaped line breaks (``\\n`` in a Python repr, a JSON string or Exim's log) become
    lines of the same pasted line, and a ``+``-encoded IIS reply gets a line of its own.
    """
    lines: list[str] = []
    groups: list[int] = []
    text = text.replace("\ufeff", "")  # byte order marks: at the start, or where files were joined
    for number, pasted in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n")):
        unquoted = _QUOTE_MARKERS.sub("", pasted) if ">" in pasted else pasted
        for piece_index, piece in enumerate(_pieces(unquoted)):
            for index, line in enumerate(_wrapped(piece)):
                if (
                    index == 0
                    and piece_index == 0
                    and lines
                    and line[:1] in (" ", "\t")
                    and len(lines[-1]) + len(line) < MAX_LINE
                    and DSN_FIELD.match(lines[-1])
                    and not _START.match(line.strip())
                ):
                    lines[-1] = f"{lines[-1]} {line.strip()}"
                    continue
                lines.append(line.rstrip())
                groups.append(number)
    return lines, groups


def _pieces(line: str) -> list[str]:
    """One pasted line cut at its escaped line breaks, and around a ``+``-encoded reply or
    qmail's ``_``-encoded one."""
    parts = [line]
    if "\\" in line:
        parts = [_ESCAPED_QUOTE.sub(r"\1", part) for part in _ESCAPED_BREAK.split(line)]
    pieces: list[str] = []
    for part in parts:
        if _QMAIL_SAID in part:
            before, _, after = part.partition(_QMAIL_SAID)
            said, _, rest = after.partition("/")
            pieces.extend(p for p in (before, said.replace("_", " "), rest) if p.strip())
            continue
        match = _PLUS_ENCODED.search(part) if "+" in part else None
        if match is None:
            pieces.append(part)
            continue
        # The reply runs over the words that hold a "+" (IIS writes none of its own fields
        # with one); what follows is the rest of the log line.
        words = part[match.start() :].split(" ")
        taken = 1
        while taken < len(words) and "+" in words[taken]:
            taken += 1
        if part[: match.start()].strip():
            pieces.append(part[: match.start()])
        pieces.append(" ".join(words[:taken]).replace("+", " "))
        if " ".join(words[taken:]).strip():
            pieces.append(" ".join(words[taken:]))
    return pieces


def _wrapped(line: str) -> Iterator[str]:
    """``line`` cut into pieces of at most ``MAX_LINE`` characters, at a space if there is one."""
    start, end = 0, len(line)
    while end - start > MAX_LINE:
        cut = line.rfind(" ", start + MAX_LINE // 2, start + MAX_LINE)
        if cut < 0:
            cut = start + MAX_LINE
        yield line[start:cut]
        start = cut + 1 if line[cut] == " " else cut
    yield line[start:end]


# Every kind of start needs a three-digit number standing alone (not inside "12345") or
# an enhanced status code: one search rules out a line before the kinds are tried.
_CANDIDATE = GuardedPattern(r"(?<!\d)[2-5][0-5]\d(?!\d)|[245]\.\d{1,3}\.\d")


def _split_reply_start(
    line: str, providers: tuple[tuple[LazyPattern, int], ...] = _PROVIDER_TEXTS
) -> _Start | None:
    """How a reply starts on this line, if one does.

    The kinds are tried from the most explicit to the least: an smtplib tuple or debug
    line, a code at the start of the line or after a wrapper ending in ":" or ";", a code
    inside an opening quote or after a transcript's arrow, a code after prose followed by
    an enhanced code of its class, an enhanced code alone, and qmail's "(#5.1.1)" ending.
    """
    stripped = line.strip()
    if not stripped:
        return None
    start = _spelled_start(stripped)
    if start is not None:
        return start
    if _CANDIDATE.search(stripped):  # most of a long paste is prose with no code at all
        for kind in (
            _structured_start,
            _colon_start,
            _quoted_start,
            _prose_start,
            _inline_start,
            _enhanced_start,
            _qmail_start,
        ):
            start = kind(stripped)
            if start is not None:
                return start
    return _logged_start(stripped, providers)


def _spelled_start(text: str) -> _Start | None:
    """A reply whose code a program's structure spells out: maddy's log fields, lettre's
    Debug form, Postfix's "status=sent (250 …)" (each looked for only where its key word
    is, so prose costs nothing)."""
    if "status=sent" in text:
        sent = _POSTFIX_SENT.search(text)
        if sent is not None:
            rest = text[sent.end("code") :]
            close = rest.rfind(")")
            start = _made(
                text,
                sent.start("code"),
                int(sent.group("code")),
                rest[:1],
                rest[1 : close if close > 0 else None],
            )
            if start is not None:
                return start
    if "smtp_code" in text:
        fields = _MADDY_FIELDS.search(text)
        if fields is not None:
            rest = text[fields.end() :]
            if fields.group("enhanced"):
                rest = f"{fields.group('enhanced')} {rest}"
            start = _made(
                text,
                fields.start(),
                int(fields.group("code")),
                "-",
                rest,
                quote='"',
                whole=True,
                negative_only=True,
            )
            if start is not None:
                return start
    if "severity:" in text:
        debug = _LETTRE_RESPONSE.search(text)
        if debug is not None:
            digits = [
                value if value.isdigit() else _LETTRE_DIGITS.get(value, "")
                for value in debug.group("severity", "category", "detail")
            ]
            code = "".join(digits)
            if _REPLY_CODE.fullmatch(code) and debug.group("quote") is None:
                # lettre's error kind keeps only the code ("Permanent(Code { severity:
                # PermanentNegativeCompletion, category: Unspecified3, detail: Five })"):
                # the code is all there is of the reply.
                if int(code) < 400:
                    return None
                return _Start(text[: debug.start()].strip(), int(code), " ", "")
            if _REPLY_CODE.fullmatch(code):
                return _made(
                    text,
                    debug.start(),
                    int(code),
                    "-",
                    text[debug.end() :],
                    quote='"',
                    whole=True,
                    negative_only=True,
                )
    return None


def _logged_start(
    text: str, providers: tuple[tuple[LazyPattern, int], ...] = _PROVIDER_TEXTS
) -> _Start | None:
    """A refusal Exim's reject log gives in its own words, without the code it sent; the
    code is inferred (``inferred``: X50). (Postfix's "status=deferred (…)" without "said:"
    is Postfix's own client-side error, not a server's reply: not taken here.)"""
    if "rejected " in text:
        exim = _EXIM_REJECTED.search(text)
        if exim is not None:
            words = text[exim.end() :].strip()
            code = 450 if exim.group("temporary") else 550
            if not words:
                # "SMTP protocol synchronization error (…): rejected connection": the
                # reason is before the verb, so the whole line is the refusal's words.
                return _Start("", code, " ", text.strip(), inferred=True)
            return _Start(text[: exim.start()].strip(), code, " ", words, inferred=True)
    if "dsn=" in text:
        dsn = _POSTFIX_DSN.search(text)
        if (
            dsn is not None
            and not _POSTFIX_CLIENT.search(text, 0, dsn.start())
            and not _POSTFIX_NOT_REPLY.match(text, dsn.end())
            and "said:" not in text[dsn.end() :]
        ):
            enhanced = dsn.group("enhanced")
            rest = f"{enhanced} {text[dsn.end() :]}"
            code = int(enhanced[0]) * 100 + 50
            return _Start(text[: dsn.start()].strip(), code, " ", rest, inferred=True)
    for pattern, code in providers:
        provider = pattern.search(text)
        if provider is not None:
            return _Start("", code, " ", text, inferred=True)
    return None


def _structured_start(text: str) -> _Start | None:
    row = _GOOGLE_ROW.match(text)
    if row is not None:
        rest = f"{row.group('enhanced')} {text[row.end() :]}"
        return _made(text, 0, int(row.group("code")), " ", rest, negative_only=True)
    patterns = (
        _TUPLE_START,
        _BARE_TUPLE_START,
        _RETCODE_START,
        _PAREN_CODE_START,
        _BRACKET_CODE_START,
        _KEYED_CODE_START,
        _LETTRE_START,
    )
    only = _CODE_ONLY_START.search(text)
    if only is not None:  # the code is all there is of the reply
        return _Start(
            text[: only.start()].strip(),
            int(only.group("code") or only.group("curl") or only.group("mailsend")),
            " ",
            "",
        )
    matches = [m for m in (pattern.search(text) for pattern in patterns) if m]
    for match in sorted(matches, key=lambda m: m.start()):
        if match.re is _LETTRE_START and not text[match.end() :].strip():
            # lettre keeps only the code when the reply had no words: the code is the reply.
            return _Start(text[: match.start()].strip(), int(match.group("code")), " ", "")
        quote = match.groupdict().get("quote")
        start = _made(
            text,
            match.start(),
            int(match.group("code")),
            # The string is the whole reply, however many lines it has: they end with it.
            "-" if quote else " ",
            text[match.end() :],
            quote=quote,
            whole=match.re
            not in (_PAREN_CODE_START, _BRACKET_CODE_START, _KEYED_CODE_START, _LETTRE_START),
            negative_only=True,
        )
        if start is not None:
            return start
    return None


def _colon_start(text: str) -> _Start | None:
    for match in _START.finditer(text):
        wrapper = text[: match.start()].strip()
        if (
            wrapper
            and not wrapper.endswith(_WRAPPER_ENDS)
            and not _DASH_WRAPPER.search(wrapper[-_PENDING_TAIL - 10 :])
        ):
            continue
        if wrapper.endswith(":") and _SOURCE_LINE.search(wrapper[-24:-1]):
            continue  # "Transport.php:457 Stack trace": a file's line, not a reply
        if (
            wrapper.endswith(":")
            and _QUANTITY_LABEL.search(wrapper[-24:])
            and not ENHANCED_CODE.match(text[match.end() :])
        ):
            continue  # "Queue size: 452 messages": a count, not a reply
        code = int(match.group(1))
        pending = bool(_PENDING_WRAPPER.search(wrapper[-_PENDING_TAIL:]))
        rest = text[match.end() :]
        start = _made(text, match.start(), code, match.group(2), rest, pending=pending)
        if start is None:
            continue
        # Positive replies only where they cannot be prose (see _POSITIVE).
        if code < 400 and not (start.enhanced or (code in _POSITIVE and not wrapper)):
            continue
        return start
    for match in _START_ODD.finditer(text):
        wrapper = text[: match.start()].strip()
        if match.group("cls") != match.group("code")[0] or (
            wrapper and not wrapper.endswith(_WRAPPER_ENDS)
        ):
            continue
        start = _made(
            text, match.start(), int(match.group("code")), match.group("sep"), text[match.end() :]
        )
        if start is not None:
            return start
    for match in _CODE_COLON_START.finditer(text):
        start = _made(text, match.start(), int(match.group("code")), " ", text[match.end() :], True)
        if start is not None:
            return start
    lead = _LEAD_COLON_START.match(text)
    if lead is not None:
        return _made(text, 0, int(lead.group("code")), " ", text[lead.end() :], negative_only=True)
    return None


def _quoted_start(text: str) -> _Start | None:
    found: list[tuple[int, _Start]] = []
    for match in _QUOTED_START.finditer(text):
        start = _made(
            text,
            match.start(),
            int(match.group("code")),
            match.group("sep"),
            text[match.end() :],
            quote=match.group("quote"),
            negative_only=True,
        )
        if start is not None:
            found.append((match.start(), start))
            break
    element = _ELEMENT_START.search(text)
    if element is not None:
        rest = text[element.end() :]
        end = _ELEMENT_END.search(rest)
        start = _made(
            text,
            element.start("code"),
            int(element.group("code")),
            element.group("sep"),
            rest[: end.start()] if end is not None else rest,
            negative_only=True,
        )
        if start is not None:
            # The end tag closes the reply: it takes no more lines.
            found.append((element.start("code"), replace(start, sealed=end is not None)))
    for pattern in (_ARROW_START, _RESULT_ARROW, _STAMPED_START):
        arrow = pattern.search(text)
        if arrow is None:
            continue
        code_at = arrow.start("code")
        start = _made(
            text,
            code_at,
            int(arrow.group("code")),
            arrow.group("sep"),
            text[arrow.end() :],
            negative_only=pattern is not _ARROW_START or int(arrow.group("code")) != 221,
        )
        if start is not None:
            found.append((code_at, start))
    return min(found, key=lambda item: item[0])[1] if found else None


def _prose_start(text: str) -> _Start | None:
    for match in _PROSE_START.finditer(text):
        if match.group("cls") != match.group("code")[0]:
            continue  # "550 4.7.1" is not one reply
        start = _made(
            text,
            match.start(),
            int(match.group("code")),
            match.group("sep"),
            text[match.end() :],
            # "(530 5.7.0 Must issue …)": the reply ends where its bracket or quote does.
            quote=text[match.start() - 1]
            if match.start() and text[match.start() - 1] in _CLOSERS
            else None,
            negative_only=True,
            weak=True,
        )
        if start is not None:
            return start
    return None


def _inline_start(text: str) -> _Start | None:
    """A reply inside a sentence without an enhanced code: in parentheses ("(535 Incorrect
    authentication data)"), after a comma ("…SMTP server, 553 Relaying disallowed …"), or a
    code alone in parentheses inside the refusal's sentence ("denial of connection (450)")."""
    found: list[tuple[int, _Start]] = []
    for pattern in (_PAREN_REPLY, _COMMA_REPLY, _DASH_REPLY, _ERROR_REPLY):
        for match in pattern.finditer(text):
            code = int(match.group("code"))
            rest = text[match.end() :]
            if _is_http_status(code, rest):
                continue
            start = _made(text, match.start("code"), code, " ", rest, negative_only=True, weak=True)
            if start is not None:
                found.append((match.start(), start))
                break
    denial = _DENIAL_PAREN.search(text)
    if denial is not None:
        # The reply is the refusal's sentence, the code taken out of it.
        before = text[: denial.start()]
        begin = max(before.rfind(": "), before.rfind(". "), before.rfind("; "))
        begin = 0 if begin < 0 else begin + 2
        words = f"{text[begin : denial.start('code') - 1].rstrip()} {text[denial.end() :].lstrip()}"
        found.append(
            (begin, _Start(text[:begin].strip(), int(denial.group("code")), " ", words.strip()))
        )
    return min(found, key=lambda item: item[0])[1] if found else None


def _is_http_status(code: int, rest: str) -> bool:
    reason = _HTTP_REASONS.get(code)
    return reason is not None and rest[: len(reason)].lower() == reason


def _enhanced_start(text: str) -> _Start | None:
    for match in _START_ENHANCED.finditer(text):
        wrapper = text[: match.start()].strip()
        if wrapper and not wrapper.endswith(_WRAPPER_ENDS):
            continue
        # No basic code in the text: take the usual one of the enhanced class
        # (X.Y.Z class 4 or 5, RFC 3463 section 3.1); Found.code_inferred says so.
        code = int(match.group(1)) * 100 + 50
        return _Start(wrapper, code, " ", text[match.start() :].strip(), inferred=True)
    sentence = _SENTENCE_ENHANCED.search(text)
    if sentence is not None:
        code = int(sentence.group(1)) * 100 + 50
        rest = text[sentence.start() :].strip()
        return _Start(text[: sentence.start()].strip(), code, " ", rest, inferred=True, weak=True)
    return None


def _qmail_start(text: str) -> _Start | None:
    tail = _QMAIL_TAIL.search(text)
    if tail is None or not _LETTER.search(text[: tail.start()]):
        return None
    enhanced = tail.group("enhanced")
    rest = f"{enhanced} {text}"
    return _Start("", int(enhanced[0]) * 100 + 50, " ", rest, inferred=True)


def _made(
    text: str,
    at: int,
    code: int,
    separator: str,
    rest: str,
    colon: bool = False,
    *,
    quote: str | None = None,
    whole: bool = False,
    negative_only: bool = False,
    weak: bool = False,
    pending: bool = False,
) -> _Start | None:
    """A start at ``at`` in ``text`` if what follows the code can be a reply's text.

    ``colon``: the code was written "530:", which only an enhanced code makes a reply.
    ``pending``: after "said:" the words may follow on the next lines (Postfix re-wraps).
    """
    wrapper = text[:at].strip()
    closer = _CLOSERS.get(quote) if quote else None
    sealed = False
    if closer is not None:
        end = _closing(closer, rest)
        if end is not None:
            rest, closer, sealed = rest[:end], None, True
    entry = _NEXT_ENTRY.search(rest) if " -> " in rest else None
    if entry is not None:
        rest = rest[: entry.start()]
    rest = rest.strip()
    enhanced = ENHANCED_CODE.match(rest)
    if colon and not enhanced:
        return None
    if pending and code >= 400 and (not rest or (enhanced and not rest[enhanced.end() :].strip())):
        return _Start(text[:at].strip(), code, " ", rest, pending=True)
    # A bare "550" alone on a line, or followed by digits only, is not a reply; nor is
    # "553 | 553 5.7.1 …", where the reply is the second.
    if not rest or (not enhanced and not _LETTER.search(rest, 0, _WORDS_WITHIN)) or rest[0] == "|":
        return None
    if not enhanced and _NOT_RECEIVED.match(rest):
        return None
    if negative_only and code < 400:
        return None
    if not enhanced and 400 <= code < 420:
        return None  # HTTP's 4xx (401, 403, 404…): SMTP has no 40x or 41x reply
    opener = None if sealed or closer else _unclosed_bracket(wrapper)
    if opener is not None:
        # "{ [AuthError: Invalid login - 553 5.3.0 Auth failure] name: …": the reply ends
        # where the bracket that holds it closes.
        end = _bracket_end(rest, opener)
        if end is not None and rest[:end].strip():
            rest, sealed = rest[:end].strip(), True
    if quote or weak:
        wrapper = wrapper.rstrip("\"'“‘「『([{<").rstrip()
    return _Start(
        wrapper, code, separator, rest, quote=closer, sealed=sealed, whole=whole, weak=weak
    )


def _unclosed_bracket(text: str) -> str | None:
    """The innermost bracket ``text`` opens and does not close."""
    stack: list[str] = []
    for char in text:
        if char in _BRACKETS:
            stack.append(char)
        elif stack and char == _BRACKETS[stack[-1]]:
            stack.pop()
    return stack[-1] if stack else None


def _bracket_end(text: str, opener: str) -> int | None:
    """Where the bracket opened before ``text`` closes in it (brackets inside counted)."""
    closer, depth = _BRACKETS[opener], 0
    for index, char in enumerate(text):
        if char == opener:
            depth += 1
        elif char == closer:
            if depth == 0:
                return index
            depth -= 1
    return None


def _closing(closer: str, text: str) -> int | None:
    """Where the string closes in ``text``, if it does."""
    if text.startswith(closer):
        return 0  # a line that starts with the closing quote: the string ended with the last
    pattern = _CLOSE_QUOTE.get(closer)
    if pattern is not None:
        match = pattern.search(text)
        return match.start() if match else None
    index = text.find(closer)
    return index if index >= 0 else None


def find_replies(text: str) -> list[Found]:
    """Every SMTP reply in ``text``, in order, duplicates removed (at most ``MAX_REPLIES``).

    Negative replies (4xx, 5xx) are found wherever a reply can start; positive
    ones only where they cannot be prose (see ``_POSITIVE``), and only when the text
    holds no negative reply: in a transcript or a log they are the dialogue around
    the refusal, not the answer.
    """
    lines, groups = _unfold(text)
    providers = _providers_in(text.lower())
    send_mail_as = bool(_SEND_MAIL_AS.search(text))
    dsn = DsnBlocks.of(lines)
    built: list[_Building] = []
    starts: list[_Start | None] = []
    current: _Building | None = None

    positives = 0  # positive replies kept

    def close() -> None:
        nonlocal current, positives
        if current is not None:
            if current.code >= 400:
                built.append(current)
            elif positives < _MAX_FOUND:
                built.append(current)
                positives += 1
        current = None

    for index, line in enumerate(lines):
        if len(built) - positives >= _MAX_FOUND:
            break
        if (
            positives >= _MAX_FOUND
            and (current is None or current.code < 400)
            and not _may_refuse(line, dsn.at(index))
        ):
            # A log of thousands of deliveries: only a refusal is still looked for (a
            # positive reply is kept only where the text holds none), and it is read
            # from its own lines, not those of the deliveries around it.
            close()
            starts.append(None)
            continue
        if (built or current is not None) and _RETURNED_ORIGINAL.match(line.strip()):
            # The returned copy of the user's own message: its words are not a reply
            # (a bounce that is itself below such a line, forwarded, is still read).
            break
        start = _split_reply_start(line, providers)
        status = dsn.at(index).get("status", "")
        if start is None and status[:1] in ("4", "5"):
            start = _diagnostic_start(line.strip(), status)
        starts.append(start)
        same_line = current is not None and groups[index] == current.group
        if start is not None:
            if current is not None and _same_reply(current, start, same_line):
                _extend(current, index, start.rest, line.strip(), start)
            elif (
                current is not None
                and start.weak
                and not current.final
                and start.code == current.code
            ):
                # A code repeated inside a re-wrapped reply: the line continues it.
                _extend(current, index, line.strip(), line.strip())
            else:
                close()
                current = _begun(start, index, groups[index], line)
                if positives >= _MAX_FOUND:
                    current.floor = index
            if current.sealed and current.final:
                close()
            continue
        if current is None:
            continue
        stripped = line.strip()
        if current.quote is not None and same_line and _in_string(current, stripped):
            # Inside the reply's string: the next escaped line of the same string.
            _extend(current, index, stripped, stripped)
            if current.sealed and current.final:
                close()
            continue
        if current.pending:
            # "said: 550" ended its line: the words follow, up to a blank line or the tail.
            if (
                stripped
                and not DSN_FIELD.match(stripped)
                and not _PROGRAM_LINE.match(stripped)
                and current.gap < _MAX_CONTINUATION
            ):
                current.gap += 1
                _extend(current, index, stripped, stripped)
                if _IN_REPLY_TO_TAIL.search(stripped):
                    close()
                continue
            close()
            continue
        if current.sealed:
            close()
            continue
        if not stripped and not current.final and current.gap < _MAX_CONTINUATION:
            current.gap += 1  # a re-wrapped bounce may put blank lines inside a reply
            continue
        if (
            not stripped
            or DSN_FIELD.match(stripped)
            or _is_prose(stripped, current)
            or _PROGRAM_LINE.match(stripped)
        ):
            close()
            continue
        if (
            stripped.endswith(":")
            and index + 1 < len(lines)
            and _split_reply_start(lines[index + 1], providers) is not None
        ):
            # "Then after fixing the password I got:" introduces the next reply; it does
            # not carry the last one on.
            close()
            continue
        if current.final and (
            _rewrapped(current, stripped)
            or _awaits_words(current, stripped)
            or _said_indented(current, line)
        ):
            current.gap += 1  # the reply's sentence goes on: a re-wrapped line
        elif current.final:
            current.trailing += 1
            if current.trailing > _MAX_TRAILING or not _continues(stripped):
                close()
                continue
        else:
            current.gap += 1
            if current.gap > _MAX_CONTINUATION:
                close()
                continue
        _extend(current, index, stripped, stripped)
        if current.sealed and current.final:
            close()
    close()
    return _found(built, lines, starts, send_mail_as, dsn)


def _found(
    built: list[_Building],
    lines: list[str],
    starts: list[_Start | None],
    send_mail_as: bool,
    dsn: DsnBlocks,
) -> list[Found]:
    """The replies ``built``, each read with only its own surroundings: from the line after
    the reply before it to the line before the reply after it (a bounce for several
    recipients took the host, recipient and words of the reply above). The stage, host and
    recipient are read only for the replies that are reported (the first ``MAX_REPLIES``
    different ones): reading them cost ~0.5 ms a reply, seconds for a long log."""
    replies = [_reply_of(b, dsn) for b in built]
    spans = [(b.index, b.last) for b in built]
    kept = _specific(list(range(len(built))), replies, built, spans)
    if any(replies[i].code >= 400 for i in kept):
        kept = [i for i in kept if replies[i].code >= 400]
    groups: dict[tuple[int, str | None, str], list[int]] = {}
    for i in kept:
        key = (replies[i].code, replies[i].enhanced, _normal(replies[i].text))
        if key in groups or len(groups) < MAX_REPLIES:
            groups.setdefault(key, []).append(i)
    result: list[Found] = []
    for members in groups.values():
        merged: Found | None = None
        for i in members:
            floor = max(built[i - 1].last + 1 if i else 0, built[i].floor)
            ceiling = built[i + 1].index if i + 1 < len(built) else len(lines)
            item = _finish(built[i], replies[i], lines, starts, send_mail_as, dsn, floor, ceiling)
            # The same reply twice (the human part and the DSN): keep what each knows.
            merged = item if merged is None else replace(
                merged,
                stage=merged.stage or item.stage,
                host=merged.host or item.host,
                recipient=merged.recipient or item.recipient,
                status=merged.status or item.status,
            )  # fmt: skip
        assert merged is not None
        result.append(merged)
    return result


def _diagnostic_start(text: str, status: str) -> _Start | None:
    """A Diagnostic-Code of type smtp that quotes the server's words without a code: the
    DSN's Status field gives the enhanced code, and the basic code is X50 of its class."""
    words = _DIAGNOSTIC_WORDS.match(text)
    if words is None:
        return None
    rest = f"{status} {text[words.end() :]}"
    return _Start(text[: words.end()].strip(), int(status[0]) * 100 + 50, " ", rest, inferred=True)


def _awaits_words(current: _Building, line: str) -> bool:
    # "… said: 553 5.3.0 <user@example.com>." / "Addressee unknown. Giving up.": a reply whose
    # line held only the address it is about goes on with its words on the next line.
    return (
        len(current.lines) == 1
        and bool(_ADDRESS_ONLY.match(current.lines[0]))
        and not ECHO_MARKED.match(line)
        and not ECHO_BARE.match(line)
        and not HEADER_FIELD_START.match(line)
    )


def _in_string(current: _Building, line: str) -> bool:
    # The string holds the whole reply, or the reply said more lines follow, or the
    # string closes on this line ("')" after the last escaped line break).
    assert current.quote is not None
    return current.whole or not current.final or _closing(current.quote, line) is not None


def _begun(start: _Start, index: int, group: int, line: str) -> _Building:
    building = _Building(
        code=start.code,
        enhanced=start.enhanced,
        first_wrapper=start.wrapper,
        lines=[start.rest],
        raw=[line.strip()],
        index=index,
        last=index,
        group=group,
        last_wrapper=start.wrapper,
        inferred=start.inferred,
        final=start.separator != "-",
        quote=start.quote,
        sealed=start.sealed,
        whole=start.whole,
        pending=start.pending,
    )
    if start.sealed and start.whole:
        building.final = True  # smtplib's string held the whole reply, and it has ended
    return building


def _same_reply(current: _Building, start: _Start, same_line: bool) -> bool:
    """Whether ``start`` is the next line of the reply being read, not a new reply."""
    if current.sealed and current.final:
        return False
    if start.inferred and start.enhanced is not None and start.enhanced == current.enhanced:
        pass  # smtplib keeps the enhanced code of each line: "…\n5.7.8  https://…"
    elif start.code != current.code or (
        start.enhanced is not None and current.enhanced not in (None, start.enhanced)
    ):
        return False
    if start.wrapper and start.wrapper != current.last_wrapper:
        return False
    return not current.final or same_line


def _extend(
    current: _Building, index: int, text: str, raw: str, start: _Start | None = None
) -> None:
    """Add line ``index`` to the reply being read; a closing quote ends its string."""
    if start is not None:
        current.final = start.separator != "-"
        current.pending = False
        current.last_wrapper = start.wrapper or current.last_wrapper
        if current.enhanced is None:
            current.enhanced = start.enhanced
        if start.sealed:
            current.quote, current.sealed = None, True
        elif start.quote is not None:
            current.quote = start.quote
    elif current.quote is not None:
        end = _closing(current.quote, text)
        if end is not None:
            text, current.quote, current.sealed = text[:end], None, True
    if current.sealed and current.whole:
        current.final = True
    current.gap = 0 if start is not None else current.gap
    current.last = index
    if text.strip() and len(current.lines) < _MAX_REPLY_LINES:
        current.lines.append(text.strip())
        current.raw.append(raw)


# Compiled on first use: its 21 000-character class is the costliest pattern here to
# compile (about 1.5 ms, a tenth of this module's), and only some pastes reach it.
_CJK = GuardedPattern(r"[\u3040-\u30ff\u4e00-\u9fff]")


# A line a program printed after the reply, never a continuation of it: a stack frame
# (Java/.NET "at X.Y(…)", Python 'File "…"', PHP "#0 …"), Go's "exit status 1", a chained
# exception, a log line's timestamp (github.com/go-gomail/gomail/issues/205,
# github.com/jstedfast/MailKit/issues/453).
_PROGRAM_LINE = GuardedPattern(
    r"at [\w$.<>`]+[.:(]|File \"|#\d+ |exit status \d+$|Traceback \(most recent|Caused by:"
    r"|\[?\d{4}-\d\d-\d\d[ T]\d"
)


def _is_prose(line: str, building: _Building) -> bool:
    # Japanese commentary after an English reply (an article or a forwarded
    # bounce with a note) is not part of the reply; a Japanese reply is kept.
    return bool(_CJK.search(line)) and not any(_CJK.search(part) for part in building.lines)


def _rewrapped(current: _Building, line: str) -> bool:
    # "… said: 550 5.7.1 Unfortunately, messages from" / "[192.0.2.1] weren't sent. …":
    # the last line stopped inside a sentence, so the next one carries it on.
    last = current.raw[-1] if current.raw else ""
    return (
        current.gap < _MAX_CONTINUATION
        and bool(current.lines)
        and last.endswith(current.lines[-1])  # its words ran to the end of the line
        and len(last) >= _WRAP_WIDTH
        and bool(_OPEN_SENTENCE.search(last))
        and not ECHO_MARKED.match(line)
        and not ECHO_BARE.match(line)
        and not HEADER_FIELD_START.match(line)  # "StackTrace: …", "Reporting-MTA: …": a new field
    )


def _said_indented(current: _Building, line: str) -> bool:
    # Postfix's bounce re-wraps "host x said: 550 …" at about 75 columns and indents every
    # line after the first by four spaces up to "(in reply to … command)": an indented line
    # carries the reply on even after a sentence ended ("… weren't sent." / "    Please
    # contact your Internet service provider since part of their network is on our block
    # list."; github.com/mailcow/mailcow/issues/374).
    stripped = line.strip()
    return (
        current.gap < _MAX_CONTINUATION
        and current.first_wrapper.rstrip().endswith("said:")
        # Postfix's "(in reply to … command)", wrapped or not, ends the reply.
        and not _IN_REPLY_TO_TAIL.search(" ".join(current.raw[-2:]))
        # Indented as Postfix writes it, or re-wrapped by a paste that lost the indent:
        # both lines near the wrap width ("… weren't sent." / "Please contact your
        # Internet service provider since part of their network").
        and (
            line[:2].isspace() or (len(current.raw[-1]) >= _WRAP_WIDTH + 10 and len(stripped) >= 40)
        )
        and bool(stripped)
        and not DSN_FIELD.match(stripped)
        and not ECHO_MARKED.match(stripped)
        and not HEADER_FIELD_START.match(stripped)
    )


# A new line of a program's log: "msmtp: could not send mail (account …)" after its
# "msmtp: server message: 554 …", "postfix/smtp[123]: …".
# Only ever matched at a line's start; the \A says so, and keeps a search of a long
# line from trying the 31-character run at every position.
_PROGRAM_PREFIX = GuardedPattern(r"\A[A-Za-z][\w./-]{0,30}(?:\[\d{1,10}\])?: ")


def _continues(line: str) -> bool:
    # After the final line only a short tail belongs to the reply: Gmail's
    # "… - gsmtp" id and Postfix's "(in reply to … command)" — not the next command of
    # a transcript ("send: 'quit'").
    if ECHO_MARKED.match(line) or ECHO_BARE.match(line) or _PROGRAM_PREFIX.match(line):
        return False
    return bool(_CONTINUES.search(line)) or (
        len(line) < 80 and not _SENTENCE_END.search(line) and line[:1].islower()
    )


def _reply_of(building: _Building, dsn: DsnBlocks) -> Reply:
    """The reply ``building`` holds, as the server sent it."""
    message_lines = [_strip_inline_codes(line, building.code) for line in building.lines]
    # Postfix appends "(in reply to RCPT TO command)" to the server's words;
    # it names the stage (kept in ``stage``) and is not part of the reply.
    message = _IN_REPLY_TO_TAIL.sub("", _balanced("\n".join(message_lines)))
    message = _GMAIL_CODE_TAIL.sub("", message)
    message = _POSTFIX_LOG_TAIL.sub("", message)
    message = _balanced(message.strip("\n"))
    reply = from_code_and_message(building.code, message)
    if reply.enhanced is None:
        reply = _qmail_enhanced(reply)
    status = dsn.at(building.index).get("status", "")
    if reply.enhanced is None and status[:1] == str(building.code)[0]:
        reply = replace(reply, enhanced=status)
    return reply


def _finish(
    building: _Building,
    reply: Reply,
    lines: list[str],
    starts: list[_Start | None],
    send_mail_as: bool,
    dsn: DsnBlocks,
    floor: int,
    ceiling: int,
) -> Found:
    low = max(floor, building.index - 4)
    high = min(ceiling, building.last + _MAX_TRAILING + 1)
    window = "\n".join(lines[low:high])
    recipient = recipient_named(window)
    fields = dsn.about(building.index, recipient)
    return Found(
        reply=reply,
        stage=_stage(building, lines, starts, low, window),
        host=host_named(window) or fields.get("remote-mta"),
        recipient=recipient or fields.get("final-recipient"),
        status=fields.get("status"),
        wrapper=building.first_wrapper,
        send_mail_as=send_mail_as,
        code_inferred=building.inferred,
    )


_OPENERS = {")": "(", "]": "[", ">": "<", "}": "{"}


def _balanced(text: str) -> str:
    """``text`` without the closing brackets and quotes it ends with but never opened: what
    a wrapper around the reply left ("(reason: 550 Host unknown)", "…')", "…]")."""
    counts = {char: text.count(char) for char in "()[]<>{}'\""}
    end = len(text)
    while end:
        last = text[end - 1]
        unopened = last in _OPENERS and counts[last] > counts[_OPENERS[last]]
        if unopened or (last in "'\"" and counts[last] % 2 == 1):
            counts[last] -= 1
        elif not (last.isspace() or (last in ",;" and text[end - 2 : end - 1] in "'\")]}")):
            break
        end -= 1
    return text[:end]


def _qmail_enhanced(reply: Reply) -> Reply:
    """The enhanced code written "552 #5.3.4 …" or "… (#5.7.1)" (qmail), when it fits."""
    if not reply.lines:
        return reply
    head = _HASH_ENHANCED.match(reply.lines[0])
    if head is not None and head.group("enhanced")[0] == str(reply.code)[0]:
        lines = (reply.lines[0][head.end() :], *reply.lines[1:])
        return replace(reply, enhanced=head.group("enhanced"), lines=lines)
    tail = _QMAIL_TAIL.search(reply.lines[-1])
    if tail is not None and tail.group("enhanced")[0] == str(reply.code)[0]:
        return replace(reply, enhanced=tail.group("enhanced"))
    return reply


def _strip_inline_codes(line: str, code: int) -> str:
    def drop(match: re.Match[str]) -> str:
        return "" if int(match.group(1)) == code else match.group(0)

    return " ".join(_INLINE_CODE.sub(drop, line).split())


def _stage(
    building: _Building, lines: list[str], starts: list[_Start | None], low: int, window: str
) -> str | None:
    """The stage the reply answered: what its own lines say, else the command the
    transcript shows before it, else what the lines around it (``window``, from line
    ``low``) say."""
    own_from = sum(len(line) + 1 for line in lines[low : building.index])
    own_to = own_from + sum(len(line) + 1 for line in lines[building.index : building.last + 1])
    named: list[str] = []
    own: list[str] = []
    # A hint may be wrapped over two lines ("(in reply to MAIL\nFROM command)").
    for match in STAGE_HINT.finditer(window.replace("\n", " ")):
        if match.lastgroup is not None:
            named.append(match.lastgroup)
            if own_from <= match.start() < own_to:
                own.append(match.lastgroup)
    return (
        first_stage(own)
        or keyed_stage(window[own_from:own_to])
        or echoed_stage(lines, starts, building.index)
        or keyed_stage(window)
        or first_stage(named)
    )


def _specific(
    kept: list[int],
    replies: list[Reply],
    built: list[_Building],
    spans: list[tuple[int, int]],
) -> list[int]:
    """``kept`` without the summaries a program writes before the reply it summarises.

    Twisted's "SMTPDeliveryError: 450 No recipients accepted" is followed by the server's own
    "450 4.1.8 <…>: Sender address rejected: …". A server that sends enhanced status codes
    sends one with (almost) every reply (RFC 2034 section 3), so a reply of the same code
    without one just before a reply with one, which says more, is the program's summary: the
    more specific reply decides. The other way round (sendmail's transcript "<<< 554 Service
    unavailable; Client host … blocked using …" before its own "554 5.0.0 Service unavailable")
    the first reply says more, and both stay.
    """
    result: list[int] = []
    for index in kept:
        reply = replies[index]
        if reply.enhanced is None and not built[index].inferred:
            last, later = spans[index][1], index + 1
            summary = False
            # Replies are in order: only those starting within _SUMMARY_NEAR lines count.
            while later < len(replies) and spans[later][0] - last <= _SUMMARY_NEAR:
                other = replies[later]
                if (
                    other.code == reply.code
                    and other.enhanced is not None
                    and len(other.text) > len(reply.text)
                ):
                    summary = True
                    break
                later += 1
            if summary:
                continue
        result.append(index)
    return result


def _normal(text: str) -> str:
    return _NON_WORDS.sub(" ", text).strip().lower()
