"""The tiny network (a few blocks round People's Square), built once per test run."""

from __future__ import annotations

from pathlib import Path

import pytest

from onecity.traffic.network import Network, build_network


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("traffic")
    build_network("tiny", 1, root)
    return root


@pytest.fixture(scope="session")
def tiny(tiny_root: Path) -> Network:
    from onecity.traffic.network import load_network

    return load_network("tiny", 1, tiny_root, build=False)
