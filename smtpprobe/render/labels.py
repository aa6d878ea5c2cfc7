"""The words of the text outputs in English and Japanese, and what the JSON keeps as ids.

Categories, phases and failure kinds are ids (``relay-denied``, ``rcpt``): the JSON
and ``--expect`` use them unchanged. A Japanese reader sees each category with its
Japanese name (``中継拒否（relay-denied）``). The notes and failure details the
probe records are English sentences made from a few templates (the driver, the
strict reply reader, the egress lookup, the origin); ``note`` gives each template's
Japanese, and shows anything it does not know as a quotation (「…」), the way a
server's reply or a library's message is quoted, never as an English sentence in a
Japanese report.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.stage_names import STAGE_JA
from smtpprobe.render.system_ja import system_message_ja

if TYPE_CHECKING:  # every command reads its language here: the rule module loads on use
    from smtpprobe.core.rules import Text

__all__ = [
    "CATEGORY_JA",
    "FAILURE_EN",
    "FAILURE_JA",
    "category_label",
    "category_names",
    "default_lang",
    "failure_label",
    "note",
    "phase_doing",
    "quote",
]

CATEGORY_JA: Mapping[str, str] = {
    # The health checks' own outcomes (smtpprobe.runner), beside the verdicts' categories.
    "config-error": "設定エラー",
    "skipped": "スキップ",
    "ok": "成功",
    "dns-failure": "名前解決の失敗",
    "connect-refused": "接続の拒否",
    "connect-timeout": "接続のタイムアウト",
    "network-unreachable": "ネットワークに到達できない",
    "tls-handshake-failed": "TLS ハンドシェイクの失敗",
    "tls-certificate-invalid": "証明書が無効",
    "wrong-security-mode": "暗号化方式の誤り",
    "starttls-unavailable": "STARTTLS 非対応",
    "greeting-rejected": "接続時の拒否",
    "server-busy": "サーバーの混雑",
    "tls-required": "暗号化が必要",
    "auth-required": "認証が必要",
    "auth-unavailable": "認証に非対応",
    "auth-failed": "認証の失敗",
    "auth-method-disabled": "認証方式が無効",
    "auth-mechanism-unsupported": "対応する認証方式がない",
    "client-ip-rejected": "接続元 IP の拒否",
    "blocklisted": "ブロックリスト掲載",
    "relay-denied": "中継の拒否",
    "sender-rejected": "送信者の拒否",
    "recipient-unknown": "宛先不明",
    "recipient-disabled": "宛先が無効",
    "mailbox-full": "宛先の容量超過",
    "message-too-large": "メールが大きすぎる",
    "unauthenticated-sender": "送信ドメイン認証の不足",
    "dmarc-rejected": "DMARC による拒否",
    "rate-limited": "送信数の制限",
    "greylisted": "グレーリスティング（一時保留）",
    "temporary-failure": "一時的な失敗",
    "protocol-error": "プロトコル違反",
    "content-rejected": "内容による拒否",
    "timeout": "タイムアウト",
    "connection-lost": "接続の切断",
    "proxy-failed": "プロキシの失敗",
}


# What a failure kind (``FailureKind``) is, in a sentence's words: the head line of a
# client-side error that ``explain`` found in a paste (no SMTP reply in it).
FAILURE_EN: Mapping[str, str] = {
    "dns-failure": "the server name was not found",
    "connect-refused": "the connection was refused",
    "connect-timeout": "the connection got no answer",
    "network-unreachable": "no route to the server",
    "tls-handshake-failed": "the TLS handshake failed",
    "tls-certificate-invalid": "the certificate was not accepted",
    "timeout": "no reply in time",
    "connection-lost": "the connection was cut",
    "malformed-reply": "not an SMTP reply",
    "starttls-not-offered": "STARTTLS not offered",
    "auth-not-offered": "AUTH not offered",
    "no-common-mechanism": "no login method in common",
    "proxy-refused": "the proxy could not be reached",
    "proxy-auth-failed": "the proxy refused the login",
    "proxy-target-unreachable": "the proxy could not reach the server",
    "proxy-timeout": "the proxy did not answer in time",
    "reported-refusal": "a refusal, without the server's reply",
}
FAILURE_JA: Mapping[str, str] = {
    "dns-failure": "サーバー名が見つからない",
    "connect-refused": "接続が拒否された",
    "connect-timeout": "接続に応答がない",
    "network-unreachable": "サーバーへの経路がない",
    "tls-handshake-failed": "TLS ハンドシェイクの失敗",
    "tls-certificate-invalid": "証明書が受け入れられない",
    "timeout": "応答が時間内にない",
    "connection-lost": "接続が切れた",
    "malformed-reply": "SMTP の応答ではない",
    "starttls-not-offered": "STARTTLS が提示されない",
    "auth-not-offered": "AUTH が提示されない",
    "no-common-mechanism": "共通の認証方式がない",
    "proxy-refused": "プロキシに接続できない",
    "proxy-auth-failed": "プロキシが認証を拒否",
    "proxy-target-unreachable": "プロキシからサーバーに届かない",
    "proxy-timeout": "プロキシが時間内に応答しない",
    "reported-refusal": "サーバーの応答なしで報告された拒否",
}


def failure_label(kind: str, lang: str) -> str:
    """A failure kind as a reader sees it; the id itself when it has no words here."""
    table = FAILURE_JA if lang == "ja" else FAILURE_EN
    return table.get(kind, kind)


def default_lang(environ: Mapping[str, str] = os.environ) -> str:
    """Japanese when the locale says so (LC_ALL, LC_MESSAGES, LANG), else English."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def category_label(category: str, lang: str, *, short: bool = False) -> str:
    """The category as a reader sees it: the id in English; in Japanese its name and the id.

    ``short`` gives the Japanese name alone, for narrow tables.
    """
    name = CATEGORY_JA.get(category) if lang == "ja" else None
    if name is None:
        return category
    return name if short else f"{name}（{category}）"


