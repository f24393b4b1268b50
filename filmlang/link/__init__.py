"""The linker: segments, transitions, audio mix, subtitles and mux into the film."""
