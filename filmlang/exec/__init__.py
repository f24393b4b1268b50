"""Running jobs: the scheduler, resource pools, progress and explanations."""
