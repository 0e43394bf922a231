"""fastcal._kernels.calibrators."""
