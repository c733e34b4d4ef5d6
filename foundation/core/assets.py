"""The asset folders a dataset owns under ASSETS_STORAGE_ROOT and CACHED_ASSETS_STORAGE_ROOT.

The other services store the files of dataset `name` or `namespace/name` under
`<root>/<dataset>/--/...` (`--` is their dataset separator, never a valid name part). So
`<root>/org` holds the files of the one-part dataset `org` (in `org/--`) *and* the folders of
every `org/*` dataset: a dataset owns exactly `<root>/<dataset>/--`. A recreate removes that,
then `<root>/<dataset>` only when nothing else is left in it (a `squad/x` keeps `squad`).

A folder is only ever built from a valid dataset name (checked again here), and then resolved
and compared with the resolved root: a folder that would leave its root, or that goes through
a symbolic link (which could point at another dataset's folder), is refused instead of removed.

That check reads paths, and someone who can write to a root could swap a folder for a symbolic
link between the check and the removal (600 recreates racing such a swap removed another
dataset's file 6 times). So the removal itself never goes by path: it opens the root, then each
part of the name and `--` with O_NOFOLLOW | O_DIRECTORY, each relative to the one before, and
empties `--` through its descriptor (its folders by `shutil.rmtree(dir_fd=...)`, Python's
symlink-attack-safe rmtree, which walks by descriptors and never follows a link). A part
swapped for a link at any moment either fails to open (ELOOP, ENOTDIR) or was opened before the
swap: what is emptied is then the folder that was there, wherever it was moved to, never what
the link points at.
"""

from __future__ import annotations

import contextlib
import errno
import os
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


_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NO_LINK_FLAGS = _DIRECTORY_FLAGS | os.O_NOFOLLOW


def _unsafe(dataset: str, root: Path) -> UnsafeAssetPathError:
    return UnsafeAssetPathError(f"The asset folder of dataset {dataset} is not a plain folder under {root}.")


def _remove_own_folder(*, root: Path, dataset: str) -> bool:
    """Remove `<root>/<dataset>/--` through descriptors (see above); False when there is none.

    Then `<root>/<dataset>` when that left it empty. A part of the way that is a link (or not a
    folder) is an UnsafeAssetPathError, raised before anything is removed.
    """
    parts = dataset.split("/")
    opened: list[int] = []
    try:
        try:
            opened.append(os.open(root, _DIRECTORY_FLAGS))  # the root is the operator's: it may be a mount's link
            for part in [*parts, DATASET_SEPARATOR]:
                opened.append(os.open(part, _NO_LINK_FLAGS, dir_fd=opened[-1]))
        except FileNotFoundError:
            return False
        except OSError as error:
            if error.errno in (errno.ELOOP, errno.ENOTDIR):
                raise _unsafe(dataset, root) from None
            raise
        _empty_folder(opened[-1])
        try:
            os.rmdir(DATASET_SEPARATOR, dir_fd=opened[-2])
        except NotADirectoryError:  # swapped for a link after it was opened: the link stays
            raise _unsafe(dataset, root) from None
        with contextlib.suppress(OSError):  # not empty: it holds more than this dataset's files
            os.rmdir(parts[-1], dir_fd=opened[-3])
        return True
    finally:
        for descriptor in reversed(opened):
            os.close(descriptor)


def _empty_folder(folder: int) -> None:
    """Remove what the open folder holds: links and files unlinked, folders by the fd-based rmtree."""
    for entry in os.scandir(folder):
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.name, dir_fd=folder)
        else:
            os.unlink(entry.name, dir_fd=folder)


def delete_dataset_asset_folders(*, dataset: str) -> int:
    """Remove the dataset's `--` folder under each root; return how many were removed (idempotent).

    The folder above (`<root>/<dataset>`) goes too when that leaves it empty; when it still
    holds something (another dataset's folders, a file the workers put there) it stays.
    """
    if not is_valid_dataset_name(dataset):
        raise InvalidParameterError("Parameter 'dataset' is not a valid dataset name")
    return sum(_remove_own_folder(root=root, dataset=dataset) for root in storage_roots())
