"""The offline redaction engine: PII and secrets become typed, numbered placeholders.

This module is the engine's one home, below every layer that redacts: the dataset export
(through :mod:`genailog.dataset.redact`, which adds the vectorized frame path) and the
producer-side logger :mod:`genailog.log` (write-time redaction). It imports only the
standard library and :mod:`genailog.errors`: no polars, no numpy.

Each detector is a Python regex plus an optional checksum or sanity check (Luhn for card
numbers, ISO 13616 mod-97 for IBANs, ``ipaddress`` for IP addresses). Matches become
``<EMAIL_1>``, ``<EMAIL_2>``...; one value keeps one number across every field of a record,
so a redacted conversation stays readable.

Each detector has a trigger: a cheap regex, a superset of its matches, written in the
dialect common to Python's ``re`` and Rust's ``regex`` (no lookaround), so that the frame
path can evaluate the triggers vectorized in polars and only cells they flag go through the
exact Python detectors. Checksums therefore run only on candidate matches.

Nothing here reads files, downloads models or prints.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

Validator = Callable[[str], int]  # accepted length of the match (0 rejects it)

# ---------------------------------------------------------------- checksums


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]|[3-6]|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5|4[4-9]|2)"
    r"|35(?:2[89]|[3-8])|5[06-9]|6"
)


def _card(text: str) -> int:
    digits = re.sub(r"\D", "", text)
    if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
        return 0
    seps = set(re.findall(r"\D", text))
    return len(text) if len(seps) <= 1 and luhn_ok(digits) else 0


#: ISO 13616 lengths for the countries that issue IBANs.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(compact: str) -> bool:
    """The ISO 7064 mod-97 check of an IBAN without spaces."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _iban(text: str) -> int:
    """Accept the IBAN at the start of ``text``, cutting words the pattern swallowed."""
    want = IBAN_LENGTHS.get(text[:2])
    if want is None:
        return 0
    seen = 0
    for end, ch in enumerate(text, start=1):
        if ch != " ":
            seen += 1
        if seen == want:
            at_boundary = end == len(text) or text[end] == " "
            ok = at_boundary and iban_ok(text[:end].replace(" ", ""))
            return end if ok else 0
    return 0


def _ipv4(text: str) -> int:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return 0
    return len(text)


def _ipv6(text: str) -> int:
    """Accept an IPv6 address at the start of ``text``, a maximal run of hex digits, colons
    and dots; a dot that ends a sentence is left out."""
    text = text.rstrip(".")
    if len(text) > 45 or not any(ch.isdigit() for ch in text):
        return 0  # "bad::add" is valid IPv6 but far more often a C++ or Rust path
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return 0
    return len(text)


def _digits_between(low: int, high: int) -> Validator:
    def check(text: str) -> int:
        return len(text) if low <= sum(ch.isdigit() for ch in text) <= high else 0

    return check


def _us_phone(text: str) -> int:
    digits = re.sub(r"\D", "", text)
    digits = digits[1:] if len(digits) == 11 else digits
    # NANP: area code and exchange both start with 2-9.
    return len(text) if len(digits) == 10 and digits[0] > "1" and digits[3] > "1" else 0


#: File extensions that follow ``@`` in asset names (``icon@2x.png``), never real TLDs in use.
_FILE_TLDS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "pdf", "ico", "bmp", "tif"})


def _email(text: str) -> int:
    return 0 if text.rsplit(".", 1)[-1].lower() in _FILE_TLDS else len(text)


def _national_phone(text: str) -> int:
    """A national number (leading 0: UK, DE, FR...) has 9 to 12 digits with its 0."""
    return len(text) if 9 <= sum(ch.isdigit() for ch in text) <= 12 else 0


def _has_digit(text: str) -> int:
    tail = text.split("-", 2)[-1]
    return len(text) if any(c.isdigit() for c in tail) and any(c.isalpha() for c in tail) else 0


# ---------------------------------------------------------------- detectors


@dataclass(frozen=True)
class Detector:
    """One kind of sensitive value: an exact Python regex and a check on each match.

    A named group ``v`` marks the value when the regex also matches context around it
    (``aws_secret_access_key = ...``); only the value is replaced.
    """

    kind: str
    pattern: re.Pattern[str]
    check: Validator | None = None

    @cached_property
    def _group(self) -> str | int:
        return "v" if "v" in self.pattern.groupindex else 0

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        group, check = self._group, self.check
        if check is None and group == 0:
            return [(m.start(), m.end(), m.group()) for m in self.pattern.finditer(text)]
        found = []
        for match in self.pattern.finditer(text):
            start, end = match.span(group)
            value = text[start:end]
            size = check(value) if check else len(value)
            if size:
                found.append((start, start + size, value[:size]))
        return found


