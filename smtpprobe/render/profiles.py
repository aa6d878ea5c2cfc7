"""``smtpprobe profiles`` and ``profiles show``: the list, and one profile in full.

The list is data for scripts too (name, server, port, security, title; no header),
so it is the same in every language; ``show`` speaks the reader's language, with
the profile's own values (server names, mechanisms, sources) as they are, and
marks each value that no page of the provider confirmed (the profile's
``unverified`` keys) so the reader knows which one to doubt first.
"""

from __future__ import annotations

from collections.abc import Iterable

from smtpprobe.core.profile import Profile
from smtpprobe.render.columns import pad, table, width

__all__ = ["format_profile", "format_profile_list"]

_LABELS = {
    "en": {
        "server": "server",
        "yours": "{} (give yours with --host)",
        "port": "port",
        "also": "also",
        "user": "user name",
        "auth": "AUTH",
        "password": "password",
        "from": "from ${} (or --password-env / --password-stdin)",
        "geo": "geo-IP",
        "geo_text": "this provider can reject clients outside Japan",
        "geo_off": "turn off",
        "unverified": "(unverified)",
        "notes": "notes",
        "gmail": "gmail",
        "rule": "rule",
        "source": "source",
        "file": "file",
    },
    "ja": {
        "server": "サーバー",
        "yours": "{}（ご自身のサーバー名を --host で指定）",
        "port": "ポート",
        "also": "他に",
        "user": "ユーザー名",
        "auth": "認証方式",
        "password": "パスワード",
        "from": "環境変数 ${} から（または --password-env / --password-stdin）",
        "geo": "国外制限",
        "geo_text": "このプロバイダーは日本国外からの接続を拒否することがあります",
        "geo_off": "解除方法",
        "unverified": "（未確認）",
        "notes": "注意",
        "gmail": "Gmail",
        "rule": "ルール",
        "source": "出典",
        "file": "ファイル",
    },
}

# The profile's ``username`` form, in words.
_USERNAME = {
    "en": {
        "email": "the full email address",
        "local-part": "the part before @",
        "account-id": "the account ID",
        "any": "as issued",
    },
    "ja": {
        "email": "メールアドレス全体",
        "local-part": "@ より前の部分",
        "account-id": "アカウント ID",
        "any": "プロバイダーから通知されたもの",
    },
}


def format_profile_list(profiles: Iterable[Profile], lang: str = "en") -> str:
    """One line per profile: name, server, port, security, title (in ``lang``)."""
    rows = [
        (p.name, p.host or p.host_pattern or "", str(p.port), p.security.value, title_of(p, lang))
        for p in profiles
    ]
    return "\n".join(table(rows, rule=False)) if rows else ""


def title_of(p: Profile, lang: str) -> str:
    """The profile's title, its Japanese one where it has one and ``lang`` is "ja"."""
    return p.title_ja if lang == "ja" and p.title_ja else p.title


def format_profile(p: Profile, lang: str = "en") -> str:
    """One profile in full: settings, notes, Gmail hints, its own rules, sources, file."""
    key = "ja" if lang == "ja" else "en"
    labels = _LABELS[key]

    def marked(value: str, *keys: str) -> str:
        """``value`` with the unverified mark when any of ``keys`` is unverified."""
        if not p.unverified.intersection(keys):
            return value
        # The Japanese mark opens with a full-width parenthesis: no space before it.
        return f"{value}{'' if key == 'ja' else ' '}{labels['unverified']}"

    server = p.host or labels["yours"].format(p.host_pattern)
    rows: list[tuple[str, str]] = [
        ("server", marked(server, "host" if p.host else "host_pattern")),
        ("port", marked(f"{p.port} ({p.security.value})", "port", "security")),
    ]
    rows += [
        ("also", marked(f"{alt.port} ({alt.security.value})", "alternatives"))
        for alt in p.alternatives
    ]
    username = _USERNAME[key].get(p.username)
    shown_user = f"{username} ({p.username})" if username else p.username
    rows.append(("user", marked(shown_user, "username")))
    rows.append(("auth", marked(" ".join(p.auth_mechanisms), "auth_mechanisms")))
    if p.password_env:
        rows.append(("password", labels["from"].format(p.password_env)))
    if p.geo_ip_filter:
        rows.append(("geo", marked(labels["geo_text"], "geo_ip_filter")))
        if p.geo_ip_filter_setting:
            setting = p.geo_ip_filter_setting.get(key)
            rows.append(("geo_off", marked(setting, "geo_ip_filter_setting")))
    if p.notes:
        rows.append(("notes", marked(p.notes.get(key), "notes")))
    if p.gmail_notes:
        rows.append(("gmail", marked(p.gmail_notes.get(key), "gmail")))
    rows += [("rule", f"{rule.id} → {rule.category}") for rule in p.rules]
    rows += [("source", source) for source in p.sources]
    rows.append(("file", p.source))
    column = max(width(labels[name]) for name, _ in rows)
    lines = [f"{p.name}: {title_of(p, key)}"]
    lines += [f"  {pad(labels[name], column)}  {value}" for name, value in rows]
    return "\n".join(lines)
