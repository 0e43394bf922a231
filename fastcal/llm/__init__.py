"""fastcal.llm."""
