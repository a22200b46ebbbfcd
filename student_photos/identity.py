"""Is this the same person? The one rule both scripts use before a photo or a link moves.

Every comparison answers SAME, DIFFERENT or UNKNOWN, with the reason. Only SAME ever moves anything;
UNKNOWN is reported as needing a person. Values are compared by meaning, never by text:

- names: Unicode NFKC, invisible format characters (category Cf) and control characters removed,
  dashes and apostrophes unified, whitespace collapsed, case folded;
- dates: by calendar day, from a BSON date, Extended JSON ``$date`` (already flattened by ``backups``),
  or an ISO string with or without time and zone;
- numbers and digit strings: by value, so leading zeros are ignored (``"007"`` is ``7``), as school
  information systems do;
- anything that cannot be normalised (a list, a dict, a boolean, NaN, an impossible date) makes its
  field UNKNOWN, and unknown blocks: it is never silently ignored.

A field absent on one side proves nothing either way. Values are held as short "codes" (strings) so
that 200,000 records stay small and compare fast: ``""`` absent, ``"?why"`` cannot be compared,
``"n7"`` a number, ``"d2015-03-04"`` a day (``"D..."`` when it came with a time of day, so a time zone
may have moved it by one), ``"ttext"`` other text; a list of plain values keeps its members' codes after its
``"?a list"`` (``member_codes``), so that candidates are found by them (never compared: still UNKNOWN).
"""

from __future__ import annotations

import enum
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Generic, TypeVar

SEPARATOR = "\x1f"  # a control character: normalised values never contain one
T = TypeVar("T")


class Verdict(enum.Enum):
    SAME = "same"
    DIFFERENT = "different"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str
    agreeing: tuple[str, ...] = ()  # identifying fields present on both sides and equal


@dataclass(frozen=True, slots=True)
class Person:
    """What identifies one record: its normalised name (None: missing or not text) and field codes."""

    name: str | None
    codes: str = ""  # field codes joined by SEPARATOR, in the order of the fields compared

    def code_list(self, count: int) -> list[str]:
        return self.codes.split(SEPARATOR) if self.codes else [""] * count


# ---------------------------------------------------------------- normalising
# Dashes and apostrophes that mean the same in a name: hyphen, en dash, minus; right quote, backtick, ...
_TRANSLATE = {**{c: "-" for c in (*range(0x2010, 0x2016), 0x2212)},
              **{c: "'" for c in (0x2018, 0x2019, 0x201B, 0x2032, 0x02BC, 0x0060, 0x00B4)}}


@lru_cache(maxsize=65536)
def clean_text(value: str) -> str:
    """NFKC, invisible and control characters out, dashes and apostrophes unified, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", value)
    if not text.isascii() or not text.isprintable():
        text = "".join(" " if ch.isspace() else ch for ch in text
                       if ch.isspace() or unicodedata.category(ch) not in ("Cf", "Cc", "Cs", "Co", "Cn"))
    return " ".join(text.translate(_TRANSLATE).split())


# Cyrillic and Greek letters drawn like Latin ones (a name typed with a Cyrillic А looks the same as with a
# Latin A; two children must not be told apart by that). Applied after case folding, so case never matters,
# and no two letters of one script map to one Latin letter, so two names in one script never fold together.
_LOOKALIKES = str.maketrans("авекмнорстухіјѕԁԛԝёї" "αβεζηικμνορτυχάέίόύ" "ɑɡ",
                            "abekmhopctyxijsdqwëï" "abezhikmnoptyxáéíóý" "ag")
_LOOKALIKE_TARGETS = frozenset("abekmhopctyxijsdqwëï" "abezhikmnoptyxáéíóý")


# Letters of East Asian writing mix within one word (kanji with kana): one group. Letters whose name starts
# with no script (modifier letters such as the Hawaiian ʻokina) are not counted.
_SCRIPT_GROUPS = {"CJK": "HAN", "HIRAGANA": "HAN", "KATAKANA": "HAN", "IDEOGRAPHIC": "HAN", "HANGUL": "HAN",
                  "BOPOMOFO": "HAN", "HALFWIDTH": "HAN"}


@lru_cache(maxsize=4096)
def _script(char: str) -> str:
    try:
        first = unicodedata.name(char).split(" ", 1)[0]
    except ValueError:
        return "?"
    return _SCRIPT_GROUPS.get(first, first)


def _mixes_scripts(text: str) -> bool:
    """Whether one word (case-folded) mixes letters of two scripts: the mark of a lookalike typed in (Cherokee Ꭺ,
    Armenian օ and many more look Latin; no table lists them all). Latin letters in a Cyrillic or Greek word
    are allowed only where the table folds a letter of that script to them (a Ukrainian і typed as i)."""
    for word in text.split():
        scripts: set[str] = set()
        latin_not_lookalike = False
        for char in word:
            if unicodedata.category(char) not in ("Lu", "Ll", "Lt", "Lo"):
                continue
            script = "LATIN" if char.isascii() else _script(char)
            scripts.add(script)
            latin_not_lookalike = latin_not_lookalike or (script == "LATIN" and char not in _LOOKALIKE_TARGETS)
        others = scripts - {"LATIN", "CYRILLIC", "GREEK"}
        if len(others) > 1 or (others and len(scripts) > 1):
            return True
        if "LATIN" in scripts and scripts & {"CYRILLIC", "GREEK"} and latin_not_lookalike:
            return True
        if {"CYRILLIC", "GREEK"} <= scripts:
            return True
    return False


def name_key(value: object) -> str | None:
    """A name's comparable form; None when it is missing, empty or not text (then identity is unknown)."""
    if not isinstance(value, str):
        return None
    if value.isascii() and value.isprintable():  # most names: NFKC and casefold are lower() here
        return " ".join(value.replace("`", "'").split()).lower() or None
    folded = unicodedata.normalize("NFKC", clean_text(value).casefold())
    if _mixes_scripts(folded):
        return None  # unknown: such a name can look like another and cannot be told apart from it
    key = folded.translate(_LOOKALIKES)
    # Dotless ı and dotted İ fold differently from I and i; in a name they are one letter written two ways.
    return key.replace("ı", "i").replace("i\u0307", "i") or None


_STROKES = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ħ": "h", "ŧ": "t",
                          "ƀ": "b", "ɨ": "i", "þ": "th"})


def loose_name_key(value: object) -> str | None:
    """A name with accents, case, spacing, punctuation and look-alike letters folded away (None when not text):
    names that share it may be one name written two ways ('Zoë' exported as 'Zoe'), so a key that names one of
    them is never proof that it is not the other."""
    if not isinstance(value, str):
        return None
    if value.isascii():  # most names: only letters and digits, case folded
        return "".join(filter(str.isalnum, value.lower())) or None
    folded = unicodedata.normalize("NFKD", clean_text(value).casefold()).translate(_LOOKALIKES).replace("ı", "i")
    folded = folded.translate(_STROKES)  # (NFKD leaves Ø, Ł, Đ, Æ whole: 'Søren' is exported as 'Soren')
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LN") or None


def alike_key(key: str | None) -> str | None:
    """What candidates for a person are found by (restore and migrate): the name key written loosely, so that every
    current record whose name is written alike ('Zoë' for 'Zoe') is compared; the key itself when it has no
    letters or digits."""
    return None if key is None else loose_name_key(key) or key


_ISO_DAY = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
                      r"(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?",
                      re.IGNORECASE | re.ASCII)
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")  # no thousands separators: "1,234" stays text