def _d(kind: str, pattern: str, check: Validator | None = None) -> Detector:
    return Detector(kind, re.compile(pattern), check)


_B = r"(?<![A-Za-z0-9_])"  # token start
_E = r"(?![A-Za-z0-9_])"  # token end
_T = r"(?<![A-Za-z0-9_-])"  # token start where "-" belongs to the token
_PEM = r"PRIVATE KEY(?: BLOCK)?-----"
#: A Unicode letter or digit, and the same with "-" (a domain label's characters).
_AL, _ALH = r"[^\W_]", r"[^\W_]|-"
#: A URL's scheme and user, up to the colon before a password.
_URL_USER = r"(?<![\w+.-])[A-Za-z][A-Za-z0-9+.-]{1,20}://[^\s:/@?#]{1,128}:"

#: Detectors in priority order: where two matches overlap, the earlier detector wins.
#: Every pattern runs in linear time: quantifiers are bounded or possessive (``*+``, which
#: gives nothing back, so a failed match costs one pass), and a match can start only at a
#: token boundary, so no run of characters is scanned from each of its positions.
DETECTORS: tuple[Detector, ...] = (
    _d("PRIVATE_KEY", r"-----BEGIN[A-Z ]{0,30}" + _PEM + r"(?:[A-Za-z0-9+/=\s\\:,.]|-(?!----))*+"
       r"(?:-----END[A-Z ]{0,30}" + _PEM + ")?"),
    _d("JWT", _T + r"eyJ[A-Za-z0-9_-]{8,}+\.eyJ[A-Za-z0-9_-]{8,}+\.[A-Za-z0-9_-]*+"),
    _d("ANTHROPIC_KEY", r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}+"),
    _d("OPENAI_KEY", r"(?<![\w-])sk-(?!ant-)[A-Za-z0-9_-]{20,}+", _has_digit),
    _d("AWS_KEY", _B + r"(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{16}" + _E),
    _d("AWS_KEY", r"(?i:aws_?secret(?:_?access)?_?key)[\"']?\s{0,3}[:=]\s{0,3}[\"']?"
       r"(?P<v>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"),
    _d("GOOGLE_API_KEY", _T + r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),
    _d("GOOGLE_OAUTH_TOKEN", _T + r"(?:ya29\.[0-9A-Za-z_-]{20,}+|1//0[0-9A-Za-z_-]{30,}+"
       r"|GOCSPX-[0-9A-Za-z_-]{28}(?![A-Za-z0-9_-]))"),
    _d("GITHUB_TOKEN", _B + r"(?:gh[pousr]_[A-Za-z0-9]{36,255}+|github_pat_[A-Za-z0-9_]{22,255}+)"
       + _E),
    _d("HF_TOKEN", _B + r"hf_[A-Za-z0-9]{30,}+" + _E),
    _d("NPM_TOKEN", _B + r"npm_[A-Za-z0-9]{36}" + _E),
    _d("SLACK_TOKEN", r"(?<![\w-])(?:xox[abposr]-[A-Za-z0-9-]{10,}+|xapp-\d-[A-Za-z0-9-]{10,}+"
       r"|https://hooks\.slack\.com/services/[A-Za-z0-9_/]++)"),
    _d("STRIPE_KEY", _B + r"(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}+"
       r"|whsec_[A-Za-z0-9]{24,}+)" + _E),
    # A storage account key is 64 random bytes: 88 base64 characters ending "==". Bare ones
    # are taken too, except after "sha512-" (package integrity hashes have the same shape).
    _d("AZURE_STORAGE_KEY", r"(?<![A-Za-z0-9+/=-])[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"),
    _d("AZURE_STORAGE_KEY", r"(?i:Account ?Key|SharedAccessKey)\s{0,3}[:=]\s{0,3}"
       r"(?P<v>[A-Za-z0-9+/]{20,}+={0,2})"),
    _d("URL_PASSWORD", _URL_USER + r"(?P<v>[^\s/@?#]{1,128})@"),
    _d("EMAIL", r"(?<![\w.%+-])" + _AL + r"[\w.%+-]{0,63}@(?:" + _AL + r"(?:(?:" + _ALH +
       r"){0,61}" + _AL + r")?\.)+[^\W\d_]{2,24}(?![\w-])", _email),
    _d("EMAIL", r"(?<!\w)\"(?:[^\"\\\r\n]|\\.){1,64}\"@(?:" + _AL + r"(?:(?:" + _ALH +
       r"){0,61}" + _AL + r")?\.)+[^\W\d_]{2,24}(?![\w-])", _email),
    _d("IBAN", r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![A-Za-z0-9])", _iban),
    _d("CREDIT_CARD", r"(?<![\w.,-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)", _card),
    _d("US_SSN", r"(?<![\w.,-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|[.,]\d)"),
    _d("US_SSN", r"(?i:\bssn\b|social security(?: number)?)\W{0,5}(?P<v>\d{9}|\d{3} \d{2} \d{4})"
       r"(?!\d)"),
    _d("PHONE", r"(?<![\w+])(?:\+|(?<![.,-])(?<!\d[ .-])00)[1-9]\d{0,2}"
       r"(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2,6}(?![\w-]|[.,]\d)", _digits_between(8, 17)),
    _d("PHONE", r"(?<![\w.,+-])(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"
       r"(?![\w-]|[.,]\d)", _us_phone),
    # National numbers (UK, DE, FR...): a trunk 0 and an area code that does not start
    # with 0 (00 is the international prefix), then groups with one separator throughout
    # (a date and a time, "05.01.2024 10:30", mixes them), never after a group of digits.
    _d("PHONE", r"(?<![\w.,+/-])(?<!\d[ .-])(?:\(0[1-9]\d{0,3}\) ?\d{3,8}(?: \d{3,8}){0,2}"
       r"|0[1-9]\d{0,3}/ ?\d{3,9}|0[1-9]\d{0,3}([ .-])\d{2,8}(?:\1\d{2,8}){0,3})"
       r"(?![\w-]|[.,/:]\d)", _national_phone),
    _d("PHONE", r"(?<![\w.,+-])0(?:7\d{9}|[67]\d{8}|1[5-7]\d{8,9})(?![\w-]|[.,]\d)"),
    _d("IPV4", r"(?<![\w.-])(?:\d{1,3}\.){3}\d{1,3}(?![\w-]|\.\d)", _ipv4),
    _d("IPV6", r"(?<![\w:.])[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]*+(?![\w:])", _ipv6),
)  # fmt: skip

