"""fastcal.calibrators."""