def _decimal_code(number: Decimal) -> str:
    if not number.is_finite():
        return "?not a finite number"
    if number == number.to_integral_value():
        return f"n{int(number)}"
    return "n" + format(number.normalize(), "f")


def _day_code(day: date, exact: bool, at: str = "") -> str:
    """``at``: an instant's time of day and zone ("T22:00:00Z"): two instants agree only at the same moment."""
    return "d" + day.isoformat() if exact else "D" + day.isoformat() + at


def _datetime_code(moment: datetime) -> str:
    if moment.tzinfo is not None:  # BSON dates are instants: their day is the UTC day
        moment = moment.astimezone(timezone.utc)
    exact = (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0)
    at = moment.time().isoformat()
    at = at.rstrip("0").rstrip(".") if "." in at else at  # "22:00:00.123000" is ISO's "22:00:00.123"
    return _day_code(moment.date(), exact, f"T{at}Z")  # naive from BSON: UTC too


def _iso_code(match: re.Match[str]) -> str:
    year, month, day, hour, minute, second, fraction, _zone = match.groups()
    try:
        written = date(int(year), int(month), int(day))
    except ValueError:
        return "?not a real date"
    if hour is None:
        return _day_code(written, True)
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        return "?not a real time"
    midnight = int(hour) == int(minute) == int(second or 0) == 0 and not (fraction or "").strip("0")
    zone = (_zone or "").strip().upper()
    if zone and zone != "Z":  # +02, +0200 and +02:00 are one zone
        digits = zone[1:].replace(":", "")
        zone = "Z" if int(digits or 0) == 0 else f"{zone[0]}{digits[:2]}:{digits[2:4] or '00'}"
    fraction = (fraction or "").rstrip("0")
    at = f"T{int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}{'.' + fraction if fraction else ''}{zone}"
    return _day_code(written, midnight, at)  # the day as written, in the writer's own zone


@lru_cache(maxsize=65536)
def _text_code(value: str) -> str:
    text = clean_text(value)
    letters = "".join(c for c in text.casefold() if c.isalnum())
    if not letters or letters in _PLACEHOLDER_TEXT:  # "", "-", "?", "N/A", "TBD": nothing recorded
        return ""
    written = _WRITTEN_DAY.fullmatch(text)
    if written and written.group(3) in _PLACEHOLDER_YEARS:
        return ""
    match = _ISO_DAY.fullmatch(text)
    if match:
        return _iso_code(match)
    if _NUMBER.fullmatch(text):
        try:
            return _decimal_code(Decimal(text))
        except InvalidOperation:
            return "?not a number"
    return "t" + unicodedata.normalize("NFKC", text.casefold())


# What a school types for "not known": two records that both say so are not proven one child by it.
_PLACEHOLDER_TEXT = frozenset({"na", "nk", "none", "null", "nil", "unknown", "notknown", "tbd", "tba", "tbc",
                               "pending", "missing", "notrecorded", "notapplicable", "notset", "x", "xx", "xxx"})
# A blank date saved by a program becomes day 0 of its calendar (0001-01-01; 1899-12-30 in Excel and Access;
# 1900-01-01; 1970-01-01), shifted a day either way by a time zone: no pupil was born in those years.
_PLACEHOLDER_YEARS = frozenset({"0001", "1899", "1900", "1969", "1970"})
_WRITTEN_DAY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")  # 01/01/1900: compared as text otherwise


def value_code(value: object) -> str:
    """An identifying field's comparable code (see the module's doc); a placeholder is absent (proves nothing)."""
    code = _value_code(value)
    if code == "n0" or (code[:1] in ("d", "D") and code[1:5] in _PLACEHOLDER_YEARS):
        return ""
    return code


