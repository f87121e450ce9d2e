"""Independent implementations of credsim's model (docs/model.md), to benchmark against."""
