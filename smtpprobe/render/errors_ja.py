"""The Japanese of smtpprobe's own one-line error messages (``--lang ja``).

Each entry is the English message's template as a regular expression over the whole
message, and its Japanese; named groups (options, values, file names) are carried over as
they are. A message without an entry keeps its English words inside Japanese quotes, so a
Japanese line never reads as an English sentence. Compiled on first Japanese use only.
"""

from __future__ import annotations

import functools
import re

__all__ = ["error_ja"]

_V = r"(?P<v>.*?)"  # an option's value as the message quotes it
_O = r"(?P<o>--[\w-]+|DOMAIN|--sender's domain)"

_MESSAGES: tuple[tuple[str, str], ...] = (
    # The server and the port (smtpprobe.core.spec).
    (
        "no server to probe: name a PROFILE or give --host",
        "確認するサーバーがありません: プロファイル名（PROFILE）か --host を指定してください",
    ),
    (
        rf"{_O} {_V}: a host name contains no spaces or control characters",
        "{o} {v}: ホスト名に空白や制御文字は使えません",
    ),
    (
        rf"{_O}: give the server's host name or IP address",
        "{o}: サーバーのホスト名か IP アドレスを指定してください",
    ),
    (rf"{_O} {_V}: a port is a number from 1 to 65535", "{o} {v}: ポート番号は 1〜65535 の数です"),
    (
        rf"{_O} {_V}: after ':' comes a port, a number from 1 to 65535",
        "{o} {v}: 「:」のあとにはポート番号（1〜65535）を書きます",
    ),
    (
        rf"{_O} {_V}: not a host name or an IP address",
        "{o} {v}: ホスト名でも IP アドレスでもありません",
    ),
    (
        rf"{_O} {_V}: a host name holds letters, digits, '-' and '.' only",
        "{o} {v}: ホスト名に使えるのは英数字、「-」、「.」だけです",
    ),
    (
        rf"{_O} {_V}: a host name has no empty labels \('\.\.'\)",
        "{o} {v}: ホスト名に空のラベル（「..」）は使えません",
    ),
    (
        rf"{_O}: a host name is at most 253 characters \(RFC 1035\)",
        "{o}: ホスト名は 253 文字までです（RFC 1035）",
    ),
    (
        rf"{_O} {_V}: a label is at most 63 characters \(RFC 1035\)",
        "{o} {v}: ホスト名の各ラベルは 63 文字までです（RFC 1035）",
    ),
    (
        rf"{_O} {_V}: not a valid IP address \(four numbers 0-255: 192\.0\.2\.1\), "
        r"and a host name does not end in a number",
        "{o} {v}: 正しい IP アドレス（0〜255 の数 4 つ。例: 192.0.2.1）ではなく、"
        "数字で終わるホスト名もありません",
    ),
    (
        rf"{_O} {_V}: give a domain name, e.g\. example\.jp",
        "{o} {v}: ドメイン名を指定してください（例: example.jp）",
    ),
    (
        rf"{_O} {_V}: use implicit-tls \(ssl\), starttls \(tls\) or plain",
        "{o} {v}: implicit-tls（ssl）、starttls（tls）、plain のいずれかを指定してください",
    ),
    (
        rf"{_O} {_V}: give a positive, finite number of seconds",
        "{o} {v}: 正の有限の秒数を指定してください",
    ),
    (rf"{_O} {_V}: give a positive number of seconds", "{o} {v}: 正の秒数を指定してください"),
    (
        r"--host (?P<h>\S+) names port (?P<a>\d+), but --port says (?P<b>\d+)",
        "--host {h} はポート {a} を指定していますが、--port は {b} です",
    ),
    # Addresses and the login.
    (
        r"the password holds bytes that are not UTF-8 text; give it in UTF-8 "
        r"\(check the terminal's or the file's encoding\)",
        "パスワードに UTF-8 ではないバイトが含まれています。UTF-8 で指定してください"
        "（端末やファイルの文字コードをご確認ください）",
    ),
    (
        r"the OAuth token holds bytes that are not UTF-8 text; give it in UTF-8 "
        r"\(check the terminal's or the file's encoding\)",
        "OAuth トークンに UTF-8 ではないバイトが含まれています。UTF-8 で指定してください"
        "（端末やファイルの文字コードをご確認ください）",
    ),
    (
        r"--password-stdin: the first line is not UTF-8 text; give the password in UTF-8",
        "--password-stdin: 1 行目が UTF-8 の文字列ではありません。パスワードを UTF-8 で"
        "渡してください",
    ),
    (
        r"no password entered \(end of input at the prompt\)",
        "パスワードが入力されませんでした（入力が終了しました）",
    ),
    (
        r"the password typed at the prompt is not UTF-8 text; set the terminal to UTF-8",
        "入力されたパスワードが UTF-8 の文字列ではありません。端末を UTF-8 に設定してください",
    ),
    (
        r"--expect '': give one or more categories, e\.g\. --expect relay-denied",
        "--expect '': 分類名を 1 つ以上指定してください（例: --expect relay-denied）",
    ),
    (
        rf"{_O} '': give the path of a YAML file",
        "{o} '': YAML ファイルのパスを指定してください",
    ),
    (
        rf"--ca-file {_V}: give the path of a CA file \(PEM\)",
        "--ca-file {v}: CA 証明書ファイル（PEM）のパスを指定してください",
    ),
    (
        r"(?P<f>.+?): is a folder(?P<e> \(an empty path is read as the current folder\))?, "
        r"not a (?P<w>.+?): give the path of the file",
        "{f}: フォルダーです（ファイルではありません）。ファイルのパスを指定してください",
    ),
    (
        rf"{_O}: give a mail address such as you@example\.jp",
        "{o}: メールアドレスを指定してください（例: you@example.jp）",
    ),
    (
        rf"{_O} {_V}: give a mail address(?:,)? (?:such as|e\.g\.) (?P<e>\S+)",
        "{o} {v}: メールアドレスを指定してください（例: {e}）",
    ),
    (
        rf"{_O} {_V}: a mail address contains no spaces, control characters or <>",
        "{o} {v}: メールアドレスに空白、制御文字、<> は使えません",
    ),
    (
        r"--user is required \(or --no-auth to probe without logging in\)",
        "--user が必要です（ログインせずに確認するなら --no-auth）",
    ),
    (
        r"--from ADDRESS is required when the user name is not a mail address",
        "ユーザー名がメールアドレスでないときは --from ADDRESS が必要です",
    ),
    (
        r"--from ADDRESS is required: there is no user name to take it from",
        "--from ADDRESS が必要です（送信者にするユーザー名がありません）",
    ),
    # The same in a checks file, where the key is named before (smtpprobe.checks._as_key).
    (
        r"ADDRESS is required: there is no user name to take it from",
        "送信者のアドレスが必要です（送信者にするユーザー名がありません）",
    ),
    (
        r"ADDRESS is required when the user name is not a mail address",
        "ユーザー名がメールアドレスでないときは送信者のアドレスが必要です",
    ),
    (
        r"--send needs --to ADDRESS: the one recipient of the test message",
        "--send には --to ADDRESS（テストメールの宛先 1 件）が必要です",
    ),
    (r"--send needs AUTH; drop --no-auth", "--send には認証が必要です。--no-auth を外してください"),
    (
        r"no password: use --password-env NAME, --password-stdin, or run on a terminal to be asked",
        "パスワードがありません: --password-env NAME か --password-stdin を使うか、"
        "端末で実行して入力してください",
    ),
    (
        r"the password is empty: smtpprobe never sends an empty password",
        "パスワードが空です: smtpprobe は空のパスワードを送りません",
    ),
    (r"the OAuth token is empty", "OAuth トークンが空です"),
    (
        r"--password-env (?P<n>\S+): that environment variable is not set",
        "--password-env {n}: その環境変数は設定されていません",
    ),
    (
        r"--password-env (?P<n>\S+): that environment variable is empty; set it to the password",
        "--password-env {n}: その環境変数が空です。パスワードを設定してください",
    ),
    (r"--password-stdin: standard input was empty", "--password-stdin: 標準入力が空でした"),
    (
        r"--password-stdin: the first line of standard input is empty; put the password on it",
        "--password-stdin: 標準入力の 1 行目が空です。1 行目にパスワードを書いてください",
    ),
    (
        r"refusing to send the password over an unencrypted connection: use --security "
        r"starttls or implicit-tls, or pass --allow-plaintext-auth",
        "暗号化されていない接続ではパスワードを送りません: --security starttls か implicit-tls "
        "を使うか、--allow-plaintext-auth を付けてください",
    ),
    # Profiles.
    (
        r"unknown profile '(?P<n>[^']*)'; known profiles: (?P<k>.*) \(or give a file with "
        r"--profile FILE\)",
        "プロファイル「{n}」はありません。使えるプロファイル: {k}（または --profile FILE で"
        "ファイルを指定）",
    ),
    # explain's input (smtpprobe.paste, smtpprobe.cli_params).
    (
        r"the input is empty: paste the error text or the bounce message",
        "入力が空です: エラーの文面かエラーメールを貼り付けてください",
    ),
    (
        r"the input looks like binary data, not text: paste the bounce as text \(or save the "
        r"message as \.eml and pipe it in\)",
        "入力がテキストではなくバイナリデータのようです: エラーメールをテキストとして貼り付けて"
        "ください（または .eml として保存してパイプで渡してください）",
    ),
    (
        r"the input is larger than the (?P<n>\d+) MB limit: paste only the bounce message or "
        r"the reply",
        "入力が上限の {n} MB を超えています: エラーメールか応答の部分だけを貼り付けてください",
    ),
    (
        r"(?P<f>.+) is a directory: give the file that holds the error text or bounce",
        "{f} はフォルダーです: エラーの文面かエラーメールを保存したファイルを指定してください",
    ),
    (
        r"cannot read (?P<f>.+?): (?P<why>.*); check the file, or paste its text with '-'",
        "{f} を読めません（{why}）: ファイルを確認するか、「-」を付けて内容を貼り付けてください",
    ),
    (
        r"nothing to explain: standard input is closed; give the error text as an argument",
        "説明するものがありません: 標準入力が閉じています。エラーの文面を引数で指定してください",
    ),
    # History and output.
    (
        r"history (?P<f>.+?): no such file; run `smtpprobe run CHECKS\.yaml` first or give the "
        r"right --history",
        "履歴 {f}: ファイルがありません。先に `smtpprobe run CHECKS.yaml` を実行するか、"
        "正しい --history を指定してください",
    ),
    (r"cannot write the output: (?P<why>.*)", "出力を書き込めません（{why}）"),
    # A checks file's password sources (smtpprobe.core.checks), after the prefix below.
    (r"environment variable (?P<v>\S+) is not set", "環境変数 {v} が設定されていません"),
    (r"environment variable (?P<v>\S+) is empty", "環境変数 {v} が空です"),
    (r"interrupted", "中断しました"),
)


@functools.cache
def _compiled() -> tuple[tuple[re.Pattern[str], str], ...]:
    return tuple((re.compile(pattern, re.DOTALL), ja) for pattern, ja in _MESSAGES)


# "FILE: check 'NAME': key 'KEY': PROBLEM" (a checks file): the frame in Japanese, and the
# problem through the table like any message.
_IN_CHECK = re.compile(r"(?P<f>.+?): check '(?P<c>[^']*)': key '(?P<k>[^']*)': (?P<rest>.+)")


_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")


def error_ja(message: str) -> str:
    """``message`` in Japanese, or its English quoted where the table has no entry."""
    if _JAPANESE.search(message) and not message.isascii():
        return message  # already Japanese (a command that words its own errors)
    for pattern, ja in _compiled():
        match = pattern.fullmatch(message)
        if match is not None:
            return ja.format(**match.groupdict())
    framed = _IN_CHECK.fullmatch(message)
    if framed is not None:
        where = f"{framed['f']}: チェック「{framed['c']}」のキー「{framed['k']}」"
        return f"{where}: {error_ja(framed['rest'])}"
    if message.startswith("internal error, please report it: "):
        return "内部エラーです。お手数ですが報告してください: " + message.split(": ", 1)[1]
    return f"「{message}」"
