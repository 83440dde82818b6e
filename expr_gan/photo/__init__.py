"""Photographs: faces found by landmarks (dlib, from packages, offline), crops aligned by the eyes to
the embedded faces' template, and edits pasted back into the full-resolution photo."""
