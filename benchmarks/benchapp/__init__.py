"""The benchmark's Django app: authors, books and tags, read by every contender."""
