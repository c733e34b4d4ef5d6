"""A recreate removes only the assets its dataset owns: `{root}/{dataset}/--` (issue 11, item 1).

The other services store a dataset's files under `{root}/{dataset}/--/...` (`--` is their
dataset separator), so `{root}/org` holds both the assets of the one-part dataset `org` (in
`org/--`) and the folders of every `org/*` dataset. The tests lay out both roots as the
workers do, recreate through the JSON route, the console page and the command (dry run and
real), and compare the trees before and after.
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tests.support.write_helpers import serve_dataset, set_config, snapshot_tree

DATASETS = ("org", "org/ds", "org/other", "squad", "squad/x", "Squad", "Org/DS")
"""Every dataset with assets on disk: one-part names beside two-part names of the same namespace."""


def asset_file(root: Path, dataset: str) -> Path:
    return root.joinpath(*dataset.split("/"), "--", "default", "train", "0.jpg")


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    assets, cached = tmp_path / "assets", tmp_path / "cached-assets"
    for root in (assets, cached):
        for dataset in DATASETS:
            asset_file(root, dataset).parent.mkdir(parents=True)
            asset_file(root, dataset).write_bytes(dataset.encode())
    set_config(assets_storage_root=assets, cached_assets_storage_root=cached)
    return assets, cached


def tree_without(tmp_path: Path, roots: tuple[Path, Path], dataset: str) -> list[str]:
    """The tree as it must be after recreating `dataset`: its `--` folder gone, then its folder if empty."""

    def inside(path: str, folder: str) -> bool:
        return path == folder or path.startswith(f"{folder}/")

    tree = snapshot_tree(tmp_path)
    for root in roots:
        folder = str(root.joinpath(*dataset.split("/")).relative_to(tmp_path))
        tree = [path for path in tree if not inside(path, f"{folder}/--")]
        if not any(path.startswith(f"{folder}/") for path in tree):
            tree = [path for path in tree if path != folder]
    return tree


def recreate(client: Client, dataset: str) -> Any:
    return client.post(f"/admin/recreate-dataset?dataset={dataset}", data="", content_type="application/json")


@pytest.mark.parametrize("dataset", ["org", "squad", "Squad", "org/ds", "Org/DS", "squad/x"])
def test_recreate_removes_the_datasets_own_folder_and_nothing_else(
    client: Client, fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path], dataset: str
) -> None:
    expected = tree_without(tmp_path, roots, dataset)
    serve_dataset(fake_hub, dataset)
    response = recreate(client, dataset)
    assert response.status_code == 200, response.content
    assert response.json()["deleted_asset_folders"] == 2
    assert snapshot_tree(tmp_path) == expected
    for other in DATASETS:
        if other != dataset:
            assert asset_file(roots[0], other).read_bytes() == other.encode()
            assert asset_file(roots[1], other).read_bytes() == other.encode()


def test_a_not_found_one_part_name_keeps_every_namespace_dataset(
    client: Client, fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    expected = tree_without(tmp_path, roots, "org")
    fake_hub.expect_request("/api/datasets/org").respond_with_json(
        {"error": "not found"}, status=404, headers={"X-Error-Code": "RepoNotFound"}
    )
    response = recreate(client, "org")
    assert response.status_code == 501
    assert snapshot_tree(tmp_path) == expected
    assert asset_file(roots[0], "org/ds").is_file()
    assert asset_file(roots[1], "org/other").is_file()


def test_the_dataset_folder_goes_only_when_left_empty(
    client: Client, fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    serve_dataset(fake_hub, "org/ds")
    assert recreate(client, "org/ds").status_code == 200
    assert not (roots[0] / "org" / "ds").exists()  # empty once `--` went: removed
    assert (roots[0] / "org").is_dir()  # the namespace folder is not the dataset's
    serve_dataset(fake_hub, "squad")
    assert recreate(client, "squad").status_code == 200
    assert (roots[0] / "squad" / "x" / "--").is_dir()  # `squad` still holds squad/x: kept
    assert not (roots[0] / "squad" / "--").exists()


def test_a_dataset_without_its_own_folder_deletes_and_counts_nothing(
    client: Client, fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    (roots[0] / "lonely" / "sub").mkdir(parents=True)  # a folder under the name, but no `--`
    tree = snapshot_tree(tmp_path)
    serve_dataset(fake_hub, "lonely")
    response = recreate(client, "lonely")
    assert (response.status_code, response.json()["deleted_asset_folders"]) == (200, 0)
    assert snapshot_tree(tmp_path) == tree


@pytest.mark.parametrize(("dataset", "count"), [("org", 2), ("org/ds", 2), ("nobody", 0)])
def test_the_confirmation_page_counts_only_what_would_go(
    client: Client, roots: tuple[Path, Path], dataset: str, count: int
) -> None:
    (roots[0] / "nobody" / "x").mkdir(parents=True)
    response = client.get(f"/admin/dataset/recreate?dataset={dataset}")
    assert response.status_code == 200
    assert f"<strong>{count}</strong> asset folder" in response.content.decode()


def test_the_command_dry_run_counts_only_what_would_go_and_deletes_nothing(
    fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    tree = snapshot_tree(tmp_path)
    serve_dataset(fake_hub, "squad")
    out = StringIO()
    call_command("recreate_dataset", "squad", "--dry-run", stdout=out, stderr=StringIO())
    assert "would delete 0 waiting jobs, 0 cache entries, 2 asset folders" in out.getvalue()
    assert snapshot_tree(tmp_path) == tree


def test_the_command_removes_only_the_datasets_own_folder(
    fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    expected = tree_without(tmp_path, roots, "org")
    serve_dataset(fake_hub, "org")
    out = StringIO()
    call_command("recreate_dataset", "org", stdout=out, stderr=StringIO())
    assert "deleted 0 waiting jobs, 0 cache entries, 2 asset folders" in out.getvalue()
    assert snapshot_tree(tmp_path) == expected


def test_a_symlinked_own_folder_is_refused_and_nothing_is_removed(
    client: Client, fake_hub: Any, tmp_path: Path, roots: tuple[Path, Path]
) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "precious").mkdir(parents=True)
    (roots[0] / "linked").mkdir()
    (roots[0] / "linked" / "--").symlink_to(elsewhere)
    tree = snapshot_tree(tmp_path)
    serve_dataset(fake_hub, "linked")
    response = recreate(client, "linked")
    assert (response.status_code, response["X-Error-Code"]) == (500, "UnsafeAssetPathError")
    assert snapshot_tree(tmp_path) == tree
