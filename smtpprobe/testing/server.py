"""The SMTP test double: named scenarios from scenarios.yaml served on loopback.

Each ``DoubleServer`` owns one listening socket and one asyncio loop in a daemon thread (a
``LoopbackServer``, smtpprobe.testing.loopback). A scenario is either an aiosmtpd ``SMTP`` server
whose replies and rules come from the YAML, or a raw scripted protocol for misbehaviour below
SMTP (hangs, drops, garbage). Both run behind the same listener, which is TLS from the first
byte in ``implicit-tls`` mode (RFC 8314).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import ipaddress
import logging
import secrets
import socket
import string
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from aiosmtpd.smtp import (
    MISSING,
    SMTP,
    AuthResult,
    Envelope,
    LoginPassword,
    Session,
    auth_mechanism,
)

from smtpprobe.core.transcript import Security
from smtpprobe.testing.ca import CertificateKind, TLSMaterial, make_tls_material
from smtpprobe.testing.loopback import LineRecorder, LoopbackServer

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_TOKEN",
    "DEFAULT_USER",
    "ConnectionCounter",
    "DoubleServer",
    "Rule",
    "Scenario",
    "ScriptStep",
    "Security",
    "load_scenarios",
]

# aiosmtpd logs to "mail.log" with no handler of its own, so Python's last-resort
# handler would print its warnings (its own deprecated login_data, clients' garbage)
# on the user's terminal in the middle of `smtpprobe demo`; the double records what
# it received itself (DoubleServer.received).
_aiosmtpd_log = logging.getLogger("mail.log")
_aiosmtpd_log.addHandler(logging.NullHandler())
_aiosmtpd_log.propagate = False

DEFAULT_USER = "user@example.jp"
DEFAULT_PASSWORD = "correct-horse-battery-staple"
DEFAULT_TOKEN = "ya29.double-oauth-token"  # the XOAUTH2 bearer token

_TEMPLATE_FIELDS = frozenset({"hostname", "sender", "recipient", "user", "peer"})
_CONDITIONS = frozenset(
    {"authenticated", "remote_recipient", "peer_in", "peer_not_in", "sender_is_user"}
)
_RULE_STAGES = frozenset({"mail", "rcpt", "data"})
_STAGES = frozenset({"none", "connect", "tls", "ehlo", "auth", "mail", "rcpt", "data"})
_AUTH_MODES = frozenset({"check", "reject", "none"})
_STEP_ACTIONS = frozenset(
    {"send", "send-bytes", "reply-ehlo", "expect-line", "sleep", "hang", "close", "drop"}
)
_REQUIRED_REPLIES = frozenset(
    {
        "helo", "must_starttls", "auth_needs_tls", "auth_not_enabled", "auth_ok", "auth_failed",
        "xoauth2_error", "auth_failed_xoauth2", "mail", "rcpt", "data", "rset", "noop", "quit",
    }
)  # fmt: skip
_RAW_REPLIES = frozenset({"xoauth2_error"})  # sent as is (base64), not a template
# RFC 3207 §4: until TLS is up, a server that requires it refuses everything but these.
_GATED_BY_TLS = frozenset({"AUTH", "MAIL", "RCPT", "DATA"})
_MECHANISMS = ("PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2")  # what the double implements


# --------------------------------------------------------------------------- the model


class ConnectionCounter:
    """Thread-safe count of a server's connections: open now, the most at once, in all.

    The server's loop opens and closes; tests read from their own thread, e.g. to assert
    that a run never held more than its per-host limit of connections to one server. A
    connection counts from its acceptance until the server answers QUIT or sees it end.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current = 0
        self._peak = 0
        self._total = 0

    def opened(self) -> None:
        """One more connection is open."""
        with self._lock:
            self._current += 1
            self._total += 1
            self._peak = max(self._peak, self._current)

    def closed(self) -> None:
        """One connection has closed."""
        with self._lock:
            self._current -= 1

    @property
    def current(self) -> int:
        """Connections open now."""
        with self._lock:
            return self._current

    @property
    def peak(self) -> int:
        """The most connections that were open at the same time."""
        with self._lock:
            return self._peak

    @property
    def total(self) -> int:
        """Connections accepted since the server started."""
        with self._lock:
            return self._total


