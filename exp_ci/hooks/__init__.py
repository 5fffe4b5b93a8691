"""pre-commit hooks: `exp-ci-check-pushed` blocks Git history whose DVC data never reached
the DVC remote.

`outputs` and `verify` decide (pure); `history` asks Git which DVC files are being pushed or
committed; `index` remembers objects already seen in a remote; DVC itself is reached only
through `exp_ci.adapters.dvc`, and only when something is left to check.
"""

PROG = "exp-ci-check-pushed"  # the hook's name, as pre-commit and its messages show it
