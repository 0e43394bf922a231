"""fastcal.core."""
