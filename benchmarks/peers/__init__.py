"""Independent implementations of MODEL.md that credsim is benchmarked against."""
