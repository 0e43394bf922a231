"""fastcal.io."""
