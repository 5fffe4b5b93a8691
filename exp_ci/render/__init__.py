"""Tables and text built from experiments (pure: strings in, strings out)."""
