"""fastcal.comparison."""
