"""Task harness: environment images, test runners and log parsers, validation and grading."""
