"""fastcal.metrics."""
