"""Headless batch mode: the index/check commands and their report formats."""
