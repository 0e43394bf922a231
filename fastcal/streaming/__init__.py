"""fastcal.streaming."""
