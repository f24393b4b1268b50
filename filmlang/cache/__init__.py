"""The content-addressed cache of job outputs and the build log."""
