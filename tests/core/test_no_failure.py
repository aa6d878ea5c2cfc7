"""``smtpprobe.core.no_failure``: when a refusal's words stand in settings, with plain data."""

from __future__ import annotations

from smtpprobe.core.guess import NO_FAILURE, Guess, GuessFunction
from smtpprobe.core.no_failure import in_catalog, in_documentation, is_catalog

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


# evolution-data-server's German catalog, as the negative corpus's development part holds it
# (https://github.com/GNOME/evolution-data-server/blob/ccb3cba2c0458ee08b1ea5f34b0521d3fde4d231/po/de.po)
CATALOG = "\n".join(
    [
        "#: src/camel/camel-sasl-popb4smtp.c:36",
        'msgid "POP before SMTP"',
        'msgstr "POP vor SMTP"',
        "",
        "#: src/camel/camel-sasl-popb4smtp.c:38",
        'msgid "This option will authorise a POP connection before attempting SMTP"',
        'msgstr "Dies autorisiert eine POP-Verbindung, bevor SMTP versucht wird"',
    ]
)


def test_a_catalog_s_strings_and_comments_are_an_interface_s_words() -> None:
    assert is_catalog(CATALOG)
    for words in ("popb4smtp", "POP before SMTP", "POP vor SMTP", "bevor SMTP"):
        assert in_catalog(CATALOG, CATALOG.index(words))
    # whatever the guess says: the catalog's form is enough
    assert in_documentation(CATALOG, CATALOG.index("POP vor"), None)


def test_a_line_after_the_catalog_is_not_in_it() -> None:
    text = CATALOG + "\n\n" + ERROR_LINE
    assert not in_catalog(text, text.index(ERROR_LINE))


def test_a_translated_message_alone_is_no_catalog() -> None:
    # as a program shows it: no msgid, no msgstr
    message = '"POP vor SMTP" fehlgeschlagen'
    assert not is_catalog(message)
    assert not in_catalog(message, 0)
    # a msgid without its msgstr is no entry
    assert not is_catalog('msgid "POP before SMTP"')


def test_a_setting_that_ends_in_its_on_off_value_is_a_setting() -> None:
    # a product's settings page and a provider's table of settings (the negative corpus's
    # development part)
    for line in ("My outgoing server requires authentication = true", "TLSが必要:はい"):
        assert in_documentation(line, 0, None)
    assert in_documentation("smtp_auth_required: 'yes',", 0, None)


def test_an_error_that_ends_in_words_is_not() -> None:
    for line in (
        "Error: authentication required",
        "SMTP AUTH is disabled",
        "Authentication: failed",
        "535 5.7.139 Authentication unsuccessful, basic authentication is disabled.",
    ):
        assert not in_documentation(line, 0, None)


# an options table of a project's docs, as the negative corpus's development part holds it
TABLE = "\n".join(
    [
        "| Option | Type | Required | Description |",
        "|---|---|---|---|",
        "| auth | Boolean | Optional |",
        "SMTP server requires authentication. |",
        "| secure | Boolean | Optional | Use SMTP over SSL. |",
    ]
)


def test_a_row_of_a_markdown_table_is_documentation() -> None:
    assert in_documentation(TABLE, TABLE.index("requires authentication"), None)
    assert in_documentation(TABLE, TABLE.index("Use SMTP over SSL"), None)


def test_a_pipe_in_an_error_is_no_table() -> None:
    # one line with a "|" (a pasted log's separator) makes no table
    line = "2024-01-01 | mail | Relay access denied |"
    assert not in_documentation(line, line.index("Relay"), None)
    # lines under a table that are no rows are read
    text = TABLE + "\n\nRelay access denied"
    assert not in_documentation(text, text.index("Relay"), None)
