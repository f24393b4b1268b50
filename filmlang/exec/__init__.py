"""Running jobs: the scheduler (`scheduler`), the GPU pool (`gpu`), why a job ran and the
build log (`explain`), and progress on a terminal or as JSON lines (`console`)."""