@dataclass(frozen=True, slots=True)
class Rule:
    """A reply that replaces the normal one at ``stage`` when every condition holds."""

    stage: str
    reply: str
    when: Mapping[str, Any]
    encoding: str = "utf-8"

    def matches(self, facts: _Facts) -> bool:
        """Whether every condition holds for this command."""
        for key, expected in self.when.items():
            if key == "authenticated":
                ok = facts.authenticated is expected
            elif key == "remote_recipient":
                domain = facts.recipient.rpartition("@")[2].lower()
                ok = (domain != facts.local_domain.lower()) is expected
            elif key == "sender_is_user":
                ok = (facts.sender.lower() == facts.user.lower()) is expected
            else:  # peer_in / peer_not_in
                inside = _peer_in(facts.peer, expected)
                ok = inside if key == "peer_in" else not inside
            if not ok:
                return False
        return True


@dataclass(frozen=True, slots=True)
class ScriptStep:
    """One step of a raw scenario script (see the header of scenarios.yaml)."""

    action: str
    text: str = ""
    seconds: float = 0.0
    keywords: tuple[str, ...] = ()
    encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A named server behaviour, as read from scenarios.yaml (defaults already applied)."""

    name: str
    summary: str
    security: Security
    stage: str
    hostname: str
    banner: str
    local_domain: str
    auth: str
    auth_mechanisms: tuple[str, ...]
    auth_before_tls: bool
    require_tls: bool
    starttls_in_plain: bool
    certificate: CertificateKind
    ehlo: tuple[str, ...]
    replies: Mapping[str, str]
    rules: tuple[Rule, ...]
    script: tuple[ScriptStep, ...] | None = None
    # Sendmail's "250-host Hello [203.0.113.5], pleased to meet you": the first EHLO line
    # echoes the client's address, which the probe records as what the server saw.
    ehlo_greets_client: bool = False
    # Options of `smtpprobe check` that make it show this scenario's point (e.g. a source
    # address off the allow-list); smtpprobe.testing.commands adds the connection options.
    check_options: tuple[str, ...] = ()
    summary_ja: str = ""  # the summary in Japanese (smtpprobe double --lang ja)

    @property
    def scripted(self) -> bool:
        """True when the scenario is a raw script rather than an SMTP server."""
        return self.script is not None

    def point_lost_in(self, security: Security) -> str | None:
        """Why serving this scenario in ``security`` mode would show nothing of it, or None."""
        if self.require_tls and security is Security.IMPLICIT_TLS:
            return "it is about STARTTLS being mandatory; give --security plain or starttls"
        if self.certificate is not CertificateKind.VALID and security is Security.PLAIN:
            return "it is about the certificate; give --security implicit-tls or starttls"
        return None

    def offers_starttls(self, security: Security) -> bool:
        """Whether STARTTLS is on offer when served in ``security`` mode."""
        return security is Security.STARTTLS or (
            security is Security.PLAIN and self.starttls_in_plain
        )


@dataclass(frozen=True, slots=True)
class _Facts:
    authenticated: bool
    peer: str
    sender: str
    recipient: str
    user: str
    local_domain: str


def _peer_in(peer: str, networks: Sequence[str]) -> bool:
    try:
        address = ipaddress.ip_address(peer.split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


# --------------------------------------------------------------------------- loading


class _Problem(ValueError):
    """scenarios.yaml does not describe a valid scenario."""


def _check_template(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise _Problem(f"{where}: expected a string, got {text!r}")
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in _TEMPLATE_FIELDS:
            raise _Problem(f"{where}: unknown template field {{{name}}}")
    return text


def _parse_rule(raw: object, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise _Problem(f"{where}: a rule must be a mapping")
    stage = raw.get("stage")
    if stage not in _RULE_STAGES:
        raise _Problem(f"{where}: stage must be one of {sorted(_RULE_STAGES)}, got {stage!r}")
    when = raw.get("when") or {}
    if not isinstance(when, dict) or not set(when) <= _CONDITIONS:
        raise _Problem(f"{where}: conditions must be among {sorted(_CONDITIONS)}")
    for key, value in when.items():
        if key in ("peer_in", "peer_not_in"):
            if not isinstance(value, list):
                raise _Problem(f"{where}: {key} must be a list of addresses")
            for net in value:
                ipaddress.ip_network(str(net), strict=False)  # raises on a typo
        elif not isinstance(value, bool):
            raise _Problem(f"{where}: {key} must be true or false")
    encoding = str(raw.get("encoding", "utf-8"))
    "".encode(encoding)  # LookupError on an unknown codec
    reply = _check_template(raw.get("reply"), f"{where}.reply")
    return Rule(stage=stage, reply=reply, when=dict(when), encoding=encoding)


def _parse_step(raw: object, where: str) -> ScriptStep:
    if isinstance(raw, str):
        raw = {raw: None}
    if not isinstance(raw, dict) or len(raw) != 1:
        raise _Problem(f"{where}: a step is an action name or a one-key mapping")
    ((action, value),) = raw.items()
    if action not in _STEP_ACTIONS:
        raise _Problem(f"{where}: unknown action {action!r}; known: {sorted(_STEP_ACTIONS)}")
    if action in ("send", "send-bytes"):
        return ScriptStep(action, text=_check_template(value, where))
    if action == "reply-ehlo":
        if not isinstance(value, list):
            raise _Problem(f"{where}: reply-ehlo takes a list of keywords")
        return ScriptStep(action, keywords=tuple(str(v) for v in value))
    if action == "sleep":
        return ScriptStep(action, seconds=float(value))
    return ScriptStep(action)


def _parse_scenario(name: str, raw: object, defaults: Mapping[str, Any], source: str) -> Scenario:
    where = f"{source}: scenario {name!r}"
    if not isinstance(raw, dict):
        raise _Problem(f"{where}: must be a mapping")
    merged: dict[str, Any] = {**defaults, **raw}
    replies = {**defaults.get("replies", {}), **raw.get("replies", {})}
    missing = _REQUIRED_REPLIES - set(replies)
    if missing:
        raise _Problem(f"{where}: missing replies {sorted(missing)}")
    for key, text in replies.items():
        if key not in _RAW_REPLIES:
            _check_template(text, f"{where}.replies.{key}")
    rules = [_parse_rule(r, f"{where}.rules[{i}]") for i, r in enumerate(raw.get("rules", []))]
    if merged.get("default_rules", True):
        rules += [
            _parse_rule(r, f"{source}: defaults.rules[{i}]")
            for i, r in enumerate(defaults.get("rules", []))
        ]
    script = raw.get("script")
    steps = None
    if script is not None:
        steps = tuple(_parse_step(s, f"{where}.script[{i}]") for i, s in enumerate(script))
    if merged.get("auth") not in _AUTH_MODES:
        raise _Problem(f"{where}: auth must be one of {sorted(_AUTH_MODES)}")
    if merged.get("stage", "none") not in _STAGES:
        raise _Problem(f"{where}: stage must be one of {sorted(_STAGES)}")
    summary = merged.get("summary")
    if not isinstance(summary, str) or "\n" in summary.strip():
        raise _Problem(f"{where}: summary must be one line")
    check = raw.get("check", [])
    if not isinstance(check, list) or not all(isinstance(a, str | int | float) for a in check):
        raise _Problem(f"{where}: check must be a list of smtpprobe check options")
    try:
        return Scenario(
            name=name,
            summary=summary.strip(),
            security=Security(merged["security"]),
            stage=str(merged.get("stage", "none")),
            hostname=str(merged["hostname"]),
            banner=str(merged["banner"]),
            local_domain=str(merged["local_domain"]),
            auth=str(merged["auth"]),
            auth_mechanisms=tuple(str(m).upper() for m in merged["auth_mechanisms"]),
            auth_before_tls=bool(merged["auth_before_tls"]),
            require_tls=bool(merged["require_tls"]),
            starttls_in_plain=bool(merged["starttls_in_plain"]),
            certificate=CertificateKind(merged["certificate"]),
            ehlo=tuple(str(k) for k in merged["ehlo"]),
            replies=replies,
            rules=tuple(rules),
            script=steps,
            ehlo_greets_client=bool(merged.get("ehlo_greets_client", False)),
            check_options=tuple(str(a) for a in check),
            summary_ja=str(raw.get("summary_ja", "")).strip(),
        )
    except (KeyError, ValueError) as error:
        raise _Problem(f"{where}: {error}") from error


@cache
def _load_default() -> dict[str, Scenario]:
    text = resources.files("smtpprobe.testing").joinpath("scenarios.yaml").read_text("utf-8")
    return _parse_document(text, "scenarios.yaml")


def _parse_document(text: str, source: str) -> dict[str, Scenario]:
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not isinstance(document.get("scenarios"), dict):
        raise _Problem(f"{source}: expected top-level 'defaults' and 'scenarios' mappings")
    defaults = document.get("defaults") or {}
    return {
        str(name): _parse_scenario(str(name), raw, defaults, source)
        for name, raw in document["scenarios"].items()
    }


def load_scenarios(path: Path | str | None = None) -> dict[str, Scenario]:
    """The scenarios, by name, in file order (the packaged scenarios.yaml unless ``path``)."""
    if path is None:
        return dict(_load_default())
    return _parse_document(Path(path).read_text("utf-8"), str(path))


def _scenario(name: str) -> Scenario:
    scenarios = _load_default()
    if name not in scenarios:
        raise KeyError(f"unknown scenario {name!r}; valid names: {', '.join(scenarios)}")
    return scenarios[name]


# --------------------------------------------------------------------------- replies


def _render(template: str, encoding: str = "utf-8", **values: str) -> bytes:
    """Fill a reply template; lines are joined with CRLF (aiosmtpd adds the final one)."""
    text = template.format_map({field: values.get(field, "") for field in _TEMPLATE_FIELDS})
    return "\r\n".join(text.splitlines()).encode(encoding, errors="replace")


def _ehlo_lines(hostname: str, keywords: Sequence[str]) -> list[str]:
    lines = [hostname, *keywords]
    return [f"250{' ' if i == len(lines) - 1 else '-'}{line}" for i, line in enumerate(lines)]


# --------------------------------------------------------------------------- aiosmtpd side


class _Handler:
    """aiosmtpd handler: hooks and AUTH mechanisms, all replies taken from the scenario."""

    def __init__(self, scenario: Scenario, security: Security) -> None:
        self.scenario = scenario
        self.security = security

    # ---- helpers (names must not start with handle_ or auth_: aiosmtpd collects those)

    def _reply(self, key: str, session: Session, envelope: Envelope | None = None) -> bytes:
        return _render(self.scenario.replies[key], **self._values(session, envelope))

    def _values(
        self, session: Session, envelope: Envelope | None, recipient: str = ""
    ) -> dict[str, str]:
        return {
            "hostname": self.scenario.hostname,
            "peer": _peer_ip(session.peer),
            "user": _user_of(session),
            "sender": (envelope.mail_from or "") if envelope is not None else "",
            "recipient": recipient,
        }

    def _ruled(
        self, stage: str, session: Session, envelope: Envelope, recipient: str = ""
    ) -> bytes | None:
        values = self._values(session, envelope, recipient)
        facts = _Facts(
            authenticated=bool(session.authenticated),
            peer=values["peer"],
            sender=values["sender"],
            recipient=recipient,
            user=values["user"],
            local_domain=self.scenario.local_domain,
        )
        for rule in self.scenario.rules:
            if rule.stage == stage and rule.matches(facts):
                return _render(rule.reply, rule.encoding, **values)
        return None

    def is_secure(self, session: Session) -> bool:
        """TLS is up: implicit TLS, or STARTTLS done (aiosmtpd then sets ``session.ssl``)."""
        return self.security is Security.IMPLICIT_TLS or session.ssl is not None

    def auth_on_offer(self, session: Session) -> bool:
        """Whether EHLO advertises AUTH (and AUTH is allowed) at this point."""
        if self.scenario.auth == "none":
            return False
        if self.is_secure(session) or not self.scenario.offers_starttls(self.security):
            return True
        return self.scenario.auth_before_tls

    def gate(self, command: str, session: Session) -> bytes | None:
        """A refusal for ``command`` before aiosmtpd's own processing, or None."""
        if self.scenario.require_tls and command in _GATED_BY_TLS and not self.is_secure(session):
            return self._reply("must_starttls", session)
        if command == "AUTH":
            if self.scenario.auth == "none":
                return self._reply("auth_not_enabled", session)
            if not self.auth_on_offer(session):
                return self._reply("auth_needs_tls", session)
        return None

    def check_credentials(self, user: bytes, secret_ok: bool) -> bool:
        """The scenario's verdict on a login."""
        return self.scenario.auth == "check" and secret_ok and user == DEFAULT_USER.encode()

    def result(self, session: Session, ok: bool, user: bytes, failure: str) -> AuthResult:
        """An AuthResult carrying the scenario's reply."""
        if ok:
            return AuthResult(
                success=True,
                auth_data=LoginPassword(user, b""),
                message=self._reply("auth_ok", session),  # type: ignore[arg-type]
            )
        return AuthResult(
            success=False,
            handled=False,
            message=self._reply(failure, session),  # type: ignore[arg-type]
        )

    # ---- authenticator for the built-in PLAIN and LOGIN

    def authenticator(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """Check a LoginPassword from aiosmtpd's PLAIN/LOGIN against the default credentials."""
        assert isinstance(data, LoginPassword)
        ok = self.check_credentials(
            data.login, hmac.compare_digest(data.password, DEFAULT_PASSWORD.encode())
        )
        return self.result(session, ok, data.login, "auth_failed")

    # ---- AUTH mechanisms aiosmtpd lacks

    @auth_mechanism("CRAM-MD5")
    async def auth_CRAM_MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        """RFC 2195: HMAC-MD5 over a one-time challenge, keyed with the password."""
        assert server.session is not None
        challenge = f"<{secrets.randbelow(10**10)}.{int(time.time())}@{self.scenario.hostname}>"
        response = await server.challenge_auth(challenge)
        if response is MISSING:
            return AuthResult(success=False, handled=True)  # 501 already sent
        assert isinstance(response, bytes)
        user, _, digest = response.rpartition(b" ")
        expected = hmac.new(DEFAULT_PASSWORD.encode(), challenge.encode(), hashlib.md5)
        ok = self.check_credentials(
            user, hmac.compare_digest(digest.lower(), expected.hexdigest().encode())
        )
        return self.result(server.session, ok, user, "auth_failed")

    @auth_mechanism("XOAUTH2")
    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """Google's XOAUTH2: ``user=U^Aauth=Bearer T^A^A``; failure is a 334 JSON, then 535."""
        session = server.session
        assert session is not None
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1], validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        else:
            initial = await server.challenge_auth("")
            if initial is MISSING:
                return AuthResult(success=False, handled=True)
            assert isinstance(initial, bytes)
            blob = initial
        fields = dict(part.split(b"=", 1) for part in blob.split(b"\x01") if b"=" in part)
        user = fields.get(b"user", b"")
        ok = self.check_credentials(
            user, hmac.compare_digest(fields.get(b"auth", b""), f"Bearer {DEFAULT_TOKEN}".encode())
        )
        if ok:
            return self.result(session, True, user, "auth_failed_xoauth2")
        error = self.scenario.replies["xoauth2_error"].encode()
        if await server.challenge_auth(error) is MISSING:  # the client answers with ""
            return AuthResult(success=False, handled=True)
        return self.result(session, False, user, "auth_failed_xoauth2")

    # ---- command hooks

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
        responses: list[str],
    ) -> list[str]:  # fmt: skip
        """Build the EHLO reply from the scenario's keyword list."""
        session.host_name = hostname  # aiosmtpd leaves this to an EHLO hook
        keywords: list[str] = []
        for keyword in self.scenario.ehlo:
            if keyword == "STARTTLS":
                if self.scenario.offers_starttls(self.security) and not self.is_secure(session):
                    keywords.append(keyword)
            elif keyword == "AUTH":
                if self.auth_on_offer(session) and self.scenario.auth_mechanisms:
                    keywords.append("AUTH " + " ".join(self.scenario.auth_mechanisms))
            else:
                keywords.append(keyword)
        first = self.scenario.hostname
        if self.scenario.ehlo_greets_client:
            first += f" Hello [{_peer_ip(session.peer)}], pleased to meet you"
        return _ehlo_lines(first, keywords)

    async def handle_HELO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str
    ) -> bytes:
        """Plain HELO: no extensions."""
        session.host_name = hostname
        return self._reply("helo", session)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> bytes:  # fmt: skip
        """Apply the mail-stage rules, else accept the sender."""
        envelope.mail_from = address
        refusal = self._ruled("mail", session, envelope)
        if refusal is not None:
            envelope.mail_from = None
            return refusal
        envelope.mail_options.extend(options)
        return self._reply("mail", session, envelope)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str,
        options: list[str],
    ) -> bytes:  # fmt: skip
        """Apply the rcpt-stage rules, else accept the recipient."""
        refusal = self._ruled("rcpt", session, envelope, address)
        if refusal is not None:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        values = self._values(session, envelope, address)
        return _render(self.scenario.replies["rcpt"], **values)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> bytes:
        """Apply the data-stage rules, else queue (and forget) the message."""
        refusal = self._ruled("data", session, envelope)
        return refusal if refusal is not None else self._reply("data", session, envelope)

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> bytes:
        """RSET."""
        return self._reply("rset", session)

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> bytes:
        """NOOP."""
        return self._reply("noop", session)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> bytes:
        """QUIT."""
        return self._reply("quit", session)