KINDS: tuple[str, ...] = tuple(dict.fromkeys(d.kind for d in DETECTORS))

#: For each detector (same order), a superset of its matches in the Rust regex dialect
#: polars uses (no lookaround): a cell that matches none of them needs no Python work,
#: and a cell runs only the detectors whose trigger it matches.
TRIGGERS: tuple[tuple[str, str], ...] = (
    ("PRIVATE_KEY", r"-----BEGIN"),
    ("JWT", r"eyJ[A-Za-z0-9_-]{8}"),
    ("ANTHROPIC_KEY", r"sk-ant-"),
    ("OPENAI_KEY", r"sk-[A-Za-z0-9_-]{20}"),
    ("AWS_KEY", r"(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA|AGPA|ANPA|ANVA|APKA)[A-Z0-9]{16}"),
    ("AWS_KEY", r"(?i:aws_?secret)"),
    ("GOOGLE_API_KEY", r"AIza[0-9A-Za-z_-]{35}"),
    ("GOOGLE_OAUTH_TOKEN", r"ya29\.|1//0|GOCSPX-"),
    ("GITHUB_TOKEN", r"gh[pousr]_[A-Za-z0-9]{36}|github_pat_"),
    ("HF_TOKEN", r"hf_[A-Za-z0-9]{30}"),
    ("NPM_TOKEN", r"npm_[A-Za-z0-9]{36}"),
    ("SLACK_TOKEN", r"xox[abposr]-|xapp-|hooks\.slack\.com"),
    ("STRIPE_KEY", r"(?:sk|rk|pk)_(?:live|test)_|whsec_"),
    ("AZURE_STORAGE_KEY", r"[A-Za-z0-9+/]{86}=="),
    ("AZURE_STORAGE_KEY", r"(?i:accountkey|account key|sharedaccesskey)"),
    ("URL_PASSWORD", r"://[^\s:/@?#]{1,128}:[^\s/@?#]{1,128}@"),
    ("EMAIL", r"[\w.%+-]@\w[\w.-]*\.\w{2}"),
    ("EMAIL", r"\"@\w[\w.-]*\.\w{2}"),
    ("IBAN", r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11}"),
    ("CREDIT_CARD", r"\d(?:[ -]?\d){12}"),
    ("US_SSN", r"\d{3}-\d{2}-\d{4}"),
    ("US_SSN", r"(?i:ssn|social security)"),
    # A number starting with 0 starts a token: "(?:^|[^\w...])" stands for the detectors'
    # lookbehind, which Rust lacks (without it, every "2026-11-02" and "req_0001" triggers);
    # a national number holds at least 7 more digits after "0X".
    ("PHONE", r"(?:\+|(?:^|[^\w.,+-])00)\d{1,3}(?:[ .-]?(?:\(\d{1,4}\)|\d{1,4})){2}"),
    ("PHONE", r"(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}"),
    ("PHONE", r"(?:^|[^\w.,+/-])\(?0[1-9][\d()./ -]{7}"),
    ("PHONE", r"(?:^|[^\w.,+-])0[167]\d{8}"),
    ("IPV4", r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}"),
    ("IPV6", r"::|(?:[0-9A-Fa-f]{1,4}:){6}"),
)
#: Any trigger: the vectorized test for "this cell may hold something to redact".
PREFILTER = "|".join(f"(?:{t})" for _, t in TRIGGERS)
#: Where Python's ``re`` finds the same texts faster with another spelling (a literal
#: first, which it searches for directly, and a fixed-width lookbehind, which Rust lacks).
_PY_SPELLING: dict[str, str] = {
    r"[A-Za-z0-9+/]{86}==": r"==(?<=[A-Za-z0-9+/]{86}==)",
    r"::|(?:[0-9A-Fa-f]{1,4}:){6}": r"::|:(?<=[0-9A-Fa-f]:)(?:[0-9A-Fa-f]{1,4}:){5}",
}
#: The same triggers for Python's ``re`` (the syntax used is common to both dialects).
_PY_TRIGGERS = tuple(re.compile(_PY_SPELLING.get(t, t)) for _, t in TRIGGERS)


