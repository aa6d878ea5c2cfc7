"""Where a reply starts on a line of a paste, in every shape programs print it.

``split_reply_start`` looks at one line and says whether an SMTP reply starts on it, and how:
its code, the words before it (the wrapper: "said:", "Remote Server returned"), the text
after it, whether more lines follow ("550-…"), and whether it sits in a string not closed
yet. The shapes are those of issue 8's paste list: a line that starts with a code, a
wrapper ending in ":" or ";", Python smtplib's tuples and reprs, the error objects of
nodemailer, Java and .NET, Exchange NDRs, IIS's ``+``-encoded log lines, qmail's ``(#5.1.1)``,
transcripts (``<<< 550``, ``<~ 535``), quoted replies, a reply after prose with an enhanced
code of its class, Google's reference rows, and providers' fixed texts without a code.
The starts without a basic code are in ``smtpprobe.core.codeless_starts``, the ``Start``
record in ``smtpprobe.core.line_start``; ``smtpprobe.core.bounce`` assembles the lines into
replies. Pure; every pattern runs on one line of at most ``bounce.MAX_LINE`` characters, in
linear time (``tests/core/test_regex_safety.py``).
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace

from smtpprobe.core.codeless_starts import enhanced_start, qmail_start
from smtpprobe.core.lazyre import GuardedPattern, LazyPattern, literal_anchors, text_grams
from smtpprobe.core.line_start import LETTER, WRAPPER_ENDS, Start, closing_at
from smtpprobe.core.reply_context import ENHANCED_CODE, NET_CMD_OBJECT

__all__ = ["REPLY_START", "providers_in", "split_reply_start"]

# A reply code where a reply can start: at the beginning of a line, or after a
# wrapper that ends in ":" or ";" ("said:", "応答:", "smtp;", "was:"). RFC 5321
# section 4.2.1 limits the second digit to 0-5; that keeps "465 SSL" out. Node's simplesmtp
# (nodemailer 0.x, Ghost) joins its words and the reply with " - ": "Mail from command
# failed - 501 …", "Invalid login - 535 …" (https://github.com/andris9/simplesmtp/blob/master/lib/client.js).
# A tab after the code, before an enhanced code, is a space a table or a tab-separated log
# put there ("550\t5.7.1 …"); before other words it is a table's number ("452\tmessages").
REPLY_START = GuardedPattern(
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
# Positive replies are only taken where they cannot be prose: with an enhanced
# code, or one of the replies a dialogue shows (RFC 5321 section 4.2.3).
_POSITIVE = frozenset({211, 214, 220, 221, 235, 250, 251, 252, 334, 354})

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
# support.google.com/a/answer/3726730?hl=de). Its editions in other languages quote the
# enhanced code with their own marks (a Swiss page: '450, «4.2.1» – Der Nutzer …',
# netcomplete.ch, development corpus), so any of the usual quotation marks will do.
_GOOGLE_ROW = GuardedPattern(
    r"^(?P<code>[2-5][0-5]\d),\s{0,8}[\"\u201c\u201d\u201e\u00ab\u00bb\u300c]\s{0,2}"
    r"(?P<enhanced>[245]\.\d{1,3}\.\d{1,3})\s{0,2}[\"\u201c\u201d\u00ab\u00bb\u300d]"
    r"(?:,|\s{1,8}[–—-])\s{0,8}(?=\S)"
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
# Exchange's queue and NDR diagnostics carry the last error in a "{LED=…}" field (Last Error
# Description): "Reason: [{LED=421 Timeout - closing connection};{MSG=};{FQDN=…}]"
# (github.com/forwardemail/free-email-forwarding/issues/294). A bare code needs the key: an
# enhanced code after it is found anyway.
_LED_CODE_START = re.compile(r"(?<=\{LED=)(?P<code>[2-5][0-5]\d)\s(?=[A-Za-z])")
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
# mailsend's "Expected smtp code 250, got 552" (github.com/muquit/mailsend, smtp.c errorMsg),
# Apache Commons Net's "SMTP response 421 received.  Server closed connection." (its
# SMTPConnectionClosedException, src/main/java/org/apache/commons/net/smtp/SMTP.java).
_CODE_ONLY_START = GuardedPattern(
    r"\bbut got code [\"\u201c\u201d](?P<code>[2-5][0-5]\d)[\"\u201c\u201d](?=\s{0,8}$)"
    r"|(?-i:\b(?:MAIL|RCPT|DATA) failed: )(?P<curl>[45][0-5]\d)(?=\s{0,8}$)"
    r"|(?-i:\bExpected smtp code [2-5]\d\d, got )(?P<mailsend>[45][0-5]\d)(?=\s{0,8}$)"
    r"|(?-i:\bSMTP response )(?P<commons>421)(?-i: received\.\s{1,3}Server closed connection\.)"
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
    # (a reason may break its line after "lost connection" or "connect", as a wrapped paste does)
    r"host\s|connect(?: to)?(?:\s|$)|lost connection(?:\s|$)|conversation with\s|"
    r"delivery temporarily|host or domain name not found|name service error|tls is required|"
    r"network is unreachable|sasl authentication failed|server certificate|cannot start tls",
    re.I,
)
# Postfix's smtpd logs "warning: …: SASL LOGIN authentication failed: Connection lost to
# authentication server" when its link to Dovecot's auth service breaks, and answers the
# client "454 4.7.0 Temporary authentication failure: …" with the same reason
# (src/xsasl/xsasl_dovecot_server.c and src/smtpd/smtpd_sasl_glue.c at Postfix 17830e5c;
# pastebin.com/iQAJuzTF). The log line alone stands for that temporary refusal.
_POSTFIX_SASL_LOST = GuardedPattern(
    r"(?<=\bauthentication failed: )Connection lost to authentication server"
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
    # (github.com/ActiveCampaign/postmark-rails/issues/31), and "The 'From' address you
    # supplied (…) is not a Sender Signature on your account." (github.com/mistio/mist-ce/
    # issues/965).
    (
        GuardedPattern(
            r"\bSender signature not defined for From address\b"
            r"|\bis not a Sender Signature on your account\b",
            re.I,
        ),
        550,
    ),
    # Comcast's (Xfinity's) refusal after repeated failed logins, which Thunderbird quotes
    # without its code: "… The server responded: resomta-h2p-555058.sys.comcast.net
    # resomta-h2p-555058.sys.comcast.net Excessive failed authentication, ESMTP server
    # temporarily not available." (support.mozilla.org/en-US/questions/1527542).
    (
        GuardedPattern(
            r"\bExcessive failed authentication, ESMTP server temporarily not available\b",
            re.I,
        ),
        450,
    ),
    # Telstra's (BigPond's) refusal of a sending IP an anti-spam list flagged, which mail apps
    # quote without its code: "Connection refused - OB115." (support.getmailbird.com/hc/en-us/
    # articles/39690426358679; support.mozilla.org/en-US/questions/1505666 names Abusix).
    (GuardedPattern(r"\bConnection refused [-–] OB\d{3}\b"), 550),
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


def providers_in(lowered: str) -> tuple[tuple[LazyPattern, int], ...]:
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
# Exim's "host mx.example [192.0.2.1]: 553 5.3.0" too: a line re-wrapped after the codes.
_PENDING_WRAPPER = GuardedPattern(r"(?:said|reason|response|was)\s{0,8}[:;：]$|\]\s{0,4}:$", re.I)
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
# stamp or a process number, no words): in pasted code, "x < 500 or …" is a comparison. Perl's
# Net::Cmd writes its debug lines after the object's name, "Net::SMTP=GLOB(0x267ec28)<<< 550 …"
# (git send-email --smtp-debug), which counts as the start of the line too.
_ARROW_START = GuardedPattern(
    rf"^(?:[\d\s:.,/\[\]-]{{0,40}}?|{NET_CMD_OBJECT})"
    r"(?:<<<|<<|<~\*|<~|<-|<\*\*|<|SMTP<<)\s{1,8}"
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
# After prose a reply counts only with an enhanced code of its class (RFC 3463 section 2):
# "Invalid login - 553 5.3.0 Auth failure", "… visit … for 550 5.7.26 instructions".
_PROSE_START = GuardedPattern(
    r"(?<![\w.#/+@-])(?P<code>[2-5][0-5]\d)(?P<sep>[ -])"
    r"(?=(?P<cls>[245])\.\d{1,3}\.\d{1,3}(?:[\s,;:.)\]」”'\"]|$))"
)
# PHPMailer's debug output pasted on one line: the next entry ends the reply.
_NEXT_ENTRY = GuardedPattern(
    r"\s(?:CLIENT -> (?:SERVER|SMTP)|SERVER -> CLIENT|SMTP -> (?:FROM SERVER|ERROR))"
)
_BRACKETS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {"'": "'", '"': '"', "“": "”", "‘": "’", "「": "」", "『": "』"}
# A program saying the reply it waited for did not come: the textbook SMTP client's "220
# reply not received from server." (Kurose and Ross's socket lab, pasted with its traceback)
# names the code it expected, and is not that reply: read as one, it was an "ok".
_NOT_RECEIVED = LazyPattern(
    r"(?:reply|response)\s(?:was\s|has\s)?not\s(?:been\s)?(?:received|returned|given)\b", re.I
)
_WORDS_WITHIN = 200  # a reply's first word comes within this many characters of its code


# Every kind of start needs a three-digit number standing alone (not inside "12345") or
# an enhanced status code: one search rules out a line before the kinds are tried.
_CANDIDATE = GuardedPattern(r"(?<!\d)[2-5][0-5]\d(?!\d)|[245]\.\d{1,3}\.\d")


def split_reply_start(
    line: str, providers: tuple[tuple[LazyPattern, int], ...] = _PROVIDER_TEXTS
) -> Start | None:
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
            enhanced_start,
            qmail_start,
        ):
            start = kind(stripped)
            if start is not None:
                return start
    return _logged_start(stripped, providers)


def _spelled_start(text: str) -> Start | None:
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
                return Start(text[: debug.start()].strip(), int(code), " ", "")
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
) -> Start | None:
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
                return Start("", code, " ", text.strip(), inferred=True)
            return Start(text[: exim.start()].strip(), code, " ", words, inferred=True)
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
            return Start(text[: dsn.start()].strip(), code, " ", rest, inferred=True)
    if "lost to auth" in text:
        lost = _POSTFIX_SASL_LOST.search(text)
        if lost is not None:
            return Start(
                text[: lost.start()].strip(), 454, " ", text[lost.start() :], inferred=True
            )
    for pattern, code in providers:
        provider = pattern.search(text)
        if provider is not None:
            # A wrapper before the words ("The server responded: …", "サーバーが応答しました：
            # …") is the program's, not the provider's: the reply starts after its end.
            end = max(text.rfind(mark, 0, provider.start()) for mark in WRAPPER_ENDS)
            if end < 0:
                return Start("", code, " ", text, inferred=True)
            words = text[end + 1 :].strip()
            return Start(text[: end + 1].strip(), code, " ", words, inferred=True)
    return None


def _structured_start(text: str) -> Start | None:
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
        _LED_CODE_START,
        _LETTRE_START,
    )
    only = _CODE_ONLY_START.search(text)
    if only is not None:  # the code is all there is of the reply
        # each client's form has its own group (a name cannot repeat); one of them matched
        code = next(group for group in only.groups() if group)
        return Start(text[: only.start()].strip(), int(code), " ", "")
    matches = [m for m in (pattern.search(text) for pattern in patterns) if m]
    for match in sorted(matches, key=lambda m: m.start()):
        if match.re is _PAREN_CODE_START and _SOURCE_LINE.search(
            text[max(0, match.start() - 23) : match.start()]
        ):
            # A PHP stack trace's frame, "#1 …/SmtpClient.php(513): MailSo\Smtp\…": the
            # file's line number (RainLoop's log, github.com/RainLoop/rainloop-webmail/issues/1542,
            # development corpus), not a reply.
            continue
        if match.re is _LETTRE_START and not text[match.end() :].strip():
            # lettre keeps only the code when the reply had no words: the code is the reply.
            return Start(text[: match.start()].strip(), int(match.group("code")), " ", "")
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
            not in (
                _PAREN_CODE_START,
                _BRACKET_CODE_START,
                _KEYED_CODE_START,
                _LED_CODE_START,
                _LETTRE_START,
            ),
            negative_only=True,
        )
        if start is not None:
            return start
    return None


def _colon_start(text: str) -> Start | None:
    for match in REPLY_START.finditer(text):
        wrapper = text[: match.start()].strip()
        if (
            wrapper
            and not wrapper.endswith(WRAPPER_ENDS)
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
            wrapper and not wrapper.endswith(WRAPPER_ENDS)
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


def _quoted_start(text: str) -> Start | None:
    found: list[tuple[int, Start]] = []
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


def _prose_start(text: str) -> Start | None:
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


def _inline_start(text: str) -> Start | None:
    """A reply inside a sentence without an enhanced code: in parentheses ("(535 Incorrect
    authentication data)"), after a comma ("…SMTP server, 553 Relaying disallowed …"), or a
    code alone in parentheses inside the refusal's sentence ("denial of connection (450)")."""
    found: list[tuple[int, Start]] = []
    for pattern in (_PAREN_REPLY, _COMMA_REPLY, _DASH_REPLY, _ERROR_REPLY):
        for match in pattern.finditer(text):
            code = int(match.group("code"))
            rest = text[match.end() :]
            if _is_http_status(code, rest) or _CONNECT_FAILED.match(rest):
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
            (begin, Start(text[:begin].strip(), int(denial.group("code")), " ", words.strip()))
        )
    return min(found, key=lambda item: item[0])[1] if found else None


