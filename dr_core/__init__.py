"""Configuration and naming shared by every stack and construct of the app."""
