"""Gmail's "Send mail as" verification dialog: what it is, and which of its fields to change.

When Gmail's dialog quotes an error, Gmail was logging in to the user's own provider's SMTP
server to verify the address; ``gmail_finding`` adds that, in Gmail's own words and menu
names, with the dialog field to change for the verdict's category. Pure.
"""

from __future__ import annotations

from smtpprobe.core.classify import Finding
from smtpprobe.core.rules import Text

__all__ = ["gmail_finding"]

# Gmail's "Send mail as" dialog quoting a server's reply: the rule explains the reply;
# this says where it was shown and which field of the dialog to change. Gmail's own words
# for the dialog's fields (Settings → See all settings → Accounts and Import → Send mail
# as → edit info), and in Japanese (設定 →「すべての設定を表示」→「アカウントとインポート」→
# 「名前」→「情報を編集」).
_GMAIL_VERIFYING = Text(
    en=(
        "Gmail showed this while verifying the 'Send mail as' address: Gmail logs in to "
        "your provider's SMTP server with the values of the dialog (SMTP Server, Port, "
        "Username, Password, 'Secured connection using TLS' or 'using SSL'), and that "
        "server refused."
    ),
    ja=(
        "これは Gmail の「他のメールアドレスを追加」（送信元の追加・編集）の確認で"
        "表示されたものです。"
        "Gmail は画面の値（SMTP サーバー、ポート、ユーザー名、パスワード、"
        "「TLS を使用したセキュリティで保護された接続」または「SSL を使用した…」）で"
        "ご利用のプロバイダーの送信サーバーにログインし、そのサーバーに拒否されました。"
    ),
)
_GMAIL_FIELD: dict[str, Text] = {
    "auth": Text(
        en=(
            "In the dialog, re-enter Username and Password: the login of the mail account at "
            "that provider (often the whole address), not your Google account's."
        ),
        ja=(
            "画面の「ユーザー名」と「パスワード」を入れ直してください。Google アカウントのものでは"
            "なく、そのプロバイダーのメールアカウントのもの（多くはメールアドレス全体）です。"
        ),
    ),
    "security": Text(
        en=(
            "In the dialog, match Port and the security option: 587 with 'Secured connection "
            "using TLS', or 465 with 'Secured connection using SSL'."
        ),
        ja=(
            "画面の「ポート」とセキュリティの選択を合わせてください。587 なら「TLS を"
            "使用したセキュリティで保護された接続」、465 なら「SSL を使用したセキュリティで"
            "保護された接続」です。"
        ),
    ),
    "address": Text(
        en=(
            "In the dialog, log in as the address you are adding: its own Username and "
            "Password at that provider."
        ),
        ja=(
            "画面では、追加するメールアドレスそのもののアカウント（そのプロバイダーでの"
            "「ユーザー名」と「パスワード」）でログインしてください。"
        ),
    ),
}
_GMAIL_FIELD_OF = {
    "auth-failed": "auth",
    "auth-required": "auth",
    "auth-unavailable": "security",
    "auth-method-disabled": "auth",
    "auth-mechanism-unsupported": "security",
    "tls-required": "security",
    "starttls-unavailable": "security",
    "wrong-security-mode": "security",
    "relay-denied": "address",
    "sender-rejected": "address",
}


def gmail_finding(category: str) -> Finding:
    field = _GMAIL_FIELD.get(_GMAIL_FIELD_OF.get(category, ""))
    message = _GMAIL_VERIFYING
    if field is not None:
        message = Text(en=f"{message.en} {field.en}", ja=f"{message.ja}{field.ja}")
    return Finding(id="gmail-send-mail-as-verification", message=message)
