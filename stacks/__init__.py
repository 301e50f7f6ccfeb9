"""Stacks only compose constructs from ``dr_constructs``; they hold no resource logic."""
