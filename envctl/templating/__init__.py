"""Templates: the shipped and project templates, share links, and new environments from them."""
