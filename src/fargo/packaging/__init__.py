"""Artefacts a deploy ships: the Lambda zip (and, with fargo build, the image context)."""
