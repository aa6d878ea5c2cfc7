"""Programs' own message catalogs: is each translation read as the English message is?

``python tests/catalog_check.py KIND CLONE`` reads a local git clone of a program whose
messages people paste and, for each message below, compares what ``explain`` makes of every
translation with what it makes of the English (a category, a hint, or nothing), printing one
line per message and the translations read otherwise. KIND is one of:

- ``thunderbird``: thunderbird/thunderbird-l10n, every ``*/mail/chrome/messenger/
  messengercompose/composeMsgs.properties`` at HEAD (en-GB as the English);
- ``thunderbird-setup``: thunderbird/thunderbird-l10n, the account setup's failed logins
  (``*/mail/messenger/accountcreation/accountSetup.ftl`` and
  ``*/mail/chrome/messenger/accountCreation{Model,Util}.properties`` at HEAD, en-GB as the
  English);
- ``phpmailer``: PHPMailer/PHPMailer, ``language/phpmailer.lang-*.php`` against the English
  array in ``src/PHPMailer.php``;
- ``glibc``: bminor/glibc, ``po/*.po``: strerror and gai_strerror texts of a failed
  connection, inside msmtp's "cannot connect to HOST, port N: …";
- ``sylpheed``: sylpheed-mail/sylpheed, ``po/*.po``: its send dialog's messages
  (``src/send_message.c``);
- ``msmtp``: marlam/msmtp, ``po/*.po``: every message whose English is read as something
  (a category or a hint), ``%s`` as the server name and ``%d`` as 587;
- ``claws``: Claws Mail (eworm-de/claws-mail), ``po/*.po``: its send dialog, SMTP and socket
  messages;
- ``mutt``: muttmua/mutt, ``po/*.po``: its SMTP, connection and certificate messages;
- ``evolution``: GNOME/evolution-data-server, ``po/*.po``: Camel's SMTP transport messages,
  each prefix followed by the words of the server's reply (Camel leaves out its codes);
- ``k9``: thunderbird/thunderbird-android (K-9 Mail, Thunderbird for Android), ``values-*/
  strings.xml``: its notifications of a failed login, certificate or send;
- ``mailspring``: Foundry376/Mailspring, ``app/lang/*.json``: its account and sending errors;
- ``roundcube``: roundcube/roundcubemail, ``program/localization/*/messages.inc``: its SMTP
  errors (``$code`` and the server's ``$msg`` filled in) and its lost connection to itself;
- ``balsa``: GNOME/balsa, ``po/*.po``: libnetclient's SMTP refusals that carry no server reply
  (no STARTTLS offered, no usable authentication mechanism) and the warning that the server
  cannot be reached;
- ``qt``: qt/qttranslations, ``translations/qtbase_*.ts``: QAbstractSocket's and QSslSocket's
  errors, which Qt mail programs (KDE's, Trojita) show;
- ``glib-networking``: GNOME/glib-networking, ``po/*.po``: GIO's TLS errors (Evolution, Geary);
- ``gnutls``: gnutls/gnutls, ``po/*.po.in`` (at the revision in ``CATALOG_REV``, default HEAD:
  the po files are not in every snapshot): the handshake and record errors msmtp and GIO append;
- ``geary``: GNOME/geary, ``po/*.po``: its account editor's refused SMTP login;
- ``sabnzbd``: sabnzbd/sabnzbd, ``po/main/*.po``: its e-mail notifier's SMTP failures;
- ``mercurial``: Mercurial (sebunger/mercurial), ``i18n/*.po``: the TLS failures its e-mail
  (patchbomb) and HTTPS connections share;
- ``deltachat``: deltachat/deltachat-ios, ``*.lproj/Localizable.strings``: Delta Chat's failed
  login and its "no internet connection";
- ``nextcloud-mail``: nextcloud/mail, ``l10n/*.json``: its account form's refused SMTP logins
  (``src/components/AccountForm.vue``);
- ``aosp-email``: Android's Email app (LineageOS/android_packages_apps_Email), ``res/values-*/
  strings.xml``: its account setup's failures (login, TLS, authentication, connection).

A translation read otherwise is a gap in ``smtpprobe/data/client_errors.yaml``; the signatures
it led to (``thunderbird-l10n-*``, ``glibc-l10n-*``, PHPMailer's hints) cite the catalog files
they come from. The catalogs are programs' source, not the corpus: nothing here reads or tunes
to the validation texts. Exits 1 when a translation is read otherwise. Needs no network.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent / "core"))
import test_corpus  # the corpus test's own reading of a text

from smtpprobe.paste import explain

Reading = tuple[str | None, tuple[str, ...]]
HOST = "smtp.example.jp"
_RULES = test_corpus.load_rulebook()


def read(text: str) -> Reading:
    """The category the corpus test gives ``text``, or the hints shown when it has none."""
    if not text.strip():
        return (None, ())
    item = {"text": text, "shape": "client-error", "category": "x", "retryable": False}
    got = test_corpus._classify(item, _RULES)
    if got is not None:
        return (got[0], ())
    return (None, tuple(sorted(hint.id for hint in explain(text).hints)))


def _git(clone: Path, *args: str) -> str:
    return subprocess.check_output(["git", "-C", str(clone), *args], text=True, errors="replace")


# The revision catalogs are read at (``CATALOG_REV``): a snapshot's HEAD may predate a catalog.
REV = os.environ.get("CATALOG_REV", "HEAD")


def _files(clone: Path, suffix: str, under: str = "") -> list[str]:
    listed = _git(clone, "ls-tree", "-r", "--name-only", REV, *([under] if under else []))
    return [name for name in listed.splitlines() if name.endswith(suffix)]


def thunderbird(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message key, English, {locale: translation}) for composeMsgs.properties."""
    path = "mail/chrome/messenger/messengercompose/composeMsgs.properties"

    def properties(locale: str) -> dict[str, str]:
        body = _git(clone, "show", f"HEAD:{locale}/{path}")
        found = re.findall(r"^\s*([\w.]+)\s*=\s*(.*)$", body, re.M)
        return {key: _thunderbird_text(value) for key, value in found}

    locales = sorted({name.split("/")[0] for name in _files(clone, path)})
    catalogs = {locale: properties(locale) for locale in locales}
    for key, english in catalogs.pop("en-GB").items():
        if "%s" not in english and "%1$s" not in english:  # not a frame round the server's words
            yield key, english, {loc: c[key] for loc, c in catalogs.items() if key in c}


