"""Dataset readers: each lists a dataset's records as contract Sources.

A reader only lists metadata (no audio decoding), so listing a whole dataset
is cheap and the expensive decoding can run on Beam workers. Every reader is
`read(data_root: Path, **options) -> Iterator[Source | Rejected]`; options
come from the preset's `reader_options`, and unknown ones are ignored so a
preset can carry options for another stage.
"""

from __future__ import annotations

from typing import Callable, Iterator, Union

from components.core.contract import Rejected, Source
from components.core.errors import DataError
from components.example_gen.readers import (
    cremad,
    goemotions,
    iemocap,
    manifest,
    meld,
    psychexp,
    ravdess,
    tess,
)

Reader = Callable[..., Iterator[Union[Source, Rejected]]]

READERS: dict[str, Reader] = {
    "ravdess": ravdess.read,
    "iemocap": iemocap.read,
    "psychexp": psychexp.read,
    "cremad": cremad.read,
    "tess": tess.read,
    "goemotions": goemotions.read,
    "meld": meld.read,
    "manifest": manifest.read,
}


def get_reader(name: str) -> Reader:
    """The reader registered as `name`; a ValueError lists the known names otherwise."""
    try:
        return READERS[name]
    except KeyError:
        known = ", ".join(sorted(READERS))
        raise DataError(f"Unknown reader {name!r}; readers: {known}.") from None
