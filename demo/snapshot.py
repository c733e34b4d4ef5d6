"""What `make run` keeps across restarts: every database of the embedded engine, saved to a folder.

The engine serves from memory (its H2 file backend made a 100k-entry world 10-30x slower, see
the README's "Embedded engine"), so the data is saved over the wire when the engine stops and
loaded when it starts: per collection, its documents as raw BSON (`<db>/<collection>.bson`,
never decoded, so every value comes back as it was) and its index specs
(`<db>/<collection>.indexes.bson`). A save is written beside the last one (`snapshot.partial`)
and then swapped in by two renames: the last one becomes `snapshot.previous`, the new one
`snapshot`, and only then is the previous one removed. At every instant one whole world is on
disk: a save cut short leaves the last one whole, and a load that finds no `snapshot` (a crash
between the two renames) loads `snapshot.previous`. A stop that never saves (SIGKILL) loses
what changed since the start, never the rest.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bson
from bson.raw_bson import RawBSONDocument
from pymongo import IndexModel, MongoClient
from pymongo.database import Database

SYSTEM_DATABASES = frozenset({"admin", "config", "local"})
INSERT_BATCH_SIZE = 5000
FIND_BATCH_SIZE = 1000
"""mongo-java-server does not cut its batches at MongoDB's 48 MB message size: the client must."""
_RAW: bson.CodecOptions[RawBSONDocument] = bson.CodecOptions(document_class=RawBSONDocument)


def save(url: str, folder: Path) -> int:
    """Write every collection of every user database into `folder` (replaced whole); the documents written."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    written = 0
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    try:
        for database_name in client.list_database_names():
            if database_name in SYSTEM_DATABASES:
                continue
            database: Database[RawBSONDocument] = client[database_name].with_options(codec_options=_RAW)
            (partial / database_name).mkdir(parents=True)
            for collection_name in database.list_collection_names():
                base = partial / database_name / collection_name
                with (base.with_name(f"{collection_name}.bson")).open("wb") as documents:
                    for document in database[collection_name].find(batch_size=FIND_BATCH_SIZE):
                        documents.write(document.raw)
                        written += 1
                with (base.with_name(f"{collection_name}.indexes.bson")).open("wb") as indexes:
                    for spec in client[database_name][collection_name].list_indexes():
                        if spec["name"] != "_id_":
                            indexes.write(bson.encode(dict(spec)))
    finally:
        client.close()
    _swap_in(partial, folder)
    return written


def _previous(folder: Path) -> Path:
    return folder.with_name(folder.name + ".previous")


def _swap_in(partial: Path, folder: Path) -> None:
    """Make `partial` the saved world; one whole world stays on disk at every step."""
    previous = _previous(folder)
    if folder.is_dir():
        shutil.rmtree(previous, ignore_errors=True)  # with `folder` there, an older world: not needed
        folder.rename(previous)
    # else `previous`, if any, is the world a swap cut short left: kept until the new one is in place
    partial.rename(folder)
    shutil.rmtree(previous, ignore_errors=True)


def saved_folder(folder: Path) -> Path | None:
    """The folder that holds the saved world: `folder`, else the one a swap cut short left; None if neither."""
    for candidate in (folder, _previous(folder)):
        if candidate.is_dir():
            return candidate
    return None


def _index_model(spec: dict[str, Any]) -> IndexModel:
    options = {name: value for name, value in spec.items() if name not in ("key", "v", "ns")}
    return IndexModel(list(spec["key"].items()), **options)


def _batches(path: Path) -> Iterator[list[RawBSONDocument]]:
    batch: list[RawBSONDocument] = []
    with path.open("rb") as documents:
        for document in bson.decode_file_iter(documents, codec_options=_RAW):
            batch.append(document)
            if len(batch) == INSERT_BATCH_SIZE:
                yield batch
                batch = []
    if batch:
        yield batch


def load(url: str, folder: Path) -> int:
    """Write a saved folder back into an empty server; the documents loaded (0: none saved)."""
    saved = saved_folder(folder)
    if saved is None:
        return 0
    folder = saved
    loaded = 0
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    try:
        for database_folder in sorted(path for path in folder.iterdir() if path.is_dir()):
            database: Database[RawBSONDocument] = client[database_folder.name].with_options(codec_options=_RAW)
            for documents_path in sorted(database_folder.glob("*.bson")):
                if documents_path.name.endswith(".indexes.bson"):
                    continue
                collection = database[documents_path.name.removesuffix(".bson")]
                for batch in _batches(documents_path):
                    collection.insert_many(batch, ordered=False)
                    loaded += len(batch)
                # after the documents: one index build instead of a check per insert (they were unique when saved)
                indexes_path = documents_path.with_name(documents_path.name.removesuffix(".bson") + ".indexes.bson")
                with indexes_path.open("rb") as indexes:
                    models = [_index_model(spec) for spec in bson.decode_file_iter(indexes)]
                if models:
                    client[database_folder.name][collection.name].create_indexes(models)
    finally:
        client.close()
    return loaded