THUNDERBIRD_SETUP = {
    "mail/messenger/accountcreation/accountSetup.ftl": (
        "account-setup-credentials-wrong",
        "account-setup-credentials-incomplete",
    ),
    "mail/chrome/messenger/accountCreationModel.properties": ("cannot_login.error",),
    "mail/chrome/messenger/accountCreationUtil.properties": ("auth_failed_generic.error",),
}


def thunderbird_setup(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message key, English, {locale: translation}) for the account setup's failed logins."""
    for path, keys in THUNDERBIRD_SETUP.items():
        catalogs = {}
        for name in _files(clone, path):
            body = _git(clone, "show", f"{REV}:{name}")
            found = re.findall(r"^([\w.-]+)\s*=\s*(.*)$", body, re.M)
            catalogs[name.split("/")[0]] = {key: value.strip() for key, value in found}
        english = catalogs.pop("en-GB")
        for key in keys:
            translated = {loc: c[key] for loc, c in catalogs.items() if c.get(key)}
            yield key, english[key], translated


def _thunderbird_text(value: str) -> str:
    value = value.replace("\\u0020", " ").strip().replace("\\n", "\n")
    for placeholder in ("%1$S", "%S"):
        value = value.replace(placeholder, HOST)
    return value.replace("%2$S", "user@example.com").replace("%X", "80004005")


def phpmailer(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message key, English, {language: translation}) for PHPMailer's language files."""
    source = _git(clone, "show", "HEAD:src/PHPMailer.php")
    start = source.index("'authenticate' =>")
    english = dict(re.findall(r"'(\w+)' => '((?:[^'\\]|\\.)*)'", source[start - 40 : start + 3000]))
    catalogs = {}
    for name in _files(clone, ".php", "language/"):
        body = _git(clone, "show", f"HEAD:{name}")
        found = re.findall(r"\$PHPMAILER_LANG\['(\w+)'\]\s*=\s*'((?:[^'\\]|\\.)*)'", body)
        catalogs[name.split("lang-")[1][:-4]] = {k: v.replace("\\'", "'") for k, v in found}
    value = {"from_failed": "user@example.com", "recipients_failed": "user@example.com"}
    for key, text in english.items():
        after = value.get(key, "")
        translated = {lang: c[key] + after for lang, c in catalogs.items() if key in c}
        yield key, text + after, translated


