"""``smtpprobe.core.no_failure``: when a refusal's words stand in settings, with plain data."""

from __future__ import annotations

from smtpprobe.core.guess import NO_FAILURE, Guess, GuessFunction
from smtpprobe.core.no_failure import in_documentation

SETTINGS = "\n".join(
    [
        "SMTP server: smtp.example.jp",
        "Port: 587",
        "Connection security: STARTTLS",
        "Authentication: required",
        "User name: your full address",
        "Password: the password of the mailbox",
    ]
)
ERROR_LINE = "Relay access denied"


def _guesser(failure_lines: set[str]) -> GuessFunction:
    """A guess that reads ``failure_lines`` (and nothing shorter) as a refusal, the rest as
    settings; a one-word text says too little."""

    def guess(text: str, failures_only: bool = False) -> Guess | None:
        if len(text.split()) < 2:
            return None
        if text.strip() in failure_lines:
            return Guess("relay-denied", 0.9, ("relay", "denied"))
        return Guess(NO_FAILURE, 0.9, ("port", "password"))

    return guess


def test_words_in_a_settings_paragraph_are_passed_over() -> None:
    at = SETTINGS.index("required")
    assert in_documentation(SETTINGS, at, _guesser(set()))


def test_an_error_line_under_the_settings_is_not() -> None:
    text = SETTINGS + "\n" + ERROR_LINE
    at = text.index("denied")
    assert not in_documentation(text, at, _guesser({ERROR_LINE}))


def test_a_line_too_short_to_say_counts_as_an_error_s() -> None:
    text = SETTINGS + "\nDenied"
    assert not in_documentation(text, text.index("Denied"), _guesser(set()))


def test_one_message_is_never_documentation() -> None:
    text = "Authentication required to send mail on port 587"
    assert not in_documentation(text, 0, _guesser(set()))
    assert not in_documentation(SETTINGS, 0, None)


def test_the_paragraph_is_the_words_own() -> None:
    # A blank line parts the settings from a short error: its paragraph is one message.
    text = SETTINGS + "\n\n" + "Denied here"
    assert not in_documentation(text, text.index("Denied"), _guesser(set()))