def _address_names(host: str) -> tuple[str, ...]:
    """``host`` if it is an IP address, for the certificate (a name is the user's to match)."""
    try:
        return (str(ipaddress.ip_address(host)),)
    except ValueError:
        return ()


def _peer_ip(peer: Any) -> str:
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


def _user_of(session: Session) -> str:
    login = getattr(session.auth_data, "login", None)
    if isinstance(login, bytes):
        return login.decode("utf-8", errors="replace")
    return str(login) if login else ""


class _DoubleSMTP(SMTP):
    """aiosmtpd's SMTP plus command recording, connection tracking and the scenario's gate."""

    def __init__(
        self,
        handler: _Handler,
        *,
        recorder: LineRecorder,
        connections: weakref.WeakSet[asyncio.BaseTransport],
        counter: ConnectionCounter | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(handler, **kwargs)
        self._double = handler
        self._recorder = recorder
        self._connections = connections
        self._counter = counter
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Track the transport so that stop() can abort it, and count it."""
        self._connections.add(transport)
        if self._counter is not None and not self._counted:
            self._counted = True  # STARTTLS calls connection_made again on the same protocol
            self._counter.opened()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        """Count the connection as closed (once, whatever STARTTLS did to the transport)."""
        self._uncount()
        super().connection_lost(error)

    def _uncount(self) -> None:
        if self._counter is not None and self._counted:
            self._counted = False
            self._counter.closed()

    async def smtp_QUIT(self, arg: str) -> None:
        """QUIT ends the session: it stops counting before the 221 goes out.

        The client leaves on the 221 and may open its next connection at once, while
        this loop notices the old one's close only later: counted at close, the two
        would overlap in the count though the client never held them at once.
        """
        if not arg:
            self._uncount()
        await super().smtp_QUIT(arg)

    def _cb_client_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        # aiosmtpd reads command lines with readuntil() and no argument; the DATA body uses
        # readuntil(b"\r\n") and AUTH continuations readline() -> readuntil(b"\n"). Record
        # only the argument-less calls, i.e. the command lines.
        read = reader.readuntil
        recorder = self._recorder

        async def readuntil(*separator: bytes) -> bytes:
            line = await read(*separator)
            if not separator:
                recorder.add(line)
            return line

        reader.readuntil = readuntil  # type: ignore[method-assign,assignment]
        super()._cb_client_connected(reader, writer)

    async def _gated(self, command: str) -> bool:
        assert self.session is not None
        refusal = self._double.gate(command, self.session)
        if refusal is not None:
            await self.push(refusal)
        return refusal is not None

    async def smtp_AUTH(self, arg: str) -> None:
        """AUTH, after the scenario's gate."""
        if not await self._gated("AUTH"):
            await super().smtp_AUTH(arg)

    async def smtp_MAIL(self, arg: str | None) -> None:
        """MAIL, after the scenario's gate."""
        if not await self._gated("MAIL"):
            await super().smtp_MAIL(arg)

    async def smtp_RCPT(self, arg: str | None) -> None:
        """RCPT, after the scenario's gate."""
        if not await self._gated("RCPT"):
            await super().smtp_RCPT(arg)

    async def smtp_DATA(self, arg: str) -> None:
        """DATA, after the scenario's gate."""
        if not await self._gated("DATA"):
            await super().smtp_DATA(arg)


# --------------------------------------------------------------------------- scripted side


async def _play_script(
    scenario: Scenario,
    security: Security,
    recorder: LineRecorder,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
) -> None:
    """Play the scenario's script on one connection."""
    assert scenario.script is not None
    values = {"hostname": scenario.hostname, "peer": _peer_ip(writer.get_extra_info("peername"))}
    try:
        for step in scenario.script:
            if step.action == "send":
                writer.write(_render(step.text, step.encoding, **values) + b"\r\n")
                await writer.drain()
            elif step.action == "send-bytes":
                writer.write(step.text.format_map(values).encode("latin-1"))
                await writer.drain()
            elif step.action == "reply-ehlo":
                offer = scenario.offers_starttls(security)
                keywords = [k for k in step.keywords if k != "STARTTLS" or offer]
                lines = _ehlo_lines(scenario.hostname, keywords)
                writer.write("".join(f"{line}\r\n" for line in lines).encode("ascii"))
                await writer.drain()
            elif step.action == "expect-line":
                line = await reader.readline()
                if not line:
                    return
                recorder.add(line)
            elif step.action == "sleep":
                await asyncio.sleep(step.seconds)
            elif step.action == "hang":
                while await reader.read(4096):
                    pass
                return
            elif step.action == "drop":
                writer.transport.abort()
                return
            else:  # close
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    finally:
        if not writer.transport.is_closing():
            writer.close()


# --------------------------------------------------------------------------- the server


class DoubleServer(LoopbackServer):
    """One scenario served on a loopback socket, from its own asyncio loop and thread.

    >>> with DoubleServer("ok", security="implicit-tls") as server:
    ...     server.port  # doctest: +SKIP
    """

    def __init__(
        self,
        scenario: str,
        security: Security | str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_dir: Path | str | None = None,
    ) -> None:
        self.scenario = _scenario(scenario)
        self.security = Security(security) if security is not None else self.scenario.security
        super().__init__(host, port)
        self._material: TLSMaterial = make_tls_material(
            ca_dir, self.scenario.certificate, names=_address_names(host)
        )
        self._recorder = LineRecorder()
        self._connections: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()
        self.connection_count = ConnectionCounter()
        try:
            self._starttls_context = self._material.server_context()
        except BaseException:
            self._material.cleanup()
            raise

    def __repr__(self) -> str:
        return (
            f"DoubleServer({self.scenario.name!r}, security={str(self.security)!r}, "
            f"host={self.host!r}, port={self.port})"
        )

    @property
    def ca_file(self) -> Path:
        """The PEM of the throwaway CA that signed the server certificate."""
        return self._material.ca_file

    @property
    def received(self) -> list[str]:
        """Every command line received so far, over all connections, in order."""
        return self._recorder.snapshot()

    # ---- internals

    def _cleanup(self) -> None:
        """Remove the temporary CA folder (if the server made it), at stop() or a failed start.

        A server never stopped loses its folder at interpreter exit (``TemporaryDirectory``'s
        finalizer); a process killed by a signal runs neither, hence ``smtpprobe double``'s
        signal handlers (``smtpprobe.testing.foreground``).
        """
        self._material.cleanup()

    def _thread_name(self) -> str:
        return f"smtp-double-{self.scenario.name}-{self.port}"

    async def _listen(self, sock: socket.socket) -> asyncio.Server:
        ssl_context = (
            self._material.server_context() if self.security is Security.IMPLICIT_TLS else None
        )
        if self.scenario.scripted:
            return await asyncio.start_server(
                self._on_script_connection, sock=sock, ssl=ssl_context,
                ssl_handshake_timeout=10 if ssl_context else None,
            )  # fmt: skip
        return await asyncio.get_running_loop().create_server(
            self._make_smtp, sock=sock, ssl=ssl_context,
            ssl_handshake_timeout=10 if ssl_context else None,
        )  # fmt: skip

    def _close_connections(self) -> None:
        for transport in list(self._connections):
            if isinstance(transport, asyncio.Transport):  # TCP and TLS ones are
                transport.abort()
            else:
                transport.close()

    def _make_smtp(self) -> SMTP:
        scenario = self.scenario
        handler = _Handler(scenario, self.security)
        starttls = scenario.offers_starttls(self.security)
        excluded = [m for m in _MECHANISMS if m not in scenario.auth_mechanisms]
        return _DoubleSMTP(
            handler,
            recorder=self._recorder,
            connections=self._connections,
            counter=self.connection_count,
            hostname=scenario.hostname,
            ident=scenario.banner,
            tls_context=self._starttls_context if starttls else None,
            # AUTH before TLS is the handler's decision (gate), so that its reply is data.
            auth_require_tls=False,
            authenticator=handler.authenticator,
            auth_exclude_mechanism=excluded,
            timeout=120,
        )

    async def _on_script_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._connections.add(writer.transport)
        self.connection_count.opened()
        # stop() cancels a script caught mid-step (sleep, hang). Python 3.11's streams call
        # task.exception() on the cancelled task and log a CancelledError traceback on the
        # user's terminal (fixed in 3.12), so the cancellation ends the task quietly here.
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await _play_script(self.scenario, self.security, self._recorder, reader, writer)
        finally:
            self.connection_count.closed()