def _value_code(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "?a true/false value"
    if isinstance(value, int):
        return f"n{value}"
    if isinstance(value, str):
        return _text_code(value)
    if isinstance(value, float):
        return _decimal_code(Decimal(repr(value))) if math.isfinite(value) else "?not a finite number"
    if isinstance(value, Decimal):
        return _decimal_code(value)
    if isinstance(value, datetime):
        return _datetime_code(value)
    if isinstance(value, date):
        return _day_code(value, True)
    to_decimal = getattr(value, "to_decimal", None)  # BSON Decimal128 (the driver stays in db.py)
    if callable(to_decimal):
        try:
            return _decimal_code(to_decimal())
        except (InvalidOperation, ValueError, TypeError):
            return "?not a number"
    if type(value).__name__ in ("ObjectId", "ObjectIdValue"):
        return "t" + str(value).casefold()
    if isinstance(value, (list, tuple)):
        return _list_code(value)
    kinds: dict[type, str] = {dict: "a document", bytes: "binary data"}
    return "?" + kinds.get(type(value), f"a {type(value).__name__}")


# Values that cannot be compared and are no one's identifier either (no child is found by "true" or an impossible day)
_PROVES_NOTHING = frozenset({"?a true/false value", "?not a finite number", "?not a real date", "?not a real time",
                             "?not a number"})
MEMBERS = "\x1e"  # a control character: after "?a list", the codes of its members (no other code holds one)
MAX_LIST_MEMBERS = 20  # a longer (or deeper) list holds no one child's identifier: its members are not looked up


def _list_code(value: list | tuple) -> str:
    """A list is never compared (``"?a list"``), but the codes of its members are kept after it when every member
    is a plain value (nested lists flattened, placeholders left out), so that a record holding ``[5]`` is still
    found by the 5 it may be (``member_codes``). A list holding anything else keeps none: it cannot be looked up."""
    members: list[str] = []
    pending: list[tuple[object, int]] = [(v, 1) for v in reversed(value)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, (list, tuple)):
            if depth >= 3:  # (three levels: an import nests a list in a list, never deeper)
                return "?a list"
            pending.extend((v, depth + 1) for v in reversed(item))
            continue
        code = value_code(item)
        if code in _PROVES_NOTHING:
            continue
        if code[:1] == "?" or len(members) >= MAX_LIST_MEMBERS:
            return "?a list"
        if code and code not in members:
            members.append(code)
    return "?a list" + MEMBERS + MEMBERS.join(members)


def uncomparable_why(code: str) -> str:
    """Why a ``"?..."`` code cannot be compared, as a message says it (a list's member codes are not shown)."""
    return code[1:].split(MEMBERS, 1)[0]


def member_codes(code: str) -> list[str] | None:
    """The comparable codes a field's code stands for: itself; none when absent; a list's members; None when it
    cannot be compared and stands for values no look-up can find (a document, a list of documents)."""
    if not code or code in _PROVES_NOTHING:
        return []
    if code[0] != "?":
        return [code]
    if MEMBERS not in code:
        return None
    return [c for c in code.split(MEMBERS)[1:] if c]


def person_of(name: object, values: Iterable[object]) -> Person:
    codes = [value_code(v) if v is not None else "" for v in values]
    return Person(name_key(name), SEPARATOR.join(codes) if any(codes) else "")


def person_from_document(doc: dict, fields: Sequence[str]) -> Person:
    return person_of(doc.get("name"), (doc.get(f) for f in fields))


_PLAIN = (str, int, type(None))  # exactly equal values of these types normalise to exactly equal codes


def plainly_equal(a: tuple, b: tuple) -> bool:
    """Two records' raw name and fields are the very same plain values (no bool, float, list or date, whose
    equality Python stretches): their verdict is then the verdict of one record against itself."""
    if len(a) != len(b):
        return False
    return all(type(x) is type(y) and type(x) in _PLAIN and x == y for x, y in zip(a, b, strict=True))


def self_verdict(person: Person, fields: Sequence[str]) -> Judgement:
    """The verdict of a record compared with an identical copy of itself: SAME unless something is unknown."""
    return compare(person, person, fields)


# ---------------------------------------------------------------- comparing
def _compare_codes(x: str, y: str) -> str:
    """'agree', 'differ' or why the two cannot be compared."""
    if x[0] == "?" or y[0] == "?":
        return f"cannot be compared ({uncomparable_why(x if x[0] == '?' else y)})"
    if x[0] in "dD" and y[0] in "dD":
        apart = abs(date.fromisoformat(x[1:11]) - date.fromisoformat(y[1:11]))
        if x[0] != y[0] and apart <= timedelta(days=1):  # a time of day against a plain day: a zone may move it
            return "cannot be compared (one is an instant with a time of day, the other a day: a time zone may have " \
                   "moved it by one)"
        if apart == timedelta(0):
            if x[0] == "D" and x[11:] and y[11:] and x[11:] != y[11:]:  # (a code of an older run has no time)
                return "cannot be compared (two instants on one day at different times of day or zones: in their " \
                       "own zones they may be different days)"
            return "agree"
        if x[0] == "D" and apart == timedelta(days=1):
            return "one day apart, and both carry a time of day (a time zone may have moved them)"
        return "differ"
    if x[0] != y[0]:
        kinds = {"d": "a date", "D": "a date", "n": "a number", "t": "text"}
        return f"cannot be compared ({kinds[x[0]]} on one side, {kinds[y[0]]} on the other)"
    if x == y:
        return "agree"
    if x[0] == "t" and set(date_readings(x)) & set(date_readings(y)):  # `04/03/2015`, `4 March 2015`
        return "cannot be compared (two dates written as text that may be the same day)"
    return "differ"


def code_verdict(x: str, y: str) -> str:
    """Two comparable codes (``value_code``) side by side: 'agree', 'differ' or 'unknown'."""
    outcome = _compare_codes(x, y)
    return outcome if outcome in ("agree", "differ") else "unknown"


def field_verdict(a: object, b: object) -> str:
    """One identifying field's values side by side: 'agree', 'differ', 'unknown', or '' when one is absent."""
    x, y = value_code(a), value_code(b)
    if not x or not y:
        return ""
    return code_verdict(x, y)


def names_agree(a: object, b: object) -> str:
    """'agree', 'differ', or 'unknown' when either name is missing or not text."""
    x, y = name_key(a), name_key(b)
    if x is None or y is None:
        return "unknown"
    return "agree" if x == y else "differ"


def written_name_is(written: str, recorded: object) -> bool:
    """Whether a name a person wrote (a reviewed file's cell) is proven the record's: the same name by the rule, or,
    for a name the rule cannot compare (mixed scripts), the very same text; never two uncomparable names (None ==
    None). The other direction is ``written_name_could_be``."""
    verdict = names_agree(written, recorded)
    if verdict != "unknown":
        return verdict == "agree"
    return isinstance(recorded, str) and clean_text(written) != "" and clean_text(written) == clean_text(recorded)


def written_name_could_be(written: str, recorded_key: str | None) -> bool:
    """Whether a name a person wrote could be a record's (``recorded_key``: its name key): unless the rule finds the
    two different, for a name that is missing, not text or cannot be compared could be anyone's. The other
    direction (proof) is ``written_name_is``."""
    written_key = name_key(written)
    return recorded_key is None or written_key is None or recorded_key == written_key


def agreeing_fields(a: Person, b: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The identifying fields present on both and equal, whatever the names say."""
    if not a.codes or not b.codes:
        return ()
    return tuple(f for f, x, y in zip(fields, a.code_list(len(fields)), b.code_list(len(fields)), strict=True)
                 if x and y and _compare_codes(x, y) == "agree")


def renamed_only(a: Person, b: Person, fields: Sequence[str], judged: Judgement | None = None) -> tuple[str, ...]:
    """The identifiers (numbers, text) two records share when nothing but the name differs: a corrected name?
    Never proof of anything (a person decides), but never to be called another person either. A birth date
    alone is shared by too many children to say so. ``judged``: ``compare(a, b, fields)``, if already made."""
    judged = judged or compare(a, b, fields)
    if judged.verdict is not Verdict.DIFFERENT or judged.reason != "name differs":
        return ()
    return shared_identifiers(a, b, fields)


def respelled_only(a: Person, b: Person, fields: Sequence[str], read_dates: bool = False) -> tuple[str, ...]:
    """The dates two records share when nothing but the name differs and the two names are written alike
    (``written_alike``: Sara and Sarah, 'Lee, Ann' and Ann Lee): where a birth date is all a school records, a
    corrected name? Never proof of anything (a person decides), but never to be called a pupil who left either.
    ``read_dates``: a date written another way that may be their day counts as theirs (only where it adds a question,
    never where it would let a reviewed row pass)."""
    read = _dates_read_as_theirs(a, b, fields) if read_dates else None  # `04/03/2015`, 2015-03-04: maybe one day
    judged = compare(read or a, b, fields)
    if judged.verdict is not Verdict.DIFFERENT or judged.reason != "name differs" or not written_alike(a.name, b.name):
        return ()
    a, count = read or a, len(fields)
    shared = {f for f, _ in _shared_codes(a, b, fields, "dD")}  # and a date written as text, the same on both sides
    shared |= {f for f, x, y in zip(fields, a.code_list(count), b.code_list(count), strict=False)
               if x and x == y and x[0] == "t" and date_readings(x)} if a.codes and b.codes else set()
    return tuple(f for f in fields if f in shared)


def spelled_alike(a: str | None, b: str | None, letters: int = 1) -> bool:
    """Two name keys at most ``letters`` letters apart (added, dropped or changed, or two neighbours swapped: Khan
    and Kahn), spaces aside: Sara and Sarah, Jon and John, but not the twins Sam and Sara."""
    if a is None or b is None:
        return False
    x, y = a.replace(" ", ""), b.replace(" ", "")
    if abs(len(x) - len(y)) > letters:
        return False
    before: list[int] = []
    previous = list(range(len(y) + 1))
    for i, cx in enumerate(x, 1):
        row = [i]
        for j, cy in enumerate(y, 1):
            cost = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (cx != cy))
            if before and j > 1 and cx != cy and cx == y[j - 2] and x[i - 2] == cy:  # two neighbours swapped
                cost = min(cost, before[j - 2] + 1)
            row.append(cost)
        if min(row) > letters and min(previous) > letters:  # (a swap reaches back two rows)
            return False
        before, previous = previous, row
    return previous[-1] <= letters


_WORD = re.compile(r"[^\W_]+")


def written_alike(a: str | None, b: str | None) -> bool:
    """Two name keys that may be one name written another way: written alike (``names_alike``), one letter apart
    or two neighbours swapped (``spelled_alike``), the same words in another order ('Lee, Ann'), or the words of
    one among the other's (first name only, 'Ann', where the surname moved to another field)."""
    if a is None or b is None:
        return False
    if names_alike(a, b) or spelled_alike(a, b):
        return True
    x, y = loose_words(a), loose_words(b)  # (`Pérez, José` is `Jose Perez`: accents aside, word by word)
    return bool(x and y) and (x == y or set(x) <= set(y) or set(y) <= set(x))


def loose_words(key: str) -> list[str]:
    """A name key's words written loosely (``loose_name_key``), split at spaces and punctuation, sorted."""
    return sorted(w for word in _WORD.findall(key) if (w := loose_name_key(word)))


def judge_same_id(held: Person, current: Person, fields: Sequence[str], judged: Judgement | None = None) -> Judgement:
    """Whether a backup's record of a current id is the student holding it now (restore and migrate): ``compare``,
    except that a record differing only by its name while identifiers agree is no proof of another person
    (UNKNOWN: a corrected name?)."""
    judged = judged or compare(held, current, fields)
    if shared := renamed_only(held, current, fields, judged):
        return Judgement(Verdict.UNKNOWN, f"nothing differs but the name, and the {', '.join(shared)} agree: "
                                          "a corrected name?")
    return judged


def compare(a: Person, b: Person, fields: Sequence[str]) -> Judgement:
    """SAME, DIFFERENT or UNKNOWN, with the reason. A proven difference wins over anything unknown."""
    differing: list[str] = []
    unknown: list[str] = []
    agreeing: list[str] = []
    if a.name is None or b.name is None:
        unknown.append("name is missing or not text")
    elif a.name != b.name:
        differing.append("name")
    a_codes, b_codes = a.code_list(len(fields)), b.code_list(len(fields))
    if a.codes and b.codes and not len(a_codes) == len(b_codes) == len(fields):  # recorded under other MATCH_FIELDS
        unknown.append("identifying fields recorded under another MATCH_FIELDS setting")
    elif a.codes and b.codes:
        for field, x, y in zip(fields, a_codes, b_codes, strict=True):
            if not x or not y:
                continue  # absent on one side: proves nothing
            outcome = _compare_codes(x, y)
            if outcome == "agree":
                agreeing.append(field)
            elif outcome == "differ":
                differing.append(field)
            else:
                unknown.append(f"{field} {outcome}")
    if differing:
        return _judgement(Verdict.DIFFERENT, f"{', '.join(differing)} differ{'s' if len(differing) == 1 else ''}")
    if unknown:
        return _judgement(Verdict.UNKNOWN, "; ".join(unknown))
    return _judgement(Verdict.SAME, "same name" + (f" and {', '.join(agreeing)}" if agreeing else ""),
                      tuple(agreeing))


@lru_cache(maxsize=4096)
def _judgement(verdict: Verdict, reason: str, agreeing: tuple[str, ...] = ()) -> Judgement:
    """One shared (immutable) Judgement per distinct answer: restore keeps one per student."""
    return Judgement(verdict, reason, agreeing)


def names_alike(a: str | None, b: str | None) -> bool:
    """Two name keys that may be one name written two ways (``alike_key``): 'Zoë Adams' and 'Zoe Adams'."""
    return a is not None and b is not None and (a == b or alike_key(a) == alike_key(b))


def judge_candidate(old: Person, person: Person, fields: Sequence[str]) -> Judgement:
    """``compare`` for "could this record be them?" (a match's candidates, a rival folder's record): a name
    written alike with nothing else differing is unknown, never another person."""
    judged = compare(old, person, fields)
    if judged.verdict is Verdict.DIFFERENT and judged.reason == "name differs" and names_alike(old.name, person.name):
        return Judgement(Verdict.UNKNOWN, f"the name is written another way ({person.name!r}, was {old.name!r}) and "
                                          "nothing else differs")
    return judged


IDENTIFIER_KINDS = "nt"  # numbers and text identify one child; a date (a birthday) is shared by many
MAX_SHARED_IDENTIFIER = 20  # a value more current records hold (a school office's email) identifies no one child
# Current records sharing one birth date that are still compared one by one (a respelled name, a number no look-up
# finds, a gap's other child): a district's birthdays are ~40 each; a date thousands hold is a placeholder.
MAX_SHARING_A_DAY = 1000


def lookup_codes(person: Person, kinds: str = IDENTIFIER_KINDS) -> list[tuple[int, str]]:
    """(field position, code) of the values of these kinds a record holds, a list's members too (``member_codes``),
    and with dates (``d``) each day a date written as text may be (``date_readings``): what candidates are found
    by. The one rule of migrate's look-ups and the restore's."""
    found: list[tuple[int, str]] = []
    for i, code in enumerate(person.codes.split(SEPARATOR) if person.codes else ()):
        members = member_codes(code) or ()
        found += [(i, c) for c in members if c[0] in kinds and (i, c) not in found]
        if "d" in kinds:  # (a text date's days, an instant's: found by a plain day, and the other way round)
            found += [(i, r) for c in members if c[0] in "tD" for r in date_readings(c) if (i, r) not in found]
    return found


_MONTHS = {name: number for number, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun"),
    ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
    ("december", "dec")), 1) for name in names}
