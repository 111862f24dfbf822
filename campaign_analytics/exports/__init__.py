"""Exports: streamed CSV / JSON Lines files of a workspace's data, written by jobs to storage."""
