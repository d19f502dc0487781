"""The moderation queue at /moderation/: stories in review or drafts, and what a moderator does to them."""
