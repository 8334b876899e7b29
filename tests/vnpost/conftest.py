"""Fixtures of the VNPost tests (helpers live in vnpost_support)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from vnpost_support import Env, make_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async for e in make_env(tmp_path):
        yield e


@pytest.fixture
async def manual_env(tmp_path: Path) -> AsyncIterator[Env]:
    """Cash is dispatched only when its manifest arrives."""
    async for e in make_env(tmp_path, require_manifest=True):
        yield e
