"""A sandboxed autograder for deep-learning course assignments."""

__version__ = "0.1.0"
