"""fastcal._kernels.io."""
