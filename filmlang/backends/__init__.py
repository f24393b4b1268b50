"""Backends that render jobs: pictures, speech, music and sound."""
