"""fastcal._kernels.uncertainty."""
