"""Placeholder: replaced by the module's owner (see docs/contract.md)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # noqa: ARG001 - placeholder until implemented
    return None
