"""Shared fixtures: synthetic beneficiaries and the path to ../shared (optional)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("ASXH_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))


@pytest.fixture
def shared_dir() -> Path:
    """../shared when present; tests that only add checks from it skip otherwise."""
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED}: reference data checks skipped")
    return SHARED
