"""Strict multipart/form-data parsing for `POST /api/predict`: malformed bodies say what is wrong.

Starlette's parser (python-multipart underneath) is lenient where an API must not be: a body
cut off before its closing boundary yields the parts that were complete (often none, so the
client was told "give text and/or an audio file" although it sent text), an empty boundary is
"Invalid multipart data.", and a text part that is not UTF-8 becomes latin-1 mojibake while
the same bytes in a JSON body are refused. This subclass keeps Starlette's parsing and adds
those three checks, each raising `MultiPartException` with a sentence naming the problem.
"""

from __future__ import annotations

from starlette.datastructures import FormData, Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

try:  # python-multipart >= 0.0.13 is `python_multipart`; older releases `multipart`
    from python_multipart.multipart import parse_options_header
except ImportError:  # pragma: no cover
    from multipart.multipart import parse_options_header


class StrictMultiPartParser(MultiPartParser):
    """Starlette's multipart parser that refuses truncated bodies, empty boundaries and text
    parts that are not valid in their charset (UTF-8 unless the Content-Type says otherwise)."""

    def __init__(self, headers: Headers, stream, **limits):
        super().__init__(headers, stream, **limits)
        self._open_part: str | None = None  # the part begun and not yet ended

    def on_part_begin(self) -> None:
        super().on_part_begin()
        self._open_part = "(unnamed)"

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        self._open_part = self._current_part.field_name

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                bytes(part.data).decode(self._charset or "utf-8")
            except (UnicodeDecodeError, LookupError) as e:
                raise MultiPartException(
                    f"form field {part.field_name!r} is not valid {self._charset or 'utf-8'} "
                    f"text ({e}); send it UTF-8 encoded") from None
        super().on_part_end()
        self._open_part = None

    async def parse(self) -> FormData:
        _, params = parse_options_header(self.headers.get("Content-Type", ""))
        boundary = params.get(b"boundary")
        if not boundary:
            raise MultiPartException(
                "the Content-Type multipart/form-data has " + ("an empty" if boundary == b""
                                                              else "no") +
                " boundary parameter; send e.g. `multipart/form-data; boundary=XYZ`")
        form = await super().parse()
        if self._open_part is not None:
            raise MultiPartException(
                f"the multipart body ends in part {self._open_part!r}, without its closing "
                f"boundary "
                f"--{boundary.decode('latin-1')}--: it was cut short, or its boundary does not "
                f"match the Content-Type's")
        return form


async def read_form(request: Request, max_files: int, max_fields: int,
                    max_part_size: int) -> FormData:
    """The request's form, parsed strictly (module docstring); MultiPartException if not."""
    parser = StrictMultiPartParser(request.headers, request.stream(), max_files=max_files,
                                   max_fields=max_fields, max_part_size=max_part_size)
    return await parser.parse()
