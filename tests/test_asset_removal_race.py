"""Asset removal never follows a link, even one swapped in between the check and the removal.

Someone who can write to a storage root swaps a dataset's namespace folder for a symbolic link
to another namespace while a recreate removes the dataset's assets. The removal goes through
descriptors opened without following links, so what it removes is the dataset's own folder
(wherever the swap moved it) and never the other namespace's files.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from foundation.core import assets
from tests.support.write_helpers import serve_dataset, set_config


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The assets root: `org/ds` with its files, `victim/ds` beside it (the cached assets root is empty)."""
    storage = tmp_path / "assets"
    for namespace in ("org", "victim"):
        folder = storage / namespace / "ds" / "--" / "default" / "train"
        folder.mkdir(parents=True)
        (folder / "0.jpg").write_bytes(namespace.encode())
    set_config(assets_storage_root=storage, cached_assets_storage_root=tmp_path / "cached-assets")
    return storage


def victim_file(root: Path) -> Path:
    return root / "victim" / "ds" / "--" / "default" / "train" / "0.jpg"


class Swapper:
    """A thread that swaps `<root>/org` for a link to `<root>/victim` when told, and says when done."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.go = threading.Barrier(2)
        self.done = threading.Barrier(2)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.go.wait(timeout=30)
        (self.root / "org").rename(self.root / "org.moved")
        (self.root / "org").symlink_to(self.root / "victim", target_is_directory=True)
        self.done.wait(timeout=30)

    def swap_now(self) -> None:
        """Let the thread swap, and return once it has."""
        self.go.wait(timeout=30)
        self.done.wait(timeout=30)


@pytest.fixture
def swap_at_first_removal(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Swapper]:
    """The swap happens once the removal has begun: at its first `shutil.rmtree`, the moment
    after the folders were checked and before anything is removed."""
    swapper = Swapper(root)
    real_rmtree: Callable[..., Any] = shutil.rmtree
    swapped = threading.Event()

    def rmtree_after_the_swap(*args: Any, **kwargs: Any) -> Any:
        if not swapped.is_set():
            swapped.set()
            swapper.swap_now()
        return real_rmtree(*args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree_after_the_swap)
    yield swapper
    assert swapped.is_set(), "the removal never began"
    swapper.thread.join(timeout=30)


def test_a_namespace_swapped_for_a_link_mid_removal_removes_nothing_of_the_other(
    client: Client, fake_hub: Any, root: Path, swap_at_first_removal: Swapper
) -> None:
    serve_dataset(fake_hub, "org/ds")
    response = client.post("/admin/recreate-dataset?dataset=org/ds", data="", content_type="application/json")
    assert (root / "org").is_symlink()  # the swap did happen during the recreate
    assert victim_file(root).read_bytes() == b"victim"
    assert response.status_code == 200, response.content
    assert not (root / "org.moved" / "ds").exists()  # the folder that was checked is the one removed


def test_a_namespace_already_a_link_is_refused_by_the_removal_itself(root: Path) -> None:
    (root / "org").rename(root / "org.moved")
    (root / "org").symlink_to(root / "victim", target_is_directory=True)
    with pytest.raises(assets.UnsafeAssetPathError):
        assets.delete_dataset_asset_folders(dataset="org/ds")
    assert victim_file(root).read_bytes() == b"victim"


def test_an_own_folder_that_is_a_link_is_refused_by_the_removal_itself(root: Path) -> None:
    shutil.rmtree(root / "org" / "ds" / "--")
    (root / "org" / "ds" / "--").symlink_to(root / "victim" / "ds" / "--", target_is_directory=True)
    with pytest.raises(assets.UnsafeAssetPathError):
        assets.delete_dataset_asset_folders(dataset="org/ds")
    assert victim_file(root).read_bytes() == b"victim"


def test_links_inside_the_own_folder_are_removed_not_followed(root: Path) -> None:
    own = root / "org" / "ds" / "--"
    (own / "to-victim").symlink_to(root / "victim", target_is_directory=True)
    (own / "default" / "to-victim-file").symlink_to(victim_file(root))
    assert assets.delete_dataset_asset_folders(dataset="org/ds") == 1
    assert not os.path.lexists(own)
    assert victim_file(root).read_bytes() == b"victim"
