"""exp-ci: run DVC experiments in CI, compare them in pull requests, keep the winners."""

__version__ = "0.1.0"