#: For each trigger (same order), literals one of which every match contains, and whether
#: they are looked for in the casefolded text (the case-insensitive triggers); no literal:
#: every match holds a decimal digit. ``in`` finds a literal far faster than Python's
#: ``re`` tries a pattern at every position, and most texts hold none of them: then the
#: trigger's regex is not run at all.
GATES: tuple[tuple[tuple[str, ...], bool], ...] = (
    (("-----BEGIN",), False), (("eyJ",), False), (("sk-ant-",), False), (("sk-",), False),
    (("AKIA", "ASIA", "ABIA", "ACCA", "AROA", "AIDA", "AGPA", "ANPA", "ANVA", "APKA"), False),
    (("aws",), True), (("AIza",), False), (("ya29.", "1//0", "GOCSPX-"), False),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), False), (("hf_",), False),
    (("npm_",), False), (("xox", "xapp-", "hooks.slack.com"), False),
    (("_live_", "_test_", "whsec_"), False), (("==",), False),
    (("accountkey", "account key", "sharedaccesskey"), True), (("://",), False),
    (("@",), False), (('"@',), False), ((), False), ((), False), (("-",), False),
    (("ssn", "social security"), True), (("+", "00"), False), ((), False), (("0",), False),
    (("0",), False), ((".",), False), ((":",), False),
)
_DIGIT = re.compile(r"\d")


def triggered(text: str) -> list[Detector]:
    """The detectors whose trigger ``text`` matches; a trigger's regex runs only when one
    of its gate's literals is in the text."""
    folded: str | None = None
    digits: bool | None = None
    found = []
    for detector, trigger, (words, caseless) in zip(DETECTORS, _PY_TRIGGERS, GATES,
                                                    strict=True):
        if not words:
            if digits is None:
                digits = _DIGIT.search(text) is not None
            if not digits:
                continue
        elif caseless:
            folded = text.casefold() if folded is None else folded
            if not any(word in folded for word in words):
                continue
        elif not any(word in text for word in words):
            continue
        if trigger.search(text):
            found.append(detector)
    return found


