"""The instructor layer: course plan, answer keys, rubric, worked solutions, expected prediction ranges."""
