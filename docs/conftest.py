"""Doctests of the documentation pages: each page starts in the directory
pytest started in (the repository root), whatever an earlier page did
(docs/cli.md changes into a temporary directory), so the pages' relative
paths to the test fixtures work in any order and on any xdist worker."""

import os

import pytest

_START = os.getcwd()


@pytest.fixture(autouse=True)
def _start_in_the_root():
    os.chdir(_START)
    yield
    os.chdir(_START)
