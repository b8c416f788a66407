"""The ActivityPub protocol, reusable: knows nothing of polls or libraries."""
