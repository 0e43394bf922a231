"""fastcal._kernels.metrics."""
