"""End-to-end tests run real Terraform, hashicorp/aws 3.39.0 and moto; see e2e_support."""
