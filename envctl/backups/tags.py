"""Tags that tie volumes and snapshots to environments."""

# On the data volume and on every snapshot of it; the policy targets volumes by this tag.
ENVIRONMENT_TAG = "envctl:environment-id"
# Replaces ENVIRONMENT_TAG on a volume that a restore detached, so neither the policy nor
# envctl treats it as the environment's volume any more.
RETIRED_TAG = "envctl:retired-from"
REPLACED_BY_TAG = "envctl:replaced-by"
NOTE_TAG = "envctl:note"
# manual, scheduled, final or clone.
KIND_TAG = "envctl:snapshot-kind"
# Data Lifecycle Manager adds this tag to every snapshot it makes.
DLM_POLICY_TAG = "aws:dlm:lifecycle-policy-id"
