"""The asset folders a dataset owns under ASSETS_STORAGE_ROOT and CACHED_ASSETS_STORAGE_ROOT.

The other services store the files of dataset `name` or `namespace/name` under
`<root>/<dataset>/--/...` (`--` is their dataset separator, never a valid name part). So
`<root>/org` holds the files of the one-part dataset `org` (in `org/--`) *and* the folders of
every `org/*` dataset: a dataset owns exactly `<root>/<dataset>/--`. A recreate removes that,
then `<root>/<dataset>` only when nothing else is left in it (a `squad/x` keeps `squad`).

A folder is only ever built from a valid dataset name (checked again here), and then resolved
and compared with the resolved root: a folder that would leave its root, or that goes through
a symbolic link (which could point at another dataset's folder), is refused instead of removed.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from django.conf import settings

from foundation.core.dataset_names import is_valid_dataset_name
from foundation.core.errors import AdminError, InvalidParameterError


class UnsafeAssetPathError(AdminError):
    """A dataset's asset folder is not a plain folder inside its root: it is left alone."""

    status_code = 500


def storage_roots() -> tuple[Path, Path]:
    return settings.ADMIN.assets_storage_root, settings.ADMIN.cached_assets_storage_root


DATASET_SEPARATOR = "--"
"""The folder, inside `<root>/<dataset>`, that holds the dataset's own files (upstream's separator)."""


def dataset_asset_folder(*, root: Path, dataset: str) -> Path:
    """`<root>/<dataset>/--`, guaranteed to be strictly inside `root` and reached without symlinks."""
    if not is_valid_dataset_name(dataset):
        raise InvalidParameterError("Parameter 'dataset' is not a valid dataset name")
    base = root.resolve()
    folder = base.joinpath(*dataset.split("/"), DATASET_SEPARATOR)
    if not folder.is_relative_to(base) or folder.resolve() != folder:
        raise UnsafeAssetPathError(f"The asset folder of dataset {dataset} is not a plain folder under {root}.")
    return folder


def existing_dataset_asset_folders(*, dataset: str) -> list[Path]:
    """The folders a recreate of `dataset` would remove: its `--` folder in each root, if there."""
    folders = [dataset_asset_folder(root=root, dataset=dataset) for root in storage_roots()]
    return [folder for folder in folders if folder.is_dir()]


def delete_dataset_asset_folders(*, dataset: str) -> int:
    """Remove the dataset's `--` folder under each root; return how many were removed (idempotent).

    The folder above (`<root>/<dataset>`) goes too when that leaves it empty; when it still
    holds something (another dataset's folders, a file the workers put there) it stays.
    """
    folders = existing_dataset_asset_folders(dataset=dataset)
    for folder in folders:
        shutil.rmtree(folder)
        with contextlib.suppress(OSError):  # not empty: it holds more than this dataset's files
            folder.parent.rmdir()
    return len(folders)
