"""The only modules that touch the outside world: Git, DVC, GitHub, the Actions runner."""
