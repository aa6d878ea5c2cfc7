"""Whether a paste with no SMTP reply is about mail at all.

A client-side error is read from words any network program prints ("ECONNREFUSED",
"i/o timeout", "certificate verify failed"); npm, docker or a web client print the same
words about a registry or a web server. Such a paste still gets the reading (a mail
program's log often names no mail word either: 658 of the development corpus's texts have
none, and a gate on mail words cost 68 right answers there, 2026-12-03), but where nothing
in it mentions mail AND it names something that is not mail (a web address, a port no mail
service uses, a package or container tool), the answer says that its reading applies only
if the error came from sending mail. Pure.
"""

from __future__ import annotations

import re

from smtpprobe.core.classify import Finding
from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.rules import Text

__all__ = ["NOT_MAIL", "not_about_mail"]

# Any word of mail: the protocol, its commands and ports, mail servers and programs, an
# address, and the Japanese words for mail and sending. Deliberately wide: a false "mail"
# only leaves the note out.
_MAIL = LazyPattern(
    r"smtp|e?-?mail|\bmx\b|\bpop3?\b|\bimap|ehlo|helo|rcpt|starttls|sasl|postfix|exim|"
    r"sendmail|qmail|dovecot|exchange|outlook|thunderbird|gsmtp|\brelay|mailbox|recipient|"
    r"sender|\bmta\b|\bnodemailer|phpmailer|swiftmailer|mailkit|\bmutt|msmtp|\bsmtplib|"
    r"@[a-z0-9-]+\.[a-z]|[:\s](?:25|26|465|587|2525)\b|"
    # Spam and its blocklists: Postfix's "Client host [IP] blocked using zen.spamhaus.org;
    # https://www.spamhaus.org/…" names a web address and no other mail word.
    r"spam|dnsbl|\brbl\b|blocked using|"
    # Greylisting and reputation block lists are mail's alone: a greylisting filter's
    # "greylisted - try again later. See http://en.wikipedia.org/wiki/Greylisting", a
    # milter's "Listed on Barracuda Reputation Block. Check http://www.barracudacentral.org".
    r"greylist|graylist|reputation block|"
    # RFC 5321's own words for a 554 ("Transaction failed"), which IONOS's refusal keeps
    # with only a web address beside it.
    r"transaction failed|"
    r"メール|送信|受信|宛先|差出人|郵件|邮件|correo|courriel|posta",
    re.IGNORECASE,
)
# Something not mail that the paste names: a web address, a port of a web, database or
# cache service after a host, or a package, container or version-control tool.
_OTHER = LazyPattern(
    r"https?://|\bhttp/[12]|:(?:80|443|3000|5000|5432|6379|8000|8080|8443|9200|27017|3306)\b|"
    r"\bnpm\b|\byarn\b|\bpnpm\b|docker|kubectl|\bpip\b|pypi|\bgit\b|github\.com|registry|"
    r"\bapt(?:-get)?\b|\bbrew\b|maven|gradle|nuget|\bcargo\b",
    re.IGNORECASE,
)

NOT_MAIL = Finding(
    id="not-about-mail",
    message=Text(
        en=(
            "Nothing in this text mentions mail (SMTP, a mail server or a mail port), and it "
            "names a web address, another service's port or a package or container tool: "
            "this reading applies only if the error came from sending mail (smtpprobe "
            "explains mail errors)."
        ),
        ja=(
            "この文章にはメールに関する語（SMTP、メールサーバー、メール用のポート）がなく、"
            "Web のアドレス、メール以外のサービスのポート、パッケージやコンテナーのツールの"
            "名前があります。この判断が当てはまるのは、メールの送信で出たエラーの場合だけです"
            "（smtpprobe はメールのエラーを説明します）。"
        ),
    ),
)


def not_about_mail(text: str) -> bool:
    """True when ``text`` mentions no mail at all and names something that is not mail."""
    return _MAIL.search(text) is None and _OTHER.search(text) is not None