_WEEKDAYS = frozenset({"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
                       "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"})
_FILLER = frozenset({"the", "of", "on", "st", "nd", "rd", "th"})  # 4th of March; ordinals
# a time of day after a date (10:00, 23:30:00.5, 10:00 a.m., +02:00, Z, UTC, PST): its zone may move the day
_TIME = re.compile(r"\d{1,2}[:h]\d{2}(?:[:.]\d{2}(?:[.,]\d+)?)?(?:\s*[ap]\.?\s?m\.?)?"
                   r"(?:\s*(?:z|[+-]\d{1,2}(?::?\d{2})?|[a-z]{2,5}\b))?")
_TOKEN = re.compile(r"\d+|[^\W\d_]+")


def _years(written: str) -> tuple[int, ...]:
    """A two-digit year is either century's (a birth date: 12 is 2012 or 1912)."""
    return (int(written),) if len(written) == 4 else (2000 + int(written), 1900 + int(written))


def _written_days(text: str) -> tuple[list[tuple[int, int, int]], bool] | None:
    """(year, month, day) a text may be, and whether a time of day followed it; None when it is no date written in
    a form read here (a month's name, or three numbers: day and month either way round, a two-digit year)."""
    timed = _TIME.search(text)
    if timed:
        text = text[:timed.start()] + " " + text[timed.end():]
    tokens = [t for t in _TOKEN.findall(text) if t not in _FILLER and t not in _WEEKDAYS]
    months = [t for t in tokens if t in _MONTHS]
    numbers = [t for t in tokens if t.isdigit() and t.isascii()]
    if len(months) + len(numbers) != len(tokens) or any(len(n) not in (1, 2, 4) for n in numbers):
        return None  # a word or number that is no part of a date
    if len(months) == 1 and len(numbers) == 2:
        month = _MONTHS[months[0]]
        if len(numbers[0]) == 4 or len(numbers[1]) == 4:
            year, day = (numbers[0], numbers[1]) if len(numbers[0]) == 4 else (numbers[1], numbers[0])
            return [(y, month, int(day)) for y in _years(year)], bool(timed)
        return [(y, month, int(day)) for day, year in (numbers, numbers[::-1]) for y in _years(year)], bool(timed)
    if not months and len(numbers) == 3:
        if len(numbers[0]) == 4:
            return [(int(numbers[0]), int(numbers[1]), int(numbers[2]))], bool(timed)
        first, second = int(numbers[0]), int(numbers[1])
        days = [(y, m, d) for y in _years(numbers[2]) for m, d in ((second, first), (first, second))]
        if len(numbers[2]) == 2:  # 15-03-04 may be year first too (as Sweden and Korea write it)
            days += [(y, second, int(numbers[2])) for y in _years(numbers[0])]
        return days, bool(timed)
    return None


