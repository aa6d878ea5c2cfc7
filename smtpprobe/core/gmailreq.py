"""Google's sender requirements, judged from what DNS shows (pure: plain data in, data out).

Google's "Email sender guidelines" (``GMAIL_GUIDELINES``) ask every sender to authenticate
with SPF or DKIM, to have matching forward and reverse DNS, and bulk senders to publish DMARC
and be aligned (RFC 9989 §4.4). What DNS can show is checked; the rest (TLS, spam rate,
message format, …) is listed as ``not-checkable`` rather than passed in silence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from smtpprobe.core.record import record
from smtpprobe.core.rules import Text

if TYPE_CHECKING:
    from smtpprobe.core.dnsverdict import DkimCheck, DmarcCheck, SpfCheck

__all__ = ["GMAIL_GUIDELINES", "Requirement", "gmail_requirements"]

GMAIL_GUIDELINES = "https://support.google.com/a/answer/81126"  # Email sender guidelines


@record
class Requirement:
    """One of Gmail's sender requirements and whether DNS shows it met."""

    id: str
    status: str  # pass, fail, unknown, not-checkable
    text: Text
    detail: Text | None = None


def gmail_requirements(
    spf: Sequence[SpfCheck],
    dkim: Sequence[DkimCheck],
    dmarc: DmarcCheck,
    fcrdns: Sequence[tuple[str, str, tuple[str, ...]]],
) -> tuple[Requirement, ...]:
    """Google's sender requirements (``GMAIL_GUIDELINES``): checked from DNS where possible.

    The rest is listed as ``not-checkable`` rather than passed in silence.
    """
    spf_state = (
        "unknown"
        if not spf
        else "pass"
        if all(c.result == "pass" for c in spf)
        else "unknown"
        if any(c.result == "temperror" for c in spf)
        else "fail"
    )
    dkim_state = (
        "pass"
        if any(k.usable for k in dkim)
        else "unknown"
        if not dkim or any(k.status == "temperror" for k in dkim)
        else "fail"
    )
    if dmarc.status == "found" and dmarc.policy is not None:
        dmarc_state = "pass"  # a record receivers apply (not one §4.10.1 has them ignore)
    elif dmarc.status == "temperror":
        dmarc_state = "unknown"
    else:
        dmarc_state = "fail"
    aligned = "pass" if "pass" in (spf_state, dkim_state) else "unknown"
    if aligned != "pass" and spf_state == "fail" and dkim_state == "fail":
        aligned = "fail"
    ptr_states = {state for _, state, _ in fcrdns}
    ptr_state = (
        "unknown"
        if not fcrdns or "unknown" in ptr_states - {"fail"}
        else "fail"
        if "fail" in ptr_states
        else "pass"
    )
    addresses = ", ".join(c.sender.ip for c in spf) or "-"
    # The selectors whose key counts, then the others by name: "[pass] selectors: s1, s2"
    # listed a revoked and a broken key beside the good one (a red-team round).
    usable = ", ".join(k.selector for k in dkim if k.usable)
    others = ", ".join(k.selector for k in dkim if not k.usable)
    selectors = usable or others
    if usable and others:
        selectors_en = f"{usable} (not usable: {others})"
        selectors_ja = f"{usable}（使えない鍵: {others}）"
    else:
        selectors_en = selectors_ja = selectors
    checked = [
        Requirement(
            "spf",
            spf_state,
            Text(
                "SPF passes for the outbound address",
                "送信サーバーの IP アドレスで SPF に合格する",
            ),
            Text(f"addresses: {addresses}", f"IP アドレス: {addresses}"),
        ),
        Requirement(
            "dkim",
            dkim_state,
            Text(
                "a DKIM key is published for a known selector",
                "既知のセレクタに DKIM の公開鍵が公開されている",
            ),
            Text(
                f"selectors: {selectors_en}"
                if selectors
                else "no selector known: give --dkim-selector (a selector can only be checked, "
                "not discovered, without a signed message)",
                f"セレクタ: {selectors_ja}"
                if selectors
                else "既知のセレクタがありません。--dkim-selector で指定してください（署名済みの"
                "メールがなければ、セレクタは確認できても見つけることはできません）",
            ),
        ),
        Requirement(
            "dmarc",
            dmarc_state,
            Text(
                "a DMARC record is published (p=none is enough for bulk senders)",
                "DMARC レコードが公開されている（一括送信者は p=none でも可）",
            ),
        ),
        Requirement(
            "alignment",
            aligned,
            Text(
                "the From: domain is aligned with SPF or DKIM (DMARC alignment)",
                "From: のドメインが SPF または DKIM と一致している（DMARC のアライメント）",
            ),
            _spf_alignment(spf_state),
        ),
        Requirement(
            "fcrdns",
            ptr_state,
            Text(
                "the outbound address has forward and reverse DNS that match (PTR)",
                "送信サーバーの IP アドレスに一致する正引き・逆引き（PTR）がある",
            ),
        ),
    ]
    unchecked = [
        (
            "tls",
            "the outbound server uses TLS to Gmail",
            "送信サーバーが Gmail への送信に TLS を使う",
        ),
        (
            "spam-rate",
            "a spam rate below 0.3% in Postmaster Tools",
            "Postmaster Tools の迷惑メール率が 0.3% 未満",
        ),
        ("rfc5322", "messages formatted per RFC 5322", "メールの形式が RFC 5322 に従っている"),
        (
            "no-gmail-from",
            "the From: header does not impersonate gmail.com",
            "From: ヘッダーで gmail.com を詐称しない",
        ),
        ("arc", "forwarders add ARC headers", "転送する場合は ARC ヘッダーを付ける"),
        (
            "unsubscribe",
            "one-click unsubscribe for bulk mail",
            "一括送信ではワンクリックで登録解除できる",
        ),
    ]
    return (
        *checked,
        *(Requirement(rid, "not-checkable", Text(en, ja)) for rid, en, ja in unchecked),
    )


def _spf_alignment(spf_state: str) -> Text:
    """Whether SPF alignment can hold for mail sent through the evaluated server (RFC 9989).

    SPF was judged for the From domain itself (the envelope sender taken to be the From
    address, as mail clients and Gmail's "Send mail as" send it), so a pass is aligned in
    both modes and anything else leaves DKIM as the only way to align.
    """
    if spf_state == "pass":
        return Text(
            "SPF alignment can hold: SPF passes for the From domain itself from these addresses",
            "SPF のアライメントは成り立ちます。これらのアドレスから From のドメインそのもので"
            "SPF に合格します",
        )
    if spf_state == "fail":
        return Text(
            "SPF alignment cannot hold for mail sent through this server (SPF does not pass "
            "for its address); only a DKIM signature of the From domain can align",
            "このサーバー経由のメールでは SPF のアライメントは成り立ちません（そのアドレスで SPF に"
            "合格しません）。From のドメインの DKIM 署名だけがアライメントを満たせます",
        )
    return Text(
        "SPF alignment unknown: SPF could not be evaluated for the sending address",
        "SPF のアライメントは不明です。送信アドレスで SPF を評価できませんでした",
    )
