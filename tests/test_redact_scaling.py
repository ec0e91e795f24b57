"""Redaction runs in linear time: inputs built to make a backtracking regex engine scan
one run of characters from each of its positions (issue 13 finding 11: a run of
``-----BEGIN PRIVATE KEY-----`` headers took 91 s for 540 KB).

No absolute time is asserted (the machine may be busy): doubling the input must not more
than 2.5x the CPU time, where a quadratic pattern gives 4x and a cubic one 8x. The 1 MB
figures are in bench/README.md (bench/bench_redact.py builds the same inputs).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from genailog.redaction import redact_text


def _repeat(unit: str, tail: str = "", head: str = "") -> Callable[[int], str]:
    def build(size: int) -> str:
        return head + (unit * (size // len(unit) + 1))[:size] + tail

    return build


#: name -> builder of a text of about ``size`` characters.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "pem_headers": _repeat("-----BEGIN PRIVATE KEY-----\n"),
    "pem_open_body": _repeat("A", "-x", "-----BEGIN RSA PRIVATE KEY-----\n"),
    "jwt_dash": _repeat("eyJ-"),
    "jwt_dot": _repeat("eyJabcdefghij."),
    "ipv6_colons": _repeat("1:", "_"),
    "hex_run": _repeat("abcdef0123", ":"),
    "email_at": _repeat("a@"),
    "email_domain_dots": _repeat("a.", "_", "x@"),
    "emails": _repeat("a@b.io "),
    "quotes": _repeat('"a'),
    "digits_space": _repeat("1 "),
    "plus_digits": _repeat("+1 "),
    "zero_groups": _repeat("01 "),
    "url_userinfo": _repeat("://a:"),
    "key_prefixes": _repeat("sk-"),
    "google_prefixes": _repeat("AIza"),
    "iban_prefixes": _repeat("DE00 "),
    "dates": _repeat("05.01.2024 "),
    "base64": _repeat("QUJD"),
    "ssn_words": _repeat("ssn "),
}


def cpu_seconds(text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        redact_text(text)
        best = min(best, time.process_time() - start)
    return best


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_doubling_the_input_at_most_doubles_the_time(name: str) -> None:
    build = ADVERSARIAL[name]
    size = 40_000
    ratio = 0.0
    for _ in range(3):  # a busy machine can slow one measurement; a quadratic never passes
        ratio = cpu_seconds(build(2 * size)) / max(cpu_seconds(build(size)), 1e-4)
        if ratio <= 2.5:
            break
    assert ratio <= 2.5, f"{name}: 2x input took {ratio:.2f}x the time"


def test_the_reported_quadratic_case_is_redacted() -> None:
    text = ADVERSARIAL["pem_headers"](20_000)
    done = redact_text(text)
    assert "PRIVATE KEY-----" not in done and done.count("<PRIVATE_KEY_1>") > 100
