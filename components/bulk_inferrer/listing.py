"""What bulk inference scores: a dataset listed with the preset's reader, as ingestion lists it.

Why its own listing and not ingestion's `list_dataset`: scoring needs no label (a manifest's
unlabelled rows are listed too) and splits nothing, but it must refuse the same rows
ingestion refuses (`bad_row`, `bad_encoding`, `duplicate_id`) with the same reasons, so a
dataset that ingests also scores, and what is skipped is counted in the quarantine.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from components.core import contract
from components.core.errors import UsageError


def list_for_scoring(preset: Any, data_root: str) -> tuple[list[contract.Source],
                                                          list[contract.Rejected]]:
    """(sources, rejected) of `data_root` read by `preset.reader` with its `reader_options`
    (a Preset or a PresetPart carrying `reader` and `reader_options`)."""
    from components.example_gen.ingest import _checked
    from components.example_gen.readers import get_reader

    root = Path(data_root)
    if not root.exists():
        raise UsageError(f"data root {root} does not exist: give the dataset folder or its "
                         f"manifest file")
    sources, rejected, seen = [], [], {}
    options = dict(preset.reader_options)
    if preset.reader == "manifest":  # scoring needs no label: unlabelled rows are listed too
        options.setdefault("require_label", False)
    for row in get_reader(preset.reader)(root, **options):
        row = _checked(row)
        if isinstance(row, contract.Rejected):
            rejected.append(row)
        elif row.id in seen:
            rejected.append(contract.Rejected(
                row.id, contract.DUPLICATE_ID, row.origin,
                f"id {row.id!r} is already listed at {seen[row.id]}, which is scored; ids must "
                f"be unique within a dataset: rename or drop this one"))
        else:
            seen[row.id] = row.origin
            sources.append(dataclasses.replace(
                row, emotion=contract.normalise_label(row.emotion)))
    return sources, rejected
