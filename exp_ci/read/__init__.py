"""Reading experiments: which files a commit declares, and the values in them."""