GLIBC = (
    "Connection refused",
    "Connection timed out",
    "Network is unreachable",
    "No route to host",
    "Connection reset by peer",
    "Broken pipe",
    "Name or service not known",
    "Temporary failure in name resolution",
    "No address associated with hostname",
)


def glibc(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English in msmtp's frame, {language: translation in it}) for glibc's po files."""
    return _po_messages(clone, GLIBC, f"msmtp: cannot connect to {HOST}, port 587: {{}}".format)


SYLPHEED = (
    "Server not found.",
    "Connection closed by the remote host.",
    "Authentication failed.",
    "Session timed out.",
    "SMTP server not found: %s:%d",
    "Can't connect to SMTP server: %s:%d",
    "Can't connect to SMTP server.",
    "Error occurred while sending the message.",
)


def sylpheed(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Sylpheed's send dialog."""
    return _po_messages(clone, SYLPHEED, lambda text: text.replace("%s:%d", f"{HOST}:587"))


def _po_messages(
    clone: Path,
    messages: tuple[str, ...],
    filled: Callable[[str], str],
    under: str = "po/",
    suffix: str = ".po",
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for ``messages`` in ``UNDER*SUFFIX``."""
    catalogs = {
        name.split("/")[-1][: -len(suffix)]: _po(clone, name, messages)
        for name in _files(clone, suffix, under)
    }
    return _filled_messages(messages, catalogs, filled)


def _filled_messages(
    messages: tuple[str, ...], catalogs: dict[str, dict[str, str]], filled: Callable[[str], str]
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}), each filled in, for ``catalogs``."""
    for message in messages:
        translated = {lang: filled(c[message]) for lang, c in catalogs.items() if message in c}
        yield message, filled(message), translated


def _po(clone: Path, name: str, wanted: tuple[str, ...]) -> dict[str, str]:
    """The translations of ``wanted`` in one po file, as gettext would show them.

    Fuzzy entries are left out (gettext does not use them: their text may belong to an older
    message), and the file is decoded in the charset its header names.
    """
    raw = subprocess.check_output(["git", "-C", str(clone), "show", f"{REV}:{name}"])
    charset = re.search(rb"charset=([\w-]+)", raw)
    body = raw.decode(charset.group(1).decode() if charset else "utf-8", errors="replace")
    quoted = r'(?:"(?:[^"\\]|\\.)*"\s*)+'
    entry = re.compile(rf"^msgid ({quoted})msgstr ({quoted})", re.M)
    found = {}
    for block in re.split(r"\n\s*\n", body):
        if re.search(r"^#,.*\bfuzzy\b", block, re.M):
            continue
        for match in entry.finditer(block):
            msgid, msgstr = ("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', g)) for g in match.groups())
            if msgid in wanted and msgstr:
                found[msgid] = msgstr
    return found


def msmtp(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for msmtp's messages read as something."""
    names = _files(clone, ".po", "po/")
    english = _po_ids(clone, names[0])
    catalogs = {name[3:-3]: _po(clone, name, tuple(english)) for name in names}

    def filled(text: str) -> str:
        text = re.sub(r"%(?:\d\$)?l?[du]", "587", text)
        return re.sub(r"%(?:\d\$)?s", HOST, text).replace("\\n", "\n")

    for message in english:
        if read(filled(message)) == (None, ()):
            continue
        translated = {lang: filled(c[message]) for lang, c in catalogs.items() if message in c}
        yield message, filled(message), translated


CLAWS = (
    "Error occurred while sending the message:\n%s",
    "Authentication failed:\n%s",
    "Connection closed by the remote host.",
    "Session timed out. You may be able to recover by increasing the timeout value in "
    "Preferences/Other/Miscellaneous.",
    "%s:%d: connection failed (%s).\n",
    "%s:%d: unknown host.\n",
    "%s:%s: host lookup failed (%s).\n",
    "Connection timed out.\n",
    "Socket IO timeout.\n",
    "TLS handshake failed\n",
    "couldn't start STARTTLS session\n",
    "Selected SMTP AUTH method not available\n",
)
# What Claws puts into them: the server's reply after "sending the message:" and "failed:",
# strerror after "connection failed", gai_strerror after "host lookup failed".
_CLAWS_REPLY = {
    "Error occurred while sending the message:\n%s": "550 5.7.1 Relaying denied",
    "Authentication failed:\n%s": "535 5.7.8 Error: authentication failed",
}


def claws(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Claws Mail's send messages."""
    for message, english, translated in _po_messages(clone, CLAWS, lambda text: text):
        yield (
            message,
            _claws_fill(message, english),
            {lang: _claws_fill(message, text) for lang, text in translated.items()},
        )


def _claws_fill(message: str, text: str) -> str:
    text = text.replace("\\n", "\n").strip()
    if message in _CLAWS_REPLY:
        return text.replace("%s", _CLAWS_REPLY[message])
    text = re.sub(r"%(?:\d\$)?s", HOST, text, count=1)
    text = re.sub(r"%(?:\d\$)?d", "587", text)
    text = re.sub(r"%(?:\d\$)?s", "submission", text, count=1)  # the port as a service name
    reason = "Name or service not known" if "lookup" in message else "Connection refused"
    return re.sub(r"%(?:\d\$)?s", reason, text)


MUTT = (
    "SMTP session failed: read error",
    "SMTP session failed: write error",
    "Could not negotiate TLS connection",
    "Invalid server response",
    "No authenticators available",
    "SASL authentication failed",
    "SMTP authentication requires SASL",
    "SMTP authentication method %s requires SASL",
    "Connection to %s closed",
    "Could not connect to %s (%s).",
    "Error talking to %s (%s)",
    "Certificate host check failed: %s",
    "Server certificate has expired",
    "Server certificate is not yet valid",
    "Untrusted server certificate",
    "SSL failed: %s",
    "%s authentication failed, trying next method",
    "SMTP session failed: cannot add recipient <%s>",
    'Could not find the host "%s"',
)


def mutt(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for mutt's SMTP and TLS messages."""
    return _po_messages(clone, MUTT, lambda text: text.replace("%s", HOST))


BALSA = (
    "remote server does not support STARTTLS",
    "no suitable authentication mechanism",
    "Cannot reach SMTP server %s (%s), any queued message will remain in %s.",
)


def balsa(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Balsa's SMTP refusals and warnings."""
    return _po_messages(clone, BALSA, lambda text: re.sub(r"%(?:\d\$)?s", HOST, text))


def _po_ids(clone: Path, name: str) -> list[str]:
    body = _git(clone, "show", f"HEAD:{name}")
    quoted = r'(?:"(?:[^"\\]|\\.)*"\s*)+'
    ids = (
        "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', m))
        for m in re.findall(rf"^msgid ({quoted})", body, re.M)
    )
    return [i for i in ids if i]


EVOLUTION = {
    "Welcome response error: ": "Service not available",
    "Failed to connect to SMTP server %s in secure mode: %s": "STARTTLS not supported",
    "STARTTLS command failed: ": "TLS not available due to temporary reason",
    "Failed to connect to SMTP server %s in secure mode: ": "TLS not available",
    "HELO command failed: ": "Syntax error, command unrecognized",
    "SMTP server %s does not support %s authentication": "",
    "AUTH command failed: ": "Authentication credentials invalid",
    "Bad authentication response from server.": "",
    "MAIL FROM command failed: ": "Sender address rejected: not owned by user",
    "RCPT TO <%s> failed: ": "User unknown",
    "DATA command failed: ": "Message size exceeds fixed limit",
}


def evolution(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Camel's SMTP transport messages."""
    names = _files(clone, ".po", "po/")
    wanted = (*EVOLUTION, "STARTTLS not supported")
    catalogs = {name[3:-3]: _po(clone, name, wanted) for name in names}
    for message, reply in EVOLUTION.items():

        def filled(
            text: str, catalog: dict[str, str], reply: str = reply, message: str = message
        ) -> str:
            if reply == "STARTTLS not supported":
                reply = catalog.get(reply, reply)
            second = reply if message.endswith(": %s") else "PLAIN"  # the mechanism
            text = text.replace("%s", HOST, 1).replace("%s", second, 1)
            # g_prefix_error: the reply follows the prefix whatever the translation ends with
            return text + reply if message.endswith(": ") else text

        translated = {lang: filled(c[message], c) for lang, c in catalogs.items() if message in c}
        yield message, filled(message, {}), translated


K9 = {
    "legacy/ui/legacy/src/main/res": (
        "notification_authentication_error_text",
        "notification_certificate_error_title",
        "send_failed_reason",
        "ac_transfer_error_send",
    ),
    "feature/notification/api/src/commonMain/composeResources": (
        "notification_authentication_outgoing_server_error_text",
    ),
}


def k9(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message key, English, {locale: translation}) for K-9's and Thunderbird's Android strings."""
    for folder, keys in K9.items():
        catalogs = _android_catalogs(clone, folder + "/", keys)
        english = catalogs.pop("en")
        for key in keys:
            filled = {loc: _k9_fill(key, c[key]) for loc, c in catalogs.items() if key in c}
            yield key, _k9_fill(key, english[key]), filled


_ANDROID_STRING = re.compile(r'<string name="(\w+)"[^>]*>(.*?)</string>', re.S)


def _android_catalogs(clone: Path, under: str, keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """{locale: {key: raw string}} of ``keys`` in the ``values*/strings.xml`` files under
    ``under`` ("en" for the plain ``values`` folder)."""
    wanted = set(keys)
    catalogs: dict[str, dict[str, str]] = {}
    for name in _files(clone, "/strings.xml", under):
        folder = name.split("/")[-2]
        if not folder.startswith("values"):
            continue
        body = _git(clone, "show", f"{REV}:{name}")
        found = {k: v for k, v in _ANDROID_STRING.findall(body) if k in wanted}
        catalogs[folder.removeprefix("values").lstrip("-") or "en"] = found
    return catalogs


def _k9_fill(key: str, raw: str) -> str:
    """The string as shown: xliff marks and escapes out, ``%s`` filled (an account, or for
    send_failed_reason the exception's message)."""
    raw = re.sub(r"<xliff:g[^>]*>(.*?)</xliff:g>", r"\1", raw).strip('"')
    raw = raw.replace("\\n", "\n").replace("\\'", "'").replace('\\"', '"')
    value = "Connection refused" if key == "send_failed_reason" else "user@example.com"
    return re.sub(r"%(?:\d\$)?s", value, raw)


MAILSPRING = (
    "Authentication Error - Check your username and password.",
    "Connection Error - Unable to connect to the server / port you provided.",
    "Sorry, your SMTP server does not support basic username / password authentication.",
    "StartTLS is not available.",
    "The SMTP server would not relay a message. You may need to authenticate.",
    "There are too many active connections to your Gmail account. Please try again later.",
    "TLS Not Available",
    "Certificate Error",
    "The message has been blocked by Yahoo's outbound spam filter.",
    "The message contains an illegal attachment that is not allowed by the server.",
    "The message has been blocked by Yahoo - you have exceeded your daily sending limit.",
    "Mailspring can no longer authenticate with %@. The password or authentication may have"
    " changed.",
)


def mailspring(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Mailspring's app/lang/*.json."""
    catalogs = {}
    for name in _files(clone, ".json", "app/lang/"):
        try:
            catalogs[name.rsplit("/", 1)[1][:-5]] = json.loads(_git(clone, "show", f"HEAD:{name}"))
        except json.JSONDecodeError:  # a language file Mailspring itself could not load
            continue
    catalogs.pop("en", None)
    for message in MAILSPRING:
        translated = {
            lang: c[message].replace("%@", "user@example.com")
            for lang, c in catalogs.items()
            if c.get(message) and c[message] != message
        }
        yield message, message.replace("%@", "user@example.com"), translated


ROUNDCUBE = {
    "smtpconnerror": {"code": "-1"},
    "smtpautherror": {"code": "535"},
    "smtpfromerror": {"code": "550", "from": "user@example.com", "msg": "5.7.1 Sender rejected"},
    "smtptoerror": {"code": "550", "to": "user@example.com", "msg": "5.1.1 User unknown"},
    "smtputf8error": {},
    "smtpsizeerror": {"limit": "10 MB"},
    "connerror": {},
}


def roundcube(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message key, English, {language: translation}) for Roundcube's messages.inc."""
    quoted = r"'((?:[^'\\]|\\.)*)'" + "|" + r'"((?:[^"\\]|\\.)*)"'
    entry = re.compile(rf"\$messages\['(\w+)'\]\s*=\s*(?:{quoted})\s*;")
    catalogs = {}
    for name in _files(clone, "/messages.inc", "program/localization/"):
        body = _git(clone, "show", f"HEAD:{name}")
        found = {m[1]: (m[2] if m[2] is not None else m[3]) for m in entry.finditer(body)}
        catalogs[name.split("/")[2]] = {k: re.sub(r"\\(.)", r"\1", v) for k, v in found.items()}

    def filled(text: str, values: dict[str, str]) -> str:
        return re.sub(r"\$(\w+)", lambda m: values.get(m[1], m[0]), text)

    english = catalogs.pop("en_US")
    for key, values in ROUNDCUBE.items():
        translated = {
            lang: filled(c[key], values)
            for lang, c in catalogs.items()
            if c.get(key, english[key]) != english[key]
        }
        yield key, filled(english[key], values), translated


QT = (
    "The host name did not match any of the valid hosts for this certificate",
    "The remote host closed the connection",
    "Connection timed out",
    "Connection refused",
    "Host not found",
    "Network unreachable",
    "Error during SSL handshake: %1",
    "The certificate is self-signed, and untrusted",
    "The certificate has expired",
    "No certificates could be verified",
)


_UNUSED = ("unfinished", "obsolete", "vanished")  # Qt Linguist's states of a translation not shown


def qt(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Qt's socket and TLS errors."""
    from xml.etree import ElementTree

    def filled(text: str) -> str:
        return text.replace("%1", "")

    catalogs: dict[str, dict[str, str]] = {}
    for name in _files(clone, ".ts", "translations/"):
        if not name.split("/")[-1].startswith("qtbase_"):
            continue
        root = ElementTree.fromstring(_git(clone, "show", f"{REV}:{name}").encode())
        found = catalogs.setdefault(name.split("qtbase_")[1][:-3], {})
        for message in root.iter("message"):
            source, translation = message.findtext("source"), message.find("translation")
            usable = translation is not None and translation.text
            if source in QT and usable and translation.get("type") not in _UNUSED:
                found.setdefault(source, translation.text)
    return _filled_messages(QT, catalogs, filled)


GLIB_NETWORKING = (
    "Peer failed to perform TLS handshake: %s",
    "TLS connection closed unexpectedly",
    "Unacceptable TLS certificate",
)


GNUTLS = (
    "An unexpected TLS packet was received.",
    "Could not negotiate a supported cipher suite.",
    "The TLS connection was non-properly terminated.",
    "A TLS fatal alert has been received.",
)


GEARY = ("Check your sending login and password",)


SABNZBD = (
    "Failed to initiate TLS connection",
    "The server didn't reply properly to the helo greeting",
    "Failed to authenticate to mail server",
    "No suitable authentication method was found",
)


# Programs whose gettext catalogs hold the messages above, read alone as people paste them:
# (messages, how a message is filled in, the catalogs' folder, their suffix). GIO's TLS error
# names its cause after the colon, left out here; GnuTLS keeps po files as po/*.po.in.
_PO_CATALOGS: dict[str, tuple[tuple[str, ...], Callable[[str], str], str, str]] = {
    "glib-networking": (GLIB_NETWORKING, lambda text: text.replace("%s", ""), "po/", ".po"),
    "gnutls": (GNUTLS, str, "po/", ".po.in"),
    "geary": (GEARY, str, "po/", ".po"),
    "sabnzbd": (SABNZBD, str, "po/main/", ".po"),
}


def _po_kind(kind: str, clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for one of ``_PO_CATALOGS``."""
    messages, filled, under, suffix = _PO_CATALOGS[kind]
    return _po_messages(clone, messages, filled, under, suffix)


MERCURIAL = (
    "(could not negotiate a common security protocol (%s+) with %s; the likely cause is "
    "Mercurial is configured to be more secure than the server can support)\n",
    "certificate for %s has unexpected fingerprint %s",
)


def mercurial(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(message, English, {language: translation}) for Mercurial's TLS failures."""

    def filled(text: str) -> str:
        return text.replace("%s+", "tls1.2+").replace("%s", HOST, 1).replace("%s", "sha256:ab")

    return _po_messages(clone, MERCURIAL, filled, under="i18n/")


DELTACHAT = ("login_error_cannot_login", "login_error_no_internet_connection")


def deltachat(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(key, English, {language: translation}) for Delta Chat's login errors."""
    entry = re.compile(r'^"(\w+)"\s*=\s*"((?:[^"\\]|\\.)*)";', re.M)
    catalogs = {}
    for name in _files(clone, "/Localizable.strings"):
        body = _git(clone, "show", f"{REV}:{name}")
        found = {key: re.sub(r"\\(.)", r"\1", value) for key, value in entry.findall(body)}
        catalogs[name.split("/")[-2][: -len(".lproj")]] = found
    english = catalogs.pop("en")
    for key in DELTACHAT:
        translated = {
            lang: c[key].replace("%1$@", "user@example.jp").strip()
            for lang, c in catalogs.items()
            if key in c
        }
        yield key, english[key].replace("%1$@", "user@example.jp"), translated


# The account form's messages for a refused SMTP login (AUTHENTICATION_WRONG_PASSWORD,
# AUTHENTICATION_DENIED, AUTHENTICATION); its "not reachable" and "connection failed" name no cause.
NEXTCLOUD_MAIL = (
    "SMTP username or password is wrong",
    "SMTP server denied authentication",
    "SMTP authentication error",
)


def nextcloud_mail(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(English, English, {language: translation}) for Nextcloud Mail's refused SMTP logins."""
    catalogs = {
        name[len("l10n/") : -len(".json")]: json.loads(_git(clone, "show", f"{REV}:{name}"))
        for name in _files(clone, ".json", "l10n")
    }
    for english in NEXTCLOUD_MAIL:
        translated = {
            lang: str(c["translations"][english]).strip()
            for lang, c in catalogs.items()
            if c.get("translations", {}).get(english)
        }
        yield english, english, translated


# The account setup's failure messages (res/values/strings.xml, account_setup_failed_*).
AOSP_EMAIL = (
    "account_setup_failed_dlg_auth_message",
    "account_setup_failed_check_credentials_message",
    "account_setup_failed_dlg_server_message",
    "account_setup_failed_tls_required",
    "account_setup_failed_auth_required",
    "account_setup_failed_security",
    "account_setup_failed_ioerror",
    "account_setup_failed_dlg_certificate_message",
)


def _android_text(value: str) -> str:
    text = re.sub(r"<[^>]+>", "", value)
    text = re.sub(r"\\(['\"])", r"\1", text).replace("\\n", "\n")
    text = html.unescape(re.sub(r"\s+", " ", text).strip())
    # Android drops the double quotes that wrap a whole string resource.
    return text[1:-1].strip() if len(text) > 1 and text[0] == text[-1] == '"' else text


def aosp_email(clone: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(key, English, {locale: translation}) for Android Email's account setup failures."""
    catalogs = _android_catalogs(clone, "res/", AOSP_EMAIL)
    english = catalogs.pop("en")
    for key in AOSP_EMAIL:
        shown = {lang: _android_text(c.get(key, "")) for lang, c in catalogs.items()}
        yield key, _android_text(english[key]), {lang: t for lang, t in shown.items() if t}


KINDS: dict[str, Callable[[Path], Iterator[tuple[str, str, dict[str, str]]]]] = {
    "thunderbird": thunderbird,
    "thunderbird-setup": thunderbird_setup,
    "phpmailer": phpmailer,
    "glibc": glibc,
    "sylpheed": sylpheed,
    "msmtp": msmtp,
    "mutt": mutt,
    "claws": claws,
    "roundcube": roundcube,
    "evolution": evolution,
    "k9": k9,
    "mailspring": mailspring,
    "balsa": balsa,
    "qt": qt,
    "glib-networking": functools.partial(_po_kind, "glib-networking"),
    "gnutls": functools.partial(_po_kind, "gnutls"),
    "geary": functools.partial(_po_kind, "geary"),
    "sabnzbd": functools.partial(_po_kind, "sabnzbd"),
    "mercurial": mercurial,
    "deltachat": deltachat,
    "nextcloud-mail": nextcloud_mail,
    "aosp-email": aosp_email,
}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in KINDS or not Path(argv[1]).is_dir():
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        messages = list(KINDS[argv[0]](Path(argv[1])))
    except (subprocess.CalledProcessError, KeyError) as error:
        print(
            f"catalog_check: {argv[1]} is not a clone holding {argv[0]}'s catalogs ({error})",
            file=sys.stderr,
        )
        return 2
    differing_total = 0
    for key, english, translated in messages:
        want = read(english)
        differing = {lang: got for lang, text in translated.items() if (got := read(text)) != want}
        differing_total += len(differing)
        if differing or want != (None, ()):
            shown = ", ".join(
                f"{lang}: {got[0] or ','.join(got[1]) or '-'}" for lang, got in differing.items()
            )
            english_reading = want[0] or ",".join(want[1]) or "-"
            print(f"{key}: English {english_reading}; {len(differing)} otherwise {shown}")
    print(f"{differing_total} translations read otherwise")
    return 1 if differing_total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
