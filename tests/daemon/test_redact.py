"""daemon.redact: every secret the process holds, in every form it shows up in, is blanked out."""

from urllib.parse import quote, quote_plus

from daemon.publish.credentials import Secret
from daemon.redact import redact

KEY = "s3cr+t/KEY=42"


def test_a_key_is_blanked_once_a_secret_holds_it() -> None:
    assert redact(f"token={KEY}") == f"token={KEY}"
    Secret(KEY)
    assert redact(f"token={KEY}") == "token=***"


def test_every_form_of_a_key_is_blanked() -> None:
    Secret(KEY)
    lines = Secret("two\nlines").reveal()
    text = f'{quote(KEY, safe="")} {quote(KEY)} {quote_plus(KEY)} {lines!r} "two\\nlines" two%0Alines'
    assert redact(text) == "*** *** *** '***' \"***\" ***"


def test_a_key_that_holds_another_is_blanked_whole() -> None:
    Secret("abc123")
    Secret("xxabc123yy")
    assert redact("xxabc123yy abc123") == "*** ***"


def test_given_secrets_are_blanked_without_being_remembered() -> None:
    assert redact(f"a {KEY}", [KEY]) == "a ***"
    assert redact(f"a {KEY}") == f"a {KEY}"