def category_names(category: str) -> Text:
    """The category named for a reader in both languages (``category_label``)."""
    from smtpprobe.core.rules import Text

    return Text(en=category_label(category, "en"), ja=category_label(category, "ja"))


# The SMTP step a reply answered or a failure happened at, by the phase ids of
# smtpprobe.core.transcript, named in Japanese (the id stays beside it, as for categories).


def stage_label(stage: str, lang: str, *, short: bool = False) -> str:
    """``stage`` for display: in Japanese its name with the id (``short``: the name alone,
    for narrow tables), else the id."""
    name = STAGE_JA.get(stage) if lang == "ja" else None  # core.stage_names: as sentences say
    if name is None:
        return stage
    if short or name == stage.upper():  # "EHLO", not "EHLO（ehlo）"
        return name
    return f"{name}（{stage}）"


def quote(text: str) -> str:
    """A message that is not ours to translate, quoted for a Japanese sentence."""
    return f"「{text}」"


# What the status line says while waiting in each phase (``smtpprobe.api.probe``'s
# ``on_phase``): English, Japanese.
_DOING = {
    "resolve": ("looking up the server's address", "サーバーのアドレスを調べています"),
    "connect": ("connecting", "接続しています"),
    "tls": ("waiting for the TLS handshake", "TLS のハンドシェイクを待っています"),
    "greeting": ("waiting for the greeting", "最初の応答（220）を待っています"),
    "ehlo": ("waiting for the EHLO reply", "EHLO の応答を待っています"),
    "starttls": ("waiting for the STARTTLS reply", "STARTTLS の応答を待っています"),
    "auth": ("waiting for the AUTH reply", "認証（AUTH）の結果を待っています"),
    "mail": ("waiting for the MAIL FROM reply", "MAIL FROM の応答を待っています"),
    "rcpt": ("waiting for the RCPT TO reply", "RCPT TO の応答を待っています"),
    "data": ("waiting for the DATA reply", "DATA の応答を待っています"),
    "rset": ("waiting for the RSET reply", "RSET の応答を待っています"),
    "quit": ("waiting for the QUIT reply", "QUIT の応答を待っています"),
    "security-check": (
        "checking which security mode the port speaks",
        "ポートの暗号化方式を確かめています",
    ),
    "egress": ("looking up the public address", "グローバルアドレスを調べています"),
}


def phase_doing(phase: str, lang: str) -> str:
    """What the probe is doing in ``phase``, for the status line."""
    en, ja = _DOING.get(phase, (f"waiting ({phase})", f"待機中（{phase}）"))
    return ja if lang == "ja" else en


_SCOPE_JA = {
    "loopback": "ループバック",
    "link-local": "リンクローカル",
    "private": "プライベート",
    "reserved": "予約済み",
}

