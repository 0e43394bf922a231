"""fastcal.uncertainty."""
