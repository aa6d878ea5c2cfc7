"""The dialogue's stages named in Japanese, for sentences and labels alike.

The ids (``ehlo``, ``rcpt``) are what the JSON and ``--expect`` use; a Japanese sentence
names the stage instead ("EHLO の段階で", "宛先の指定の段階で"), and a label shows both.
"""

from __future__ import annotations

__all__ = ["STAGE_JA", "stage_ja"]

STAGE_JA = {
    "resolve": "名前解決",
    "connect": "接続",
    "tls": "TLS のハンドシェイク",
    "greeting": "最初の応答（220）",
    "ehlo": "EHLO",
    "starttls": "STARTTLS",
    "auth": "認証",
    "mail": "送信者の指定",
    "rcpt": "宛先の指定",
    "data": "本文の送信",
    "rset": "RSET",
    "quit": "QUIT",
}


def stage_ja(stage: str) -> str:
    """``stage``'s Japanese name, or the id where it has none."""
    return STAGE_JA.get(stage, stage)
