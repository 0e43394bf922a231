"""fastcal._kernels.streaming."""
