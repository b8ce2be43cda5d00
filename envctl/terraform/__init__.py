"""The Terraform layer: engines, the offline provider mirror, and the runner for stack folders."""
