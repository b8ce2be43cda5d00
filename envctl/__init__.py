"""envctl: GitOps dev environments, one Terraform stack per environment."""
