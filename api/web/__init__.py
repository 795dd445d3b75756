"""The web pages: the leaderboard and trader pages people open, served by the API app."""
