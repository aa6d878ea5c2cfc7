"""One validated probe specification, built in one place from the user's options.

``resolve_spec`` is the only place where profile defaults are applied and
every value is coerced and checked: security modes from strings (including
Gmail's words "ssl" and "tls"), ports, finite positive timeouts, host names
(RFC 1035 section 2.3.4 lengths, bracketed IPv6 literals, ``host:port``),
EHLO names and addresses without whitespace or control characters, the
address family against a literal address, the plaintext-AUTH guard and the
``--send`` rules. The CLI, the Python API and ``compare`` all go through it,
so a value that is wrong is refused the same way everywhere: one
``ConfigError`` line, exit code 2. Pure: the caller loads the profiles and
reads the password.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from smtpprobe.core.auth import Credentials
from smtpprobe.core.errors import ConfigError
from smtpprobe.core.lazyre import LazyPattern
from smtpprobe.core.profile import Profile
from smtpprobe.core.record import record
from smtpprobe.core.rules import CATEGORIES
from smtpprobe.core.transcript import Security

__all__ = [
    "Family",
    "ProbeSpec",
    "ProfileLookup",
    "ProxySpec",
    "coerce_security",
    "parse_proxy",
    "resolve_spec",
    "validate_host",
]


class Family(StrEnum):
    """Which IP version to connect over (``-4``/``-6``)."""

    ANY = "any"
    IPV4 = "ipv4"
    IPV6 = "ipv6"


_PROXY_SCHEMES = {
    # scheme: whether the proxy resolves the server's name
    "socks5": False,
    "socks5h": True,  # curl's convention: remote DNS
    "socks4": False,
    "socks4a": True,
    "http": True,  # CONNECT host:port: the proxy always resolves
}


@record
class ProxySpec:
    """A parsed ``--proxy`` URL; ``display`` never holds the password."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def remote_dns(self) -> bool:
        """Whether the proxy, not this machine, resolves the server's name."""
        return _PROXY_SCHEMES[self.scheme]

    @property
    def display(self) -> str:
        """The URL without its password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{host}:{self.port}"


def parse_proxy(url: str) -> ProxySpec:
    """Parse ``socks5://``, ``socks5h://``, ``socks4://``, ``socks4a://`` or ``http://`` URLs."""
    if not url.strip():
        raise ConfigError("--proxy '': give the proxy's URL, e.g. socks5h://127.0.0.1:1080")
    if _CONTROL.search(url):
        raise ConfigError("--proxy: the URL contains a control character or space")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--proxy: not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in _PROXY_SCHEMES:
        raise ConfigError(
            f"--proxy {parts.scheme or 'URL'!r}: use socks5://, socks5h:// (the proxy resolves "
            "the server name), socks4://, socks4a:// or http:// (CONNECT)"
        )
    if not parts.hostname or port is None:
        raise ConfigError(f"--proxy: give the proxy as {scheme}://HOST:PORT")
    if port == 0:  # urlsplit accepts it; no proxy listens there (it was a retryable failure)
        raise ConfigError("--proxy: port 0 is not a port; give the proxy's port, 1 to 65535")
    # The proxy's name is checked as --host is (RFC 1035 labels, IDNA): "a..b" or a byte that
    # is not text reached the IDNA codec of the socket layer as an internal error.
    host, _ = validate_host(
        f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname, "--proxy host"
    )
    return ProxySpec(
        scheme=scheme,
        host=host,
        port=port,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


@record
class ProbeSpec:
    """Everything one probe needs, validated. The plan and the driver read only this."""

    host: str
    port: int
    security: Security
    sender: str
    recipient: str
    credentials: Credentials | None  # None: --no-auth
    preferred_mechanisms: tuple[str, ...] = ("PLAIN", "LOGIN")
    profile: str | None = None
    timeout: float = 60.0
    phase_timeout: float = 15.0
    ca_file: str | None = None
    insecure: bool = False
    allow_plaintext_auth: bool = False
    source_address: str | None = None
    family: Family = Family.ANY
    ehlo_name: str | None = None  # None: the local address literal (RFC 5321 section 4.1.3)
    send: bool = False
    proxy: ProxySpec | None = None
    expect: tuple[str, ...] = ()  # exit 0 means "the verdict is one of these"
    pipelining: bool = True  # use RFC 2920 PIPELINING when the server offers it

    def __repr__(self) -> str:  # short, and never the secret (Credentials hides it too)
        return f"ProbeSpec({self.host}:{self.port} {self.security.value})"

    @property
    def route(self) -> str:
        """``direct``, ``source:IP`` or ``proxy:URL`` (without the proxy's password)."""
        if self.proxy is not None:
            return f"proxy:{self.proxy.display}"
        if self.source_address:
            return f"source:{self.source_address}"
        return "direct"


class ProfileLookup(Protocol):
    """What ``resolve_spec`` needs of the loaded profiles (``smtpprobe.loading.ProfileSet``)."""

    def get(self, name: str) -> Profile: ...

    def for_host(self, host: str) -> Profile | None: ...


PasswordSource = Callable[[Profile | None], str | None]

_GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
_CONTROL = LazyPattern(r"[\x00-\x20\x7f]")
_SECURITY_WORDS = {
    "implicit-tls": Security.IMPLICIT_TLS,
    "ssl": Security.IMPLICIT_TLS,  # Gmail's "Secured connection using SSL"
    "starttls": Security.STARTTLS,
    "tls": Security.STARTTLS,  # Gmail's "Secured connection using TLS"
    "plain": Security.PLAIN,
}
_DEFAULT_PORTS = {Security.IMPLICIT_TLS: 465, Security.STARTTLS: 587, Security.PLAIN: 25}
_LABEL = LazyPattern(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def coerce_security(value: Any, option: str = "--security") -> Security:
    """A Security from an enum or its name; Gmail's "ssl"/"tls" are accepted too."""
    if isinstance(value, Security):
        return value
    if isinstance(value, str) and value.strip().lower() in _SECURITY_WORDS:
        return _SECURITY_WORDS[value.strip().lower()]
    raise ConfigError(f"{option} {value!r}: use implicit-tls (ssl), starttls (tls) or plain")


def _port(value: Any, option: str = "--port") -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{option} {value!r}: a port is a number from 1 to 65535")
    try:
        port = int(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r}: a port is a number from 1 to 65535") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{option} {port}: a port is a number from 1 to 65535")
    return port


def _seconds(value: Any, option: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{option} {value!r}: give a positive number of seconds")
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{option} {value!r}: give a positive number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigError(f"{option} {value}: give a positive, finite number of seconds")
    if seconds < _MIN_SECONDS:
        # A millionth of a second times out before any reply can come, and the verdict then
        # blamed the server (a red-team round: --phase-timeout 1e-9).
        raise ConfigError(f"{option} {value}: give at least {_MIN_SECONDS} seconds")
    if seconds > _MAX_SECONDS:  # beyond the system's time (1e10 s overflowed settimeout)
        raise ConfigError(f"{option} {value}: give at most {_MAX_SECONDS} seconds (one day)")
    return seconds


_MIN_SECONDS = 0.01  # below 10 ms a timeout measures this machine, not the server
_MAX_SECONDS = 86_400


# scheme://[userinfo@]host[:port][/path]: what follows the userinfo, up to the path.
_URL = LazyPattern(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,15})://(?:[^@/?#]*@)?(?P<rest>[^/?#]*)")


def _shown(host: str) -> str:
    """A host part quoted for a message: at most 80 characters, control characters escaped."""
    return repr(host[:80] + ("…" if len(host) > 80 else ""))


def validate_host(value: Any, option: str = "--host") -> tuple[str, int | None]:
    """``(host, port or None)`` from a name, an IP address, ``[address]``, or ``host:port``.

    Names follow RFC 1035 section 2.3.4 (labels of 1-63 octets, 253 in all);
    an internationalised name is turned into its A-labels (IDNA).
    """
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{option}: give the server's host name or IP address")
    text = value.strip()
    # A URL ("smtps://user:secret@smtp.example.jp:465", from a mail library's settings) or
    # a login ("user:secret@host") may hold a password: its value is never echoed, only
    # the host part the option wants.
    url = _URL.match(text)
    if url:
        raise ConfigError(
            f"{option}: give the host name alone ({_shown(url['rest'])}), "
            f"without '{url['scheme']}://'"
        )
    if "@" in text:
        raise ConfigError(
            f"{option}: give the host name alone ({_shown(text.rpartition('@')[2])}), "
            "without a user name or address and '@'"
        )
    if _CONTROL.search(text):
        raise ConfigError(
            f"{option} {text!r}: a host name contains no spaces or control characters"
        )
    bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", text)
    if bracketed:
        literal, port_text = bracketed.groups()
        # RFC 5321 section 4.1.3's address literals: [192.0.2.1] and [IPv6:2001:db8::1];
        # and [2001:db8::1], as a URL writes one (RFC 3986 section 3.2.2).
        if literal[:5].lower() == "ipv6:":
            literal = literal[5:]
        try:
            address = ipaddress.ip_address(literal)
        except ValueError:
            raise ConfigError(
                f"{option} [{literal}]: brackets hold an IP address, "
                "e.g. [192.0.2.1] or [2001:db8::1]"
            ) from None
        return str(address), _port(port_text, option) if port_text else None
    try:
        return str(ipaddress.ip_address(text)), None
    except ValueError:
        pass
    port: int | None = None
    if text.count(":") == 1:
        name, _, port_text = text.partition(":")
        try:
            port = _port(port_text, option)
        except ConfigError:  # name the whole value the user gave, not just its port part
            raise ConfigError(
                f"{option} {text!r}: after ':' comes a port, a number from 1 to 65535"
            ) from None
        text = name
        try:
            return str(ipaddress.IPv4Address(text)), port
        except ValueError:
            pass
    elif ":" in text:
        raise ConfigError(f"{option} {text!r}: not a host name or an IP address")
    name = text.rstrip(".")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise ConfigError(f"{option} {text!r}: not a valid host name ({exc})") from None
    if len(name) > 253:
        raise ConfigError(f"{option}: a host name is at most 253 characters (RFC 1035)")
    for label in name.split("."):
        if not label:
            raise ConfigError(f"{option} {text!r}: a host name has no empty labels ('..')")
        if len(label) > 63:
            raise ConfigError(f"{option} {text!r}: a label is at most 63 characters (RFC 1035)")
        if not _LABEL.match(label):
            raise ConfigError(
                f"{option} {text!r}: a host name holds letters, digits, '-' and '.' only"
            )
    if name.rsplit(".", 1)[-1].isdigit():
        # Not an IP address (that was tried above), and no top-level domain is all digits
        # (RFC 3696 section 2): "256.1.1.1", "1.2.3.4.5" would only be sent to DNS.
        raise ConfigError(
            f"{option} {text!r}: not a valid IP address (four numbers 0-255: 192.0.2.1), "
            "and a host name does not end in a number"
        )
    return name.lower(), port


def _address(value: Any, option: str) -> str:
    """A mail address for MAIL FROM / RCPT TO, its domain in A-labels."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{option}: give a mail address such as you@example.jp")
    if _CONTROL.search(value) or any(c in value for c in "<>"):
        raise ConfigError(
            f"{option} {value!r}: a mail address contains no spaces, control characters or <>"
        )
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ConfigError(f"{option} {value!r}: give a mail address such as you@example.jp")
    if len(local.encode("utf-8", "surrogateescape")) > 64 or len(value) > 254:
        # RFC 5321 section 4.5.3.1: a local part of at most 64 octets, a path of at most 256
        # (with its <>); a longer one was sent and its refusal blamed on the server.
        raise ConfigError(
            f"{option}: an address of {len(value)} characters is too long (RFC 5321 section "
            "4.5.3.1: at most 64 octets before the @ and 254 in all)"
        )
    if not local.isascii():
        raise ConfigError(
            f"{option} {value!r}: a non-ASCII local part needs SMTPUTF8 (RFC 6531), "
            "which smtpprobe does not send; use the ASCII form of the address"
        )
    if domain.startswith("[") and domain.endswith("]"):
        try:  # an address literal (RFC 5321 section 4.1.3)
            ipaddress.ip_address(domain[1:-1].removeprefix("IPv6:"))
        except ValueError:
            raise ConfigError(f"{option} {value!r}: not a valid address literal") from None
        return value
    host, port = validate_host(domain, option)
    if port is not None:
        raise ConfigError(f"{option} {value!r}: a mail address has no port")
    return f"{local}@{host}"


def _ehlo(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value or not value.isascii() or _CONTROL.search(value):
        raise ConfigError(
            f"--ehlo {value!r}: give a fully qualified host name or an address literal "
            "such as [192.0.2.1], in ASCII, without spaces"
        )
    if value.startswith("[") and value.endswith("]"):
        literal = value[1:-1].removeprefix("IPv6:")
        try:
            ipaddress.ip_address(literal)
        except ValueError:
            raise ConfigError(f"--ehlo {value!r}: not an address literal") from None
        return value
    validate_host(value, "--ehlo")
    return value


def _user(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("--user is required (or --no-auth to probe without logging in)")
    # RFC 4616 allows any UTF-8 except NUL; CR and LF would end the AUTH line.
    if re.search(r"[\x00-\x1f\x7f]", value):
        raise ConfigError(f"--user {value!r}: a user name contains no control characters")
    if len(value.encode("utf-8", "surrogateescape")) > _MAX_USER:
        # The AUTH line that carries it is at most 12288 octets (RFC 4954 section 4); a longer
        # one was sent and its refusal read as "this server takes no logins".
        raise ConfigError(
            f"--user: a user name of {len(value)} characters is too long (at most {_MAX_USER} "
            "octets: an AUTH line is at most 12288, RFC 4954 section 4)"
        )
    return value


_MAX_USER = 4000


def _source_address(value: Any, family: Family) -> str | None:
    if value is None:
        return None
    try:
        address = ipaddress.ip_address(str(value).strip("[]"))
    except ValueError:
        raise ConfigError(
            f"--source-address {value!r}: give an IP address of this machine"
        ) from None
    _check_family(address, family, "--source-address")
    return str(address)


def _check_family(address: ipaddress.IPv4Address | ipaddress.IPv6Address, family: Family,
                  option: str) -> None:  # fmt: skip
    if family is Family.IPV4 and address.version == 6:
        raise ConfigError(f"{option} {address} is an IPv6 address, but -4 asks for IPv4")
    if family is Family.IPV6 and address.version == 4:
        raise ConfigError(f"{option} {address} is an IPv4 address, but -6 asks for IPv6")


def _family(value: Any) -> Family:
    if isinstance(value, Family):
        return value
    if value is None:
        return Family.ANY
    try:
        return Family(str(value).lower())
    except ValueError:
        raise ConfigError(f"family {value!r}: use any, ipv4 or ipv6") from None


def _utf8(text: str) -> bool:
    """Whether ``text`` encodes as UTF-8 (undecodable bytes arrive as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def default_recipient(sender: str) -> str:
    """A recipient outside the sender's domain, so relaying is really exercised.

    ``postmaster`` must exist at every mail domain (RFC 5321 section 4.5.1),
    and without ``--send`` no message is ever sent to it.
    """
    domain = sender.rpartition("@")[2].lower()
    if domain in _GMAIL_DOMAINS:
        return "postmaster@outlook.com"
    return "postmaster@gmail.com"


def expectations(value: Any) -> tuple[str, ...]:
    """``--expect CATEGORY[,CATEGORY…]`` as a tuple of known category names."""
    if value is None or value == ():
        return ()
    items: list[str] = []
    for part in [value] if isinstance(value, str) else list(value):
        items.extend(p.strip() for p in str(part).split(",") if p.strip())
    if not items:  # `--expect ''`: a check that expects nothing would pass on any verdict
        raise ConfigError("--expect '': give one or more categories, e.g. --expect relay-denied")
    unknown = [c for c in items if c not in CATEGORIES]
    if unknown:
        raise ConfigError(
            f"--expect {','.join(unknown)}: not a category; use one or more of "
            f"{', '.join(CATEGORIES)}"
        )
    return tuple(dict.fromkeys(items))


def _port_and_security(
    port: int | None, security: Security | None, profile: Profile | None
) -> tuple[int, Security]:
    """Fill what the user left out from the profile (its main or alternative pair), else
    from the port (465 implicit TLS, 25 plain, others STARTTLS) or the security mode."""
    if profile is not None:
        pairs = [
            (profile.port, profile.security),
            *((a.port, a.security) for a in profile.alternatives),
        ]
        if port is None and security is None:
            port, security = pairs[0]
        elif security is None:
            # A port the provider documents takes its own mode (OCN's 587 is STARTTLS
            # beside 465's implicit TLS); any other port keeps the profile's mode.
            security = next((s for p, s in pairs if p == port), profile.security)
        elif port is None:
            port = next((p for p, s in pairs if s is security), None)
    if security is None:
        security = {465: Security.IMPLICIT_TLS, 25: Security.PLAIN}.get(
            port or 587, Security.STARTTLS
        )
    if port is None:
        port = _DEFAULT_PORTS[security]
    return port, security


def resolve_spec(
    options: Any,
    profiles: ProfileLookup,
    password_source: PasswordSource | None = None,
) -> tuple[ProbeSpec, Profile | None]:
    """Validate ``options`` (a ``smtpprobe.api.CheckOptions``) into a ProbeSpec and its profile.

    ``password_source(profile)`` is asked for the password only when AUTH is
    needed and the options carry none, after the profile is chosen (a
    profile may name its own ``password_env``). Raises ``ConfigError``.
    """
    family = _family(options.family)
    profile: Profile | None = None
    host_port: int | None = None
    host: str | None = None
    if options.host is not None:
        host, host_port = validate_host(options.host)
    if options.profile is not None:
        profile = profiles.get(options.profile)
    elif host is not None:
        profile = profiles.for_host(host)
    if host is None and profile is not None and profile.host:
        host = profile.host
    if host is None:
        if profile is not None and profile.host_pattern:
            raise ConfigError(
                f"profile '{profile.name}' has no fixed server: give yours with --host "
                f"(it must look like {profile.host_pattern})"
            )
        raise ConfigError("no server to probe: name a PROFILE or give --host")
    try:
        literal = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        literal = None  # a name: the family applies to the addresses it resolves to
    if literal is not None:
        _check_family(literal, family, "--host")
    if options.port is not None and host_port is not None and _port(options.port) != host_port:
        raise ConfigError(
            f"--host {options.host} names port {host_port}, but --port says {options.port}"
        )
    port = _port(options.port) if options.port is not None else host_port
    security = coerce_security(options.security) if options.security is not None else None
    port, security = _port_and_security(port, security, profile)

    timeout = _seconds(options.timeout, "--timeout")
    phase_timeout = min(_seconds(options.phase_timeout, "--phase-timeout"), timeout)
    _seconds(options.egress_timeout, "--egress-timeout")
    if options.no_auth and options.send:
        raise ConfigError("--send needs AUTH; drop --no-auth")

    credentials: Credentials | None = None
    if not options.no_auth:
        user = _user(options.user)
        password, token = options.password, options.oauth_token
        if password is None and token is None and password_source is not None:
            password = password_source(profile)
        if password is None and token is None:
            raise ConfigError(
                "no password: use --password-env NAME, --password-stdin, or run on a terminal "
                "to be asked"
            )
        if password == "" and token is None:
            raise ConfigError("the password is empty: smtpprobe never sends an empty password")
        if token == "":
            raise ConfigError("the OAuth token is empty")
        for secret, what in ((password, "the password"), (token, "the OAuth token")):
            if secret and not _utf8(secret):
                # Bytes that are not UTF-8 (an environment variable or a pipe in another
                # encoding) cannot go on the wire as UTF-8 (RFC 4616): never said which byte.
                raise ConfigError(
                    f"{what} holds bytes that are not UTF-8 text; give it in UTF-8 "
                    "(check the terminal's or the file's encoding)"
                )
        if password and "\0" in password:
            # AUTH PLAIN separates user and password by NUL (RFC 4616): a server would take a
            # broken login, counted against the account. Never shown: it is the secret.
            raise ConfigError("the password contains a NUL character, which no login can send")
        credentials = Credentials(user, password or None, token or None)
        if security is Security.PLAIN and not options.allow_plaintext_auth:
            raise ConfigError(
                "refusing to send the password over an unencrypted connection: use --security "
                "starttls or implicit-tls, or pass --allow-plaintext-auth"
            )

    if options.sender is not None:  # an empty --from is a mistake, not "the default"
        sender = _address(options.sender, "--from")
    elif options.user and "@" in options.user:
        sender = _address(options.user, "--from (the user name)")
    elif options.user:
        raise ConfigError("--from ADDRESS is required when the user name is not a mail address")
    else:
        raise ConfigError("--from ADDRESS is required: there is no user name to take it from")
    if options.send and options.recipient is None:
        raise ConfigError("--send needs --to ADDRESS: the one recipient of the test message")
    recipient = (
        _address(options.recipient, "--to")
        if options.recipient is not None
        else default_recipient(sender)
    )
    proxy = parse_proxy(options.proxy) if options.proxy is not None else None  # '' is no URL
    source = _source_address(options.source_address, family)
    spec = ProbeSpec(
        host=host,
        port=port,
        security=security,
        sender=sender,
        recipient=recipient,
        credentials=credentials,
        preferred_mechanisms=profile.auth_mechanisms if profile else ("PLAIN", "LOGIN"),
        profile=profile.name if profile else None,
        timeout=timeout,
        phase_timeout=phase_timeout,
        ca_file=str(options.ca_file) if options.ca_file is not None else None,
        insecure=bool(options.insecure),
        allow_plaintext_auth=bool(options.allow_plaintext_auth),
        source_address=source,
        family=family,
        ehlo_name=_ehlo(options.ehlo_name),
        send=bool(options.send),
        proxy=proxy,
        expect=expectations(options.expect),
        pipelining=bool(getattr(options, "pipelining", True)),
    )
    return spec, profile