def _normalize(kind: str, value: str) -> str:
    """The identity of a value: one number per value, whatever its spacing or case."""
    if kind == "EMAIL":
        return value.lower()
    if kind in ("CREDIT_CARD", "PHONE", "US_SSN"):
        return re.sub(r"\D", "", value)
    if kind in ("IBAN", "IPV6"):
        return value.replace(" ", "").upper()
    return value


# ---------------------------------------------------------------- text and records


@dataclass
class RecordRedactor:
    """Redacts the fields of one record, numbering each distinct value once."""

    counts: Counter[str]
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)
    per_kind: Counter[str] = field(default_factory=Counter)

    def placeholder(self, kind: str, value: str) -> str:
        key = (kind, _normalize(kind, value))
        if key not in self.numbers:
            self.per_kind[kind] += 1
            self.numbers[key] = self.per_kind[kind]
        self.counts[kind] += 1
        return f"<{kind}_{self.numbers[key]}>"

    #: The detectors to run (None: those each text triggers); the frame path sets them
    #: per cell from triggers evaluated in polars.
    detectors: Sequence[Detector] | None = None

    def text(self, text: str) -> str:
        detectors = triggered(text) if self.detectors is None else self.detectors
        spans = find_spans(text, detectors)
        if not spans:
            return text
        parts: list[str] = []
        pos = 0
        for start, end, kind, value in spans:
            parts.append(text[pos:start])
            parts.append(self.placeholder(kind, value))
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def json_text(self, text: str) -> str:
        """String values inside JSON text; keys, numbers and layout of the rest stay, and
        text with nothing to replace is returned as it was."""
        try:
            value = json.loads(text)
        except ValueError:
            return self.text(text)
        before = self.counts.total()
        walked = self.walk(value)
        if self.counts.total() == before:
            return text
        return json.dumps(walked, ensure_ascii=False, separators=(",", ":"))

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self.walk(v) for k, v in value.items()}
        return value


def find_spans(
    text: str, detectors: Sequence[Detector] = DETECTORS
) -> list[tuple[int, int, str, str]]:
    """Non-overlapping ``(start, end, kind, value)`` matches, in text order.

    Each detector's matches come in text order and do not overlap each other, so a sweep
    against the spans already taken (also in order) keeps the work linear."""
    taken: list[tuple[int, int, str, str]] = []
    for detector in detectors:
        found = detector.spans(text)
        if not found:
            continue
        kept: list[tuple[int, int, str, str]] = []
        k = 0
        for start, end, value in found:
            while k < len(taken) and taken[k][1] <= start:
                k += 1
            if k == len(taken) or end <= taken[k][0]:
                kept.append((start, end, detector.kind, value))
        taken = sorted(taken + kept) if taken else kept
    return taken


def redact_text(text: str, counts: Counter[str] | None = None) -> str:
    """One string redacted on its own (numbering starts at 1)."""
    return RecordRedactor(counts if counts is not None else Counter()).text(text)



@cache
def detectors_for(code: int) -> list[Detector]:
    """The detectors whose bits are set in a trigger code (bit i: ``TRIGGERS[i]``)."""
    return [d for i, d in enumerate(DETECTORS) if code >> i & 1]


# ---------------------------------------------------------------- records

#: Text fields redacted by default. Identifiers (user_id, session_id...) are left alone,
#: because grouping and joins need them; the export adds them with --redact-fields.
DEFAULT_FIELDS: tuple[str, ...] = (
    "prompt", "system_prompt", "messages", "response", "feedback_comment", "error_message",
    "metadata", "retrieval_docs", "tags",
)  # fmt: skip


def redact_record(
    record: Mapping[str, Any], fields: Iterable[str] = DEFAULT_FIELDS
) -> tuple[dict[str, Any], Counter[str]]:
    """One record (a decoded JSON object) with ``fields`` redacted, and what was replaced.

    Every string inside each named field is redacted, however deep (messages, metadata
    objects, tag lists); other values, and fields not named, are kept as they are. The
    input is not modified; the result is a new dict in the same key order. Placeholders
    are numbered per record, in the order of ``fields``. The counter holds, per kind, the
    occurrences replaced (empty: nothing was found)."""
    redactor = RecordRedactor(Counter())
    out = dict(record)
    for name in fields:
        value = out.get(name)
        if value is not None:
            out[name] = redactor.walk(value)
    return out, redactor.counts