# (template, Japanese): the templates of the English notes and failure details, as
# regular expressions over the whole text. Named groups are carried over as they are,
# except ``why`` (a library's or the system's own words: quoted) and ``scope``.
_NOTES: tuple[tuple[str, str], ...] = (
    # Transport events (smtpprobe.driver, smtpprobe.transport).
    (r"(?P<a>\S+) port (?P<p>\d+) from (?P<l>\S+)", "{a} のポート {p}（接続元 {l}）"),
    (
        r"(?P<a>\S+) port (?P<p>\d+) via (?P<x>\S+) \((?P<e>[^)]*)\) from (?P<l>\S+)",
        "{a} のポート {p}（{x}（{e}）経由、接続元 {l}）",
    ),
    (r"(?P<a>\S+) via (?P<x>\S+)", "{a}（{x} 経由）"),
    (
        r"(?P<a>\S+) port (?P<p>\d+) from (?P<l>\S+) again, certificate checking off "
        r"\(--insecure\)",
        "{a} のポート {p}（再接続、接続元 {l}、証明書の検証なし --insecure）",
    ),
    (r"\(left to the proxy: (?P<s>\S+)\)", "（名前解決はプロキシに任せます: {s}）"),
    (r"(?P<n>\d+) bytes", "{n} バイト"),
    (r"\(message\)", "（本文）"),
    (
        r"this reply came before the command was sent; the command was held back",
        "この応答はコマンドを送る前に届いたため、コマンドは送っていません",
    ),
    (r"pipelined", "PIPELINING でまとめて送信"),
    (r"before the credentials were sent", "認証情報を送る前"),
    (r"after the server's error challenge", "サーバーがエラーを返した後"),
    (
        r"flight cut short or out of step: retried without pipelining",
        "まとめて送ったコマンドへの応答が途中で切れたかずれていたため、"
        "PIPELINING なしでやり直しました",
    ),
    # Failure details.
    (r"no reply within (?P<t>\S+) s", "{t} 秒以内に応答がありません"),
    (
        r"no complete reply within (?P<t>\S+) s \((?P<n>\d+) bytes of an unfinished reply, "
        r"its lines ended by CR alone, without LF\)",
        "{t} 秒以内に応答が終わりませんでした"
        "（途中まで {n} バイト。行末が CR だけで LF がありません）",
    ),
    (
        r"no complete reply within (?P<t>\S+) s \((?P<n>\d+) bytes of an unfinished reply\)",
        "{t} 秒以内に応答が終わりませんでした（途中まで {n} バイト）",
    ),
    (r"no TLS handshake within (?P<t>\S+) s", "{t} 秒以内に TLS のハンドシェイクが終わりません"),
    (r"no answer within the time limit", "制限時間内に応答がありません"),
    (r"no answer from (?P<a>\S+)", "{a} から応答がありません"),
    (r"no address to connect to", "接続先のアドレスがありません"),
    (r"the server closed the connection", "サーバーが接続を閉じました"),
    (r"the connection is closed", "接続はすでに閉じています"),
    (r"connection lost \((?P<why>.*)\)", "接続が切れました（{why}）"),
    (r"the resolver did not answer in time", "DNS サーバーが時間内に応答しませんでした"),
    (r"not a valid host name \((?P<why>.*)\)", "ホスト名として正しくありません（{why}）"),
    (
        r"the whole probe took longer than --timeout (?P<t>\S+) s",
        "確認全体が --timeout の {t} 秒を超えました",
    ),
    (r"no TLS", "TLS で応答しません"),
    (r"no TLS \((?P<e>\w+)\)", "TLS で応答しません（{e}）"),
    (r"a (?P<c>\d+) reply", "{c} の応答"),
    (
        r"the server sent plaintext where the TLS handshake should begin",
        "TLS のハンドシェイクが始まるはずのところで、サーバーが平文を送りました",
    ),
    (r"the connection closed during the TLS handshake", "TLS のハンドシェイク中に接続が閉じました"),
    # The second connection of a security check (smtpprobe.portcheck): its command and note.
    (
        r"\(new connection: TLS handshake from the first byte\)",
        "（新しい接続: 最初のバイトから TLS ハンドシェイク）",
    ),
    (
        r"\(new connection: plaintext, read the greeting and EHLO\)",
        "（新しい接続: 平文で最初の応答と EHLO の応答を読む）",
    ),
    (
        r"\(new connection: read the certificate, without verification\)",
        "（新しい接続: 検証せずに証明書を読む）",
    ),
    (
        r"\(new connection: STARTTLS, read the certificate\)",
        "（新しい接続: STARTTLS のあと証明書を読む）",
    ),
    (r"certificate: (?P<s>.*)", "証明書: {s}"),
    (r"no greeting", "最初の応答がありません"),
    (r"closed before a greeting \((?P<e>\w+)\)", "最初の応答の前に接続が切れました（{e}）"),
    (r"the EHLO reply does not list STARTTLS", "EHLO の応答に STARTTLS がありません"),
    (r"the EHLO reply does not list AUTH", "EHLO の応答に AUTH がありません"),
    (
        r"the EHLO reply after STARTTLS does not list AUTH; the one before it did \((?P<m>.*)\)",
        "STARTTLS 後の EHLO の応答に AUTH がありません（STARTTLS 前の応答にはありました: {m}）",
    ),
    (
        r"the EHLO reply lists AUTH without any mechanism",
        "EHLO の応答の AUTH に認証方式がありません",
    ),
    (r"the server offers AUTH (?P<m>.*)", "サーバーが提示する AUTH は {m} です"),
    # The strict reply reader (smtpprobe.core.wire): {q} is the line received, quoted.
    (
        r"(?P<q>'.*') does not start with a three-digit reply code",
        "{q} は 3 桁の応答コードで始まっていません",
    ),
    (
        r"(?P<q>'.*'): (?P<c>\S+) is not a valid reply code \(first digit 2-5, second 0-5, "
        r"RFC 5321 section 4\.2\.1\)",
        "{q}: {c} は応答コードとして正しくありません（1 桁目は 2〜5、2 桁目は 0〜5。"
        "RFC 5321 4.2.1 節）",
    ),
    (
        r"(?P<q>'.*'): the code must be followed by a space or '-' \(RFC 5321 section 4\.2\)",
        "{q}: コードの後は空白か「-」でなければなりません（RFC 5321 4.2 節）",
    ),
    (
        r"(?P<q>'.*'): a continuation of a (?P<c>\d+) reply carries another code "
        r"\(RFC 5321 section 4\.2\.1\)",
        "{q}: {c} の応答の続きの行が別のコードです（RFC 5321 4.2.1 節）",
    ),
    (
        r"a reply line longer than (?P<n>\d+) bytes \((?P<q>.*)\)",
        "{n} バイトを超える応答行です（{q}）",
    ),
    (r"a reply longer than (?P<n>\d+) bytes", "{n} バイトを超える応答です"),
    # Where the probe came from (smtpprobe.core.origin, smtpprobe.egress, smtpprobe.api).
    (
        r"egress lookup off \(--no-egress-lookup\)",
        "接続元の調査はしていません（--no-egress-lookup）",
    ),
    (
        r"no DNS egress lookup through a proxy \(UDP cannot follow the route\)",
        "プロキシ経由では DNS で接続元を調べられません（UDP はその経路を通りません）",
    ),
    (
        r"no egress DNS answer within (?P<t>\S+) s",
        "接続元を調べる DNS の応答が {t} 秒以内にありませんでした",
    ),
    (
        r"egress DNS lookup failed \((?P<why>.*)\)",
        "接続元を調べる DNS の問い合わせに失敗しました（{why}）",
    ),
    (
        r"the proxy is on this machine \(e\.g\. ssh -D\): its exit is the far end of the "
        r"tunnel, which only the server's echo or the far host can show",
        "プロキシはこのマシン上にあります（ssh -D など）。出口はトンネルの向こう側で、"
        "それが分かるのはサーバーが応答に表示するアドレスか、向こう側のホストだけです",
    ),
    (
        r"the server echoed (?P<e>\S+), not (?P<p>\S+)",
        "サーバーが表示したアドレスは {e} で、{p} ではありません",
    ),
    (
        r"the public address is IPv(?P<a>\d) but the probe connected over IPv(?P<b>\d)",
        "グローバルアドレスは IPv{a} ですが、接続には IPv{b} を使いました",
    ),
    (r"public address unknown", "グローバルアドレスは不明です"),
    (
        r"(?P<a>\S+) is a (?P<scope>[a-z-]+) address: it has no country",
        "{a} は{scope}アドレスのため、国はありません",
    ),
    (
        r"no IP-to-country data set is installed",
        "IP アドレスから国を調べるデータがインストールされていません",
    ),
    (r"(?P<a>\S+) is not in the IP-to-country data", "{a} は国のデータにありません"),
    # The comment of the test command in Gmail readiness (smtpprobe.core.readiness).
    (r"a SOCKS proxy whose exit is outside Japan", "出口が国外にある SOCKS プロキシ"),
)
_WORDS = LazyPattern(r"[A-Za-z]{2,}[\s,:;]+[A-Za-z]{2,}")


@functools.cache
def _compiled_notes() -> tuple[tuple[re.Pattern[str], str], ...]:
    # Compiled on first Japanese use: an English run never needs them (~10 ms at start-up).
    return tuple((re.compile(pattern, re.DOTALL), ja) for pattern, ja in _NOTES)


def note(text: str, lang: str) -> str:
    """A recorded note or failure detail in ``lang``; quoted in Japanese when unknown."""
    if lang != "ja" or not text:
        return text
    if (system := system_message_ja(text)) is not None:
        return system
    for pattern, ja in _compiled_notes():
        match = pattern.fullmatch(text)
        if match is not None:
            values = dict(match.groupdict())
            if "why" in values:
                values["why"] = system_message_ja(values["why"]) or quote(values["why"])
            if "scope" in values:
                values["scope"] = _SCOPE_JA.get(values["scope"], values["scope"])
            return ja.format(**values)
    # Words of ours not in the table, or of a library: quoted, never an English sentence.
    return quote(text) if _WORDS.search(text) else text