# A program's own failure to connect after a code inside its sentence is that program's error
# with a status of its own, not a server's reply: AtroCore's "Error 500: Unable to connect with
# STARTTLS: stream_socket_enable_crypto(): Peer certificate CN=… did not match …" (its HTTP
# status, then Symfony Mailer's words; github.com/atrocore/atrocore/issues/1305, development
# corpus). A reply at a line's start may still say so ("451 Can't connect to - psmtp").
_CONNECT_FAILED = GuardedPattern(
    r"(?:unable|failed|could ?n[o']t|cannot|can't) (?:to )?connect\b", re.I
)


def _is_http_status(code: int, rest: str) -> bool:
    reason = _HTTP_REASONS.get(code)
    return reason is not None and rest[: len(reason)].lower() == reason


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
) -> Start | None:
    """A start at ``at`` in ``text`` if what follows the code can be a reply's text.

    ``colon``: the code was written "530:", which only an enhanced code makes a reply.
    ``pending``: after "said:" the words may follow on the next lines (Postfix re-wraps).
    """
    wrapper = text[:at].strip()
    closer = _CLOSERS.get(quote) if quote else None
    sealed = False
    if closer is not None:
        end = closing_at(closer, rest)
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
        return Start(text[:at].strip(), code, " ", rest, pending=True)
    # A bare "550" alone on a line, or followed by digits only, is not a reply; nor is
    # "553 | 553 5.7.1 …", where the reply is the second.
    if not rest or (not enhanced and not LETTER.search(rest, 0, _WORDS_WITHIN)) or rest[0] == "|":
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
    return Start(
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
