"""Counted nouns in what exp-ci says ("1 output", "3 outputs"): one rule for every message,
importable by the hook without anything else of exp-ci."""


def count(number: int, noun: str) -> str:
    """`number` and `noun`, the noun with an `s` unless there is exactly one."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
