"""credsim benchmarks."""
