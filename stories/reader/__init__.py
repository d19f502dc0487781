"""The public site: live stories for readers, their feeds, sitemap and search."""