def unread_date(code: str) -> bool:
    """Text that may hold a date (a month's name with a number; three numbers; a four-digit year with another number:
    `born 04/03/2015`, `4.III.2015`, `2015年3月4日`, two dates) but is in no form read here: it may be any day, so it
    proves nothing and blocks where a day is asked (fail closed)."""
    if not code.startswith("t") or date_readings(code):
        return False
    numbers = [t for t in re.findall(r"\d+", code[1:])]
    months = any(t in _MONTHS for t in _TOKEN.findall(code[1:]))
    return bool(numbers) and (months or len(numbers) >= 3 or (len(numbers) >= 2 and any(len(n) == 4 for n in numbers)))


@lru_cache(maxsize=65536)
def date_readings(code: str) -> tuple[str, ...]:
    """The days (``d`` codes) a date may be, for looking up, never as proof: a date written as text (`04/03/2015`
    is 4 March or 3 April; `4.3.15`; `12-Nov-2012`; `Wednesday, 4th of March 2015`; `2015 March 4`; with its time
    after it, and then the days either side too), and an instant's day with the days either side (a time zone
    moves it). A plain day is just itself."""
    if code.startswith("d"):
        return (code,)
    if code.startswith("D"):
        try:
            on = date.fromisoformat(code[1:11])
        except ValueError:
            return ()
        return _around(on)
    if not code.startswith("t") or len(code) > 80:
        return ()
    written = _written_days(code[1:])
    if written is None:
        return ()
    days, timed = written
    readings: list[str] = []
    for year, month, day in days:
        try:
            on = date(year, month, day)
        except ValueError:
            continue
        for reading in (_around(on) if timed else (_day_code(on, True),)):
            if reading not in readings:
                readings.append(reading)
    return tuple(readings)


def _around(on: date) -> tuple[str, ...]:
    """The day and the days either side (a time zone may move a moment by one), within the calendar."""
    shifts = (0, *((-1,) if on > date.min else ()), *((1,) if on < date.max else ()))
    return tuple(_day_code(on + timedelta(days=shift), True) for shift in shifts)


def identifier_codes(person: Person) -> list[tuple[int, str]]:
    """(field position, code) of the identifiers a record holds, a list's members too: what a renamed child keeps,
    and what candidates sharing one are found by (migrate's and the restore's look-ups)."""
    return lookup_codes(person, IDENTIFIER_KINDS)


