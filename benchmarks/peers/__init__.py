"""Independent implementations of credsim's model (docs/model.md) that credsim is benchmarked against."""
