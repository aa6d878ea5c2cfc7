"""The Japanese of the system's own error messages: the OS's and OpenSSL's certificate checks.

A transport failure's detail is often the system's words ("Connection refused",
"certificate has expired"); under ``--lang ja`` they read as Japanese instead of English in
quotes. The OS's side is taken from ``os.strerror`` by errno, so it is the wording of the
platform the probe runs on; name-resolution messages have no such function in Python and
are listed as glibc and macOS print them. The certificate messages are OpenSSL's
``X509_verify_cert_error_string`` texts (crypto/x509/x509_txt.c), both spellings of
"self-signed", and CPython's own host-name mismatch message (Modules/_ssl.c).
"""

from __future__ import annotations

import errno
import functools
import os

from smtpprobe.core.lazyre import LazyPattern

__all__ = ["system_message_ja"]

_BY_ERRNO: tuple[tuple[str, str], ...] = (
    ("ECONNREFUSED", "接続が拒否されました"),
    ("ETIMEDOUT", "接続がタイムアウトしました"),
    ("EHOSTUNREACH", "ホストへの経路がありません"),
    ("ENETUNREACH", "ネットワークに到達できません"),
    ("EHOSTDOWN", "ホストが停止しています"),
    ("ENETDOWN", "ネットワークが停止しています"),
    ("ECONNRESET", "相手側から接続がリセットされました"),
    ("ECONNABORTED", "接続が中断されました"),
    ("EPIPE", "接続が切れています（パイプの切断）"),
    ("ENOTCONN", "接続されていません"),
    ("EADDRNOTAVAIL", "指定されたアドレスを使えません"),
    ("EADDRINUSE", "アドレスはすでに使われています"),
    ("EAFNOSUPPORT", "このアドレスファミリーは使えません"),
    ("EACCES", "権限がありません"),
    ("EPERM", "操作が許可されていません"),
    ("ENOENT", "ファイルやフォルダーがありません"),
    ("ENOSPC", "ディスクに空きがありません"),
    ("EROFS", "読み取り専用のファイルシステムです"),
    ("EISDIR", "フォルダーです"),
    ("ENOTDIR", "フォルダーではありません"),
    ("EMFILE", "開いているファイルが多すぎます"),
    ("ENFILE", "システム全体で開いているファイルが多すぎます"),
    ("EINVAL", "引数が正しくありません"),
    ("EIO", "入出力エラーです"),
)

# getaddrinfo's messages: glibc's, then macOS's.
_NAME_RESOLUTION: dict[str, str] = {
    "Name or service not known": "名前が見つかりません（名前解決の失敗）",
    "Temporary failure in name resolution": "名前解決に一時的に失敗しました",
    "No address associated with hostname": "このホスト名にはアドレスがありません",
    "Non-recoverable failure in name resolution": "名前解決に失敗しました（回復できないエラー）",
    "nodename nor servname provided, or not known": "名前が見つかりません（名前解決の失敗）",
}


_CERTIFICATE: dict[str, str] = {
    "certificate has expired": "証明書の有効期限が切れています",
    "certificate is not yet valid": "証明書はまだ有効期間になっていません",
    "self-signed certificate": "自己署名の証明書です",
    "self signed certificate": "自己署名の証明書です",
    "self-signed certificate in certificate chain": "証明書チェーンに自己署名の証明書があります",
    "self signed certificate in certificate chain": "証明書チェーンに自己署名の証明書があります",
    "unable to get local issuer certificate": "発行元の証明書が見つかりません",
    "unable to get issuer certificate": "発行元の証明書が見つかりません",
    "unable to verify the first certificate": "最初の証明書を検証できません",
    "certificate signature failure": "証明書の署名が正しくありません",
    "certificate revoked": "証明書は失効しています",
    "unsuitable certificate purpose": "証明書の用途が合っていません",
    "invalid CA certificate": "CA 証明書が正しくありません",
    "path length constraint exceeded": "証明書チェーンが長すぎます（パス長の制約）",
    "CA certificate key too weak": "CA 証明書の鍵が弱すぎます",
    "EE certificate key too weak": "サーバー証明書の鍵が弱すぎます",
    "CA signature digest algorithm too weak": "CA 証明書の署名のハッシュ方式が弱すぎます",
}
_MISMATCH = LazyPattern(
    r"(?P<what>Hostname|IP address) mismatch, certificate is not valid for '(?P<name>[^']*)'\.?"
)


@functools.cache
def _table() -> dict[str, str]:
    table = {**_NAME_RESOLUTION, **_CERTIFICATE}
    for name, ja in _BY_ERRNO:
        code = getattr(errno, name, None)
        if code is not None:
            table.setdefault(os.strerror(code), ja)
    return table


def system_message_ja(text: str) -> str | None:
    """The Japanese of the system message ``text``, or None when it is not one."""
    text = text.strip()
    mismatch = _MISMATCH.fullmatch(text)
    if mismatch is not None:
        what = "ホスト名" if mismatch["what"] == "Hostname" else "IP アドレス"
        return f"証明書は {mismatch['name']} の{what}に対して有効ではありません"
    return _table().get(text)