def unsearchable(person: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The fields whose value cannot be compared and stands for nothing a look-up can find (a document, a list of
    documents): a record holding the same value under another name cannot be looked for."""
    if not person.codes:
        return ()
    return tuple(f for f, c in zip(fields, person.code_list(len(fields)), strict=False) if member_codes(c) is None)


def identifier_fields(person: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The fields in which a record holds an identifier (a number or text, a list's members too) or a value no
    look-up can find: where a current record holding an unsearchable value could hold the same one."""
    if not person.codes:
        return ()
    return tuple(f for f, c in zip(fields, person.code_list(len(fields)), strict=False)
                 if (found := member_codes(c)) is None or any(m[0] in IDENTIFIER_KINDS for m in found))


def hidden_sharing(old: Person, person: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The fields in which ``person`` holds a value no look-up can find (``unsearchable``) and ``old`` an identifier:
    it may be the same value under another name (a corrected name?), unless a number or text both record plainly
    differs (another child; a differing name or birth date proves nothing, as for a shared identifier)."""
    if "?" not in person.codes:  # (most records: nothing uncomparable, so nothing hidden)
        return ()
    if not (hidden := unsearchable(person, fields)) or not (held := identifier_fields(old, fields)):
        return ()
    if any(x and y and x[0] in IDENTIFIER_KINDS and y[0] in IDENTIFIER_KINDS and _compare_codes(x, y) == "differ"
           for x, y in zip(old.code_list(len(fields)), person.code_list(len(fields)), strict=True)):
        return ()
    return tuple(f for f in hidden if f in held)


MAX_BLIND_CURRENT = 50  # current records per field holding a value no look-up can find: each is compared with each


@dataclass
class BlindCurrent(Generic[T]):
    """Current records holding, in some field, a value no look-up can find (``unsearchable``: a document, a list of
    documents, a list too deep or too long): each is a candidate (``candidates``) for every old record holding an
    identifier in that field, as a nameless current record is for every old record, so that a child renamed since
    (Ann Smith with ``{"v": 5}``, once Ann Lee #5) is never passed over for a newcomer of the old name
    (``choose``: ``hidden_sharing``). More than ``MAX_BLIND_CURRENT`` of them in one field are not compared one by
    one: an old record with an identifier there is a person's decision (``uncompared``), in migrate and restore."""

    fields: tuple[str, ...]
    held: dict[str, list[tuple[T, Person]]] = field(default_factory=dict)
    too_many: dict[str, int] = field(default_factory=dict)  # field -> how many records hold such a value there

    def add(self, target: T, person: Person) -> None:
        for name in unsearchable(person, self.fields) if person.codes and "?" in person.codes else ():
            if name in self.too_many:
                self.too_many[name] += 1
                continue
            holders = self.held.setdefault(name, [])
            holders.append((target, person))
            if len(holders) > MAX_BLIND_CURRENT:  # (memory stays flat however many there are)
                self.too_many[name] = len(holders)
                del self.held[name]

    def candidates(self, old: Person) -> list[tuple[T, Person]]:
        """The records holding such a value in a field where ``old`` holds an identifier (each once)."""
        found: dict[int, tuple[T, Person]] = {}
        for name in identifier_fields(old, self.fields) if self.held else ():
            found.update((id(person), (target, person)) for target, person in self.held.get(name, ()))
        return list(found.values())

    def uncompared(self, old: Person) -> str:
        """Why a current record that may be ``old`` was not compared ('' when each was): fail closed."""
        over = [f for f in identifier_fields(old, self.fields) if f in self.too_many] if self.too_many else []
        if not over:
            return ""
        return (f"more than {MAX_BLIND_CURRENT} current records hold a {', '.join(over)} that cannot be compared (a "
                "document or a list a look-up cannot find), too many to compare one by one, and any of them could "
                "hold this record's under another name (a corrected name or record?): a person decides")


def _shared_codes(a: Person, b: Person, fields: Sequence[str], kinds: str = IDENTIFIER_KINDS) -> list[tuple[str, str]]:
    """(field, code) of the values of these kinds two records agree on, a list's members too, whatever else
    differs (a list is never compared: a pair found by its members is never SAME)."""
    if not a.codes or not b.codes:
        return []
    found: list[tuple[str, str]] = []
    for f, x, y in zip(fields, a.code_list(len(fields)), b.code_list(len(fields)), strict=True):
        agreed = next((m for m in member_codes(x) or () if m[0] in kinds
                       for n in member_codes(y) or () if n[0] in kinds and _compare_codes(m, n) == "agree"), None)
        if agreed is not None:
            found.append((f, agreed))
    return found


def shared_identifiers(a: Person, b: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The identifiers (numbers, text: not dates, which many children share) two records agree on, a list's
    members too, whatever else differs."""
    return tuple(f for f, _ in _shared_codes(a, b, fields))


def _number_shared(a: Person, b: Person, fields: Sequence[str]) -> bool:
    """Whether a shared identifier is a number (one per child, unlike a family's email): never a sibling's."""
    return any(code[0] == "n" for _, code in _shared_codes(a, b, fields))


def _identifier_members_differ(a: Person, b: Person, fields: Sequence[str]) -> tuple[str, ...]:
    """The identifiers where a list stands on one side or both and no member agrees with the other side's values:
    never compared, yet for a person's pairing a sign of another child (twins' [5] and 6)."""
    if not a.codes or not b.codes:
        return ()
    found = []
    for f, x, y in zip(fields, a.code_list(len(fields)), b.code_list(len(fields)), strict=True):
        if MEMBERS not in x + y:
            continue
        xs, ys = member_codes(x), member_codes(y)
        if xs and ys and all(m[0] in IDENTIFIER_KINDS for m in xs + ys) and \
                not any(_compare_codes(m, n) == "agree" for m in xs for n in ys):
            found.append(f)
    return tuple(found)


def _dates_may_differ(a: Person, b: Person, fields: Sequence[str]) -> bool:
    """``_dates_differ``, and a date written as text none of whose readings is the other's day (`12/11/2012` against
    2015-03-04): for a person's pairing, never taken for the same birth date."""
    if _dates_differ(a, b, fields):
        return True
    if not a.codes or not b.codes:
        return False
    for x, y in zip(a.code_list(len(fields)), b.code_list(len(fields)), strict=True):
        if x and y and "t" in (x[0], y[0]):
            xs, ys = date_readings(x), date_readings(y)
            if xs and ys and not set(xs) & set(ys) or (unread_date(x) and ys) or (unread_date(y) and xs):
                return True  # (a date in a form not read here may be any day: never taken for the same one)
    return False


def _dates_differ(a: Person, b: Person, fields: Sequence[str]) -> bool:
    if not a.codes or not b.codes:
        return False
    return any(x and y and x[0] in "dD" and y[0] in "dD" and _compare_codes(x, y) == "differ"
               for x, y in zip(a.code_list(len(fields)), b.code_list(len(fields)), strict=True))


def judge_pairing(old: Person, person: Person, fields: Sequence[str]) -> Judgement:
    """A person's reviewed pairing of an old record with a current one: UNKNOWN (the person's decision) where the
    listing asked a person about exactly that record: a name written alike with nothing else differing
    (``judge_candidate``), a shared number with nothing but the name or a date differing (a child renamed or
    re-dated keeps her number), a name written alike with the same dates (``respelled_only``). A shared text
    identifier alone (a family's email: twins share it and a birth date) and any other differing field stay
    DIFFERENT, so a sorted spreadsheet pairing each folder with the next child is still refused."""
    if members_differ := _identifier_members_differ(old, person, fields):  # [5] against 6: no member is theirs
        return Judgement(Verdict.DIFFERENT, f"no value of the {', '.join(members_differ)} is theirs")
    judged = judge_candidate(old, person, fields)
    if judged.verdict is not Verdict.DIFFERENT:
        return judged
    differing = [f for f, x, y in zip(fields, old.code_list(len(fields)), person.code_list(len(fields)), strict=True)
                 if x and y and _compare_codes(x, y) == "differ"] if old.codes and person.codes else []
    # (a name one letter apart is another name here: Khan and Kahn, Elias and Elisa; only the same name written
    # alike is no rename, and a reviewed row must not pass on a likeness the cautious rules look for)
    renamed_and_redated = not names_alike(old.name, person.name) and _dates_may_differ(old, person, fields)
    if not renamed_and_redated and not any(  # (both: another child given a recycled or renumbered number)
            c[:1] in IDENTIFIER_KINDS for f, c in zip(fields, old.code_list(len(fields)), strict=True)
            if f in differing) and any(code[0] == "n" for _, code in _shared_codes(old, person, fields)):
        shared = ", ".join(f for f, code in _shared_codes(old, person, fields) if code[0] == "n")
        return Judgement(Verdict.UNKNOWN, f"{judged.reason}, but the {shared} agree: a corrected name or record?")
    if respelled := respelled_only(old, person, fields):
        return Judgement(Verdict.UNKNOWN, f"the name is written another way and the {', '.join(respelled)} agree: "
                                          "a corrected name?")
    return judged


def not_the_same(verdict: Verdict) -> str:
    """How a record that is not the same person is named in a message (restore, migrate, --deep)."""
    return "a different person" if verdict is Verdict.DIFFERENT else "a person who cannot be compared"


def name_only(judged: Judgement) -> bool:
    """SAME on the name alone: a pupil who left and a newcomer can share a name, so this is never proof, even
    where neither record holds an identifying field (it may be stored under a field MATCH_FIELDS does not name)."""
    return judged.verdict is Verdict.SAME and not judged.agreeing


NAME_ONLY = "only the name agrees: no identifying field (MATCH_FIELDS) agrees"


def proven_same(a: Person, b: Person, fields: Sequence[str]) -> Judgement:
    """``compare`` held to the standard of a match: a name alone proves nothing."""
    judged = compare(a, b, fields)
    if name_only(judged):
        return Judgement(Verdict.UNKNOWN, NAME_ONLY)
    return judged


def only_common(old: Person, agreeing: Sequence[str], fields: Sequence[str],
                holders: Callable[[int, str], int] | None) -> bool:
    """Whether every field ``old`` agrees on holds a value more than MAX_SHARED_IDENTIFIER current records hold
    (``holders``: how many hold one (position, code)); counted only then: an agreeing birth date settles it."""
    if holders is None or not agreeing:
        return False
    identifiers = {fields[position] for position, _ in identifier_codes(old)}
    return all(f in identifiers for f in agreeing) and all(f in common_fields(old, fields, holders) for f in agreeing)


def proven_by(a: Person, b: Person, fields: Sequence[str], holders: Callable[[int, str], int] | None = None
              ) -> Judgement:
    """``proven_same``, where agreeing only on values many current records hold (``only_common``: the office
    email) proves nothing either."""
    judged = proven_same(a, b, fields)
    if judged.verdict is Verdict.SAME and only_common(a, judged.agreeing, fields, holders):
        return Judgement(Verdict.UNKNOWN, f"only the name and {', '.join(judged.agreeing)}, which many current "
                                          "students hold, agree")
    return judged


def proven_someone_else(old: Person, holder_id: str, candidates: Iterable[tuple[str, Person]],
                        fields: Sequence[str], holders: Callable[[int, str], int] | None = None
                        ) -> tuple[str, Judgement] | None:
    """The current student (id, judgement), other than the id's holder, whom a record of that id is proven to be:
    an identifying field most children do not share agrees, none differs, and the name may be the record's written
    another way (``written_alike``: `Zoe` for `Zoë`, `Khan, Mohammed`, `Mohammed Kahn`). Only asked where the holder
    passed as that record through a gap (a field the holder does not record): the folder of the id may then hold
    that other child's photo. ``candidates``: those named alike and those sharing one of the record's identifiers
    or dates (a name written otherwise is found by what agrees)."""
    for sid, person in candidates:
        if sid == holder_id:
            continue
        if not written_alike(old.name, person.name):  # renamed since, keeping her number (`Ann Smith`, still #5)?
            if (kept := renamed_only(old, person, fields)) and not only_common(old, kept, fields, holders):
                return sid, Judgement(Verdict.SAME, f"the {', '.join(kept)} agree and nothing but the name differs "
                                                    f"({person.name!r}, was {old.name!r}): renamed since?", kept)
            continue
        judged = proven_by(Person(person.name, old.codes), person, fields, holders)  # (the fields, the name aside)
        if judged.verdict is Verdict.UNKNOWN and (read := _dates_read_as_theirs(old, person, fields)):
            judged = proven_by(Person(person.name, read.codes), person, fields, holders)
            if judged.verdict is Verdict.SAME:
                return sid, Judgement(Verdict.SAME, f"{judged.reason}, the dates perhaps written another way "
                                                    f"(name {person.name!r}, was {old.name!r})", judged.agreeing)
        if judged.verdict is Verdict.SAME:
            if not names_alike(old.name, person.name):
                agree = f"{', '.join(judged.agreeing)} agree{'s' * (len(judged.agreeing) == 1)}"
                judged = Judgement(Verdict.SAME, f"{agree} and the name may be the same written another way "
                                                 f"({person.name!r}, was {old.name!r})", judged.agreeing)
            return sid, judged
    return None


def _dates_read_as_theirs(old: Person, person: Person, fields: Sequence[str]) -> Person | None:
    """``old`` with each date that may be the very day ``person`` holds in that field, written another way
    (`04/03/2012` and `2012-03-04`: readings in common, ``date_readings``), read as theirs; None when there is
    none. Only for doubt (a gap's other child), never for a match: a date written as text is never proof."""
    count = len(fields)
    mine, theirs = old.code_list(count), person.code_list(count)
    if not (old.codes and person.codes and len(mine) == len(theirs) == count):
        return None
    read = [y if x and y and x[0] in "tdD" and y[0] in "tdD" and code_verdict(x, y) == "unknown" and
            set(date_readings(x)) & set(date_readings(y)) else x for x, y in zip(mine, theirs, strict=True)]
    return Person(old.name, SEPARATOR.join(read)) if read != mine else None


@dataclass(frozen=True, slots=True)
class History:
    """Every backup record of one id, merged: the person they agree on, or why they do not."""

    person: Person | None
    problem: Judgement | None = None  # DIFFERENT or UNKNOWN between two records


def merge_history(records: Iterable[Person], fields: Sequence[str]) -> History:
    """One person from several records of one id (newest first); any disagreement is the answer."""
    merged: Person | None = None
    for record in records:
        if merged is None:
            merged = record
            continue
        judged = compare(merged, record, fields)
        if judged.verdict is not Verdict.SAME:
            return History(None, judged)
        if record.codes:  # what one record lacks, another may hold: keep every field seen
            have = merged.code_list(len(fields))
            codes = [x or y for x, y in zip(have, record.code_list(len(fields)), strict=True)]
            merged = Person(merged.name, SEPARATOR.join(codes))
    return History(merged)


# ---------------------------------------------------------------- choosing an owner
class Outcome(enum.Enum):
    MATCH = "match"  # exactly one current record, proven
    AMBIGUOUS = "ambiguous"  # more than one fits, or the one is told apart only by the others' gaps
    UNKNOWN = "unknown"  # some record could be it and cannot be compared
    NONE = "none"  # no current record is this person


@dataclass(frozen=True, slots=True)
class Choice(Generic[T]):
    outcome: Outcome
    reason: str
    target: T | None = None
    fits: tuple[T, ...] = ()  # every candidate that is SAME or UNKNOWN: they could be this person


def common_fields(old: Person, fields: Sequence[str], holders: Callable[[int, str], int]) -> frozenset[str]:
    """The identifying fields whose every value the old record holds is held by more than MAX_SHARED_IDENTIFIER
    current records (``holders``: how many hold one (position, code)): an office email, a year group. Agreeing on
    one identifies no one child (``choose``)."""
    by_field: dict[int, list[str]] = defaultdict(list)
    for position, code in identifier_codes(old):
        by_field[position].append(code)
    return frozenset(fields[position] for position, codes in by_field.items()
                     if all(holders(position, code) > MAX_SHARED_IDENTIFIER for code in codes))


def choose(old: Person, candidates: Sequence[tuple[T, Person]], fields: Sequence[str],
           label=str, uncompared: str = "", holders: Callable[[int, str], int] | None = None) -> Choice[T]:
    """Which current record (if any) is the person ``old``. ``candidates`` must hold every current record
    that could be them: all whose name is written alike (``alike_key``), every record whose name is unknown,
    every record that shares one of its identifiers (``shared_identifiers``: a corrected name? Unless both the name
    and a birth date differ: a sibling with the family's email), and every record holding a value no look-up can
    find where ``old`` holds an identifier (``BlindCurrent.candidates``); ``uncompared``: why some such record was
    not (``BlindCurrent.uncompared``): then nothing is proven. ``holders``: how many current records hold an identifier;
    agreeing only on values many hold proves nothing (``only_common``)."""
    if old.name is None:
        return Choice(Outcome.UNKNOWN, "the old record has no usable name")
    same: list[tuple[T, Judgement]] = []
    unknown: list[tuple[T, Judgement]] = []
    ruled_out: list[Person] = []  # namesakes (or names written alike) some field proves another person
    sharing: list[tuple[T, Person, tuple[str, ...]]] = []  # any other record with one of its identifiers
    hidden: list[tuple[T, tuple[str, ...]]] = []  # records that may hold one of them where no look-up sees it
    for target, person in candidates:
        judged = judge_candidate(old, person, fields)
        if judged.verdict is Verdict.SAME:
            same.append((target, judged))
        elif judged.verdict is Verdict.UNKNOWN:
            unknown.append((target, judged))
        elif names_alike(old.name, person.name):
            ruled_out.append(person)
        if judged.verdict is not Verdict.SAME and (shared := shared_identifiers(old, person, fields)) and \
                (names_alike(old.name, person.name) or not _dates_differ(old, person, fields)
                 or _number_shared(old, person, fields)):
            sharing.append((target, person, shared))  # (not a sibling: another name and birth date, one email)
        if judged.verdict is Verdict.DIFFERENT and (maybe := hidden_sharing(old, person, fields)):
            hidden.append((target, maybe))  # (SAME is impossible and UNKNOWN blocks already)
    fits = tuple(t for t, _ in same + unknown) + tuple(t for t, _ in hidden)  # the one-to-one rule sees each
    blind = _unsearchable_reason(old, fields) or uncompared
    if hidden and not blind:
        other, maybe = hidden[0]
        more = f" (and {len(hidden) - 1} more)" if len(hidden) > 1 else ""
        blind = (f"{label(other)} holds a {', '.join(maybe)} that cannot be compared (a document or a list a look-up "
                 f"cannot find){more}: it may be this record's under another name (a corrected name or record?), so "
                 "a person decides")
    if unknown:
        target, judged = unknown[0]
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        return Choice(Outcome.UNKNOWN, f"cannot tell whether it is {label(target)}: {judged.reason}{more}", fits=fits)
    if len(same) > 1:
        return Choice(Outcome.AMBIGUOUS, f"{len(same)} current students fit (same name, nothing on record "
                                         "tells them apart)", fits=fits)
    if same:
        target, judged = same[0]
        chosen = next(person for t, person in candidates if t is target)
        if ruled_out and not all(told_apart(chosen, other, fields, judged.agreeing) for other in ruled_out):
            return Choice(Outcome.AMBIGUOUS, f"{len(ruled_out) + 1} current students have this name and no "
                                             f"identifying field that agrees with {label(target)} tells them apart: "
                                             "the others are ruled out, but nothing proves it is this one",
                          fits=fits)
        if name_only(judged):
            return Choice(Outcome.UNKNOWN, f"only the name agrees with {label(target)}: no identifying field "
                                           "(MATCH_FIELDS) agrees (a pupil who left and a newcomer can share a name)",
                          fits=fits)
        if only_common(old, judged.agreeing, fields, holders):
            return Choice(Outcome.UNKNOWN, f"only the name and {', '.join(judged.agreeing)} agree with {label(target)},"
                                           f" and more than {MAX_SHARED_IDENTIFIER} current students hold that "
                                           f"{', '.join(judged.agreeing)}: it identifies no one child", fits=fits)
        ours = chosen.code_list(len(fields)) if chosen.codes else [""] * len(fields)
        for other, _, shared in sharing:  # the child renamed (or re-dated) since, and a newcomer of the old name?
            if not_held := [f for f in shared if not ours[list(fields).index(f)]]:
                return Choice(Outcome.UNKNOWN, f"{label(target)} fits, but {label(other)} has the same "
                                               f"{', '.join(not_held)}, which {label(target)} has not recorded: a "
                                               "corrected name or record? A person decides",
                              fits=(*fits, *(t for t, _, _ in sharing)))
        if blind:
            return Choice(Outcome.UNKNOWN, f"{label(target)} fits, but {blind}", fits=fits)
        return Choice(Outcome.MATCH, judged.reason, target, fits)
    if sharing:
        other, person, shared = sharing[0]
        return Choice(Outcome.UNKNOWN, f"no current student is this person, but {label(other)} has the same "
                                       f"{', '.join(shared)} ({compare(old, person, fields).reason}): a corrected "
                                       "name or record? Pair it by hand (--pairs)",
                      fits=(*fits, *(t for t, _, _ in sharing)))  # every sharer: the one-to-one rule must see each
    if blind:
        return Choice(Outcome.UNKNOWN, f"no current student is this person, but {blind}", fits=fits)
    if ruled_out:
        reasons = sorted({compare(old, p, fields).reason for p in ruled_out})
        return Choice(Outcome.NONE, f"a current student has this name but {'; '.join(reasons)}")
    return Choice(Outcome.NONE, "no current student has this name (left the school?)")


def _unsearchable_reason(old: Person, fields: Sequence[str]) -> str:
    """Why a record sharing the old record's identifiers cannot have been looked for ('' when it can): fail closed."""
    if not (blind := unsearchable(old, fields)):
        return ""
    codes = dict(zip(fields, old.code_list(len(fields)), strict=False))
    why = ", ".join(f"{f} ({uncomparable_why(codes[f])})" for f in blind)
    return (f"the old record's {why} cannot be compared, so a current record holding it under another name (a "
            "corrected name or record?) cannot be looked for: a person decides")


def told_apart(chosen: Person, other: Person, fields: Sequence[str], agreeing: Sequence[str]) -> bool:
    """Whether a field the old record agrees on with ``chosen`` proves ``other`` someone else: namesakes are told
    apart by agreement, never by the gap where ``chosen`` records nothing (safety.md)."""
    if not chosen.codes or not other.codes:
        return False
    ours, theirs = chosen.code_list(len(fields)), other.code_list(len(fields))
    return any(ours[i] and theirs[i] and _compare_codes(ours[i], theirs[i]) == "differ"
               for i, f in enumerate(fields) if f in agreeing)


# ---------------------------------------------------------------- old folders with no usable name
MAX_UNNAMED_OLD = 50  # old folders whose records lack a usable name: each is compared with every match


def unnamed_old_record(records: Sequence[Person], fields: Sequence[str]) -> tuple[Person, ...]:
    """Who an old id could be when some record of it has no usable name (so no name proves or rules it out):
    its records' fields merged, the names left out; or, when the records disagree, each record as it is
    (either may be the folder's). ``()`` when every record has a usable name (the name rule applies)."""
    if all(r.name is not None for r in records):
        return ()
    merged = merge_history((Person("", r.codes) for r in records), fields)  # "": one name, so fields alone decide
    if merged.person is not None:
        return (Person(None, merged.person.codes),)
    return tuple(records)


@dataclass(frozen=True, slots=True)
class Rival:
    folder: str | None  # None: too many to compare one by one
    reason: str


DisputedLookup = Callable[[str], Iterable[tuple[str, Person]]]  # alike key -> (folder, record) of disputed folders


@dataclass
class RivalOld:
    """Old folders (an orphaned folder's old id) that count in the one-to-one rule beyond a namesake whose
    backups agree on who it was (each tool finds those itself). Fail closed: such a folder could be anyone one
    of its records could be, so it fits every current student that one of them is not DIFFERENT from
    (``compare``, as a nameless current record is treated), in migrate and restore alike.

    - A folder with a record that has no usable name proves nothing and blocks its namesakes, whoever they are
      (``unnamed_old_record``). More than ``MAX_UNNAMED_OLD`` of them are not compared one by one: every
      student then has a rival, and the reason says so.
    - A folder whose named records disagree (two people, or fields that cannot be compared: ``merge_history``
      gives no person) could be any of them: each record is compared with the students of its name only (a
      record of another name is DIFFERENT), found by name key, so 200,000 of them cost one look-up per
      student. ``lookup`` finds them where the caller keeps them (migrate: its SQLite file); otherwise
      ``add`` keeps them here.

    ``settled``: old folders a person's standing reviewed pairing gave to a student who still holds the id: they
    are no rival (the student a person gave one to is told so by the caller: a student never receives two). A
    folder given to no one is still a rival."""

    fields: tuple[str, ...]
    folders: dict[str, tuple[Person, ...]] = field(default_factory=dict)  # unnamed: folder -> who it could be
    disputed: dict[str, list[tuple[str, Person]]] = field(default_factory=dict)  # alike key -> (folder, record)
    too_many: bool = False
    lookup: DisputedLookup | None = None
    settled: frozenset[str] = frozenset()
    _seen: set[str] = field(default_factory=set)

    def add(self, folder: str, records: Sequence[Person]) -> None:
        """One old folder with every backup's record of its id (a folder whose records agree on a named person
        is left to the namesake rule)."""
        if folder in self._seen or not records:
            return
        self._seen.add(folder)
        persons = unnamed_old_record(records, self.fields)
        if not persons:
            if self.lookup is None and merge_history(records, self.fields).person is None:
                for record in dict.fromkeys(records):  # every record is named here
                    self.disputed.setdefault(alike_key(record.name) or "", []).append((folder, record))
            return
        if self.too_many:
            return
        if len(self.folders) >= MAX_UNNAMED_OLD:
            self.too_many = True
            self.folders.clear()  # never compared: every student has a rival
            return
        self.folders[folder] = persons

    def rival(self, student: Person, besides: str | None = None) -> Rival | None:
        """Another old folder (not ``besides``, nor one a person settled) whose record could be this student."""
        if self.too_many:
            return Rival(None, f"more than {MAX_UNNAMED_OLD} orphaned folders have an old record with no usable "
                               "name, too many to compare one by one, and any of them could be this student (is "
                               "the name stored in another field?)")
        for folder, persons in self.folders.items():
            if folder != besides and folder not in self.settled and \
                    any(compare(p, student, self.fields).verdict is not Verdict.DIFFERENT for p in persons):
                return Rival(folder, f"old folder {folder}, whose old record has no usable name, fits this "
                                     "student too")
        if student.name is None:
            return None  # (no caller asks: a student with no usable name is never any folder's match)
        key = alike_key(student.name) or ""
        found = self.lookup(key) if self.lookup is not None else self.disputed.get(key, ())
        for folder, record in found:
            if folder != besides and folder not in self.settled and \
                    judge_candidate(record, student, self.fields).verdict is not Verdict.DIFFERENT:
                return Rival(folder, f"old folder {folder}, whose backups disagree about who it was, fits this "
                                     "student too")
        return None
