"""Backups of the data volume: EBS snapshots on a schedule (a Data Lifecycle Manager policy),
on demand, before the volume is deleted, and restores and clones from them.

policy.py builds the settings of the policy and its role as pure functions. snapshots.py takes
and lists snapshots with boto3. restore.py swaps the volume for one made from a snapshot.
clone.py writes new environments whose volume starts from a snapshot. pricing.py prices
snapshot storage.
"""
