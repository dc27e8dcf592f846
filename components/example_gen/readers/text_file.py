"""Dataset text files read so that one bad byte or line costs one record, not the listing.

Python's own readers fail a whole file for one record: `csv` stops at a NUL ("line contains
NUL"), a strict decode stops at the first byte the encoding cannot decode without naming the
file or the line, and a lenient decode (`errors="replace"`) turns such bytes into U+FFFD, so a
mis-encoded label or id passes as data. Here a file is decoded once with `surrogateescape`
(an undecodable byte becomes a lone surrogate that remembers it); every line holding such a byte
or a NUL carries a `Problem` naming the line, the column and the fix, and a reader quarantines
the record that line belongs to (`bad_encoding`, `bad_row`) while the rest of the file goes on.
`shown` prints such strings with the bad bytes as `\\xe9`, so reports and messages never fail on
them.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import re
from pathlib import Path
from typing import Iterator, Optional

from components.core.contract import BAD_ENCODING, BAD_ROW
from components.core.errors import DataError

DEFAULT_ENCODING = "utf-8"
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_ESCAPED = re.compile("[\udc80-\udcff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


@dataclasses.dataclass(frozen=True)
class Problem:
    """Why a line (and so the record it belongs to) is quarantined."""

    reason: str  # contract.BAD_ENCODING or contract.BAD_ROW
    detail: str  # names the line and says how to fix it


@dataclasses.dataclass(frozen=True)
class Line:
    number: int  # from 1
    text: str  # with its line ending; undecodable bytes as surrogate escapes, NULs removed
    problem: Optional[Problem] = None


@dataclasses.dataclass(frozen=True)
class Record:
    """One CSV record and the physical lines it spans (a quoted field may hold newlines)."""

    line: int  # first line, from 1
    values: list[str]
    problem: Optional[Problem] = None


def codec(encoding: str) -> str:
    """The codec to decode with: UTF-8 skips a leading BOM (Excel writes one); an unknown name
    is a ValueError naming the option."""
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise DataError(f"reader_options.encoding {encoding!r} is not an encoding Python knows; "
                         f"use e.g. utf-8 (the default), latin-1, cp1252 or utf-16.") from None
    return "utf-8-sig" if name == "utf-8" else name


def shown(text: str) -> str:
    """`text` safe to print and to write as UTF-8: bad bytes as `\\xe9`, control characters
    escaped, so a file name or row with them still reads on one line."""
    if not _CONTROL.search(text):
        return text
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def encoding_problem(text: str, encoding: str = DEFAULT_ENCODING) -> Optional[str]:
    """What is undecodable in `text` (the first bad byte and its column), or None."""
    m = _ESCAPED.search(text)
    if m is None:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as e:  # a lone surrogate that came in decoded (a JSON \\ud800)
            return f"character {text[e.start]!r} at column {e.start + 1} is not valid Unicode"
        return None
    byte = ord(m.group()) - 0xDC00
    return f"byte 0x{byte:02x} at column {m.start() + 1} is not valid {encoding}"


def read_lines(path: Path, encoding: str = DEFAULT_ENCODING) -> list[Line]:
    """Every line of `path`, decoded with `encoding`; bad lines carry their Problem."""
    name = codec(encoding)
    text = Path(path).read_bytes().decode(name, errors="surrogateescape")
    lines = []
    for n, m in enumerate(_LINE.finditer(text), 1):
        line = m.group()
        bad = encoding_problem(line, encoding)
        problem = None
        if bad:
            problem = Problem(BAD_ENCODING, f"line {n}: {bad}; save the file as {encoding} or "
                                            f"set reader_options.encoding to the file's encoding")
        elif "\0" in line:
            problem = Problem(BAD_ROW, f"line {n} holds a NUL byte (a damaged or binary file, "
                                       f"or UTF-16: then set reader_options.encoding); remove it")
            line = line.replace("\0", "")
        lines.append(Line(n, line, problem))
    return lines


def csv_records(path: Path, encoding: str = DEFAULT_ENCODING, **fmt) -> Iterator[Record]:
    """The records of a CSV/TSV file (`fmt`: csv.reader's format options), blank ones skipped.

    A record spanning a bad line carries that line's Problem; a record the csv module cannot
    parse carries a bad_row Problem, and reading goes on at the next line. A quote opened and
    never closed would swallow the rest of the file into one field: that line alone is
    quarantined and reading starts again after it.
    """
    lines = read_lines(path, encoding)
    pos = 0
    while pos < len(lines):
        restart = None
        reader = csv.reader((ln.text for ln in lines[pos:]), **fmt)
        while restart is None:
            first = pos + reader.line_num
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                last = max(pos + reader.line_num, first + 1)
                n = lines[first].number
                yield Record(n, [], Problem(BAD_ROW, f"line {n}: the row does not parse ({e}); "
                                                     f"fix or drop it"))
                if pos + reader.line_num < last:  # nothing consumed: step over the line
                    restart = last
                continue
            spanned = lines[first:pos + reader.line_num]
            if (pos + reader.line_num == len(lines) and spanned
                    and _unclosed_quote(spanned, fmt)):
                n = spanned[0].number
                yield Record(n, [], Problem(BAD_ROW, f"line {n} opens a quote that is never "
                                                     f"closed; close or escape it"))
                restart = first + 1
                continue
            if values:
                bad = next((ln.problem for ln in spanned if ln.problem), None)
                yield Record(spanned[0].number, values, bad)
        pos = restart


def _unclosed_quote(lines: list[Line], fmt: dict) -> bool:
    """Whether these lines end inside a quoted field (strict parsing says so at the end)."""
    if fmt.get("quoting") == csv.QUOTE_NONE:
        return False
    try:
        for _ in csv.reader((ln.text for ln in lines), strict=True, **fmt):
            pass
    except csv.Error as e:
        return "unexpected end of data" in str(e)
    return False


def path_problem(path: Path) -> Optional[Problem]:
    """A file name the file system holds as bytes that are not UTF-8 (a copy from another
    system), which no id, report or tf.Example can carry: bad_encoding, naming the fix."""
    bad = encoding_problem(str(path))
    if bad is None:
        return None
    return Problem(BAD_ENCODING, f"the file name {shown(Path(path).name)!r} is not UTF-8 ({bad}); "
                                 f"rename the file")


def csv_dicts(path: Path, encoding: str = DEFAULT_ENCODING, **fmt
              ) -> tuple[list[str], Iterator[tuple[int, Record, Optional[dict]]]]:
    """(header, [(data row number, record, {column: value} or None when the record is bad)]).

    A record with a field count other than the header's gets a bad_row Problem (csv.DictReader
    would pad or pile the fields silently); a header that cannot be read is a ValueError.
    """
    records = iter(csv_records(path, encoding, **fmt))
    header = next(records, None)
    if header is None:
        return [], iter(())
    if header.problem:
        raise DataError(f"{path}: the header cannot be read ({header.problem.detail}).")
    columns = [c.strip() for c in header.values]

    def rows() -> Iterator[tuple[int, Record, Optional[dict]]]:
        for n, rec in enumerate(records, 1):
            if rec.problem is None and len(rec.values) != len(columns):
                rec = dataclasses.replace(rec, problem=Problem(
                    BAD_ROW, f"line {rec.line} has {len(rec.values)} fields, the header has "
                             f"{len(columns)}; quote fields holding a separator, or fix the row"))
            yield n, rec, (None if rec.problem else dict(zip(columns, rec.values, strict=True)))
    return columns, rows()
